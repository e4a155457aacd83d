"""Bijective transforms for :class:`TransformedDistribution` (torch.distributions.transforms' names).

Here: the base ``Transform``, ``ExpTransform``, ``SigmoidTransform``,
``TanhTransform``, ``ComposeTransform`` and ``identity_transform``. The rest are read from this
module too (imported on first use): the elementwise ones (:mod:`.transforms_elementwise`: Affine,
Abs, Power, Softplus, CumulativeDistribution), the simplex ones (:mod:`.transforms_simplex`: Softmax,
StickBreaking), the matrix ones (:mod:`.transforms_matrix`: LowerCholesky, PositiveDefinite,
CorrCholesky) and the structural ones (:mod:`.transforms_structural`: Reshape, Independent, Cat, Stack).

``t(x)`` maps the domain to the codomain, ``t.inv(y)`` back, and ``t.log_abs_det_jacobian(x, y)``
is ``log |dy/dx|`` summed over the transform's event dims: ``x: (*batch, *event)`` -> ``(*batch,)``.
``cache_size=1`` (torch's; the default 0 caches nothing) keeps the last ``(x, y)`` pair: ``t(x)``
of the same x object, or ``t.inv(y)`` of the same y object, returns the kept tensor without
computing (so ``t.inv(t(x))`` is x itself, the exact draw of a TransformedDistribution);
``t.with_cache(1)`` is the caching copy.
"""
from __future__ import annotations

import math
import weakref

from . import constraints
from .utils import clamp_unit, sum_rightmost

# the transforms of the sibling modules, by name: imported when first read from this module
_ELSEWHERE = {**dict.fromkeys(("AbsTransform", "AffineTransform", "CumulativeDistributionTransform",
                               "PowerTransform", "SoftplusTransform"), "transforms_elementwise"),
              **dict.fromkeys(("SoftmaxTransform", "StickBreakingTransform"), "transforms_simplex"),
              **dict.fromkeys(("CorrCholeskyTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform"),
                              "transforms_matrix"),
              **dict.fromkeys(("CatTransform", "IndependentTransform", "ReshapeTransform", "StackTransform"),
                              "transforms_structural")}
__all__ = ["ComposeTransform", "ExpTransform", "SigmoidTransform", "TanhTransform", "Transform",
           "identity_transform"] + sorted(_ELSEWHERE)


def __getattr__(name):
    if name in _ELSEWHERE:
        import importlib
        value = getattr(importlib.import_module(f".{_ELSEWHERE[name]}", __package__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _softplus(x):
    from ..nn import functional as F
    return F.softplus(x)


class Transform:
    """A differentiable bijection with a computable log-Jacobian; subclasses define ``_call``,
    ``_inverse`` and ``log_abs_det_jacobian``. ``cache_size``: 0 or 1 (see the module docstring)."""
    bijective = False
    sign = 1
    domain = constraints.real
    codomain = constraints.real
    # (class defaults: a subclass whose __init__ does not call Transform's caches nothing)
    _cache_size = 0
    _cached_x_y = (None, None)
    _inv_ref = None   # a weak reference to the inverse, so that t.inv is t.inv (as torch)

    def __init__(self, cache_size: int = 0):
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._cached_x_y = (None, None)
        self._inv_ref = None

    def __getstate__(self):   # (a weak reference does not pickle or deep-copy: the inverse is made again)
        state = self.__dict__.copy()
        state["_inv_ref"] = None
        return state

    def with_cache(self, cache_size: int = 1) -> "Transform":
        """This transform with ``cache_size`` (self when it has it already)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        return self._with_cache(cache_size)

    def _with_cache(self, cache_size: int) -> "Transform":
        """The same map remade with ``cache_size`` (for subclasses with parameters)."""
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self) -> "Transform":
        inv = None if self._inv_ref is None else self._inv_ref()
        if inv is None:
            inv = _InverseTransform(self)
            self._inv_ref = weakref.ref(inv)
        return inv

    def __call__(self, x):
        return self._call(x) if self._cache_size == 0 else self._through_cache(x, 0, self._call)

    def _call(self, x):
        raise NotImplementedError

    def _inv_call(self, y):
        return self._inverse(y) if self._cache_size == 0 else self._through_cache(y, 1, self._inverse)

    def _through_cache(self, value, side: int, compute):
        """The kept other half of the pair when ``value`` is the kept x (side 0) or y (side 1),
        else ``compute(value)``, the new pair then kept (cache_size=1)."""
        kept = self._cached_x_y
        if value is kept[side]:
            return kept[1 - side]
        out = compute(value)
        self._cached_x_y = (value, out) if side == 0 else (out, value)
        return out

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """``t.inv``: the inverse of a transform (its domain and codomain swapped)."""

    def __init__(self, transform: Transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform   # (the caches are the transform's: its _inv_call)

    def _with_cache(self, cache_size: int) -> Transform:
        return self.inv.with_cache(cache_size).inv

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    # the shapes swap too: StickBreakingTransform().inv maps (*, K) to (*, K - 1)
    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"


class ComposeTransform(Transform):
    """``parts`` applied in order: ``ComposeTransform([f, g])(x) = g(f(x))``; ``cache_size=1``
    makes every part caching."""

    def __init__(self, parts, cache_size: int = 0):
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def _with_cache(self, cache_size: int) -> Transform:
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        # the event dim is the largest one any part needs, counted at the input
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        if event_dim > domain.event_dim:
            domain = constraints.independent(domain, event_dim - domain.event_dim)
        return domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        if event_dim > codomain.event_dim:
            codomain = constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self):
        inv = None if self._inv_ref is None else self._inv_ref()
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv_ref, inv._inv_ref = weakref.ref(inv), weakref.ref(self)
        return inv

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return x * 0
        terms, event_dim = [], self.domain.event_dim
        for part in self.parts:
            y_part = part(x)
            terms.append(sum_rightmost(part.log_abs_det_jacobian(x, y_part), event_dim - part.domain.event_dim))
            x = y_part
            event_dim += part.codomain.event_dim - part.domain.event_dim
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def __repr__(self):
        return f"{type(self).__name__}(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


identity_transform = ComposeTransform([])


class _Parameterless(Transform):
    """A transform without parameters: every instance of the class is the same map (equal, as torch's)."""

    def __eq__(self, other):
        return isinstance(other, type(self))

    __hash__ = object.__hash__


class ExpTransform(_Parameterless):
    """y = exp(x); log|dy/dx| = x."""
    domain, codomain, bijective, sign = constraints.real, constraints.positive, True, 1

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(_Parameterless):
    """y = sigmoid(x) (clamped into [tiny, 1 - eps], as torch); log|dy/dx| = -softplus(-x) - softplus(x)."""
    domain, codomain, bijective, sign = constraints.real, constraints.unit_interval, True, 1

    def _call(self, x):
        return clamp_unit(x.sigmoid())

    def _inverse(self, y):
        y = clamp_unit(y)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x) - _softplus(x)


class TanhTransform(_Parameterless):
    """y = tanh(x); log|dy/dx| = 2 (log 2 - x - softplus(-2x)), the stable form of log(1 - tanh(x)**2)."""
    domain, codomain, bijective, sign = constraints.real, constraints.interval(-1.0, 1.0), True, 1

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return y.atanh()

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))
