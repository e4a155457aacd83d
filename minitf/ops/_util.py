"""Small helpers shared by the op modules."""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .. import backend
from .. import autograd as _engine
from ..autograd import Function, shared_counter
from ..errors import DimError, DtypeError, broadcast_error
from ..tensor import Tensor
from ..view_rebase import note_view


def scalar_tensor(x, dtype, like: Tensor) -> Tensor:
    """The number ``x`` as a 0-d constant of ``dtype`` on ``like``'s device. An integer out of
    an integer dtype's range wraps around, as in PyTorch (``uint8_tensor + 300``, ``- 1``)."""
    if type(x) is not float and isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) \
            and np.dtype(dtype).kind in "iu":
        host = np.asarray(x if isinstance(x, np.integer) else np.int64(x)).astype(dtype)  # wraps
    else:
        host = np.asarray(x, dtype=dtype)
    xp = backend.get_array_module(like.data)
    # on a GPU, full() is a fill kernel queued on the device: no host copy, no synchronisation
    return Tensor._make(host if xp is np else xp.full((), host.item(), dtype=dtype), None)


def as_tensor(x, like: Tensor) -> Tensor:
    """Wrap a Python/NumPy scalar as a constant tensor on ``like``'s device and dtype.

    Tensors pass through; host arrays meeting a device tensor are refused here
    with the names of both devices, so the error is ours, not the backend's.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, bool, np.generic)):
        dt = like.data.dtype
        if dt.kind == "f" or not isinstance(x, float):
            dtype = dt
        else:   # a float with a complex tensor: its parts' precision (0.3 in float64 for complex128)
            dtype = np.finfo(dt).dtype if dt.kind == "c" else np.float32
        return scalar_tensor(x, dtype, like)
    if isinstance(x, complex):   # a complex tensor's dtype, else the default float dtype's complex one
        from .promotion import result_type
        return scalar_tensor(x, result_type(like, x), like)
    if isinstance(x, np.ndarray):
        if backend.device_of(like.data) != "cpu":
            raise backend.DeviceError(f"cannot mix a host numpy array (cpu) with a tensor on "
                                      f"{like.device}: build it with minitf.tensor(..., device='{like.device}')")
        return Tensor._make(x, None)
    raise TypeError(f"unsupported operand type {type(x).__name__} for a tensor op")


def check_same_device(name: str, tensors) -> None:
    """Raise DeviceError naming both devices if the tensors do not all live on one."""
    for t in tensors[1:]:
        if type(t.data) is not type(tensors[0].data) and t.device != tensors[0].device:  # (vmap's batched
            # tensors have a stand-in array type on the device of their values)
            raise backend.DeviceError(f"{name}: tensors on different devices: {tensors[0].device} and {t.device}")


def elementwise_outside_graph(name: str, a: Tensor, b: Tensor) -> Tensor:
    """``xp.<name>(a, b)`` for an op with no gradient (logical_*, bitwise_*), broadcasting: one
    device, and a mismatch of shapes named as the other binary ops name it."""
    if a._vmap_batched or b._vmap_batched:   # inside vmap (comparisons too): the batching rule
        from ..func.batching_fns import outside_graph
        return outside_graph(name, a, b)
    check_same_device(name, [a, b])
    xp = backend.get_array_module(a.data)
    try:
        return Tensor._make(getattr(xp, name)(a.data, b.data), None)
    except ValueError:
        raise broadcast_error(name, a.shape, b.shape) from None


def refuse_complex(name: str, *tensors, why: str = "complex numbers have no order") -> None:
    """The complex guard's refusal (:func:`minitf.complex_guard.refuse`) for an op outside the graph
    (``<``, sort, argmax ...) given a complex tensor. Callers test ``_engine._hooks`` first: empty
    until a complex dtype appears (or a debug tool is on), so real programs pay one attribute read."""
    from .. import complex_guard
    if complex_guard.armed:
        complex_guard.refuse(name, *tensors, why=why)


def differentiable(t) -> bool:
    """Whether an op must take the Tensor ``t`` as an input rather than a constant: a gradient flows
    through it, or (a dual level open: :mod:`minitf.forward_ad`) it carries a tangent."""
    if t.requires_grad:
        return True
    if not _engine._tls.hooks:
        return False
    from ..forward_inplace import flows
    return flows(t)


def float_input(x):
    """``x`` as a floating tensor for an op whose values are floats (exp, log, sin, sigmoid, ...):
    an integer or bool tensor becomes the default float dtype, as PyTorch's ``torch.exp`` of an
    int64 tensor is float32 (float64 under ``set_default_dtype``), where NumPy would give float64
    (float16 for bool and uint8). Integral tensors never require grad: the cast is a constant."""
    if isinstance(x, Tensor) and x.data.dtype.kind in "biu":
        from ..creation import get_default_dtype  # here: creation imports the ops package
        return Tensor._make(x.data.astype(get_default_dtype()), None)
    return x


def require_tensor(name: str, x, arg: str = "other") -> None:
    """Refuse a Python number where torch's signature takes only a Tensor (torch.maximum(x, 3),
    torch.logical_and(x, 1), torch.fmod(3, x), torch.eq(3, x)): torch's TypeError, not a silent
    extension that code written for minitf would then not run on torch."""
    if isinstance(x, (bool, int, float, complex, np.generic)):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__} (as torch)")


def check_floating(x, name: str) -> None:
    """Refuse an integer or bool tensor where PyTorch refuses one (softmax, norm, std, ...)."""
    if isinstance(x, Tensor) and x.dtype.kind not in "fc":
        raise DtypeError(f"{name}: the input must be floating point, got {x.dtype} (as PyTorch; "
                        f"take x.float() or x.double() first)")


def binary_operands(a, b):
    """Both operands as tensors; at least one of them already is one."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, a)
    return as_tensor(a, b), b


