"""A resumed run with nothing left to train: is it finished, or was its final eval cut short?

A run ends with an eval at ``max_iters`` whose exact validation pass comes after ``ckpt.npz`` is
saved (so that an out-of-memory kill or a ``kill -9`` there loses no training), then a second save
that adds ``final_val_loss``. A resume of a checkpoint at (or past) ``max_iters`` is therefore one
of three things, told apart by the checkpoint's ``last_eval`` record (:func:`what_is_left`):

- ``"finished"``: its eval at this iteration holds ``final_val_loss``; nothing is done but say so;
- ``"exact"``: its eval at this iteration has the estimate but no exact loss (the process died, or a
  second Ctrl-C stopped it, during the pass): the pass is computed and recorded as a normal end does;
- ``"eval"``: no eval at this iteration (a run stopped between evals, resumed with a lower
  ``--max-iters``): the final eval is done there, estimate and exact pass.
"""
from __future__ import annotations

import math

from .progress import eval_line
from .stopping import StopSignals

__all__ = ["complete", "what_is_left", "finished_line", "unfinished_line"]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def what_is_left(last_eval, it: int) -> str:
    """``"finished"``, ``"exact"`` or ``"eval"`` for a checkpoint at iteration ``it`` whose metadata's
    ``last_eval`` is ``last_eval`` (a record dict, or None; a crafted one that is neither counts as
    None: the eval is then simply done again)."""
    if not (isinstance(last_eval, dict) and last_eval.get("iter") == it and _number(last_eval.get("val_loss"))
            and _number(last_eval.get("train_loss"))):
        return "eval"
    return "finished" if _number(last_eval.get("final_val_loss")) else "exact"


def finished_line(rec: dict, max_iters: int, best: dict | None, best_path) -> str:
    """What a resume of a finished run says (``rec``: its final eval)."""
    line = (f"the run is finished: trained to iter {rec['iter']} (max_iters {max_iters}), final val loss "
            f"{rec['final_val_loss']:.4f} ({rec['final_val_loss'] / math.log(2):.3f} bpc, exact, over the whole "
            f"validation split)")
    if best:
        line += f"; its best estimated val loss, {best['val_loss']:.4f} at iter {best['iter']}, is in {best_path}"
    return line + "; nothing to train (pass a larger --max-iters to train further)"


def unfinished_line(left: str, it: int, max_iters: int) -> str:
    """What a resume says before completing the final eval (``left``: ``"exact"`` or ``"eval"``)."""
    where = f"at max_iters {max_iters}" if it == max_iters else f"past max_iters {max_iters}"
    if left == "exact":
        return (f"the checkpoint is at iter {it}, {where}: training is done, but its final exact validation pass "
                f"did not finish (the run was killed or stopped during it); computing it now")
    return (f"the checkpoint is at iter {it}, {where}, saved between evals: nothing to train; evaluating it "
            f"now as the run's final state")


def complete(trainer) -> dict:
    """End a resumed ``trainer`` whose checkpoint is at (or past) ``max_iters``: say that the run is
    finished, or do the final eval, or its exact pass, that its end did not; then the end's sample. The
    summary dict of :meth:`~minitf.train.Trainer.run`."""
    left = what_is_left(trainer.last_eval, trainer.iter)
    if left == "finished":
        trainer.log(finished_line(trainer.last_eval, trainer.cfg.max_iters, trainer.best, trainer.run_dir.best_path))
        return trainer._finish(trainer.last_eval)
    trainer.log(unfinished_line(left, trainer.iter, trainer.cfg.max_iters))
    # a Ctrl-C or SIGTERM during the pass stops after it, saved, as at a normal end
    signals = StopSignals(trainer.request_stop, enabled=trainer.strategy.batch_shard()[1] == 1).__enter__()
    trainer.started = True
    try:
        if left == "exact":
            rec = dict(trainer.last_eval)
            # the log's line of this eval (the checkpoint's record, should the log have lost it)
            trainer.records = [r for r in trainer.records if r.get("iter") != trainer.iter] + [rec]
            trainer._exact_pass(rec)
            for cb in trainer.callbacks:
                cb(trainer, rec)
        else:
            trainer._resumed_at = None   # this iteration has no eval yet
            rec = trainer._eval(trainer.iter, None, final=True)
            trainer.log(eval_line(rec))
        if trainer._stop_reason is not None:
            trainer._stop()
    finally:
        signals.__exit__()
    return trainer._finish(rec)
