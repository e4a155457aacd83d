"""Resuming a run: whether a checkpoint fits the run (:func:`check_compatible`) and loading it into the
trainer (:func:`restore`): weights, optimizer state, iteration, both random generators, the log up to
the checkpoint, and which eval ``best.npz`` holds (:func:`~minitf.train.best.resumed_best`).
"""
from __future__ import annotations

import math

from .. import checkpoint
from .. import random as mt_random
from .best import resumed_best
from .config import ARCH_FIELDS
from .history import resumed_records

__all__ = ["load_to_resume", "check_compatible", "restore"]


def _best_advice(run_dir) -> str:
    """What a user can do when ``ckpt.npz`` cannot be resumed: from ``best.npz`` if it loads, or afresh."""
    if run_dir.best_path.is_file():
        try:
            it = run_dir.load_checkpoint(best=True).meta["iter"]
            return (f"{run_dir.best_path.name} (iter {it}) loads: copy it over {run_dir.ckpt_path.name} to resume "
                    f"from there, or start afresh with --overwrite")
        except checkpoint.CheckpointError:
            pass
    return "start afresh with --overwrite, or use another --out-dir"


def load_to_resume(run_dir):
    """``run_dir``'s ``ckpt.npz``, checked, for a resume; a :class:`~minitf.checkpoint.CheckpointError`
    that also says what to do when it is missing or cannot be used (nothing is changed)."""
    if run_dir.ckpt_path.exists() and not run_dir.ckpt_path.is_file():
        raise checkpoint.CheckpointError(f"--resume: {run_dir.ckpt_path} is not a file (a directory?), so not a "
                                         f"checkpoint: move it away, then resume or start afresh")
    if not run_dir.ckpt_path.is_file():
        hint = (f"; {run_dir.best_path} exists: copy it to {run_dir.ckpt_path.name} to resume from it"
                if run_dir.best_path.is_file() else "")
        raise checkpoint.CheckpointError(f"--resume: no checkpoint to resume from at {run_dir.ckpt_path} (run "
                                         f"without --resume to start training){hint}")
    try:
        return run_dir.load_checkpoint()
    except checkpoint.CheckpointError as e:
        raise checkpoint.CheckpointError(f"{e}; nothing was changed: {_best_advice(run_dir)}") from None


def check_compatible(trainer, ckpt) -> None:
    """Raise :class:`~minitf.checkpoint.CheckpointError` unless ``ckpt`` can continue in ``trainer``'s run
    (the same vocabulary and architecture); a note when only the corpus's text differs."""
    meta = ckpt.meta
    saved = meta.get("vocab")
    saved_corpus = meta.get("corpus") if isinstance(meta.get("corpus"), dict) else {}
    if saved != trainer.vocab.chars:
        # counts, not the characters: an error never echoes a file's contents
        extra = len(set(trainer.vocab.chars) - set(saved))
        lost = len(set(saved) - set(trainer.vocab.chars))
        source = saved_corpus.get("source")
        # a run on the default corpus resumed where that is not found (no $MINITF_DATA) reads the fallback
        advice = ("resume with --data pointing at that text (or $MINITF_DATA at its folder)" if trainer.cfg.data is None
                  else "resume with the same --data")
        raise checkpoint.CheckpointError(
            f"checkpoint {trainer.ckpt_path} is incompatible with this corpus ({trainer.corpus.source}): its "
            f"vocabulary has {len(saved)} characters, the corpus has {len(trainer.vocab)} ({extra} not in the "
            f"checkpoint's, {lost} of the checkpoint's missing). "
            + (f"It was trained on {source}: {advice}." if isinstance(source, str) and source
               else advice[0].upper() + advice[1:] + "."))
    for k in ARCH_FIELDS:
        if meta["config"].get(k) != getattr(trainer.cfg, k):
            raise checkpoint.CheckpointError(f"checkpoint {trainer.ckpt_path} is incompatible: it has {k} = "
                                             f"{meta['config'].get(k)!r}, this run has {getattr(trainer.cfg, k)!r}")
    if saved_corpus.get("sha256") not in (None, trainer.corpus.sha256):
        trainer.log(f"note: the corpus ({trainer.corpus.source}) differs from the one the checkpoint was trained on "
                    f"(same vocabulary), continuing")


def model_does_not_fit(path, e: Exception) -> checkpoint.CheckpointError:
    """The error of a checkpoint whose weights ``load_state_dict`` refused (``e``), on one line: its
    list of mismatches, one per line as torch's, joined after the heading."""
    head, *problems = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
    return checkpoint.CheckpointError(f"checkpoint {path} does not fit the model: "
                                      + " ".join([head, "; ".join(problems)] if problems else [head]))


