"""``mt.distributions``: torch.distributions for minitf tensors (imported on first use).

Distributions with torch's API (``batch_shape``, ``event_shape``, ``sample``, ``rsample``,
``log_prob``, ``entropy``, ``cdf``/``icdf``, ``mean``/``mode``/``variance``, ``expand``,
``support``, argument validation on by default), grouped by concept:

* :mod:`.continuous`: Normal, Uniform, Exponential, Laplace, Cauchy, Gumbel; :mod:`.folded`:
  HalfNormal, HalfCauchy; :mod:`.extreme_value`: Weibull, Pareto, GeneralizedPareto;
  :mod:`.kumaraswamy`, :mod:`.von_mises`, :mod:`.continuous_bernoulli`;
* :mod:`.discrete`: Bernoulli, Geometric, Poisson, Binomial; :mod:`.categorical`: Categorical,
  OneHotCategorical(StraightThrough); :mod:`.counts`: NegativeBinomial, Multinomial;
* :mod:`.gamma_family`: Gamma, Beta, Dirichlet, StudentT (``rsample`` by implicit Gamma gradients);
  :mod:`.gamma_derived`: Chi2, InverseGamma, FisherSnedecor;
* :mod:`.multivariate_normal`, :mod:`.lowrank_mvn`; :mod:`.matrix_distributions`: LKJCholesky, Wishart;
* :mod:`.mixture`: MixtureSameFamily; :mod:`.relaxed`: RelaxedBernoulli, RelaxedOneHotCategorical;
* :mod:`.transformed`: Independent, TransformedDistribution, LogNormal, LogisticNormal;
* :mod:`.exp_family`: the ExponentialFamily base (entropy and KL through the log-normaliser);
* :mod:`.transforms` (with its elementwise, simplex, matrix and structural siblings) and
  :mod:`.constraint_registry` (``biject_to``, ``transform_to``); :mod:`.constraints`;
* :mod:`.kl`: ``kl_divergence`` and ``register_kl``, the pairs also in :mod:`.kl_positive`,
  :mod:`.kl_lowrank`, :mod:`.kl_continuous_bernoulli` and :mod:`.kl_bregman`.

Draws come from minitf's generators (``mt.manual_seed`` makes them reproducible).
"""
from . import constraints, transforms  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .exp_family import ExponentialFamily  # noqa: F401
from .continuous import Cauchy, Exponential, Gumbel, Laplace, Normal, Uniform  # noqa: F401
from .discrete import Bernoulli, Binomial, Geometric, Poisson  # noqa: F401
from .categorical import Categorical, OneHotCategorical  # noqa: F401
from .gamma_family import Beta, Dirichlet, Gamma, StudentT  # noqa: F401
from .transformed import Independent, LogNormal, TransformedDistribution  # noqa: F401
from .multivariate_normal import MultivariateNormal  # noqa: F401
from .folded import HalfCauchy, HalfNormal  # noqa: F401
from .gamma_derived import Chi2, FisherSnedecor, InverseGamma  # noqa: F401
from .extreme_value import GeneralizedPareto, Pareto, Weibull  # noqa: F401
from .kumaraswamy import Kumaraswamy  # noqa: F401
from .von_mises import VonMises  # noqa: F401
from .counts import Multinomial, NegativeBinomial  # noqa: F401
from .categorical import OneHotCategoricalStraightThrough  # noqa: F401
from .transformed import LogisticNormal  # noqa: F401
from .mixture import MixtureSameFamily  # noqa: F401
from .lowrank_mvn import LowRankMultivariateNormal  # noqa: F401
from .continuous_bernoulli import ContinuousBernoulli  # noqa: F401
from .matrix_distributions import LKJCholesky, Wishart  # noqa: F401
from .kl import kl_divergence, register_kl  # noqa: F401
from . import kl_bregman, kl_continuous_bernoulli, kl_lowrank, kl_positive  # noqa: F401  (they register pairs)
from .relaxed import (ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli,  # noqa: F401
                      RelaxedOneHotCategorical)
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform,  # noqa: F401
                         TanhTransform, Transform, identity_transform)
from .transforms_elementwise import (AbsTransform, CumulativeDistributionTransform, PowerTransform,  # noqa: F401
                                     SoftplusTransform)
from .transforms_simplex import SoftmaxTransform, StickBreakingTransform  # noqa: F401
from .transforms_matrix import CorrCholeskyTransform, LowerCholeskyTransform, PositiveDefiniteTransform  # noqa: F401
from .transforms_structural import CatTransform, IndependentTransform, ReshapeTransform, StackTransform  # noqa: F401
from .constraint_registry import biject_to, transform_to  # noqa: F401

__all__ = ["LKJCholesky", "Wishart", "ContinuousBernoulli", "kl_continuous_bernoulli", "ExponentialFamily", "kl_bregman", "LowRankMultivariateNormal", "MixtureSameFamily", "kl_lowrank", "kl_positive", "Kumaraswamy", "LogisticNormal", "Multinomial", "NegativeBinomial", "OneHotCategoricalStraightThrough",
           "VonMises", "Chi2", "FisherSnedecor", "GeneralizedPareto", "HalfCauchy", "HalfNormal", "InverseGamma", "Pareto",
           "Weibull", "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform", "Categorical",
           "Cauchy", "ComposeTransform", "CorrCholeskyTransform", "CumulativeDistributionTransform",
           "Dirichlet", "Distribution", "ExpRelaxedCategorical", "ExpTransform", "Exponential", "Gamma",
           "Geometric", "Gumbel", "Independent", "IndependentTransform", "Laplace", "LogNormal",
           "LogitRelaxedBernoulli", "LowerCholeskyTransform", "MultivariateNormal", "Normal",
           "OneHotCategorical", "Poisson", "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT", "TanhTransform",
           "Transform", "TransformedDistribution", "Uniform", "biject_to", "constraint_registry",
           "constraints", "identity_transform", "kl_divergence", "register_kl", "transform_to", "transforms"]
