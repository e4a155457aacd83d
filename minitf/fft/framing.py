"""The two linear maps under stft and istft, each the other's adjoint (so each one's backward is
the other): :class:`Frames` cuts a signal (..., L) into ``count`` frames of ``size`` samples
every ``hop`` (..., count, size), and :class:`OverlapAdd` sums such frames back into a signal,
frame t added at t * hop. Neither conjugates, so both take complex tensors as written.

Overlap-add groups the frames' samples: sample block r (r * hop ... (r + 1) * hop - 1) of every
frame lands on the disjoint stretch (t + r) * hop of the output, so one slice-add per block (or,
for fewer frames than blocks, per frame) does it, some 2-3x faster than NumPy's ``add.at`` on
the same indices, with the same code on every array module.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function


def frame_index(count: int, size: int, hop: int, device):
    """(count, size) int64 on ``device``: frame t reads samples t * hop ... t * hop + size - 1."""
    idx = np.arange(count, dtype=np.int64)[:, None] * hop + np.arange(size, dtype=np.int64)
    return backend.to_device(idx, device)


def _frames(a, size, hop, count):
    return a[..., frame_index(count, size, hop, backend.device_of(a))]


def _overlap_add(frames, hop, length):
    xp = backend.get_array_module(frames)
    *lead, count, size = frames.shape
    out = xp.zeros((*lead, max(length, size + hop * (count - 1))), dtype=frames.dtype)
    blocks = -(-size // hop)
    if count <= blocks:
        for t in range(count):
            out[..., t * hop:t * hop + size] += frames[..., t, :]
        return out[..., :length]
    if size % hop:   # whole blocks: zeros after each frame's end (added where they land)
        frames = xp.concatenate([frames, xp.zeros((*lead, count, blocks * hop - size), dtype=frames.dtype)], -1)
        out = xp.concatenate([out, xp.zeros((*lead, blocks * hop - size), dtype=out.dtype)], -1)
    frames = frames.reshape(*lead, count, blocks, hop)
    for r in range(blocks):
        out[..., r * hop:(r + count) * hop] += frames[..., r, :].reshape(*lead, count * hop)
    return out[..., :length]


class Frames(Function):
    """x (..., L) -> (..., count, size): frame t is x[..., t * hop : t * hop + size]."""

    saves_inputs = saves_output = False
    takes_complex = True

    def forward(self, x, size, hop, count):
        self.length = x.shape[-1]
        return _frames(x, size, hop, count)

    def backward(self, g):
        return (_overlap_add(g, self.params["hop"], self.length),)

    def backward_graph(self, g):
        return (OverlapAdd.apply(g, hop=self.params["hop"], length=self.length),)


class OverlapAdd(Function):
    """frames (..., count, size) -> (..., length): frame t added at t * hop (length at least
    size + hop (count - 1); what no frame reaches is 0)."""

    saves_inputs = saves_output = False
    takes_complex = True

    def forward(self, frames, hop, length):
        self.size, self.count = frames.shape[-1], frames.shape[-2]
        return _overlap_add(frames, hop, length)

    def backward(self, g):
        return (_frames(g, self.size, self.params["hop"], self.count),)

    def backward_graph(self, g):
        return (Frames.apply(g, size=self.size, hop=self.params["hop"], count=self.count),)
