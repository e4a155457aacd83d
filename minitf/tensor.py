"""The Tensor: an array on a device that can record the ops applied to it.

A :class:`Tensor` wraps one backend array (``.data``) and carries the
PyTorch-named methods, each delegating to an op in :mod:`minitf.ops`. The
engine that records ops and runs backward is :mod:`minitf.autograd`.
"""
from __future__ import annotations

import numpy as np

from . import backend

class Tensor:
    """An n-dimensional array on a device, optionally recording gradients.

    Build one with :func:`minitf.tensor`. ``.grad`` is a backend array of the
    same shape and dtype as ``.data`` (or None).
    """

    __slots__ = ("data", "grad", "requires_grad", "_fn", "_retain", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False):
        self.data = data
        self.grad = None
        self._fn = None
        self._retain = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, fn):
        if isinstance(data, np.generic):  # NumPy reductions give scalars; keep 0-d arrays, as CuPy does
            data = np.asarray(data)
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._fn, t._retain = data, None, fn, False
        t.requires_grad = fn is not None
        return t

    # ------------------------------------------------------------ attributes
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    device = property(lambda self: backend.device_of(self.data))
    is_leaf = property(lambda self: self._fn is None)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def _scalar(self, kind: str):
        if self.data.size != 1:
            raise TypeError(f"only one-element tensors can be converted to a Python {kind}, "
                            f"this one has shape {self.shape}")
        return self.data.item()

    def __bool__(self):
        return bool(self._scalar("bool"))

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __repr__(self):
        arr = np.array2string(backend.to_numpy(self.data), precision=4, separator=", ", prefix="tensor(")
        extras = "" if self.device == "cpu" else f", device='{self.device}'"
        if self.dtype != np.float32 and self.dtype.kind == "f":
            extras += f", dtype={self.dtype}"
        if self._fn is not None:
            extras += f", grad_fn={type(self._fn).__name__}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({arr}{extras})"

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Mark this leaf as requiring (or not) gradients; floating dtypes only. Returns self."""
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.data.dtype}")
        if not flag and self._fn is not None:
            raise RuntimeError("requires_grad_(False) is only for leaf tensors; use .detach()")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` of this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True
        return self

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self.data, None)

    def numpy(self) -> np.ndarray:
        """A host NumPy copy (shares memory on the CPU; read it, don't write it)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The single element as a Python number (synchronises with a GPU)."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """Nested Python lists of the elements (a host copy)."""
        return self.numpy().tolist()

    def to(self, device=None, dtype=None) -> "Tensor":
        """Copy to another device and/or dtype. Differentiable (gradients flow back)."""
        from .ops import shape as _shape
        out = self
        if dtype is not None:
            out = _shape.astype(out, dtype)
        if device is not None and backend.check_device(device) != out.device:
            out = _shape.ToDevice.apply(out, device=backend.check_device(device))
        return out

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def zero_grad(self):
        self.grad = None

    # ------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph=None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad`` is the gradient of some scalar with respect to ``self``; it may
        be omitted only when ``self`` has one element. ``create_graph=True`` records
        the backward pass (``.grad`` becomes a Tensor in the graph, differentiable
        again); ``retain_graph`` defaults to ``create_graph``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input required grad, or it was made under no_grad())")
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a grad argument needs a scalar output; "
                                   f"this tensor has shape {self.shape}: pass grad= of that shape")
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if not hasattr(grad, "shape") or type(grad) is not type(self.data):
                grad = backend.to_device(np.asarray(grad, dtype=self.data.dtype), self.device)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward(): grad has shape {tuple(grad.shape)}, output has shape {self.shape}")
        _engine._run_backward(self, grad, retain_graph, create_graph)

    # ------------------------------------------------------------ operators
    def __add__(self, o): return _ops.add(self, o)
    def __radd__(self, o): return _ops.add(o, self)
    def __sub__(self, o): return _ops.sub(self, o)
    def __rsub__(self, o): return _ops.sub(o, self)
    def __mul__(self, o): return _ops.mul(self, o)
    def __rmul__(self, o): return _ops.mul(o, self)
    def __truediv__(self, o): return _ops.div(self, o)
    def __rtruediv__(self, o): return _ops.div(o, self)
    def __pow__(self, p): return _ops.pow(self, p)
    def __matmul__(self, o): return _ops.matmul(self, o)
    def __rmatmul__(self, o): return _ops.matmul(o, self)
    def __neg__(self): return _ops.neg(self)
    def __getitem__(self, index): return _ops.getitem(self, index)
    def __lt__(self, o): return _ops.compare(self, o, "less")
    def __le__(self, o): return _ops.compare(self, o, "less_equal")
    def __gt__(self, o): return _ops.compare(self, o, "greater")
    def __ge__(self, o): return _ops.compare(self, o, "greater_equal")
    def __eq__(self, o): return _ops.compare(self, o, "equal")
    def __ne__(self, o): return _ops.compare(self, o, "not_equal")
    __hash__ = object.__hash__

    # ------------------------------------------------------------ methods (PyTorch names)
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Sum over ``axis`` (int, tuple or None = all; PyTorch: ``dim``/``keepdim``)."""
        return _ops.sum(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Mean over ``axis`` (int, tuple or None = all)."""
        return _ops.mean(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Maximum over ``axis``; the gradient is shared equally between tied maxima."""
        return _ops.max(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def var(self, axis=None, keepdims=False, *, correction=1, dim=None, keepdim=None):
        """Variance over ``axis``, dividing by n - ``correction`` (1: unbiased, as PyTorch)."""
        return _ops.var(self, _pick(axis, dim), _pick(keepdims, keepdim), correction=correction)

    def reshape(self, *shape):
        """The same elements in a new shape, given as ints or one tuple (one entry may be -1)."""
        return _ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    view = reshape  # PyTorch's name; always allowed here (a copy when the layout needs one)

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (PyTorch's ``transpose(dim0, dim1)``)."""
        return _ops.swapaxes(self, dim0, dim1)

    def permute(self, *dims):
        """Reorder the axes: output axis i is input axis ``dims[i]`` (ints or one tuple)."""
        return _ops.permute(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)

    @property
    def T(self):
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def softmax(self, axis=-1, *, dim=None):
        """Softmax along ``axis`` (PyTorch: ``dim``); see :func:`minitf.functional.softmax`."""
        return _ops.softmax(self, _pick(axis, dim))

    def log_softmax(self, axis=-1, *, dim=None):
        """Log-softmax along ``axis`` (PyTorch: ``dim``); see :func:`minitf.functional.log_softmax`."""
        return _ops.log_softmax(self, _pick(axis, dim))
    def masked_fill(self, mask, value):
        """``value`` where the boolean ``mask`` (broadcastable to this shape) is true, else self."""
        return _ops.masked_fill(self, mask, value)

    def argmax(self, axis=None, keepdims=False):
        """Indices of the maxima along ``axis`` (flattened if None): an int64 tensor outside the graph."""
        out = self.data.argmax(axis=axis)
        if keepdims and axis is not None:
            out = out.reshape(tuple(1 if i == axis % self.ndim else n for i, n in enumerate(self.shape)))
        return Tensor._make(out, None)

    def split(self, split_size_or_sections, axis=0):
        """Chunks along ``axis``: see :func:`minitf.functional.split`."""
        return _ops.split(self, split_size_or_sections, axis)


def _pick(numpy_name, torch_name):
    return numpy_name if torch_name is None else torch_name


def tensor(data, dtype=None, device="cpu", requires_grad: bool = False) -> Tensor:
    """Build a Tensor from a Python number, nested list, NumPy array or Tensor.

    Floating data defaults to float32 (NumPy float arrays keep their dtype);
    integers to int64 and booleans to bool.
    """
    device = backend.check_device(device)
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = _check_dtype(dtype)
    xp = backend.array_module(device)
    if hasattr(data, "shape") and hasattr(data, "dtype") and not isinstance(data, np.generic):
        arr = backend.to_device(data, device)
        if dtype is not None and arr.dtype != dtype:
            arr = arr.astype(dtype)
        elif dtype is None and backend.device_of(arr) == backend.device_of(data) and arr is data:
            arr = arr.copy()
    else:
        host = np.asarray(data)
        if dtype is None:
            if host.dtype.kind == "f":
                dtype = np.float32
            elif host.dtype.kind in "iu":
                dtype = np.int64
            elif host.dtype.kind == "b":
                dtype = np.bool_
            else:
                raise TypeError(f"cannot build a tensor from data of dtype {host.dtype}")
        host = host.astype(dtype, copy=False)
        arr = host if xp is np else xp.asarray(host)
    return Tensor(arr, requires_grad=requires_grad)


_DTYPE_NAMES = {"float16": np.float16, "float32": np.float32, "float64": np.float64,
                "int32": np.int32, "int64": np.int64, "bool": np.bool_, "uint8": np.uint8}


def _check_dtype(dtype):
    """Normalise a dtype given as a NumPy dtype or a name; raise for anything unknown."""
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}: expected one of {sorted(_DTYPE_NAMES)}")
        return np.dtype(_DTYPE_NAMES[dtype])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None
    if dt.type not in _DTYPE_NAMES.values():
        raise TypeError(f"unsupported dtype {dt}: expected one of {sorted(_DTYPE_NAMES)}")
    return dt


from . import autograd as _engine  # noqa: E402  (the engine needs Tensor defined above)
from .autograd import Function, no_grad, is_grad_enabled, sum_to  # noqa: E402,F401  (re-exported)
from . import ops as _ops  # noqa: E402  (ops need Function and Tensor defined above)
