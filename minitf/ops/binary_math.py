"""torch's binary elementwise math that minitf lacked, each with its derivative beside it:
xlogy, xlog1py, logaddexp, logaddexp2, float_power, copysign, ldexp, fmax, fmin, and the
ones torch does not differentiate (heaviside) or differentiates trivially (nextafter).

Operands broadcast and promote by torch's rules (:func:`promote_operands`); ops whose values
are floats give the default float dtype for integer operands, as torch (float_power: always
float64). Where torch takes only tensors (logaddexp, fmax, ldexp, ...) a Python number is
refused with torch's TypeError; xlogy, copysign and float_power take numbers, as torch.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError, DtypeNotImplemented, broadcast_error
from ..tensor import Tensor
from . import elementwise as _e, unary as _u
from ._util import require_tensor
from .promotion import promote_operands

def _const(a, like: Tensor) -> Tensor:
    return Tensor._make(a.astype(like.dtype, copy=False), None)


def _operands(name, a, b, *, numbers: bool, floats: bool):
    """Both operands as tensors of one dtype (torch's promotion), floats if ``floats``."""
    if not numbers:
        require_tensor(name, a, "input")
        require_tensor(name, b)
    elif not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}(): at least one operand must be a Tensor")
    # floats: each operand goes straight to the float result dtype, as torch computes them: a
    # uint8 tensor's -3 stays -3 (through uint8 it would wrap to 253 first)
    return promote_operands(a, b, true_division=floats)


def _apply(name, cls, a, b, **params):
    try:
        return cls.apply(a, b, **params)
    except ValueError:
        raise broadcast_error(name, a.shape, b.shape) from None


class Xlogy(Function):
    """x log(y), 0 where x == 0 unless y is NaN (torch.xlogy); ``log1p``: x log(1 + y)
    (torch.special.xlog1py). d/dx = log(y), 0 where x == 0 and y <= 0 (log1p: y <= -1), where
    log is -inf or NaN (torch's); d/dy = x / y (x / (1 + y)): NaN at x = y = 0, as torch's."""

    log1p = False

    def forward(self, x, y):
        xp = backend.get_array_module(x)
        self.x, self.y = x, y
        self.zero = (x == 0) & (y == y)
        ly = xp.log1p(y) if self.log1p else xp.log(y)
        self.ly = ly
        self.no_slope = (x == 0) & (y <= (-1 if self.log1p else 0))
        return xp.where(self.zero, x.dtype.type(0), x * ly)

    def backward(self, g):
        xp = backend.get_array_module(g)
        return (g * xp.where(self.no_slope, g.dtype.type(0), self.ly),
                g * self.x / ((1 + self.y) if self.log1p else self.y))

    def backward_graph(self, g):
        from .shape import where
        x, y = self.inputs
        ly = _u.log1p(y) if self.log1p else _e.log(y)
        return g * where(Tensor._make(self.no_slope, None), 0.0, ly), g * x / ((1 + y) if self.log1p else y)


class Xlog1py(Xlogy):
    log1p = True


def xlogy(x, y) -> Tensor:
    """x * log(y) elementwise with broadcasting, 0 where x == 0 (unless y is NaN), as torch.xlogy;
    either operand may be a number. Gradients as torch's: log(y) to x (0 where x == 0 and y <= 0),
    x / y to y."""
    x, y = _operands("xlogy", x, y, numbers=True, floats=True)
    return _apply("xlogy", Xlogy, x, y)


def xlog1py(x, y) -> Tensor:
    """x * log1p(y) elementwise with broadcasting, 0 where x == 0 (unless y is NaN), as
    torch.special.xlog1py. Gradients: log1p(y) to x (0 where x == 0 and y <= -1), x / (1 + y) to y."""
    x, y = _operands("xlog1py", x, y, numbers=True, floats=True)
    return _apply("xlog1py", Xlog1py, x, y)


class LogAddExp(Function):
    """log(e^a + e^b) (base 2 with ``base2``: log2(2^a + 2^b)), by the backend's stable
    logaddexp. d/da = 1 / (1 + e^(b - a)), d/db = 1 / (1 + e^(a - b)) (2^ for base 2), torch's."""

    base2 = False

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.a, self.b = a, b
        return xp.logaddexp2(a, b) if self.base2 else xp.logaddexp(a, b)

    def backward(self, g):
        xp = backend.get_array_module(g)
        up = xp.exp2 if self.base2 else xp.exp
        return g / (1 + up(self.b - self.a)), g / (1 + up(self.a - self.b))

    def backward_graph(self, g):
        from .more_math import exp2
        a, b = self.inputs
        up = exp2 if self.base2 else _e.exp
        return g / (1 + up(b - a)), g / (1 + up(a - b))


