"""Data parallelism over MPI (mpi4py), with NCCL through CuPy on GPUs.

    mpiexec -n 2 python examples/train_charlm.py --batch-size 12 ...

Every process (rank) holds a whole replica of the model. At the start the
parameters are broadcast from rank 0; each step every rank computes the
gradients of its share of the global batch, the gradients are summed over the
ranks with an allreduce and divided by the number of ranks, and every rank
applies the same optimizer step to the same averaged gradient, so the replicas
stay equal without ever being sent again. The gradients travel in a few large
flat buffers (:class:`DataParallel`'s buckets), not one message per parameter:
each collective costs a latency, whatever its size.

This module and :mod:`minitf.backend` are the only ones that know MPI and
NCCL. ``mpi4py`` is imported only when the process was started by ``mpiexec``
with more than one rank, or when :func:`init` is asked for it; a plain
``python script.py`` runs as one process (:class:`SingleProcess`) and needs
neither. Install the MPI runtime with ``pip install -e ".[dist]"`` (mpi4py and
the MPICH wheel, whose ``mpiexec`` lands in the environment's ``bin/``).

Where the arrays are reduced depends on the device:

* ``cpu``  -- MPI reduces the NumPy buffers in place.
* ``gpu``  -- NCCL reduces the CuPy buffers on the GPUs (:class:`minitf.backend.NcclCollectives`);
  MPI only hands out NCCL's id and picks one GPU per rank on each node.
* ``fake`` -- the buffers go to the host, through MPI, and back: the GPU's code
  path (device buffers, explicit transfers) on machines without one.

A rank that raises must not leave the others waiting in a collective for
ever: :func:`abort_on_error` prints the rank's error and aborts the whole job.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback

import numpy as np

from . import backend
from .autograd import bump_version
from .tensor import Tensor

__all__ = ["DistributedError", "INSTALL_HINT", "launched_world_size", "init", "world", "SingleProcess",
           "MPICommunicator", "DataParallel", "abort_on_error", "grad_array", "set_grad_array"]

INSTALL_HINT = 'pip install -e ".[dist]"'
# what the launchers tell their processes: MPICH/Hydra and Intel MPI, Open MPI, MVAPICH
_SIZE_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
DEFAULT_BUCKET_BYTES = 25 * 2**20   # PyTorch DDP's default bucket size

_world = None   # the communicator of this process, once init() has run


class DistributedError(RuntimeError):
    """Distributed training cannot start (no mpi4py, a bad setting...); the message says why."""


def launched_world_size() -> int:
    """How many processes the MPI launcher started (1 without ``mpiexec``). Reads the environment only."""
    for name in _SIZE_ENV:
        value = os.environ.get(name)
        if value:
            try:
                return max(int(value), 1)
            except ValueError:
                pass
    return 1


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"distributed training needs mpi4py ({e}): install it with `{INSTALL_HINT}`, "
                               f"then start the ranks with `mpiexec -n N python ...`") from None
    return MPI


def init(required: bool = False):
    """The communicator of this process: :class:`MPICommunicator` under ``mpiexec -n N`` (N > 1),
    else :class:`SingleProcess`.

    ``required=True`` asks for MPI even in a single process (a clear
    :class:`DistributedError` naming the install command when mpi4py is
    missing). The first call decides; later calls return the same object.
    On GPUs, call ``comm.bind_device("gpu")`` before making any array.
    """
    global _world
    if _world is None:
        if launched_world_size() > 1 or required:
            _world = MPICommunicator(_import_mpi().COMM_WORLD)
        else:
            _world = SingleProcess()
    return _world


def world():
    """The communicator made by :func:`init`, or :class:`SingleProcess` if it has not run."""
    return _world if _world is not None else SingleProcess()


class SingleProcess:
    """The communicator of a run without MPI: one rank, and every collective is the identity."""

    rank, size = 0, 1

    def bind_device(self, device: str) -> None:
        pass

    def allreduce_(self, buf):
        return buf

    def broadcast_(self, buf, root: int = 0):
        return buf

    def sum_floats(self, values) -> list:
        return [float(v) for v in values]

    def allgather(self, obj) -> list:
        return [obj]

    def bcast_object(self, obj, root: int = 0):
        return obj

    def barrier(self) -> None:
        pass

    def abort(self, code: int = 1):
        raise SystemExit(code)


class MPICommunicator:
    """The ranks of an MPI communicator (``mpi4py``), reducing arrays of any device.

    ``allreduce_(buf)`` sums a flat array over the ranks in place and
    ``broadcast_(buf, root)`` copies root's into everyone's: NumPy buffers
    through MPI, CuPy buffers through NCCL, fake-device buffers staged through
    the host. ``sum_floats``, ``allgather`` and ``bcast_object`` carry small host
    values (losses, error messages, NCCL's id).
    """

    def __init__(self, comm):
        self.comm = comm
        self.MPI = _import_mpi()
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self._collectives = {}    # device -> what reduces its arrays, made at its first collective

    def bind_device(self, device: str) -> None:
        """Give this rank its own GPU (``device="gpu"``): the rank's index among the ranks of its
        node picks it. Call before any GPU array exists; a no-op for other devices."""
        if backend.check_device(device) == "gpu":
            backend.select_gpu(self.comm.Split_type(self.MPI.COMM_TYPE_SHARED).Get_rank())

    def _arrays(self, buf):
        device = backend.device_of(buf)
        ops = self._collectives.get(device)
        if ops is None:
            if device == "gpu":   # every rank reaches its first GPU collective together: the id goes round
                uid = self.comm.bcast(backend.nccl_unique_id() if self.rank == 0 else None, root=0)
                ops = backend.NcclCollectives(self.size, self.rank, uid)
            else:
                ops = _HostCollectives(self.comm, self.MPI, staged=device != "cpu")
            self._collectives[device] = ops
        return ops

    def allreduce_(self, buf):
        """Sum the flat array ``buf`` over the ranks, in place; returns it."""
        self._arrays(buf).allreduce_(buf)
        return buf

    def broadcast_(self, buf, root: int = 0):
        """Overwrite ``buf`` with root's, in place; returns it."""
        self._arrays(buf).broadcast_(buf, root)
        return buf

    def sum_floats(self, values) -> list:
        """Element-wise sum over the ranks of a few Python floats (in float64)."""
        buf = np.array([float(v) for v in values], dtype=np.float64)
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf.tolist()

    def allgather(self, obj) -> list:
        return self.comm.allgather(obj)

    def bcast_object(self, obj, root: int = 0):
        return self.comm.bcast(obj, root=root)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1):
        self.comm.Abort(code)


