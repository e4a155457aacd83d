"""torch.distributed's everyday functions, on minitf's communicator (:mod:`minitf.distributed`).

    import minitf.distributed as dist
    dist.init_process_group("gloo")          # under mpiexec -n N: N ranks; a plain python run: 1
    t = mt.ones(3) * (dist.get_rank() + 1)
    dist.all_reduce(t)                       # in place: 1 + 2 + ... + N in every rank's t

The functions keep torch's signatures and semantics: they change their tensors in place
(their version counters move, as an in-place op's), work on the default group (the only one
minitf has: every rank; ``group=None`` or ``group.WORLD``), and with ``async_op=True``
return a :class:`Work` to ``wait()`` for. Every collective is one of the communicator's
(MPI on cpu and fake tensors, NCCL on gpu ones, whatever ``backend`` name was given: "mpi",
"gloo" and "nccl" are accepted): this module only turns tensors into contiguous buffers and
back. ``all_reduce(async_op=True)`` is nonblocking (``MPI_Iallreduce``); the other collectives
run at the call and return a completed Work.

Objects (``all_gather_object``, ``broadcast_object_list``) travel pickled, by mpi4py's
lowercase methods, as torch pickles them: the one place bytes are unpickled, and only what
the ranks of one job sent each other.
"""
from __future__ import annotations

import enum
import os

from . import backend
from .autograd import bump_version
from .errors import ArgumentError, DistributedError, ShapeError
from .tensor import Tensor

__all__ = ["ReduceOp", "Work", "ProcessGroupError", "group", "GroupMember", "init_process_group",
           "destroy_process_group", "is_initialized", "is_available", "is_mpi_available", "is_nccl_available",
           "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast", "reduce",
           "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor", "gather", "scatter",
           "all_gather_object", "broadcast_object_list"]

_BACKENDS = ("mpi", "gloo", "nccl")
_default = None   # (communicator, backend name) once init_process_group has run


class ProcessGroupError(DistributedError, ValueError):
    """The default process group is not initialized, or is initialized twice (torch: ValueError)."""


class ReduceOp(enum.Enum):
    """How a collective combines the ranks' values (torch.distributed.ReduceOp). AVG is the sum
    divided by the world size, for floating-point tensors; BAND, BOR and BXOR (integers) are MPI's only."""
    SUM = "sum"
    PRODUCT = "prod"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"
    AVG = "avg"


class _World:
    def __repr__(self):
        return "<minitf.distributed.group.WORLD>"


class group:
    """torch.distributed.group: ``WORLD``, the default group (every rank), the only one minitf has."""
    WORLD = _World()


GroupMember = group


class Work:
    """A collective started with ``async_op=True``: ``wait()`` returns True once it is done (its
    tensors hold the result); ``is_completed()`` says whether it is, without waiting."""

    def __init__(self, request=None, after=None):
        self._request, self._after = request, after

    def wait(self, timeout=None) -> bool:
        if self._request is not None:
            request, self._request = self._request, None
            request.wait()
        if self._after is not None:
            after, self._after = self._after, None
            after()
        return True

    def is_completed(self) -> bool:
        if self._request is None or self._request.test():
            self.wait()   # (copies the result of a staged or non-contiguous buffer back: no waiting)
            return True
        return False

    def is_success(self) -> bool:
        return self.is_completed()


# ---------------------------------------------------------------- the default group
def _backend_name(name) -> str:
    name = "mpi" if name is None else str(name).lower()
    parts = [p.partition(":")[2] or p for p in name.split(",")]   # "cpu:gloo,cuda:nccl" as torch writes it
    if not all(p in _BACKENDS for p in parts):
        raise ArgumentError(f"init_process_group: unknown backend {name!r}: minitf accepts 'mpi', 'gloo' and "
                            f"'nccl' (each runs over MPI, with NCCL for gpu tensors)")
    return name


