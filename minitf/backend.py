"""The array module behind every tensor, and every difference between them.

Devices:

* ``"cpu"``  -- NumPy.
* ``"gpu"``  -- CuPy (``pip install -e ".[gpu]"``); ``"cuda"`` is accepted as an alias.
* ``"fake"`` -- :mod:`minitf.fakedevice`, a strict NumPy-backed stand-in for CuPy
  used by the tests to keep the GPU path honest on machines without a GPU.

Kernels never import NumPy for array work: they ask :func:`get_array_module`
for the module of their inputs (``xp``) and call ``xp.exp``, ``xp.matmul``...
Where NumPy and CuPy differ (scatter-add, random generators, host transfer,
synchronisation) the difference lives here and nowhere else. This is the only
module that knows CuPy exists.
"""
from __future__ import annotations

import os

import numpy as np

DEVICES = ("cpu", "gpu", "fake")
_ALIASES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "fake": "fake"}

_cupy = None          # the cupy module, once a usable GPU has been found
_gpu_error = None     # why the GPU is unusable, once we have tried


class DeviceError(RuntimeError):
    """Raised when a device is unknown or unusable, or when devices are mixed."""


def check_device(device) -> str:
    """Normalise a device name (``"cpu"``, ``"gpu"``/``"cuda"``, ``"fake"``) or raise."""
    name = _ALIASES.get(str(device).lower()) if isinstance(device, str) else None
    if name is None:
        raise DeviceError(f"unknown device {device!r}: expected one of 'cpu', 'gpu' (alias 'cuda') or 'fake'")
    return name


def is_device_name(name) -> bool:
    """Whether ``name`` names a device (``Tensor.to`` tells devices from dtypes by it)."""
    return isinstance(name, str) and name.lower() in _ALIASES


def _load_cupy():
    """Import CuPy and touch the GPU once; remember the reason if either fails."""
    global _cupy, _gpu_error
    if _cupy is not None:
        return _cupy
    if _gpu_error is None:
        try:
            import cupy
        except ImportError as e:
            _gpu_error = (f"CuPy is not installed ({e}); install the GPU extra with "
                          f"`pip install -e \".[gpu]\"` (or a cupy-cudaXXx wheel matching your CUDA)")
        except Exception as e:  # e.g. OSError: a CUDA library CuPy links against is missing
            _gpu_error = (f"CuPy is installed but failed to import ({type(e).__name__}: {e}); "
                          f"check that its CUDA version matches your driver")
        else:
            try:  # with no GPU, import succeeds and the first allocation fails
                cupy.zeros(1).sum().item()
                _cupy = cupy
            except Exception as e:  # CUDARuntimeError, CUDADriverError, missing libraries...
                _gpu_error = f"CuPy is installed but no usable GPU was found ({type(e).__name__}: {e})"
    if _cupy is None:
        raise DeviceError(_gpu_error)
    return _cupy


def gpu_available() -> bool:
    """True when CuPy imports and a GPU answers; never raises."""
    try:
        _load_cupy()
        return True
    except DeviceError:
        return False


def gpu_unavailable_reason() -> str | None:
    """Why ``"gpu"`` cannot be used, or None if it can."""
    return None if gpu_available() else _gpu_error


def _fake_xp():
    from .fakedevice import fake_xp
    return fake_xp


def array_module(device: str):
    """The array module (``xp``) of a device name."""
    device = check_device(device)
    if device == "cpu":
        return np
    if device == "fake":
        return _fake_xp()
    return _load_cupy()


