"""Stopping a run when asked: Ctrl-C (SIGINT), SIGTERM (a scheduler's preemption, ``kill``), or code.

A stop asked for never cuts a step in half: :class:`StopSignals` turns the signal into a request, the
training loop finishes the step (or eval) under way, saves ``ckpt.npz`` at that step boundary, and
raises :class:`TrainingInterrupted`. What PyTorch Lightning and Keras' preemption handlers do with
SIGTERM: a cluster that sends it before killing gets a checkpoint at the latest step instead of the
last eval's.

A second signal of the same kind does not wait: a second Ctrl-C raises ``KeyboardInterrupt`` at once,
a second SIGTERM ends the process as SIGTERM does by default; neither saves.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

__all__ = ["TrainingInterrupted", "Terminated", "StopSignals", "sigterm_raises", "raise_terminated", "exit_status"]

# what each signal is called in a request's reason and in the messages
REASONS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class TrainingInterrupted(KeyboardInterrupt):
    """The run stopped at a step boundary when asked (Ctrl-C, SIGTERM, or :meth:`Trainer.request_stop`),
    after saving ``ckpt.npz`` there. Attributes: ``reason``, ``iter`` (where the run stopped, and the
    checkpoint's iteration unless saving was impossible: see ``saved``) and ``signum`` (the signal that
    asked, or None)."""

    def __init__(self, reason: str, it: int, saved: bool, signum: int | None = None):
        super().__init__(reason)
        self.reason, self.iter, self.saved, self.signum = reason, it, saved, signum


class Terminated(KeyboardInterrupt):
    """SIGTERM outside the training loop (while a run sets up: nothing to save yet), raised by
    :func:`sigterm_raises` as Ctrl-C raises ``KeyboardInterrupt`` there."""
    signum = signal.SIGTERM


def raise_terminated(signum, frame):
    """A SIGTERM handler that raises :class:`Terminated`, as Ctrl-C raises ``KeyboardInterrupt``: what a
    program installs for the time outside the training loop (:class:`StopSignals` takes over from it
    in the loop and puts it back after). A second SIGTERM ends the process at once."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated("terminated")


@contextlib.contextmanager
def sigterm_raises():
    """Within the block, SIGTERM raises :class:`Terminated` (where the default handler is in place, in
    the main thread): a program ends by its ``except KeyboardInterrupt`` path, with status 143."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield   # another thread, or a handler of the program's own (raise_terminated included) already
        return
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def exit_status(e: BaseException) -> int:
    """The exit status of a run ended by ``e``, as the shell gives for a signal: 128 + its number (130
    for Ctrl-C, 143 for SIGTERM); 130 for a stop asked for by code or a plain ``KeyboardInterrupt``."""
    signum = getattr(e, "signum", None)
    return 128 + int(signum) if signum else 128 + int(signal.SIGINT)


def _say(line: str) -> None:
    """One line on stderr, at once (a signal handler's: nothing to raise if stderr is gone)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class StopSignals:
    """Make SIGINT and SIGTERM ask ``request_stop(reason)`` while in a ``with`` block; ``signum`` is the
    first one received (or None).

    Installed only where it can work and is wanted: in the main thread (where Python runs handlers),
    over the default handlers and :func:`raise_terminated` (a program's own stay), and when ``enabled``
    (where nothing can make the ranks of a data-parallel run agree on a step, as in the final eval of
    a resume: they keep what they had). ``announce``: print the line that says the run stops (False on
    all ranks but the first). The handlers found are put back at the end.
    """

    def __init__(self, request_stop, enabled: bool = True, announce: bool = True):
        self.request_stop, self.signum, self.announce = request_stop, None, announce
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self._installed = []

    def __enter__(self):
        if not self.enabled:
            return self
        replaceable = {signal.SIGINT: (signal.default_int_handler,), signal.SIGTERM: (signal.SIG_DFL, raise_terminated)}
        for signum, handlers in replaceable.items():
            found = signal.getsignal(signum)
            if any(found is h for h in handlers):
                signal.signal(signum, self._handle)
                self._installed.append((signum, found))
        return self

    def __exit__(self, *exc):
        for signum, default in self._installed:
            signal.signal(signum, default)
        self._installed = []
        return False

    def _handle(self, signum, frame):
        if self.signum is not None:   # a second signal: now, without saving
            self.__exit__()
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)   # the default action: the process ends as the signal ends it
            return
        self.signum = signum
        if not self.announce:   # another rank of a data-parallel run says it (mpiexec signals every rank)
            pass
        elif signum == signal.SIGINT:
            _say("stopping after this step (saving ckpt.npz); press Ctrl-C again to abort without saving")
        else:
            _say("terminated (SIGTERM): stopping after this step (saving ckpt.npz)")
        self.request_stop(REASONS.get(signum, "interrupted"), signum)


# A data-parallel run's ranks each get a signal at their own moment (mpiexec forwards one to every
# rank, a scheduler may signal one process): each rank only *asks*, and the asks travel in the
# allreduce that already averages the steps' losses (no extra message), so every rank learns at
# the same read that some rank asked, and all stop at that step boundary together.
_SIGPIPE = getattr(signal, "SIGPIPE", 13)   # a closed output ("... | head"), asked for by the example
_VOTES = ((signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted"), (_SIGPIPE, "output closed"),
          (None, "stopped"))


def stop_votes(asked) -> list:
    """One rank's vote: ``asked`` is None or the (reason, signum) it was asked with; a count per
    kind of ask (SIGTERM, SIGINT, SIGPIPE, anything else) to be summed or averaged over the ranks."""
    if asked is None:
        return [0.0] * len(_VOTES)
    kinds = [s for s, _ in _VOTES]
    i = kinds.index(asked[1]) if asked[1] in kinds[:-1] else len(_VOTES) - 1
    return [1.0 if j == i else 0.0 for j in range(len(_VOTES))]


def agreed_stop(votes, asked):
    """The (reason, signum) a rank stops with, given the ``votes`` of all ranks summed or averaged
    (only which are non-zero matters; None: no rank asked): its own ask if it had one, else the first kind the others had, in the order SIGTERM,
    SIGINT, SIGPIPE, code (so that every rank ends with the same exit status where one kind was asked)."""
    if not any(votes):
        return None
    if asked is not None:
        return asked
    signum, reason = next(k for k, v in zip(_VOTES, votes) if v)
    return f"{reason} (on another rank)", signum
