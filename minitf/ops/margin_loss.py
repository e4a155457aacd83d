"""Margin, ranking and embedding losses, as ``torch.nn.functional``'s, and pairwise_distance.

Each loss is written in recorded, differentiable ops (clamp, relu, softplus, norm, where, ...),
so its gradient (and second derivative) is the ops' own; targets enter as constants. With
[z]+ = max(z, 0) and y the target:

    margin_ranking:       [-y (x1 - x2) + margin]+
    hinge_embedding:      x where y = 1, [margin - x]+ where y = -1 (torch sums both for other y)
    soft_margin:          log(1 + exp(-y x))                        (softplus, stable)
    multilabel_soft:      mean_c -(y_c log sigma(x_c) + (1 - y_c) log sigma(-x_c)) w_c
    multilabel_margin:    sum_{j in y} sum_{i not in y} [1 - (x_j - x_i)]+ / C
    multi_margin:         sum_{i != y} w_y [margin - x_y + x_i]+^p / C
    cosine_embedding:     1 - cos(x1, x2) where y = 1, [cos(x1, x2) - margin]+ where y = -1
    triplet_margin:       [margin + d(a, p) - d(a, n)]+,  d = pairwise_distance

At a kink torch's gradient conventions are kept: clamp's (1 at the bound) where torch uses
clamp_min, relu's (0 at 0) where torch's kernels test z > 0 (multi_margin, multilabel_margin).
``reduction`` is 'mean', 'sum' or 'none'; the deprecated ``size_average`` / ``reduce`` map to it
with torch's warning.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import is_grad_enabled
from ..errors import ArgumentError, IndexRangeError, ShapeError
from ..tensor import Tensor
from ._util import check_same_dtype, differentiable
from .activation import Softplus, logsigmoid

from .elementwise import relu, sqrt
from .indexing import gather
from .loss import _check_reduction
from .pointwise import clamp, minimum
from .pointwise_loss import _const, _operands, _reduce, legacy_reduction
from .reduction import sum
from .shape import Where
from .statistics import norm

_INF = float("inf")


def _reduction(name, size_average, reduce, reduction):
    return _check_reduction(name, legacy_reduction(name, size_average, reduce, reduction))


def _zero(like: Tensor) -> Tensor:
    return Tensor._make(backend.get_array_module(like.data).zeros((), dtype=like.dtype), None)


def _int_target(name, target, like: Tensor, shape):
    """Class indices as a device array of ``shape`` (a Tensor on like's device, or host data)."""
    if isinstance(target, Tensor):
        if type(target.data) is not type(like.data):
            raise backend.DeviceError(f"{name}: input on {like.device}, target on {target.device}")
        t = target.data
    else:
        t = backend.to_device(np.asarray(target), like.device)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must be integer class indices, got dtype {t.dtype}")
    if tuple(t.shape) != tuple(shape):
        raise ShapeError(f"{name}: input of shape {like.shape} needs target of shape {tuple(shape)}, "
                         f"got {tuple(t.shape)}")
    return t


def margin_ranking_loss(input1: Tensor, input2: Tensor, target, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin), as ``torch.nn.functional.margin_ranking_loss``: y = 1 means x1
    should rank higher than x2, y = -1 the opposite.

    input1, input2, target: the same number of dims (broadcasting), e.g. (N,) -> (N,) with 'none'.
    """
    name = "margin_ranking_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input1, input2 = _operands(name, input1, input2)
    _, target = _operands(name, input1, target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(f"{name}: all input tensors should have the same number of dims, got input1 "
                         f"{input1.shape}, input2 {input2.shape}, target {target.shape}")
    return _reduce(clamp(-target * (input1 - input2) + float(margin), min=0.0), reduction)


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1, as ``torch.nn.functional.hinge_embedding_loss``
    (x typically a distance); for other values of y the two terms are added, as torch does.

    input, target: broadcastable, e.g. (N, D) -> (N, D) with 'none'.
    """
    name = "hinge_embedding_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input, target = _operands(name, input, target)
    shape = np.broadcast_shapes(input.shape, target.shape)
    xp = backend.get_array_module(input.data)
    t = xp.broadcast_to(target.data, shape)
    x = input if input.shape == shape else input.expand(shape)
    zero = _zero(input)
    loss = (Where.apply(clamp(float(margin) - x, min=0.0), zero, cond=t != 1)
            + Where.apply(x, zero, cond=t != -1))
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for labels y = +-1, as ``torch.nn.functional.soft_margin_loss``; computed as
    softplus(-y x), finite for every finite input. input, target: the same shape (broadcastable)."""
    name = "soft_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input, target = _operands(name, input, target)
    if target.dtype != input.dtype:   # torch's kernel computes in the input's dtype
        target = Tensor._make(target.data.astype(input.dtype), None) if not differentiable(target) \
            else target.to(input.dtype)
    return _reduce(Softplus.apply(-target * input, beta=1.0, threshold=_INF), reduction)


def multilabel_soft_margin_loss(input: Tensor, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """-(y log sigma(x) + (1 - y) log sigma(-x)) w, averaged over the classes (the last dim), as
    ``torch.nn.functional.multilabel_soft_margin_loss``.

    input: (N, C) or (C,) logits; target: the same shape, 0/1 labels (or probabilities);
    weight: broadcastable to (C,) or None. 'none' gives (N,).
    """
    name = "multilabel_soft_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input, target = _operands(name, input, target)
    if input.ndim == 0:
        raise ShapeError(f"{name}: input must have a class dim (N, C) or (C,), got a 0-d tensor")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        _, w = _operands(name, input, weight)
        loss = loss * w
    return _reduce(sum(loss, -1) / input.shape[-1], reduction)


def multilabel_margin_loss(input: Tensor, target, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """sum over target classes j and non-target classes i of max(0, 1 - (x_j - x_i)), divided by C,
    as ``torch.nn.functional.multilabel_margin_loss``.

    input: (N, C) or (C,); target: integers of the same shape, each row's target classes first,
    ended by -1 (what follows the first -1 is ignored; a class listed twice counts twice, as torch).
    'none' gives (N,) (or () for 1-D input).
    """
    name = "multilabel_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input, _ = _operands(name, input, 0)
    if input.ndim not in (1, 2):
        raise ShapeError(f"{name}: expected a (C,) or (N, C) input, got shape {input.shape}")
    t = _int_target(name, target, input, input.shape)
    x = input if input.ndim == 2 else input.reshape((1, -1))
    t = t.reshape(x.shape)
    N, C = x.shape
    xp = backend.get_array_module(x.data)
    valid = xp.cumsum(t == -1, axis=1) == 0                              # before each row's first -1
    K = 0                                                                # the longest row of targets
    if t.size:
        lo, hi, K = (int(v) for v in backend.to_numpy(xp.stack([t.min(), t.max(), valid.sum(axis=1).max()])))
        if lo < -1 or hi >= C:
            raise IndexRangeError(f"{name}: target values must be class indices in [0, {C}) or -1 (the end "
                                  f"of a row's targets), got values in [{lo}, {hi}]")
    # Pairs (j, i) as (N, K, C) over each row's K target slots, not (N, C, C) over all class pairs:
    # the memory is N K C, and a class listed twice has two slots, so it counts twice (torch's rule).
    slot_ok = valid[:, :K]
    slots = xp.where(slot_ok, t[:, :K], 0)
    is_target = xp.zeros((N, C + 1), dtype=bool)                          # column C takes the unused slots
    is_target[xp.arange(N)[:, None], xp.where(slot_ok, slots, C)] = True
    pair_w = (slot_ok[:, :, None] & ~is_target[:, None, :C]).astype(x.dtype)     # j a target slot, i not
    x_j = gather(x, 1, _const(slots.astype(np.int64)))                               # (N, K)
    z = 1.0 - x_j.unsqueeze(2) + x.unsqueeze(1)                                     # z[n, k, i]
    loss = sum(relu(z) * _const(pair_w), (1, 2)) / C
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction)


def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                      reduce=None, reduction: str = "mean") -> Tensor:
    """sum over i != y of w_y max(0, margin - x_y + x_i)^p, divided by C, as
    ``torch.nn.functional.multi_margin_loss`` (the multi-class hinge loss).

    input: (N, C) or (C,); target: (N,) or () class indices; p: 1 or 2; weight: (C,) or None.
    'none' gives (N,) (or ()).
    """
    name = "multi_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"{name}: only p == 1 and p == 2 are supported, got {p}")
    input, _ = _operands(name, input, 0)
    if input.ndim not in (1, 2) or input.shape[-1] == 0:
        raise ShapeError(f"{name}: expected a non-empty (C,) or (N, C) input, got shape {input.shape}")
    x = input if input.ndim == 2 else input.reshape((1, -1))
    N, C = x.shape
    t = _int_target(name, target, input, input.shape[:-1]).reshape(N)
    xp = backend.get_array_module(x.data)
    if t.size:
        lo, hi = (int(v) for v in backend.to_numpy(xp.stack([t.min(), t.max()])))
        if lo < 0 or hi >= C:
            raise IndexRangeError(f"{name}: target values must be class indices in [0, {C}), got values in "
                                  f"[{lo}, {hi}]")
    x_y = gather(x, 1, _const(t.reshape(N, 1).astype(np.int64)))                   # (N, 1)
    h = relu(float(margin) - x_y + x)
    if p == 2:
        h = h * h
    coef = (xp.arange(C) != t[:, None]).astype(x.dtype)                             # i != y
    if weight is not None:
        if isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled():
            raise ArgumentError(f"{name}: not differentiable with respect to weight (as torch's); pass "
                                f"weight.detach() or call it under no_grad")
        _, w = _operands(name, input, weight)
        check_same_dtype(name, input=input, weight=w)   # torch's kernel: "expected scalar type ..."
        if w.ndim != 1 or w.shape[0] != C:
            raise ShapeError(f"{name}: weight must be one-dimensional with {C} elements, got shape {w.shape}")
        coef = coef * w.data[t][:, None]   # w_y, a constant (torch does not differentiate the weight)
    loss = sum(h * _const(coef), 1) / C
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, as
    ``torch.nn.functional.cosine_embedding_loss`` (cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)),
    torch's form).

    input1, input2: (N, D) with target (N,), or (D,) with target (). 'none' gives (N,) (or ()).
    """
    name = "cosine_embedding_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input1, input2 = _operands(name, input1, input2)
    _, target = _operands(name, input1, target)
    if target.ndim not in (0, 1):
        raise ShapeError(f"{name}: 0D or 1D target tensor expected, multi-target not supported "
                         f"(got shape {target.shape})")
    want = target.ndim + 1
    if input1.ndim != want or input2.ndim != want:
        raise ShapeError(f"{name}: {target.ndim}D target tensor expects {want}D input tensors, but found inputs "
                         f"with sizes {input1.shape} and {input2.shape}")
    d = target.ndim
    eps = 1e-12
    prod = sum(input1 * input2, d)
    denom = sqrt((sum(input1 * input1, d) + eps) * (sum(input2 * input2, d) + eps))
    cos = prod / denom
    shape = np.broadcast_shapes(cos.shape, target.shape)
    xp = backend.get_array_module(cos.data)
    t = xp.broadcast_to(target.data, shape)
    cos = cos if cos.shape == shape else cos.expand(shape)
    zero = _zero(cos)
    loss = (Where.apply(1.0 - cos, zero, cond=t == 1)
            + Where.apply(clamp(cos - float(margin), min=0.0), zero, cond=t == -1))
    return _reduce(loss, reduction)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim, as ``torch.nn.functional.pairwise_distance``.

    x1, x2: broadcastable, (N, D) and (N, D) or (D,) -> (N,) (``keepdim``: (N, 1)); complex ones of
    one dtype too (a real distance).
    """
    name = "pairwise_distance"
    if isinstance(x1, Tensor) and isinstance(x2, Tensor) and x1.dtype.kind == "c" and x2.dtype == x1.dtype:
        pass   # complex: the norm of the complex difference (a real result), as torch's
    else:
        x1, x2 = _operands(name, x1, x2)
    try:
        ndim = len(np.broadcast_shapes(x1.shape, x2.shape))
    except ValueError:
        raise ShapeError(f"{name}: x1 of shape {x1.shape} and x2 of shape {x2.shape} do not broadcast") from None
    d = x1 - x2 + float(eps)
    return norm(d, p=p, dim=None if ndim == 0 else ndim - 1, keepdim=bool(keepdim))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)), d the :func:`pairwise_distance` with ``p`` and ``eps``, as
    ``torch.nn.functional.triplet_margin_loss``; ``swap=True`` uses min(d(a, n), d(p, n)).

    anchor, positive, negative: (N, D) or (D,), the same number of dims. 'none' gives (N,) (or ()).
    """
    name = "triplet_margin_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    if not float(margin) > 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    anchor, positive = _operands(name, anchor, positive)
    _, negative = _operands(name, anchor, negative)
    return _triplet(name, anchor, positive, negative, lambda x, y: pairwise_distance(x, y, p, eps),
                    margin, swap, reduction)


def _triplet(name, anchor, positive, negative, distance, margin, swap, reduction):
    if not all(isinstance(t, Tensor) for t in (anchor, positive, negative)):
        raise TypeError(f"{name}: anchor, positive and negative must be Tensors")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"{name}: the anchor, positive, and negative tensors are expected to have the same "
                         f"number of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, "
                         f"and negative {negative.ndim}D inputs")
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, distance(positive, negative))
    return _reduce(clamp(float(margin) + d_pos - d_neg, min=0.0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *, distance_function=None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with any distance ``d(x1, x2) -> (N,)`` (default
    :func:`pairwise_distance`), as ``torch.nn.functional.triplet_margin_with_distance_loss``;
    ``swap=True`` uses min(d(a, n), d(p, n)). anchor, positive, negative: (N, D), or what d takes.
    """
    name = "triplet_margin_with_distance_loss"
    _check_reduction(name, reduction)
    if not float(margin) > 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    return _triplet(name, anchor, positive, negative, distance_function or pairwise_distance, margin, swap,
                    reduction)
