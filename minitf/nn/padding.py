"""Padding layers, as torch's: ``ConstantPad{1,2,3}d``, ``ZeroPad{1,2,3}d``, ``ReflectionPad{1,2,3}d``,
``ReplicationPad{1,2,3}d`` and ``CircularPad{1,2,3}d``, each a call of :func:`minitf.functional.pad`.

``padding``: an int (the same amount on both sides of each of the last d dims) or a tuple
(left, right, top, bottom, front, back: the last dim first, as ``F.pad``). As torch's, a tuple
is kept as given (torch's ``_ntuple`` does not check its length: ``F.pad`` does), and
``padding`` is a plain attribute of ints.
"""
from __future__ import annotations

from .. import functional as F
from ..errors import ArgumentError, ShapeError
from ..ops._util import is_int
from .module import Module


def _amounts(name: str, padding, n: int) -> tuple:
    """torch's ``_pair``/``_quadruple``/``_ntuple(6)``: an int repeated n times, a sequence as a tuple."""
    if is_int(padding):
        return (int(padding),) * n
    try:
        amounts = tuple(padding)
    except TypeError:
        raise ArgumentError(f"{name}: padding must be an int or a tuple of {n} ints, got {padding!r}") from None
    if not all(is_int(p) for p in amounts):
        raise ArgumentError(f"{name}: padding must be an int or a tuple of {n} ints, got {padding!r}")
    return tuple(int(p) for p in amounts)


class _PadNd(Module):
    mode = "constant"
    dims = 1            # how many trailing dims the layer pads
    checks_rank = False  # CircularPad checks the input rank itself (torch's _check_input_dim)

    def __init__(self, padding):
        super().__init__()
        self.padding = _amounts(type(self).__name__, padding, 2 * self.dims)

    def forward(self, input):
        """input: (N, C, *S) or (C, *S) with d = 1, 2, 3 dims in S -> each padded by its amounts."""
        if self.checks_rank and input.ndim not in (self.dims + 1, self.dims + 2):
            raise ShapeError(f"expected {self.dims + 1}D or {self.dims + 2}D input (got {input.ndim}D input)")
        k = len(self.padding) // 2
        if input.ndim not in (k + 1, k + 2):   # torch's F.pad rule for the copying modes (minitf's F.pad has none)
            raise ShapeError(f"{type(self).__name__}: padding size {len(self.padding)} is not supported for "
                             f"{input.ndim}D input; it pads {k} dims of a {k + 1}D or {k + 2}D input")
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"   # torch's: ReflectionPad2d((1, 1, 2, 0))


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: x: (N, C, W) or (C, W) -> (..., left + W + right). Negative
    amounts crop."""
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: x: (N, C, H, W) or (C, H, W) -> (..., top + H + bottom,
    left + W + right); padding = (left, right, top, bottom) or an int."""
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``: x: (N, C, D, H, W) or (C, D, H, W); padding = (left,
    right, top, bottom, front, back) or an int."""
    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """:class:`ConstantPad1d` with value 0: x: (N, C, W) or (C, W)."""
    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """:class:`ConstantPad2d` with value 0: x: (N, C, H, W) or (C, H, W)."""
    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """:class:`ConstantPad3d` with value 0: x: (N, C, D, H, W) or (C, D, H, W)."""
    dims = 3


class ReflectionPad1d(_PadNd):
    """Mirror the last dim without repeating its edge: x: (N, C, W) or (C, W); each amount < W."""
    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror the last two dims: x: (N, C, H, W) or (C, H, W); padding = (left, right, top, bottom)."""
    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirror the last three dims: x: (N, C, D, H, W) or (C, D, H, W)."""
    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the edge of the last dim: x: (N, C, W) or (C, W)."""
    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the edges of the last two dims: x: (N, C, H, W) or (C, H, W)."""
    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the edges of the last three dims: x: (N, C, D, H, W) or (C, D, H, W)."""
    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Wrap the last dim around: x: (N, C, W) or (C, W) (other ranks are an error, as torch's)."""
    mode, dims, checks_rank = "circular", 1, True


class CircularPad2d(_PadNd):
    """Wrap the last two dims around: x: (N, C, H, W) or (C, H, W)."""
    mode, dims, checks_rank = "circular", 2, True


class CircularPad3d(_PadNd):
    """Wrap the last three dims around: x: (N, C, D, H, W) or (C, D, H, W)."""
    mode, dims, checks_rank = "circular", 3, True
