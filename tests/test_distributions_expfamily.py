"""ExponentialFamily (the entropy through the log-normaliser, the Bregman KL) and the
ContinuousBernoulli with its KL pairs, against torch 2.13 in float64 and the closed forms."""
import math

import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D, TD = mt.distributions, torch.distributions
rng = np.random.default_rng(11)
POS = rng.uniform(0.5, 2.5, 3)


def _members(lib):
    f = (lambda v: mt.tensor(v, dtype="float64")) if lib is D else (lambda v: torch.tensor(v, dtype=torch.float64))
    return {"Normal": lib.Normal(f(rng.standard_normal(3)), f(POS)), "Exponential": lib.Exponential(f(POS)),
            "Gamma": lib.Gamma(f(POS), f(POS[::-1].copy())), "Bernoulli": lib.Bernoulli(probs=f([0.2, 0.5, 0.9])),
            "Chi2": lib.Chi2(f(POS * 3)), "ContinuousBernoulli": lib.ContinuousBernoulli(f([0.2, 0.5004, 0.9]))}


OURS = _members(D)
rng = np.random.default_rng(11)           # the same draws for torch's members
THEIRS = _members(TD)


@pytest.mark.parametrize("name", list(OURS))
def test_log_normalizer_entropy_matches_closed_form_and_torch(name):
    d, dt = OURS[name], THEIRS[name]
    assert isinstance(d, D.ExponentialFamily) and isinstance(dt, TD.ExponentialFamily)
    h = D.ExponentialFamily.entropy(d)           # A - <eta, grad A> - E log h, grad A by autograd
    np.testing.assert_allclose(h.numpy(), d.entropy().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), TD.ExponentialFamily.entropy(dt).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["Normal", "Exponential", "Gamma", "Bernoulli", "ContinuousBernoulli"])
def test_bregman_kl_matches_the_closed_form(name):
    # the Bregman divergence of A between two members equals each family's closed-form KL
    from minitf.distributions.exp_family import bregman_kl
    p = OURS[name]
    q = p.expand(p.batch_shape)
    params = {"Normal": lambda: D.Normal(mt.tensor([0.3, -1.0, 2.0], dtype="float64"), mt.tensor(POS[::-1].copy())),
              "Exponential": lambda: D.Exponential(mt.tensor(POS[::-1].copy())),
              "Gamma": lambda: D.Gamma(mt.tensor(POS[::-1].copy()), mt.tensor(POS)),
              "Bernoulli": lambda: D.Bernoulli(probs=mt.tensor([0.6, 0.3, 0.5], dtype="float64")),
              "ContinuousBernoulli": lambda: D.ContinuousBernoulli(mt.tensor([0.7, 0.1, 0.4999], dtype="float64"))}
    q = params[name]()
    np.testing.assert_allclose(bregman_kl(p, q).numpy(), D.kl_divergence(p, q).numpy(), rtol=1e-9, atol=1e-12)


def test_bregman_kl_dispatch_for_a_family_without_its_own_pair():
    class Tilted(D.Exponential):
        """An Exponential subclass with no KL pair of its own: it takes (Exponential, Exponential)."""
    p, q = Tilted(mt.tensor([1.0, 2.0], dtype="float64")), Tilted(mt.tensor([3.0, 0.5], dtype="float64"))
    np.testing.assert_allclose(D.kl_divergence(p, q).numpy(), D.kl_divergence(D.Exponential(p.rate),
                                                                                D.Exponential(q.rate)).numpy())
    # two families without a pair: the generic ExponentialFamily pair refuses, as torch's
    with pytest.raises(NotImplementedError, match="cross KL-divergence between different exponential families"):
        D.kl_divergence(D.Bernoulli(probs=mt.tensor(0.3)), D.Normal(0.0, 1.0))
    with pytest.raises(NotImplementedError, match="cross KL-divergence"):
        TD.kl_divergence(TD.Bernoulli(probs=torch.tensor(0.3)), TD.Normal(0.0, 1.0))


P = np.array([0.1, 0.4995, 0.5, 0.5005, 0.8, 0.999])
V = np.array([0.3, 0.9, 0.5, 0.1, 0.7, 0.2])


