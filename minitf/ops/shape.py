"""Shape and selection: reshape, permute, getitem, concatenate, stack, split, where, dtype/device moves."""
from __future__ import annotations

import operator

import numpy as np

from ..errors import ArgumentError, DimError, DtypeError, ShapeError, broadcast_error
from .. import backend
from ..autograd import Function
from ..tensor import Tensor, _check_dtype
from .promotion import promote_operands, promote_types, result_type
from ._util import as_tensor, check_same_device, inherit_index_bounds, scalar_tensor, share_storage
from .inplace import Staged, take


class Reshape(Function):
    saves_inputs = saves_output = False
    is_view = True  # the output may share the input's storage

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def view_matches(self, base, out):
        return bool(backend.get_array_module(out).array_equal(base.reshape(out.shape), out))

    def backward(self, g):
        return (g.reshape(self.in_shape),)

    def backward_graph(self, g):
        return (reshape(g, self.in_shape),)


class Permute(Function):
    saves_inputs = saves_output = False
    is_view = True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def view_matches(self, base, out):
        return bool(backend.get_array_module(out).array_equal(base.transpose(self.axes), out))

    def backward(self, g):  # the inverse permutation
        return (g.transpose(tuple(np.argsort(self.axes))),)

    def backward_graph(self, g):
        return (Permute.apply(g, axes=tuple(int(a) for a in np.argsort(self.axes))),)


class GetItem(Function):
    __slots__ = ("index",)  # a slot, not the freed __dict__: grad_fn.name() reads it after backward
    saves_inputs = saves_output = False
    is_view = True

    def forward(self, x, index, advanced):
        self.shape, self.dtype, self.index, self.advanced = x.shape, x.dtype, index, advanced
        return take(x, index)

    def view_matches(self, base, out):
        return bool(backend.get_array_module(out).array_equal(take(base, self.index), out))

    def backward(self, g):
        xp = backend.get_array_module(g)
        gx = xp.zeros(self.shape, dtype=g.dtype)
        target, index = gx, self.index
        if isinstance(index, Staged):
            target, index = gx[index.first], index.second  # a view into gx
        if self.advanced:  # repeated indices must accumulate, which plain assignment would not
            backend.scatter_add(target, index, g)
        else:
            target[index] = g
        return (gx,)

    def backward_graph(self, g):
        from .backward_ops import scatter
        return (scatter(g, self.shape, self.index, self.advanced),)


class Concatenate(Function):
    saves_inputs = saves_output = False

    def forward(self, *xs, axis):
        self.axis = axis
        self.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1].tolist()
        return backend.get_array_module(xs[0]).concatenate(xs, axis=axis)

    def backward(self, g):
        return tuple(backend.get_array_module(g).split(g, self.bounds, axis=self.axis))

    def backward_graph(self, g):
        edges, lead = [0] + self.bounds + [g.shape[self.axis]], (slice(None),) * self.axis
        return tuple(getitem(g, lead + (slice(lo, hi),)) for lo, hi in zip(edges[:-1], edges[1:]))


class Stack(Function):
    saves_inputs = saves_output = False

    def forward(self, *xs, axis):
        self.axis = axis
        return backend.get_array_module(xs[0]).stack(xs, axis=axis)

    def backward(self, g):
        n = g.shape[self.axis]
        return tuple(g.take(i, axis=self.axis) for i in range(n))

    def backward_graph(self, g):
        lead = (slice(None),) * self.axis
        return tuple(getitem(g, lead + (i,)) for i in range(g.shape[self.axis]))


class Where(Function):
    saves_inputs = saves_output = False

    def forward(self, a, b, cond):
        self.cond = cond
        return backend.get_array_module(a).where(cond, a, b)

    def backward(self, g):  # the gradient flows to the branch that was chosen
        xp = backend.get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        return xp.where(self.cond, g, zero), xp.where(self.cond, zero, g)

    def backward_graph(self, g):
        zero = as_tensor(0.0, g)
        return Where.apply(g, zero, cond=self.cond), Where.apply(zero, g, cond=self.cond)


class AsType(Function):
    saves_inputs = saves_output = False

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.in_dtype),)

    def backward_graph(self, g):
        return (astype(g, self.in_dtype),)


class ToDevice(Function):
    saves_inputs = saves_output = False

    def forward(self, x, device):
        self.src = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, g):
        return (backend.to_device(g, self.src),)

    def backward_graph(self, g):
        return (ToDevice.apply(g, device=self.src),)


def reshape(x: Tensor, shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    shape = tuple(int(n) for n in shape)
    try:
        out = share_storage(Reshape.apply(x, shape=shape), x)
    except ValueError:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
                         f"into shape {shape}") from None
    inherit_index_bounds(out, x)  # the same values: the same known range (integer ids only have one)
    return out


