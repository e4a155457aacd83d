"""The strategy seam of the training loop: how one run is spread over processes.

The seam for distributed training is ``Trainer(cfg, strategy=...)``. A
strategy is a small object with the methods of :class:`SingleProcess`, the
default, whose every method is the single-process behaviour (do nothing, or
return its argument). A data-parallel strategy overrides them:

- ``prepare(model)``: once, before the first step (broadcast rank 0's parameters);
- ``sampler_seed(seed)``: the batch sampler's seed on this process;
- ``batch_shard()``: ``(rank, world_size)``: which rows of each global batch this
  process computes (``--batch-size`` stays the global batch; see
  :class:`~minitf.data.BatchSampler`: every rank draws the same batches, so one
  sampler state is saved and resumed, and the ranks see what one process would);
- ``reduce_gradients(params)``: after ``backward`` and before clipping (all-reduce
  and average the gradients, so that every rank clips and steps identically);
- ``reduce_means(values)``: floats every rank computed (the training losses of the
  steps read at once, the eval losses), each averaged over the ranks, so that the
  divergence guard and the logs see the same numbers on every rank;
- ``reduce_sum(values)``: a few floats summed over the ranks (the exact validation
  loss, whose batches are split between the ranks);
- ``seed_rng(seed, device)``, ``rng_states(state)``, ``own_rng_state(rng_meta)``:
  each rank's own dropout stream, saved for every rank and restored on resume;
- ``open_run_dir(out_dir)`` and ``wrap_log(log)``: where this process writes and
  what it prints; for ranks other than 0 a :class:`~minitf.train.rundir.ReadOnlyRunDir`
  (resume reads, writes and the lock do nothing) and a silent log, so that only rank 0 logs and
  checkpoints, without any ``if rank == 0`` in the loop.
"""
from __future__ import annotations

from .rundir import RunDir

__all__ = ["SingleProcess"]


class SingleProcess:
    """The default strategy of a :class:`Trainer`: one process, which trains, logs and writes everything."""
    rank = 0
    world_size = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def prepare(self, model) -> None:
        """Called once before the first step."""

    def sampler_seed(self, seed: int) -> int:
        return seed

    def batch_shard(self) -> tuple:
        return (0, 1)         # every row of every batch

    def reduce_gradients(self, params) -> None:
        """Called after ``backward``, before clipping and the optimizer step."""

    def reduce_means(self, values) -> list:
        return list(values)

    def reduce_sum(self, values) -> list:
        return list(values)

    def seed_rng(self, seed: int, device: str) -> None:
        """After the model is built from ``manual_seed(seed)``: this process's dropout stream."""

    def rng_states(self, state) -> dict:
        """The checkpoint's entries for the dropout generator's ``state`` (this process's)."""
        return {"minitf": state}

    def own_rng_state(self, rng_meta: dict):
        """This process's dropout generator state in a checkpoint's ``rng`` entry (None: keep it)."""
        return rng_meta.get("minitf")

    def open_run_dir(self, out_dir) -> RunDir:
        return RunDir(out_dir)

    def wrap_log(self, log):
        return log
