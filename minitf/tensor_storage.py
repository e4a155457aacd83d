"""torch's storage, layout and element-function methods of :class:`minitf.tensor.Tensor` (the
tensor gaps group): ``storage_offset``, ``as_strided`` and its in-place and scatter forms,
``resize_``, ``data_ptr``, the legacy ``new`` constructor, the Python-function fills ``apply_``,
``map_`` and ``map2_``, the complex-number views of a real tensor (``real``, ``imag``, ``conj``,
``angle``), the bit shifts and their operators, and the index writes ``index_reduce``,
``masked_scatter`` and ``put``, one line each delegating to minitf/ops.

A mixin of :class:`minitf.tensor_methods.TensorMethods` (no state of its own).
"""
from __future__ import annotations

import importlib
import numpy as _np

from . import backend
from .errors import ArgumentError, ShapeError


def _autograd():
    from . import autograd   # (imported here: autograd imports tensor, which imports this module)
    return autograd


def _op(module):
    return importlib.import_module(f".ops.{module}", __package__)


def _legacy():
    return importlib.import_module(".linalg.legacy_decomp", __package__)


def _householder():
    return importlib.import_module(".linalg.householder", __package__)


def _sizes(name, sizes):
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)
    from .ops._util import is_int
    if not all(is_int(n) for n in shape):
        raise TypeError(f"{name}: sizes must be ints, got {shape!r}")
    if any(n < 0 for n in shape):
        raise ShapeError(f"{name}: Trying to create tensor with negative dimension: {list(shape)}")
    return tuple(int(n) for n in shape)


