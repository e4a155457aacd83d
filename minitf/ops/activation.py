"""More activations, as ``torch.nn.functional``'s: leaky_relu, elu, softplus, logsigmoid, glu.

Softplus and logsigmoid are computed from e = exp(-|x|), which never
overflows: softplus(z) = max(z, 0) + log1p(e), log sigma(x) = min(x, 0) - log1p(e),
finite and accurate for every finite input (the naive log(1 + exp(z))
overflows from z = 89 in float32 and loses everything below z = -37).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import check_dim, check_floating
from .arithmetic import mul
from . import elementwise as _elementwise
from .elementwise import PiecewiseConstantScale, exp, sigmoid
from .masking import masked, pass_bits
from .shape import Where, split
from .half_math import computes_half_in_float32


def _check_float(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{name}: input must be floating point, got dtype {x.dtype}")


def in_place(name: str, out_of_place, saves_result: bool = False):
    """``name(x, *args)``: ``out_of_place(x, *args)`` written back into x, as torch's ``F.relu_``:
    with inplace.py's rules (recorded when a gradient flows, so the backward is the out-of-place
    op's; a leaf that requires grad or an expanded view refused; x's version bumped).
    ``saves_result``: torch's backward of this in-place op reads its result, x itself (relu_,
    leaky_relu_, elu_), so a later in-place change of x is an error at backward, as there, even
    though the node here kept arrays of its own and could still compute it."""
    from .inplace import _from_out_of_place

    def op(x: Tensor, *args) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
        out = _from_out_of_place(name, lambda a, _: out_of_place(a, *args))(x, None)
        if saves_result and out._fn is not None and getattr(out, "_base", None) is None:
            out._fn.saves_output = True   # this node's output is x now: the engine's version check sees x's changes
        return out
    op.__name__ = name
    return op


def _const(a) -> Tensor:
    return Tensor._make(a, None)


def _one(x: Tensor) -> Tensor:
    return _const(backend.get_array_module(x.data).ones((), dtype=x.dtype))


def _exp_neg_abs(xp, x):
    """exp(-|x|) in (0, 1]: the one exponential the stable forms need (underflow to 0 is right)."""
    with backend.quiet_underflow(xp):
        return xp.exp(-xp.abs(x))


class LeakyReLU(Function):
    saves_inputs = saves_output = False  # keeps its slope mask

    def forward(self, x, slope):
        self.scale = (x > 0).astype(x.dtype)
        self.scale += (1 - self.scale) * x.dtype.type(slope)   # 1 for x > 0, slope for x <= 0
        return x * self.scale

    def backward(self, g):  # d/dx = 1 for x > 0, negative_slope for x <= 0 (PyTorch's choice at 0)
        return (g * self.scale,)

    def backward_graph(self, g):  # the slope is piecewise constant: leaky_relu'' = 0 (recorded on x, as torch's)
        return (PiecewiseConstantScale.apply(g, self.inputs[0], m=self.scale),)


class ReLU6(Function):
    saves_inputs = saves_output = False  # keeps its pass-through mask

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.mask = pass_bits(~((x <= 0) | (x >= 6)))   # 1 on (0, 6) and at NaN, as torch's hardtanh backward
        return xp.clip(x, 0, 6).astype(x.dtype, copy=False)

    def backward(self, g):  # d/dx min(max(x, 0), 6) = 1 on (0, 6), 0 elsewhere (torch's hardtanh at the kinks)
        return (masked(g, self.mask),)   # (0 off the mask also for an inf or NaN g: torch's select)

    def backward_graph(self, g):  # the slope is piecewise constant: relu6'' = 0 (recorded on x, as torch's)
        return (PiecewiseConstantScale.apply(g, self.inputs[0], m=None, bits=self.mask),)   # (a select, as backward's)


@computes_half_in_float32
class ELU(Function):
    saves_output = False

    def forward(self, x, alpha):
        xp = backend.get_array_module(x)
        self.x, self.alpha = x, x.dtype.type(alpha)
        with backend.quiet_underflow(xp):
            neg = self.alpha * xp.expm1(xp.minimum(x, 0))   # expm1: no cancellation near 0
        return xp.where(x < 0, neg, x)   # +-0 (and NaN) come back as they are, signed, as torch's

    def backward(self, g):  # d/dx = 1 for x > 0 (and NaN, as torch's elu_backward), alpha exp(x) for x <= 0
        xp = backend.get_array_module(g)
        with backend.quiet_underflow(xp):
            d = self.alpha * xp.exp(xp.minimum(self.x, 0))
        return (g * xp.where(self.x <= 0, d, 1).astype(g.dtype, copy=False),)

    def backward_graph(self, g):
        # The same values, exp taken of x only where x < 0 (no overflow elsewhere). elu'' = alpha exp(x)
        # for x < 0 only: at x = 0 exactly, elu' = alpha exp(0) but elu'' = 0 (torch's elu_double_backward
        # masks with x < 0 where elu_backward takes x <= 0), so x enters exp only where x < 0.
        x = self.inputs[0]
        pos = ~(self.x <= 0)   # NaN with the positive side, as backward
        xn = Where.apply(_const(backend.get_array_module(g.data).zeros((), dtype=x.dtype)), x, cond=~(self.x < 0))
        return (g * Where.apply(_one(x), exp(xn) * self.alpha, cond=pos),)


@computes_half_in_float32
class Softplus(Function):
    saves_output = False

    def forward(self, x, beta, threshold):
        xp = backend.get_array_module(x)
        beta = x.dtype.type(beta)
        z = x * beta
        e = _exp_neg_abs(xp, z)
        self.linear, self.beta = z > threshold, beta   # PyTorch returns x itself above the threshold
        self.threshold = z.dtype.type(threshold)
        self.sig = xp.maximum(z >= 0, e) / (1 + e)   # sigma(beta x): numerator 1 or e, stable for both signs
        y = (xp.maximum(z, 0) + xp.log1p(e)) / beta
        return xp.where(self.linear, x, y)

    def backward(self, g):  # d/dx = sigma(beta x), 1 above the threshold
        xp = backend.get_array_module(g)
        return (g * xp.where(self.linear, 1, self.sig).astype(g.dtype, copy=False),)

    def backward_graph(self, g):
        # softplus'' = beta sigma'(beta x) below the threshold only: at beta x = threshold exactly
        # softplus' is still sigma(beta x) (torch's softplus_backward: linear above, >) but softplus''
        # is 0 (softplus_double_backward masks with beta x < threshold), so there sigma reads a constant.
        x = self.inputs[0]
        z = x * self.beta
        z = Where.apply(_const(z.data), z, cond=z.data == self.threshold)
        return (g * Where.apply(_one(x), sigmoid(z), cond=self.linear),)


@computes_half_in_float32
class LogSigmoid(Function):
    saves_output = False

    def forward(self, x):
        xp = backend.get_array_module(x)
        e = _exp_neg_abs(xp, x)
        self.dsig = xp.maximum(x < 0, e) / (1 + e)   # 1 - sigma(x) = sigma(-x): numerator e or 1
        return xp.minimum(x, 0) - xp.log1p(e)

    def backward(self, g):  # d/dx log sigma(x) = 1 - sigma(x)
        return (g * self.dsig,)

    def backward_graph(self, g):
        return (g * sigmoid(-self.inputs[0]),)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise, elementwise, as ``torch.nn.functional.leaky_relu``.
    input: any shape -> the same shape."""
    _check_float("leaky_relu", input)
    if inplace:
        return leaky_relu_(input, negative_slope)
    return LeakyReLU.apply(input, slope=float(negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise, elementwise, as ``torch.nn.functional.elu``.
    input: any shape -> the same shape."""
    _check_float("elu", input)
    if inplace:
        return elu_(input, alpha)
    return ELU.apply(input, alpha=float(alpha))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), as ``torch.nn.functional.relu6`` (gradient 0 at 0 and 6, as torch's);
    ``inplace=True`` writes it into ``input``. Integer tensors are clamped in their dtype, as
    torch's hardtanh (bool refused, as torch). input: any shape -> the same shape."""
    if isinstance(input, Tensor) and input.dtype.kind in "iu":
        pass  # torch clamps integers too (no gradient to worry about)
    elif isinstance(input, Tensor) and input.dtype.kind == "b":
        raise DtypeNotImplemented("relu6: bool inputs are not supported (as torch's hardtanh)")
    else:
        _check_float("relu6", input)
    return _relu6_(input) if inplace else ReLU6.apply(input)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1,
                   generator=None) -> Tensor:
    """A sample from the Gumbel-softmax (concrete) distribution, as ``torch.nn.functional.gumbel_softmax``:
    softmax((logits + g) / tau) along ``dim``, g = -log(-log(u)) standard Gumbel noise drawn from
    the device's generator (or ``generator``). ``hard=True``: the one-hot of its argmax in the
    forward pass, the soft sample's gradient in the backward (straight-through:
    y_hard - y_soft.detach() + y_soft). ``eps`` is accepted for torch's signature and unused, as
    torch's. logits: (..., n, ...) -> the same shape; differentiable in ``logits``."""
    from ..generator import resolve
    from .nn import softmax
    _check_float("gumbel_softmax", logits)
    if not tau > 0:
        raise ValueError(f"gumbel_softmax: tau must be > 0, got {tau}")
    xp = backend.get_array_module(logits.data)
    gen = resolve(generator, logits.device, "gumbel_softmax")
    tiny = np.finfo(logits.dtype).tiny
    u = gen.random(logits.shape, dtype=logits.dtype)
    with backend.quiet_underflow(xp):
        gumbels = -xp.log(-xp.log(xp.maximum(u, tiny)))   # u = 0 would give -inf noise; torch's exponential_ never does
    y = softmax((logits + _const(gumbels.astype(logits.dtype, copy=False))) / float(tau), dim=dim)
    if not hard:
        return y
    axis = check_dim("gumbel_softmax", dim, y.ndim)
    index = xp.expand_dims(xp.argmax(y.data, axis=axis), axis)
    positions = xp.arange(y.shape[axis]).reshape([-1 if d == axis else 1 for d in range(y.ndim)])
    one_hot = (positions == index).astype(y.dtype)
    return _const(one_hot) - y.detach() + y


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), as ``torch.nn.functional.relu``: ``inplace=True`` writes it into ``input``
    (:func:`relu_`). input: any shape -> the same shape."""
    return relu_(input) if inplace else _elementwise.relu(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x), as ``torch.nn.functional.silu``; ``inplace=True`` writes it into ``input``."""
    if inplace:
        check_floating(input, "silu")
        return _silu_(input)
    return _elementwise.silu(input)


