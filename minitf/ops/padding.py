"""Padding, ``F.pad``, with PyTorch's pad-tuple order: the last dimension first.

    pad = (left_{-1}, right_{-1}, left_{-2}, right_{-2}, ...)

``mode="constant"`` fills with ``value`` (negative amounts crop, in every
mode, as in PyTorch); ``"reflect"``, ``"replicate"`` and ``"circular"`` copy elements of
the input, so each output element is some input element: the forward is a
gather along each padded axis and the backward scatter-adds the gradient back
(an input element copied k times receives the sum of its k gradients).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor

_MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPad(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, widths, value):
        xp = backend.get_array_module(x)
        # cropping first (negative widths), then padding the rest
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, x.shape))
        core = x[crop]
        out_shape = tuple(max(lo, 0) + m + max(hi, 0) for (lo, hi), m in zip(widths, core.shape))
        out = xp.full(out_shape, value, dtype=x.dtype)
        self.place = tuple(slice(max(lo, 0), max(lo, 0) + m) for (lo, _), m in zip(widths, core.shape))
        out[self.place] = core
        self.shape, self.crop = x.shape, crop
        return out

    def backward(self, g):  # the gradient of the copied part goes back where it came from
        xp = backend.get_array_module(g)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        dx[self.crop] = g[self.place]
        return (dx,)

    def backward_graph(self, g):  # the same as a gather and a scatter, each the other's backward
        from .backward_ops import scatter
        from .shape import GetItem
        return (scatter(GetItem.apply(g, index=self.place, advanced=False), self.shape, self.crop, False),)


def _source_index(n: int, lo: int, hi: int, mode: str):
    """For each of the lo + n + hi output positions along one axis, the input position it copies."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":   # torch's: crop the negative amounts first, then wrap around what is left
        c0, m = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        return (np.arange(-max(lo, 0), m + max(hi, 0)) % m + c0) if m > 0 else np.zeros(0, dtype=np.int64)
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ..., the edge not repeated
    j = np.abs(j) % period if period else np.zeros_like(j)
    return np.where(j >= n, period - j, j)


class GatherPad(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, index):
        xp = backend.get_array_module(x)
        self.index, self.shape = index, x.shape
        out = x
        for axis, idx in index:
            out = xp.take(out, idx, axis=axis)
        return out

    def backward(self, g):  # per axis, in reverse: scatter-add every output position to its source
        xp = backend.get_array_module(g)
        shape = list(g.shape)
        for axis, idx in reversed(self.index):
            shape[axis] = self.shape[axis]
            acc = xp.zeros(tuple([shape[axis]] + shape[:axis] + shape[axis + 1:]), dtype=g.dtype)
            backend.scatter_add(acc, idx, xp.moveaxis(g, axis, 0))
            g = xp.moveaxis(acc, 0, axis)
        return (g,)

    def backward_graph(self, g):  # the per-axis scatter-adds as recorded ops (scatter's backward gathers)
        from .backward_ops import scatter
        shape = list(g.shape)
        for axis, idx in reversed(self.index):
            shape[axis] = self.shape[axis]
            g = scatter(g, tuple(shape), (slice(None),) * axis + (idx,), True)
        return (g,)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad ``x`` as ``torch.nn.functional.pad``.

    pad: an even-length tuple of ints (left, right) per dimension, starting at
    the last: ``(1, 2)`` pads the last axis with 1 before and 2 after;
    ``(1, 2, 3, 4)`` also the second-to-last with 3 and 4. At most
    ``2 * x.ndim`` entries. mode: 'constant' (fill with ``value``), 'reflect'
    (mirror without repeating the edge; each amount < that dimension's size),
    'replicate' (repeat the edge) or 'circular' (wrap around; each amount <=
    the size left after cropping). Negative amounts crop, in every mode, as
    torch's (circular crops first, then wraps). Differentiable in ``x``; complex ``x`` too (``value``
    a real number, as torch's). x: (..., d) -> (..., left + d + right).
    """
    if isinstance(value, complex):   # (a complex input is padded with a real value, as torch's)
        raise TypeError(f"pad(): argument 'value' must be float, not complex (got {value!r})")
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise ValueError(f"pad: pad must be an even-length sequence of ints (left, right per dimension, "
                         f"last dimension first), got {pad!r}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {pad!r} pads {len(pad) // 2} dimensions, but the input {x.shape} has {x.ndim}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    if mode == "constant":
        for axis, ((lo, hi), n) in enumerate(zip(widths, x.shape)):
            if lo + n + hi < 0:
                raise ValueError(f"pad: cropping dimension {axis} of size {n} by {-lo} and {-hi} leaves "
                                 f"a negative size")
        return ConstantPad.apply(x, widths=tuple(widths), value=value)
    index = []
    for axis, ((lo, hi), n) in enumerate(zip(widths, x.shape)):
        if lo == hi == 0:
            continue
        if lo + n + hi < 0:   # negative amounts crop (torch's, in every mode), the output at least empty
            raise ValueError(f"pad: cropping dimension {axis} of size {n} by {max(-lo, 0)} and {max(-hi, 0)} "
                             f"leaves a negative size")
        # circular wraps around what is left after cropping (torch reads overlapping memory, or gives
        # sizes that are no wrap of anything, when an amount exceeds that: an error here instead)
        left = n - max(-lo, 0) - max(-hi, 0) if mode == "circular" else n
        limit = n - 1 if mode == "reflect" else left
        if mode != "replicate" and max(lo, hi) > limit or left <= 0 < max(lo, hi) or n == 0:
            raise ValueError(f"pad: {mode} padding of ({lo}, {hi}) needs dimension {axis} (size {left}"
                             f"{' after cropping' if left != n else ''}) to be "
                             f"{'larger than' if mode == 'reflect' else 'at least'} each amount")
        index.append((axis, backend.to_device(_source_index(n, lo, hi, mode), x.device)))
    if not index:
        return ConstantPad.apply(x, widths=tuple(widths), value=0.0)  # nothing to pad: a copy
    return GatherPad.apply(x, index=tuple(index))