def permute(x: Tensor, axes) -> Tensor:
    """Reorder the axes: output axis i is input axis ``axes[i]``."""
    axes = tuple(axes)
    if len(axes) != x.ndim:
        raise ShapeError(f"permute: {axes} names {len(axes)} dims, the tensor of shape {x.shape} has {x.ndim}")
    for a in axes:  # PyTorch's rule: each dim in [-ndim, ndim), negative ones counting from the end
        if not -x.ndim <= a < x.ndim:
            raise DimError(f"permute: dim {a} is out of range [{-x.ndim}, {x.ndim - 1}] for shape {x.shape}")
    norm = tuple(int(a) % x.ndim for a in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape} "
                         f"(a dim is repeated)")
    return share_storage(Permute.apply(x, axes=norm), x)


def _check_axis(name, axis, ndim, shape):
    """``axis`` in [-ndim, ndim) as a non-negative int, or a ValueError naming the op."""
    if not -ndim <= axis < ndim:
        raise DimError(f"{name}: axis {axis} is out of range [{-ndim}, {ndim}) for input of shape {shape}")
    return int(axis) % ndim


def swapaxes(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes (PyTorch's ``transpose(dim0, dim1)``)."""
    dim0, dim1 = (_check_axis("transpose", d, x.ndim, x.shape) for d in (dim0, dim1))
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return share_storage(Permute.apply(x, axes=tuple(axes)), x)


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes (the last two by default)."""
    return swapaxes(x, dim0, dim1)


def index_data(index, x: Tensor):
    """``index`` with Tensor/list entries as arrays on x's device, in PyTorch's meaning.

    Returns (index, advanced). Where integers and index arrays are mixed, PyTorch selects
    the integers first (``x[1, :, [0, 1]]`` on (4, 5, 6) is (5, 2)) while NumPy counts them
    as index arrays (giving (2, 5)); such an index comes back as a two-step :class:`Staged`.
    """
    items = index if isinstance(index, tuple) else (index,)
    out, advanced, has_int = [], False, False
    xp = backend.get_array_module(x.data)
    for it in items:
        if type(it) is slice and it.step is not None and operator.index(it.step) <= 0:
            raise ValueError(f"step must be greater than zero (got the slice {it} of a tensor, as torch "
                             f"refuses it; x.flip(dim) reverses)")
        if isinstance(it, Tensor):
            if it.device != x.device:
                raise backend.DeviceError(f"getitem: index on {it.device}, tensor on {x.device}")
            it = it.data
        elif isinstance(it, (list, np.ndarray)):
            it = np.asarray(it)
            if xp is not np:
                it = xp.asarray(it)
        if hasattr(it, "dtype") and not isinstance(it, np.generic):
            if it.dtype.kind not in "iub":
                raise TypeError(f"getitem: index arrays must be integers, got {it.dtype}")
            if it.dtype == np.uint8:  # PyTorch reads uint8 as a (deprecated) mask, NumPy as indices
                raise TypeError("indexing with uint8 is ambiguous (a mask in PyTorch, indices in NumPy): "
                                "use a bool mask or int64 indices")
            if it.ndim == 0 and it.dtype.kind != "b":
                it = int(it)  # a 0-d index tensor selects as an integer does, as in PyTorch
            else:
                advanced = True
        if isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            has_int = True
        out.append(it)
    if advanced and has_int:
        return _staged(out, x.ndim), advanced
    if not advanced and not any(it is Ellipsis for it in out):
        out.append(Ellipsis)  # x[0] of a vector is then a 0-d view, as PyTorch's, not a NumPy scalar copy
        return tuple(out), advanced
    return (tuple(out) if isinstance(index, tuple) else out[0]), advanced


def _staged(items, ndim):
    """Split an index of integers and arrays into (integers and full slices, the rest)."""
    from .inplace import Staged
    consumed = sum(it.ndim if hasattr(it, "ndim") and it.dtype.kind == "b" else 1
                   for it in items if it is not None and it is not Ellipsis)
    expanded = []
    for it in items:
        expanded.extend([slice(None)] * (ndim - consumed) if it is Ellipsis else [it])
    first, second = [], []
    for it in expanded:
        if isinstance(it, (int, np.integer)):
            first.append(it)
            continue
        if it is not None:
            first.extend([slice(None)] * (it.ndim if hasattr(it, "ndim") and it.dtype.kind == "b" else 1))
        second.append(it)
    return Staged(tuple(first), tuple(second))


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with basic slices and integer-array gathers (repeated indices accumulate in backward).

    Integers mixed with index arrays follow PyTorch (the integers select first), not NumPy.
    A boolean mask (``x[x > 0]``, ``x[:, keep]``) selects where it is true, a copy, as in
    PyTorch (on a GPU its size is read from the device: one synchronisation).
    """
    index, advanced = index_data(index, x)
    if advanced and not _has_integer_array(index):
        advanced = False  # masks only: no element is read twice, so backward assigns, no scatter-add
    try:
        out = GetItem.apply(x, index=index, advanced=advanced)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {x.shape})") from None
    if not advanced:
        out = share_storage(out, x)
        if getattr(out, "_base", None) is not None:
            out._view_of = (x, index)  # an in-place change of the view is recorded on x as x[index] = ...
    inherit_index_bounds(out, x)  # a selection of x's values: x's known range holds for it
    return out


def _has_integer_array(index) -> bool:
    items = index.second if isinstance(index, Staged) else index
    items = items if isinstance(items, tuple) else (items,)
    return any(hasattr(it, "dtype") and it.dtype.kind in "iu" for it in items)


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (PyTorch's ``cat``).

    tensors: k tensors (..., n_i, ...) equal outside ``axis`` -> (..., sum n_i, ...).
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")  # torch's class too
    check_same_device("concatenate", tensors)
    tensors = _promoted(tensors)
    ref = tensors[0]
    ax = _check_axis("concatenate", axis, ref.ndim, ref.shape)
    for t in tensors[1:]:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape)) if i != ax):
            raise ShapeError(f"concatenate: shapes {ref.shape} and {t.shape} differ outside axis {axis}")
    out = Concatenate.apply(*tensors, axis=ax)
    inherit_index_bounds(out, *tensors)
    return out


