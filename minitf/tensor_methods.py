"""The PyTorch-named methods of :class:`minitf.tensor.Tensor`, one line each, delegating to
:mod:`minitf.ops`: operators, in-place methods, math, reductions, shapes and indexing.

A mixin (``class Tensor(TensorMethods)``) so that tensor.py keeps only what is the tensor's
own; a method found on the base class costs nothing more per call. ``_ops`` is set by
tensor.py once the ops are importable (they need Tensor, defined after this module).
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor_inplace import InPlaceMethods
from .tensor_more import MoreMethods
from .tensor_api import APIMethods  # tensor API group: type/layout queries (aliases: tensor_api.install)
from .tensor_stats import StatsMethods   # statistics, reductions and misc torch functions
from .tensor_storage import StorageMethods   # tensor gaps group: as_strided, resize_, new, shifts, index_reduce...

_ops = None  # minitf.ops, bound by minitf/tensor.py at the end of its import



def _named(out, name, x):
    from .grad_fn_names import named
    return named(out, name, x)

class TensorMethods(InPlaceMethods, MoreMethods, APIMethods, StatsMethods, StorageMethods):
    """The delegating methods of :class:`~minitf.tensor.Tensor` (no state of its own); more
    in-place ones come from :class:`minitf.tensor_inplace.InPlaceMethods`, more math and type
    queries from :class:`minitf.tensor_more.MoreMethods`."""

    __slots__ = ()  # Tensor's own __slots__ stay the only storage: no per-instance __dict__

    # ------------------------------------------------------------ operators
    def __add__(self, o): return _ops.add(self, o)
    def __radd__(self, o): return _ops.add(o, self)
    def __sub__(self, o): return _ops.sub(self, o)
    def __rsub__(self, o): return _named(_ops.sub(o, self), "RsubBackward1", self)   # torch's rsub(Tensor, Scalar)
    def __mul__(self, o): return _ops.mul(self, o)
    def __rmul__(self, o): return _ops.mul(o, self)
    def __truediv__(self, o): return _ops.true_divide(self, o)
    def __rtruediv__(self, o): return _ops.true_divide(o, self)
    def __pow__(self, p): return _ops.pow(self, p)
    def __rpow__(self, b): return _named(_ops.pow(b, self), "PowBackward2", self)    # torch's pow(Scalar, Tensor)
    def __abs__(self): return _ops.abs(self)
    def __matmul__(self, o): return _ops.matmul(self, o)
    def __rmatmul__(self, o): return _ops.matmul(o, self)
    def __neg__(self): return _ops.neg(self)
    def __floordiv__(self, o): return _ops.floor_divide(self, o)
    def __rfloordiv__(self, o): return _ops.floor_divide(o, self)
    def __mod__(self, o): return _ops.remainder(self, o)
    def __rmod__(self, o): return _ops.remainder(o, self)
    def __and__(self, o): return _ops.bitwise_and(self, o)
    def __rand__(self, o): return _ops.bitwise_and(o, self)
    def __or__(self, o): return _ops.bitwise_or(self, o)
    def __ror__(self, o): return _ops.bitwise_or(o, self)
    def __xor__(self, o): return _ops.bitwise_xor(self, o)
    def __rxor__(self, o): return _ops.bitwise_xor(o, self)
    def __invert__(self): return _ops.bitwise_not(self)
    # the operators by torch's method names
    def add(self, other, *, alpha=1): return _ops.add(self, other, alpha=alpha)
    def sub(self, other, *, alpha=1): return _ops.sub(self, other, alpha=alpha)
    def mul(self, other): return _ops.mul(self, other)
    def div(self, other, *, rounding_mode=None): return _ops.div(self, other, rounding_mode=rounding_mode)
    def divide(self, other, *, rounding_mode=None): return _ops.div(self, other, rounding_mode=rounding_mode)
    def true_divide(self, other): return _ops.true_divide(self, other)
    def neg(self): return _ops.neg(self)
    def positive(self): return _ops.positive(self)
    def __pos__(self): return _ops.positive(self)
    def floor_divide(self, other): return _ops.floor_divide(self, other)
    def remainder(self, other): return _ops.remainder(self, other)
    def fmod(self, other): return _ops.fmod(self, other)
    def bitwise_and(self, other): return _ops.bitwise_and(self, other)
    def bitwise_or(self, other): return _ops.bitwise_or(self, other)
    def bitwise_xor(self, other): return _ops.bitwise_xor(self, other)
    def bitwise_not(self): return _ops.bitwise_not(self)
    def __getitem__(self, index): return _ops.getitem(self, index)
    def __setitem__(self, index, value): _ops.setitem(self, index, value)
    # comparisons with an object minitf does not know (pytest.approx, a custom type) answer
    # NotImplemented, so that Python asks the other side, as PyTorch's do
    def __lt__(self, o): return _ops.compare(self, o, "less") if _known(o) else NotImplemented
    def __le__(self, o): return _ops.compare(self, o, "less_equal") if _known(o) else NotImplemented
    def __gt__(self, o): return _ops.compare(self, o, "greater") if _known(o) else NotImplemented
    def __ge__(self, o): return _ops.compare(self, o, "greater_equal") if _known(o) else NotImplemented
    def __eq__(self, o): return _ops.compare(self, o, "equal") if _known(o) else NotImplemented
    def __ne__(self, o): return _ops.compare(self, o, "not_equal") if _known(o) else NotImplemented
    __hash__ = object.__hash__

    # ------------------------------------------------------------ random fills (minitf.ops.distributions)
    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return _dist().normal_(self, mean, std, generator=generator)
    def uniform_(self, *args, generator=None, **kwargs):
        """``uniform_(from=0, to=1)`` (``from`` is a Python keyword: pass it by position or as ``**{"from": a}``)."""
        return _dist().uniform_(self, *_from_to("uniform_", args, kwargs, (0.0, 1.0)), generator=generator)
    def exponential_(self, lambd=1.0, *, generator=None):
        return _dist().exponential_(self, lambd, generator=generator)
    def bernoulli_(self, p=0.5, *, generator=None):
        return _dist().bernoulli_(self, p, generator=generator)
    def random_(self, *args, generator=None, **kwargs):
        """``random_()``, ``random_(to)``, ``random_(from, to)``: integers in [from, to)."""
        if len(args) == 1 and not kwargs:
            args = (0, args[0])  # random_(to)
        return _dist().random_(self, *_from_to("random_", args, kwargs, (0, None)), generator=generator)
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _dist().multinomial(self, num_samples, replacement, generator=generator)
    def bernoulli(self, p=None, *, generator=None): return _dist().bernoulli(self, p, generator=generator)

    # ------------------------------------------------------------ methods (PyTorch names)
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """Sum over ``axis`` (int, tuple or None = all; PyTorch: ``dim``/``keepdim``); ``dtype``:
        cast first, as torch."""
        return _ops.sum(self if dtype is None else self.to(dtype=dtype), _pick(axis, dim), _pick(keepdims, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """Mean over ``axis`` (int, tuple or None = all); ``dtype``: cast first."""
        return _ops.mean(self if dtype is None else self.to(dtype=dtype), _pick(axis, dim), _pick(keepdims, keepdim))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``max()``: the maximum (gradient shared between ties); ``max(dim)``: a
        ``(values, indices)`` namedtuple along ``dim``, as PyTorch (see :mod:`minitf.ops.extrema`)."""
        return _ops.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``min()``: the minimum; ``min(dim)``: a ``(values, indices)`` namedtuple."""
        return _ops.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """Standard deviation: sqrt of :meth:`var` (``correction`` 1 by default; ``unbiased=False`` is 0);
        positionally as torch's ``std(dim, unbiased, keepdim)``."""
        return _ops.std(self, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)

    def norm(self, p=2, dim=None, keepdim=False):
        """The ``p``-norm over ``dim`` (all by default); the 2-norm's gradient at 0 is 0."""
        return _ops.norm(self, p, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """Variance over ``dim``, dividing by n - ``correction`` (1 by default: unbiased, as
        PyTorch; ``unbiased=False`` is correction 0); positionally as torch's ``var(dim, unbiased,
        keepdim)`` (the second is never keepdim: ``x.var(0, False)`` is the population variance)."""
        return _ops.var(self, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        """The same elements in a new shape, given as ints or one tuple (one entry may be -1)."""
        return _ops.reshape(self, _shape_args(shape))

    view = reshape  # PyTorch's name; always allowed here (a copy when the layout needs one)

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (PyTorch's ``transpose(dim0, dim1)``)."""
        return _ops.swapaxes(self, dim0, dim1)

    def permute(self, *dims):
        """Reorder the axes: output axis i is input axis ``dims[i]`` (ints or one tuple)."""
        return _ops.permute(self, _shape_args(dims))

    @property
    def T(self):
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def softmax(self, axis=-1, *, dim=None, dtype=None):
        """Softmax along ``axis`` (PyTorch: ``dim``); see :func:`minitf.functional.softmax`."""
        return _ops.softmax(self, _pick(axis, dim), dtype=dtype)

    def log_softmax(self, axis=-1, *, dim=None, dtype=None):
        """Log-softmax along ``axis`` (PyTorch: ``dim``); see :func:`minitf.functional.log_softmax`."""
        return _ops.log_softmax(self, _pick(axis, dim), dtype=dtype)

    def masked_fill(self, mask, value):
        """``value`` where the boolean ``mask`` (broadcastable to this shape) is true, else self."""
        return _ops.masked_fill(self, mask, value)

    def split(self, split_size_or_sections, dim=0, *, axis=None):
        """Chunks along ``dim``: see :func:`minitf.functional.split`."""
        return _ops.split(self, split_size_or_sections, _pick(dim, axis))

    def chunk(self, chunks, dim=0): return _ops.chunk(self, chunks, dim)
    def unsqueeze(self, dim): return _ops.unsqueeze(self, dim)
    def squeeze(self, dim=None): return _ops.squeeze(self, dim)
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def expand(self, *sizes): return _ops.expand(self, _shape_args(sizes))
    def expand_as(self, other): return _ops.expand(self, other.shape)
    def repeat(self, *sizes): return _ops.repeat(self, _shape_args(sizes))
    def t(self): return _ops.t(self)
    def abs(self): return _ops.abs(self)
    def clamp(self, min=None, max=None): return _ops.clamp(self, min, max)
    def maximum(self, other): return _ops.maximum(self, other)
    def minimum(self, other): return _ops.minimum(self, other)
    def pow(self, exponent): return _ops.pow(self, exponent)
    def matmul(self, other): return _ops.matmul(self, other)
    def where(self, condition, other): return _ops.where(condition, self, other)
    def tril(self, diagonal=0): return _ops.tril(self, diagonal)
    def triu(self, diagonal=0): return _ops.triu(self, diagonal)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.allclose(self, other, rtol, atol, equal_nan)

    # ------------------------------------------------------------ more math (minitf.ops.unary, .cumulative)
    def log1p(self): return _ops.log1p(self)
    def expm1(self): return _ops.expm1(self)
    def sin(self): return _ops.sin(self)
    def cos(self): return _ops.cos(self)
    def square(self): return _ops.square(self)
    def rsqrt(self): return _ops.rsqrt(self)
    def reciprocal(self): return _ops.reciprocal(self)
    def sign(self): return _ops.sign(self)
    def floor(self): return _ops.floor(self)
    def ceil(self): return _ops.ceil(self)
    def round(self, *, decimals=0): return _ops.round(self, decimals=decimals)
    def trunc(self): return _ops.trunc(self)
    def clamp_min(self, min): return _ops.clamp(self, min=min)
    def clamp_max(self, max): return _ops.clamp(self, max=max)
    def clip(self, min=None, max=None): return _ops.clamp(self, min, max)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None): return _ops.nan_to_num(self, nan, posinf, neginf)
    def lerp(self, end, weight): return _ops.lerp(self, end, weight)
    def addcmul(self, tensor1, tensor2, *, value=1): return _ops.addcmul(self, tensor1, tensor2, value=value)
    def logsumexp(self, dim, keepdim=False): return _ops.logsumexp(self, dim, keepdim)
    def prod(self, dim=None, keepdim=False, *, dtype=None): return _ops.prod(self, dim, keepdim, dtype=dtype)
    def cumsum(self, dim, *, dtype=None): return _ops.cumsum(self, dim, dtype=dtype)
    def cumprod(self, dim, *, dtype=None): return _ops.cumprod(self, dim, dtype=dtype)

    # ------------------------------------------------------------ indexing, order, layout, products
    def gather(self, dim, index): return _ops.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return _ops.scatter(self, dim, index, value if src is None else src, reduce=reduce)
    def scatter_add(self, dim, index, src): return _ops.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return _ops.index_select(self, dim, index)
    def masked_select(self, mask): return _ops.masked_select(self, mask)
    def nonzero(self, *, as_tuple=False): return _ops.nonzero(self, as_tuple=as_tuple)
    def sort(self, dim=-1, descending=False, *, stable=False): return _ops.sort(self, dim, descending, stable=stable)
    def argsort(self, dim=-1, descending=False, *, stable=False): return _ops.argsort(self, dim, descending, stable=stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return _ops.topk(self, k, dim, largest, sorted)
    def flip(self, *dims): return _ops.flip(self, _shape_args(dims))
    def roll(self, shifts, dims=None): return _ops.roll(self, shifts, dims)
    def unbind(self, dim=0): return _ops.unbind(self, dim)
    def narrow(self, dim, start, length): return _ops.narrow(self, dim, start, length)
    def movedim(self, source, destination): return _ops.movedim(self, source, destination)
    moveaxis = movedim
    def swapaxes(self, dim0, dim1): return _ops.swapaxes(self, dim0, dim1)
    swapdims = swapaxes
    def tile(self, *dims): return _ops.tile(self, _shape_args(dims))
    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return _ops.repeat_interleave(self, repeats, dim, output_size=output_size)
    def diag(self, diagonal=0): return _ops.diag(self, diagonal)
    def mm(self, other): return _ops.mm(self, other)
    def bmm(self, other): return _ops.bmm(self, other)
    def mv(self, vec): return _ops.mv(self, vec)
    def dot(self, other): return _ops.dot(self, other)
    def outer(self, other): return _ops.outer(self, other)
    def broadcast_to(self, shape): return _counting().broadcast_to(self, shape)
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return _counting().unique(self, sorted, return_inverse, return_counts, dim)
    def bincount(self, weights=None, minlength=0): return _counting().bincount(self, weights, minlength)

    # ------------------------------------------------------------ casts, new tensors, layout
    def half(self): return self.to(dtype="float16")
    def cuda(self, device=None):
        """``.to("gpu")`` (minitf has one GPU: ``device`` may be None, 0, "cuda" or "gpu"); a
        DeviceError says why where no GPU is usable."""
        if device not in (None, 0, "cuda", "gpu", "cuda:0"):
            raise backend.DeviceError(f"cuda: minitf uses one GPU; got device={device!r} (expected None, 0 or 'cuda')")
        return self.to("gpu")
    def long(self): return self.to(dtype="int64")
    def int(self): return self.to(dtype="int32")
    def bool(self): return self.to(dtype="bool")
    def type_as(self, other): return self.to(dtype=other.dtype)
    def view_as(self, other): return _ops.reshape(self, other.shape)
    def reshape_as(self, other): return _ops.reshape(self, other.shape)
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation().zeros(_shape_args(size), **_new(self, dtype, device), requires_grad=requires_grad)
    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation().ones(_shape_args(size), **_new(self, dtype, device), requires_grad=requires_grad)
    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation().empty(_shape_args(size), **_new(self, dtype, device), requires_grad=requires_grad)
    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return _creation().full(size, fill_value, **_new(self, dtype, device), requires_grad=requires_grad)
    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return _creation().tensor(data, **_new(self, dtype, device), requires_grad=requires_grad)
    def element_size(self): return self.data.itemsize
    def nelement(self): return int(self.data.size)
    def is_contiguous(self, memory_format=None):
        """Whether the array is C-contiguous, or laid out as ``memory_format`` (``mt.channels_last``...)."""
        if memory_format is None:
            return bool(self.data.flags.c_contiguous)
        from .type_objects import check_memory_format, is_contiguous_as
        fmt = check_memory_format("is_contiguous", memory_format)
        return is_contiguous_as(self.shape, self.stride(), fmt)
    def stride(self, dim=None):
        """Steps between elements per dim, in elements (torch's unit; NumPy's strides are bytes)."""
        s = tuple(b // self.data.itemsize for b in self.data.strides)
        return s if dim is None else s[_ops.check_dim("stride", dim, self.ndim)]
    is_cuda = property(lambda self: self.device != "cpu", doc="On a GPU (or the fake device standing for one).")

    # ------------------------------------------------------------ predicates (minitf.ops.logical): no grad
    def isnan(self): return _ops.isnan(self)
    def isinf(self): return _ops.isinf(self)
    def isfinite(self): return _ops.isfinite(self)
    def any(self, dim=None, keepdim=False): return _ops.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return _ops.all(self, dim, keepdim)
    def count_nonzero(self, dim=None): return _ops.count_nonzero(self, dim)
    def logical_and(self, other): return _ops.logical_and(self, other)
    def logical_or(self, other): return _ops.logical_or(self, other)
    def logical_xor(self, other): return _ops.logical_xor(self, other)
    def logical_not(self): return _ops.logical_not(self)
    def eq(self, other): return _ops.eq(self, other)
    def ne(self, other): return _ops.ne(self, other)
    def lt(self, other): return _ops.lt(self, other)
    def le(self, other): return _ops.le(self, other)
    def gt(self, other): return _ops.gt(self, other)
    def ge(self, other): return _ops.ge(self, other)
    def equal(self, other): return _ops.equal(self, other)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.isclose(self, other, rtol, atol, equal_nan)


def _shape_args(sizes):
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)


def _new(t, dtype, device):
    """The dtype and device of a ``new_*`` tensor: ``t``'s unless given, as torch."""
    return {"dtype": t.dtype if dtype is None else dtype, "device": t.device if device is None else device}


def _creation():
    from . import creation  # imported here: creation imports tensor, which imports this module
    return creation


def _dist():
    from .ops import distributions  # imported on first use, as creation
    return distributions


def _counting():
    from .ops import counting
    return counting


def _from_to(name, args, kwargs, defaults):
    """torch's ``(from, to)`` from positional and keyword arguments (``from`` can't be a parameter name)."""
    unknown = set(kwargs) - {"from", "to"}
    if unknown or len(args) > 2:
        raise TypeError(f"{name}: expected (from, to), got {len(args)} positional arguments and keywords {sorted(kwargs)}")
    values = list(args) + list(defaults[len(args):])
    for i, key in enumerate(("from", "to")):
        if key in kwargs:
            if i < len(args):
                raise TypeError(f"{name}: got {key!r} both by position and by keyword")
            values[i] = kwargs[key]
    return values


def _pick(numpy_name, torch_name):
    return numpy_name if torch_name is None else torch_name


def _known(o) -> bool:
    """An operand the tensor ops take: a Tensor, a Python (complex too) or NumPy number, a list, an array."""
    if isinstance(o, (TensorMethods, int, float, complex, np.generic, np.ndarray, list, tuple)):
        return True
    try:
        backend.device_of(o)  # a raw device array
    except TypeError:
        return False
    return True