class _HostCollectives:
    """Allreduce and broadcast of host buffers over MPI; ``staged``: device buffers copied through the host."""

    def __init__(self, comm, MPI, staged: bool):
        self.comm, self.MPI, self.staged = comm, MPI, staged

    def allreduce_(self, buf) -> None:
        host = backend.to_numpy(buf) if self.staged else buf
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
        if self.staged:
            buf[...] = backend.to_device(host, backend.device_of(buf))

    def broadcast_(self, buf, root: int) -> None:
        host = backend.to_numpy(buf) if self.staged else buf
        self.comm.Bcast(host, root=root)
        if self.staged:
            buf[...] = backend.to_device(host, backend.device_of(buf))


# ---------------------------------------------------------------- gradients
def grad_array(p):
    """The gradient array of a parameter (None if it has none): the one place that knows what ``.grad`` holds."""
    return None if p.grad is None else p.grad.data


def set_grad_array(p, array) -> None:
    """Give parameter ``p`` the gradient array ``array`` (into its ``.grad`` Tensor, made if it has none)."""
    if p.grad is None:
        p.grad = Tensor(array)
    else:
        p.grad.data = array


class DataParallel:
    """Keeps the replicas of ``parameters`` equal on every rank of ``comm``.

    :meth:`broadcast_parameters` copies rank 0's values to every rank (call it
    once, before training); :meth:`average_gradients` replaces every gradient
    by its mean over the ranks (call it after ``backward()``, before clipping
    and the optimizer step). Parameters are packed, in order, into flat
    buffers of one dtype and device of at most ``bucket_bytes`` each (a
    parameter larger than that gets a bucket of its own), so a model makes one
    collective per bucket, not one per parameter. A parameter without a
    gradient contributes zeros and receives the mean like the others: every
    rank must take part in every collective, whatever its own graph reached.

    ``comm_s`` accumulates the seconds spent in the gradients' collectives, ``steps``
    the calls. On a GPU timing them needs the device synchronised before and after
    each one, a host wait inside every step, so there it is done only with
    ``time_comm=True`` (None, the default: time where it costs nothing, on the CPU).
    """

    def __init__(self, parameters, comm=None, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                 time_comm: bool | None = None):
        self.time_comm = time_comm
        self.comm = comm if comm is not None else world()
        seen, self.params = set(), []
        for p in parameters:
            if id(p) not in seen:        # a tied weight is one parameter
                seen.add(id(p))
                self.params.append(p)
        self.buckets = _make_buckets(self.params, int(bucket_bytes))
        self._flat = [None] * len(self.buckets)
        self.comm_s, self.steps = 0.0, 0

    def _buffer(self, i: int):
        if self._flat[i] is None:
            b = self.buckets[i]
            self._flat[i] = backend.array_module(b.device).empty(b.numel, dtype=b.dtype)
        return self._flat[i]

    def broadcast_parameters(self, root: int = 0) -> None:
        """Every rank's parameter values become ``root``'s (in place)."""
        if self.comm.size == 1:
            return
        for i, b in enumerate(self.buckets):
            flat = self._buffer(i)
            for p, lo, hi in b.slots:
                flat[lo:hi] = p.data.reshape(-1)
            self.comm.broadcast_(flat, root)
            for p, lo, hi in b.slots:
                p.data[...] = flat[lo:hi].reshape(p.data.shape)

    def average_gradients(self) -> None:
        """Every gradient becomes its mean over the ranks (in place)."""
        if self.comm.size == 1:
            return
        scale = 1.0 / self.comm.size
        for i, b in enumerate(self.buckets):
            flat = self._buffer(i)
            for p, lo, hi in b.slots:
                g = grad_array(p)
                if g is None:
                    flat[lo:hi] = 0
                else:
                    flat[lo:hi] = g.reshape(-1)
            timed = self.time_comm if self.time_comm is not None else b.device == "cpu"
            if timed:
                backend.synchronize(b.device)   # the copies are queued GPU work, not communication
                t0 = time.perf_counter()
            self.comm.allreduce_(flat)
            if timed:
                backend.synchronize(b.device)
                self.comm_s += time.perf_counter() - t0
            flat *= scale
            for p, lo, hi in b.slots:
                g = grad_array(p)
                if g is None:
                    set_grad_array(p, flat[lo:hi].reshape(p.data.shape).copy())
                else:
                    g[...] = flat[lo:hi].reshape(g.shape)
                    bump_version(p.grad)   # an in-place change of .grad, as clip_grad_norm_'s
        self.steps += 1


