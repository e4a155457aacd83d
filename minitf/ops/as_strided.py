"""torch's ``as_strided`` family: a view of a tensor's storage at any size, element strides and
offset (``as_strided``, ``as_strided_``), its out-of-place write (``as_strided_scatter``) and
``Tensor.storage_offset``.

Strides and offsets are torch's: in elements (NumPy's ``strides`` are bytes: ``x.stride()`` is
``x.data.strides`` divided by the itemsize), the offset counted from the start of the storage,
the memory block the tensor's array lives in (:mod:`minitf.backend.storage`: the array that
owns the memory, which a getitem or transpose view shares, as torch's views share a storage).
So ``x[2:].storage_offset() == 2`` and ``x[2:].as_strided((2,), (1,), 0)`` reads ``x[0:2]``.
A view that would reach outside the storage is refused (torch's error), as are negative strides.

Differentiable as torch's: the gradient of ``y = x.as_strided(size, stride, offset)`` adds each
element of ``g`` into the storage place it was read from, then reads every element of ``x`` back
from its own place (divided by the number of x's elements sharing that place, where x is an
expanded view); overlapping windows of ``y`` add up.
"""
from __future__ import annotations

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..backend import storage
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from ._util import is_int, share_storage


def _positions(xp, shape, strides, offset):
    """The storage place of every element of the geometry, an int64 array of ``shape``."""
    pos = xp.full(tuple(shape), int(offset), dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        pos += (xp.arange(n, dtype=np.int64) * int(s)).reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos


class Geometry(tuple):
    """(shape, strides, offset) of a tensor in its storage, in elements."""

    @classmethod
    def of(cls, a):
        return cls((tuple(a.shape), tuple(b // a.itemsize for b in a.strides), storage.geometry(a)[0]))

    def positions(self, xp):
        return _positions(xp, *self)

    def overlaps(self) -> bool:
        """Whether two elements share a place (a stride 0 over a dim of size > 1, or overlapping windows)."""
        shape, strides, _ = self
        dims = sorted((s, n) for n, s in zip(shape, strides) if n > 1)
        if not dims or 0 in shape:
            return False
        reach = 0   # the largest place reached by the dims so far, from the first
        for s, n in dims:
            if s <= reach:
                return True
            reach += s * (n - 1)
        return False


def _move(g, src: Geometry, dst: Geometry, src_count: bool, dst_count: bool):
    """The linear map between two geometries of one storage: every element of ``g`` (laid out as
    ``src``) added into its place (divided by how many of src's elements share it, if
    ``src_count``), then each element of ``dst`` read from its place (divided likewise)."""
    xp = backend.get_array_module(g)
    ps, pd = src.positions(xp).reshape(-1), dst.positions(xp).reshape(-1)
    if ps.size == 0 or pd.size == 0:
        return xp.zeros(dst[0], dtype=g.dtype)
    lo, hi = min(_first(src), _first(dst)), max(_last(src), _last(dst)) + 1
    ps, pd = ps - lo, pd - lo
    flat = g.reshape(-1)
    if src_count:
        flat = flat / xp.bincount(ps, minlength=hi - lo)[ps].astype(g.dtype)
    buf = xp.zeros(hi - lo, dtype=g.dtype)
    backend.scatter_add(buf, ps, flat)
    out = buf[pd]
    if dst_count:
        out = out / xp.bincount(pd, minlength=hi - lo)[pd].astype(g.dtype)
    return out.reshape(dst[0])


def _first(geo: Geometry) -> int:
    """The lowest storage place the (non-empty) geometry reaches (below its offset only where a
    stride is negative: a NumPy array made so, which torch's views never are)."""
    shape, strides, offset = geo
    return offset + sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))


def _last(geo: Geometry) -> int:
    shape, strides, offset = geo
    return offset + sum(max(0, (n - 1) * s) for n, s in zip(shape, strides))


class Move(Function):
    """:func:`_move` as an op: as_strided's backward (for ``create_graph``); its adjoint is the
    move back, with the counts swapped."""
    saves_inputs = saves_output = False
    takes_complex = True   # a linear map with real (0/1) coefficients: its adjoint holds for complex

    def forward(self, g, src, dst, src_count, dst_count):
        self.args = (src, dst, src_count, dst_count)
        return _move(g, *self.args)

    def backward(self, gg):
        src, dst, sc, dc = self.args
        return (_move(gg, dst, src, dc, sc),)

    def backward_graph(self, gg):
        src, dst, sc, dc = self.args
        return (Move.apply(gg, src=dst, dst=src, src_count=dc, dst_count=sc),)


class AsStrided(Function):
    saves_inputs = saves_output = False
    takes_complex = True   # a linear map with real (0/1) coefficients: its adjoint holds for complex
    is_view = True

    def forward(self, x, geometry):
        self.geo, self.src = geometry, Geometry.of(x)
        return storage.view(x, *geometry)

    def backward(self, g):  # dx[i] = sum of g over the elements read from x[i]'s place / x's sharers
        return (_move(g, self.geo, self.src, False, self.src.overlaps()),)

    def backward_graph(self, g):
        return (Move.apply(g, src=self.geo, dst=self.src, src_count=False, dst_count=self.src.overlaps()),)


def _ints(name, what, values):
    values = tuple(values) if isinstance(values, (tuple, list)) or hasattr(values, "__len__") else (values,)
    if not all(is_int(v) for v in values):
        raise TypeError(f"{name}: {what} must be a tuple of ints, got {values!r}")
    return tuple(int(v) for v in values)


def check_geometry(name: str, x: Tensor, size, stride, storage_offset):
    """The (size, stride, offset) asked for, checked against x's storage as torch checks them."""
    size, stride = _ints(name, "size", size), _ints(name, "stride", stride)
    if len(size) != len(stride):
        raise ShapeError(f"{name}: mismatch in length of strides and shape ({len(size)} sizes, {len(stride)} strides)")
    if any(n < 0 for n in size):
        raise ShapeError(f"{name}: negative size in {list(size)}")
    if any(s < 0 for s in stride):
        raise ArgumentError(f"{name}: Negative strides are not supported at the moment, got strides: {list(stride)}")
    here, total = storage.geometry(x.data)
    offset = here if storage_offset is None else storage_offset
    if not is_int(offset):
        raise TypeError(f"{name}: storage_offset must be an int, got {type(offset).__name__}")
    if offset < 0:
        raise ArgumentError(f"{name}: invalid storage offset {offset}")
    need = 0 if 0 in size else int(offset) + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if need > total:
        item = x.data.itemsize
        raise ShapeError(f"{name}: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and itemsize "
                         f"{item} requiring a storage size of {need * item} are out of bounds for storage of size "
                         f"{total * item}")
    return Geometry((size, stride, int(offset)))


def as_strided(x: Tensor, size, stride, storage_offset=None) -> Tensor:
    """A view of x's storage with shape ``size``: element ``(i, j, ...)`` is storage place
    ``storage_offset + i*stride[0] + j*stride[1] + ...`` (elements; ``storage_offset`` defaults to
    x's own, ``x.storage_offset()``). x: any shape -> ``size``. Shares x's memory; differentiable
    (see the module docstring). Refuses a view outside the storage and negative strides."""
    geo = check_geometry("as_strided", x, size, stride, storage_offset)
    return share_storage(AsStrided.apply(x, geometry=geo), x)


def as_strided_(x: Tensor, size, stride, storage_offset=None) -> Tensor:
    """In place: x becomes ``x.as_strided(size, stride, storage_offset)`` (the same tensor, now
    that view of its storage). Recorded in a graph; refused on a leaf that requires grad."""
    geo = check_geometry("as_strided_", x, size, stride, storage_offset)
    if autograd._tls.grad_enabled and x.requires_grad:
        if x._fn is None:
            raise RuntimeError("as_strided_: a leaf Variable that requires grad is being used in an in-place "
                               "operation (change it under minitf.no_grad())")
        old = Tensor._make(x.data, x._fn)   # the tensor as it was, the new view's input
        out = AsStrided.apply(old, geometry=geo)
        x.data, x._fn = out.data, out._fn
    else:
        x.data = storage.view(x.data, *geo)
    autograd.bump_version(x)
    return x


def as_strided_scatter(x: Tensor, src: Tensor, size, stride, storage_offset=None) -> Tensor:
    """x with ``src`` written into the view ``x.as_strided(size, stride, storage_offset)``, out of
    place: x: any shape, src: ``size`` -> x's shape. Places are those of x's storage, as torch's
    (a place no element of x has is written nowhere). Differentiable in both: x's gradient is g
    outside the written places, src's g read at them. Overlapping views are refused (which write
    wins would be undefined)."""
    geo = check_geometry("as_strided_scatter", x, size, stride, storage_offset)
    if not isinstance(src, Tensor):
        raise TypeError(f"as_strided_scatter: src must be a Tensor, got {type(src).__name__}")
    if tuple(src.shape) != geo[0]:
        raise ShapeError(f"as_strided_scatter: expected src to have a size equal to the slice of self. src size = "
                         f"{list(src.shape)}, slice size = {list(geo[0])}")
    if geo.overlaps():
        raise ArgumentError("as_strided_scatter: the view overlaps itself (several of its elements share a "
                            "storage place), so the write is ambiguous")
    from ._util import check_same_device
    check_same_device("as_strided_scatter", [x, src])
    return AsStridedScatter.apply(x, src.to(dtype=x.dtype) if src.dtype != x.dtype else src, geometry=geo)


class AsStridedScatter(Function):
    """out = x with src at the places ``geometry`` names in x's storage laid out as ``xgeo`` (x's own
    by default; the backward passes it, its gradient being laid out as x was)."""
    saves_inputs = saves_output = False
    takes_complex = True   # a linear map with real (0/1) coefficients: its adjoint holds for complex

    def forward(self, x, src, geometry, xgeo=None):
        self.src_geo, self.geo = Geometry.of(x) if xgeo is None else xgeo, geometry
        return _scatter(x, src, self.src_geo, geometry)

    def backward(self, g):  # dx: g where no src element landed; dsrc: g read at the written places
        return _scatter(g, None, self.src_geo, self.geo, fill=True), _move(g, self.src_geo, self.geo, False, False)

    def backward_graph(self, g):  # linear in g: the same scatter (of zeros) and move, as recorded ops
        from ..creation import zeros
        zero = zeros(self.geo[0], dtype=g.dtype, device=g.device)
        return (AsStridedScatter.apply(g, zero, geometry=self.geo, xgeo=self.src_geo),
                Move.apply(g, src=self.src_geo, dst=self.geo, src_count=False, dst_count=False))


def _scatter(x, src, xgeo: Geometry, geo: Geometry, fill: bool = False):
    """x (laid out as ``xgeo``) with the places of ``geo`` replaced by src (or by zero, ``fill``)."""
    xp = backend.get_array_module(x)
    px, pv = xgeo.positions(xp).reshape(-1), geo.positions(xp).reshape(-1)
    if px.size == 0 or pv.size == 0:
        return x.copy()
    lo, hi = min(_first(xgeo), _first(geo)), max(_last(xgeo), _last(geo)) + 1
    buf = xp.zeros(hi - lo, dtype=x.dtype)
    written = xp.zeros(hi - lo, dtype=bool)
    buf[pv - lo] = 0 if fill else src.reshape(-1)
    written[pv - lo] = True
    flat = xp.where(written[px - lo], buf[px - lo], x.reshape(-1))
    return flat.reshape(x.shape)


def storage_offset(x: Tensor) -> int:
    """The element offset of x's first element in its storage (``x[2:].storage_offset() == 2``)."""
    return int(storage.geometry(x.data)[0])
