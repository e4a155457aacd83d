"""More elementwise ops: abs, clamp, a tensor exponent (``x ** y``, ``2 ** x``), tril/triu masks."""
from __future__ import annotations

from ..errors import broadcast_error
from .. import backend
from ..autograd import Function
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, float_input, require_tensor
from .masking import masked, pass_bits, select
from .promotion import cast_operand, promote_operands, result_type


class Abs(Function):
    saves_output = False

    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).abs(x)

    def backward(self, g):  # d|x|/dx = sign(x), 0 at 0 and at NaN (torch's sgn(NaN) = 0)
        return (g * _sign(backend.get_array_module(g), self.x),)

    def backward_graph(self, g):  # sign(x) is piecewise constant: |x|'' = 0 away from 0
        from .elementwise import PiecewiseConstantScale
        x = self.inputs[0]
        return (PiecewiseConstantScale.apply(g, x, m=_sign(backend.get_array_module(g.data), x.data).astype(g.dtype)),)


def _sign(xp, x):
    return xp.where(x != x, x.dtype.type(0), xp.sign(x))


class Clamp(Function):
    saves_inputs = saves_output = False  # keeps a mask of its own

    def forward(self, x, lo, hi):
        xp = backend.get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        self.inside = pass_bits(inside)
        return xp.clip(x, lo, hi)

    def backward(self, g):  # 1 where lo <= x <= hi (bounds included, as PyTorch), else 0 (also for an inf g)
        return (masked(g, self.inside),)

    def backward_graph(self, g):  # the mask is piecewise constant
        return (select(g, self.inside),)


class ClampTensor(Function):
    """clamp with tensor bounds (``which``: the bounds given, "min" and/or "max"), broadcasting.
    Gradients as torch's: x gets it where min <= x <= max (ties go to x), min where x < min
    (and min < max), max where x > max or max < min (the result is max there)."""
    saves_inputs = saves_output = False  # keeps masks of its own

    def forward(self, x, *bounds, which):
        xp = backend.get_array_module(x)
        lo = bounds[0] if "min" in which else None
        hi = bounds[-1] if "max" in which else None
        out, inside, masks = x, True, []
        if lo is not None:
            out = xp.maximum(out, lo)
            inside = inside & (x >= lo)
        if hi is not None:
            out = xp.minimum(out, hi)
            inside = inside & (x <= hi)
        if lo is not None:
            masks.append((x < lo) & (lo < hi) if hi is not None else x < lo)
        if hi is not None:
            masks.append((x > hi) | (hi < lo) if lo is not None else x > hi)
        self.masks = [pass_bits(m) for m in [inside] + masks]
        return out

    def backward(self, g):   # (masked: 0 off each mask also for an inf or NaN g, as torch's select)
        return tuple(masked(g, m) for m in self.masks)

    def backward_graph(self, g):  # the masks are piecewise constant
        return tuple(select(g, m) for m in self.masks)


class Maximum(Function):
    """Elementwise maximum of two tensors, broadcasting, as ``torch.maximum``.

    The gradient goes to the larger operand, half to each where they tie, and to both where
    either is NaN (the result is NaN then), as PyTorch's."""

    saves_output = False
    largest = True

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.a, self.b = a, b
        return xp.maximum(a, b) if self.largest else xp.minimum(a, b)

    def _masks(self, dtype):
        """(scale, bits_a, bits_b): g's scale, 1/2 where the operands tie and 1 elsewhere (None
        without a tie), and the pass_bits of where each operand does not lose (a NaN operand
        neither loses nor ties: both get g); arrays of the broadcast shape."""
        a, b = self.a, self.b
        lose_a, lose_b = (a < b, a > b) if self.largest else (a > b, a < b)
        tie = a == b
        scale = (1 - tie * dtype.type(0.5)) if tie.any() else None   # (exact: 1 or 0.5)
        return scale, pass_bits(~lose_a), pass_bits(~lose_b)

    def backward(self, g):  # the engine sums each back to its operand's shape
        # torch's: g where an operand wins, g / 2 where they tie, and 0 (a select, also for an inf
        # or NaN g) where it loses; at a NaN operand both get g
        scale, bits_a, bits_b = self._masks(g.dtype)
        if scale is not None:
            g = g * scale
        return masked(g, bits_a), masked(g, bits_b)

    def backward_graph(self, g):  # piecewise constant: the same selects, recorded
        scale, bits_a, bits_b = self._masks(g.dtype)
        return select(g, bits_a, scale), select(g, bits_b, scale)


