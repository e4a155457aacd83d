"""kl_divergence against torch 2.13 (values and gradients, float64, broadcast batch shapes, the
infinite pairs), mt.gradcheck of the closed forms, register_kl's dispatch; and the draws: sample
moments with a fixed seed, on the CPU and the fake device."""
import math

import numpy as np
import pytest

import minitf as mt

from .test_distributions import POS, PROB, REAL, SPD, TRIL, _simplex, build

torch = pytest.importorskip("torch")
D = mt.distributions
TD = torch.distributions

_N = dict(loc=REAL(2, 3), scale=POS(3))
PAIRS = [
    ("Normal", _N, "Normal", dict(loc=REAL(3), scale=POS(2, 3))),
    ("Bernoulli", dict(probs=PROB(3)), "Bernoulli", dict(logits=REAL(3))),
    ("Categorical", dict(probs=_simplex(2, 4)), "Categorical", dict(logits=REAL(4))),
    ("OneHotCategorical", dict(logits=REAL(3)), "OneHotCategorical", dict(probs=_simplex(2, 3))),
    ("Binomial", dict(total_count=np.array([4.0, 4.0]), probs=PROB(2)), "Binomial",
     dict(total_count=np.array([4.0, 4.0]), probs=PROB(2))),
    ("Geometric", dict(probs=PROB(3)), "Geometric", dict(probs=PROB(3))),
    ("Poisson", dict(rate=POS(3)), "Poisson", dict(rate=POS(3))),
    ("Exponential", dict(rate=POS(3)), "Exponential", dict(rate=POS(2, 1))),
    ("Laplace", dict(loc=REAL(3), scale=POS(3)), "Laplace", dict(loc=REAL(3), scale=POS(3))),
    ("Cauchy", dict(loc=REAL(3), scale=POS(3)), "Cauchy", dict(loc=REAL(3), scale=POS(3))),
    ("Gumbel", dict(loc=REAL(3), scale=POS(3)), "Gumbel", dict(loc=REAL(3), scale=POS(3))),
    ("Uniform", dict(low=np.array([0.0, 0.2]), high=np.array([1.0, 0.8])), "Uniform",
     dict(low=np.array([-1.0, 0.1]), high=np.array([2.0, 0.9]))),
    ("Gamma", dict(concentration=POS(3), rate=POS(3)), "Gamma", dict(concentration=POS(3), rate=POS(3))),
    ("Dirichlet", dict(concentration=POS(2, 4)), "Dirichlet", dict(concentration=POS(4))),
    ("Beta", dict(concentration1=POS(3), concentration0=POS(3)), "Beta",
     dict(concentration1=POS(3), concentration0=POS(3))),
    ("MultivariateNormal", dict(loc=REAL(2, 3), covariance_matrix="spd"), "MultivariateNormal",
     dict(loc=REAL(3), scale_tril="tril")),
    ("LogNormal", dict(loc=REAL(3), scale=POS(3)), "LogNormal", dict(loc=REAL(3), scale=POS(3))),
    ("Uniform", dict(low=POS(3) - 0.4, high=POS(3) + 2.6), "Normal", dict(loc=REAL(3), scale=POS(3))),
    ("Uniform", dict(low=POS(3) - 0.4, high=POS(3) + 2.6), "Exponential", dict(rate=POS(3))),
    ("Uniform", dict(low=POS(3), high=POS(3) + 2.6), "Gamma", dict(concentration=POS(3), rate=POS(3))),
    ("Uniform", dict(low=REAL(3), high=POS(3) + 2.6), "Gumbel", dict(loc=REAL(3), scale=POS(3))),
    ("Exponential", dict(rate=POS(3)), "Normal", dict(loc=REAL(3), scale=POS(3))),
    ("Exponential", dict(rate=POS(3)), "Gamma", dict(concentration=POS(3), rate=POS(3))),
    ("Exponential", dict(rate=POS(3)), "Gumbel", dict(loc=REAL(3), scale=POS(3))),
    ("Gamma", dict(concentration=POS(3), rate=POS(3)), "Exponential", dict(rate=POS(3))),
    ("Gamma", dict(concentration=POS(3), rate=POS(3)), "Normal", dict(loc=REAL(3), scale=POS(3))),
    ("Laplace", dict(loc=REAL(3), scale=POS(3)), "Normal", dict(loc=REAL(3), scale=POS(3))),
    ("Normal", dict(loc=REAL(3), scale=POS(3)), "Laplace", dict(loc=REAL(3), scale=POS(3))),
    ("Normal", dict(loc=REAL(3), scale=POS(3)), "Gumbel", dict(loc=REAL(3), scale=POS(3))),
    ("Bernoulli", dict(probs=PROB(3)), "Poisson", dict(rate=POS(3))),
    ("Beta", dict(concentration1=POS(3), concentration0=POS(3)), "Normal", dict(loc=REAL(3), scale=POS(3))),
    ("Beta", dict(concentration1=POS(3), concentration0=POS(3)), "Exponential", dict(rate=POS(3))),
    ("Beta", dict(concentration1=POS(3), concentration0=POS(3)), "Gamma",
     dict(concentration=POS(3), rate=POS(3))),
    ("Beta", dict(concentration1=POS(3), concentration0=POS(3)), "Uniform",
     dict(low=np.array([-0.5, 0.0, 0.1]), high=np.array([1.0, 2.0, 1.0]))),
    ("Uniform", dict(low=np.array([0.0, 0.2, 0.5]), high=np.array([1.0, 0.7, 1.2])), "Beta",
     dict(concentration1=POS(3), concentration0=POS(3))),
    ("Gamma", dict(concentration=POS(3), rate=POS(3)), "Gumbel", dict(loc=REAL(3), scale=POS(3))),
    ("Gumbel", dict(loc=REAL(3), scale=POS(3)), "Normal", dict(loc=REAL(3), scale=POS(3))),
    # q without mass on part of p's support: +inf
    ("Normal", dict(loc=REAL(3), scale=POS(3)), "Exponential", dict(rate=POS(3))),
    ("Gamma", dict(concentration=POS(3), rate=POS(3)), "Uniform", dict(low=np.zeros(3), high=POS(3))),
    ("Uniform", dict(low=REAL(3) - 3, high=POS(3)), "Exponential", dict(rate=POS(3))),
    ("Bernoulli", dict(probs=np.array([0.0, 0.3, 1.0])), "Bernoulli", dict(probs=np.array([0.5, 0.0, 1.0]))),
    ("Categorical", dict(probs=np.array([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])), "Categorical",
     dict(probs=np.array([0.3, 0.7, 0.0]))),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{p[0]}-{p[2]}-{i}" for i, p in enumerate(PAIRS)])
def test_kl_against_torch(pair):
    compare_kl_with_torch(pair, build)


def compare_kl_with_torch(pair, build):
    """KL of the pair (p_name, p_params, q_name, q_params) built by ``build`` against torch's: values,
    then the gradients in every tensor parameter where torch's KL is finite."""
    p_name, p_params, q_name, q_params = pair
    p, pp = build(D, p_name, p_params)
    q, qp = build(D, q_name, q_params)
    pt, ppt = build(TD, p_name, p_params)
    qt, qpt = build(TD, q_name, q_params)
    kl, klt = D.kl_divergence(p, q), TD.kl_divergence(pt, qt)
    assert kl.shape == tuple(klt.shape)
    np.testing.assert_allclose(kl.detach().numpy(), klt.detach().numpy(), rtol=1e-9, atol=1e-12)
    finite = np.isfinite(klt.detach().numpy())
    if not finite.any() or not klt.requires_grad:
        return
    cot = np.where(finite, np.random.default_rng(2).standard_normal(kl.shape), 0.0)
    (mt.where(mt.tensor(finite), kl, 0.0) * mt.tensor(cot)).sum().backward()
    (torch.where(torch.tensor(finite), klt, 0.0) * torch.tensor(cot)).sum().backward()
    for ours, theirs in ((pp, ppt), (qp, qpt)):
        for k in ours:
            if isinstance(ours[k], (int, float)) or theirs[k].grad is None:
                continue
            np.testing.assert_allclose(ours[k].grad.numpy(), theirs[k].grad.numpy(), rtol=1e-8, atol=1e-10,
                                       err_msg=k)


@pytest.mark.parametrize("pair", [PAIRS[i] for i in (0, 2, 9, 12, 13, 15, 17, 22)], ids=lambda p: f"{p[0]}-{p[2]}")
def test_kl_gradcheck(pair):
    p_name, p_params, q_name, q_params = pair
    keys = [("p", k) for k in p_params] + [("q", k) for k in q_params]
    arrays = [SPD if isinstance(v, str) and v == "spd" else TRIL if isinstance(v, str) else v
              for v in list(p_params.values()) + list(q_params.values())]
    inputs = [mt.tensor(a, dtype="float64", requires_grad=True) for a in arrays]

    def fn(*xs):
        xs = [(x + x.mT) / 2 if k == "covariance_matrix" else x for (_, k), x in zip(keys, xs)]
        p = getattr(D, p_name)(**{k: x for (w, k), x in zip(keys, xs) if w == "p"}, validate_args=False)
        q = getattr(D, q_name)(**{k: x for (w, k), x in zip(keys, xs) if w == "q"}, validate_args=False)
        return D.kl_divergence(p, q)
    assert mt.gradcheck(fn, inputs)


def test_register_kl_dispatch_and_missing_pairs():
    class MyNormal(D.Normal):
        pass
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 2.0)
    # a subclass falls back to its parent's pair, until one of its own is registered
    assert abs(D.kl_divergence(p, q).item() - D.kl_divergence(D.Normal(0.0, 1.0), q).item()) < 1e-12

    @D.register_kl(MyNormal, D.Normal)
    def _mine(p, q):
        return mt.tensor(42.0)
    assert D.kl_divergence(p, q).item() == 42.0
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0))
    with pytest.raises(TypeError):
        D.register_kl(1, D.Normal)


