"""LayerNorm over the trailing dimensions, with its analytic backward:
y = (x - mean) / sqrt(var + eps) * w + b, rows of the last axis (several trailing dims flattened
into one). ``layer_norm`` has PyTorch's signature; :class:`LayerNorm` is the fused op."""
from __future__ import annotations

import numpy as np

from ..errors import DtypeNotImplemented
from .. import backend
from ..backend.fused import kernels_for
from ..autograd import Function
from ..tensor import Tensor
from ._util import check_same_dtype
from .rows import row_mean


# elements per thread below which a row-wise kernel runs in one call: smaller blocks
# lose more to handing the GIL between threads than they gain from the second core
_MIN_ELEMENTS = 65536


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last axis."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, *wb, eps, has_weight, has_bias):
        xp = backend.get_array_module(x)
        C = x.shape[-1]
        x2 = x.reshape(-1, C)
        w = wb[0] if has_weight else None
        b = wb[-1] if has_bias else None
        self.has_weight, self.has_bias, self.w = has_weight, has_bias, w
        self.fused = kernels_for(xp, x2, *wb) if C else None
        if self.fused is not None:   # the GPU: one kernel (minitf/backend/fused.py)
            y, self.xhat, self.rstd = self.fused.layer_norm_rows(xp.ascontiguousarray(x2), w, b, eps)
            return y.reshape(x.shape)
        xhat, y = xp.empty_like(x2), xp.empty_like(x2)
        rstd = xp.empty((x2.shape[0], 1), dtype=x.dtype)

        def kernel(lo, hi):  # rows lo..hi, each normalised on its own
            xs, hs, rs, ys = x2[lo:hi], xhat[lo:hi], rstd[lo:hi], y[lo:hi]
            xp.subtract(xs, row_mean(xp, xs), out=hs)
            rs[:, 0] = xp.einsum("nc,nc->n", hs, hs)  # one pass, no (x - mu)^2 temporary
            rs /= C
            rs += eps
            xp.sqrt(rs, out=rs)
            xp.divide(1, rs, out=rs)
            hs *= rs
            # without a bias, + 0 all the same: an exact zero comes out +0 (x = -0, a zero mean, a
            # negative weight), as torch's, whose kernel always ends in an addition
            if w is not None:
                xp.multiply(hs, w, out=ys)
                ys += b if b is not None else 0
            else:
                xp.add(hs, b if b is not None else 0, out=ys)

        backend.parallel_rows(xp, kernel, x2.shape[0], _MIN_ELEMENTS // C)
        self.xhat, self.rstd = xhat, rstd
        return y.reshape(x.shape)

    def backward(self, g):
        # dxhat = g w;  dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
        xp = backend.get_array_module(g)
        xhat, rstd, w = self.xhat, self.rstd, self.w
        C = xhat.shape[-1]
        g2 = g.reshape(-1, C)
        if self.fused is not None and self.fused.supports(g2, xhat):   # forward's choice: its xhat is C-ordered
            dx = self.fused.layer_norm_rows_backward(xp.ascontiguousarray(g2), xhat, w, rstd)
        else:
            dx = self._backward_rows(xp, g2, xhat, w, rstd)
        grads = [dx.reshape(g.shape)]
        if self.has_weight:
            grads.append(xp.einsum("nc,nc->c", g2, xhat))  # dw = sum over rows of g xhat
        if self.has_bias:
            grads.append(xp.ones(g2.shape[0], dtype=g2.dtype) @ g2)  # db = sum over rows of g
        return tuple(grads)

    @staticmethod
    def _backward_rows(xp, g2, xhat, w, rstd):
        C = xhat.shape[-1]
        dx = xp.empty_like(xhat)

        def kernel(lo, hi):
            gs, hs, ds = g2[lo:hi], xhat[lo:hi], dx[lo:hi]
            dxhat = gs * w if w is not None else gs
            mean_dxhat = row_mean(xp, dxhat)
            mean_dxhat_xhat = xp.einsum("nc,nc->n", dxhat, hs)[:, None]
            mean_dxhat_xhat /= C
            xp.multiply(hs, mean_dxhat_xhat, out=ds)
            xp.subtract(dxhat, ds, out=ds)
            ds -= mean_dxhat
            ds *= rstd[lo:hi]

        backend.parallel_rows(xp, kernel, g2.shape[0], _MIN_ELEMENTS // C)
        return dx


class _LastDim:
    """The default of ``layer_norm``'s normalized_shape: the input's last dimension."""

    def __repr__(self):
        return "<the last dimension>"


_LAST_DIM = _LastDim()


def layer_norm(x: Tensor, normalized_shape=_LAST_DIM, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions, then scale by ``weight`` and shift by ``bias``.

    PyTorch's signature, ``layer_norm(x, normalized_shape, weight, bias, eps)``:
    normalized_shape is an int or a tuple of the last dims of x; weight, bias
    have that shape (or are None). x: (..., *normalized_shape) -> the same shape.
    Without normalized_shape it is the last dimension. The earlier minitf form
    ``layer_norm(x, weight, bias, eps)``, normalising over the last axis, still
    works: a Tensor (or None) in second place is taken as the weight. Fused, analytic backward; several trailing dims are
    flattened into one row each.
    """
    if normalized_shape is _LAST_DIM:
        normalized_shape = x.shape[-1:]
    elif normalized_shape is None or isinstance(normalized_shape, Tensor):
        # the earlier minitf form layer_norm(x, weight, bias, eps): the arguments sit one place left
        old_weight, old_bias, third = normalized_shape, weight, bias
        if isinstance(third, Tensor):           # layer_norm(x, w, bias=b)
            if old_bias is not None:
                raise TypeError("layer_norm: got two biases (use layer_norm(x, normalized_shape, weight, bias))")
            old_bias = third
        elif third is not None:                 # layer_norm(x, w, b, eps)
            eps = third
        weight, bias = old_weight, old_bias
        normalized_shape = x.shape[-1:]
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise ValueError(f"layer_norm: normalized_shape must be an int or a non-empty tuple of ints, "
                         f"got {normalized_shape!r}")
    shape = tuple(int(n) for n in shape)
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(f"layer_norm: normalized_shape={shape} needs an input of shape (*, "
                         f"{', '.join(map(str, shape))}), got {x.shape}")
    if not isinstance(eps, (int, float, np.floating, np.integer)) or isinstance(eps, bool) or not eps >= 0:
        raise ValueError(f"layer_norm: eps must be a non-negative number, got {eps!r}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ValueError(f"layer_norm: {name} has shape {p.shape}, expected {shape} for input {x.shape}")
    if not isinstance(x, Tensor):
        raise TypeError(f"layer_norm: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f" and weight is None and bias is None:   # (with a float weight: torch's mixed-dtype error)
        raise DtypeNotImplemented(f"layer_norm: not implemented for {x.dtype} inputs: the input must be floating "
                                  f"point (as torch)")
    check_same_dtype("layer_norm", input=x, weight=weight, bias=bias)
    if len(shape) > 1:  # several trailing dims: one row of prod(shape) each, then back
        C = int(np.prod(shape))
        flat = [None if p is None else p.reshape((C,)) for p in (weight, bias)]
        return layer_norm(x.reshape(x.shape[:x.ndim - len(shape)] + (C,)), (C,), *flat, eps).reshape(x.shape)
    extra = [p for p in (weight, bias) if p is not None]
    return LayerNorm.apply(x, *extra, eps=float(eps), has_weight=weight is not None, has_bias=bias is not None)
