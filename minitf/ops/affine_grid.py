"""``F.affine_grid``: the sampling grid of a batch of affine maps, as torch's (for :func:`grid_sample`).

The base grid holds each output pixel's normalised coordinates (x, y[, z], 1): x runs along W
from -1 to 1 (``align_corners=True``: the corner pixels' centres) or from -(W - 1)/W to (W - 1)/W
(False: the pixel centres of a grid whose edges are at -1 and 1), y along H, z along D; a size-1
dim has the single coordinate 0. The grid is ``base @ theta^T`` per batch element, a matmul of
a constant with theta, so its gradient (``base^T @ g``) and every higher one are matmul's.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..errors import ShapeError
from ..grad_fn_names import named
from ..tensor import Tensor
from .grid_sample import ALIGN_WARNING


def _steps(n: int, align: bool):
    """torch's linspace_from_neg_one: n points over [-1, 1], scaled by (n - 1)/n without
    align_corners; a single 0 for n <= 1."""
    if n <= 1:
        return np.zeros(max(n, 0))
    r = np.linspace(-1.0, 1.0, n)
    return r if align else r * (n - 1) / n


def _base_grid(spatial, align, dtype):
    """(prod(spatial), d + 1): the rows (x, y[, z], 1), x the fastest (the last spatial dim)."""
    d = len(spatial)
    axes = np.meshgrid(*[_steps(n, align) for n in spatial], indexing="ij")   # (D,) H, W
    cols = [a.reshape(-1) for a in axes[::-1]] + [np.ones(math.prod(spatial))]
    return np.stack(cols, axis=-1).astype(dtype).reshape(math.prod(spatial), d + 1)


def affine_grid(theta: Tensor, size, align_corners=None) -> Tensor:
    """The grid of affine maps ``theta``, as ``torch.nn.functional.affine_grid``.

    theta: (N, 2, 3) with size (N, C, H, W) -> grid (N, H, W, 2); theta (N, 3, 4) with size
    (N, C, D, H, W) -> grid (N, D, H, W, 3). grid[n, ..., :] = theta[n] @ (x, y[, z], 1) at each
    output pixel's normalised coordinates. ``align_corners`` as :func:`grid_sample`'s (False
    when not given, with torch's warning). Differentiable in theta (in every order).
    """
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid: theta must be a Tensor, got {type(theta).__name__}")
    if align_corners is None:
        warnings.warn(ALIGN_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    if theta.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(n) for n in size]
    if len(size) == 4:
        if theta.ndim != 3 or theta.shape[-2:] != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
                             f"Got {tuple(theta.shape)}.")
    elif len(size) == 5:
        if theta.ndim != 3 or theta.shape[-2:] != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. "
                             f"Got {tuple(theta.shape)}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:   # torch warns, and then skips its size check
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.", UserWarning, stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if size[0] != theta.shape[0]:
        raise ShapeError(f"affine_grid: size {size} asks for {size[0]} grids, but theta holds {theta.shape[0]} "
                         f"matrices {tuple(theta.shape)}")
    base = _base_grid(spatial, bool(align_corners), theta.dtype)
    xp = backend.get_array_module(theta.data)
    base_t = Tensor._make(base if xp is np else xp.asarray(base), None)
    d = len(spatial)
    grid = base_t @ theta.transpose(1, 2)                        # (P, d+1) @ (N, d+1, d) -> (N, P, d)
    return named(grid.reshape(tuple(size[:1]) + tuple(spatial) + (d,)), "AffineGridGeneratorBackward0", theta)
