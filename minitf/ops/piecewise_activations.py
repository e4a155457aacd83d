"""Piecewise-linear activations, as ``torch.nn.functional``'s: hardtanh, hardsigmoid, hardswish,
threshold, hardshrink, softshrink, rrelu, prelu.

Each one's derivative is piecewise constant (hardswish's piecewise linear): at the kinks it
takes the branch torch's backward takes, which the comments by each mask name (mostly: the
open interval gets the slope, the end points the outside's; NaN the branch torch's compare
sends it to).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..grad_fn_names import named
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from .activation import _check_float, in_place
from .elementwise import PiecewiseConstantScale
from ._util import as_tensor
from .masking import masked, pass_bits
from .half_math import computes_half_in_float32


class PiecewiseLinear(Function):
    """An elementwise op whose value and slope the caller computed: ``value`` (x's shape and dtype),
    and either ``slope`` (an array of them: backward g * slope) or ``mask`` (a bool array, the
    caller's own, where the slope is ``scale``, a number, and 0 elsewhere: backward passes g, times
    scale, on the mask and 0 off it, also for an inf or NaN g, as torch's select). The slope is
    piecewise constant, so the second derivative is 0 (recorded on x, as torch's double backwards read x)."""
    saves_inputs = saves_output = False

    def forward(self, x, value, slope=None, mask=None, scale=1):
        self.slope, self.scale = slope, scale
        if mask is not None:
            self.bits = pass_bits(mask, x.dtype)
        return value

    def backward(self, g):
        if self.slope is not None:
            return (g * self.slope,)
        return (masked(g if self.scale == 1 else g * self.scale, self.bits),)   # (scaled first: inf and NaN stay off the mask)

    def backward_graph(self, g):
        if self.slope is not None:
            return (PiecewiseConstantScale.apply(g, self.inputs[0], m=self.slope),)
        scale = None if self.scale == 1 else self.scale   # (a select, as backward's)
        return (PiecewiseConstantScale.apply(g, self.inputs[0], m=scale, bits=self.bits),)


def _c(x, v):
    return x.dtype.type(v)


def _one_like(x: Tensor) -> Tensor:
    return Tensor._make(backend.get_array_module(x.data).ones((), dtype=x.dtype), None)


def _check_number_input(name, x):
    """Floats, or integers (clamped in their dtype, no gradient), as torch's hardtanh/threshold."""
    if isinstance(x, Tensor) and x.dtype.kind in "iu":
        return
    if isinstance(x, Tensor) and x.dtype.kind == "b":
        raise DtypeNotImplemented(f"{name}: bool inputs are not supported (as torch's)")
    _check_float(name, x)


def _hardtanh(x: Tensor, lo, hi) -> Tensor:
    xp = backend.get_array_module(x.data)
    a = x.data
    value = xp.clip(a, _c(a, lo), _c(a, hi)).astype(a.dtype, copy=False)
    if a.dtype.kind != "f":
        return Tensor._make(value, None)
    mask = ~((a <= lo) | (a >= hi))   # 1 on (lo, hi) and at NaN, 0 at the bounds (torch's)
    return named(PiecewiseLinear.apply(x, value=value, mask=mask), "HardtanhBackward0", x)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """min(max(x, min_val), max_val), as ``torch.nn.functional.hardtanh``: gradient 1 inside, 0 at
    and beyond the bounds; integer tensors clamped in their dtype. input: any shape -> the same."""
    _check_number_input("hardtanh", input)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return hardtanh_(input, min_val, max_val)
    return _hardtanh(input, min_val, max_val)


_hardtanh_ = in_place("hardtanh_", _hardtanh, saves_result=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """``hardtanh`` written into ``input``, as ``F.hardtanh_``."""
    _check_number_input("hardtanh_", input)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _hardtanh_(input, min_val, max_val)


def _hardsigmoid(x: Tensor) -> Tensor:
    xp = backend.get_array_module(x.data)
    a = x.data
    value = (xp.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)
    # 1/6 on (-3, 3), 0 at the ends and at NaN; torch's kernel spells 1/6 as a float32 constant
    # (0.1666666716...) in every dtype, so float64's slope is that value too
    sixth = a.dtype.type(np.float32(1.0) / np.float32(6.0))
    return named(PiecewiseLinear.apply(x, value=value, mask=(a > -3) & (a < 3), scale=sixth), "HardsigmoidBackward0", x)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6, as ``torch.nn.functional.hardsigmoid``. input: any shape -> the same."""
    _check_float("hardsigmoid", input)
    return _hardsigmoid_(input) if inplace else _hardsigmoid(input)


@computes_half_in_float32
class Hardswish(Function):
    saves_output = False

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.x = x
        return (x * xp.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    def _slope(self, xp, x):
        # torch's hardswish_backward: 0 for x <= -3, x / 3 + 1/2 on (-3, 3), 1 for x >= 3 and NaN
        mid = (x > -3) & (x < 3)
        return xp.where(mid, x / 3 + 0.5, (~(x <= -3)).astype(x.dtype)).astype(x.dtype, copy=False)

    def backward(self, g):   # (0 for x <= -3 also for an inf or NaN g: torch's select)
        return (masked(g * self._slope(backend.get_array_module(g), self.x), pass_bits(~(self.x <= -3))),)

    def backward_graph(self, g):  # hardswish'' = 1/3 on (-3, 3), 0 elsewhere (the ends included, as torch's)
        from .selection import Where
        x = self.inputs[0]
        xp = backend.get_array_module(g.data)
        mid = (self.x > -3) & (self.x < 3)
        outside = Tensor._make(self._slope(xp, self.x), None)
        # a select where x <= -3 (torch's hardswish_backward again: 0 there also for an inf or NaN g)
        return (Where.apply(g * Where.apply(x / 3.0 + 0.5, outside, cond=mid), as_tensor(0, g), cond=~(self.x <= -3)),)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6, as ``torch.nn.functional.hardswish``. input: any shape -> the same."""
    _check_float("hardswish", input)
    return _hardswish_(input) if inplace else Hardswish.apply(input)


def _threshold(x: Tensor, threshold, value) -> Tensor:
    xp = backend.get_array_module(x.data)
    a = x.data
    if a.dtype.kind in "iu":   # torch casts the numbers to the tensor's dtype first (-0.5 -> 0)
        threshold = _c(a, threshold)
    below = a <= threshold   # NaN is not: it passes through, gradient 1 (torch's)
    out = xp.where(below, _c(a, value), a).astype(a.dtype, copy=False)
    if a.dtype.kind != "f":
        return Tensor._make(out, None)
    return named(PiecewiseLinear.apply(x, value=out, mask=~below), "ThresholdBackward0", x)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``, as ``torch.nn.functional.threshold`` (gradient 1
    above, 0 at and below). input: any shape -> the same."""
    _check_number_input("threshold", input)
    return threshold_(input, threshold, value) if inplace else _threshold(input, threshold, value)


_threshold_ = in_place("threshold_", _threshold, saves_result=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``threshold`` written into ``input``, as ``F.threshold_``."""
    _check_number_input("threshold_", input)
    return _threshold_(input, threshold, value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0, as ``torch.nn.functional.hardshrink`` (gradient 1 outside,
    0 on [-lambd, lambd], 1 at NaN). input: any shape -> the same."""
    _check_float("hardshrink", input)
    xp = backend.get_array_module(input.data)
    a = input.data
    keep = ~((a >= -lambd) & (a <= lambd))
    value = xp.where(keep, a, _c(a, 0)).astype(a.dtype, copy=False)
    return named(PiecewiseLinear.apply(input, value=value, mask=keep), "HardshrinkBackward0", input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between, as ``torch.nn.functional.softshrink``;
    gradient 1 outside [-lambd, lambd], 0 on it (and 1 at NaN).
    input: any shape -> the same."""
    _check_float("softshrink", input)
    if not lambd >= 0:
        raise ArgumentError(f"lambda must be in range [0, inf) for input dtype {input.dtype}, but found {lambd}")
    xp = backend.get_array_module(input.data)
    a = input.data
    lam = _c(a, lambd)
    # x - clamp(x, -lambd, lambd): torch's float64 kernel's zeros (+0 between, -0 at x = -0 for
    # lambd = 0) and NaN; its vectorised float32 kernel gives -0 at x = -lambd itself
    value = (a - xp.clip(a, -lam, lam)).astype(a.dtype, copy=False)
    mask = ~((a >= -lam) & (a <= lam))
    return named(PiecewiseLinear.apply(input, value=value, mask=mask), "SoftshrinkBackward0", input)


def _rrelu(x: Tensor, lower, upper, training, generator) -> Tensor:
    from .activation import LeakyReLU
    if not training:   # eval: the mean slope, leaky_relu's (x > 0: 1, else (lower + upper) / 2)
        return named(LeakyReLU.apply(x, slope=(float(lower) + float(upper)) / 2), "RreluWithNoiseBackward0", x)
    from ..generator import resolve
    gen = resolve(generator, x.device, "rrelu")
    a = x.data
    xp = backend.get_array_module(a)
    r = _c(a, lower) + _c(a, upper - lower) * gen.random(a.shape, dtype=a.dtype)
    slope = xp.where(a <= 0, r, _c(a, 1)).astype(a.dtype, copy=False)   # x <= 0 (zeros too) draws a slope, as torch's
    return named(PiecewiseLinear.apply(x, value=a * slope, slope=slope), "RreluWithNoiseBackward0", x)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, generator=None) -> Tensor:
    """Randomized leaky ReLU, as ``torch.nn.functional.rrelu``: in training, x for x > 0 and
    a x for x <= 0 with a ~ U(lower, upper) drawn per element from the device's generator (or
    ``generator``; the draws differ from torch's); otherwise leaky_relu with slope
    (lower + upper) / 2. input: any shape -> the same."""
    _check_float("rrelu", input)
    if lower > upper:
        raise ArgumentError("Lower bound should be less than or equal to the upper bound")
    if inplace:
        return rrelu_(input, lower, upper, training, generator)
    return _rrelu(input, lower, upper, training, generator)


_rrelu_ = in_place("rrelu_", _rrelu)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator=None) -> Tensor:
    """``rrelu`` written into ``input``, as ``F.rrelu_``."""
    _check_float("rrelu_", input)
    if lower > upper:
        raise ArgumentError("Lower bound should be less than or equal to the upper bound")
    return _rrelu_(input, lower, upper, training, generator)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, w x otherwise, as ``torch.nn.functional.prelu``: ``weight`` 0-d or (1,), one
    slope, or (C,), one per channel, the channel dim being dim 1 (inputs of fewer than 2 dims
    have one channel). input: (N, C, ...) -> the same shape. Differentiable in both (at x = 0
    the slope branch: d/dx = w, as torch's)."""
    from .selection import where
    _check_float("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    n, channels = weight.numel(), input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ShapeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} "
                         f"and channel size = {channels}.")
    if weight.dtype != input.dtype:
        raise DtypeError(f"prelu: Type promoting not supported. Got {input.dtype} and {weight.dtype}")
    w = weight.reshape(()) if n == 1 else weight.reshape((n,) + (1,) * (input.ndim - 2))
    # x times its slope (1 or w): d/dx is g or w g, never 0 * w (NaN for a NaN or inf slope)
    return named(input * where(input > 0, _one_like(input), w), "PreluKernelBackward0", input, weight)


_hardsigmoid_ = in_place("hardsigmoid_", _hardsigmoid)
_hardswish_ = in_place("hardswish_", lambda a: Hardswish.apply(a))