class LogAddExp2(LogAddExp):
    base2 = True


def _floating_only(name, a, b):
    for t in (a, b):
        if t.dtype.kind == "c" and name == "logaddexp":   # (torch has a complex logaddexp: not "as torch")
            from ..complex_guard import unsupported
            raise unsupported(name)
        if t.dtype.kind != "f":
            raise DtypeNotImplemented(f"{name}: not implemented for {t.dtype} tensors (as torch); convert "
                                      f"with x.float() first")


def logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) elementwise with broadcasting, without overflow, as torch.logaddexp
    (complex tensors too, the principal log). Tensors only; integer tensors alone are refused (as
    torch), an integer with a float promotes."""
    a, b = _operands("logaddexp", a, b, numbers=False, floats=False)
    if a.dtype.kind != "c":   # (complex: max + log1p(exp(min - max)), ordered by the real part, as torch)
        _floating_only("logaddexp", a, b)
    return _apply("logaddexp", LogAddExp, a, b)


def logaddexp2(a: Tensor, b: Tensor) -> Tensor:
    """log2(2^a + 2^b) elementwise with broadcasting, without overflow, as torch.logaddexp2."""
    a, b = _operands("logaddexp2", a, b, numbers=False, floats=False)
    _floating_only("logaddexp2", a, b)
    return _apply("logaddexp2", LogAddExp2, a, b)


def is_complex(o) -> bool:
    """Whether ``o`` (a Tensor or a number) is complex."""
    return o.dtype.kind == "c" if isinstance(o, Tensor) else isinstance(o, (complex, np.complexfloating))


def float_power(a, b) -> Tensor:
    """a ** b computed in float64 whatever the operands' dtypes (a float64 result), or in
    complex128 if either is complex (a tensor or a number), as torch.float_power; either may be a
    number. Differentiable in both (the gradient comes back in each tensor's own dtype). a, b:
    broadcastable shapes -> their broadcast shape."""
    from .arithmetic import pow
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError("float_power(): at least one operand must be a Tensor")
    # (a complex operand cast to float64 lost its imaginary part: float_power(1 + 2j, 3) was 1)
    dt, number = ("complex128", complex) if is_complex(a) or is_complex(b) else ("float64", float)
    a = a.to(dtype=dt) if isinstance(a, Tensor) else number(a)
    b = b.to(dtype=dt) if isinstance(b, Tensor) else number(b)
    if not isinstance(a, Tensor):
        from ._util import scalar_tensor
        a = scalar_tensor(a, dt, b)
    try:
        return pow(a, b)
    except ValueError:
        raise broadcast_error("float_power", a.shape, getattr(b, "shape", ())) from None


class CopySign(Function):
    """|a| with b's sign (-0.0 and NaN signs count), as torch.copysign. d/da = copysign(a, b) / a
    (+-1; 0 where a == 0, torch's masked ratio), d/db = 0."""

    saves_inputs = saves_output = False

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        out = xp.copysign(a, b)
        zero = a == 0
        self.ratio = xp.where(zero, a.dtype.type(0), out / xp.where(zero, a.dtype.type(1), a))
        return out

    def backward(self, g):
        return g * self.ratio, backend.get_array_module(g).zeros_like(g)

    def backward_graph(self, g):  # piecewise constant in a: the ratio is a constant
        return g * _const(self.ratio, g), g * 0


def copysign(a, b) -> Tensor:
    """The magnitude of ``a`` with the sign of ``b`` elementwise with broadcasting, as
    torch.copysign (``b`` may be a number; integers give the default float dtype). Gradient: +-1
    to a (0 where a == 0), 0 to b."""
    require_tensor("copysign", a, "input")
    a, b = _operands("copysign", a, b, numbers=True, floats=True)
    return _apply("copysign", CopySign, a, b)


class NextAfter(Function):
    """The next float after a towards b. torch's gradient: 1 to a where a != b (0 where they are
    equal: the result is b there), 0 to b."""

    saves_inputs = saves_output = False

    def forward(self, a, b):
        self.moves = a != b
        return backend.get_array_module(a).nextafter(a, b)

    def backward(self, g):
        xp = backend.get_array_module(g)
        return xp.where(self.moves, g, g.dtype.type(0)), xp.zeros_like(g)

    def backward_graph(self, g):
        from .shape import where
        return where(Tensor._make(self.moves, None), g, 0.0), g * 0


def nextafter(a: Tensor, b: Tensor) -> Tensor:
    """The next representable float after ``a`` towards ``b``, elementwise with broadcasting,
    as torch.nextafter (floating tensors; the gradient, as torch's, 1 to a where a != b, else 0)."""
    a, b = _operands("nextafter", a, b, numbers=False, floats=False)
    _floating_only("nextafter", a, b)
    return _apply("nextafter", NextAfter, a, b)


class LdexpInt(Function):
    """x 2^n for an integer exponent n (a constant): the exponent added, no 2^n formed first, so
    ldexp(2^-10, 20) is 1024 in float16 (exp2(20) would overflow there). dx = g 2^n."""
    saves_output = False

    def forward(self, x, n):
        xp = backend.get_array_module(x)
        self.n = n
        return xp.ldexp(x, n).astype(x.dtype, copy=False)

    def backward(self, g):
        xp = backend.get_array_module(g)
        return (xp.ldexp(g, self.n).astype(g.dtype, copy=False),)

    def backward_graph(self, g):   # linear in x: the same slope, recorded
        return (LdexpInt.apply(g, n=self.n),)


def ldexp(x: Tensor, other: Tensor) -> Tensor:
    """x * 2^other elementwise with broadcasting, as torch.ldexp (tensors only; integers give the
    default float dtype). Differentiable in both: 2^other to x, x 2^other ln 2 to other. An integer
    exponent is added to x's (NumPy's ldexp), as torch's: no overflow of 2^other on the way."""
    from .more_math import exp2
    integer = isinstance(other, Tensor) and other.dtype.kind in "iu"
    n = other
    x, other = _operands("ldexp", x, other, numbers=False, floats=True)
    try:
        if integer:
            shape = np.broadcast_shapes(x.shape, n.shape)
            from ..grad_fn_names import named
            y = LdexpInt.apply(x.expand(shape) if x.shape != shape else x,
                               n=backend.get_array_module(n.data).broadcast_to(n.data.astype(np.int64), shape))
            return named(y, "LdexpBackward0", x)
        return x * exp2(other)
    except ValueError:
        raise broadcast_error("ldexp", x.shape, other.shape) from None


class FMax(Function):
    """The larger of a and b elementwise, a NaN losing to a number (NaN only where both are),
    as torch.fmax (``largest=False``: fmin). The gradient goes to a where a >= b (a <= b for
    fmin; ties to a) or b is NaN, else to b, as torch's."""

    saves_inputs = saves_output = False
    largest = True

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.to_a = ((a >= b) if self.largest else (a <= b)) | (b != b)
        return xp.where(self.to_a, a, b)   # (a on a tie, as torch's: NumPy's fmax picks +0 or -0 by its loop)

    def _split(self, g, xp):
        zero = g.dtype.type(0)
        return xp.where(self.to_a, g, zero), xp.where(self.to_a, zero, g)

    def backward(self, g):
        return self._split(g, backend.get_array_module(g))

    def backward_graph(self, g):  # piecewise: the choice is a constant mask
        from .shape import where
        mask = Tensor._make(self.to_a, None)
        return where(mask, g, 0.0), where(mask, 0.0, g)


class FMin(FMax):
    largest = False


def fmax(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise maximum ignoring NaN (NaN only where both are), broadcasting, as torch.fmax
    (tensors only; integers allowed). Gradient to the chosen operand (a on ties)."""
    a, b = _operands("fmax", a, b, numbers=False, floats=False)
    return _apply("fmax", FMax, a, b)


def fmin(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise minimum ignoring NaN (NaN only where both are), broadcasting, as torch.fmin."""
    a, b = _operands("fmin", a, b, numbers=False, floats=False)
    return _apply("fmin", FMin, a, b)


def heaviside(x: Tensor, values: Tensor) -> Tensor:
    """The step function: 0 where x < 0 (and where x is NaN, as torch), ``values`` where x == 0,
    1 where x > 0, broadcasting, as torch.heaviside. x and values must share a dtype (torch's
    rule). Outside the graph: torch defines no derivative for it."""
    require_tensor("heaviside", x, "input")
    require_tensor("heaviside", values, "values")
    if x.dtype != values.dtype:
        raise DtypeError(f"heaviside is not yet implemented for tensors with different dtypes ({x.dtype} and "
                         f"{values.dtype}), as torch")
    from ._util import check_same_device
    check_same_device("heaviside", [x, values])
    if x.dtype.kind == "c":
        from ..complex_guard import refuse
        refuse("heaviside", x)
    xp = backend.get_array_module(x.data)
    a = x.data
    try:
        out = xp.where(a == 0, values.data, (a > 0).astype(a.dtype))
    except ValueError:
        raise broadcast_error("heaviside", x.shape, values.shape) from None
    return Tensor._make(out.astype(a.dtype, copy=False), None)


__all__ = ["xlogy", "xlog1py", "logaddexp", "logaddexp2", "float_power", "copysign", "nextafter", "ldexp",
           "fmax", "fmin", "heaviside"]
