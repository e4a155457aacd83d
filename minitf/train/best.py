"""The best checkpoint's bookkeeping: which eval ``best.npz`` holds, and the warning for a run that
gets worse than it.

``best.npz`` is written (first, atomically) at an eval whose estimated val loss is the lowest of the
run so far; ``ckpt.npz`` records that best too. A process killed between the two writes leaves
``best.npz`` one eval ahead of ``ckpt.npz``'s record: :func:`resumed_best` takes the lower of the two.

The estimates compared are those of the run's ``--eval-iters`` on its ``--data``: a resume with
another ``--eval-iters`` (another spread) or ``--data`` (another split) compares its new estimates
with the old best, which are not quite comparable (docs/training.md says so).
"""
from __future__ import annotations

import math

__all__ = ["VAL_RISE_WARNING", "VAL_RISE_EVAL_ITERS", "val_rise_threshold", "resumed_best", "val_rise_warning"]

# An eval whose val loss is this fraction above the best so far gets one warning: the run is getting
# worse, not wobbling. 5% is 0.1 nats at the baby preset's 1.9, five times the spread of its 20-batch
# estimate from seed to seed (about 0.02, docs/training.md), and larger than any rise between evals of
# the runs in docs/ that kept improving.
VAL_RISE_WARNING = 0.05
# the --eval-iters at which VAL_RISE_WARNING was set (the presets'); the estimate's spread grows as
# 1 / sqrt(eval_iters) below it, and the threshold with it
VAL_RISE_EVAL_ITERS = 20


def val_rise_threshold(eval_iters: int) -> float:
    """The fraction above the best val loss that warns: :data:`VAL_RISE_WARNING`, scaled by
    sqrt(20 / eval_iters) below 20 batches (the estimate's noise: 22% at ``--eval-iters 1``)."""
    return VAL_RISE_WARNING * math.sqrt(max(1.0, VAL_RISE_EVAL_ITERS / max(1, int(eval_iters))))


def _valid(best) -> bool:
    return (isinstance(best, dict) and isinstance(best.get("val_loss"), (int, float))
            and math.isfinite(best["val_loss"]))


def resumed_best(recorded, in_best_file):
    """The best eval a resumed run continues from: the lower of ``ckpt.npz``'s record (``recorded``)
    and ``best.npz``'s own (``in_best_file``), either of which may be None."""
    known = [b for b in (recorded, in_best_file) if _valid(b)]
    return dict(min(known, key=lambda b: b["val_loss"])) if known else None


def val_rise_warning(rec: dict, best: dict, eval_iters: int, best_path, ckpt_path) -> str | None:
    """The warning for eval ``rec`` when its val loss is past :func:`val_rise_threshold` above ``best``,
    else None. The lr it names is the one the run trains with there (``rec["lr"]``: min_lr after the
    decay), not the --lr peak."""
    threshold = val_rise_threshold(eval_iters)
    if rec["val_loss"] <= best["val_loss"] * (1 + threshold):
        return None
    return (f"warning: iter {rec['iter']}: the val loss {rec['val_loss']:.4f} is "
            f"{100 * (rec['val_loss'] / best['val_loss'] - 1):.0f}% above the best, {best['val_loss']:.4f} at "
            f"iter {best['iter']}, which stays in {best_path} ({ckpt_path} holds the latest state): the run is "
            f"getting worse; a lower learning rate than the {rec['lr']:.3g} it trains with now may help")
