"""Rearranging elements under PyTorch's names: flip, roll, unbind, narrow, movedim, tile,
repeat_interleave, diag. Each is differentiable; those that are selections reuse getitem
(narrow and unbind are views, as torch's), the others are small Functions."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, keeps_no_tensor
from ..errors import ArgumentError, DimError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import check_dim, check_same_device
from ._util import is_int


def _dims(name: str, dims, ndim: int) -> tuple:
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(check_dim(name, d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: dims {dims} name a dim more than once")
    return out


class Flip(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, axes):
        self.axes = axes
        return backend.get_array_module(x).flip(x, axes).copy()  # a copy, as torch.flip

    def backward(self, g):  # a permutation of the elements: the same flip again
        return (backend.get_array_module(g).flip(g, self.axes),)

    def backward_graph(self, g):
        return (Flip.apply(g, axes=self.axes),)


class Roll(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return backend.get_array_module(x).roll(x, shifts, axes)

    def backward(self, g):  # rolled back
        return (backend.get_array_module(g).roll(g, tuple(-s for s in self.shifts), self.axes),)

    def backward_graph(self, g):
        return (Roll.apply(g, shifts=tuple(-s for s in self.shifts), axes=self.axes),)


def flip(x: Tensor, dims) -> Tensor:
    """``x`` with the order of the elements reversed along ``dims`` (int or tuple): a copy, as
    torch.flip. x: any shape -> the same shape."""
    axes = _dims("flip", dims, x.ndim)
    if x.ndim == 0 or not axes:
        from ..grad_fn_names import named_copy
        return named_copy(x, "FlipBackward0")
    return Flip.apply(x, axes=axes)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """The elements shifted by ``shifts`` along ``dims``, wrapping round, as torch.roll; with
    ``dims=None`` the flattened tensor is rolled and the shape restored. Ints or equal-length
    tuples; a dim named twice is rolled by the sum of its shifts, as torch."""
    tup = not isinstance(shifts, (int, np.integer))
    shifts = tuple(int(s) for s in shifts) if tup else (int(shifts),)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: with dims=None, shifts must be one int, got {shifts}")
        from ..grad_fn_names import named, named_copy
        if x.ndim == 0:
            return named_copy(x, "RollBackward0")
        return named(Roll.apply(x.reshape(-1), shifts=shifts, axes=(0,)).reshape(x.shape), "RollBackward0", x)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(dims) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    if x.ndim == 0:   # (torch's IndexError: a 0-d tensor has no dim to roll along)
        raise DimError(f"roll: dims {dims} given but the tensor has no dimensions (0-d); roll(x, shifts) "
                       f"without dims returns it as it is")
    total = {}  # a dim named twice is rolled by the sum of its shifts, as torch
    for d, s in zip(dims, shifts):
        a = check_dim("roll", d, x.ndim)
        total[a] = total.get(a, 0) + s
    return Roll.apply(x, shifts=tuple(total.values()), axes=tuple(total))


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, as a tuple of views, as torch.unbind.
    x: (..., d, ...) -> d tensors of x's shape without ``dim``."""
    if x.ndim == 0:
        raise ValueError("unbind: a 0-d tensor has no dim to unbind")
    d = check_dim("unbind", dim, x.ndim)
    from ..grad_fn_names import named
    from ..view_rebase import note_multi_output   # views torch forbids changing in place
    return note_multi_output(named(tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d])),
                                   "UnbindBackward0", x), "Unbind")


