"""torch's ``native_*`` forms of the normalisations and of dropout: the result and what the
kernel keeps for its backward, as tuples (``torch.native_layer_norm`` ...).

    out, mean, rstd = mt.native_layer_norm(x, (C,), w, b, 1e-5)     # x (B, T, C): mean, rstd (B, T, 1)
    out, mask = mt.native_dropout(x, 0.1, True)                      # mask: bool, x's shape

The results are those of :func:`~minitf.functional.layer_norm`, ``batch_norm``, ``group_norm``
and ``dropout`` (the same ops, so the same gradients); the statistics are computed beside
them: rstd = 1 / sqrt(biased variance + eps). Which outputs carry a gradient is torch's:
layer_norm's and batch_norm's statistics none, group_norm's mean and rstd are differentiable.
"""
from __future__ import annotations

import math

from .. import backend
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from ._util import is_int


def _stats(x, axes):
    """The mean and the biased variance of the array x over ``axes``, kept as size-1 dims."""
    mean = x.mean(axis=axes, keepdims=True)
    return mean, ((x - mean) ** 2).mean(axis=axes, keepdims=True)


def native_layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """(out, mean, rstd), as ``torch.native_layer_norm``: out = ``F.layer_norm(input, normalized_shape,
    weight, bias, eps)``; mean and rstd over the trailing normalized dims, kept as size-1 dims
    ((*batch, 1, ..., 1)), with no gradient."""
    from .layer_normalization import layer_norm
    shape = (normalized_shape,) if is_int(normalized_shape) else tuple(normalized_shape)
    out = layer_norm(input, shape, weight, bias, eps)
    xp = backend.get_array_module(input.data)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    mean, var = _stats(input.data, axes)
    return out, Tensor._make(mean, None), Tensor._make(1 / xp.sqrt(var + eps), None)


def native_batch_norm(input: Tensor, weight, bias, running_mean, running_var, training: bool, momentum: float,
                      eps: float):
    """(out, save_mean, save_invstd), as ``torch.native_batch_norm``: out = ``F.batch_norm(input,
    running_mean, running_var, weight, bias, training, momentum, eps)`` (which updates the running
    statistics in training); in training the batch's per-channel mean and 1/sqrt(var + eps) (C,), with
    no gradient, in evaluation two empty (0,) tensors, as torch's."""
    from .batch_norm import batch_norm
    xp = backend.get_array_module(input.data)
    if training:
        mean, var = _stats(input.data, (0, *range(2, input.ndim)))
        saved = (Tensor._make(mean.reshape(-1), None), Tensor._make((1 / xp.sqrt(var + eps)).reshape(-1), None))
    else:
        saved = tuple(Tensor._make(xp.zeros(0, dtype=input.dtype), None) for _ in range(2))
    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return (out, *saved)


def native_group_norm(input: Tensor, weight, bias, N: int, C: int, HxW: int, group: int, eps: float):
    """(out, mean, rstd), as ``torch.native_group_norm``: out = ``F.group_norm(input, group, weight, bias,
    eps)`` for input (N, C, *spatial) with prod(spatial) = HxW; mean and rstd (N, group), recorded
    (differentiable, as torch's)."""
    from .batch_norm import group_norm
    if input.ndim < 2 or tuple(input.shape[:2]) != (N, C) or math.prod(input.shape[2:]) != HxW:
        raise ShapeError(f"native_group_norm: input of shape {input.shape} is not (N={N}, C={C}, *spatial) "
                         f"with {HxW} spatial elements")
    if not is_int(group) or group <= 0 or C % group:
        raise ArgumentError(f"native_group_norm: C={C} is not divisible by group={group}")
    out = group_norm(input, group, weight, bias, eps)
    xg = input.reshape((N, group, -1))
    mean = xg.mean(-1)
    d = xg - mean.reshape((N, group, 1))
    return out, mean, ((d * d).mean(-1) + eps) ** -0.5


def native_dropout(input: Tensor, p: float, train: bool | None):
    """(out, mask), as ``torch.native_dropout``: in training (``train`` True or None) mask (bool, input's
    shape) keeps each element with probability 1 - p and out = input * mask / (1 - p) (0 where
    p = 1), the draws of ``F.dropout``; with ``train=False`` out is a copy of input and mask all True."""
    from ..generator import resolve
    from .nn import Dropout
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"native_dropout: p must be a probability in [0, 1], got {p}")
    xp = backend.get_array_module(input.data)
    if train is False:
        return input.clone(), Tensor._make(xp.ones(input.shape, dtype=bool), None)
    if p == 1.0:
        mask = xp.zeros(input.shape, dtype=bool)
    else:
        mask = resolve(None, input.device, "native_dropout").random(input.shape, dtype=input.dtype) >= p
    scale = input.dtype.type(0.0 if p == 1.0 else 1.0 / (1.0 - p))
    return Dropout.apply(input, keep=mask * scale), Tensor._make(mask, None)