# ------------------------------------------------------------------ draws

# (distribution, its mean and variance); n = 20000 draws with a fixed seed: the sample mean's
# standard error is sqrt(var / n), and we allow 5 of them (a false alarm has probability ~6e-7
# per check); the sample variance is checked to 10 % (its standard error is
# var * sqrt((kurtosis - 1) / n) <= 0.05 var for the kurtoses below, so 10 % is 2 standard errors
# only for the heavy-tailed Laplace/Exponential, and the seed is fixed).
N_DRAWS = 20000
MOMENTS = [
    (lambda d: D.Normal(mt.tensor([1.0, -2.0], device=d), mt.tensor([0.5, 2.0], device=d)), [1.0, -2.0], [0.25, 4.0]),
    (lambda d: D.Uniform(mt.tensor([0.0], device=d), mt.tensor([3.0], device=d)), [1.5], [0.75]),
    (lambda d: D.Exponential(mt.tensor([2.0], device=d)), [0.5], [0.25]),
    (lambda d: D.Laplace(mt.tensor([1.0], device=d), mt.tensor([0.5], device=d)), [1.0], [0.5]),
    (lambda d: D.Gumbel(mt.tensor([0.0], device=d), mt.tensor([1.0], device=d)), [0.5772156649], [math.pi ** 2 / 6]),
    (lambda d: D.Gamma(mt.tensor([0.5, 3.0], device=d), mt.tensor([1.0, 2.0], device=d)), [0.5, 1.5], [0.5, 0.75]),
    (lambda d: D.Beta(mt.tensor([2.0], device=d), mt.tensor([5.0], device=d)), [2 / 7], [10 / (49 * 8)]),
    (lambda d: D.Bernoulli(probs=mt.tensor([0.3], device=d)), [0.3], [0.21]),
    (lambda d: D.Geometric(probs=mt.tensor([0.25], device=d)), [3.0], [12.0]),
    (lambda d: D.Poisson(mt.tensor([4.0], device=d)), [4.0], [4.0]),
    (lambda d: D.Binomial(10, mt.tensor([0.3], device=d)), [3.0], [2.1]),
    (lambda d: D.LogNormal(mt.tensor([0.0], device=d), mt.tensor([0.25], device=d)),
     [math.exp(0.03125)], [(math.exp(0.0625) - 1) * math.exp(0.0625)]),
    (lambda d: D.StudentT(mt.tensor([6.0], device=d)), [0.0], [1.5]),
]