class _Bucket:
    """Parameters sharing one flat buffer: ``slots`` are (parameter, start, stop) in it."""

    __slots__ = ("device", "dtype", "slots", "numel")

    def __init__(self, device, dtype):
        self.device, self.dtype, self.slots, self.numel = device, dtype, [], 0

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


def _make_buckets(params, bucket_bytes: int) -> list:
    """Group parameters, in order, into buckets of one (device, dtype) holding at most ``bucket_bytes``."""
    buckets, open_ = [], {}
    for p in params:
        key = (p.device, p.data.dtype)
        b = open_.get(key)
        if b is None or (b.slots and b.nbytes + p.data.nbytes > bucket_bytes):
            b = open_[key] = _Bucket(*key)
            buckets.append(b)
        b.slots.append((p, b.numel, b.numel + p.data.size))
        b.numel += p.data.size
    return buckets


# ---------------------------------------------------------------- errors
@contextlib.contextmanager
def abort_on_error(comm=None, stream=None):
    """Run a block on every rank; if it raises on one, stop them all with that rank's error.

    Without this, a rank that raises exits while the others wait for it in
    their next collective, for ever. In a job of more than one rank, an
    exception (``SystemExit`` with a non-zero code included) prints
    ``rank R of N: <traceback>`` to stderr and calls ``MPI_Abort`` with the
    exit code (1 for an exception), which ends every rank; ``mpiexec`` exits
    with that code. In a single process the exception propagates as usual.
    """
    comm = comm if comm is not None else world()
    try:
        yield comm
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if comm.size == 1 or code == 0:
            raise
        if not isinstance(e.code, int) and e.code is not None:
            print(f"rank {comm.rank} of {comm.size}: {e.code}", file=stream or sys.stderr, flush=True)
        comm.abort(code)
        raise
    except BaseException as e:
        if comm.size == 1:
            raise
        out = stream or sys.stderr
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        print(f"rank {comm.rank} of {comm.size}: {text}", file=out, end="", flush=True)
        comm.abort(130 if isinstance(e, KeyboardInterrupt) else 1)
        raise
