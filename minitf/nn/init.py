"""In-place initialisers drawing from minitf's seeded generators, under ``torch.nn.init``'s names.

Draws happen on the host (the CPU default generator unless one is given), in
float64, and are then cast and copied to the parameter's device: the same
seed gives the same weights on every device and dtype (not torch's weights:
the generators differ, the distributions are the same). The scale rules
(:func:`calculate_gain`, the fans of :func:`_calculate_fan_in_and_fan_out`)
are PyTorch's exactly. ``eye_``, ``dirac_`` (identity-preserving, no draws) and
``sparse_`` are here too, and the deprecated names without the underscore
(``normal``, ``xavier_uniform``, ...), which warn as torch's do.

    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5))   # weight: (out, in[, k...])
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd import bump_version
from ..ops._util import check_writable
from ..tensor import Tensor


def _fill(tensor: Tensor, host: np.ndarray, drawn: bool = True) -> Tensor:
    """Copy ``host`` into ``tensor`` in place; a graph that saved ``tensor`` then refuses to use it (version).
    ``drawn``: random draws, which need a floating-point ``tensor`` (zeros, ones, constants do not)."""
    if drawn and tensor.dtype.kind != "f":
        raise TypeError(f"nn.init: cannot fill a {tensor.dtype} tensor with draws from a distribution "
                        f"(it must be floating point, as in PyTorch)")
    check_writable(tensor, "nn.init")
    tensor.data[...] = backend.to_device(host.astype(tensor.dtype), tensor.device)
    bump_version(tensor)
    return tensor


def _gen(generator):
    # the draws happen on the host, so a minitf Generator must be a CPU one (torch refuses
    # a generator of another device too)
    from ..generator import resolve
    return resolve(generator, "cpu", "nn.init", where="the draws (made on the host)")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill ``tensor`` with samples of N(mean, std^2)."""
    return _fill(tensor, mean + std * _gen(generator).standard_normal(tensor.shape))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill ``tensor`` with samples of U(a, b)."""
    return _fill(tensor, a + (b - a) * _gen(generator).random(tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, np.zeros(tensor.shape), drawn=False)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, np.ones(tensor.shape), drawn=False)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val``."""
    return _fill(tensor, np.full(tensor.shape, val), drawn=False)


_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain PyTorch recommends for a nonlinearity (the factor on the std of the weights).

    1 for linear layers, convolutions and sigmoid; 5/3 for tanh; sqrt(2) for
    relu; sqrt(2 / (1 + slope^2)) for leaky_relu (``param``: the negative
    slope, default 0.01); 3/4 for selu. Anything else is a ValueError.
    """
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4   # PyTorch's value, found empirically
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """PyTorch's fans of a weight ``(out, in, *kernel)``: (in * prod(kernel), out * prod(kernel))."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions "
                         f"(shape {tensor.shape})")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported: use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-bound, bound), bound = gain sqrt(6 / (fan_in + fan_out)); ``tensor``: (out, in, ...)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)); ``tensor``: (out, in, ...)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a, mode, nonlinearity):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He uniform: U(-bound, bound), bound = sqrt(3) gain / sqrt(fan), gain = ``calculate_gain(nonlinearity, a)``
    and fan the ``mode`` fan of ``tensor``: (out, in, ...). ``nn.Linear``'s default is ``a=sqrt(5)``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """He normal: N(0, std^2), std = gain / sqrt(fan) (as :func:`kaiming_uniform_`)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill ``tensor`` with N(mean, std^2) truncated to [a, b] (the bounds are absolute values, as in PyTorch).

    Exact rejection sampling, as PyTorch's: normal draws kept inside [a, b]
    when that holds more than 30% of the mass, otherwise uniform draws on
    [a, b] kept with probability pdf(x) / pdf(mode); that second way needs
    finite bounds. Warns, as PyTorch, when the mean is more than 2 std
    outside [a, b].
    """
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")
    if not a <= b:
        raise ValueError(f"trunc_normal_: need a <= b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    gen, n = _gen(generator), int(np.prod(tensor.shape))
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if mass > 0.3:
        out = mean + std * gen.standard_normal(n)
        bad = (out < a) | (out > b)
        while bad.any():   # redraw the rejected ones (each round keeps > 30% of them)
            out[bad] = mean + std * gen.standard_normal(int(bad.sum()))
            bad = (out < a) | (out > b)
    else:
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds {mass:.3g} of the mass; sampling "
                             f"such a tail needs finite bounds")
        log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
        out = np.empty(n)
        pending = np.ones(n, dtype=bool)
        while pending.any():
            k = int(pending.sum())
            cand = a + (b - a) * gen.random(k)
            keep = np.log(gen.random(k)) <= -0.5 * ((cand - mean) / std) ** 2 - log_peak
            idx = np.flatnonzero(pending)
            out[idx[keep]] = cand[keep]
            pending[idx[keep]] = False
    return _fill(tensor, out.reshape(tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``, uniform over such matrices, as PyTorch's.

    ``tensor``: (rows, ...) is seen as (rows, cols = numel / rows); its rows (if
    rows <= cols) or columns are orthonormal: the Q of the QR decomposition of
    a standard normal matrix, its columns' signs set by diag(R).
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _gen(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))   # makes Q uniform (Haar), as PyTorch does after Mezzadri
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(tensor.shape))


# ---------------------------------------------------------------- identities, sparse, deprecated names
def eye_(tensor: Tensor) -> Tensor:
    """Fill the 2-d ``tensor``: (rows, cols) with the identity (ones on the main diagonal), as PyTorch's:
    a Linear keeps as many of its inputs as it can."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape), drawn=False)


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a convolution weight ``tensor``: (out, in, *kernel), 1 to 3 kernel dims, with the Dirac delta.

    Within each of ``groups`` blocks of out / groups output channels, channel d
    gets a 1 at input channel d and the kernel's centre (index k // 2), for d <
    min(out / groups, in): the convolution passes those channels through unchanged.
    """
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape {tensor.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"dirac_: groups must be a positive int, got {groups!r}")
    if tensor.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups ({groups})")
    per_group = tensor.shape[0] // groups
    d = np.arange(min(per_group, tensor.shape[1]))
    out = (np.arange(groups)[:, None] * per_group + d).ravel()
    host = np.zeros(tensor.shape)
    host[(out, np.tile(d, groups)) + tuple(k // 2 for k in tensor.shape[2:])] = 1
    return _fill(tensor, host, drawn=False)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill the 2-d ``tensor``: (rows, cols) with N(0, std^2) draws and then zero ceil(sparsity * rows)
    random entries of each column (Martens 2010), as PyTorch's."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    rows, cols = tensor.shape
    n_zeros = math.ceil(sparsity * rows)
    gen = _gen(generator)
    host = std * gen.standard_normal((rows, cols))
    # a random permutation of the rows per column, all at once: the first n_zeros of each are zeroed
    zero_rows = gen.random((rows, cols)).argsort(axis=0)[:n_zeros]
    host[zero_rows, np.arange(cols)] = 0.0
    return _fill(tensor, host)


def _deprecated(fn):
    new = fn.__name__
    old = new[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new}`.", FutureWarning,
                      stacklevel=2)
        return fn(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old
    deprecated_init.__doc__ = f"Deprecated name of :func:`{new}` (warns, as torch's ``nn.init.{old}``)."
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
