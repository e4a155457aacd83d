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


def finfo(dtype=None):
    """The limits of a float dtype (``eps``, ``max``, ``min``, ``tiny``, ``bits``,
    ``resolution``), as torch.finfo; the default float dtype when none is given. NumPy's
    ``np.finfo``, whose fields have torch's names."""
    from .creation import get_default_dtype
    from .tensor import _check_dtype
    dt = get_default_dtype() if dtype is None else _check_dtype(dtype)
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
                "bool": np.bool_, "uint8": np.uint8}


def _check_dtype(dtype):
    """Normalise a dtype given as a NumPy dtype or a name; raise for anything unknown."""
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}: expected one of {sorted(_DTYPE_NAMES)}")
        return np.dtype(_DTYPE_NAMES[dtype])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None
    if dt.type not in _DTYPE_NAMES.values():
        raise TypeError(f"unsupported dtype {dt}: expected one of {sorted(_DTYPE_NAMES)}")
    return dt
