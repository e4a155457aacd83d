"""The evals of :class:`minitf.train.loop.Trainer`: the estimate over random batches, the exact
validation pass of the end, and what an eval records (its log line, the best and last checkpoints,
the warning of a rising validation loss). A mixin of the Trainer, whose state it reads and updates."""
from __future__ import annotations

import math
import time

import numpy as np

from . import evaluation
from .best import val_rise_warning
from .config import eval_batch_size
from .divergence import all_finite


class EvalMethods:
    """The eval methods of :class:`~minitf.train.loop.Trainer` (no state of their own)."""

    def _eval(self, it: int, tokens_per_s, final: bool) -> dict:
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            losses = self.estimate_loss()
        for split in ("train", "val"):
            if not math.isfinite(losses[split]):
                raise self._diverged(f"estimated {split} loss", losses[split], self.lr_at(it))
        if not all_finite(self.model.parameters()):
            raise self._diverged("parameters' value", "not finite", self.lr_at(it))
        rec = {"iter": it, "train_loss": losses["train"], "val_loss": losses["val"],
               "val_bpc": losses["val"] / math.log(2), "lr": self.lr_at(it),
               "tokens_per_s": tokens_per_s, "elapsed_s": None}
        self.elapsed_s += time.perf_counter() - t0
        rec["elapsed_s"] = round(self.elapsed_s, 3)
        self.records.append(rec)
        if self._replace_previous:
            # an --overwrite's first checkpoint: the earlier run goes now, not at the start, so that a
            # run stopped before this point (Ctrl-C, a crash, a bad setting) leaves it as it was
            self.run_dir.remove_previous_run()
            self._replace_previous = False
            self.write_log()
        else:
            self.write_log(rec)
        improved = self.best is None or rec["val_loss"] < self.best["val_loss"]
        if improved:
            self.best = {"iter": it, "val_loss": rec["val_loss"]}
            # best.npz first: killed between the two writes, ckpt.npz is the previous eval's, whose resume
            # redoes this eval and finds it best again (same losses), so the two files never disagree
            self.save_checkpoint(rec, best=True)
        # saved before the exact pass of the end too: a run killed or out of memory there loses no training
        self.save_checkpoint(rec)
        if final:
            self._exact_pass(rec)
        for cb in self.callbacks:
            cb(self, rec)
        return rec

    def _exact_pass(self, rec: dict) -> None:
        """The end's exact validation loss, added to the final eval ``rec``, its log line and ``ckpt.npz``."""
        t0 = time.perf_counter()
        exact, n = self.exact_val_loss()
        self.elapsed_s += time.perf_counter() - t0
        rec.update(final_val_loss=exact, final_val_bpc=exact / math.log(2), final_val_tokens=n,
                   elapsed_s=round(self.elapsed_s, 3))
        self.write_log()   # the eval's line, now with the exact loss
        self.save_checkpoint(rec)

    def _warn_val_rise(self, rec: dict) -> None:
        """Warn once when eval ``rec`` is well above the best (:func:`minitf.train.best.val_rise_warning`)."""
        if self._warned_val_rise or self.best is None or self.best["iter"] == rec["iter"]:
            return
        line = val_rise_warning(rec, self.best, self.cfg.eval_iters, self.run_dir.best_path, self.ckpt_path)
        if line is not None:
            self._warned_val_rise = True
            self._write(line)

    def estimate_loss(self) -> dict:
        """Mean loss over ``eval_iters`` random batches of each split (nanoGPT's estimate)."""
        gen = evaluation.eval_generator(self.cfg.seed, self.iter)
        out = evaluation.estimate_loss(self.model, self.sampler, self.cfg.eval_iters, gen)
        train, val = self.strategy.reduce_means([out["train"], out["val"]])   # one collective for both
        return {"train": train, "val": val}

    def exact_val_loss(self) -> tuple[float, int]:
        """Mean loss over every target of the validation split (non-overlapping blocks): (loss, count)."""
        # at most as many blocks at once as the memory check counted for a training batch
        sums = evaluation.val_loss_sums(self.model, self.sampler, eval_batch_size(self.cfg, len(self.vocab)),
                                        self.strategy.batch_shard())
        total, count = self.strategy.reduce_sum(sums)
        return total / count, int(count)