def device_of(array) -> str:
    """Which device an array lives on."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    name = type(array).__name__
    if name == "FakeDeviceArray":
        return "fake"
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return "gpu"
    raise TypeError(f"not an array of any minitf device: {type(array).__name__}")


def get_array_module(array):
    """The array module (``xp``) of an existing array: NumPy, CuPy or the fake one."""
    if type(array) is np.ndarray:
        return np
    return array_module(device_of(array))


def to_device(array, device: str):
    """Copy an array (host or device) to ``device``; returns it unchanged if already there."""
    device = check_device(device)
    src = device_of(array) if not isinstance(array, (list, tuple, int, float, bool)) else "cpu"
    if src == device:
        return array
    host = to_numpy(array)
    if device == "cpu":
        return host
    return array_module(device).asarray(host)


def to_numpy(array) -> np.ndarray:
    """A host NumPy copy (or the array itself if it is already on the host)."""
    if isinstance(array, np.ndarray):
        return array
    if isinstance(array, (np.generic, list, tuple, int, float, bool)):
        return np.asarray(array)
    return array.get()  # CuPy and the fake device share this explicit transfer


def to_host_floats(values) -> list:
    """0-d arrays (or scalars) of one device as Python floats, in one host transfer: on a GPU each
    read waits for all queued work, so a loop of reads would wait once per value."""
    if len(values) == 0:
        return []
    xp = get_array_module(values[0]) if not isinstance(values[0], np.generic) else np
    return to_numpy(xp.stack([xp.asarray(v).astype(np.float64) for v in values])).tolist()


def scatter_add(target, index, values) -> None:
    """In place ``target[index] += values``, repeated indices accumulating.

    NumPy spells it ``np.add.at``; CuPy ``cupyx.scatter_add``. On NumPy, rows picked by a
    1-D integer index (an embedding's backward) are summed by sorting the index and adding
    each run of equal rows with ``np.add.reduceat``: 5x faster than ``np.add.at`` for
    (768, 128) rows into 65, and deterministic (a stable sort).
    """
    xp = get_array_module(target)
    if xp is np:
        if (isinstance(index, np.ndarray) and index.ndim == 1 and index.dtype.kind in "iu"
                and index.size > 1 and target.ndim >= 1 and isinstance(values, np.ndarray)
                and values.shape == index.shape + target.shape[1:]):
            index = np.where(index < 0, index + target.shape[0], index)   # one name per row
            order = np.argsort(index, kind="stable")
            rows = index[order]
            starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
            target[rows[starts]] += np.add.reduceat(values[order], starts, axis=0)
        else:
            np.add.at(target, index, values)
    elif xp is _cupy:
        import cupyx
        cupyx.scatter_add(target, index, values)
    else:
        xp.scatter_add(target, index, values)


def native_special(xp, name: str):
    """The array module's own elementwise special function ``name`` ("erf", "erfc"), or None.

    NumPy has none (and minitf does not depend on SciPy): :mod:`minitf.ops.erf`
    evaluates them there. CuPy has them, in ``cupyx.scipy.special``."""
    if xp is _cupy and xp is not None:
        import cupyx.scipy.special
        return getattr(cupyx.scipy.special, name)
    return None


def quiet_underflow(xp):
    """A context in which a result rounding to 0 (or a subnormal) raises nothing.

    Underflow is the correct rounding of e.g. exp(-800), yet NumPy flags it
    under ``np.errstate(all="raise")``; CuPy never signals floating-point
    errors, so there it is a no-op."""
    if xp is _cupy:
        import contextlib
        return contextlib.nullcontext()
    return np.errstate(under="ignore")


def quiet_fp_warnings():
    """A context in which NumPy's floating-point *warnings* (divide by zero, overflow, invalid
    value) are not given; a category set to anything but "warn" (``np.errstate(all="raise")``
    to debug) is kept. For a whole backward pass: its inf and NaN gradients at poles and kinks
    (0 ** -1, inf * 0) are the values PyTorch computes, silently, as CuPy does (it never
    signals), and a warning from deep in the engine would tell the user nothing to act on.
    One context a pass, not one an op: entering one costs about a microsecond."""
    return np.errstate(**{k: "ignore" for k, v in np.geterr().items() if v == "warn"})


def default_rng(device: str, seed=None):
    """A random generator that draws on ``device`` (``Generator.random``, ``.standard_normal``...)."""
    return array_module(device).random.default_rng(seed)


def _is_cupy_generator(generator) -> bool:
    return type(generator).__module__.split(".")[0] == "cupy"


def rng_state(generator) -> dict:
    """A JSON-serialisable snapshot of a generator, for exact resume; TypeError for CuPy's, whose
    state lives on the device (its ``bit_generator.state`` is a method, not a dict)."""
    if _is_cupy_generator(generator):
        raise TypeError("the state of a CuPy generator cannot be saved")
    bit_gen = getattr(generator, "bit_generator", None)
    if bit_gen is None:  # the fake device's generator wraps a NumPy one
        bit_gen = generator._g.bit_generator
    return bit_gen.state


def set_rng_state(generator, state: dict) -> None:
    if _is_cupy_generator(generator):
        raise TypeError("the state of a CuPy generator cannot be restored")
    bit_gen = getattr(generator, "bit_generator", None)
    if bit_gen is None:
        bit_gen = generator._g.bit_generator
    bit_gen.state = state


def copy_rng(generator):
    """An independent copy of a generator in its current state; TypeError where it cannot be copied."""
    import copy
    if _is_cupy_generator(generator):
        # its state lives in GPU memory behind a Cython object: a deepcopy that "worked" could still
        # share that state, so CuPy generators are never copied (callers fall back to a drawn seed)
        raise TypeError("CuPy generators are not copied")
    try:
        return copy.deepcopy(generator)
    except Exception as e:  # a CuPy generator (Cython, device state) has no pickling support
        raise TypeError(f"cannot copy a {type(generator).__name__}: {e}") from None


def draw_seed(generator) -> int:
    """One non-negative integer seed drawn from a generator (of any device)."""
    return int(to_numpy(generator.integers(0, 2**62, size=1))[0])


_pool = None          # worker threads for CPU kernels, made on first use
_pool_pid = None      # the process that made them (a forked child makes its own)


_threads = None       # how many threads CPU kernels use (set_num_threads, or found on first use)


def num_threads() -> int:
    """Threads that CPU kernels split their rows over (see :func:`set_num_threads`)."""
    global _threads
    if _threads is None:
        env = os.environ.get("MINITF_NUM_THREADS")
        if env:
            try:
                _threads = int(env)
            except ValueError:
                raise ValueError(f"MINITF_NUM_THREADS must be a positive integer, got {env!r}") from None
            if _threads < 1:
                raise ValueError(f"MINITF_NUM_THREADS must be a positive integer, got {env!r}")
        else:
            try:
                _threads = len(os.sched_getaffinity(0))
            except AttributeError:  # not on Linux
                _threads = os.cpu_count() or 1
    return _threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for CPU kernels (default: ``MINITF_NUM_THREADS`` or the usable cores).

    NumPy's BLAS keeps its own setting (``OPENBLAS_NUM_THREADS``)."""
    global _threads, _pool
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    _threads = n
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None