def is_int(value) -> bool:
    """Whether ``value`` is an integer argument as torch takes one: a Python or NumPy int, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def broadcasts_to(shape, target) -> bool:
    """Whether ``shape`` broadcasts to exactly ``target`` (an in-place op's output, addmm's input)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def normalize_axis(axis, ndim: int, name: str = "reduction"):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative ints, or None (every dim).

    An empty tuple or list also means every dim, as in PyTorch (``x.sum(dim=())``
    is the total; NumPy would reduce nothing). ``name`` (the op) starts the error message."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not axes:
        return None
    n = max(ndim, 1)  # PyTorch: a 0-d tensor has one dim for this purpose, so 0 and -1 name it
    out = []
    for a in axes:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            # x.std(False) is torch's std(unbiased=False), not a dim: refused rather than read as dim 0
            raise TypeError(f"{name}: dim must be an int or a tuple of ints, got {type(a).__name__} "
                            f"{a!r}" + (" (unbiased= and keepdim= are keywords)" if isinstance(a, (bool, np.bool_)) else ""))
        if not -n <= a < n:
            raise DimError(f"{name}: axis {a} is out of range [{-n}, {n - 1}] for a tensor with {ndim} dimensions")
        out.append(int(a) % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: axis {axis} names a dim more than once")
    return tuple(sorted(out)) if ndim else ()  # reducing a 0-d tensor over "its" dim keeps it


def expand_reduced(g, shape, axes, keepdims: bool):
    """Reshape the gradient of a reduction so that it broadcasts against the input."""
    if keepdims or axes is None and g.ndim == 0:
        return g
    if axes is None:
        return g.reshape((1,) * len(shape))
    return g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))


def check_same_dtype(name: str, **tensors) -> None:
    """Raise TypeError naming both dtypes if the given (float) tensors do not share one.

    The rule (PyTorch's): ops that combine an input with parameters -- linear,
    matmul, layer_norm, attention, the recurrent cells -- compute in one
    dtype and refuse a mix, rather than silently computing in the wider one
    and handing a float32 parameter a float64 computation's gradient.
    Elementwise arithmetic promotes (float32 + float64 -> float64), as
    NumPy and PyTorch do. ``None`` values are skipped."""
    first = None
    for t in tensors.values():  # the fast pass (every op with parameters calls this): no list, no names
        if t is not None:
            if first is None:
                first = t.data.dtype
            elif t.data.dtype != first:
                break
    else:
        return
    items = [(k, t) for k, t in tensors.items() if t is not None]
    for k, t in items[1:]:
        if t.dtype != items[0][1].dtype:
            k0, t0 = items[0]
            raise DtypeError(f"{name}: {k0} is {t0.dtype} but {k} is {t.dtype}; they must have the same dtype "
                            f"(convert the input with x.to(dtype=...) or the model with model.to(dtype=...))")


