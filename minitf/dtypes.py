"""dtype objects with PyTorch's names (``mt.float32``, ``mt.int64``, ``mt.bool``...).

They are NumPy dtypes, so ``x.dtype == mt.float32`` holds and every function that takes
a dtype (a name such as ``"float32"``, a NumPy dtype or one of these) accepts them.
"""
import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
# complex dtypes (minitf/complex_guard.py: the ops that take them, and the one error of the others)
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)


def finfo(dtype=None):
    """The limits of a float dtype (``eps``, ``max``, ``min``, ``tiny``, ``bits``,
    ``resolution``), as torch.finfo; the default float dtype when none is given. NumPy's
    ``np.finfo``, whose fields have torch's names. A complex dtype gives its parts' float dtype's
    limits, as torch (``finfo(complex64)`` is float32's)."""
    from .creation import get_default_dtype
    from .tensor import _check_dtype
    dt = get_default_dtype() if dtype is None else _check_dtype(dtype)
    if dt.kind == "c":
        dt = np.dtype(dt.char.lower())   # complex64 -> float32, complex128 -> float64
    if dt.kind != "f":
        raise TypeError(f"finfo: expected a floating point dtype, got {dt} (iinfo takes integer ones)")
    return np.finfo(dt)


def iinfo(dtype):
    """The limits of an integer dtype (``min``, ``max``, ``bits``), as torch.iinfo (NumPy's ``np.iinfo``)."""
    from .tensor import _check_dtype
    dt = _check_dtype(dtype)
    if dt.kind not in "iu":
        raise TypeError(f"iinfo: expected an integer dtype, got {dt} (finfo takes floating ones)")
    return np.iinfo(dt)


# the dtypes a tensor may have, by name (the names that dtype= arguments accept)
_DTYPE_NAMES = {"float16": np.float16, "float32": np.float32, "float64": np.float64,
                "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
                "bool": np.bool_, "uint8": np.uint8, "complex64": np.complex64, "complex128": np.complex128}


def _check_dtype(dtype):
    """Normalise a dtype given as a NumPy dtype or a name; raise for anything unknown."""
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}: expected one of {sorted(_DTYPE_NAMES)}")
        dt = np.dtype(_DTYPE_NAMES[dtype])
        if dt.kind == "c":
            _arm_complex()
        return dt
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None
    if dt.type not in _DTYPE_NAMES.values():
        raise TypeError(f"unsupported dtype {dt}: expected one of {sorted(_DTYPE_NAMES)}")
    if dt.kind == "c":
        _arm_complex()
    return dt


def _arm_complex() -> None:
    """A complex dtype was named: from now on every op checks its inputs (minitf/complex_guard.py)."""
    from .complex_guard import arm
    arm()
