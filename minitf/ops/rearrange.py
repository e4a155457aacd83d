"""torch's rearranging and picking helpers: rot90, fliplr, flipud, unflatten, ravel,
narrow_copy, take, take_along_dim, cartesian_prod, combinations. Composed of differentiable
ops (flip, permute, reshape, gather, getitem), so gradients flow; the index sets of
``combinations`` depend on sizes only and are built on the host."""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from ..tensor import Tensor
from ..grad_fn_names import named
from ._util import check_dim
from ._util import is_int


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards the
    second, as torch.rot90. (..., a, ..., b, ...) -> the same shape (k even) or a and b swapped."""
    from .layout import flip
    from .shape import swapaxes
    dims = list(dims)
    if len(dims) != 2:
        raise ArgumentError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise ShapeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = check_dim("rot90", dims[0], input.ndim), check_dim("rot90", dims[1], input.ndim)
    if d0 == d1:
        raise ArgumentError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = int(k) % 4
    if k == 0:
        from .views import clone
        return named(clone(input), "Rot90Backward0", input)   # a copy, as torch's
    if k == 2:
        return named(flip(input, (d0, d1)), "Rot90Backward0", input)
    return named(swapaxes(flip(input, d1 if k == 1 else d0), d0, d1), "Rot90Backward0", input)


def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1 (left/right) of a tensor of at least 2 dims, as torch.fliplr (a copy)."""
    from .layout import flip
    if input.ndim < 2:
        raise ShapeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0 (up/down) of a tensor of at least 1 dim, as torch.flipud (a copy)."""
    from .layout import flip
    if input.ndim < 1:
        raise ShapeError("Input must be >= 1-d.")
    return flip(input, 0)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Dim ``dim`` split into ``sizes`` (one may be -1), as torch.unflatten: (N, 12) with dim 1,
    sizes (3, 4) -> (N, 3, 4). A view where reshape gives one."""
    from .shape import reshape
    if not isinstance(sizes, (tuple, list)) or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool)
                                                        for n in sizes):
        raise TypeError(f"unflatten: sizes must be a tuple or list of ints, got {sizes!r}")
    if not sizes:
        raise ArgumentError("unflatten: sizes must be non-empty")
    sizes = [int(n) for n in sizes]
    d = check_dim("unflatten", dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ArgumentError(f"unflatten: sizes {sizes} may hold one -1 and otherwise sizes >= 0")
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if known == 0 or n % known:
            raise ShapeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} ({n}) "
                             f"in the input tensor")
        sizes = [n // known if s == -1 else s for s in sizes]
    elif known != n:
        raise ShapeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} ({n}) "
                         f"in the input tensor")
    return reshape(input, input.shape[:d] + tuple(sizes) + input.shape[d + 1:])


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (n,), in row-major order, as torch.ravel (a view where possible)."""
    from .shape import reshape
    return reshape(input, (-1,))


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``narrow(input, dim, start, length)`` as a copy with its own storage, as torch.narrow_copy."""
    from .layout import narrow
    from .views import clone
    return clone(narrow(input, dim, start, length))


def _long_index(name, index, what="index"):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(index).__name__}")
    if index.dtype != np.int64:
        raise DtypeError(f"{name}: Expected a long tensor for {what}, but got {index.dtype}")


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of ``input`` seen as 1-D at ``index`` (int64, any shape; negative counts from
    the end), as torch.take. -> index's shape. Repeated indices accumulate in backward."""
    from .shape import getitem, reshape
    from ._util import check_same_device
    _long_index("take", index)
    check_same_device("take", [input, index])
    n = input.numel()
    if index.numel():
        lo, hi = (int(v) for v in backend.to_numpy(backend.get_array_module(index.data).stack(
            [index.data.min(), index.data.max()])))   # one read for both bounds
        bad = lo if lo < -n else hi if hi >= n else None
        if bad is not None:
            raise IndexRangeError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    if index.ndim == 0:  # a 0-d index would be a basic (view) index; take copies, as torch's
        return named(reshape(getitem(reshape(input, (-1,)), reshape(index, (1,))), ()), "TakeBackward0", input)
    return named(getitem(reshape(input, (-1,)), index), "TakeBackward0", input)


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """Values of ``input`` at ``indices`` (int64) along ``dim``, as torch.take_along_dim: the two
    broadcast against each other outside ``dim``, then ``gather``. ``dim=None``: of the
    flattened input, by the flattened indices ((n,) out). With ``dim``, a negative index counts
    from the end of ``dim`` (torch's wrap, once; then gather's range check); without, it is out
    of range, as torch's."""
    from .counting import broadcast_to
    from .indexing import gather
    from .shape import reshape
    _long_index("torch.take_along_dim()", indices, "indices")
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    if input.ndim != indices.ndim:
        raise ShapeError(f"torch.take_along_dim(): input and indices should have the same number of "
                         f"dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} "
                         f"dimensions for indices")
    d = check_dim("take_along_dim", dim, input.ndim)
    rest_in = input.shape[:d] + (1,) + input.shape[d + 1:]
    rest_ix = indices.shape[:d] + (1,) + indices.shape[d + 1:]
    try:
        common = np.broadcast_shapes(rest_in, rest_ix)
    except ValueError:
        from ..errors import broadcast_error
        raise broadcast_error("take_along_dim", input.shape, indices.shape) from None
    x_shape = common[:d] + (input.shape[d],) + common[d + 1:]
    i_shape = common[:d] + (indices.shape[d],) + common[d + 1:]
    x = input if input.shape == x_shape else broadcast_to(input, x_shape)
    xp = backend.get_array_module(indices.data)
    n = input.shape[d]
    indices = Tensor._make(xp.where(indices.data < 0, indices.data + n, indices.data), None)
    ix = indices if indices.shape == i_shape else broadcast_to(indices, i_shape)
    return gather(x, d, ix)   # GatherBackward0, as torch's


def cartesian_prod(*tensors) -> Tensor:
    """The Cartesian product of 1-D tensors as rows, as torch.cartesian_prod: (n_1,), ..., (n_k,)
    -> (n_1 ... n_k, k); one tensor comes back as it is (1-D)."""
    from .more_shapes import meshgrid
    from .joining import stack
    if not tensors:
        raise ArgumentError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim != 1:
            raise ShapeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-D tensor's elements as rows, in
    itertools.combinations order (``with_replacement``: combinations_with_replacement), as
    torch.combinations: (n,) -> (C, r); r = 0 gives an empty (0,) tensor, as torch's.
    Differentiable (a gather)."""
    from .shape import getitem
    if input.ndim != 1:
        raise ShapeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if not is_int(r):
        raise TypeError(f"combinations: r must be an int, got {type(r).__name__}")
    if r < 0:
        raise ArgumentError(f"Expect a non-negative number, but got {r}")
    if r == 0:  # torch's empty result records no graph
        return Tensor._make(input.data[:0].copy(), None)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    xp = backend.get_array_module(input.data)
    return getitem(input, Tensor._make(rows if xp is np else xp.asarray(rows), None))