def restore(trainer, ckpt) -> None:
    """Load ``ckpt`` into ``trainer``: weights, optimizer state, iteration, random generators, log, best."""
    from ..nn import StateDictError
    meta = ckpt.meta
    # best.npz first: an error there changes nothing (not even the log)
    in_best_file = _best_of(trainer, meta).meta.get("best") if trainer.run_dir.best_path.is_file() else None
    try:
        trainer.model.load_state_dict(ckpt.model_state, strict=True)
    except (StateDictError, ValueError, TypeError) as e:
        raise model_does_not_fit(trainer.ckpt_path, e) from None
    try:
        trainer.optimizer.load_state_dict(ckpt.optimizer_state)
    except (ValueError, KeyError, TypeError) as e:
        raise checkpoint.CheckpointError(f"checkpoint {trainer.ckpt_path}: optimizer state does not fit: {e}") from None
    trainer.iter, trainer.elapsed_s = int(meta["iter"]), float(meta.get("elapsed_s", 0.0))
    for entry, st, restore in (("rng.batch", meta["rng"]["batch"], trainer.sampler.set_state),
                               ("rng.minitf", trainer.strategy.own_rng_state(meta["rng"]),
                                lambda st: mt_random.set_rng_state(st, trainer.cfg.device))):
        if st is None or (entry == "rng.minitf" and meta["config"].get("device") != trainer.cfg.device):
            continue
        try:
            restore(st)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            raise checkpoint.CheckpointError(f"checkpoint {trainer.ckpt_path}: entry {entry!r} is not the state "
                                             f"of this run's random generator") from None
    trainer.last_checkpoint_iter = trainer.iter
    trainer.last_eval = meta.get("last_eval")   # what completion.what_is_left reads (checked there)
    # the log keeps the evals up to the checkpoint (later lines, written before a crash, go); one that
    # was lost or cut short is rebuilt from the checkpoint's history
    run_dir = trainer.run_dir
    trainer.records, note = resumed_records(run_dir.read_log(), run_dir.log_path.is_file(), meta, run_dir.log_path,
                                            run_dir.ckpt_path)
    if note is not None:
        trainer.log(note)
    # killed between writing best.npz and ckpt.npz, the two disagree: the lower is best.npz's
    trainer.best = resumed_best(meta.get("best"), in_best_file)
    if trainer.best is None or in_best_file is None:
        # a checkpoint from before best.npz existed (or one whose best.npz was removed): its own state,
        # at its eval, is the best one known; save it, so that a worse continuation cannot replace it
        last = meta.get("last_eval") or next((r for r in reversed(trainer.records) if r.get("iter") == trainer.iter
                                              and "val_loss" in r), None)
        if last is not None and math.isfinite(last.get("val_loss", math.nan)):
            trainer.best = {"iter": trainer.iter, "val_loss": float(last["val_loss"])}
            trainer.save_checkpoint(last, best=True)
    trainer.write_log()   # last: a failure names both checkpoints, intact


def _best_of(trainer, meta):
    """``best.npz``, which must load and be of the run ``ckpt.npz`` (``meta``) continues: a corrupt one,
    or one of another architecture or vocabulary, would be replaced without a word (or its record keep
    every later eval from being saved as best), so it is one error saying what to do."""
    run_dir = trainer.run_dir
    fix = (f"{run_dir.ckpt_path.name} is intact and nothing was changed: move {run_dir.best_path.name} away and "
           f"--resume again (the resumed run then starts its best from {run_dir.ckpt_path.name}'s state)")
    try:
        best_ck = run_dir.load_checkpoint(best=True)
    except checkpoint.CheckpointError as e:
        raise checkpoint.CheckpointError(f"{e}; {fix}") from None
    theirs = best_ck.meta
    for k in ARCH_FIELDS:
        if theirs["config"].get(k) != meta["config"].get(k):
            raise checkpoint.CheckpointError(
                f"{run_dir.best_path} is not of this run: it has {k} = {theirs['config'].get(k)!r}, "
                f"{run_dir.ckpt_path.name} has {meta['config'].get(k)!r}; {fix}")
    if theirs.get("vocab") != meta.get("vocab"):
        raise checkpoint.CheckpointError(
            f"{run_dir.best_path} is not of this run: its vocabulary ({len(theirs['vocab'])} characters) is not "
            f"{run_dir.ckpt_path.name}'s ({len(meta['vocab'])}); {fix}")
    return best_ck
