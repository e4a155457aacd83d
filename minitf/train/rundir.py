"""The run directory: ``ckpt.npz`` and ``best.npz`` (atomic, via :mod:`minitf.checkpoint`), ``log.jsonl``,
``samples.txt``, ``.lock``.

One :class:`RunDir` per run owns the paths and every write into the
directory; the loop hands it records and state and never opens a file itself.

- A run holds the directory's lock (an OS lock on ``.lock``, which holds the
  owner's pid) from its start to its end: a second run on the same directory
  stops at once with "another run (pid N) is using DIR". The OS drops the lock
  when its process dies, however it dies, so the lock of a killed run is
  simply taken over.
- A write that fails (a path that is a file, no permission, a read-only or
  full disk) is one :class:`OutputError` naming the path and the cause; the
  previous checkpoint stays intact (see :func:`minitf.checkpoint.save`).
- :meth:`RunDir.load_checkpoint` checks what a crafted file could hold
  (config types and ranges, vocabulary, random-generator states, sizes
  bounded by the arrays the file really holds) before anything is built.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

from .. import checkpoint
from .config import BEST_NAME, CHECKPOINT_NAME, LOG_NAME, ConfigError, TrainConfig, memory_estimate, parameter_count

__all__ = ["RunDir", "ReadOnlyRunDir", "OutputError", "RunLocked", "LOCK_NAME"]

LOCK_NAME = ".lock"


class OutputError(RuntimeError):
    """The run directory cannot be written: the message names the path and the cause."""


class RunLocked(OutputError):
    """Another live run holds the run directory's lock."""


def _cause(e: OSError) -> str:
    return e.strerror or type(e).__name__