class StorageMethods:
    """The methods above (no state of their own)."""

    __slots__ = ()

    # ------------------------------------------------------------ storage and layout (ops/as_strided.py)
    def storage_offset(self) -> int: return _op("as_strided").storage_offset(self)
    def as_strided(self, size, stride, storage_offset=None):
        return _op("as_strided").as_strided(self, size, stride, storage_offset)
    def as_strided_(self, size, stride, storage_offset=None):
        return _op("as_strided").as_strided_(self, size, stride, storage_offset)
    def as_strided_scatter(self, src, size, stride, storage_offset=None):
        return _op("as_strided").as_strided_scatter(self, src, size, stride, storage_offset)

    def data_ptr(self) -> int:
        """The address of the first element (a stable id of the memory while the tensor lives;
        views of one storage differ by their offset, as torch's)."""
        from .backend import storage
        return storage.data_ptr(self.data)

    def __dlpack__(self, **kwargs):
        """A DLPack capsule of the array (NumPy's or CuPy's; ``np.from_dlpack(x)``,
        ``torch.from_dlpack(x)`` read it). Refused for a tensor that requires grad, as torch."""
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        from .backend import storage
        return storage.to_dlpack(self.data, **kwargs)

    def __dlpack_device__(self):
        """(DLPack device type, index): (1, 0) on the CPU, (2, 0) on the GPU."""
        if type(self.data).__name__ == "FakeDeviceArray":
            raise backend.DeviceError("the fake device has no memory to share over DLPack (take .cpu() first)")
        return self.data.__dlpack_device__()

    def is_shared(self) -> bool:
        """False: minitf tensors are never in memory shared between processes (torch's
        ``share_memory_`` / ``torch.multiprocessing`` have no counterpart here)."""
        return False

    def share_memory_(self):
        """A no-op returning the tensor: minitf has no inter-process shared memory (its data
        parallelism, minitf.distributed, sends arrays over MPI instead)."""
        return self

    def resize_(self, *sizes, memory_format=None):
        """In place: the tensor takes shape ``sizes`` with contiguous strides over its storage, from
        its storage offset, as torch: the first elements of the storage keep their values; growing
        past the storage's end gives a new storage (the old one copied in; the new elements are 0
        here, uninitialised in torch) that views taken before no longer share. A tensor that
        requires grad can't be resized (torch's error)."""
        shape = _sizes("resize_", sizes)
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        if shape == self.shape:
            return self
        if _autograd()._hooks:   # allow_mutation_on_saved_tensors: a saved tensor is cloned first
            from . import debughooks
            debughooks.before_write(self)
        from .backend import storage
        offset, total = storage.geometry(self.data)
        n = 1
        for s in shape:
            n *= s
        from .type_objects import dense_strides
        strides = dense_strides(shape, range(len(shape)))   # row-major
        if offset + n > total:
            xp = backend.get_array_module(self.data)
            grown = xp.zeros(offset + n, dtype=self.data.dtype)
            if total:
                grown[:total] = storage.view(self.data, (total,), (1,), 0)
            self.data = grown[offset:].reshape(shape)
        else:
            self.data = storage.view(self.data, shape, strides, offset)
        _autograd().bump_version(self)
        return self

    def resize_as_(self, other, memory_format=None):
        """In place: ``resize_(other.shape)``."""
        return self.resize_(other.shape)

    # ------------------------------------------------------------ the legacy constructor
    def new(self, *args, device=None):
        """torch's legacy ``x.new(...)``, with x's dtype and device: ``new()`` an empty (0,) tensor,
        ``new(2, 3)`` or ``new(mt.Size(...))`` an uninitialised (zeros here) one of that size,
        ``new(data)`` (a list, tuple or array) a copy of it, ``new(tensor)`` that tensor itself (of
        x's dtype only)."""
        from . import creation
        from .size import Size
        from .tensor import Tensor
        dev = self.device if device is None else device
        if len(args) == 1 and isinstance(args[0], Tensor):
            t = args[0]
            if t.dtype != self.dtype:
                raise TypeError(f"new(): expected a tensor of dtype {self.dtype}, got {t.dtype}")
            return t
        if len(args) == 1 and not isinstance(args[0], Size) and not isinstance(args[0], int):
            return creation.tensor(args[0], dtype=self.dtype, device=dev)
        return creation.zeros(_sizes("new", args) if args else (0,), dtype=self.dtype, device=dev)

    # ------------------------------------------------------------ Python functions per element (CPU)
    def apply_(self, callable):
        """In place: every element ``v`` becomes ``callable(v)`` (a Python number, cast to x's dtype),
        as torch. CPU tensors that don't require grad only (torch's rule); slow: one Python call
        per element."""
        return _per_element(self, "apply_", callable, ())

    def map_(self, tensor, callable):
        """In place: ``self[i] = callable(self[i], tensor[i])``, tensor broadcast to x's shape (CPU)."""
        return _per_element(self, "map_", callable, (tensor,))

    def map2_(self, x, y, callable):
        """In place: ``self[i] = callable(self[i], x[i], y[i])``, x and y broadcast to self's shape (CPU)."""
        return _per_element(self, "map2_", callable, (x, y))

    # ------------------------------------------------------------ complex parts (ops/complex_parts.py)
    real = property(lambda self: self if self.data.dtype.kind != "c" else _op("complex_parts").real(self),
                    lambda self, value: _op("complex_parts").set_part(self, value, False),
                    doc="The real part: the tensor itself for a real dtype, as torch; a complex tensor's real "
                        "part, a view (writes change the tensor). Settable: ``z.real = v`` writes it.")
    imag = property(lambda self: _op("complex_parts").imag(self),
                    lambda self, value: _op("complex_parts").set_part(self, value, True),
                    doc="The imaginary part of a complex tensor, a view (as ``real``); torch's error for a real "
                        "tensor. Settable.")
    def conj(self): return self if self.data.dtype.kind != "c" else _op("complex_parts").conj(self)
    conj_physical = conj
    def conj_physical_(self): return _op("complex_parts").conj_physical_(self)
    def angle(self): return _op("complex_parts").angle(self)
    def cfloat(self): return self.to(_np.complex64)
    def cdouble(self): return self.to(_np.complex128)
    def chalf(self):
        """torch's cast to complex32: NumPy has no such type, so the NotImplementedError saying why."""
        from .unsupported_dtypes import complex32
        return self.to(complex32)

    # ------------------------------------------------------------ bit shifts (ops/shifts.py)
    def bitwise_left_shift(self, other): return _op("shifts").bitwise_left_shift(self, other)
    def bitwise_right_shift(self, other): return _op("shifts").bitwise_right_shift(self, other)
    def bitwise_left_shift_(self, other): return _op("shifts").bitwise_left_shift_(self, other)
    def bitwise_right_shift_(self, other): return _op("shifts").bitwise_right_shift_(self, other)
    __lshift__ = bitwise_left_shift
    __rshift__ = bitwise_right_shift
    __ilshift__ = bitwise_left_shift_
    __irshift__ = bitwise_right_shift_
    def __rlshift__(self, other): return _op("shifts").bitwise_left_shift(other, self)
    def __rrshift__(self, other): return _op("shifts").bitwise_right_shift(other, self)

    # ------------------------------------------------------------ index writes (ops/index_reduce.py)
    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        return _op("index_reduce").index_reduce(self, dim, index, source, reduce, include_self=include_self)
    def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
        return _op("index_reduce").index_reduce_(self, dim, index, source, reduce, include_self=include_self)
    def masked_scatter(self, mask, source): return _op("index_reduce").masked_scatter(self, mask, source)
    def masked_scatter_(self, mask, source): return _op("index_reduce").masked_scatter_(self, mask, source)
    def put(self, index, source, accumulate=False): return _op("index_reduce").put(self, index, source, accumulate)
    def put_(self, index, source, accumulate=False): return _op("index_reduce").put_(self, index, source, accumulate)
    def nonzero_static(self, *, size, fill_value=-1):
        return _op("index_reduce").nonzero_static(self, size=size, fill_value=fill_value)

    # ------------------------------------------------------------ torch's older decompositions (linalg/legacy_decomp.py)
    def svd(self, some=True, compute_uv=True): return _legacy().svd(self, some, compute_uv)
    def qr(self, some=True): return _legacy().qr(self, some)
    def cholesky(self, upper=False): return _legacy().cholesky(self, upper)
    def lstsq(self, A=None): return _legacy().lstsq(self, A)
    def geqrf(self): return _householder().geqrf(self)
    def orgqr(self, input2): return _householder().orgqr(self, input2)
    def ormqr(self, input2, input3, left=True, transpose=False):
        return _householder().ormqr(self, input2, input3, left, transpose)

    # ------------------------------------------------------------ random fills (ops/random_fills.py)
    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        return _op("random_fills").cauchy_(self, median, sigma, generator=generator)
    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        return _op("random_fills").log_normal_(self, mean, std, generator=generator)
    def geometric_(self, p, *, generator=None): return _op("random_fills").geometric_(self, p, generator=generator)


def _per_element(x, name, fn, others):
    from .ops.inplace import _check_writable
    from .tensor import Tensor
    if x.device != "cpu":
        raise backend.DeviceError(f"{name} is only implemented on CPU tensors (as torch), got one on {x.device}")
    if x.requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    if not callable(fn):
        raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
    _check_writable(x, name)
    import numpy as np
    arrays = []
    for t in others:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(t).__name__}")
        if t.device != "cpu":
            raise backend.DeviceError(f"{name} is only implemented on CPU tensors, got one on {t.device}")
        try:
            arrays.append(np.broadcast_to(t.data, x.shape))
        except ValueError:
            raise ArgumentError(f"{name}: a tensor of shape {t.shape} doesn't broadcast to {x.shape}") from None
    flat = [a.reshape(-1).tolist() for a in [x.data] + arrays]
    values = [fn(*vs) for vs in zip(*flat)]
    if values:   # (an int tensor keeps the results truncated, as torch's cast)
        x.data[...] = np.asarray(values).astype(x.dtype).reshape(x.shape)
    _autograd().bump_version(x)
    return x


def resize_as_(input, the_template):
    """torch.resize_as_: ``input.resize_as_(the_template)``."""
    return input.resize_as_(the_template)
