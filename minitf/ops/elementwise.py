"""Elementwise functions: exp, log, sqrt, tanh, sigmoid, relu, gelu (exact and tanh), silu."""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import DtypeError
from ..tensor import Tensor
from .masking import masked, pass_bits
from ._util import check_floating, float_input
from .erf import erfc_and_exp as _erfc_and_exp
from .half_math import computes_half_in_float32
from ..backend.fused import kernels_for


class Exp(Function):
    saves_inputs = False  # backward reads the output

    def forward(self, x):
        self.y = backend.get_array_module(x).exp(x)
        return self.y

    def backward(self, g):  # d exp(x) = exp(x)
        return (g * self.y,)

    def backward_graph(self, g):
        return (g * exp(self.inputs[0]),)


class Log(Function):
    saves_output = False

    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, g):  # d log(x) = 1/x
        return (g / self.x,)

    def backward_graph(self, g):
        return (g / self.inputs[0],)


class Sqrt(Function):
    saves_inputs = False

    def forward(self, x):
        self.y = backend.get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):  # d sqrt(x) = 1 / (2 sqrt(x))
        return (g / (2 * self.y),)

    def backward_graph(self, g):
        return (g / (2 * sqrt(self.inputs[0])),)


class Tanh(Function):
    saves_inputs = False

    def forward(self, x):
        self.y = backend.get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):  # d tanh(x) = 1 - tanh(x)^2
        return (g * (1 - self.y * self.y),)

    def backward_graph(self, g):
        y = tanh(self.inputs[0])
        return (g * (1 - y * y),)


