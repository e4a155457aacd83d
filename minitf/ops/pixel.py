"""Rearranging channels and pixels: ``pixel_shuffle``/``pixel_unshuffle`` (sub-pixel convolution's
depth-to-space and its inverse) and ``channel_shuffle`` (ShuffleNet's), as torch's.

Each is a reshape, a permutation of axes and a reshape: no arithmetic, so their backwards are
those of reshape and permute (the inverse rearrangement), recorded by the engine, and they are
differentiable to any order. Any dtype, as torch's.
"""
from __future__ import annotations

from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from ..tensor import Tensor
from ._util import is_int


def _factor(op: str, name: str, r) -> int:
    if not is_int(r):
        raise ArgumentTypeError(f"{op}: argument '{name}' must be int, not {type(r).__name__}")
    if r <= 0:
        raise ArgumentError(f"{op} expects a positive {name}, but got {r}")
    return int(r)


def _tensor_of_rank(op: str, x, lowest: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim < lowest:
        raise ShapeError(f"{op} expects input to have at least {lowest} dimensions, but got input with "
                         f"{x.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Depth to space, as ``torch.nn.functional.pixel_shuffle``.

    input: (*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor: output[..., c, h r + i, w r + j]
    = input[..., c r^2 + i r + j, h, w].
    """
    op = "pixel_shuffle"
    r = _factor(op, "upscale_factor", upscale_factor)
    _tensor_of_rank(op, input, 3)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ShapeError(f"{op} expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    y = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)        # (*, C, H, r, W, r)
    return y.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Space to depth, the inverse of :func:`pixel_shuffle`, as ``torch.nn.functional.pixel_unshuffle``.

    input: (*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor.
    """
    op = "pixel_unshuffle"
    r = _factor(op, "downscale_factor", downscale_factor)
    _tensor_of_rank(op, input, 3)
    *lead, c, h, w = input.shape
    for what, n, d in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise ShapeError(f"{op} expects {what} to be divisible by downscale_factor, but input.size({d})={n} "
                             f"is not divisible by {r}")
    k = len(lead)
    y = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)        # (*, C, r, r, H, W)
    return y.reshape(tuple(lead) + (c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups, as ``torch.nn.functional.channel_shuffle``.

    input: (N, C, *S) with at least 3 dims and C divisible by g = groups -> the same shape, channel
    i of group j (input channel j C/g + i) moved to i g + j: (N, g, C/g, *S) transposed to
    (N, C/g, g, *S).
    """
    op = "channel_shuffle"
    if not is_int(groups):
        raise ArgumentTypeError(f"{op}: argument 'groups' must be int, not {type(groups).__name__}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if groups <= 0:
        raise ArgumentError(f"{op}: Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if input.ndim <= 2:
        raise ShapeError(f"{op} expects input with > 2 dims, but got input with sizes "
                         f"[{', '.join(map(str, input.shape))}]")
    n, c, *rest = input.shape
    if c % groups:
        raise ShapeError(f"{op}: Number of channels must be divisible by groups. Got {c} channels and "
                         f"{groups} groups.")
    y = input.reshape((n, int(groups), c // groups) + tuple(rest)).transpose(1, 2)
    return y.reshape(input.shape)


native_channel_shuffle = channel_shuffle   # torch's second name for the same op
