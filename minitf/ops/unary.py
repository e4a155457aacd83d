"""More elementwise math under PyTorch's names: log1p, expm1, sin, cos, square, rsqrt,
reciprocal, the step functions (sign, floor, ceil, round, trunc: zero gradient, as PyTorch),
nan_to_num, and lerp / addcmul built from the differentiable primitives.

Dtypes as PyTorch: the transcendental ones (log1p, expm1, sin, cos, rsqrt, reciprocal) give
the default float dtype for integer or bool input; square, sign and the rounding functions keep the dtype.
"""
from __future__ import annotations

import numpy as np

from ..errors import broadcast_error
from .. import backend
from ..autograd import Function, keeps_no_tensor
from ..errors import ArgumentTypeError, DtypeNotImplemented
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, float_input
from .half_math import computes_half_in_float32


def _const(a, like: Tensor) -> Tensor:
    return Tensor._make(a.astype(like.dtype, copy=False), None)


class _Elementwise(Function):
    """y = f(x) with dy/dx from ``slope(x, y)``; subclasses give ``f`` and ``slope`` on arrays
    (``xp`` their module) and, for create_graph, ``slope_graph`` in Tensor ops."""
    forward_elementwise = True   # forward AD: J t is backward(t) (minitf/forward_fused.py)

    def forward(self, x):  # integer input arrives cast (float_input) where the result is a float
        xp = backend.get_array_module(x)
        self.x = x
        self.y = self.f(xp, x)
        return self.y

    def backward(self, g):
        return (g * self.slope(backend.get_array_module(g), self.x, self.y),)

    def backward_graph(self, g):
        return (g * self.slope_graph(self.inputs[0]),)


class Log1p(_Elementwise):
    f = staticmethod(lambda xp, x: xp.log1p(x))
    slope = staticmethod(lambda xp, x, y: 1 / (1 + x))    # d log(1 + x) = 1 / (1 + x)
    slope_graph = staticmethod(lambda x: 1 / (1 + x))


class Expm1(_Elementwise):
    f = staticmethod(lambda xp, x: xp.expm1(x))
    slope = staticmethod(lambda xp, x, y: y + 1)           # d (e^x - 1) = e^x
    slope_graph = staticmethod(lambda x: expm1(x) + 1)


class Sin(_Elementwise):
    f = staticmethod(lambda xp, x: xp.sin(x))
    slope = staticmethod(lambda xp, x, y: xp.cos(x))       # d sin x = cos x
    slope_graph = staticmethod(lambda x: cos(x))


class Cos(_Elementwise):
    f = staticmethod(lambda xp, x: xp.cos(x))
    slope = staticmethod(lambda xp, x, y: -xp.sin(x))      # d cos x = -sin x
    slope_graph = staticmethod(lambda x: -sin(x))


class Square(_Elementwise):
    f = staticmethod(lambda xp, x: x * x)
    slope = staticmethod(lambda xp, x, y: 2 * x)           # d x^2 = 2 x
    slope_graph = staticmethod(lambda x: 2 * x)


@computes_half_in_float32
class Rsqrt(_Elementwise):
    f = staticmethod(lambda xp, x: 1 / xp.sqrt(x))
    slope = staticmethod(lambda xp, x, y: -0.5 * y * y * y)  # d x^(-1/2) = -x^(-3/2) / 2
    slope_graph = staticmethod(lambda x: -0.5 * rsqrt(x) ** 3)


class Reciprocal(_Elementwise):
    f = staticmethod(lambda xp, x: 1 / x)
    slope = staticmethod(lambda xp, x, y: -(y * y))        # d 1/x = -1/x^2
    slope_graph = staticmethod(lambda x: -(reciprocal(x) ** 2))


class Step(Function):
    """A piecewise-constant function (sign, floor, ceil, round, trunc; the subclasses below,
    named as their grad_fn shows): gradient 0 everywhere, as PyTorch's (zeros, not None, so
    the input's ``.grad`` becomes 0)."""

    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    forward_elementwise = True   # forward AD: J t is backward(t), zeros (minitf/forward_fused.py)
    kind = ""

    def forward(self, x, decimals=0):
        xp = backend.get_array_module(x)
        if x.dtype.kind not in "fc" and (self.kind != "sign" or x.dtype.kind == "b"):
            return x.copy()  # rounding an integer, or the sign of a bool: itself, as torch
        if self.kind == "round":
            return xp.round(x, decimals)
        if self.kind == "sign":  # torch's sign(NaN) is 0 (NumPy's is NaN)
            return xp.where(x != x, x.dtype.type(0), xp.sign(x))
        return getattr(xp, self.kind)(x)

    def backward(self, g):
        return (backend.get_array_module(g).zeros_like(g),)

    def backward_graph(self, g):   # torch's zeros_like(grad): a constant (g * 0 gave NaN for an inf or NaN g)
        return (Tensor._make(backend.get_array_module(g.data).zeros(g.shape, dtype=g.dtype), None),)