@pytest.mark.parametrize("method", ["log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev", "rsample"])
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_continuous_bernoulli_against_torch(method, param):
    # probs on both sides of the unstable region (0.499, 0.501) and inside it (the Taylor branch)
    a = P if param == "probs" else np.log(P) - np.log1p(-P)
    x, xt = mt.tensor(a, dtype="float64", requires_grad=True), torch.tensor(a, requires_grad=True)
    d, dt = D.ContinuousBernoulli(**{param: x}), TD.ContinuousBernoulli(**{param: xt})
    if method == "rsample":
        mt.manual_seed(3)
        y = d.rsample((2,))
        mt.manual_seed(3)
        yt = dt.icdf(torch.tensor(D.Uniform(mt.zeros(6, dtype="float64"), 1.0).sample((2,)).numpy()))
    elif method in ("log_prob", "cdf", "icdf"):
        y, yt = getattr(d, method)(mt.tensor(V)), getattr(dt, method)(torch.tensor(V))
    elif method == "entropy":
        y, yt = d.entropy(), dt.entropy()
    else:
        y, yt = getattr(d, method), getattr(dt, method)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    cot = np.random.default_rng(0).standard_normal(y.shape)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_continuous_bernoulli_gradcheck_moments_and_errors(device):
    p = np.array([0.1, 0.3, 0.8, 0.95])   # (away from the lims, where the branches meet)
    v = mt.tensor([0.2, 0.5, 0.9, 0.4], dtype="float64")
    assert mt.gradcheck(lambda q: (D.ContinuousBernoulli(q).log_prob(v), D.ContinuousBernoulli(q).entropy(),
                                   D.ContinuousBernoulli(q).cdf(v)), [mt.tensor(p, requires_grad=True)])

    def draw(q):
        mt.manual_seed(1)
        return D.ContinuousBernoulli(q).rsample((3,))
    assert mt.gradcheck(draw, [mt.tensor(p, requires_grad=True)])
    # draws: mean within 5 standard errors (sqrt(var / n), n = 20000), variance within 10 %
    # (a bounded variable: the sample variance's standard error is under 2 % here)
    n = 20000
    mt.manual_seed(2)
    d = D.ContinuousBernoulli(mt.tensor(p, dtype="float64", device=device))
    x = d.sample((n,))
    assert x.shape == (n, 4) and x.device == device and not x.requires_grad
    x = x.numpy()
    assert x.min() >= 0 and x.max() <= 1
    assert np.all(np.abs(x.mean(0) - d.mean.numpy()) < 5 * np.sqrt(d.variance.numpy() / n))
    np.testing.assert_allclose(x.var(0), d.variance.numpy(), rtol=0.1)
    with pytest.raises(ValueError, match="The parameter probs has invalid values"):
        D.ContinuousBernoulli(mt.tensor([0.5, 1.5]))
    assert D.ContinuousBernoulli(mt.tensor([0.2, 0.7])).expand((3, 2)).log_prob(mt.tensor(0.5)).shape == (3, 2)


def _pairs(lib):
    f = (lambda v: mt.tensor(v, dtype="float64", requires_grad=True)) if lib is D else \
        (lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    cb = lambda a: lib.ContinuousBernoulli(f(a))     # noqa: E731
    p3 = np.array([0.2, 0.4998, 0.9])
    return {
        "cb-cb": (cb(p3), cb(np.array([0.6, 0.3, 0.5001]))),
        "beta-cb": (lib.Beta(f(POS), f(POS[::-1].copy())), cb(p3)),
        "uniform-cb": (lib.Uniform(f([0.1, 0.2, -0.1]), f([0.5, 0.9, 0.5])), cb(p3)),
        "cb-exponential": (cb(p3), lib.Exponential(f(POS))),
        "cb-normal": (cb(p3), lib.Normal(f([0.1, 0.5, -1.0]), f(POS))),
        "cb-uniform": (cb(p3), lib.Uniform(f([-0.5, 0.2, -1.0]), f([1.5, 2.0, 1.2]))),
        "cb-pareto": (cb(p3), lib.Pareto(f(POS), f(POS))),
        "normal-cb": (lib.Normal(f([0.1, 0.5, -1.0]), f(POS)), cb(p3)),
        "gamma-cb": (lib.Gamma(f(POS), f(POS)), cb(p3)),
    }


@pytest.mark.parametrize("pair", list(_pairs(D)))
def test_continuous_bernoulli_kl_against_torch(pair):
    (p, q), (pt, qt) = _pairs(D)[pair], _pairs(TD)[pair]
    kl, klt = D.kl_divergence(p, q), TD.kl_divergence(pt, qt)
    assert kl.shape == tuple(klt.shape)
    np.testing.assert_allclose(kl.detach().numpy(), klt.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_continuous_bernoulli_uniform_kl_at_the_ends_of_the_unit_interval():
    # U[0, 1] covers the ContinuousBernoulli's support: KL(CB || U[0, 1]) = -H(CB) (torch: +inf)
    cb = D.ContinuousBernoulli(mt.tensor([0.2, 0.7], dtype="float64"))
    u = D.Uniform(mt.zeros(2, dtype="float64"), mt.ones(2, dtype="float64"))
    np.testing.assert_allclose(D.kl_divergence(cb, u).numpy(), -cb.entropy().numpy(), rtol=1e-12)
    # KL(U[0, 1/2] || CB) = -log 2 - E_U[log q(x)], finite (torch: +inf); log q is linear in x
    half = D.Uniform(mt.zeros(2, dtype="float64"), mt.full((2,), 0.5, dtype="float64"))
    expected = -math.log(0.5) - cb.log_prob(mt.full((2,), 0.25, dtype="float64")).numpy()
    np.testing.assert_allclose(D.kl_divergence(half, cb).numpy(), expected, rtol=1e-12)
    wide = D.Uniform(mt.full((2,), 0.1, dtype="float64"), mt.full((2,), 1.2, dtype="float64"))
    assert np.all(np.isinf(D.kl_divergence(cb, wide).numpy()))   # q has no mass on [0, 0.1)
