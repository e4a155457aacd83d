"""``Module.to`` and its shorthands (``cpu``, ``cuda``, ``half``, ``double``, ``float``, ``bfloat16``,
``type``), ``to_empty`` and ``share_memory``: moving and casting every parameter, gradient and buffer
in place, a mixin of :class:`minitf.nn.Module`."""
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

    # torch's remaining device / dtype methods
    def bfloat16(self) -> "Module":
        """torch's cast to bfloat16: minitf has no such dtype (NumPy lacks it), so this raises
        NotImplementedError saying so (``half()`` is the 16-bit cast minitf has)."""
        from ..unsupported_dtypes import bfloat16
        return self.to(dtype=bfloat16)

    def type(self, dst_type) -> "Module":
        """Cast every parameter, gradient and buffer to ``dst_type`` (a dtype or its name), as
        torch's: buffers of any dtype too (an int64 counter included), unlike :meth:`to`.
        Parameters must stay floating point (TypeError otherwise)."""
        dtype = _check_dtype(dst_type)
        if dtype.kind == "f":
            self.to(dtype=dtype)     # parameters, gradients, floating buffers
        elif next(self.parameters(), None) is not None:
            raise TypeError(f"Module.type: parameters must stay floating point, got dtype {dtype}")
        for b in self.buffers():
            if b.dtype != dtype:
                b.data = b.data.astype(dtype)
        return self

    def to_empty(self, *, device, recurse: bool = True) -> "Module":
        """Give every parameter and buffer (with ``recurse=False``: this module's own only) new,
        uninitialised storage of the same shape and dtype on ``device``, as torch's (the values
        are to be filled, e.g. by ``load_state_dict`` or ``reset_parameters``). The Parameter
        objects stay the same; gradients get new storage too. ``device=None`` keeps each tensor on its
        own device (torch's ``empty_like`` with no device; not the default device)."""
        device = None if device is None else backend.check_device(device)

        def empty_like(a):
            return backend.array_module(device or backend.device_of(a)).empty(a.shape, a.dtype)

        for p in self.parameters(recurse=recurse):
            p.data = empty_like(p.data)
            g = _grad_array(p)
            if g is not None:
                _set_grad_array(p, empty_like(g))
        for b in self.buffers(recurse=recurse):
            b.data = empty_like(b.data)
        return self

    def share_memory(self) -> "Module":
        """torch moves every storage to shared memory for ``torch.multiprocessing``; minitf has no
        multiprocessing tensors, so there is nothing to move: returns the module (as torch's, a
        GPU tensor is left as it is). An uninitialised parameter refuses, as torch's."""
        for t in list(self.parameters()) + list(self.buffers()):
            if getattr(t, "_is_uninitialized", False):
                raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                                   "initialize the parameters before calling `module.share_memory()`.")
        return self