class Sign(Step):
    kind = "sign"


class Floor(Step):
    kind = "floor"


class Ceil(Step):
    kind = "ceil"


class Round(Step):
    kind = "round"


class Trunc(Step):
    kind = "trunc"


_STEPS = {c.kind: c for c in (Sign, Floor, Ceil, Round, Trunc)}


class NanToNum(Function):
    saves_inputs = saves_output = False

    def forward(self, x, nan, posinf, neginf):
        xp = backend.get_array_module(x)
        self.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):  # 1 where x is finite, 0 where it was replaced (PyTorch's)
        return (g * self.finite,)

    def backward_graph(self, g):
        return (g * _const(self.finite, g),)


def log1p(x: Tensor) -> Tensor:
    """log(1 + x), accurate for small x, elementwise."""
    return Log1p.apply(float_input(x))


def expm1(x: Tensor) -> Tensor:
    """e^x - 1, accurate for small x, elementwise."""
    return Expm1.apply(float_input(x))


def sin(x: Tensor) -> Tensor:
    """Sine, elementwise."""
    return Sin.apply(float_input(x))


def cos(x: Tensor) -> Tensor:
    """Cosine, elementwise."""
    return Cos.apply(float_input(x))


def square(x: Tensor) -> Tensor:
    """x * x, elementwise (keeps integer dtypes; bool gives int64, as torch)."""
    return Square.apply(x.to(dtype="int64") if x.dtype.kind == "b" else x)


def rsqrt(x: Tensor) -> Tensor:
    """1 / sqrt(x), elementwise."""
    return Rsqrt.apply(float_input(x))


def reciprocal(x: Tensor) -> Tensor:
    """1 / x, elementwise (the default float dtype for integer input, as torch)."""
    return Reciprocal.apply(float_input(x))


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of x (0 for NaN, as torch); gradient 0."""
    return Sign.apply(x)


def _rounding(x: Tensor, kind: str, **params) -> Tensor:
    if x.dtype.kind == "b":
        raise DtypeNotImplemented(f"{kind}: not defined for bool tensors (as torch); convert with x.int() first")
    return _STEPS[kind].apply(x, **params)


def floor(x: Tensor) -> Tensor:
    """The largest integer <= x, elementwise (integer tensors unchanged); gradient 0."""
    return _rounding(x, "floor")


def ceil(x: Tensor) -> Tensor:
    """The smallest integer >= x, elementwise; gradient 0."""
    return _rounding(x, "ceil")


def trunc(x: Tensor) -> Tensor:
    """x rounded toward zero, elementwise; gradient 0."""
    return _rounding(x, "trunc")


def round(x: Tensor, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (as torch.round); gradient 0."""
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    if decimals and x.dtype.kind not in "fc":
        raise DtypeNotImplemented(f"round: decimals is only for floating tensors, got dtype {x.dtype}")
    return _rounding(x, "round", decimals=decimals)


