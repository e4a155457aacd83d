"""Channel-wise and SELU-preserving dropout, as torch's: ``dropout1d``/``2d``/``3d`` (a whole channel
zeroed at a time), ``alpha_dropout`` and ``feature_alpha_dropout``.

All draw one uniform per mask entry from ``generator`` (or the device's default) and keep an
entry where it is >= p (probability 1 - p), as :func:`minitf.functional.dropout`; the channel
versions draw a mask of shape (N, C, 1, ..., 1) that broadcasts over the spatial dims.

Alpha dropout (Klambauer et al., 2017) sets a dropped activation to SELU's negative saturation
-alpha' (alpha' = lambda alpha = 1.7580993408473766), then applies the affine map a y + b that keeps
a zero-mean, unit-variance input at zero mean and unit variance:

    a = 1 / sqrt((alpha'^2 p + 1) (1 - p)),   b = a alpha' p
    out = a x + b (kept),   out = -a alpha' + b (dropped)

which is torch's ``x * (keep a) + ((keep - 1) a alpha' + a alpha' p)``. The backward of each is
``g * keep`` (times a), the Dropout op's.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, ShapeError
from ..generator import resolve
from ..tensor import Tensor
from ._util import warn_at_user_line
from .nn import Dropout

_SELU_SATURATION = 1.7580993408473766   # SELU's lambda * alpha: -this is where SELU saturates


class _Affine(Function):
    """x -> x * scale + shift, scale and shift constants broadcastable to x (alpha dropout's map, one
    node: an in-place call records it as a single op)."""
    saves_inputs = saves_output = False

    def forward(self, x, scale, shift):
        return x * scale + shift

    def backward(self, g):  # d(x scale + shift)/dx = scale
        return (g * self.params["scale"],)

    def backward_graph(self, g):
        return (g * Tensor._make(self.params["scale"], None),)


def _check(name: str, x, p) -> None:
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")


def _draw(x: Tensor, shape, p: float, generator, name: str):
    """1 where the entry is kept (probability 1 - p), else 0, in x's dtype, ``shape`` broadcastable to x."""
    if x.dtype.kind != "f":
        raise DtypeError(f"{name}: the input must be floating point, got {x.dtype} (as PyTorch)")
    xp = backend.get_array_module(x.data)
    if p == 1.0:
        return xp.zeros(shape, dtype=x.dtype)
    gen = resolve(generator, x.device, name)
    return (gen.random(shape, dtype=x.dtype) >= p).astype(x.dtype)


def _feature_shape(name: str, shape, batched: bool):
    """The mask shape of channel dropout: (N, C, 1, ...) of the batched view of ``shape`` (an
    unbatched input counts as one sample, torch's ``unsqueeze(0)``)."""
    full = tuple(shape) if batched else (1,) + tuple(shape)
    if len(full) < 2:
        raise ShapeError("Feature dropout requires at least 2 dimensions in the input")
    mask = full[:2] + (1,) * (len(full) - 2)
    return mask if batched else mask[1:]


def _apply(name: str, x: Tensor, inplace: bool, fn) -> Tensor:
    if inplace:
        from .activation import in_place
        return in_place(name + "_", fn)(x)
    return fn(x)


def _feature_dropout(name, x, p, training, inplace, generator, batched):
    if not training or p == 0.0:
        return x
    mask_shape = _feature_shape(name, x.shape, batched)

    def run(a):
        keep = _draw(a, mask_shape, p, generator, name)
        scale = 1.0 if p == 1.0 else 1.0 / (1.0 - p)
        return Dropout.apply(a, keep=keep * a.dtype.type(scale))
    return _apply(name, x, inplace, run)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator=None) -> Tensor:
    """Zero whole channels, each with probability ``p``, scaling the rest by 1/(1-p), as
    ``torch.nn.functional.dropout1d``.

    input: (N, C, L) or (C, L) (other ranks are an error, as torch's) -> the same shape; one draw
    per (n, c). The identity when ``training`` is False or p is 0.
    """
    _check("dropout1d", input, p)
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                         "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                         "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout("dropout1d", input, p, training, inplace, generator, input.ndim == 3)