cat = concatenate


def _promoted(tensors):
    """The tensors cast to their common dtype by torch's promotion (float32 with int32 is
    float32, not NumPy's float64), as torch.cat/stack do; the casts are differentiable."""
    dtype = tensors[0].dtype
    if all(t.dtype == dtype for t in tensors):
        return tensors
    for t in tensors[1:]:
        dtype = promote_types(dtype, t.dtype)
    return [astype(t, dtype) for t in tensors]


def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis.

    tensors: k tensors of shape S -> S with a new axis of size k inserted at ``axis``.
    """
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("stack: needs at least one tensor")
    check_same_device("stack", tensors)
    tensors = _promoted(tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: all tensors need the same shape, got {tensors[0].shape} and {t.shape}")
    return Stack.apply(*tensors, axis=_check_axis("stack", axis, tensors[0].ndim + 1, tensors[0].shape))


def split(x: Tensor, split_size_or_sections, axis: int = 0):
    """Split into chunks along ``axis``: of size ``split_size_or_sections`` (an int, the
    last chunk may be smaller), or of the listed sizes (which must add up), as PyTorch.

    x: (..., n, ...) -> a tuple of (..., n_i, ...) with sum n_i = n along ``axis`` (torch's tuple).
    """
    axis = _check_axis("split", axis, x.ndim, x.shape)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: chunk size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} add up to {sum(sizes)}, axis {axis} has size {n}")
    lead = (slice(None),) * (axis % x.ndim)
    out, start = [], 0
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(out)


def where(cond, a=None, b=None) -> Tensor:
    """Elementwise ``a`` where ``cond`` is true, else ``b`` (cond is not differentiated); ``a`` and
    ``b`` may both be numbers (the result then has cond's shape and their promoted dtype).
    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as torch."""
    if a is None or b is None:
        if a is None and b is None:
            from .indexing import nonzero
            return nonzero(cond, as_tuple=True)
        raise TypeError("where: give both a and b (or neither: where(cond) is nonzero(cond, as_tuple=True))")
    ref = a if isinstance(a, Tensor) else b
    if not isinstance(ref, Tensor):
        if not isinstance(cond, Tensor):
            raise TypeError("where: the condition or one of a and b must be a tensor")
        # two numbers: 0-d constants of their promoted dtype (floats: the default one), as torch
        dtype = result_type(a, b)
        a, b = scalar_tensor(a, dtype, cond), scalar_tensor(b, dtype, cond)
        ref = a
    a, b = promote_operands(a, b)  # PyTorch's promotion (minitf.ops.promotion)
    cond_data = cond.data if isinstance(cond, Tensor) else as_tensor(cond, ref).data
    if type(cond_data) is not type(ref.data):
        raise backend.DeviceError(f"where: condition on {backend.device_of(cond_data)}, values on {ref.device}")
    if cond_data.dtype.kind != "b":
        raise DtypeError(f"where: the condition must be boolean, got {cond_data.dtype}")
    try:
        return Where.apply(a, b, cond=cond_data)
    except ValueError:
        raise broadcast_error("where", cond_data.shape, a.shape, b.shape) from None


def masked_fill(x: Tensor, mask, value: float) -> Tensor:
    """``x`` with ``value`` wherever ``mask`` (boolean, broadcastable) is true."""
    return where(mask, as_tensor(value, x), x)


def astype(x: Tensor, dtype) -> Tensor:
    """Cast to another dtype (differentiable between floating dtypes)."""
    dtype = _check_dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind != "f":
        return Tensor._make(x.data.astype(dtype), None)
    return AsType.apply(x, dtype=dtype)
