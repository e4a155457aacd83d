"""``MixtureSameFamily(mixture_distribution, component_distribution)``: a mixture of K components
of one family, the Categorical ``mixture_distribution`` (batch (*mb,), K categories) weighting the
rightmost batch dim of ``component_distribution`` (batch (*cb, K), events E).

The mixture has batch shape cb (mb broadcasting with it from the right) and events E:
``log_prob(x) = logsumexp_k(log w_k + log p_k(x))``, ``cdf`` the weighted cdfs, ``mean`` and
``variance`` by the laws of total expectation and variance. Draws pick a component per draw, so
no ``rsample`` (as torch); ``log_prob`` is differentiable in both distributions' parameters.
"""
from __future__ import annotations

from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A batch of K-component mixtures: mixture_distribution Categorical (*mb,) over K,
    component_distribution (*cb, K) with events E."""
    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of torch.distributions.Distribution")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        mb, cb = tuple(mixture_distribution.batch_shape), tuple(component_distribution.batch_shape[:-1])
        for a, b in zip(reversed(mb), reversed(cb)):
            if a != 1 and b != 1 and a != b:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mb}) is not compatible with "
                                 f"`component_distribution.batch_shape`({cb})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1] if component_distribution.batch_shape else None
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cb, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = tuple(batch_shape)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component, new._event_ndims = self._num_component, self._event_ndims
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    def _weights(self, x):
        """x (*mb, K) -> (*mb, K, 1 * event_ndims): aligned with the components' (*cb, K, *E)."""
        return x.reshape(tuple(x.shape) + (1,) * self._event_ndims)

    def _pad(self, x):
        """A value (*, *E) with the component dim put in: (*, 1, *E)."""
        return x.unsqueeze(-1 - self._event_ndims)

    @property
    def mean(self):
        probs = self._weights(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        # Var = E[Var(x | k)] + Var(E[x | k])
        probs = self._weights(self._mixture_distribution.probs)
        comp, dim = self._component_distribution, -1 - self._event_ndims
        spread = (comp.mean - self._pad(self.mean)).pow(2)
        return (probs * comp.variance).sum(dim) + (probs * spread).sum(dim)

    def cdf(self, x):
        return (self._component_distribution.cdf(self._pad(x)) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        from ..nn import functional as F
        if self._validate_args:
            self._validate_sample(x)
        log_px = self._component_distribution.log_prob(self._pad(x))        # (*S, *B, K)
        log_w = F.log_softmax(self._mixture_distribution.logits, dim=-1)
        return (log_px + log_w).logsumexp(dim=-1)

    def sample(self, sample_shape=()):
        """Draws (*sample_shape, *batch, *E): a component index per draw, then that component's draw."""
        from ..grad_modes import no_grad
        with no_grad():
            # the weights expanded to the batch B first: each batch member picks its own component,
            # also where the mixture's batch broadcasts (a () or (2, 1) one over B = (2, 3))
            mix = self._mixture_distribution
            if tuple(mix.batch_shape) != tuple(self._batch_shape):
                mix = mix.expand(self._batch_shape)
            k = mix.sample(sample_shape)                                     # (*S, *B)
            draws = self._component_distribution.sample(sample_shape)       # (*S, *B, K, *E)
            index = k.reshape(tuple(k.shape) + (1,) * (self._event_ndims + 1))
            index = index.expand(tuple(k.shape) + (1,) + tuple(self._event_shape))
            return draws.gather(k.ndim, index).squeeze(k.ndim)

    def __repr__(self):
        return (f"{type(self).__name__}(\n  {self._mixture_distribution},\n  {self._component_distribution})")
