"""The distributions added in round 7 (folded, Gamma-derived, extreme-value, unit-interval,
count, circular ones...) against torch.distributions 2.13 in float64: log_prob, cdf, icdf,
entropy and the moments, with the gradients of each in every tensor parameter (torch's as the
reference) and mt.gradcheck of the densities."""
import math

import numpy as np
import pytest

import minitf as mt

from .test_distributions import POS, PROB, REAL, _call, _simplex, _value, compare_with_torch
from .test_distributions_kl import compare_kl_with_torch

torch = pytest.importorskip("torch")
D, TD = mt.distributions, torch.distributions
rng = np.random.default_rng(7)

CONT = ["log_prob", "cdf", "entropy", "mean", "variance", "stddev", "mode", "icdf"]
SPECS = [
    ("halfnormal", "HalfNormal", dict(scale=POS(2, 3)), POS(2, 3), CONT),
    ("halfcauchy", "HalfCauchy", dict(scale=POS(3)), POS(3), ["log_prob", "cdf", "entropy", "mean", "mode", "icdf"]),
    ("chi2", "Chi2", dict(df=POS(3) * 3), POS(3), ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("inversegamma", "InverseGamma", dict(concentration=np.array([0.7, 1.5, 3.0]), rate=POS(3)), POS(3),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("fisher", "FisherSnedecor", dict(df1=np.array([1.5, 3.0, 6.0, 9.0]), df2=np.array([1.5, 3.0, 5.0, 12.0])),
     POS(4), ["log_prob", "mean", "variance", "mode"]),
    ("weibull", "Weibull", dict(scale=POS(3), concentration=POS(3) + 1), POS(3), CONT),
    ("pareto", "Pareto", dict(scale=POS(3) * 0.2, alpha=np.array([0.7, 1.5, 3.0])), POS(3) + 0.5,
     ["log_prob", "cdf", "entropy", "mean", "variance", "mode", "icdf"]),
    ("kumaraswamy", "Kumaraswamy", dict(concentration1=POS(3) + 0.5, concentration0=POS(2, 1) + 0.5), PROB(2, 3),
     ["log_prob", "cdf", "entropy", "mean", "variance", "stddev", "icdf"]),
    ("negbin-probs", "NegativeBinomial", dict(total_count=np.array([0.0, 2.5, 4.0]), probs=PROB(3)),
     np.array([0.0, 3.0, 7.0]), ["log_prob", "mean", "variance", "mode"]),
    ("negbin-logits", "NegativeBinomial", dict(total_count=np.array([1.0, 3.0]), logits=REAL(2, 2)),
     np.array([2.0, 0.0]), ["log_prob", "mean", "variance", "mode"]),
    # (the entropy: test_multinomial_entropy_by_enumeration)
    ("multinomial", "Multinomial", dict(total_count=5, probs=_simplex(2, 3)), np.array([[1.0, 4.0, 0.0], [2.0, 2.0, 1.0]]),
     ["log_prob", "mean", "variance"]),
    ("multinomial-logits", "Multinomial", dict(total_count=3, logits=REAL(4)), np.array([0.0, 1.0, 2.0, 0.0]),
     ["log_prob", "mean", "variance"]),
    ("logisticnormal", "LogisticNormal", dict(loc=REAL(2, 3), scale=POS(3)), _simplex(2, 4), ["log_prob"]),
    ("onehot-st", "OneHotCategoricalStraightThrough", dict(logits=REAL(2, 3)), np.eye(3)[[0, 2]],
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    # (torch's GeneralizedPareto log_prob and cdf fail in float64: "Double did not match Float";
    # they are checked against the closed form in test_generalized_pareto_density_and_cdf)
    ("gpd", "GeneralizedPareto", dict(loc=REAL(4), scale=POS(4), concentration=np.array([-0.3, 0.0, 0.2, 0.7])),
     POS(4), ["entropy", "mean", "variance", "mode", "icdf"]),
]


def build(lib, name, params):
    """lib's distribution ``name`` from numpy params (float64 tensors that require grad; numbers,
    int or float, as they are) -> (dist, tensors)."""
    tensors = {k: v if isinstance(v, (int, float)) else
               torch.tensor(v, requires_grad=True) if lib is TD else mt.tensor(v, dtype="float64", requires_grad=True)
               for k, v in params.items()}
    return getattr(lib, name)(**tensors), tensors


ICDF_Q = np.array([0.1, 0.5, 0.8, 0.3])


def _icdf_value(lib, d):
    q = np.broadcast_to(ICDF_Q[:d.batch_shape[-1]] if d.batch_shape else 0.3, d.batch_shape).copy()
    return torch.tensor(q) if lib is TD else mt.tensor(q, dtype="float64")


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_against_torch_values_and_gradients(spec):
    _, name, params, value, methods = spec
    for method in methods:
        d, ps = build(D, name, params)
        dt, pts = build(TD, name, params)
        v = _icdf_value(D, d) if method == "icdf" else _value(D, value, name)
        vt = _icdf_value(TD, dt) if method == "icdf" else _value(TD, value, name)
        # where a moment is undefined (NaN / inf: FisherSnedecor's variance at df2 <= 4, Pareto's mean
        # at alpha <= 1) torch's gradient there is NaN or 0 by how it masks, minitf's 0 or NaN the
        # other way round: only the defined elements' gradients are compared
        compare_with_torch(_call(d, method, v), _call(dt, method, vt), ps, pts, method, defined_only=True)


# (GPD's c = 0 is a branch: its derivative in c there is the branch's, 0, as torch's; the finite
# differences step off it, so the gradcheck takes concentrations away from 0)
GRADCHECK = [s for s in SPECS if s[0] not in ("gpd",)] + [
    ("gpd-density", "GeneralizedPareto", dict(SPECS[-1][2], concentration=np.array([-0.3, 0.1, 0.2, 0.7])),
     SPECS[-1][2]["loc"] + SPECS[-1][2]["scale"] * np.array([0.5, 1.0, 2.0, 3.0]), ["log_prob", "entropy"])]


@pytest.mark.parametrize("spec", GRADCHECK, ids=[s[0] for s in GRADCHECK])
def test_gradcheck_log_prob_and_entropy(spec):
    _, name, params, value, methods = spec
    names = [k for k, v in params.items() if not isinstance(v, (int, float)) and k != "total_count"]
    fixed = {k: (mt.tensor(v, dtype="float64") if not isinstance(v, (int, float)) else v)
             for k, v in params.items() if k not in names}
    v = _value(D, value, name)

    def fn(*xs):
        d = getattr(D, name)(**dict(zip(names, xs)), **fixed, validate_args=False)
        out = d.log_prob(v).sum() if "log_prob" in methods else 0.0
        return out + d.entropy().sum() if "entropy" in methods else out
    assert mt.gradcheck(fn, [mt.tensor(params[k], dtype="float64", requires_grad=True) for k in names])


def test_multinomial_entropy_by_enumeration():
    # torch's Multinomial.entropy takes log n! through lgamma of an int64 tensor, in float32 (2e-8
    # relative off): minitf's is checked against the sum over every count vector instead
    import itertools
    from math import lgamma
    for n, p in ((5, np.array([0.2, 0.5, 0.3])), (3, np.array([0.1, 0.2, 0.3, 0.4]))):
        lp = []
        for x in itertools.product(range(n + 1), repeat=len(p)):
            if sum(x) == n:
                lp.append(lgamma(n + 1) - sum(lgamma(k + 1) for k in x) + float(np.dot(x, np.log(p))))
        lp = np.array(lp)
        h = D.Multinomial(n, probs=mt.tensor(p, dtype="float64")).entropy().item()
        np.testing.assert_allclose(h, -(np.exp(lp) * lp).sum(), rtol=1e-12)
        ht = TD.Multinomial(n, probs=torch.tensor(p)).entropy().item()
        np.testing.assert_allclose(h, ht, rtol=1e-7)      # torch, to its float32 log n!


def test_generalized_pareto_density_and_cdf():
    # the closed forms in numpy: z = (x - loc) / scale, log f = -log scale - (1 / c + 1) log1p(c z)
    # (c != 0) or -log scale - z (c = 0); F = 1 - (1 + c z)^(-1 / c) or 1 - exp(-z)
    loc, scale, c = np.array([0.5, -1.0, 0.0, 2.0]), np.array([1.0, 2.0, 0.5, 1.5]), np.array([-0.3, 0.0, 0.2, 0.7])
    x = loc + scale * np.array([0.5, 1.0, 2.0, 3.0])
    z = (x - loc) / scale
    safe = np.where(c == 0, 1.0, c)
    lp = np.where(c == 0, -np.log(scale) - z, -np.log(scale) - (1 / safe + 1) * np.log1p(safe * z))
    cdf = np.where(c == 0, -np.expm1(-z), 1 - (1 + safe * z) ** (-1 / safe))
    d = D.GeneralizedPareto(mt.tensor(loc), mt.tensor(scale), mt.tensor(c))
    np.testing.assert_allclose(d.log_prob(mt.tensor(x)).numpy(), lp, rtol=1e-12)
    np.testing.assert_allclose(d.cdf(mt.tensor(x)).numpy(), cdf, rtol=1e-12)
    np.testing.assert_allclose(d.icdf(mt.tensor(cdf)).numpy(), x, rtol=1e-10)
    np.testing.assert_allclose(d.log_survival_function(mt.tensor(x)).numpy(), np.log1p(-cdf), rtol=1e-12)
    assert repr(d.support).startswith("Interval") and float(d.support.upper_bound[0]) == 0.5 + 1 / 0.3
    with pytest.raises(ValueError, match="to be within the support"):
        d.log_prob(mt.tensor([0.5 + 4.0, 0.0, 1.0, 3.0], dtype="float64"))     # above loc - scale / c for c < 0
    # c = -1: the uniform on [loc, loc + scale], whose log-density is -log scale everywhere, ends included
    u = D.GeneralizedPareto(0.0, 2.0, -1.0)
    np.testing.assert_allclose(u.log_prob(mt.tensor([0.0, 1.0, 2.0])).numpy(), -np.log(2.0), rtol=1e-6)


def test_von_mises_against_numpy_and_torch():
    # log I0 through i0e is exact (numpy's i0 as the reference); torch evaluates log I0 and log I1 by
    # polynomial fits: its log_prob is good to ~1e-7 relative here (rtol 1e-6), its 1 - I1 / I0 to
    # 6e-5 at k = 50 where the difference cancels (rtol 1e-4)
    import mpmath
    loc, k = np.array([0.3, -2.0, 1.0, 0.0]), np.array([0.01, 0.7, 4.0, 50.0])
    x = np.array([0.1, 2.5, -1.0, 0.05])
    d = D.VonMises(mt.tensor(loc), mt.tensor(k))
    lp = k * np.cos(x - loc) - np.log(2 * np.pi) - np.log(np.i0(k))
    np.testing.assert_allclose(d.log_prob(mt.tensor(x)).numpy(), lp, rtol=1e-12)
    var = [1 - float(mpmath.besseli(1, kk) / mpmath.besseli(0, kk)) for kk in k]
    np.testing.assert_allclose(d.variance.numpy(), var, rtol=1e-12)
    dt = TD.VonMises(torch.tensor(loc), torch.tensor(k))
    np.testing.assert_allclose(d.log_prob(mt.tensor(x)).numpy(), dt.log_prob(torch.tensor(x)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(d.variance.numpy(), dt.variance.numpy(), rtol=1e-4)
    assert d.has_rsample is False and repr(d.support) == repr(dt.support)
    assert np.array_equal(d.mean.numpy(), loc) and np.array_equal(d.mode.numpy(), loc)
    assert mt.gradcheck(lambda a, b: D.VonMises(a, b).log_prob(mt.tensor(x)),
                        [mt.tensor(loc, requires_grad=True), mt.tensor(k, requires_grad=True)])


def test_kumaraswamy_mode_is_the_density_argmax():
    # torch 2.13's mode is NaN for every concentration pair > 1 (see Kumaraswamy.mode): the density's
    # argmax on a fine grid is the reference instead
    a, b = np.array([2.0, 5.0, 1.5, 1.0, 0.5]), np.array([3.0, 1.2, 1.0, 4.0, 2.0])
    d = D.Kumaraswamy(mt.tensor(a), mt.tensor(b))
    grid = np.linspace(1e-6, 1 - 1e-6, 200001)
    lp = d.log_prob(mt.tensor(np.broadcast_to(grid[:, None], (grid.size, 5)).copy())).numpy()
    mode = d.mode.numpy()
    np.testing.assert_allclose(mode[:4], grid[lp[:, :4].argmax(0)], atol=1e-5)
    assert mode[3] == 0.0 and np.isnan(mode[4])   # a = 1: decreasing density, mode 0; a < 1: unbounded at 0


def _kl_pairs():
    return [
        ("HalfNormal", dict(scale=POS(2, 3)), "HalfNormal", dict(scale=POS(3))),
        ("Pareto", dict(scale=np.array([1.0, 0.5, 2.0]), alpha=POS(3)), "Pareto",
         dict(scale=np.array([0.8, 0.9, 1.0]), alpha=POS(3))),
        ("Pareto", dict(scale=POS(3), alpha=np.array([0.8, 1.5, 3.0])), "Exponential", dict(rate=POS(3))),
        ("Pareto", dict(scale=POS(3), alpha=np.array([0.8, 1.5, 3.0])), "Gamma", dict(concentration=POS(3), rate=POS(3))),
        ("Pareto", dict(scale=POS(3), alpha=np.array([1.5, 2.5, 4.0])), "Normal", dict(loc=REAL(3), scale=POS(3))),
        ("Uniform", dict(low=np.array([0.5, 1.0, 0.2]), high=np.array([2.0, 3.0, 0.9])), "Pareto",
         dict(scale=np.array([0.4, 1.0, 0.3]), alpha=POS(3))),
        ("Uniform", dict(low=np.array([0.5]), high=np.array([2.0])), "Pareto", dict(scale=np.array([0.6]), alpha=POS(1))),
        ("Normal", dict(loc=REAL(3), scale=POS(3)), "Pareto", dict(scale=POS(3), alpha=POS(3))),
        ("Exponential", dict(rate=POS(3)), "Pareto", dict(scale=POS(3), alpha=POS(3))),
        ("Pareto", dict(scale=POS(3), alpha=POS(3)), "Uniform", dict(low=np.zeros(3), high=POS(3) + 5)),
        ("Pareto", dict(scale=POS(3), alpha=POS(3)), "Beta", dict(concentration1=POS(3), concentration0=POS(3))),
        ("Beta", dict(concentration1=POS(3), concentration0=POS(3)), "Pareto", dict(scale=POS(3), alpha=POS(3))),
    ]


KL_PAIRS = _kl_pairs()


@pytest.mark.parametrize("pair", KL_PAIRS, ids=[f"{p[0]}-{p[2]}-{i}" for i, p in enumerate(KL_PAIRS)])
def test_kl_against_torch(pair):
    compare_kl_with_torch(pair, build)


# ------------------------------------------------------------------ draws

# n draws with a fixed seed; each sample mean is within 5 standard errors (sqrt(var / n)) of the
# mean (a false alarm has probability ~6e-7 per check); the sample variance within 10 % (its
# standard error var * sqrt((kurtosis - 1) / n) is under 3 % for the laws below at n = 20000)
N = 20000


def _moment_cases(dev):
    t = lambda *v: mt.tensor(list(v), dtype="float64", device=dev)      # noqa: E731
    wm = 2.0 * math.gamma(1 + 1 / 1.5)
    kum_m1 = 3 * math.gamma(1.5) * math.gamma(3) / math.gamma(4.5)
    kum_m2 = 3 * math.gamma(2) * math.gamma(3) / math.gamma(5)
    return [
        (D.HalfNormal(t(1.5)), [1.5 * math.sqrt(2 / math.pi)], [2.25 * (1 - 2 / math.pi)]),
        (D.Chi2(t(3.0)), [3.0], [6.0]),
        (D.InverseGamma(t(6.0), t(2.0)), [0.4], [4 / (25 * 4)]),
        (D.FisherSnedecor(t(6.0), t(12.0)), [1.2], [0.96]),
        (D.Weibull(t(2.0), t(1.5)), [wm], [4.0 * math.gamma(1 + 2 / 1.5) - wm ** 2]),
        (D.Pareto(t(1.0), t(5.0)), [1.25], [5 / 48]),
        (D.GeneralizedPareto(t(0.0, 1.0), t(1.0, 2.0), t(0.1, -0.5)), [1 / 0.9, 1.0 + 2 / 1.5],
         [1 / (0.81 * 0.8), 4 / (2.25 * 2)]),
        (D.Kumaraswamy(t(2.0), t(3.0)), [kum_m1], [kum_m2 - kum_m1 ** 2]),
        (D.NegativeBinomial(t(3.0), probs=t(0.4)), [2.0], [2.0 / 0.6]),
        (D.Multinomial(10, probs=t(0.2, 0.3, 0.5)), [2.0, 3.0, 5.0], [1.6, 2.1, 2.5]),
    ]


@pytest.mark.parametrize("case", range(10))
def test_sample_moments(case, device):
    mt.manual_seed(99)
    d, mean, var = _moment_cases(device)[case]
    x = d.sample((N,))
    assert x.shape == (N,) + tuple(d.batch_shape) + tuple(d.event_shape) and x.device == device
    assert not x.requires_grad and bool(d.support.check(x).all())
    x = x.numpy()
    mean, var = np.array(mean), np.array(var)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / N)), (x.mean(0), mean)
    np.testing.assert_allclose(x.var(0), var, rtol=0.1)
    np.testing.assert_allclose(d.mean.numpy(), mean, rtol=1e-9)
    np.testing.assert_allclose(d.variance.numpy(), var, rtol=1e-9)


def test_heavy_tailed_circular_and_simplex_draws(device):
    mt.manual_seed(5)
    t = lambda *v: mt.tensor(list(v), dtype="float64", device=device)     # noqa: E731
    # HalfCauchy has no mean: P(X <= scale) = 1/2, the frequency's standard error sqrt(1/4 / n)
    x = D.HalfCauchy(t(2.0)).sample((N,)).numpy()
    assert x.min() >= 0 and abs((x <= 2.0).mean() - 0.5) < 5 * np.sqrt(0.25 / N)
    # VonMises: E cos(x - loc) = I1(k) / I0(k) = 1 - variance and E sin(x - loc) = 0; cos and sin are
    # bounded by 1, so their standard errors are at most 1 / sqrt(n)
    vm = D.VonMises(t(2.5, -1.0), t(2.0, 0.3))
    v = vm.sample((N,)).numpy()
    assert v.shape == (N, 2) and v.min() >= -np.pi and v.max() < np.pi
    loc = np.array([2.5, -1.0])
    assert np.all(np.abs(np.cos(v - loc).mean(0) - (1 - vm.variance.numpy())) < 5 / np.sqrt(N))
    assert np.all(np.abs(np.sin(v - loc).mean(0)) < 5 / np.sqrt(N))
    # LogisticNormal: the stick-breaking inverse of its draws is Normal(loc, scale)
    ln = D.LogisticNormal(t(0.5, -1.0), t(1.0, 0.5))
    y = ln.sample((N,))
    assert y.shape == (N, 3) and bool(D.constraints.simplex.check(y).all())
    z = D.StickBreakingTransform().inv(y).numpy()
    assert np.all(np.abs(z.mean(0) - [0.5, -1.0]) < 5 * np.array([1.0, 0.5]) / np.sqrt(N))
    np.testing.assert_allclose(z.std(0), [1.0, 0.5], rtol=0.05)   # (the sd's standard error: 0.5 % here)
    # OneHotCategoricalStraightThrough: one-hot draws with the category frequencies
    probs = np.array([0.2, 0.3, 0.5])
    oh = D.OneHotCategoricalStraightThrough(probs=t(*probs)).sample((N,)).numpy()
    assert np.all(oh.sum(-1) == 1) and np.all(np.abs(oh.mean(0) - probs) < 5 * np.sqrt(probs * (1 - probs) / N))


RSAMPLE = [("HalfNormal", [[0.7, 2.0]]), ("HalfCauchy", [[0.7, 2.0]]), ("Weibull", [[0.7, 2.0], [1.5, 0.8]]),
           ("Pareto", [[0.7, 2.0], [1.5, 3.0]]), ("Kumaraswamy", [[0.7, 2.0], [1.5, 3.0]]),
           ("GeneralizedPareto", [[0.0, 1.0], [0.7, 2.0], [0.3, -0.2]]), ("LogisticNormal", [[0.3, -0.5], [1.0, 0.4]])]


@pytest.mark.parametrize("name,params", RSAMPLE, ids=[r[0] for r in RSAMPLE])
def test_rsample_gradcheck(name, params):
    # a fixed seed makes rsample a deterministic function of the parameters: its derivative checked
    # by central differences (these draws are smooth maps of uniform or normal noise)
    def fn(*ps):
        mt.manual_seed(11)
        return getattr(D, name)(*ps, validate_args=False).rsample((3,))
    assert getattr(D, name)(*[mt.tensor(p) for p in params]).has_rsample
    assert mt.gradcheck(fn, [mt.tensor(p, dtype="float64", requires_grad=True) for p in params])


def test_gamma_based_rsample_gradients_are_unbiased():
    # Chi2, InverseGamma, FisherSnedecor draw through the implicit Gamma gradient: d/dtheta E[x] =
    # E[dx/dtheta], the mean of n per-draw gradients within 5 standard errors of the closed form
    n = 4000
    mt.manual_seed(0)
    cases = [(lambda p: D.Chi2(p), 3.0, lambda v: 1.0),                                 # d df / d df
             (lambda p: D.InverseGamma(p, 2.0), 4.0, lambda v: -2.0 / (v - 1) ** 2),    # d r / (a - 1)
             (lambda p: D.FisherSnedecor(5.0, p), 9.0, lambda v: -2.0 / (v - 2) ** 2)]  # d df2 / (df2 - 2)
    for make, v, dmean in cases:
        p = mt.tensor(np.full(n, v), dtype="float64", requires_grad=True)
        (g,) = mt.autograd.grad(make(p).rsample().sum(), [p])
        g = g.numpy()
        assert np.isfinite(g).all() and abs(g.mean() - dmean(v)) < 5 * g.std() / np.sqrt(n), (g.mean(), dmean(v))


def test_straight_through_gradient_is_the_probs_gradient():
    logits = mt.tensor([[0.3, -1.0, 2.0]], dtype="float64", requires_grad=True)
    d = D.OneHotCategoricalStraightThrough(logits=logits)
    mt.manual_seed(2)
    x = d.rsample((4,))
    assert x.shape == (4, 1, 3) and np.all(np.isin(x.detach().numpy(), [0.0, 1.0])) and d.has_rsample
    w = mt.tensor(np.arange(12.0).reshape(4, 1, 3))
    (g,) = mt.autograd.grad((x * w).sum(), [logits])
    (gp,) = mt.autograd.grad((D.OneHotCategorical(logits=logits).probs * w.sum(0)).sum(), [logits])
    np.testing.assert_allclose(g.numpy(), gp.numpy(), rtol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_constraints_rsample_flag_and_expand_match_torch(spec):
    _, name, params, value, methods = spec
    (d, _), (dt, _) = build(D, name, params), build(TD, name, params)
    assert d.has_rsample == dt.has_rsample and d.batch_shape == tuple(dt.batch_shape)
    assert d.event_shape == tuple(dt.event_shape)
    assert {k: repr(c) for k, c in d.arg_constraints.items()} == {k: repr(c) for k, c in dt.arg_constraints.items()}
    if not D.constraints.is_dependent(type(d).support):
        assert repr(d.support) == repr(dt.support)
    batch = (2,) + tuple(d.batch_shape)
    e, et = d.expand(batch), dt.expand(batch)
    assert type(e) is type(d) and e.batch_shape == batch == tuple(et.batch_shape)
    if "log_prob" in methods:
        lp, lpt = e.log_prob(_value(D, value, name)), et.log_prob(_value(TD, value, name))
        np.testing.assert_allclose(lp.detach().numpy(), lpt.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make,match", [
    (lambda: D.HalfNormal(mt.tensor([1.0, -1.0])), "Expected parameter scale"),
    (lambda: D.Pareto(mt.tensor([1.0]), mt.tensor([0.0])), "Expected parameter alpha"),
    (lambda: D.Weibull(mt.tensor([1.0]), mt.tensor([-2.0])), "Expected parameter concentration"),
    (lambda: D.Kumaraswamy(mt.tensor([0.0]), mt.tensor([1.0])), "Expected parameter concentration1"),
    (lambda: D.NegativeBinomial(mt.tensor([2.0]), probs=mt.tensor([1.0])), "HalfOpenInterval"),
    (lambda: D.NegativeBinomial(2.0, probs=mt.tensor(0.3), logits=mt.tensor(0.1)), "Either `probs` or `logits`"),
    (lambda: D.Multinomial(2.5, probs=mt.tensor([0.5, 0.5])), "inhomogeneous total_count is not supported"),
    (lambda: D.Multinomial(3, probs=mt.tensor([0.5, 0.5])).log_prob(mt.tensor([2.0, 2.0])), "Multinomial"),
    (lambda: D.Pareto(mt.tensor([1.0]), mt.tensor([2.0])).log_prob(mt.tensor([0.5])), "to be within the support"),
    (lambda: D.VonMises(mt.tensor([0.0]), mt.tensor([-1.0])), "Expected parameter concentration"),
    (lambda: D.FisherSnedecor(mt.tensor([1.0]), mt.tensor([0.0])), "Expected parameter df2"),
])
def test_user_mistakes_raise_one_clear_error(make, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        make()
