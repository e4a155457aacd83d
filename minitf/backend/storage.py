"""An array's storage as torch sees it: the memory block its elements live in, the element
offset of its first element in that block (``storage_offset``), a view of the block at any
shape and element strides (``as_strided``), its address (``data_ptr``) and DLPack.

A NumPy array's block is the last ndarray of its ``.base`` chain (the array that owns or was
made from the memory); a CuPy array's is its ``MemoryPointer``'s allocation; a fake-device
array's is that of the NumPy array it wraps. Offsets and strides are in elements, torch's unit.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .. import backend


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _host_block(a: np.ndarray):
    """(start address, size in bytes) of a host array's block."""
    root = _root(a)
    if not root.flags.c_contiguous:   # a block that is itself strided (rare): the array's own extent
        root = a
    lo = root.__array_interface__["data"][0]
    return lo, root.nbytes, root


def _unwrap_fake(a):
    return (a._a, True) if type(a).__name__ == "FakeDeviceArray" else (a, False)


def geometry(a):
    """``(storage_offset, storage_size)`` of array ``a``, in elements of a's dtype."""
    a, _ = _unwrap_fake(a)
    item = a.itemsize
    if isinstance(a, np.ndarray):
        lo, nbytes, _ = _host_block(a)
        return (a.__array_interface__["data"][0] - lo) // item, nbytes // item
    if a.size == 0:
        return 0, 0
    mem = a.data.mem   # CuPy: the allocation behind the array's MemoryPointer
    return (a.data.ptr - mem.ptr) // item, mem.size // item


def view(a, shape, strides, offset: int):
    """A view of a's storage: element ``(i, j, ...)`` at ``offset + i*strides[0] + j*strides[1] ...``
    (elements from the storage's start). The caller has checked the bounds; writes through it reach
    a's memory (views that overlap themselves are read-only on the host)."""
    a, fake = _unwrap_fake(a)
    item = a.itemsize
    byte_strides = tuple(int(s) * item for s in strides)
    if isinstance(a, np.ndarray):
        lo, nbytes, root = _host_block(a)
        start = lo + int(offset) * item
        # an ndarray over the block's buffer, kept alive by it (base = root)
        if 0 in tuple(shape):   # no element reached: any one-element block carries the strides
            out = np.lib.stride_tricks.as_strided(np.empty(1, a.dtype), tuple(shape), byte_strides)
        else:
            out = np.ndarray(tuple(shape), a.dtype, buffer=root, offset=start - lo, strides=byte_strides)
        if not a.flags.writeable:
            out.flags.writeable = False
        return _wrap_fake(out) if fake else out
    cupy = backend._cupy
    if 0 in tuple(shape):
        return cupy.lib.stride_tricks.as_strided(cupy.empty(1, a.dtype), tuple(shape), byte_strides)
    ptr = cupy.cuda.MemoryPointer(a.data.mem, int(offset) * item)
    return cupy.ndarray(tuple(shape), a.dtype, memptr=ptr, strides=byte_strides)


def _wrap_fake(out):
    from ..fakedevice import FakeDeviceArray
    return FakeDeviceArray(out)


def data_ptr(a) -> int:
    """The address of a's first element (torch's ``data_ptr``)."""
    a, _ = _unwrap_fake(a)
    return int(a.__array_interface__["data"][0]) if isinstance(a, np.ndarray) else int(a.data.ptr)


# ------------------------------------------------------------------ DLPack

_CPU, _CUDA = 1, 2   # DLPack's device types


def to_dlpack(a, **kwargs):
    """A DLPack capsule of array ``a`` (NumPy's or CuPy's ``__dlpack__``); the fake device has none."""
    if type(a).__name__ == "FakeDeviceArray":
        raise backend.DeviceError("to_dlpack: the fake device has no memory to share over DLPack "
                                  "(take .cpu() first)")
    return a.__dlpack__(**kwargs)


def _capsule_device(capsule) -> int:
    """The device type in a DLPack capsule's DLTensor (after its data pointer: {int32 type, int32 id})."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    ptr = get(capsule, b"dltensor")
    return ctypes.c_int32.from_address(ptr + ctypes.sizeof(ctypes.c_void_p)).value


class _Capsule:
    """A capsule as the object ``from_dlpack`` takes (``__dlpack__`` and ``__dlpack_device__``)."""

    def __init__(self, capsule, device_type):
        self.capsule, self.device_type = capsule, device_type

    def __dlpack__(self, **_):
        return self.capsule

    def __dlpack_device__(self):
        return (self.device_type, 0)


def from_dlpack(obj):
    """The array an object with ``__dlpack__`` (or a DLPack capsule) shares its memory as: a NumPy
    array for host memory, a CuPy array for CUDA memory."""
    if type(obj).__name__ == "PyCapsule":
        obj = _Capsule(obj, _capsule_device(obj))
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, "
                        f"got {type(obj).__name__}")
    kind = obj.__dlpack_device__()[0] if hasattr(obj, "__dlpack_device__") else _CPU
    if kind == _CPU:
        return np.from_dlpack(obj)
    if kind == _CUDA and backend.gpu_available():
        return backend._load_cupy().from_dlpack(obj)
    raise backend.DeviceError(f"from_dlpack: memory on DLPack device type {kind}, which minitf can't "
                              f"use here (1: host, 2: CUDA with CuPy)")


def exact_overlap_test(xp):
    """``f(a, b)``, for arrays ``a`` and ``b`` of module ``xp`` whose bounds overlap
    (``xp.may_share_memory``): whether they may have an element in common. On the CPU the exact
    test (``np.shares_memory``: two columns of one matrix do not overlap), bounded in work, past
    which they may; on a device always (CuPy's exact test reads every address on the device)."""
    return _cpu_overlap if xp is np else _bounds_overlap


def _bounds_overlap(a, b) -> bool:
    return True


def _cpu_overlap(a, b) -> bool:
    try:
        return bool(np.shares_memory(a, b, max_work=_EXACT_WORK))
    except getattr(np, "exceptions", np).TooHardError:   # (np.exceptions: NumPy 1.25 on)
        return True


_EXACT_WORK = 4096   # (NumPy's measure of the search: two strided views of a few dims need far less)
