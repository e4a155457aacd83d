"""The scattered product: ``scatter_reduce(..., reduce="prod")`` and torch's older
``scatter(..., reduce="add" | "multiply")`` (with a tensor or a number as ``src``), with
torch's gradient of the product, zeros included.

The product is :func:`minitf.backend.scatter_multiply` (NumPy's ``multiply.at``; elsewhere a
sort and a segmented scan). Its gradient is torch's: to x, g * (the product with x's zeros
taken as 1) / (x with its zeros as 1), i.e. the product of the values scattered onto it (0 where
x was not included); to each src element, g * the product of everything else at its target,
read off the result divided by it, or, for the one zero at a target, recomputed with that zero
taken as 1 (two or more zeros at one target: every share is 0).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError
from ..tensor import Tensor


def _product(x, src, index, include_self, hit):
    out = x.copy()
    if not include_self:
        out[hit] = 1
    backend.scatter_multiply(out, index, src)
    return out


class ScatterProd(Function):
    """out = x (1 where an index lands, without include_self), times every src value scattered
    onto each position. ``index``: the advanced index of the target positions (src's shape);
    ``hit``: the positions some index names."""

    def forward(self, x, src, index, include_self, hit):
        self.x, self.src, self.index, self.include_self, self.hit = x, src, index, include_self, hit
        self.out = _product(x, src, index, include_self, hit)
        return self.out

    def _masks(self):
        xp = backend.get_array_module(self.x)
        src_zero = self.src == 0
        count = xp.zeros(self.x.shape, dtype=self.x.dtype)
        backend.scatter_add(count, self.index, src_zero.astype(self.x.dtype))
        n_zeros = count[self.index]
        return src_zero, src_zero & (n_zeros == 1), n_zeros

    def backward(self, g):
        xp = backend.get_array_module(g)
        one = self.x.dtype.type(1)
        x_zero = self.x == 0
        masked_x = xp.where(x_zero, one, self.x)
        g_x = g * _product(masked_x, self.src, self.index, self.include_self, self.hit) / masked_x
        if not self.include_self:
            g_x = xp.where(self.hit, g.dtype.type(0), g_x)
        src_zero, single, _ = self._masks()
        others = _product(self.x, xp.where(single, one, self.src), self.index, self.include_self, self.hit)
        g_src = xp.where(single, (g * others)[self.index], (g * self.out)[self.index] / xp.where(src_zero, one,
                                                                                                   self.src))
        return g_x, g_src

    def backward_graph(self, g):
        from .shape import GetItem, where
        x, src = self.inputs
        src_zero, single, n_zeros = self._masks()
        if (n_zeros > 1).any():
            raise RuntimeError("scatter_reduce(): Double backward is unsupported for src when >1 zeros in src are "
                               "scattered to the same position (as torch)")
        c = lambda a: Tensor._make(a, None)  # noqa: E731  (constant masks)
        params = dict(index=self.index, include_self=self.include_self, hit=self.hit)
        masked_x = where(c(self.x == 0), 1.0, x)
        g_x = g * ScatterProd.apply(masked_x, src, **params) / masked_x
        if not self.include_self:
            g_x = where(c(self.hit), 0.0, g_x)
        at = lambda t: GetItem.apply(t, index=self.index, advanced=True)  # noqa: E731
        others = ScatterProd.apply(x, where(c(single), 1.0, src), **params)
        out = ScatterProd.apply(x, src, **params)
        g_src = where(c(single), at(g * others), at(g * out) / where(c(src_zero), 1.0, src))
        return g_x, g_src


def scatter_prod(x: Tensor, src: Tensor, full, include_self: bool, hit) -> Tensor:
    """The product reduction of :func:`minitf.ops.index_ops.scatter_reduce` (its checks made)."""
    return ScatterProd.apply(x, src, index=full, include_self=bool(include_self), hit=hit)


def scatter_with_reduce(x: Tensor, dim: int, index: Tensor, src, reduce: str) -> Tensor:
    """torch.scatter(x, dim, index, src, reduce=...): "add" is scatter_reduce "sum", "multiply"
    its "prod", both including x's own values; ``src`` a tensor (index's corner of it is read)
    or a number (every indexed position). Differentiable (torch's is not)."""
    from .index_ops import scatter_reduce
    from .indexing import _src
    from ._util import warn_at_user_line
    if reduce not in ("add", "multiply"):
        raise ArgumentError(f"reduce argument must be either add or multiply, got {reduce!r}")
    if isinstance(src, Tensor):
        warn_at_user_line("The reduce argument of scatter with Tensor src is deprecated (as in torch, which will "
                          "remove it): use scatter_reduce instead, which has more reduction options.")
    else:
        # a number is cast to x's dtype first (2.7 into an int64 x adds 2), as torch's
        src = _src("scatter", x, index, src).to(x.dtype).expand(index.shape)
    return scatter_reduce(x, dim, index, src, "sum" if reduce == "add" else "prod", include_self=True)
