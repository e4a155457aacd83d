"""What only a GPU has: choosing one for this process, the NCCL collectives that
:mod:`minitf.distributed` reduces gradients with, and the GPU's facts and memory pool (for
records and benchmarks). Everything here needs CuPy and a GPU (``backend._load_cupy``)."""
from __future__ import annotations

import numpy as np

from .. import backend   # the package, whose CuPy state is read at call time (see its docstring)


# ---------------------------------------------------------------- choosing a GPU, NCCL (for minitf.distributed)
def select_gpu(index: int) -> None:
    """Make GPU ``index`` (modulo the GPUs present) this process's device, before any allocation.

    Ranks of a data-parallel job on one node each take their own GPU; NCCL
    refuses two ranks on one device.
    """
    try:
        import cupy
        count = cupy.cuda.runtime.getDeviceCount()
        cupy.cuda.Device(int(index) % max(count, 1)).use()
    except Exception as e:  # no CuPy, no driver, no device: _load_cupy says which
        backend._load_cupy()
        raise backend.DeviceError(f"cannot select GPU {index}: {type(e).__name__}: {e}") from None
    backend._load_cupy()


def _nccl():
    backend._load_cupy()
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise backend.DeviceError(f"CuPy was built without NCCL ({e}); install a CuPy wheel with NCCL "
                                  f"(cupy-cuda12x, plus `python -m cupyx.tools.install_library --library nccl` "
                                  f"where it is missing)") from None
    return nccl


def nccl_unique_id():
    """A new NCCL id (a tuple of ints, sent to every rank so they find each other)."""
    return _nccl().get_unique_id()


class NcclCollectives:
    """The collectives of flat CuPy arrays over NCCL, on the current stream.

    ``size`` ranks, this one being ``rank``, join the communicator named by
    ``unique_id`` (from :func:`nccl_unique_id` on one rank). The buffers must be
    contiguous CuPy arrays on this rank's GPU; NCCL reduces in place, device to
    device, without going through the host. ``op``: "sum", "prod", "max", "min"
    (NCCL has no bitwise reductions).
    """

    def __init__(self, size: int, rank: int, unique_id):
        nccl = self._nccl = _nccl()
        self.size, self.rank = int(size), int(rank)
        self._types = {np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
                       np.dtype(np.float64): nccl.NCCL_FLOAT64, np.dtype(np.int32): nccl.NCCL_INT32,
                       np.dtype(np.int64): nccl.NCCL_INT64}
        self.comm = nccl.NcclCommunicator(self.size, unique_id, self.rank)

    def _args(self, buf):
        if not (isinstance(buf, backend._cupy.ndarray) and buf.flags.c_contiguous):
            raise TypeError(f"NCCL reduces contiguous CuPy arrays, got {type(buf).__name__}")
        try:
            kind = self._types[np.dtype(buf.dtype)]
        except KeyError:
            raise TypeError(f"NCCL: unsupported dtype {buf.dtype}") from None
        return buf.data.ptr, buf.size, kind, backend._cupy.cuda.get_current_stream().ptr

    def _op(self, op: str) -> int:
        code = getattr(self._nccl, f"NCCL_{op.upper()}", None) if op in ("sum", "prod", "max", "min") else None
        if code is None:
            raise TypeError(f"NCCL has no reduction {op!r} (it has sum, prod, max and min)")
        return code

    def allreduce_(self, buf, op: str = "sum") -> None:
        ptr, count, kind, stream = self._args(buf)
        self.comm.allReduce(ptr, ptr, count, kind, self._op(op), stream)

    def iallreduce_(self, buf, op: str = "sum"):
        """The allreduce, queued: NCCL never makes the host wait, and the stream runs every later
        kernel after it, so there is nothing to finish (None)."""
        self.allreduce_(buf, op)
        return None

    def broadcast_(self, buf, root: int) -> None:
        ptr, count, kind, stream = self._args(buf)
        self.comm.bcast(ptr, count, kind, int(root), stream)

    def reduce_(self, buf, root: int, op: str) -> None:
        ptr, count, kind, stream = self._args(buf)
        self.comm.reduce(ptr, ptr, count, kind, self._op(op), int(root), stream)

    def allgather_(self, send, recv) -> None:
        ptr, count, kind, stream = self._args(send)
        self.comm.allGather(ptr, self._args(recv)[0], count, kind, stream)

    def reduce_scatter_(self, send, recv, op: str) -> None:
        ptr, count, kind, stream = self._args(recv)
        self.comm.reduceScatter(self._args(send)[0], ptr, count, kind, self._op(op), stream)

    # NCCL has no gather or scatter: an allgather (the other ranks drop it) and a broadcast of the whole
    def gather_(self, send, recv, root: int) -> None:
        if recv is None:
            recv = backend._cupy.empty(send.size * self.size, dtype=send.dtype)
        self.allgather_(send, recv)

    def scatter_(self, send, recv, root: int) -> None:
        if send is None:
            send = backend._cupy.empty(recv.size * self.size, dtype=recv.dtype)
        self.broadcast_(send, root)
        recv[...] = send.reshape(-1)[self.rank * recv.size:(self.rank + 1) * recv.size].reshape(recv.shape)


# ---------------------------------------------------------------- GPU facts, for records and benchmarks
def gpu_info() -> dict:
    """The GPU CuPy uses: name, memory, driver, CUDA runtime and CuPy versions (raises DeviceError
    without a usable GPU)."""
    cupy = backend._load_cupy()
    rt = cupy.cuda.runtime
    props = rt.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return {"name": name.decode() if isinstance(name, bytes) else str(name),
            "memory_bytes": int(props["totalGlobalMem"]), "driver": rt.driverGetVersion(),
            "cuda_runtime": rt.runtimeGetVersion(), "cupy": cupy.__version__}


def gpu_free_memory() -> int:
    """Bytes the current GPU can still give this process: the driver's free memory plus the blocks
    CuPy's memory pool holds unused (raises DeviceError without a usable GPU)."""
    cupy = backend._load_cupy()
    free, _total = cupy.cuda.runtime.memGetInfo()
    return int(free) + int(cupy.get_default_memory_pool().free_bytes())


def gpu_pool_growth(fn) -> int:
    """Bytes by which CuPy's default memory pool grows while ``fn()`` runs: the pool keeps the
    blocks it hands out, so after emptying it first, its growth over the call is the call's peak."""
    cupy = backend._load_cupy()
    pool = cupy.get_default_memory_pool()
    backend.synchronize("gpu")
    pool.free_all_blocks()
    before = pool.total_bytes()
    fn()
    backend.synchronize("gpu")
    return int(pool.total_bytes() - before)