class Minimum(Maximum):
    """Elementwise minimum, as ``torch.minimum`` (the gradient to the smaller operand)."""

    largest = False


def maximum(a, b) -> Tensor:
    """Elementwise maximum of two tensors (broadcasting), as ``torch.maximum``; ``a.max(b)`` too.

    Mixed dtypes promote as minitf's other binary ops, by PyTorch's rules (float32 with a 0-d
    float64 stays float32, an integer tensor with a float32 one gives float32). A Python number
    is refused, as torch (``clamp_min(x, 3)`` takes one)."""
    require_tensor("maximum", a, "input")
    require_tensor("maximum", b)
    a, b = promote_operands(a, b)
    try:
        return Maximum.apply(a, b)
    except ValueError:
        raise broadcast_error("maximum", a.shape, b.shape) from None


def minimum(a, b) -> Tensor:
    """Elementwise minimum of two tensors (broadcasting), as ``torch.minimum``; ``a.min(b)`` too."""
    require_tensor("minimum", a, "input")
    require_tensor("minimum", b)
    a, b = promote_operands(a, b)
    try:
        return Minimum.apply(a, b)
    except ValueError:
        raise broadcast_error("minimum", a.shape, b.shape) from None


class PowTensor(Function):
    """``a ** b`` where the exponent is a tensor too (gradients to both)."""

    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, g):
        # d(a^b)/da = b a^(b-1), 0 where b = 0;  d(a^b)/db = a^b log(a), taken as 0 where a = 0 and b >= 0 (PyTorch)
        xp = backend.get_array_module(g)
        a, b = self.a, self.b
        # 0^-1 and log(0) (masked here, or inf as PyTorch's) warn of nothing: the engine's walk is quiet
        ga = g * xp.where(b == 0, 0, b * a ** (b - 1))
        gb = g * xp.where((a == 0) & (b >= 0), 0, self.y * xp.log(a))
        return ga, gb.astype(g.dtype, copy=False)

    def backward_graph(self, g):  # the same, in Tensor ops; a masked branch is fed 1 so it stays finite
        from .elementwise import log
        from .shape import Where
        a, b = self.inputs
        one, zero = as_tensor(1.0, g), as_tensor(0.0, g)
        ga = gb = None
        if a._requires_grad:
            b0 = b.data == 0
            ga = g * Where.apply(zero, b * Where.apply(one, a, cond=b0) ** (b - 1), cond=b0)
        if b._requires_grad:
            a0 = (a.data == 0) & (b.data >= 0)
            a1 = Where.apply(one, a, cond=a0)
            gb = g * Where.apply(zero, a1 ** b * log(a1), cond=a0)
        return ga, gb


class TriMask(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, diagonal, upper):
        xp = backend.get_array_module(x)
        self.diagonal, self.upper = diagonal, upper
        return xp.triu(x, diagonal) if upper else xp.tril(x, diagonal)

    def backward(self, g):  # the mask again
        xp = backend.get_array_module(g)
        return ((xp.triu(g, self.diagonal) if self.upper else xp.tril(g, self.diagonal)),)

    def backward_graph(self, g):
        return (TriMask.apply(g, **self.params),)


def abs(x: Tensor) -> Tensor:
    """|x|, elementwise (gradient sign(x), 0 at 0 and at NaN, as torch); bool refused, as torch."""
    if x.dtype.kind == "b":
        raise DtypeNotImplemented("abs: not defined for bool tensors (as torch); convert with x.int() first")
    return Abs.apply(x)


