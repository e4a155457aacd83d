"""The in-place ``_`` forms of the math ops of :mod:`minitf.ops.special`, ``binary_math`` and
``products`` (``x.acos_()``, ``x.addmm_(m1, m2)``...), each made by
:func:`minitf.ops.inplace_methods.from_op` with its rules (a float result into an integer x is
refused, as torch; recorded in the graph like every in-place op)."""
from __future__ import annotations

from ..errors import DtypeError
from . import binary_math as _b, products as _p, special as _s
from .inplace_methods import from_op

acos_, acosh_, asinh_, atanh_ = (from_op(n + "_", getattr(_s, n)) for n in ("acos", "acosh", "asinh", "atanh"))
erfc_, erfinv_, sgn_, frac_ = (from_op(n + "_", getattr(_s, n)) for n in ("erfc", "erfinv", "sgn", "frac"))
deg2rad_, rad2deg_, sinc_ = (from_op(n + "_", getattr(_s, n)) for n in ("deg2rad", "rad2deg", "sinc"))
xlogy_, copysign_, heaviside_ = (from_op(n + "_", getattr(_b, n)) for n in ("xlogy", "copysign", "heaviside"))
nextafter_, ldexp_ = from_op("nextafter_", _b.nextafter), from_op("ldexp_", _b.ldexp)
addmm_, addmv_, addr_ = (from_op(n + "_", getattr(_p, n)) for n in ("addmm", "addmv", "addr"))
baddbmm_, addbmm_ = from_op("baddbmm_", _p.baddbmm), from_op("addbmm_", _p.addbmm)
_float_power_ = from_op("float_power_", _b.float_power)


def float_power_(x, exponent):
    """``x.float_power_(exponent)``: only for a float64 x (a complex128 one if x or the exponent is
    complex), as torch (the result is float64, or complex128)."""
    need = "complex128" if _b.is_complex(x) or _b.is_complex(exponent) else "float64"
    if x.dtype != need:
        raise DtypeError(f"the base given to float_power_ has dtype {x.dtype} but the operation's result requires "
                         f"dtype {need} (as torch)")
    return _float_power_(x, exponent)
