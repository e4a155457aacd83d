"""Data parallelism over MPI (mpi4py), with NCCL through CuPy on GPUs.

    mpiexec -n 2 python examples/train_charlm.py --batch-size 12 ...

Every process (rank) holds a whole replica of the model. At the start the
parameters are broadcast from rank 0; each step every rank computes the
gradients of its share of the global batch, the gradients are summed over the
ranks with an allreduce and divided by the number of ranks, and every rank
applies the same optimizer step to the same averaged gradient, so the replicas
stay equal without ever being sent again. The gradients travel in a few large
flat buffers (:class:`DataParallel`'s buckets, in :mod:`minitf.data_parallel`),
not one message per parameter: each collective costs a latency, whatever its
size. ``iallreduce_`` starts one without waiting (:class:`Request`), which
lets ``DataParallel(overlap=True)`` send buckets while backward still runs.

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

torch.distributed's functions (``init_process_group``, ``all_reduce``, ``all_gather``, ...,
in :mod:`minitf.distributed_api`) are this module's names too; they run on the
communicator's collectives (``allreduce_`` with an ``op``, ``reduce_``, ``allgather_``,
``reduce_scatter_``, ``gather_``, ``scatter_``).
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback

import numpy as np

from . import backend

__all__ = ["DistributedError", "INSTALL_HINT", "launched_world_size", "init", "world", "SingleProcess",
           "MPICommunicator", "Request", "DataParallel", "abort_on_error", "grad_array", "set_grad_array"]

INSTALL_HINT = 'pip install -e ".[dist]"'
# what the launchers tell their processes: MPICH/Hydra and Intel MPI, Open MPI, MVAPICH
_SIZE_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")

_world = None   # the communicator of this process, once init() has run


from .errors import DistributedError  # noqa: E402  (there: minitf.distributed_api imports it too)


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

    def allreduce_(self, buf, op: str = "sum"):
        return buf

    def iallreduce_(self, buf, op: str = "sum") -> "Request":
        return Request(buf)

    def broadcast_(self, buf, root: int = 0):
        return buf

    def reduce_(self, buf, root: int = 0, op: str = "sum"):
        return buf

    def allgather_(self, send, recv):
        recv[...] = send.reshape(recv.shape)
        return recv

    def reduce_scatter_(self, send, recv, op: str = "sum"):
        return self.allgather_(send, recv)

    def gather_(self, send, recv, root: int = 0):
        return self.allgather_(send, recv)

    def scatter_(self, send, recv, root: int = 0):
        return self.allgather_(send, recv)

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

    def allreduce_(self, buf, op: str = "sum"):
        """Sum the flat array ``buf`` over the ranks, in place; returns it. ``op``: "sum", "prod",
        "max", "min" (and on the host "band", "bor", "bxor"), MPI's and NCCL's reductions."""
        self._arrays(buf).allreduce_(buf, op)
        return buf

    def iallreduce_(self, buf, op: str = "sum") -> "Request":
        """Start summing ``buf`` over the ranks in place (``MPI_Iallreduce``); ``buf`` is the
        collective's until the returned :class:`Request`'s ``wait()``. Every rank starts its
        nonblocking collectives in the same order. On a GPU, NCCL's allreduce is queued on the
        current stream as the blocking one is (the host never waits for NCCL): later kernels
        run after it, so ``wait()`` has nothing left to do, and the device does not overlap it
        with the backward kernels queued after it (that would take a second stream)."""
        pending = self._arrays(buf).iallreduce_(buf, op)
        return Request(buf) if pending is None else Request(buf, *pending)

    def broadcast_(self, buf, root: int = 0):
        """Overwrite ``buf`` with root's, in place; returns it."""
        self._arrays(buf).broadcast_(buf, root)
        return buf

    # The other collectives of torch.distributed (minitf/distributed_api.py), on contiguous arrays of
    # one device: ``recv`` is preallocated, of ``size`` times ``send``'s elements where it gathers.
    def reduce_(self, buf, root: int = 0, op: str = "sum"):
        """Reduce ``buf`` over the ranks into root's ``buf`` (the others' are left as they are)."""
        self._arrays(buf).reduce_(buf, root, op)
        return buf

    def allgather_(self, send, recv):
        """Every rank's ``send``, in rank order, into every rank's ``recv``."""
        self._arrays(send).allgather_(send, recv)
        return recv

    def reduce_scatter_(self, send, recv, op: str = "sum"):
        """``send`` (``size`` equal blocks) reduced over the ranks; rank r's ``recv`` gets block r."""
        self._arrays(send).reduce_scatter_(send, recv, op)
        return recv

    def gather_(self, send, recv, root: int = 0):
        """Every rank's ``send``, in rank order, into root's ``recv`` (None on the other ranks)."""
        self._arrays(send).gather_(send, recv, root)
        return recv

    def scatter_(self, send, recv, root: int = 0):
        """Block r of root's ``send`` (None on the other ranks) into rank r's ``recv``."""
        self._arrays(recv).scatter_(send, recv, root)
        return recv

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


