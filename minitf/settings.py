"""torch's global settings and small top-level utilities (the tensor gaps group):

* ``set_default_device`` / ``get_default_device``: the device the factories (``mt.zeros``,
  ``mt.tensor``, ``mt.randn``, ...) use when given none, as torch's; ``with mt.device("fake"):``
  sets it for a block (:class:`minitf.devices.device` is a context manager, as torch.device).
* ``use_deterministic_algorithms`` and friends: recorded and read back; minitf's CPU kernels
  are deterministic anyway (NumPy, fixed orders), so the flag changes nothing there.
* ``set_float32_matmul_precision`` / ``get_float32_matmul_precision``: recorded, a no-op (NumPy's
  float32 matmul has one precision; torch's "high" and "medium" pick TF32/bfloat16 on GPUs).
* ``set_anomaly_enabled`` / ``is_anomaly_enabled`` / ``is_anomaly_check_nan_enabled`` and
  ``minitf.autograd.set_detect_anomaly``: switches for :class:`minitf.detect_anomaly`.
* ``typename``, ``is_storage``, ``from_dlpack`` / ``to_dlpack``.
"""
from __future__ import annotations

import warnings

from . import autograd, backend, creation, debughooks
from .devices import device as _device

# ------------------------------------------------------------------ the default device


def set_default_device(device) -> None:
    """The device factories use when given ``device=None`` (None: back to the CPU), as torch's:
    for the calling thread only (another thread keeps its own, the CPU at first). ``*_like``
    factories keep their input's device; ``from_numpy`` is always on the CPU. Layers build their
    parameters and buffers on it too (``nn.Linear(2, 3)`` is then there), as torch's."""
    creation.defaults.device = None if device is None else backend.check_device(device)


def get_default_device() -> _device:
    """The factories' default device, an ``mt.device`` (``device(type='cpu')`` unless set)."""
    return _device(creation.defaults.device or "cpu")


# ------------------------------------------------------------------ determinism, matmul precision

