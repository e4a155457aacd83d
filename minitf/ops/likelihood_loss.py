"""Negative log-likelihood losses of count and real-valued targets, as ``torch.nn.functional``'s:
poisson_nll_loss and gaussian_nll_loss, in recorded (differentiable) ops:

    poisson:   exp(x) - t x            (log_input; x the log-rate)
               x - t log(x + eps)      (x the rate)
               + t log t - t + 0.5 log(2 pi t) where t > 1   (full: Stirling's term)
    gaussian:  0.5 (log v + (x - t)^2 / v)  (+ 0.5 log(2 pi) with full),  v = max(var, eps)
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ShapeError
from ..tensor import Tensor
from .elementwise import exp, log
from .margin_loss import _reduction
from .pointwise_loss import _const, _operands, _reduce
from .shape import Where


def poisson_nll_loss(input: Tensor, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """The Poisson negative log-likelihood of counts ``target`` with rate exp(input) (``log_input``) or
    ``input``, as ``torch.nn.functional.poisson_nll_loss``; ``full`` adds Stirling's approximation of
    log(t!) where t > 1. input, target: broadcastable (differentiable in both), e.g. (N, D)."""
    name = "poisson_nll_loss"
    reduction = _reduction(name, size_average, reduce, reduction)
    input, target = _operands(name, input, target)
    loss = exp(input) - target * input if log_input else input - target * log(input + float(eps))
    if full:
        big = target.data > 1
        xp = backend.get_array_module(target.data)
        safe = Where.apply(target, _const(xp.ones((), dtype=target.dtype)), cond=big)   # log never sees t <= 1
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + Where.apply(stirling, _const(xp.zeros((), dtype=target.dtype)), cond=big)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """The Gaussian negative log-likelihood 0.5 (log v + (x - t)^2 / v) of ``target`` with mean ``input``
    and variance ``var``, as ``torch.nn.functional.gaussian_nll_loss``.

    input: (N, *); target: the same shape (or broadcastable); var: a float, the input's shape, the
    input's shape without its last dim, or the input's shape with one dim of size 1 (one variance
    shared along it). v = max(var, eps) for stability; as torch, the clamp is not differentiated (the
    gradient to var is that of v itself). ``full`` adds 0.5 log(2 pi). Negative variances are an error.
    """
    name = "gaussian_nll_loss"
    reduction = _reduction(name, None, None, reduction)
    input, target = _operands(name, input, target)
    xp = backend.get_array_module(input.data)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{name}: var has negative entry/entries")
        var = _const(xp.full(input.shape, float(var), dtype=input.dtype))
    else:
        _, var = _operands(name, input, var)
        if var.data.size and bool(backend.to_numpy(xp.any(var.data < 0))):   # one device read, as torch
            raise ValueError(f"{name}: var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (var.ndim == input.ndim
                  and np.sum([v for i, v in zip(input.shape, var.shape) if i != v]) == 1):
            raise ShapeError(f"{name}: var is of incorrect size {var.shape} for input of shape {input.shape}")
    # v = var + (max(var, eps) - var): max's value, var's derivative (torch clamps under no_grad)
    v = var + _const(xp.maximum(var.data, var.dtype.type(eps)) - var.data)
    d = input - target
    loss = 0.5 * (log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
