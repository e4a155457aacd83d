"""Transforms that rearrange or combine others (torch's names): ``ReshapeTransform`` (events of
``in_shape`` as events of ``out_shape``), ``IndependentTransform`` (a transform's rightmost batch
dims made event dims), ``CatTransform`` (transforms on consecutive slices of a dim) and
``StackTransform`` (transforms on the indices of a dim)."""
from __future__ import annotations

import math

from ..size import Size
from . import constraints
from .transforms import Transform
from .utils import sum_rightmost

__all__ = ["CatTransform", "IndependentTransform", "ReshapeTransform", "StackTransform"]


class ReshapeTransform(Transform):
    """x (*batch, *in_shape) -> (*batch, *out_shape), the same elements; log|det J| = 0 (*batch,)."""
    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.in_shape, self.out_shape = Size(in_shape), Size(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")

    def _with_cache(self, cache_size: int) -> Transform:
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def _call(self, x):
        return x.reshape(tuple(x.shape[:x.ndim - len(self.in_shape)]) + tuple(self.out_shape))

    def _inverse(self, y):
        return y.reshape(tuple(y.shape[:y.ndim - len(self.out_shape)]) + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        from .. import zeros
        return zeros(x.shape[:x.ndim - len(self.in_shape)], dtype=x.dtype, device=x.device)

    @staticmethod
    def _swap(shape, have, want):
        shape = tuple(shape)
        cut = len(shape) - len(have)
        if cut < 0 or shape[cut:] != tuple(have):
            raise ValueError(f"Shape mismatch: expected {shape[max(cut, 0):]} but got {tuple(have)}")
        return shape[:cut] + tuple(want)

    def forward_shape(self, shape):
        return self._swap(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._swap(shape, self.out_shape, self.in_shape)


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost batch dims made event
    dims: the same map, its log-Jacobian summed over them."""

    def __init__(self, base_transform, reinterpreted_batch_ndims: int, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    def _with_cache(self, cache_size: int) -> Transform:
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.ndim < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.ndim < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


def _parts(name: str, tseq, cache_size: int) -> list:
    """Cat's and Stack's transforms, checked, each with ``cache_size`` when it is 1 (as torch)."""
    parts = list(tseq)
    if not all(isinstance(t, Transform) for t in parts):
        raise TypeError(f"{name} takes a sequence of Transforms")
    return [t.with_cache(cache_size) for t in parts] if cache_size else parts


class _Combined(Transform):
    """The parts of Cat and Stack: ``transforms`` along ``dim``."""

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    def _check_dim(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"dim {self.dim} out of range for an input of {x.ndim} dims")


class CatTransform(_Combined):
    """``tseq[i]`` applied to the i-th slice (``lengths[i]`` long, default 1) along ``dim``, the
    results concatenated; x and y have one shape."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.transforms = _parts("CatTransform", tseq, cache_size)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"Expected {len(self.transforms)} lengths, got {len(self.lengths)}")
        self.dim = dim

    def _with_cache(self, cache_size: int) -> Transform:
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size=cache_size)

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self):
        return sum(self.lengths)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)

    def _slices(self, x):
        self._check_dim(x)
        if x.shape[self.dim] != self.length:
            raise ValueError(f"Expected size {self.length} at dim {self.dim}, got {x.shape[self.dim]}")
        start = 0
        for t, length in zip(self.transforms, self.lengths):
            yield t, start, length
            start += length

    def _map(self, x, inverse):
        from .. import cat
        return cat([(t.inv if inverse else t)(x.narrow(self.dim, s, n)) for t, s, n in self._slices(x)], self.dim)

    def _call(self, x):
        return self._map(x, False)

    def _inverse(self, y):
        return self._map(y, True)

    def log_abs_det_jacobian(self, x, y):
        from .. import cat
        terms = [sum_rightmost(t.log_abs_det_jacobian(x.narrow(self.dim, s, n), y.narrow(self.dim, s, n)),
                               self.event_dim - t.event_dim) for t, s, n in self._slices(x)]
        dim = (self.dim - x.ndim if self.dim >= 0 else self.dim) + self.event_dim
        if dim < 0:                          # dim is a batch dim of the log-Jacobian: keep the slices apart
            return cat(terms, dim)
        total = terms[0]                     # dim is inside the event: the slices' terms add up
        for t in terms[1:]:
            total = total + t
        return total


class StackTransform(_Combined):
    """``tseq[i]`` applied to index i along ``dim``, the results stacked there."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.transforms = _parts("StackTransform", tseq, cache_size)
        self.dim = dim

    def _with_cache(self, cache_size: int) -> Transform:
        return StackTransform(self.transforms, self.dim, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)

    def _parts(self, x):
        self._check_dim(x)
        if x.shape[self.dim] != len(self.transforms):
            raise ValueError(f"Expected size {len(self.transforms)} at dim {self.dim}, got {x.shape[self.dim]}")
        return [x.select(self.dim, i) for i in range(len(self.transforms))]

    def _call(self, x):
        from .. import stack
        return stack([t(p) for t, p in zip(self.transforms, self._parts(x))], self.dim)

    def _inverse(self, y):
        from .. import stack
        return stack([t.inv(p) for t, p in zip(self.transforms, self._parts(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        from .. import stack
        return stack([t.log_abs_det_jacobian(a, b) for t, a, b in zip(self.transforms, self._parts(x),
                                                                        self._parts(y))], self.dim)
