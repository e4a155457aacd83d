"""Vector normalisation and similarity, as ``torch.nn.functional``'s: normalize, cosine_similarity."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import check_dim
from .arithmetic import div
from .pointwise import clamp
from .reduction import sum
from .statistics import norm
from .views import expand


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``, as ``torch.nn.functional.normalize`` (``out=`` is refused).

    input: any shape with a ``dim`` -> the same shape; each slice along ``dim`` gets unit p-norm
    (slices with norm below ``eps`` are divided by ``eps``, so zeros stay zeros).
    """
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported (minitf ops return new tensors)")
    if not isinstance(input, Tensor):
        raise TypeError(f"normalize: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "fc":   # (complex: x / ||x||, as torch)
        raise TypeError(f"normalize: input must be floating point, got dtype {input.dtype}")
    d = check_dim("normalize", dim, input.ndim)
    return div(input, clamp(norm(input, p=p, dim=d, keepdim=True), min=float(eps)))


class CosineSimilarity(Function):
    """s = sum_k (x1_k / c1) (x2_k / c2) along ``axis``, c_i = max(||x_i||, eps).

    As PyTorch 2.x, the clamp is not differentiated (it is applied under no_grad there): the
    gradient treats c_i as ||x_i||, which is the true derivative wherever ||x_i|| >= eps."""

    saves_output = False

    def forward(self, x1, x2, axis, eps):
        xp = backend.get_array_module(x1)
        x1, x2 = xp.broadcast_arrays(x1, x2)
        n1 = xp.sqrt((x1 * x1).sum(axis=axis, keepdims=True))
        n2 = xp.sqrt((x2 * x2).sum(axis=axis, keepdims=True))
        eps = x1.dtype.type(eps)
        c1, c2 = xp.maximum(n1, eps), xp.maximum(n2, eps)
        u1, u2 = x1 / c1, x2 / c2
        s = (u1 * u2).sum(axis=axis, keepdims=True)
        self.saved = (x1, x2, n1, n2, c1, c2, u1, u2, s)
        self.axis = axis
        return s.squeeze(axis)

    def backward(self, g):
        # dx1 = g / c1 (u2 - s x1 / n1), x1 / n1 taken as 0 where n1 = 0 (the norm's gradient
        # there, as PyTorch's); dx2 alike with the roles swapped
        xp = backend.get_array_module(g)
        x1, x2, n1, n2, c1, c2, u1, u2, s = self.saved
        G = xp.expand_dims(g, self.axis)

        def unit(x, n):
            return xp.where(n > 0, x / xp.where(n > 0, n, 1), 0).astype(x.dtype, copy=False)

        return G / c1 * (u2 - s * unit(x1, n1)), G / c2 * (u1 - s * unit(x2, n2))

    def backward_graph(self, g):
        from .composed import vjp   # (composed imports most op modules: imported when first needed)
        return vjp(_cosine_composed, self, g)


def _cosine_composed(x1, x2, axis, eps):
    """The forward in primitive ops, each clamp written as ||x|| + a constant: the value of
    max(||x||, eps) with the derivative of ||x||, PyTorch's no-grad clamp."""
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    out = None
    for x in (x1, x2):
        xb = x if x.shape == shape else expand(x, shape)
        n = norm(xb, dim=axis, keepdim=True)
        xp = backend.get_array_module(n.data)
        u = xb / (n + Tensor._make(xp.maximum(n.data, n.dtype.type(eps)) - n.data, None))
        out = u if out is None else out * u
    return sum(out, axis)


CosineSimilarity.composed = staticmethod(_cosine_composed)   # (forward AD runs it on duals: minitf/forward_rules.py)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine similarity along ``dim``, as ``torch.nn.functional.cosine_similarity`` (2.x):
    sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)), each norm clamped on its own.

    x1, x2: broadcastable float tensors -> their broadcast shape without ``dim``. Gradients as
    PyTorch's (the clamp is not differentiated; see :class:`CosineSimilarity`).
    """
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"cosine_similarity: {name} must be a Tensor, got {type(x).__name__}")
        if x.dtype.kind != "f":
            raise TypeError(f"cosine_similarity: {name} must be floating point, got dtype {x.dtype}")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 of shape {x1.shape} and x2 of shape {x2.shape} "
                         f"do not broadcast") from None
    if not shape:
        raise ValueError("cosine_similarity: the inputs must have at least one dimension, got 0-d tensors")
    d = check_dim("cosine_similarity", dim, len(shape))
    if x1.dtype != x2.dtype:
        x1, x2 = (x.to(dtype=np.result_type(x1.dtype, x2.dtype)) for x in (x1, x2))
    return CosineSimilarity.apply(x1, x2, axis=d, eps=float(eps))