def _deprecated_rank(name: str, ndim: int, d: int) -> None:
    warn_at_user_line(f"{name}: Received a {ndim}-D input to {name}, which is deprecated and will result in an "
                      f"error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that {name} exists to provide channel-wise dropout on inputs with "
                      f"{d} spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{d + 1}D or {d + 2}D inputs).")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator=None) -> Tensor:
    """Zero whole channels, as ``torch.nn.functional.dropout2d``.

    input: (N, C, H, W) -> the same shape, one draw per (n, c). As torch 2.13: a 3-D input is read
    as (N, C, L) (1-D channel dropout, with torch's warning that this will change to (C, H, W));
    other ranks warn (deprecated) and drop per (dim 0, dim 1).
    """
    _check("dropout2d", input, p)
    if input.ndim not in (3, 4):
        _deprecated_rank("dropout2d", input.ndim, 2)
    if input.ndim == 3:
        warn_at_user_line("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                          "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                          "dim. This behavior will change in a future release to interpret the input as one "
                          "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                          "dropout behavior, please switch to using dropout1d instead.")
    return _feature_dropout("dropout2d", input, p, training, inplace, generator, True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator=None) -> Tensor:
    """Zero whole channels, as ``torch.nn.functional.dropout3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> the same shape, one draw per (n, c). Other ranks
    warn (deprecated) and are read as unbatched (one draw per index of dim 0), as torch's.
    """
    _check("dropout3d", input, p)
    if input.ndim not in (4, 5):
        _deprecated_rank("dropout3d", input.ndim, 3)
    return _feature_dropout("dropout3d", input, p, training, inplace, generator, input.ndim == 5)


def _alpha(name, x, p, training, inplace, generator, feature):
    if not training or p == 0.0:
        return x
    mask_shape = _feature_shape(name, x.shape, True) if feature else x.shape
    if p == 1.0:   # torch's: everything dropped is zero here, not the saturation value
        return _apply(name, x, inplace, lambda a: Dropout.apply(a, keep=_draw(a, mask_shape, p, generator, name)))
    alpha = _SELU_SATURATION
    a_ = 1.0 / math.sqrt((alpha * alpha * p + 1.0) * (1.0 - p))

    def run(t):
        keep = _draw(t, mask_shape, p, generator, name)
        shift = (keep - 1) * t.dtype.type(alpha * a_) + t.dtype.type(alpha * a_ * p)   # b: a alpha' p, or that - a alpha'
        return _Affine.apply(t, scale=keep * t.dtype.type(a_), shift=shift)
    return _apply(name, x, inplace, run)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  generator=None) -> Tensor:
    """SELU-preserving dropout, as ``torch.nn.functional.alpha_dropout`` (note: ``training`` is
    False by default, as torch's).

    input: any shape -> the same shape; one draw per element. A dropped element becomes
    -a alpha' + b, a kept one a x + b (see the module's docstring), so that zero mean and unit
    variance are kept. p = 1 gives zeros, as torch's.
    """
    _check("alpha_dropout", input, p)
    return _alpha("alpha_dropout", input, p, training, inplace, generator, False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                          generator=None) -> Tensor:
    """Alpha dropout of whole channels, as ``torch.nn.functional.feature_alpha_dropout``.

    input: (N, C, *S), at least 2-D when training -> the same shape; one draw per (n, c), the affine map of
    :func:`alpha_dropout`. ``training`` is False by default, as torch's.
    """
    _check("feature_alpha_dropout", input, p)
    return _alpha("feature_alpha_dropout", input, p, training, inplace, generator, True)


def feature_dropout(input: Tensor, p: float, train: bool, generator=None) -> Tensor:
    """``torch.feature_dropout``: channel dropout with no rank rule, input (N, C, *S) (at least 2-D
    when ``train``) -> the same shape, one draw per (n, c)."""
    _check("feature_dropout", input, p)
    return _feature_dropout("feature_dropout", input, p, train, False, generator, True)


# torch's top-level in-place forms (torch.alpha_dropout_(input, p, train), ...): the input, changed
def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.alpha_dropout_``: :func:`alpha_dropout` written into ``input`` (any shape)."""
    _check("alpha_dropout_", input, p)
    return _alpha("alpha_dropout", input, p, train, True, None, False)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_alpha_dropout_``: :func:`feature_alpha_dropout` written into ``input`` (N, C, *S)."""
    _check("feature_alpha_dropout_", input, p)
    return _alpha("feature_alpha_dropout", input, p, train, True, None, True)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_dropout_``: :func:`feature_dropout` written into ``input`` (N, C, *S)."""
    _check("feature_dropout_", input, p)
    return _feature_dropout("feature_dropout", input, p, train, True, None, True)