@pytest.mark.parametrize("case", range(len(MOMENTS)))
def test_sample_moments(case, device):
    make, mean, var = MOMENTS[case]
    mt.manual_seed(1234)
    d = make(device)
    x = d.sample((N_DRAWS,))
    assert x.shape == (N_DRAWS,) + tuple(d.batch_shape) and x.device == device
    x = x.numpy().astype(np.float64)
    mean, var = np.array(mean), np.array(var)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / N_DRAWS)), (x.mean(0), mean)
    if case != 12:   # (Student's t with 6 df has an infinite fourth moment: its sample variance is no test)
        np.testing.assert_allclose(x.var(0), var, rtol=0.1)
    np.testing.assert_allclose(d.mean.numpy(), mean, rtol=1e-6)
    np.testing.assert_allclose(d.variance.numpy(), var, rtol=1e-6)


def test_categorical_and_mvn_draws(device):
    mt.manual_seed(5)
    probs = np.array([0.1, 0.2, 0.7])
    x = D.Categorical(probs=mt.tensor(probs, device=device)).sample((N_DRAWS,)).numpy()
    freq = np.bincount(x, minlength=3) / N_DRAWS
    # each frequency's standard error is sqrt(p (1 - p) / n) <= 0.0035: 5 of them
    assert np.all(np.abs(freq - probs) < 5 * np.sqrt(probs * (1 - probs) / N_DRAWS))
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    mvn = D.MultivariateNormal(mt.tensor([1.0, -1.0], device=device), covariance_matrix=mt.tensor(cov, dtype="float32", device=device))
    y = mvn.sample((N_DRAWS,)).numpy().astype(np.float64)
    assert np.all(np.abs(y.mean(0) - [1.0, -1.0]) < 5 * np.sqrt(np.diag(cov) / N_DRAWS))
    # the sample covariance's entries have standard errors <= sqrt(2 * 2**2 / n) = 0.02: 0.1 is 5 of them
    np.testing.assert_allclose(np.cov(y.T), cov, atol=0.1)
    d = D.Dirichlet(mt.tensor([1.0, 2.0, 3.0], device=device)).sample((N_DRAWS,)).numpy()
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.abs(d.mean(0) - [1 / 6, 2 / 6, 3 / 6]) < 5 * np.sqrt(0.25 / N_DRAWS))


