"""The array module behind every tensor, and every difference between them.

Devices:

* ``"cpu"``  -- NumPy.
* ``"gpu"``  -- CuPy (``pip install -e ".[gpu]"``); ``"cuda"`` is accepted as an alias.
* ``"fake"`` -- :mod:`minitf.fakedevice`, a strict NumPy-backed stand-in for CuPy
  used by the tests to keep the GPU path honest on machines without a GPU.

Kernels never import NumPy for array work: they ask :func:`get_array_module`
for the module of their inputs (``xp``) and call ``xp.exp``, ``xp.matmul``...
Where NumPy and CuPy differ (scatter-add, random generators, host transfer,
synchronisation) the difference lives in this package and nowhere else: it is
the only place that knows CuPy exists. This module holds the devices and the
arrays on them; the rest is split by concept, and every name is re-exported
here (``backend.scatter_add``, ``from minitf.backend import to_numpy``):

* :mod:`.kernels` -- what kernels ask for where NumPy and CuPy differ
  (scatter-add, special functions, floating-point error signalling);
* :mod:`.threads` -- the CPU thread pool that row-wise kernels split over;
* :mod:`.rng`     -- random generators of every device, their state and copies;
* :mod:`.gpu`     -- what only a GPU has: choosing one, NCCL, its facts and memory pool;
* :mod:`.linalg`  -- ``xp.linalg`` for :mod:`minitf.linalg`, failures raised alike on every device;
* :mod:`.fft`     -- ``xp.fft`` for :mod:`minitf.fft`, results in torch's dtypes on every device.

The CuPy state (``_cupy``, ``_gpu_error``) lives here, in one place: the other
modules read it as ``backend._cupy`` when called, never a copy taken at import,
so what sets it (``_load_cupy``, a test's monkeypatch) is seen everywhere.
"""
from __future__ import annotations

import numpy as np

DEVICES = ("cpu", "gpu", "fake")
_ALIASES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "fake": "fake"}

_cupy = None          # the cupy module, once a usable GPU has been found
_gpu_error = None     # why the GPU is unusable, once we have tried


class DeviceError(RuntimeError):
    """Raised when a device is unknown or unusable, or when devices are mixed."""


def check_device(device) -> str:
    """Normalise a device name (``"cpu"``, ``"gpu"``/``"cuda"``, ``"fake"``, with PyTorch's
    ``":0"`` allowed) or raise. None is the default device, the CPU, as torch's ``device=None``
    (minitf has no ``set_default_device``)."""
    if device is None:
        return "cpu"
    name = None
    if isinstance(device, str):
        base, sep, index = device.lower().partition(":")
        name = _ALIASES.get(base)
        if sep and name is not None and index != "0":
            raise DeviceError(f"device {device!r}: minitf uses one device of each kind per process, index 0 "
                              f"(pick the GPU with CUDA_VISIBLE_DEVICES; minitf.distributed gives each rank "
                              f"its own)")
    if name is None:
        raise DeviceError(f"unknown device {device!r}: expected one of 'cpu', 'gpu' (alias 'cuda') or 'fake'")
    return name


def is_device_name(name) -> bool:
    """Whether ``name`` names a device (``Tensor.to`` tells devices from dtypes by it)."""
    return isinstance(name, str) and name.lower().partition(":")[0] in _ALIASES


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
    from ..fakedevice import fake_xp
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


def synchronize(device: str) -> None:
    """Wait for queued device work (for timing); a no-op on the CPU and fake device."""
    if check_device(device) == "gpu":
        _load_cupy().cuda.Device().synchronize()


# The rest of the backend, by concept; each module reads the names above through this package when called.
from .kernels import (diagonal_view, native_special, quiet_fp_warnings, quiet_underflow, scatter_add, scatter_extreme,  # noqa: E402
                      silence_fp_warnings_from_minitf)
from .kernels import window_view  # noqa: E402  (Tensor.unfold's strided view; convolution and pooling windows)
from .kernels import complex_as_pairs, pairs_as_complex  # noqa: E402  (view_as_real, view_as_complex)
from .kernels import reduce_sum, reduce_mean  # noqa: E402  (sum and mean whose fp warnings minitf's filter sees)
from .threads import chunk_elements, num_threads, parallel_rows, set_num_threads  # noqa: E402
from .rng import copy_rng, default_rng, draw_counts, draw_seed, rng_state, set_rng_state  # noqa: E402
from .gpu import NcclCollectives, gpu_free_memory, gpu_info, gpu_pool_growth, nccl_unique_id, select_gpu  # noqa: E402
# imported on first use (minitf/_lazy.py), with the ops that need them:
# torch.linalg's kernels (xp.linalg with uniform errors); scans and a scattered product (cummax,
# logcumsumexp, scatter_reduce prod): NumPy's ufunc methods, built elsewhere
from .._lazy import lazy_attributes as _lazy_attributes  # noqa: E402
__getattr__, __dir__ = _lazy_attributes(__name__, globals(), {"linalg_op": ".linalg", "linalg_eig": ".linalg",
                                                             "on_host": ".linalg", "accumulate": ".scans",
                                                             "scatter_multiply": ".scans", "fft_op": ".fft",
                                                             "frequencies": ".fft"})

__all__ = ["DEVICES", "DeviceError", "check_device", "is_device_name", "gpu_available", "gpu_unavailable_reason",
           "array_module", "device_of", "get_array_module", "to_device", "to_numpy", "to_host_floats",
           "synchronize",
           "scatter_add", "scatter_extreme", "diagonal_view", "native_special", "quiet_underflow", "quiet_fp_warnings",
           "window_view", "complex_as_pairs", "pairs_as_complex", "reduce_sum", "reduce_mean",
           "num_threads", "set_num_threads", "chunk_elements", "parallel_rows",
           "default_rng", "rng_state", "set_rng_state", "copy_rng", "draw_seed", "draw_counts",
           "select_gpu", "nccl_unique_id", "NcclCollectives", "gpu_info", "gpu_free_memory", "gpu_pool_growth",
           "linalg_op", "linalg_eig", "on_host"]
__all__ += ["accumulate", "scatter_multiply"]  # (scans)
__all__ += ["fft_op", "frequencies"]  # (fft)