class Request:
    """A collective in flight (what ``iallreduce_`` returns): ``wait()`` returns its buffer once
    the collective is done; ``test()`` says whether it is, without waiting. ``finish``: what
    completes it (None: nothing left to do); ``poll``: what tells whether it could."""

    __slots__ = ("buf", "_finish", "_poll")

    def __init__(self, buf, finish=None, poll=None):
        self.buf, self._finish, self._poll = buf, finish, poll

    def test(self) -> bool:
        """True once ``wait()`` would not block. Under MPI a call of it also moves every pending
        collective of the process on (MPICH progresses them only inside MPI calls)."""
        return self._finish is None or self._poll is None or bool(self._poll())

    def wait(self):
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        return self.buf


class _HostCollectives:
    """MPI's collectives on host buffers; ``staged``: device buffers copied through the host."""

    def __init__(self, comm, MPI, staged: bool):
        self.comm, self.MPI, self.staged = comm, MPI, staged
        self.ops = {"sum": MPI.SUM, "prod": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN,
                    "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}

    def _host(self, buf):
        return None if buf is None else (backend.to_numpy(buf) if self.staged else buf)

    def _back(self, host, buf) -> None:
        """A staged buffer's result, from the host to the device."""
        if self.staged and buf is not None:
            buf[...] = backend.to_device(host, backend.device_of(buf)).reshape(buf.shape)

    def allreduce_(self, buf, op: str = "sum") -> None:
        host = self._host(buf)
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.ops[op])
        self._back(host, buf)

    def iallreduce_(self, buf, op: str = "sum"):
        """Start the allreduce; returns what finishes it (waits, then copies a staged buffer back)
        and what tests it."""
        host = self._host(buf)
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self.ops[op])

        def finish():
            request.Wait()
            self._back(host, buf)
        return finish, request.Test

    def broadcast_(self, buf, root: int) -> None:
        host = self._host(buf)
        self.comm.Bcast(host, root=root)
        self._back(host, buf)

    def reduce_(self, buf, root: int, op: str) -> None:
        host = self._host(buf)
        if self.comm.Get_rank() == root:
            self.comm.Reduce(self.MPI.IN_PLACE, host, op=self.ops[op], root=root)
            self._back(host, buf)
        else:
            self.comm.Reduce(host, None, op=self.ops[op], root=root)

    def allgather_(self, send, recv) -> None:
        host = self._host(recv)
        self.comm.Allgather(self._host(send), host)
        self._back(host, recv)

    def reduce_scatter_(self, send, recv, op: str) -> None:
        host = self._host(recv)
        self.comm.Reduce_scatter_block(self._host(send), host, op=self.ops[op])
        self._back(host, recv)

    def gather_(self, send, recv, root: int) -> None:
        host = self._host(recv)
        self.comm.Gather(self._host(send), host, root=root)
        self._back(host, recv)

    def scatter_(self, send, recv, root: int) -> None:
        host = self._host(recv)
        self.comm.Scatter(self._host(send), host, root=root)
        self._back(host, recv)


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


# DataParallel and the gradient helpers live in their own module; they are this one's names too
from .data_parallel import (DEFAULT_BUCKET_BYTES, DEFAULT_FIRST_BUCKET_BYTES, DataParallel,  # noqa: E402,F401
                            _make_buckets, grad_array, set_grad_array)

# torch.distributed's functions (init_process_group, all_reduce, ...): minitf.distributed's names too
from .distributed_api import *  # noqa: E402,F401,F403
from .distributed_api import __all__ as _api_names  # noqa: E402
__all__ += _api_names