def chunk_elements(xp, n: int, cpu_chunk: int) -> int:
    """Elements per inner step of a chunked kernel over ``n`` elements: ``cpu_chunk`` on the CPU,
    where a step's temporaries then stay in cache; all ``n`` elsewhere, where each step is a
    kernel launch per operation and a loop over chunks costs host time growing with the size."""
    return cpu_chunk if xp is np else max(n, 1)


def parallel_rows(xp, kernel, n: int, min_rows: int) -> None:
    """Run ``kernel(lo, hi)`` over the rows [0, n), split into contiguous blocks across threads.

    NumPy runs one core per call and releases the GIL inside its loops, so on
    the CPU a row-wise kernel (elementwise math, per-row reductions) gains from
    running its blocks on several threads; each row is computed exactly as it
    would be in one call, so results do not depend on the split. CuPy (and the
    fake device) run the kernel once over all rows: the GPU parallelises it.
    Blocks smaller than ``min_rows`` are not worth a thread.
    """
    global _pool, _pool_pid
    workers = min(num_threads(), n // max(min_rows, 1)) if xp is np else 1
    if workers <= 1:
        kernel(0, n)
        return
    if _pool is None or _pool_pid != os.getpid():
        from concurrent.futures import ThreadPoolExecutor
        _pool, _pool_pid = ThreadPoolExecutor(max_workers=num_threads() - 1,
                                              thread_name_prefix="minitf"), os.getpid()
    bounds = [n * i // workers for i in range(workers + 1)]
    futures = [_pool.submit(kernel, bounds[i], bounds[i + 1]) for i in range(1, workers)]
    kernel(bounds[0], bounds[1])
    for f in futures:
        f.result()


def synchronize(device: str) -> None:
    """Wait for queued device work (for timing); a no-op on the CPU and fake device."""
    if check_device(device) == "gpu":
        _load_cupy().cuda.Device().synchronize()


# ---------------------------------------------------------------- NCCL (for minitf.distributed)
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
        _load_cupy()
        raise DeviceError(f"cannot select GPU {index}: {type(e).__name__}: {e}") from None
    _load_cupy()


def _nccl():
    _load_cupy()
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise DeviceError(f"CuPy was built without NCCL ({e}); install a CuPy wheel with NCCL "
                          f"(cupy-cuda12x, plus `python -m cupyx.tools.install_library --library nccl` "
                          f"where it is missing)") from None
    return nccl


def nccl_unique_id():
    """A new NCCL id (a tuple of ints, sent to every rank so they find each other)."""
    return _nccl().get_unique_id()


class NcclCollectives:
    """Allreduce (sum) and broadcast of flat CuPy arrays over NCCL, on the current stream.

    ``size`` ranks, this one being ``rank``, join the communicator named by
    ``unique_id`` (from :func:`nccl_unique_id` on one rank). The buffers must be
    contiguous CuPy arrays on this rank's GPU; NCCL reduces in place, device to
    device, without going through the host.
    """

    def __init__(self, size: int, rank: int, unique_id):
        nccl = self._nccl = _nccl()
        self._types = {np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
                       np.dtype(np.float64): nccl.NCCL_FLOAT64, np.dtype(np.int32): nccl.NCCL_INT32,
                       np.dtype(np.int64): nccl.NCCL_INT64}
        self.comm = nccl.NcclCommunicator(int(size), unique_id, int(rank))

    def _args(self, buf):
        if not (isinstance(buf, _cupy.ndarray) and buf.flags.c_contiguous):
            raise TypeError(f"NCCL reduces contiguous CuPy arrays, got {type(buf).__name__}")
        try:
            kind = self._types[np.dtype(buf.dtype)]
        except KeyError:
            raise TypeError(f"NCCL: unsupported dtype {buf.dtype}") from None
        return buf.data.ptr, buf.size, kind, _cupy.cuda.get_current_stream().ptr

    def allreduce_(self, buf) -> None:
        ptr, count, kind, stream = self._args(buf)
        self.comm.allReduce(ptr, ptr, count, kind, self._nccl.NCCL_SUM, stream)

    def broadcast_(self, buf, root: int) -> None:
        ptr, count, kind, stream = self._args(buf)
        self.comm.bcast(ptr, count, kind, int(root), stream)


# ---------------------------------------------------------------- GPU facts, for records and benchmarks
def gpu_info() -> dict:
    """The GPU CuPy uses: name, memory, driver, CUDA runtime and CuPy versions (raises DeviceError
    without a usable GPU)."""
    cupy = _load_cupy()
    rt = cupy.cuda.runtime
    props = rt.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return {"name": name.decode() if isinstance(name, bytes) else str(name),
            "memory_bytes": int(props["totalGlobalMem"]), "driver": rt.driverGetVersion(),
            "cuda_runtime": rt.runtimeGetVersion(), "cupy": cupy.__version__}


def gpu_pool_growth(fn) -> int:
    """Bytes by which CuPy's default memory pool grows while ``fn()`` runs: the pool keeps the
    blocks it hands out, so after emptying it first, its growth over the call is the call's peak."""
    cupy = _load_cupy()
    pool = cupy.get_default_memory_pool()
    synchronize("gpu")
    pool.free_all_blocks()
    before = pool.total_bytes()
    fn()
    synchronize("gpu")
    return int(pool.total_bytes() - before)
