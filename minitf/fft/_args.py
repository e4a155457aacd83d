"""torch.fft's arguments, checked and normalised once for every transform: ``n`` / ``s`` (signal
sizes, -1 for "as is"), ``dim`` and ``norm``, and the input's dtype (integers become the default
float dtype, as torch)."""
from __future__ import annotations

import numpy as np

from ..errors import DtypeError, ShapeError
from ..ops._util import check_dim, float_input
from ..tensor import Tensor

_NORMS = ("backward", "ortho", "forward")
# the scaling of the adjoint of a transform normalised by `norm`: its inverse normalised the other way
DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
SWAP = DUAL   # hfft / ihfft: the same exchange of directions


def check_norm(name: str, norm) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'{name}: Invalid normalization mode: "{norm}" (expected one of "forward", "backward", '
                         f'"ortho")')
    return norm


def signal_input(name: str, x) -> Tensor:
    """``x`` as a float or complex tensor (integer and bool: the default float dtype)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    x = float_input(x)
    if x.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        raise DtypeError(f"{name}: unsupported dtype {x.dtype} (float32, float64, complex64 or complex128; "
                         f"NumPy has no half-precision transforms)")
    from ..complex_guard import arm
    arm()
    return x


def one_dim(name: str, x: Tensor, n, dim):
    """(sizes, axes) for a 1-d transform: ``n`` (None: the input's size) along ``dim``."""
    if x.ndim == 0:
        raise ShapeError(f"{name}: expected a tensor with at least one dimension, got a 0-d tensor")
    d = check_dim(name, dim, x.ndim)
    n = x.shape[d] if n is None or n == -1 else int(n)
    if n < 1:
        raise ShapeError(f"{name}: Invalid number of data points ({n}) specified")
    return (n,), (d,)


def many_dims(name: str, x: Tensor, s, dim, default_all: bool = True):
    """(sizes, axes) for an n-d transform, torch's rules: ``dim`` None with ``s`` given means the last
    len(s) dims; both None: every dim (the last two for the 2-d names, which pass dim=(-2, -1));
    an ``s`` entry of -1 keeps that dim's size."""
    if dim is None:
        dims = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if s is not None and len(s) != len(dims):
        raise ShapeError(f"{name}: When given, dim and shape arguments must have the same length (s={tuple(s)}, "
                         f"dim={dims})")
    axes = tuple(check_dim(name, d, x.ndim) for d in dims) if x.ndim else ()
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{name}: dims must be unique, got {dims}")
    if not axes and x.ndim == 0 and dims:
        raise ShapeError(f"{name}: expected a tensor with at least one dimension, got a 0-d tensor")
    sizes = tuple(x.shape[a] if s is None or s[k] == -1 else int(s[k]) for k, a in enumerate(axes))
    for n in sizes:
        if n < 1:
            raise ShapeError(f"{name}: Invalid number of data points ({n}) specified")
    return sizes, axes