class RunDir:
    """``<out_dir>``: its checkpoints (the latest and the best), its eval log (one JSON line per eval),
    its sample and its lock."""

    def __init__(self, out_dir):
        self.path = Path(out_dir)
        self.ckpt_path = self.path / CHECKPOINT_NAME
        self.best_path = self.path / BEST_NAME
        self.log_path = self.path / LOG_NAME
        self.samples_path = self.path / "samples.txt"
        self.plot_path = self.path / "loss.png"   # drawn by examples/train_charlm.py from the log
        self.lock_path = self.path / LOCK_NAME
        self._lock_fd = None

    def has_checkpoint(self) -> bool:
        return self.ckpt_path.exists()

    def refuse_to_overwrite(self) -> None:
        """A :class:`~minitf.train.ConfigError` if a new run here would overwrite a checkpoint (``ckpt.npz``,
        or ``best.npz`` alone: a run's best state, which the new run's first eval would replace)."""
        if self.has_checkpoint():
            raise ConfigError(f"{self.path} already holds a checkpoint: pass --resume to continue it, "
                              f"--overwrite to start afresh over it, or another --out-dir")
        if self.best_path.exists():
            raise ConfigError(f"{self.path} holds {self.best_path.name} (a run's best state; no "
                              f"{self.ckpt_path.name}): copy it to {self.ckpt_path.name} and pass --resume to "
                              f"continue from it, --overwrite to start afresh over it, or another --out-dir")

    def previous_run(self) -> list:
        """The files of a run already in the directory (checkpoints, log, sample, plot) that exist."""
        return [p for p in (self.ckpt_path, self.best_path, self.log_path, self.samples_path, self.plot_path)
                if p.exists()]

    def remove_previous_run(self) -> None:
        """Remove an earlier run's checkpoints, sample and plot (``--overwrite``, at the new run's first
        checkpoint; its log is then replaced by :meth:`write_log`). ``best.npz`` goes first: stopped
        between the two, ``ckpt.npz`` still resumes the old run (whose best is then its state)."""
        for p in (self.best_path, self.ckpt_path, self.samples_path, self.plot_path):
            try:
                if p.is_file() or p.is_symlink():
                    p.unlink()
            except OSError as e:
                raise OutputError(f"--overwrite: cannot remove the previous run's {p}: {_cause(e)}") from None

    def make(self) -> None:
        """Create the directory (and its parents), or raise :class:`OutputError` saying why not."""
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"--out-dir {self.path} exists and is not a directory")
        # the directories this call creates, deepest first: discard_unused() removes them again
        self._created = [d for d in (self.path, *self.path.parents) if not d.exists()]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create --out-dir {self.path}: {_cause(e)}") from None

    def discard_unused(self) -> None:
        """Release the lock, and remove the directories :meth:`make` created if nothing but the
        lock was written there: a run that fails before it starts (a bad ``--data``, say) leaves
        no empty run directory behind."""
        created = getattr(self, "_created", [])
        try:
            if created and self._lock_fd is not None and {p.name for p in self.path.iterdir()} == {LOCK_NAME}:
                self.lock_path.unlink()  # under the lock: no other run holds this new directory
                for d in created:
                    d.rmdir()
        except OSError:
            pass  # only tidying: what could not be removed stays
        finally:
            self._created = []
            self.unlock()

    # ------------------------------------------------------------ the lock
    def lock(self) -> None:
        """Take the directory's lock, or raise :class:`RunLocked` naming the pid that holds it."""
        self.make()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise OutputError(f"cannot write to --out-dir {self.path}: {_cause(e)} ({self.lock_path})") from None
        try:
            _os_lock(fd)
        except OSError:
            pid = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RunLocked(f"another run (pid {pid}) is using {self.path}: wait for it to end, or use another "
                            f"--out-dir") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        except OSError as e:
            os.close(fd)
            raise OutputError(f"cannot write to --out-dir {self.path}: {_cause(e)} ({self.lock_path})") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the lock (the file stays, emptied: removing it would race with a run opening it)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing the descriptor releases the OS lock

    # ------------------------------------------------------------ the checkpoint
    def remove_stale_temporaries(self) -> list:
        """Delete what a run killed while writing left behind: the temporaries of ``ckpt.npz`` and
        ``best.npz`` (:func:`minitf.checkpoint.remove_stale_temporaries`: their own pattern only) and
        the log's. Call it holding the lock (no live writer). Returns the paths removed."""
        removed = [*checkpoint.remove_stale_temporaries(self.ckpt_path),
                   *checkpoint.remove_stale_temporaries(self.best_path)]
        log_tmp = self._log_tmp()
        if log_tmp.is_file() and not log_tmp.is_symlink():
            try:
                log_tmp.unlink()
                removed.append(log_tmp)
            except OSError:
                pass
        return removed

    def load_checkpoint(self, best: bool = False) -> checkpoint.TrainingCheckpoint:
        """The training checkpoint (``best``: ``best.npz``, else ``ckpt.npz``), its metadata checked
        (:class:`~minitf.checkpoint.CheckpointError` if bad)."""
        path = self.best_path if best else self.ckpt_path
        ck = checkpoint.load_training(path)
        check_run_meta(ck, path)
        return ck

    def save_checkpoint(self, model_state: dict, optimizer_state: dict, meta: dict, best: bool = False) -> Path:
        """Write ``ckpt.npz`` (``best``: ``best.npz``) atomically: the previous file stays whole until
        the new one replaces it."""
        path = self.best_path if best else self.ckpt_path
        try:
            return checkpoint.save_training(path, model_state, optimizer_state, meta)
        except OSError as e:
            raise OutputError(f"cannot write the checkpoint {path}: {_cause(e)}") from None

    # ------------------------------------------------------------ the log and the sample
    def append_log(self, rec: dict) -> None:
        try:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise OutputError(f"cannot write the log {self.log_path}: {_cause(e)}") from None

    def read_log(self) -> list:
        if not self.log_path.is_file():
            return []
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash
                continue
        return [r for r in out if isinstance(r, dict)]

    def write_log(self, records) -> None:
        """Replace the log with ``records``, atomically."""
        self.make()
        tmp = self._log_tmp()
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in records)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.log_path)
        except OSError as e:
            raise OutputError(f"cannot write the log {self.log_path}: {_cause(e)}") from None

    def _log_tmp(self) -> Path:
        return self.log_path.with_name(self.log_path.name + ".tmp")   # log.jsonl.tmp, as before

    def write_sample(self, text: str) -> Path:
        try:
            self.samples_path.write_text(text, encoding="utf-8")
        except OSError as e:
            raise OutputError(f"cannot write the sample {self.samples_path}: {_cause(e)}") from None
        return self.samples_path


class ReadOnlyRunDir(RunDir):
    """A run directory this process reads (to resume) but never writes: a data-parallel rank other than 0."""

    def make(self) -> None:
        pass

    def lock(self) -> None:
        pass

    def unlock(self) -> None:
        pass

    def save_checkpoint(self, model_state, optimizer_state, meta, best=False) -> Path:
        return self.best_path if best else self.ckpt_path

    def append_log(self, rec) -> None:
        pass

    def remove_stale_temporaries(self) -> list:
        return []

    def remove_previous_run(self) -> None:
        pass

    def write_log(self, records) -> None:
        pass

    def write_sample(self, text) -> Path:
        return self.samples_path