def test_log_prob_entropy_kl_on_device(device):
    loc = mt.tensor([0.0, 1.0], dtype="float64", device=device, requires_grad=True)
    scale = mt.tensor([1.0, 2.0], dtype="float64", device=device, requires_grad=True)
    p = D.Normal(loc, scale)
    q = D.Laplace(mt.tensor([0.5, 0.0], dtype="float64", device=device), 1.5)
    out = p.log_prob(mt.tensor([0.3, 0.2], dtype="float64", device=device)) + p.entropy() + D.kl_divergence(p, q)
    assert out.device == device
    out.sum().backward()
    assert loc.grad.device == device and scale.grad.device == device
    c = D.Categorical(logits=mt.tensor([[0.0, 1.0, 2.0]], device=device))
    assert c.log_prob(mt.tensor([2], device=device)).device == device and c.entropy().device == device
    mvn = D.MultivariateNormal(mt.zeros(2, device=device), scale_tril=mt.eye(2, device=device))
    assert mvn.log_prob(mt.zeros(3, 2, device=device)).device == device
    assert D.Dirichlet(mt.ones(3, device=device)).log_prob(mt.ones(3, device=device) / 3).device == device


def test_count_draws_go_through_backend_draw_counts(monkeypatch):
    # Poisson / Binomial sample() called generator.poisson / .binomial directly: a generator without
    # them (a CuPy Generator may lack them) failed instead of drawing on the host as torch.poisson does
    from minitf.distributions import utils

    class OnlyBasics:
        def __init__(self):
            self._g = np.random.default_rng(7)

        def integers(self, *args, **kwargs):
            return self._g.integers(*args, **kwargs)

    monkeypatch.setattr(utils, "_generator", lambda like: OnlyBasics())
    x = D.Poisson(mt.tensor([3.0, 30.0])).sample((2000,)).numpy()
    k = D.Binomial(mt.tensor([10.0, 4.0]), probs=mt.tensor([0.5, 0.25])).sample((2000,)).numpy()
    assert x.shape == k.shape == (2000, 2) and x.dtype == k.dtype == np.float32
    np.testing.assert_allclose(x.mean(0), [3.0, 30.0], atol=5 * np.sqrt(30 / 2000))   # 5 sd of the mean
    np.testing.assert_allclose(k.mean(0), [5.0, 1.0], atol=5 * np.sqrt(2.5 / 2000))
    assert D.Poisson(mt.tensor(2.0)).sample().shape == ()
