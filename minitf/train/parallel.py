"""Data-parallel training: the :class:`~minitf.train.loop.Trainer` strategy for several processes.

    from minitf import distributed, train
    comm = distributed.init(cfg.device)        # under `mpiexec -n N`: N ranks
    strategy = train.DataParallelStrategy(comm) if comm.size > 1 else None
    train.Trainer(cfg, strategy=strategy).run()

Every rank runs the same loop on its share of each global batch; the
communicator (from :mod:`minitf.distributed`, which alone knows MPI and NCCL)
broadcasts rank 0's parameters at the start and averages the gradients after
each backward, so every rank takes the same optimizer step. Only rank 0 prints
and writes the run directory; the other ranks read it (``--resume``) but never
write it.
"""
from __future__ import annotations

from .. import backend, distributed
from .. import random as mt_random
from .strategy import SingleProcess
from .rundir import ReadOnlyRunDir, RunDir

__all__ = ["DataParallelStrategy"]


def _silent(*args, **kwargs) -> None:
    pass


class DataParallelStrategy(SingleProcess):
    """Train one model on the ranks of ``comm``, each on ``batch_size / comm.size`` rows of every batch.

    ``bucket_bytes`` caps the flat buffers the gradients travel in (see
    :class:`minitf.distributed.DataParallel`). After a run, ``reducer.comm_s /
    reducer.steps`` is the mean time of one step's gradient allreduce: measured on
    the CPU, and on a GPU only with ``time_comm=True`` (each timing waits for the
    device inside the step; otherwise ``comm_s`` stays 0 there). ``overlap=True``
    starts each bucket's allreduce during backward (DataParallel's overlapped mode);
    the step's ``reduce_gradients`` then waits for them.
    """

    def __init__(self, comm, bucket_bytes: int = distributed.DEFAULT_BUCKET_BYTES, time_comm: bool | None = None,
                 overlap: bool = False):
        self.comm = comm
        self.rank, self.world_size = comm.rank, comm.size
        self.bucket_bytes = bucket_bytes
        self.time_comm = time_comm
        self.overlap = overlap
        self.reducer = None

    def prepare(self, model) -> None:
        if self.reducer is not None:   # a second prepare (a new model): the old one's hooks go
            self.reducer.remove_hooks()
        self.reducer = distributed.DataParallel(model.parameters(), self.comm, self.bucket_bytes,
                                                time_comm=self.time_comm, overlap=self.overlap)
        # a fresh model is already equal on every rank (same seed), a resumed one too (same checkpoint):
        # the broadcast makes it so whatever happened, e.g. a different BLAS on one node
        self.reducer.broadcast_parameters()

    def batch_shard(self) -> tuple:
        return (self.rank, self.world_size)

    def reduce_gradients(self, params) -> None:
        self.reducer.average_gradients()

    def reduce_means(self, values) -> list:
        return [v / self.world_size for v in self.comm.sum_floats(values)]

    def reduce_sum(self, values) -> list:
        return self.comm.sum_floats(values)

    # dropout: each rank draws its own masks (the same stream on every rank would drop the same
    # positions of its rows); the checkpoint keeps every rank's generator, so resume is exact
    def seed_rng(self, seed: int, device: str) -> None:
        if self.rank > 0:
            mt_random.seed_generator(device, [int(seed), backend.DEVICES.index(backend.check_device(device)),
                                              self.rank])

    def rng_states(self, state) -> dict:
        return {"minitf": state, "minitf_ranks": self.comm.allgather(state)}

    def own_rng_state(self, rng_meta: dict):
        ranks = rng_meta.get("minitf_ranks")
        if ranks is not None and len(ranks) == self.world_size:
            return ranks[self.rank]
        # saved by another number of processes: rank 0 continues its stream, the others keep their new one
        return rng_meta.get("minitf") if self.rank == 0 else None

    def open_run_dir(self, out_dir) -> RunDir:
        return RunDir(out_dir) if self.rank == 0 else ReadOnlyRunDir(out_dir)

    def wrap_log(self, log):
        return log if self.rank == 0 else _silent
