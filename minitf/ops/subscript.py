"""Indexing: ``x[index]`` (GetItem) with PyTorch's meaning of mixed integer and array indices."""
from __future__ import annotations

import operator

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import inherit_index_bounds, share_storage
from .inplace import Staged, take


_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))   # index items that select without an array


def basic_index(index) -> bool:
    """Whether ``index`` (one item or a tuple) selects without an array: ints, slices, None, Ellipsis.
    A bool is not (an int to Python, but to torch a 0-d mask: ``x[True]`` is an IndexBackward0)."""
    return all(isinstance(it, _BASIC) and not isinstance(it, bool) for it in (index if type(index) is tuple else (index,)))


class GetItem(Function):
    __slots__ = ("index",)  # a slot, not the freed __dict__: grad_fn.name() reads it after backward
    saves_inputs = saves_output = False
    is_view = True

    @property
    def saves_tensors(self) -> bool:
        """A basic index's node (torch's SliceBackward0, SelectBackward0) keeps no tensor, so its
        backward can run again; one indexing with arrays (IndexBackward0: a mask too) keeps them.
        (Read at backward only, from the index slot: forward pays nothing.) An op built on an
        advanced index whose torch node keeps none (diag, repeat_interleave) sets it False."""
        return self.__dict__.get("_saves_tensors", self.advanced or not basic_index(self.index))

    @saves_tensors.setter
    def saves_tensors(self, value: bool):
        self.__dict__["_saves_tensors"] = value

    def forward(self, x, index, advanced):
        self.shape, self.dtype, self.index, self.advanced = x.shape, x.dtype, index, advanced
        return take(x, index)

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
    if getattr(index, "_vmap_batched", False):   # inside vmap: x[idx] with a batched idx
        from ..func.batching_fns import getitem as batched
        return batched(x, index)
    key = index
    index, advanced = index_data(index, x)
    if advanced and not _has_integer_array(index):
        advanced = False  # masks only: no element is read twice, so backward assigns, no scatter-add
    try:
        out = GetItem.apply(x, index=index, advanced=advanced)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {x.shape})") from None
    if isinstance(key, tuple) and out._fn is not None:
        from ..grad_fn_names import getitem_key_name
        name = getitem_key_name(key)
        if name is not None:
            out._fn._torch_name = name
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
