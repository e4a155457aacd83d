"""Smooth activations, as ``torch.nn.functional``'s: selu, celu, mish, softsign, tanhshrink,
softmin. selu and celu are torch's scaled ELU, elu(x; alpha, scale, input_scale); the others are
compositions of differentiable ops (so every order of derivative is there)."""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..grad_fn_names import named
from ..tensor import Tensor
from .activation import _check_float, _const, in_place
from .half_math import computes_half_in_float32

# SELU's constants (Klambauer et al. 2017), as torch's to the last digit
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@computes_half_in_float32
class ScaledELU(Function):
    """torch's elu kernel: scale x for x > 0, alpha scale (exp(input_scale x) - 1) for x <= 0."""
    saves_output = False

    def forward(self, x, alpha, scale, input_scale):
        xp = backend.get_array_module(x)
        t = x.dtype.type
        self.x, self.neg, self.pos, self.inp = x, t(alpha) * t(scale), t(scale), t(input_scale)
        with backend.quiet_underflow(xp):
            # where, not minimum: -0 must stay -0 (expm1(-0) = -0, as torch's), minimum may give +0
            neg = xp.expm1(xp.where(x > 0, x.dtype.type(0), x) * self.inp) * self.neg
        return xp.where(x <= 0, neg, x * self.pos).astype(x.dtype, copy=False)   # +-0 stay signed

    def _slope(self, xp, x):
        # torch's elu_backward: input_scale alpha scale exp(input_scale x) for x <= 0, scale above (and at NaN)
        with backend.quiet_underflow(xp):
            d = self.inp * self.neg * xp.exp(xp.minimum(x, 0) * self.inp)
        return xp.where(x <= 0, d, self.pos).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * self._slope(backend.get_array_module(g), self.x),)

    def backward_graph(self, g):
        # the second derivative only where x < 0 (at 0 exactly it is 0, as torch's elu_double_backward)
        from .elementwise import exp
        from .selection import Where
        x = self.inputs[0]
        xp = backend.get_array_module(g.data)
        xn = Where.apply(_const(xp.zeros((), dtype=x.dtype)), x, cond=~(self.x < 0))
        inside = exp(xn * float(self.inp)) * float(self.inp * self.neg)
        outside = Tensor._make(self._slope(xp, self.x), None)
        return (g * Where.apply(outside, inside, cond=~(self.x < 0)),)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x for x > 0, alpha (exp(x) - 1) otherwise), torch's constants alpha = 1.6732...,
    scale = 1.0507..., as ``torch.nn.functional.selu``. input: any shape -> the same."""
    _check_float("selu", input)
    return selu_(input) if inplace else named(ScaledELU.apply(input, alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0),
                                              "EluBackward0", input)   # torch's selu is an elu kernel


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)), as ``torch.nn.functional.celu`` (gradient
    1 at 0). input: any shape -> the same."""
    _check_float("celu", input)
    if alpha == 0:
        raise ZeroDivisionError("ZeroDivisionError: alpha cannot be 0 for CELU")   # torch's words
    if inplace:
        return celu_(input, alpha)
    return named(ScaledELU.apply(input, alpha=float(alpha), scale=1.0, input_scale=1.0 / float(alpha)), "CeluBackward0",
                 input)


_selu_ = in_place("selu_", lambda a: named(ScaledELU.apply(a, alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0),
                                           "EluBackward0", a),
                  saves_result=True)
_celu_ = in_place("celu_", lambda a, alpha: named(ScaledELU.apply(a, alpha=alpha, scale=1.0, input_scale=1.0 / alpha),
                                                  "CeluBackward0", a),
                  saves_result=True)


def selu_(input: Tensor) -> Tensor:
    """``selu`` written into ``input``, as ``F.selu_``."""
    _check_float("selu_", input)
    return _selu_(input)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``celu`` written into ``input``, as ``F.celu_``."""
    _check_float("celu_", input)
    if alpha == 0:
        raise ZeroDivisionError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _celu_(input, float(alpha))


def _mish(x: Tensor) -> Tensor:
    from .activation import softplus
    from .elementwise import tanh
    if x.dtype == "float16":   # in float32, rounded once, as torch's half kernel (1.6 ulp in float16 itself)
        x32 = x.float()
        return named((x32 * tanh(softplus(x32))).half(), "MishBackward0", x)   # one node of that name
    return named(x * tanh(softplus(x)), "MishBackward0", x)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)), as ``torch.nn.functional.mish`` (softplus' stable form, so finite for
    every finite x). input: any shape -> the same."""
    _check_float("mish", input)
    return _mish_(input) if inplace else _mish(input)


# on a private copy: the composite's inner ops save their input, which in_place's record of the
# old value would otherwise count as changed by the write (a version error at backward)
_mish_ = in_place("mish_", lambda x: _mish(x.clone() if x.requires_grad else x))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|), as ``torch.nn.functional.softsign`` (integers give floats, as torch's
    division). input: any shape -> the same."""
    from .pointwise import abs as _abs
    if not isinstance(input, Tensor):
        raise TypeError(f"softsign: input must be a Tensor, got {type(input).__name__}")
    return input / (_abs(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x), as ``torch.nn.functional.tanhshrink`` (integers give the default float dtype,
    as torch's tanh; bool is refused, as torch's subtraction). input: any shape -> the same."""
    from .elementwise import tanh
    if isinstance(input, Tensor) and input.dtype.kind in "iu":
        from ..creation import get_default_dtype
        input = input.to(dtype=get_default_dtype())
    if not (isinstance(input, Tensor) and input.dtype.kind == "c"):   # (complex: x - tanh(x), as torch)
        _check_float("tanhshrink", input)
    return input - tanh(input)


def softmin(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``, as ``torch.nn.functional.softmin``; without ``dim``, torch's
    implicit choice (dim 0 for 0-, 1- and 3-D inputs, else 1) with its deprecation warning.
    input: any shape -> the same."""
    from .nn import softmax
    from ._util import warn_at_user_line
    if dim is None:
        warn_at_user_line("Implicit dimension choice for softmin has been deprecated. Change the call to "
                          "include dim=X as an argument.")
        dim = 0 if input.ndim in (0, 1, 3) else 1
    # negated before the cast, as torch's (-input).softmax(dim, dtype=dtype): a bool input is
    # refused by the negation
    return softmax(-input, dim=dim, dtype=dtype)