def remember_index_bounds(t, lo: int, hi: int):
    """Record, for the integer tensor ``t``, that every entry lies in [lo, hi], bounds learned on
    the host (``t`` was made from host data). :func:`check_index_range` then needs no round
    trip to the device while ``t`` is unchanged: the record holds ``t``'s version and array,
    and an in-place change through a Tensor method or a new ``t.data`` voids it. Returns ``t``."""
    t._bounds = (t._version, int(lo), int(hi), t.data)  # the array too: ``t.data = other`` voids it
    return t


def known_index_bounds(t):
    """(lo, hi) recorded for ``t`` by :func:`remember_index_bounds` and still valid, or None."""
    known = getattr(t, "_bounds", None)
    if known is not None and known[3] is t.data and known[0] == t._version:
        return known[1], known[2]
    return None


def inherit_index_bounds(out, *sources) -> None:
    """``out`` holds only values of ``sources`` (a slice, a concatenation): when every source's
    bounds are known, ``out`` gets their union, so its range checks need no device read either.
    (Only integer ids ever have bounds: for any other tensor this returns at the first source.)"""
    lo = hi = None
    for t in sources:
        b = known_index_bounds(t)
        if b is None:
            return
        lo, hi = (b[0], b[1]) if lo is None else (min(lo, b[0]), max(hi, b[1]))
    if lo is not None:
        remember_index_bounds(out, lo, hi)


def note_host_index_bounds(t, host) -> None:
    """When the integer tensor ``t`` on a device was copied from the host array ``host``, record
    its bounds, read from ``host`` (a host pass, no device round trip); else do nothing."""
    if t.device != "cpu" and host.dtype.kind in "iu" and host.size:
        remember_index_bounds(t, host.min(), host.max())


def check_index_range(name: str, what: str, idx, n: int, ignore=None, source=None) -> None:
    """Raise IndexError unless every entry of the integer array ``idx`` (those equal to
    ``ignore`` aside) lies in [0, n).

    ``source``, the Tensor ``idx`` came from, may carry bounds known on the host
    (:func:`remember_index_bounds`): within [0, n) they settle it without reading
    the device. Otherwise the minimum and maximum come to the host together: on a
    GPU that is one synchronisation per call, not one per bound (nor a boolean-mask
    gather, whose size the host must learn first).
    """
    if idx.size == 0:
        return
    known = known_index_bounds(source) if source is not None else None
    if known is not None and known[0] >= 0 and known[1] < n:
        return
    xp = backend.get_array_module(idx)
    if ignore is None:
        lo, hi = idx.min(), idx.max()
    else:  # ignored entries stand in as 0 for the minimum and -1 for the maximum: never out of range
        keep = idx != ignore
        lo, hi = xp.where(keep, idx, 0).min(), xp.where(keep, idx, -1).max()
    lo, hi = (int(v) for v in backend.to_numpy(xp.stack([lo, hi])))
    if lo < 0 or hi >= n:
        raise IndexError(f"{name}: {what} out of range [0, {n}): min {lo}, max {hi}")


def share_storage(out: Tensor, base: Tensor) -> Tensor:
    """Mark ``out`` as a view of ``base`` when its array shares base's memory: one version
    counter for both (an in-place change through either is seen by ops that saved the other)."""
    a, b = out.data, base.data
    if a is not b and not (np.may_share_memory(a, b) if type(b) is np.ndarray
                           else backend.get_array_module(b).may_share_memory(a, b)):
        return out  # a copy
    out._vc = shared_counter(base)
    root = getattr(base, "_base", None)
    out._base = root = base if root is None else root
    note_view(out, root)   # re-based after a recorded in-place change of root (minitf/view_rebase.py)
    return out


class OpResult(Function):
    """y = x.reshape(shape) as an op of its own, not a view: see :func:`as_result`."""
    saves_inputs = saves_output = False

    def forward(self, x, shape, copy):
        self.in_shape = x.shape
        return x.reshape(shape).copy() if copy else x.reshape(shape)

    def backward(self, g):  # a reshape's gradient: g reshaped back
        return (g.reshape(self.in_shape),)

    def backward_graph(self, g):
        return (g.reshape(self.in_shape),)