def nan_to_num(x: Tensor, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN -> ``nan`` (None: 0), +inf -> ``posinf``, -inf -> ``neginf`` (None: the dtype's largest
    and smallest finite values), as torch; the gradient is 1 at finite elements, 0 at replaced ones.
    A complex x: each part replaced on its own, without a gradient (torch's error if x requires one).
    Each value is a number (or None), as torch's: a tensor is refused, except a 0-d one that
    requires no grad (torch's argument parser reads that as its number)."""
    nan, posinf, neginf = (_float_arg(v, n) for v, n in ((nan, "nan"), (posinf, "posinf"), (neginf, "neginf")))
    nan = 0.0 if nan is None else nan
    if isinstance(x, Tensor) and x.dtype.kind == "c":   # each part on its own (NumPy's, torch's); no gradient
        from ..autograd import is_grad_enabled
        if x.requires_grad and is_grad_enabled():
            raise RuntimeError("nan_to_num does not support automatic differentiation for outputs with complex "
                               "dtype (as torch)")
        return Tensor._make(backend.get_array_module(x.data).nan_to_num(x.data, nan=nan, posinf=posinf,
                                                                         neginf=neginf), None)
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


def _float_arg(v, name: str):
    """torch's parsing of a ``float`` argument of nan_to_num: None, a real number, or a 0-d
    tensor not requiring grad (its value); anything else is torch's TypeError."""
    if v is None or isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)):
        return None if v is None else float(v)
    if isinstance(v, Tensor) and v.ndim == 0 and not v.requires_grad and v.dtype.kind != "c":
        return float(v.item())
    kind = type(v).__name__ if isinstance(v, Tensor) or type(v).__module__ == "builtins" else \
        f"{type(v).__module__}.{type(v).__name__}"
    raise ArgumentTypeError(f"nan_to_num(): argument '{name}' must be float, not {kind}")


class Lerp(Function):
    """start + weight (end - start), as torch's kernel: end - (end - start)(1 - weight) where
    |weight| >= 0.5 (exact at weight 1)."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, start, end, weight):
        xp = backend.get_array_module(start)
        self.start, self.end, self.weight = start, end, weight
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    def backward(self, g):  # d/dstart = 1 - w, d/dend = w, d/dw = end - start (each exact)
        return g * (1 - self.weight), g * self.weight, g * (self.end - self.start)

    def backward_graph(self, g):
        start, end, weight = self.inputs
        return g * (1.0 - weight), g * weight, g * (end - start)


def lerp(start: Tensor, end, weight) -> Tensor:
    """start + weight (end - start), broadcasting; ``weight`` a number or a tensor. As torch:
    computed as end - (end - start)(1 - weight) where |weight| >= 0.5 (exact at weight 1),
    floating or complex tensors of one dtype only (a 0-d ``weight`` tensor is cast to it; a complex
    ``weight`` needs complex tensors).
    Differentiable in all three."""
    start, end = binary_operands(start, end)
    if start.dtype.kind not in "fc":
        raise DtypeNotImplemented(f"lerp: not defined for {start.dtype} tensors (as torch); convert with x.float() "
                                  f"first")
    if end.dtype != start.dtype:
        raise TypeError(f"lerp: expected dtype {start.dtype} for end but got {end.dtype}")
    number_weight = not isinstance(weight, Tensor)
    if number_weight:
        complex_weight = isinstance(weight, complex) and start.dtype.kind == "c"   # (as torch: complex tensors only)
        if not (isinstance(weight, (int, float)) or complex_weight) or isinstance(weight, bool):
            raise TypeError(f"lerp: weight must be a number or a tensor, got {type(weight).__name__}")
        weight = as_tensor(weight if complex_weight else float(weight), start)
    elif weight.dtype != start.dtype:
        if weight.ndim or weight.dtype.kind not in "fc" or (weight.dtype.kind == "c") != (start.dtype.kind == "c"):
            raise TypeError(f"lerp: expected dtype {start.dtype} for weight but got {weight.dtype}")
        weight = weight.to(dtype=start.dtype)
    try:
        out = Lerp.apply(start, end, weight)
    except ValueError:
        raise broadcast_error("lerp", start.shape, end.shape, weight.shape) from None
    return keeps_no_tensor(out) if number_weight else out   # (torch's LerpBackward0 keeps a number weight as a Scalar)


def addcmul(x: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """x + value * tensor1 * tensor2, broadcasting (as torch.addcmul). Differentiable in the three."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"addcmul: value must be a number, got {type(value).__name__}")
    prod = tensor1 * tensor2 if isinstance(tensor1, Tensor) else tensor2 * tensor1
    return x + (prod if value == 1 else value * prod)


def addcdiv(x: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """x + value * tensor1 / tensor2, broadcasting (as torch.addcdiv). Differentiable in the three."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"addcdiv: value must be a number, got {type(value).__name__}")
    quot = tensor1 / tensor2
    return x + (quot if value == 1 else value * quot)


def clamp_min(x: Tensor, min) -> Tensor:
    """``clamp(x, min=min)``, as torch.clamp_min."""
    from .pointwise import clamp
    return clamp(x, min=min)


def clamp_max(x: Tensor, max) -> Tensor:
    """``clamp(x, max=max)``, as torch.clamp_max."""
    from .pointwise import clamp
    return clamp(x, max=max)
