"""More of torch's tensor constructors: logspace, range (deprecated in torch, with its
warning), scalar_tensor, asarray, frombuffer and empty_strided (Tensor.new_empty_strided).
Their values are computed as :mod:`minitf.creation`'s are (in float64, then cast).
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import backend
from .creation import _dtype, _make, _shape, from_numpy, tensor, resolve_device as _resolve_device
from .errors import ArgumentError
from .ops._util import is_int, warn_at_user_line
from .tensor import Tensor


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values base ** t for t evenly spaced from ``start`` to ``end`` inclusive, as
    torch.logspace: (steps,), the default float dtype unless ``dtype`` (an integer dtype takes
    the values truncated). Computed in float64, then cast."""
    if not is_int(steps) or steps < 0:
        raise ArgumentError(f"logspace: number of steps must be non-negative, got {steps!r}")
    dt = _dtype(dtype)
    xp = backend.array_module(_resolve_device(device))
    t = xp.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _make((float(base) ** t).astype(dt), requires_grad)


def range(start=0, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.range: start, start + step, ... up to ``end`` INCLUSIVE (floor((end - start) / step)
    + 1 values), of the default float dtype whatever the arguments' types unless ``dtype``.
    Deprecated in torch 2.13 (it warns the same here): use :func:`minitf.arange`, whose end is
    exclusive. ``range(end)`` alone is torch's ``range(0, end)``."""
    warn_at_user_line("minitf.range is deprecated (as torch.range) because its behavior is inconsistent with "
                      "Python's range builtin. Instead, use minitf.arange, which produces values in [start, end).")
    if end is None:
        start, end = 0, start
    start, end, step = float(start), float(end), float(step)
    if step == 0:
        raise ArgumentError("range: step must be nonzero")
    if not all(math.isfinite(v) for v in (start, end)):
        raise ArgumentError(f"range: unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise ArgumentError("range: upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    xp = backend.array_module(_resolve_device(device))
    return _make((start + xp.arange(n, dtype=np.float64) * step).astype(_dtype(dtype)), requires_grad)


def scalar_tensor(s, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The number ``s`` as a 0-d tensor of the default float dtype (unless ``dtype``: torch's
    default whatever ``s``'s type), as torch.scalar_tensor."""
    if isinstance(s, Tensor):
        s = s.item()
    if not isinstance(s, (bool, int, float, np.generic)):
        raise TypeError(f"scalar_tensor(): argument 's' must be Number, not {type(s).__name__}")
    return tensor(s, dtype=_dtype(dtype), device=device, requires_grad=requires_grad)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None) -> Tensor:
    """``obj`` (a Tensor, a NumPy array, a buffer, a number or nested sequences) as a Tensor, as
    torch.asarray. ``copy=None``: share memory where the dtype and device allow it (a Tensor
    then comes back itself), else copy; ``copy=True``: always a new tensor; ``copy=False``:
    share or raise ValueError. ``requires_grad``: None keeps a Tensor's (torch 2.13's new
    default), False for anything else; a shared Tensor is then returned detached rather than
    changed in place (where torch flips the flag on ``obj`` itself)."""
    if isinstance(obj, Tensor):
        same = (dtype is None or _dtype(dtype) == obj.dtype) and (device is None or
                                                                  backend.check_device(device) == obj.device)
        if copy is False and not same:
            raise ValueError(f"asarray: can't alias a {obj.dtype} tensor on {obj.device} into dtype "
                             f"{dtype if dtype is not None else obj.dtype} on {device or obj.device} (copy=False)")
        out = obj.to(device=device, dtype=dtype) if not same else (obj.clone() if copy else obj)
        if requires_grad is None or bool(requires_grad) == out.requires_grad:
            return out
        out = out.detach() if out is obj or not requires_grad else out
        return out.requires_grad_(True) if requires_grad else out
    if isinstance(obj, (bytes, bytearray, memoryview)):
        obj = np.frombuffer(obj, dtype=_dtype(dtype) if dtype is not None else np.uint8)
        dtype = None
    if isinstance(obj, np.ndarray):
        dev = _resolve_device(device)
        shares = dev == "cpu" and (dtype is None or _dtype(dtype) == obj.dtype) and obj.flags.writeable
        if copy is False and not shares:
            raise ValueError(f"asarray: can't alias a numpy {obj.dtype} array into dtype {dtype} on {dev} "
                             f"(copy=False)")
        if shares and not copy:
            out = from_numpy(obj)
            return out.requires_grad_(True) if requires_grad else out
    elif copy is False:
        raise ValueError(f"asarray: a {type(obj).__name__} cannot be shared (copy=False)")
    return tensor(obj, dtype=dtype, device=device, requires_grad=bool(requires_grad))


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-D tensor of ``count`` elements of ``dtype`` (-1: all) read from a Python buffer from
    byte ``offset``, as torch.frombuffer: a writable buffer (bytearray, array.array, ...) shares
    its memory with the tensor; a read-only one (bytes) is copied, where torch shares it with a
    warning (minitf's tensors are writable, so a write would otherwise fail or change bytes)."""
    nbytes = memoryview(buffer).nbytes
    itemsize = np.dtype(_dtype(dtype)).itemsize
    if nbytes == 0 and count == -1 or count == 0:
        raise ValueError(f"both buffer length ({nbytes}) and count ({count}) must not be 0")
    if not 0 <= offset < nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({nbytes} bytes) minus 1")
    if count < 0:
        if (nbytes - offset) % itemsize:
            raise ValueError(f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be a "
                             f"multiple of element size ({itemsize})")
        count = (nbytes - offset) // itemsize
    elif offset + count * itemsize > nbytes:
        raise ValueError(f"requested buffer length ({count} * {itemsize} bytes) after offset ({offset} bytes) "
                         f"must not be greater than actual buffer length ({nbytes} bytes)")
    a = np.frombuffer(buffer, dtype=_dtype(dtype), count=count, offset=offset)
    out = from_numpy(a) if a.flags.writeable else Tensor(a.copy())
    return out.requires_grad_(True) if requires_grad else out


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` with element strides ``stride`` whose values are not meaningful (zeros),
    as torch.empty_strided: a view (``as_strided``) of a new storage just large enough
    (``1 + sum((n - 1) * s)`` elements), so ``stride()`` reads ``stride`` back."""
    size = _shape((size,), "empty_strided")
    stride = tuple(stride)
    if len(stride) != len(size):
        raise ArgumentError(f"empty_strided: mismatch in length of strides ({len(stride)}) and shape ({len(size)})")
    if any(not is_int(s) or s < 0 for s in stride):
        raise ArgumentError(f"empty_strided: strides must be non-negative integers, got {stride}")
    xp = backend.array_module(_resolve_device(device))
    from .backend import storage
    need = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    return _make(storage.view(xp.zeros(max(need, 1), dtype=_dtype(dtype)), size, stride, 0), requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` whose memory holds its dims in the order ``physical_layout``
    (outermost first), as torch.empty_permuted: ``empty_permuted((N, C, H, W), (0, 2, 3, 1))`` is
    channels-last, strides (H W C, 1, W C, C). Values not meaningful (zeros)."""
    size = _shape((size,), "empty_permuted")
    layout = tuple(physical_layout)
    if not all(is_int(d) for d in layout) or sorted(layout) != list(builtins.range(len(size))):
        raise ArgumentError(f"empty_permuted: physical_layout must be a permutation of the {len(size)} dims, "
                            f"got {layout}")
    stride, step = [0] * len(size), 1
    for d in reversed(layout):   # the last dim of the layout is the innermost
        stride[d], step = step, step * max(size[d], 1)
    return empty_strided(size, stride, dtype=dtype, device=device, requires_grad=requires_grad)


__all__ = ["logspace", "range", "scalar_tensor", "asarray", "frombuffer", "empty_strided", "empty_permuted"]