_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """torch's switch for deterministic kernels, recorded (minitf's CPU kernels are deterministic
    whatever it says; on a GPU, CuPy's scatter-adds use atomics, so float sums there may differ in
    the last bits from run to run, and no kernel raises or warns for it)."""
    if not isinstance(mode, bool) or not isinstance(warn_only, bool):
        raise TypeError(f"use_deterministic_algorithms: mode and warn_only must be bools, got {mode!r}, {warn_only!r}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """What :func:`use_deterministic_algorithms` last set (False at first)."""
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` of :func:`use_deterministic_algorithms` (False at first)."""
    return _deterministic["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """torch's other spelling: "default" (0) off, "warn" (1) on with warn_only, "error" (2) on."""
    level = _DEBUG_MODES.get(debug_mode) if isinstance(debug_mode, str) else debug_mode
    if level not in (0, 1, 2) or isinstance(level, bool):
        raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, 0, 1, 2, "
                           f"got {debug_mode!r}")
    use_deterministic_algorithms(level > 0, warn_only=level == 1)


def get_deterministic_debug_mode() -> int:
    """0, 1 or 2, as :func:`set_deterministic_debug_mode` numbers them."""
    return 0 if not _deterministic["mode"] else 1 if _deterministic["warn_only"] else 2


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """"highest", "high" or "medium", recorded (a no-op: NumPy's and CuPy's float32 matmuls are
    full float32; torch's lower settings allow TF32 or bfloat16 passes on GPUs). Another value
    warns and changes nothing, as torch's."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      f"set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    """What :func:`set_float32_matmul_precision` last set ("highest" at first)."""
    return _matmul_precision[0]


# ------------------------------------------------------------------ anomaly detection

_anomaly = {"hook": None, "enabled": False, "check_nan": True}


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn :class:`minitf.detect_anomaly`'s checks on or off for the whole program (what the
    context manager does for a block). minitf's anomaly mode is its NaN/inf checks: with
    ``check_nan=False`` it is on in name (``is_anomaly_enabled()``) but checks nothing."""
    from .anomaly import detect_anomaly
    if _anomaly["hook"] is not None:
        debughooks.pop(_anomaly["hook"])
        _anomaly["hook"] = None
    _anomaly.update(enabled=bool(enabled), check_nan=bool(check_nan))
    if enabled and check_nan:
        _anomaly["hook"] = detect_anomaly()
        debughooks.push(_anomaly["hook"])


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on: by :func:`set_anomaly_enabled` or inside ``detect_anomaly()``."""
    from .anomaly import detect_anomaly
    return _anomaly["enabled"] or any(isinstance(h, detect_anomaly) for h in autograd._hooks)


def is_anomaly_check_nan_enabled() -> bool:
    """The ``check_nan`` of the anomaly mode (True unless set_anomaly_enabled(..., check_nan=False))."""
    from .anomaly import detect_anomaly
    return _anomaly["check_nan"] or any(isinstance(h, detect_anomaly) for h in autograd._hooks)


class set_detect_anomaly:
    """``torch.autograd.set_detect_anomaly(mode, check_nan=True)``: sets the anomaly mode when made,
    and, used as a context manager, puts the previous one back on exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.previous = (_anomaly["enabled"], _anomaly["check_nan"])
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        set_anomaly_enabled(*self.previous)


# ------------------------------------------------------------------ warnings, threads, denormals
_warn_always = [False]


def set_warn_always(b: bool) -> None:
    """``torch.set_warn_always``: True makes the warnings given once per process (``float()`` of a
    tensor that requires grad) warn on every occasion; False (the default) puts back once."""
    if not isinstance(b, bool):
        raise TypeError(f"set_warn_always: expected a bool, got {type(b).__name__}")
    _warn_always[0] = b
    if b:
        from .tensor_conversions import _scalar_warning_given
        _scalar_warning_given[0] = False


def is_warn_always_enabled() -> bool:
    """Whether :func:`set_warn_always` is on (False by default), as ``torch.is_warn_always_enabled``."""
    return _warn_always[0]


_interop_threads = [None]   # set_num_interop_threads' value (None: the usable cores, torch's default)


def set_num_interop_threads(n: int) -> None:
    """``torch.set_num_interop_threads``: recorded for :func:`get_num_interop_threads`. minitf has no
    inter-op pool (each op runs on the calling thread; :func:`minitf.set_num_threads` sets the
    threads inside an op), so the value changes nothing else."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise RuntimeError(f"set_num_interop_threads: expected a positive number of threads, got {n!r}")
    _interop_threads[0] = n


def get_num_interop_threads() -> int:
    """The value of :func:`set_num_interop_threads`, or the usable cores (torch's default)."""
    if _interop_threads[0] is not None:
        return _interop_threads[0]
    from .backend.threads import usable_cores
    return usable_cores()


def set_flush_denormal(mode: bool) -> bool:
    """``torch.set_flush_denormal``: whether flushing denormal floats to zero could be set. NumPy
    gives Python no control of the CPU's flush-to-zero mode, so this returns False (torch's answer
    where it cannot) and changes nothing: denormals stay exact, as IEEE 754 has them."""
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal: expected a bool, got {type(mode).__name__}")
    return False


# ------------------------------------------------------------------ type names, storages, DLPack

def typename(obj) -> str:
    """torch.typename: a tensor's type name (``x.type()``, 'torch.FloatTensor'), else the
    object's (or its class's) dotted module and qualified name; builtins go unprefixed ('int')."""
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.type()
    named = obj if hasattr(obj, "__qualname__") else type(obj)
    module = getattr(named, "__module__", "") or ""
    return named.__qualname__ if module in ("", "builtins") else f"{module}.{named.__qualname__}"


def is_storage(obj) -> bool:
    """False for everything: minitf has no storage objects (a tensor's memory is its array's)."""
    return False


def from_dlpack(ext):
    """A Tensor sharing the memory of ``ext`` (an object with ``__dlpack__``: a NumPy or CuPy array,
    a torch tensor, ...; or a DLPack capsule): on the CPU for host memory, on the GPU for CUDA.
    NumPy makes the array of a bare capsule read-only (it carries no read-only flag), so such a
    tensor refuses in-place writes; one from an object is writable, as torch's."""
    from .backend import storage
    from .tensor import Tensor
    return Tensor._make(storage.from_dlpack(ext), None)


def to_dlpack(tensor):
    """A DLPack capsule of the tensor's memory (for ``from_dlpack`` elsewhere); the tensor must not
    require grad (torch's rule: detach it first)."""
    return tensor.__dlpack__()