# ---------------------------------------------------------------- checking what a checkpoint says
MAX_VOCAB = 1 << 21  # every Unicode code point fits
MAX_BATCH_BYTES = 1 << 40


def check_run_meta(ck: checkpoint.TrainingCheckpoint, path) -> None:
    """Refuse a training checkpoint whose run metadata is missing, mistyped or out of range.

    One :class:`~minitf.checkpoint.CheckpointError` naming the entry. The
    model the config describes must have the parameters the archive holds,
    which bounds every size read from the file before anything is allocated.
    """
    meta = ck.meta

    def bad(entry, why):
        return checkpoint.CheckpointError(f"checkpoint {path}: entry {entry!r} {why}")
    saved = meta.get("config")
    if not isinstance(saved, dict):
        raise bad("config", "is missing or not a mapping: it holds no training config")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    try:
        cfg = TrainConfig(**{k: v for k, v in saved.items() if k in known}).validate()
    except ConfigError as e:
        field = str(e).split()[0]
        raise bad(f"config.{field}" if field in known else "config", f"is invalid: {e}") from None
    vocab = meta.get("vocab")
    if (not isinstance(vocab, list) or not 1 <= len(vocab) <= MAX_VOCAB
            or not all(isinstance(c, str) and len(c) == 1 for c in vocab) or len(set(vocab)) != len(vocab)):
        raise bad("vocab", "must be a list of distinct single characters")
    rng = meta.get("rng")
    if not isinstance(rng, dict) or not isinstance(rng.get("batch"), dict) \
            or not isinstance(rng.get("minitf"), (dict, type(None))):
        raise bad("rng", "must be a mapping with the states 'batch' (a mapping) and 'minitf' (a mapping or null)")
    # the states must fit the generators they are restored into (tried on fresh ones of the same kind)
    import numpy as np
    from .. import backend
    probes = [("rng.batch", rng["batch"], np.random.default_rng(0))]
    if rng["minitf"] is not None and cfg.device in ("cpu", "fake"):  # a GPU's generator is CuPy's own
        probes.append(("rng.minitf", rng["minitf"], backend.default_rng(cfg.device, 0)))
    for entry, state, gen in probes:
        try:
            backend.set_rng_state(gen, state)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            raise bad(entry, "is not the state of this run's random generator") from None
    best = meta.get("best")
    if best is not None and not (isinstance(best, dict) and isinstance(best.get("iter"), int)
                                 and not isinstance(best["iter"], bool) and best["iter"] >= 0
                                 and isinstance(best.get("val_loss"), (int, float))
                                 and not isinstance(best["val_loss"], bool) and math.isfinite(best["val_loss"])):
        raise bad("best", "must be null or a mapping with 'iter' (an integer >= 0) and 'val_loss' (a finite number)")
    from .history import check_history   # here: history.py imports this module
    why = check_history(meta.get("history"), meta["iter"])
    if why is not None:
        raise bad("history", why)
    # the divergence guard never saves non-finite weights (minitf.train.divergence): a file holding them was
    # altered, and resumed it would only "diverge" at once, blamed on the learning rate (the optimizer's
    # state is not checked: a finite run can overflow exp_avg_sq to inf without harm)
    for name, a in ck.model_state.items():
        if np.issubdtype(a.dtype, np.inexact) and not np.isfinite(a).all():
            raise bad(f"model/{name}", "holds NaN or infinite weights, which no run saves (training stops at the "
                                       "first one): the file was altered")
    held = sum(int(a.size) for a in ck.model_state.values())
    described = parameter_count(cfg, len(vocab))
    if described > held:  # the state dict may hold more (tied weights under both names), never less
        raise bad("config", f"describes a model of {described:,} parameters (n_layer {cfg.n_layer}, n_embd "
                            f"{cfg.n_embd}, block_size {cfg.block_size}, vocabulary {len(vocab)}), but the archive "
                            f"holds {held:,}")
    batch_bytes = sum(v for k, v in memory_estimate(cfg, len(vocab)).items() if k in ("activations", "logits", "attention"))
    if batch_bytes > MAX_BATCH_BYTES:  # no run that wrote a checkpoint ever held such a batch
        raise bad("config", f"describes batches of {batch_bytes / 2**40:,.0f} TiB (batch_size {cfg.batch_size}, "
                            f"block_size {cfg.block_size}): not a run that could have written it")


# ---------------------------------------------------------------- OS locks
def _os_lock(fd: int) -> None:
    """An exclusive, non-blocking lock on an open file; OSError if another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
