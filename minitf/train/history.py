"""The eval history: ``log.jsonl``'s records, kept in every checkpoint too, so that a resume whose log
was deleted, cut short or edited rebuilds it (:func:`resumed_records`); and what a failed log write
leaves intact (:func:`log_write_failed`).

The log is the user's view of a run (``loss.png`` is drawn from it) but not the run's state: a log
lost on a full disk, a stray ``rm`` or an editor must not lose the curve of a run whose checkpoints
are whole. Each checkpoint's metadata therefore holds ``history``, the records of the evals up to
its iteration (about 200 bytes an eval): all of them up to ``HISTORY_CAP``, beyond that the latest
half of the cap in full and the earlier evals thinned evenly (:func:`checkpoint_history`), so that
a checkpoint stays the same size however long the run, and the curve a rebuilt log draws keeps its
shape. A checkpoint written before that entry existed cannot rebuild what its log lost: the resume
then says which evals are gone.
"""
from __future__ import annotations

import math

from .rundir import OutputError

__all__ = ["HISTORY_CAP", "checkpoint_history", "check_history", "resumed_records", "log_write_failed"]

# the most eval records a checkpoint keeps (~100 kB): every eval of a run of 500; a plot of the curve
# needs no more, and each checkpoint rewrites them all, so an unbounded list made a long run's saves
# grow without end (2000 evals: 0.4 MB a checkpoint, written twice at each improving eval)
HISTORY_CAP = 500


def checkpoint_history(records: list, cap: int | None = None) -> list:
    """The eval records a checkpoint keeps of ``records`` (the run's, in order): all of them if there
    are at most ``cap`` (default :data:`HISTORY_CAP`); else the last ``cap // 2`` and ``cap - cap // 2``
    spread evenly over the earlier ones, the first eval included: ``cap`` records, a function of
    ``records`` alone (a resume compares it with the log's)."""
    cap = HISTORY_CAP if cap is None else cap
    n = len(records)
    if n <= cap:
        return list(records)
    tail = cap // 2
    older, m = n - tail, cap - tail
    # index floor(i (older - 1) / (m - 1) + 1/2) in integers: strictly increasing, as older > m
    picks = [(2 * i * (older - 1) + (m - 1)) // (2 * (m - 1)) for i in range(m)] if m > 1 else [0]
    return [records[i] for i in picks] + list(records[older:])


def check_history(history, it: int):
    """None if ``history`` (a checkpoint's ``history`` entry, at iteration ``it``) is valid, else why not:
    null, or a list of mappings whose ``iter`` are integers in [0, it], increasing, and whose
    ``train_loss``/``val_loss`` are finite numbers."""
    if history is None:
        return None
    if not isinstance(history, list):
        return "must be null or a list of eval records"
    last = -1
    for r in history:
        if not (isinstance(r, dict) and isinstance(r.get("iter"), int) and not isinstance(r["iter"], bool)
                and last < r["iter"] <= it):
            return f"must list eval records with increasing integer 'iter' in [0, {it}]"
        for k in ("train_loss", "val_loss"):
            v = r.get(k)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)):
                return f"must list eval records with a finite {k!r}"
        last = r["iter"]
    return None


def resumed_records(log_records: list, log_exists: bool, meta: dict, log_path, ckpt_path):
    """The records a run resumed from a checkpoint (metadata ``meta``) continues with, and a note (or
    None) saying what was rebuilt or lost.

    The log's lines past the checkpoint (written before a crash) are dropped. A checkpoint with a
    ``history`` is the truth up to its iteration: a log that differs from it (missing, cut short,
    edited; a long run's log is compared through :func:`checkpoint_history`) is rewritten from it,
    thinned if the history is. An older checkpoint keeps only its last eval: the log's earlier
    evals, if gone, are lost, and the note says so.
    """
    it = int(meta["iter"])
    kept = [r for r in log_records if isinstance(r.get("iter", 0), int) and r.get("iter", 0) <= it]
    history = meta.get("history")
    if history is not None:
        if kept == history or checkpoint_history(kept) == history:
            return kept, None
        if not history:
            return [], None   # a checkpoint saved before its first eval: nothing to rebuild
        how = ("is missing" if not log_exists else
               f"held {sum(r in history for r in kept)} of the {len(history)} evals up to iter {it} (it was cut "
               f"short or edited)")
        span = f"iters {history[0]['iter']}-{history[-1]['iter']}"
        if len(history) < HISTORY_CAP:
            what = f"the run's {len(history)} evals ({span})"
        else:   # (at the cap: possibly thinned; the note says what a checkpoint keeps)
            what = (f"the run's evals ({span}; it keeps at most {HISTORY_CAP}: the latest {HISTORY_CAP // 2}, "
                    f"and the earlier ones thinned evenly)")
        return list(history), f"note: {log_path} {how}: rebuilt from {ckpt_path.name}'s record of {what}"
    last = meta.get("last_eval")
    if not (isinstance(last, dict) and isinstance(last.get("iter"), int)) or \
            any(r.get("iter") == last["iter"] for r in kept):
        return kept, None
    # the log lost at least its last eval, which the checkpoint alone still knows
    records = sorted([*kept, dict(last)], key=lambda r: r.get("iter", 0))
    how = "is missing" if not log_exists else f"has no eval at iter {last['iter']}, the checkpoint's last"
    return records, (f"note: {log_path} {how}; {ckpt_path.name} was written before checkpoints kept the eval "
                     f"history, so only its last eval (iter {last['iter']}) is restored and any earlier evals the "
                     f"log lost are gone from it and from loss.png (the checkpoints themselves are whole)")


def log_write_failed(e: OutputError, run_dir, ckpt_iter, best) -> OutputError:
    """The one-line error for a failed write of the log (``e``): what failed, and which checkpoints are
    intact (``ckpt_iter``: ``ckpt.npz``'s iteration, None if this run wrote none; ``best``: the record
    of ``best.npz``'s eval, or None)."""
    kept = []
    if ckpt_iter is not None:
        kept.append(f"{run_dir.ckpt_path.name} (iter {ckpt_iter})")
    if ckpt_iter is not None and best is not None and run_dir.best_path.is_file():
        kept.append(f"{run_dir.best_path.name} (iter {best['iter']})")
    if not kept:
        return OutputError(f"{e}; no checkpoint was written yet")
    return OutputError(f"{e}; {' and '.join(kept)} {'are' if len(kept) > 1 else 'is'} intact: --resume continues "
                       f"from {run_dir.ckpt_path.name} (and rebuilds the log) once {run_dir.path} can be written")
