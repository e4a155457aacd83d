"""Shape layers: Flatten and Unflatten, as PyTorch's (views through the reshape op)."""
from __future__ import annotations

import math
import numbers

from ..ops import check_dim
from .module import Module


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one, as ``torch.nn.Flatten``: the default keeps the
    batch dim, (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``:
    (N, 12) with dim=1, (3, 4) -> (N, 3, 4); one size may be -1 (inferred)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise TypeError(f"Unflatten: dim must be an int, got {type(dim).__name__}")
        sizes = unflattened_size
        if not isinstance(sizes, (tuple, list)) or not sizes or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"Unflatten: unflattened_size must be a non-empty tuple or list of ints, got {sizes!r}")
        sizes = tuple(int(n) for n in sizes)
        if sum(n == -1 for n in sizes) > 1 or any(n < -1 for n in sizes):
            raise ValueError(f"Unflatten: unflattened_size may hold one -1 and otherwise sizes >= 0, got {sizes}")
        self.dim, self.unflattened_size = int(dim), sizes

    def forward(self, x):
        d = check_dim("Unflatten", self.dim, x.ndim)
        n, sizes = x.shape[d] if x.ndim else 1, self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes:
            if known == 0 or n % known:
                raise ValueError(f"Unflatten: sizes {sizes} cannot make up the size of dim {self.dim} ({n}) "
                                 f"of input {x.shape}")
            sizes = tuple(n // known if s == -1 else s for s in sizes)
        elif known != n:
            raise ValueError(f"Unflatten: sizes {sizes} do not multiply up to the size of dim {self.dim} ({n}) "
                             f"of input {x.shape}")
        return x.reshape(x.shape[:d] + sizes + x.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