def init_process_group(backend=None, init_method=None, timeout=None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default group: every rank ``mpiexec -n N`` started (N > 1), or this process alone.

    The ranks find each other through the MPI launcher, so ``init_method``, ``store`` and
    ``timeout`` are accepted and not needed; ``world_size`` and ``rank``, where given, must be
    what the launcher made. ``backend`` "nccl" under ``mpiexec`` gives each rank its own GPU
    (``comm.bind_device("gpu")``, before any GPU array exists) where there is one.
    """
    global _default
    from . import distributed
    if _default is not None:
        raise ProcessGroupError("trying to initialize the default process group twice!")
    name = _backend_name(backend)
    expected = int(world_size) if world_size is not None and int(world_size) != -1 else None
    if expected is None and os.environ.get("WORLD_SIZE", "").isdigit():
        expected = int(os.environ["WORLD_SIZE"])   # set by torchrun, which minitf does not use
    comm = distributed.init(required=expected is not None and expected > 1)
    if expected is not None and expected != comm.size:
        raise DistributedError(f"init_process_group: world_size {expected}, but this process is one of "
                               f"{comm.size}: start the ranks with `mpiexec -n {expected} python ...` "
                               f"(not torchrun)")
    if rank is not None and int(rank) != -1 and int(rank) != comm.rank:
        raise DistributedError(f"init_process_group: rank {rank}, but MPI made this process rank {comm.rank}")
    if "nccl" in name and comm.size > 1 and backend.gpu_available():
        comm.bind_device("gpu")
    _default = (comm, name)


def destroy_process_group(group=None) -> None:
    """Leave the default group (MPI itself stays up until the process exits, as mpi4py's)."""
    global _default
    _comm(group, "destroy_process_group")
    _default = None


def is_initialized() -> bool:
    return _default is not None


def is_available() -> bool:
    """True: the API works in every process (one rank without ``mpiexec``)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py can be imported (it is not imported to tell)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """Whether CuPy, a GPU and CuPy's NCCL are usable (imports CuPy to tell)."""
    try:
        backend.gpu._nccl()
        return True
    except backend.DeviceError:
        return False


def _comm(group, name: str):
    if group is not None and not isinstance(group, _World):
        raise ArgumentError(f"{name}: minitf has only the default group (group=None or group.WORLD)")
    if _default is None:
        raise ProcessGroupError("Default process group has not been initialized, please make sure to call "
                                "init_process_group.")
    return _default[0]


def get_rank(group=None) -> int:
    return _comm(group, "get_rank").rank


def get_world_size(group=None) -> int:
    return _comm(group, "get_world_size").size


def get_backend(group=None) -> str:
    """The backend name ``init_process_group`` was given ("mpi" by default)."""
    _comm(group, "get_backend")
    return _default[1]


def barrier(group=None, async_op: bool = False, device_ids=None):
    _comm(group, "barrier").barrier()
    return Work() if async_op else None


# ---------------------------------------------------------------- tensors as buffers
def _array(t, name: str, what: str = "tensor"):
    """``t``'s array, and what writes a contiguous stand-in back (None where it is contiguous)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    a = t.data
    if a.flags.c_contiguous:
        return a, None
    b = a.copy()   # C order: MPI and NCCL take contiguous buffers
    return b, lambda: a.__setitem__(Ellipsis, b)


def _written(t, back=None) -> None:
    if back is not None:
        back()
    bump_version(t)   # an in-place change, as torch's collectives record it


def _op(op, name: str, arr) -> str:
    if not isinstance(op, ReduceOp):
        raise ArgumentError(f"{name}: op must be a ReduceOp (ReduceOp.SUM, ...), got {op!r}")
    if op is ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise ArgumentError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got {arr.dtype}")
    return "sum" if op is ReduceOp.AVG else op.value


def _root(r, comm, name: str, what: str) -> int:
    if not isinstance(r, int) or not 0 <= r < comm.size:
        raise ArgumentError(f"{name}: {what}={r!r} is not a rank of the group (0 to {comm.size - 1})")
    return r


def _check_like(ts, t, name: str, what: str) -> None:
    for u in ts:
        if not isinstance(u, Tensor) or u.shape != t.shape or u.dtype != t.dtype or u.device != t.device:
            got = f"{tuple(u.shape)} {u.dtype} on {u.device}" if isinstance(u, Tensor) else type(u).__name__
            raise ShapeError(f"{name}: every tensor of {what} must be like the tensor, {tuple(t.shape)} {t.dtype} "
                             f"on {t.device}; got {got}")


def _sized(lst, comm, name: str, what: str) -> None:
    if lst is None or len(lst) != comm.size:
        n = "None" if lst is None else len(lst)
        raise ArgumentError(f"{name}: {what} must hold world_size ({comm.size}) tensors, got {n}")


def _stack_for(lst, t, arr, comm, name: str, what: str):
    """An empty (world_size, *t.shape) buffer on ``t``'s device, for the world_size tensors of ``lst``
    (checked to be like ``t``)."""
    _sized(lst, comm, name, what)
    _check_like(lst, t, name, what)
    return backend.get_array_module(arr).empty((comm.size,) + arr.shape, dtype=arr.dtype)


def _unstack(recv, lst) -> None:
    for r, t in enumerate(lst):
        t.data[...] = recv[r]
        bump_version(t)


def _done(async_op: bool):
    return Work() if async_op else None


# ---------------------------------------------------------------- collectives
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Every rank's ``tensor`` becomes the reduction over the ranks (in place). ``tensor``: any shape."""
    comm = _comm(group, "all_reduce")
    buf, back = _array(tensor, "all_reduce")
    code = _op(op, "all_reduce", buf)

    def after():
        if op is ReduceOp.AVG:
            buf[...] /= comm.size
        _written(tensor, back)
    if async_op:
        return Work(comm.iallreduce_(buf, code), after)
    comm.allreduce_(buf, code)
    after()
    return None


def broadcast(tensor, src: int, group=None, async_op: bool = False):
    """Every rank's ``tensor`` becomes rank ``src``'s (in place)."""
    comm = _comm(group, "broadcast")
    buf, back = _array(tensor, "broadcast")
    comm.broadcast_(buf, _root(src, comm, "broadcast", "src"))
    _written(tensor, back)
    return _done(async_op)


def reduce(tensor, dst: int, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Rank ``dst``'s ``tensor`` becomes the reduction over the ranks; the others' are left as they are."""
    comm = _comm(group, "reduce")
    buf, back = _array(tensor, "reduce")
    code = _op(op, "reduce", buf)
    comm.reduce_(buf, _root(dst, comm, "reduce", "dst"), code)
    if comm.rank == dst:
        if op is ReduceOp.AVG:
            buf[...] /= comm.size
        _written(tensor, back)
    return _done(async_op)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` becomes rank r's ``tensor`` on every rank (in place); ``tensor_list``:
    world_size tensors of ``tensor``'s shape, dtype and device."""
    comm = _comm(group, "all_gather")
    send, _ = _array(tensor, "all_gather")
    recv = _stack_for(tensor_list, tensor, send, comm, "all_gather", "tensor_list")
    comm.allgather_(send, recv)
    _unstack(recv, tensor_list)
    return _done(async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Every rank's ``input_tensor`` (n elements), in rank order, into ``output_tensor``
    (world_size * n elements: ``(world_size * d0, ...)`` or ``(world_size, d0, ...)``)."""
    comm = _comm(group, "all_gather_into_tensor")
    send, _ = _array(input_tensor, "all_gather_into_tensor", "input_tensor")
    recv, back = _array(output_tensor, "all_gather_into_tensor", "output_tensor")
    _fits(recv.size, send.size * comm.size, recv.dtype, send.dtype, "all_gather_into_tensor",
          "output_tensor", "input_tensor")
    comm.allgather_(send, recv)
    _written(output_tensor, back)
    return _done(async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """``input`` (world_size * n elements: world_size blocks along dim 0) reduced over the ranks;
    rank r's ``output`` (n elements) gets block r."""
    comm = _comm(group, "reduce_scatter_tensor")
    send, _ = _array(input, "reduce_scatter_tensor", "input")
    recv, back = _array(output, "reduce_scatter_tensor", "output")
    _fits(send.size, recv.size * comm.size, send.dtype, recv.dtype, "reduce_scatter_tensor", "input", "output")
    comm.reduce_scatter_(send, recv, _op(op, "reduce_scatter_tensor", recv))
    if op is ReduceOp.AVG:
        recv[...] /= comm.size
    _written(output, back)
    return _done(async_op)


def _fits(big: int, want: int, dt1, dt2, name: str, what_big: str, what_small: str) -> None:
    if big != want or dt1 != dt2:
        raise ShapeError(f"{name}: {what_big} must have world_size times the elements of {what_small}, of its "
                         f"dtype: {big} {dt1} against {want} {dt2}")


def gather(tensor, gather_list=None, dst: int = 0, group=None, async_op: bool = False):
    """Rank ``dst``'s ``gather_list[r]`` becomes rank r's ``tensor``; ``gather_list``: world_size
    tensors like ``tensor`` on ``dst``, None on the other ranks."""
    comm = _comm(group, "gather")
    dst = _root(dst, comm, "gather", "dst")
    send, _ = _array(tensor, "gather")
    recv = _stack_for(gather_list, tensor, send, comm, "gather", "gather_list (on dst)") if comm.rank == dst else None
    comm.gather_(send, recv, dst)
    if recv is not None:
        _unstack(recv, gather_list)
    return _done(async_op)


def scatter(tensor, scatter_list=None, src: int = 0, group=None, async_op: bool = False):
    """Rank r's ``tensor`` becomes ``scatter_list[r]`` of rank ``src`` (world_size tensors like
    ``tensor`` there, None on the other ranks)."""
    comm = _comm(group, "scatter")
    src = _root(src, comm, "scatter", "src")
    recv, back = _array(tensor, "scatter")
    send = None
    if comm.rank == src:
        send = _stack_for(scatter_list, tensor, recv, comm, "scatter", "scatter_list (on src)")
        for r, t in enumerate(scatter_list):
            send[r] = t.data
    comm.scatter_(send, recv, src)
    _written(tensor, back)
    return _done(async_op)


def all_gather_object(object_list, obj, group=None) -> None:
    """``object_list[r]`` becomes rank r's ``obj`` on every rank (pickled, as torch's)."""
    comm = _comm(group, "all_gather_object")
    if len(object_list) != comm.size:
        raise ArgumentError(f"all_gather_object: object_list must have world_size ({comm.size}) entries, "
                            f"got {len(object_list)}")
    object_list[:] = comm.allgather(obj)


def broadcast_object_list(object_list, src: int = 0, group=None, device=None) -> None:
    """Every rank's ``object_list`` entries become rank ``src``'s (in place, pickled, as torch's)."""
    comm = _comm(group, "broadcast_object_list")
    src = _root(src, comm, "broadcast_object_list", "src")
    got = comm.bcast_object(list(object_list) if comm.rank == src else None, src)
    if len(got) != len(object_list):
        raise ArgumentError(f"broadcast_object_list: rank {comm.rank}'s list has {len(object_list)} entries, "
                            f"rank {src}'s {len(got)}")
    object_list[:] = got