def check_clamp_bounds(min, max) -> None:
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, (int, float, Tensor)):   # (a bool is a number, as torch's)
            raise TypeError(f"clamp: {name} must be a number or a tensor, got {type(v).__name__}")


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Elementwise ``min(max(x, min), max)``; either bound may be None, a number or a tensor
    (broadcasting with x; the result has the promoted dtype and shape, as torch's).

    The gradient is 1 where min <= x <= max (bounds included, as PyTorch) and 0 outside; a
    tensor bound gets it where it is the result: min where x < min, max where x > max or
    max < min (ties go to x, as torch's).
    """
    check_clamp_bounds(min, max)
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        if x.dtype.kind == "b" and all(isinstance(v, bool) for v in (min, max) if v is not None):
            # a bool result: torch has no bool kernel for number bounds (int, float or tensor ones are fine)
            kernel = "clamp_scalar_cpu" if min is not None and max is not None else \
                f"clamp_{'min' if min is not None else 'max'}_scalar_cpu"
            raise DtypeNotImplemented(f'"{kernel}" not implemented for \'Bool\'')
        if isinstance(min, float) or isinstance(max, float):
            x = float_input(x)  # an integer tensor with a float bound: the default float dtype, as torch
        return Clamp.apply(x, lo=min, hi=max)
    which = tuple(n for n, v in (("min", min), ("max", max)) if v is not None)
    given = [v for v in (min, max) if v is not None]
    dtype = result_type(x, *given)   # torch's (an int64 x with a 0-d float32 bound: float32, not NumPy's float64)
    x = cast_operand(x, dtype, x)
    like = x._value if getattr(x, "_vmap_batched", False) else x   # (inside vmap: a batched x's device)
    bounds = [cast_operand(v, dtype, like) for v in given]  # a number next to a tensor: a constant
    return ClampTensor.apply(x, *bounds, which=which)


def pow(a, b) -> Tensor:
    """``a ** b`` with NumPy broadcasting; either may be a tensor (gradients flow to both). Integer
    tensors to negative integer tensor powers give torch's truncated values (2 ** -1 = 0)."""
    a, b = promote_operands(a, b)
    if a.dtype.kind == "b":   # both bool (one bool with a number is the mask, in arithmetic.pow)
        raise DtypeNotImplemented("pow: not defined for a bool tensor to a bool power (as torch); convert one "
                                  "with .int() first")
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        xp = backend.get_array_module(a.data)
        if bool((b.data < 0).any()):  # NumPy refuses these; torch computes them (one device read)
            try:
                return Tensor._make(_integer_power(xp, a.data, b.data), None)
            except ValueError:
                raise broadcast_error("pow", a.shape, b.shape) from None
    try:
        return PowTensor.apply(a, b)
    except ValueError:
        raise broadcast_error("pow", a.shape, b.shape) from None


def _integer_power(xp, a, b):
    """a ** b for integer arrays with some b < 0, as torch: a^b truncated toward 0 there, so 1 for
    a = 1, +-1 for a = -1 (by b's parity) and 0 otherwise (0 ** -1 included)."""
    neg = b < 0
    pos = a ** xp.where(neg, 0, b)
    special = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 == 0, 1, -1), 0))
    return xp.where(neg, special, pos).astype(pos.dtype, copy=False)


def _tri(x: Tensor, diagonal: int, upper: bool) -> Tensor:
    if x.ndim < 2:
        raise ValueError(f"{'triu' if upper else 'tril'}: needs a tensor of at least 2 dims, got shape {x.shape}")
    return TriMask.apply(x, diagonal=int(diagonal), upper=upper)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements above ``diagonal`` set to 0)."""
    return _tri(x, diagonal, False)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements below ``diagonal`` set to 0)."""
    return _tri(x, diagonal, True)




def allclose(a: Tensor, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether |a - b| <= atol + rtol |b| everywhere (a Python bool, as PyTorch)."""
    a, b = binary_operands(a, b)
    if type(a.data) is not type(b.data):
        raise backend.DeviceError(f"allclose: tensors on different devices: {a.device} and {b.device}")
    xp = backend.get_array_module(a.data)
    return bool(xp.allclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))