def _int_arg(v, name: str) -> int:
    """An int, or a 0-d integer tensor's value (read on the host, as torch's narrow)."""
    if isinstance(v, Tensor):
        if v.ndim or v.dtype.kind not in "iu":
            raise TypeError(f"narrow: {name} must be an int or a 0-d integer tensor, got shape {v.shape}, "
                            f"dtype {v.dtype}")
        return int(v.item())
    if not is_int(v):
        raise TypeError(f"narrow: {name} must be an int, got {type(v).__name__}")
    return int(v)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view of ``length`` entries from ``start`` along ``dim`` (start may be negative; an
    int or a 0-d integer tensor, as length), as torch.narrow. x: (..., d, ...) -> (..., length, ...)."""
    if x.ndim == 0:
        raise ValueError("narrow: needs a tensor of at least 1 dim")
    d = check_dim("narrow", dim, x.ndim)
    n = x.shape[d]
    start, length = _int_arg(start, "start"), _int_arg(length, "length")
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range [{-n}, {n}] for dim {dim} of size {n}")
    start = start % n if start < 0 else start
    if length < 0 or start + length > n:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of size {n}")
    return x[(slice(None),) * d + (slice(start, start + length),)]


def movedim(x: Tensor, source, destination) -> Tensor:
    """Dims ``source`` moved to positions ``destination`` (ints or equal-length tuples), the
    others keeping their order, as torch.movedim. A permutation: a view."""
    from .shape import permute
    src = _dims("movedim", source, x.ndim)
    dst = _dims("movedim", destination, x.ndim)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have the same length")
    order = [i for i in range(x.ndim) if i not in src]
    for s, t in sorted(zip(dst, src)):
        order.insert(s, t)
    return permute(x, tuple(order))


def tile(x: Tensor, dims) -> Tensor:
    """``x`` repeated ``dims[i]`` times along each dim, as torch.tile: fewer entries than
    x's dims are padded with 1s in front, more add leading dims."""
    from .views import repeat
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def repeat_interleave(x: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Each entry of x repeated in place along ``dim`` (of the flattened tensor if None), as
    torch.repeat_interleave: ``repeats`` an int, [a, b] -> [a, a, b, b], or an integer tensor
    (r,) of one count per entry along dim (a 0-d or one-element tensor serves every entry):
    [a, b] with [1, 2] -> [a, b, b]. ``repeat_interleave(r)`` alone is arange(len(r)) so repeated.
    ``output_size``, the result's length along dim, is checked against the counts' sum."""
    from .shape import GetItem
    if repeats is None:   # torch.repeat_interleave(repeats): the indices 0..n-1, each repeats[i] times
        if x.ndim != 1:
            raise ShapeError(f"repeat_interleave: repeats alone must be a 1-D tensor, got shape {x.shape}")
        counts, total = _repeat_counts(x, x.shape[0], output_size)
        return Tensor._make(_repeated_indices(counts, total).astype(x.dtype, copy=False), None)
    if dim is None:
        x, d = x.reshape(-1), 0
    elif x.ndim == 0:  # torch too: only dim=None flattens a 0-d tensor
        raise IndexError(f"repeat_interleave: a 0-d tensor has no dim {dim}; pass dim=None")
    else:
        d = check_dim("repeat_interleave", dim, x.ndim)
    xp = backend.get_array_module(x.data)
    at = (slice(None),) * d
    if isinstance(repeats, Tensor):   # torch: index_select with the repeated indices (it keeps them)
        check_same_device("repeat_interleave", [x, repeats])
        idx = _repeated_indices(*_repeat_counts(repeats, x.shape[d], output_size))
        return GetItem.apply(x, index=at + (idx,), advanced=True)
    if not is_int(repeats):
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, "
                        f"got {type(repeats).__name__}")
    if repeats < 0:
        raise ArgumentError(f"repeat_interleave: repeats can not be negative, got {repeats}")
    if output_size is not None and output_size != x.shape[d] * repeats:
        raise ArgumentError(f"repeat_interleave: output_size={output_size} but the result has "
                         f"{x.shape[d] * repeats} entries along dim {d}")
    idx = xp.repeat(xp.arange(x.shape[d]), int(repeats))
    # (torch's RepeatInterleaveBackward keeps the repeats as a number)
    return keeps_no_tensor(GetItem.apply(x, index=at + (idx,), advanced=True))


def _repeat_counts(repeats: Tensor, n: int, output_size):
    """The counts (n,) of a repeats tensor, checked as torch checks them, and their total (one
    device read: the smallest count and the sum)."""
    if repeats.dtype not in (np.int32, np.int64):   # torch's kernel has these two only
        raise DtypeNotImplemented(f"repeat_interleave: repeats must be an int64 or int32 tensor, got {repeats.dtype}")
    if repeats.ndim > 1:
        raise ShapeError(f"repeat_interleave: repeats must be 0-dim or 1-dim tensor, got shape {repeats.shape}")
    counts = repeats.data.reshape(-1)
    xp = backend.get_array_module(counts)
    if counts.size == 1:
        counts = xp.broadcast_to(counts, (n,))
    elif counts.size != n:
        raise ShapeError(f"repeat_interleave: repeats must have the same size as input along dim, but "
                         f"got repeats.size(0) = {counts.size} and input.size(0) = {n}")
    if n:
        low, total = (int(v) for v in backend.to_numpy(xp.stack([counts.min(), counts.sum()])))
        if low < 0:
            raise ArgumentError("repeat_interleave: repeats can not be negative")
    else:
        total = 0
    if output_size is not None and output_size != total:
        raise ArgumentError(f"repeat_interleave: output_size={output_size} but the repeats add up to {total}")
    return counts, total


def _repeated_indices(counts, total: int):
    """[0]*counts[0] + [1]*counts[1] + ... (total,): position i lands on the entry whose running
    total first exceeds i (a search, the same on NumPy and CuPy)."""
    xp = backend.get_array_module(counts)
    ends = xp.cumsum(counts.astype(np.int64, copy=False))
    return xp.searchsorted(ends, xp.arange(total), side="right")


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """1-D x (n,): the (n + |k|, n + |k|) matrix with x on diagonal k (0 elsewhere); 2-D x:
    its diagonal k as a 1-D tensor, as torch.diag. Differentiable."""
    from .inplace import IndexPut
    from .shape import GetItem
    if not is_int(diagonal):
        raise TypeError(f"diag: diagonal must be an int, got {type(diagonal).__name__}")
    k = int(diagonal)
    xp = backend.get_array_module(x.data)
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        i = xp.arange(x.shape[0])
        rows, cols = (i, i + k) if k >= 0 else (i - k, i)
        zeros = Tensor._make(xp.zeros((n, n), dtype=x.dtype), None)
        return keeps_no_tensor(IndexPut.apply(zeros, x, index=(rows, cols)))   # (torch's DiagBackward0: sizes only)
    if x.ndim == 2:
        r, c = x.shape
        m = max(0, min(r, c - k) if k >= 0 else min(r + k, c))
        i = xp.arange(m)
        rows, cols = (i, i + k) if k >= 0 else (i - k, i)
        return keeps_no_tensor(GetItem.apply(x, index=(rows, cols), advanced=True))
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")