def as_result(y: Tensor, shape) -> Tensor:
    """``y.reshape(shape)`` for an op's intermediate ``y`` that no one else holds, as the new
    tensor torch's op returns rather than a view: an in-place op on it (a ``ReLU(inplace=True)``
    after a BatchNorm2d, an unbatched conv) is then recorded as on any result. The memory is y's
    unless the op that made y reads its output in backward (then a copy: a write must not reach it)."""
    return OpResult.apply(y, shape=tuple(shape), copy=y._fn is not None and y._fn.saves_output)


def check_dim(name: str, dim, ndim: int) -> int:
    """One dim in PyTorch's range [-ndim, ndim) (a 0-d tensor accepts 0 and -1), non-negative."""
    n = max(ndim, 1)
    if not is_int(dim):
        raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise DimError(f"{name}: dim {dim} is out of range [{-n}, {n - 1}] for a tensor with {ndim} dimensions")
    return int(dim) % n


def cast_input(x, dtype):
    """``x`` cast to ``dtype`` first, as torch's ``dtype=`` of sum, mean, prod, cumsum and
    softmax (differentiable: the gradient comes back in x's dtype); ``x`` itself for None."""
    return x if dtype is None else x.to(dtype=dtype)


def accepts_dim(fn, *, dtype: bool = False):
    """Let ``fn(x, axis=, keepdims=)`` also take PyTorch's ``dim=`` / ``keepdim=`` (and, with
    ``dtype=True``, torch's ``dtype=``: the input cast first)."""
    import functools

    if dtype:
        plain = accepts_dim(fn)

        @functools.wraps(fn)
        def with_dtype(x, *args, dtype=None, **kwargs):
            return plain(x if dtype is None else cast_input(x, dtype), *args, **kwargs)
        return with_dtype

    @functools.wraps(fn)
    def wrapper(*args, dim=None, keepdim=None, **kwargs):
        if dim is not None:
            if kwargs.get("axis") is not None:
                raise TypeError(f"{fn.__name__}: give dim or axis, not both")
            kwargs["axis"] = dim
        if keepdim is not None:
            kwargs["keepdims"] = keepdim
        return fn(*args, **kwargs)
    return wrapper


def check_writable(x: Tensor, name: str) -> None:
    """Refuse an in-place fill of a tensor whose elements share memory (a broadcast view made by
    ``expand`` / ``broadcast_to``: a zero stride) or of a read-only array, as torch refuses,
    before anything is drawn (NumPy's own error, 'assignment destination is read-only', says
    neither why nor what to do)."""
    a = x.data
    shared = a.size > 1 and any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape))
    if shared or not getattr(getattr(a, "flags", None), "writeable", True):
        raise RuntimeError(f"{name}: cannot write in place to a tensor of shape {x.shape} whose elements "
                           f"share memory (a broadcast view, from expand / broadcast_to) or that is read-only; "
                           f"clone() it first")


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn_at_user_line(message: str, category=UserWarning) -> None:
    """``warnings.warn`` attributed to the innermost frame outside minitf (the user's line, however
    many of minitf's wrappers and methods lie between), as torch's C++ warnings point there."""
    f, level = sys._getframe(0), 1   # stacklevel 1 is this frame; each minitf frame above adds one
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PACKAGE):
        f, level = f.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def warn_if_no_degrees_of_freedom(name: str, x: Tensor, axis, correction) -> None:
    """torch's warning for a variance with n - correction <= 0 (the value is then inf or NaN)."""
    n = x.data.size if axis is None else int(np.prod([x.shape[a] for a in axis], dtype=np.int64))
    if n - correction <= 0:
        warn_at_user_line(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          f"reduction factor (input numel divided by output numel).")


def horner(y, coefs):
    """sum_k coefs[k] y^k (``coefs``: Python floats, lowest power first, at least two), in place in
    one new array of y's shape and dtype (a fresh array per term cost more than the arithmetic)."""
    acc = y * coefs[-1]
    for c in coefs[-2:0:-1]:
        acc += c
        acc *= y
    acc += coefs[0]
    return acc