relu_ = in_place("relu_", _elementwise.relu, saves_result=True)
relu_.__doc__ = "max(x, 0) written into x, as ``torch.relu_`` / ``F.relu_`` (differentiable, as out of place)."
_leaky_relu_ = in_place("leaky_relu_", lambda a, slope: LeakyReLU.apply(a, slope=slope), saves_result=True)
_elu_ = in_place("elu_", lambda a, alpha: ELU.apply(a, alpha=alpha), saves_result=True)
_silu_ = in_place("silu_", _elementwise.silu)
_relu6_ = in_place("relu6_", lambda a: ReLU6.apply(a))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``leaky_relu`` written into ``input``, as ``F.leaky_relu_``."""
    _check_float("leaky_relu_", input)
    return _leaky_relu_(input, float(negative_slope))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``elu`` written into ``input``, as ``F.elu_``."""
    _check_float("elu_", input)
    return _elu_(input, float(alpha))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, elementwise, as ``torch.nn.functional.softplus``; where
    beta x > threshold the result is x itself (as PyTorch). Stable for every finite input.
    input: any shape -> the same shape."""
    _check_float("softplus", input)
    if float(beta) == 0:
        raise ValueError("softplus: beta must be non-zero (the result divides by it)")
    return Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def logsigmoid(input: Tensor) -> Tensor:
    """log(1 / (1 + exp(-x))), elementwise, as ``torch.nn.functional.logsigmoid``: stable for
    every finite input (x for x << 0, -exp(-x) for x >> 0). input: any shape -> the same shape."""
    _check_float("logsigmoid", input)
    return LogSigmoid.apply(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit, as ``torch.nn.functional.glu``: a * sigmoid(b), where a and b are the
    first and second halves of ``input`` along ``dim``.

    input: (..., 2n, ...) -> (..., n, ...); the size along ``dim`` must be even.
    """
    _check_float("glu", input)
    if input.ndim == 0:
        raise ValueError("glu: input must have at least one dimension, got a 0-d tensor")
    d = check_dim("glu", dim, input.ndim)
    if input.shape[d] % 2:
        raise ValueError(f"glu: the size of dim {dim} must be even (it is halved), got {input.shape[d]} "
                         f"in shape {input.shape}")
    a, b = split(input, input.shape[d] // 2, axis=d)
    return mul(a, sigmoid(b))
