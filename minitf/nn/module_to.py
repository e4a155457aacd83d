"""``Module.to`` and its shorthands (``cpu``, ``cuda``, ``half``, ``double``, ``float``): moving and
casting every parameter, gradient and buffer in place, a mixin of :class:`minitf.nn.Module`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import backend
from ..dtypes import _check_dtype
from .parameter import _grad_array, _set_grad_array

if TYPE_CHECKING:   # (annotations only: module.py imports this module)
    from .module import Module


def _is_dtype(x) -> bool:
    """Whether ``x`` names a dtype rather than a device (``Module.to``'s first argument may be either)."""
    try:
        backend.check_device(x)
        return False
    except backend.DeviceError:
        pass
    try:
        _check_dtype(x)
    except TypeError:
        return False
    return True


class DeviceDtypeMethods:
    """The device and dtype moves of :class:`~minitf.nn.Module` (no state of their own)."""

    def to(self, device=None, dtype=None) -> "Module":
        """Move / cast every parameter (and its grad) and buffer in place; tied weights stay tied.

        As PyTorch's: ``to("fake")``, ``to(dtype="float64")``, ``to("float64")``
        (a dtype in the first place), ``to("cpu", "float64")``. The Parameter
        objects stay the same, so an optimizer built before sees the change.
        """
        if device is not None and dtype is None and _is_dtype(device):
            device, dtype = None, device
        device = backend.check_device(device) if device is not None else None
        dtype = _check_dtype(dtype) if dtype is not None else None
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to: parameters must stay floating point, got dtype {dtype}")

        def convert(a):
            if device is not None:
                a = backend.to_device(a, device)
            return a.astype(dtype) if dtype is not None and a.dtype != dtype else a

        for p in self.parameters():
            p.data = convert(p.data)
            g = _grad_array(p)
            if g is not None:
                _set_grad_array(p, convert(g))
        for b in self.buffers():   # moved; cast only if floating (an int64 counter stays one), as PyTorch
            if device is not None:
                b.data = backend.to_device(b.data, device)
            if dtype is not None and b.dtype.kind == "f" and b.dtype != dtype:
                b.data = b.data.astype(dtype)
        return self

    def cpu(self) -> "Module":
        """Move every parameter, gradient and buffer to the host: ``to("cpu")``."""
        return self.to("cpu")

    def cuda(self, device=None) -> "Module":
        """Move every parameter, gradient and buffer to the GPU: ``to("gpu")`` (``device``: None, 0,
        "cuda" or "gpu": minitf uses one GPU); a DeviceError says why where none is usable."""
        if device not in (None, 0, "cuda", "gpu", "cuda:0"):
            raise backend.DeviceError(f"cuda: minitf uses one GPU; got device={device!r} (expected None, 0 or 'cuda')")
        return self.to("gpu")

    def half(self) -> "Module":
        """Cast every floating parameter, gradient and buffer to float16: ``to(dtype="float16")``."""
        return self.to(dtype="float16")

    def double(self) -> "Module":
        """Cast every floating parameter, gradient and buffer to float64 in place: ``to(dtype="float64")``."""
        return self.to(dtype="float64")

    def float(self) -> "Module":
        """Cast every floating parameter, gradient and buffer to float32 in place: ``to(dtype="float32")``."""
        return self.to(dtype="float32")
