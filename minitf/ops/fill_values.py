"""A fill value's conversion to the dtype it is written in, torch's rule for the fills (``fill_``,
``x[i] = v``, ``masked_fill`` and ``masked_fill_``, ``full`` with a dtype given).

torch converts a Python number to the tensor's dtype with an overflow check, and refuses one that
the dtype cannot hold ("value cannot be converted to type float without overflow"): a complex
number with a nonzero imaginary part for a real or integer tensor; for an integer tensor a
non-finite number or one beyond its range (an unsigned one takes integers down to -max, which wrap); for a
floating one a finite number beyond its largest (1e40 for float32, 65520 for float16). A bool
tensor takes anything (nonzero is True). NumPy's cast would give another value instead (0 for 1j,
the wrapped -128 for 128 in int8, inf for 1e40 in float32, the minimum int64 for inf).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentError
from ..tensor import Tensor


def fill_number(name: str, value, dtype):
    """``value`` (a Python or NumPy number) as written into a tensor of ``dtype``: a complex number
    with imaginary part 0 becomes its real part for a non-complex dtype; one that ``dtype`` cannot
    hold raises :class:`~minitf.errors.ArgumentError` (torch's RuntimeError). Anything else
    (a Tensor, an array) is returned as it is."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, complex, np.number)):
        return value
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return value
    parts = (value.real, value.imag) if isinstance(value, (complex, np.complexfloating)) else (value,)
    if dt.kind != "c" and len(parts) == 2:
        if parts[1] != 0:
            raise _overflow(name, value, dt, "its imaginary part is not 0")
        value = parts[0]
    for p in parts:
        if dt.kind in "iu":
            info = np.iinfo(dt)
            # a negative integer wraps into an unsigned dtype, as torch (-1 is 255 in uint8; NumPy's
            # full refuses it); a negative float does not
            wraps = dt.kind == "u" and isinstance(p, (int, np.integer))
            low = -int(info.max) if wraps else int(info.min)
            if not math.isfinite(p) or not low <= p <= info.max:
                raise _overflow(name, value, dt, f"outside [{low}, {info.max}]")
            if wraps and p < 0:
                value = int(p) + int(info.max) + 1
        elif math.isfinite(p) and abs(p) > float(np.finfo(dt).max):
            raise _overflow(name, value, dt, f"beyond its largest, {float(np.finfo(dt).max):g}")
    return value


def fill_tensor_value(name: str, value: Tensor, dtype) -> Tensor:
    """A 0-d tensor ``value`` for ``masked_fill`` into ``dtype``: torch reads it as a number, so a
    complex one with a nonzero imaginary part is refused for a non-complex dtype (one read-back, only
    for that mix); its real part otherwise (the cast's gradient is the real part's, without the
    cast's warning). Into an integer dtype, or into a float dtype narrower than the value's, one
    read-back checks that it fits, as for a number (a float -1.5 or 300 into uint8 would otherwise
    give NumPy's cast of it, garbage; 1e6 into float16, inf). Only a 0-d value, as torch."""
    if value.ndim != 0:
        raise ArgumentError(f"{name}: only a 0-dimensional value tensor is supported, got one with {value.ndim} "
                            f"dimension(s), as torch's masked_fill_")
    dt = np.dtype(dtype)
    # a value the dtype may not hold: an integer or a wider float into a float dtype (1e6 into
    # float16), anything into an integer one
    wider = dt.kind == "f" and (value.dtype.kind in "iu"
                                or (value.dtype.kind == "f" and value.dtype.itemsize > dt.itemsize))
    if (dt.kind in "iu" and value.dtype.kind in "iuf") or wider:
        fill_number(name, value.data.item(), dtype)
    if value.dtype.kind != "c" or dt.kind in "cb":
        return value
    from .complex_parts import real
    if bool((value.data.imag != 0).any()):
        raise _overflow(name, complex(value.data.item()), dt, "its imaginary part is not 0")
    return real(value)


def _overflow(name, value, dt, why) -> ArgumentError:
    return ArgumentError(f"{name}: value {value!r} cannot be converted to type {dt} without overflow ({why}), "
                         f"as torch")