@computes_half_in_float32
class Sigmoid(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        # with e = exp(-|x|) in (0, 1]: sigma(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0. Neither
        # overflows, and neither subtracts (0.5 (1 + tanh(x/2)) cancels for x << 0: 1.7e-4 relative
        # error at x = -30 in float64, exactly 0 from -37), so the error is a few ulp down to the
        # smallest normal result. No where() or masked copy: with random signs those run ~10x slower
        # than the whole rest (branch misprediction); the numerator is max([x >= 0], e) instead.
        e = xp.abs(x, out=xp.empty_like(x))  # out=: stays an array when x is 0-d
        xp.negative(e, out=e)
        with backend.quiet_underflow(xp):  # exp(-800) = 0 is the right answer, not an error
            xp.exp(e, out=e)
        y = xp.greater_equal(x, 0, out=xp.empty_like(x))   # 1 for x >= 0, 0 below ...
        xp.maximum(y, e, out=y)               # ... so the numerator is 1 or e (e <= 1; NaN stays NaN)
        e += 1
        y /= e
        self.y = y
        return y

    def backward(self, g):  # d sigma(x) = sigma(x) (1 - sigma(x))
        return (g * self.y * (1 - self.y),)


class ReLU(Function):
    saves_inputs = saves_output = False  # keeps a mask of its own

    def forward(self, x):
        # max(x, 0), not x * [x > 0]: that gives -inf * 0 = NaN. The maximum against a zeros array
        # of x's own shape (reused as the output) takes NumPy's fast same-shape loop; against the
        # scalar 0 it runs ~2x slower than the multiply it replaces. NaN stays NaN. The zeros go
        # first: of two equal operands NumPy's maximum returns the second, so relu(-0.) is -0., as torch's
        xp = backend.get_array_module(x)
        y = xp.zeros_like(x)
        xp.maximum(y, x, out=y)
        # [y != 0] = [not x <= 0]: 1 at a NaN input too, where PyTorch passes the gradient on; kept
        # as int8 bits (all ones where it passes, 0 elsewhere) for backward (minitf/ops/masking.py)
        self.bits = pass_bits(y != 0)
        return y

    def backward(self, g):  # d relu(x) = [x > 0] (and 1 at NaN, as PyTorch's threshold_backward)
        # g's bits ANDed with the mask's: 0 where x <= 0 even for an inf or NaN g, as torch (g * mask
        # gives inf * 0 = NaN there). The same cost as that multiply: np.where or a masked copyto
        # branch per element, 20x slower on a (12, 64, 512) float32 g; the negation in forward costs
        # +6% there (measured in the commit message)
        return (masked(g, self.bits),)

    def backward_graph(self, g):  # the indicator is a constant: relu'' = 0 away from the kink
        return (PiecewiseConstantScale.apply(g, self.inputs[0], m=None, bits=self.bits),)   # (a select, as backward's)


class PiecewiseConstantScale(Function):
    """``g * m`` where ``m`` is a piecewise-constant function of ``xs`` (relu's mask, abs's sign, the
    sign of l1_loss's input - target): their first derivative under ``create_graph``. Its derivative
    is ``m`` for g and 0 for each x, and it is recorded on the xs, so a second ``grad`` w.r.t. one
    gives zeros, as torch's (whose double backwards read x), not an error that the gradient does
    not require grad.

    ``bits`` (:func:`minitf.ops.masking.pass_bits` of where the slope is not 0; ``m`` then a number,
    an array or None for 1): a select, ``g * m`` on the mask and 0 off it also for an inf or NaN g,
    as torch's double backwards of relu, hardtanh, threshold (their backward again, on gg), to any
    order. g: any shape; m and bits broadcast against it."""

    saves_inputs = saves_output = False

    def forward(self, g, *xs, m, bits=None):
        self.m, self.bits, self.x_shapes = m, bits, [x.shape for x in xs]
        return self._scale(g)

    def _scale(self, g):
        if self.bits is None:
            return g * self.m
        return masked(g if self.m is None else g * self.m, self.bits)   # (scaled first: inf and NaN stay off the mask)

    def backward(self, gg):
        xp = backend.get_array_module(gg)
        return (self._scale(gg), *(xp.zeros(s, dtype=gg.dtype) for s in self.x_shapes))

    def backward_graph(self, gg):
        xp = backend.get_array_module(gg.data)
        zeros = tuple(Tensor._make(xp.zeros(s, dtype=gg.dtype), None) for s in self.x_shapes)
        if self.bits is not None:   # the select again, recorded on gg only (its slope is constant)
            return (PiecewiseConstantScale.apply(gg, m=self.m, bits=self.bits), *zeros)
        return (gg * Tensor._make(self.m, None), *zeros)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


_CHUNK = 65536  # elements per inner step: a few arrays of this many floats stay in cache
_KEEP_T = 1 << 19  # GELU inputs up to this many elements keep tanh's output for backward


def _flat(a):
    return a.reshape(-1)


@computes_half_in_float32
class GELU(Function):
    """GELU, tanh approximation (GPT-2): 0.5 x (1 + tanh(c (x + a x^3))), c = sqrt(2/pi), a = 0.044715.

    Large inputs save only x: backward recomputes t = tanh(...) chunk by chunk, as PyTorch
    does, rather than keeping a second activation-sized array alive until backward. Small
    ones (up to _KEEP_T elements, which sit in cache) keep t: there the recomputation costs
    more than the memory (measured: (768, 512) backward 0.24 ms with t, 0.33-0.45 without).
    On a device the chunk is the whole array (a loop would be a kernel launch per chunk per
    operation), so the scratch there is activation-sized, taken from the memory pool."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x):
        xp = backend.get_array_module(x)
        fused = kernels_for(xp, x)
        if fused is not None:   # the GPU: one kernel (minitf/backend/fused.py)
            self.x, self.t = x, None
            return fused.gelu_tanh(x)
        # C-ordered outputs: their flat views are written below (empty_like of a transposed x would
        # be F-ordered, and reshape(-1) of that a copy, never written back)
        y = xp.empty(x.shape, dtype=x.dtype)
        t = xp.empty(x.shape, dtype=x.dtype) if x.size <= _KEEP_T else None
        xf, yf, tf = _flat(x), _flat(y), None if t is None else _flat(t)

        chunk = backend.chunk_elements(xp, xf.size, _CHUNK)

        def kernel(lo, hi):
            # in place, chunk by chunk: elementwise NumPy is bound by memory passes, not arithmetic
            scratch = xp.empty(min(chunk, hi - lo), dtype=x.dtype) if t is None else None
            for s in range(lo, hi, chunk):
                e = min(s + chunk, hi)
                xs, ys = xf[s:e], yf[s:e]
                ts = _tanh_arg(xp, xs, scratch[:e - s] if t is None else tf[s:e])
                xp.tanh(ts, out=ts)         # t
                xp.add(ts, 1, out=ys)
                ys *= xs
                ys *= 0.5                   # 0.5 x (1 + t)

        backend.parallel_rows(xp, kernel, xf.size, _CHUNK)
        self.x, self.t = x, t
        return y

    def backward(self, g):
        # d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
        xp = backend.get_array_module(g)
        fused = kernels_for(xp, self.x, g)
        if fused is not None:
            return (fused.gelu_tanh_backward(self.x, g),)
        d = xp.empty(self.x.shape, dtype=self.x.dtype)   # C-ordered, as forward's y
        xf, gf, df = _flat(self.x), _flat(g), _flat(d)

        tf = None if self.t is None else _flat(self.t)

        chunk = backend.chunk_elements(xp, xf.size, _CHUNK)

        def kernel(lo, hi):
            scratch = [xp.empty(min(chunk, hi - lo), dtype=d.dtype) for _ in range(2)]
            for s in range(lo, hi, chunk):
                e = min(s + chunk, hi)
                xs, ds = xf[s:e], df[s:e]
                if tf is None:
                    ts = _tanh_arg(xp, xs, scratch[0][:e - s])
                    xp.tanh(ts, out=ts)     # t, recomputed: the same operations as forward
                else:
                    ts = tf[s:e]
                us = scratch[1][:e - s]
                xp.multiply(xs, xs, out=us)
                us *= 3 * _GELU_A * _GELU_C
                us += _GELU_C               # c (1 + 3 a x^2)
                xp.multiply(ts, ts, out=ds)
                ds -= 1
                ds *= us
                ds *= xs
                ds *= -0.5                  # 0.5 x (1 - t^2) c (1 + 3 a x^2)
                xp.multiply(ts, 0.5, out=us)
                ds += us
                ds += 0.5
                ds *= gf[s:e]

        backend.parallel_rows(xp, kernel, df.size, _CHUNK)
        return (d,)


def _tanh_arg(xp, xs, ts):
    """c (x + a x^3) = x (c + a c x^2) into ``ts``, the same operations in forward and backward."""
    xp.multiply(xs, xs, out=ts)
    ts *= _GELU_A * _GELU_C
    ts += _GELU_C
    ts *= xs
    return ts


def exp(x: Tensor) -> Tensor:
    """e^x, elementwise."""
    return Exp.apply(float_input(x))  # integer input: the default float dtype, as torch


def log(x: Tensor) -> Tensor:
    """Natural logarithm, elementwise."""
    return Log.apply(float_input(x))


def sqrt(x: Tensor) -> Tensor:
    """Square root, elementwise."""
    return Sqrt.apply(float_input(x))


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return Tanh.apply(float_input(x))


def sigmoid(x: Tensor) -> Tensor:
    """Logistic function 1 / (1 + e^-x), elementwise, stable for large |x|."""
    return Sigmoid.apply(float_input(x))


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise (gradient 0 at x = 0); bool refused, as torch."""
    if x.dtype.kind == "b":
        raise DtypeError("relu: not defined for bool tensors (as torch); convert with x.int() first")
    return ReLU.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x Phi(x), Phi the standard normal CDF, elementwise, as ``torch.nn.functional.gelu``.

    ``approximate="none"`` (PyTorch's default, nanoGPT's ``nn.GELU()``): the
    exact form 0.5 x (1 + erf(x / sqrt(2))), computed as 0.5 x erfc(-x / sqrt(2))
    (accurate to float64 rounding, see :mod:`minitf.ops.erf`). ``approximate="tanh"``: GPT-2's
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), a fused, threaded kernel
    (what minitf's GPT uses by default, see ``GPTConfig.gelu_approximate``).
    x: any shape -> the same shape.
    """
    if approximate == "tanh":
        return GELU.apply(x)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUErf.apply(x)


def silu(x: Tensor) -> Tensor:
    """SiLU (swish): x sigmoid(x), elementwise, with the stable sigmoid. x: any shape -> the same shape."""
    check_floating(x, "silu")
    return SiLU.apply(x)


_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@computes_half_in_float32
class GELUErf(Function):
    """Exact GELU: x Phi(x), Phi(x) = 0.5 (1 + erf(x / sqrt(2))) = 0.5 erfc(-x / sqrt(2)).

    The erfc form does not cancel for x << 0 (where 1 + erf(x / sqrt 2) loses
    every digit PyTorch's formula loses): relative accuracy down the tail."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x):
        cdf, self.e = _erfc_and_exp(x * x.dtype.type(-_SQRT1_2))
        cdf *= 0.5
        self.x, self.cdf = x, cdf
        return x * cdf

    def backward(self, g):  # d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        xp = backend.get_array_module(g)
        x = self.x
        if self.e is not None:   # exp(-t^2), t = -x / sqrt 2 as forward rounded it: the kernel's own
            d = self.e * x.dtype.type(_INV_SQRT_2PI)
        else:
            with backend.quiet_underflow(xp):
                d = xp.exp(x * x * x.dtype.type(-0.5))
            d *= x.dtype.type(_INV_SQRT_2PI)
        d *= x
        d += self.cdf
        d *= g
        return (d,)


@computes_half_in_float32
class SiLU(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x):
        self.x, self.s = x, Sigmoid().forward(x)
        return x * self.s

    def backward(self, g):  # d/dx x s(x) = s (1 + x (1 - s))
        s = self.s
        return (g * s * (1 + self.x * (1 - s)),)
