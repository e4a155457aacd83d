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
from .._lazy import lazy_attributes

# name -> the module defining it, imported on first use (PEP 562): ``import minitf.distributions``
# loads none of the submodules, each costing a few ms (``mt.distributions.Normal`` loads
# continuous.py and what it needs). ``kl_divergence`` loads the modules that register KL pairs.
_NAMES = {
    "categorical": ["Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough"],
    "constraint_registry": ["biject_to", "transform_to"],
    "continuous": ["Cauchy", "Exponential", "Gumbel", "Laplace", "Normal", "Uniform"],
    "continuous_bernoulli": ["ContinuousBernoulli"],
    "counts": ["Multinomial", "NegativeBinomial"],
    "discrete": ["Bernoulli", "Binomial", "Geometric", "Poisson"],
    "distribution": ["Distribution"],
    "exp_family": ["ExponentialFamily"],
    "extreme_value": ["GeneralizedPareto", "Pareto", "Weibull"],
    "folded": ["HalfCauchy", "HalfNormal"],
    "gamma_derived": ["Chi2", "FisherSnedecor", "InverseGamma"],
    "gamma_family": ["Beta", "Dirichlet", "Gamma", "StudentT"],
    "kl": ["kl_divergence", "register_kl"],
    "kumaraswamy": ["Kumaraswamy"],
    "lowrank_mvn": ["LowRankMultivariateNormal"],
    "matrix_distributions": ["LKJCholesky", "Wishart"],
    "mixture": ["MixtureSameFamily"],
    "multivariate_normal": ["MultivariateNormal"],
    "relaxed": ["ExpRelaxedCategorical", "LogitRelaxedBernoulli", "RelaxedBernoulli", "RelaxedOneHotCategorical"],
    "transformed": ["Independent", "LogNormal", "LogisticNormal", "TransformedDistribution"],
    "transforms": ["ComposeTransform", "ExpTransform", "SigmoidTransform", "TanhTransform",
                   "Transform", "identity_transform"],
    "transforms_elementwise": ["AbsTransform", "AffineTransform", "CumulativeDistributionTransform", "PowerTransform",
                               "SoftplusTransform"],
    "transforms_matrix": ["CorrCholeskyTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform"],
    "transforms_simplex": ["SoftmaxTransform", "StickBreakingTransform"],
    "transforms_structural": ["CatTransform", "IndependentTransform", "ReshapeTransform", "StackTransform"],
}
_SUBMODULES = ["categorical", "constraint_registry", "constraints", "continuous", "continuous_bernoulli", "counts",
               "discrete", "distribution", "exp_family", "extreme_value", "folded", "gamma_derived", "gamma_family",
               "kl", "kl_bregman", "kl_continuous_bernoulli", "kl_lowrank", "kl_positive", "kumaraswamy",
               "lowrank_mvn", "matrix_distributions", "mixture", "multivariate_normal", "relaxed", "transformed",
               "transforms", "transforms_elementwise", "transforms_matrix", "transforms_simplex",
               "transforms_structural", "utils", "von_mises"]
_TABLE = {name: f".{module}" for module, names in _NAMES.items() for name in names}
_TABLE["VonMises"] = ".von_mises"
_TABLE.update({module: (f".{module}", None) for module in _SUBMODULES})
__getattr__, __dir__ = lazy_attributes(__name__, globals(), _TABLE)

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
