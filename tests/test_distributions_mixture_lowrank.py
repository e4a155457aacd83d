"""MixtureSameFamily and LowRankMultivariateNormal (and its KL pairs) against torch 2.13 in
float64: values and gradients, mt.gradcheck, draws by moments with a fixed seed."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D, TD = mt.distributions, torch.distributions
rng = np.random.default_rng(3)


def _pair(a):
    return mt.tensor(a, dtype="float64", requires_grad=True), torch.tensor(a, requires_grad=True)


def _compare(y, yt, ours, theirs):
    assert tuple(y.shape) == tuple(yt.shape)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    cot = np.random.default_rng(0).standard_normal(y.shape)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is None:                  # (a parameter the result does not depend on)
            assert a.grad is None or not np.any(a.grad.numpy())
            continue
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)


def _mixtures():
    (lg, lgt), (loc, loct), (sc, sct) = _pair(rng.standard_normal((2, 3))), _pair(rng.standard_normal((2, 3))), \
        _pair(rng.uniform(0.5, 2, (2, 3)))
    uni = (D.MixtureSameFamily(D.Categorical(logits=lg), D.Normal(loc, sc)),
           TD.MixtureSameFamily(TD.Categorical(logits=lgt), TD.Normal(loct, sct)), [lg, loc, sc], [lgt, loct, sct])
    (w, wt), (ml, mlt), (ms, mst) = _pair(rng.uniform(0.2, 1, 3)), _pair(rng.standard_normal((2, 3, 4))), \
        _pair(rng.uniform(0.5, 2, (2, 3, 4)))
    # a mixture batch () over a component batch (2, 3) with events (4,): the weights broadcast
    multi = (D.MixtureSameFamily(D.Categorical(probs=w), D.Independent(D.Normal(ml, ms), 1)),
             TD.MixtureSameFamily(TD.Categorical(probs=wt), TD.Independent(TD.Normal(mlt, mst), 1)),
             [w, ml, ms], [wt, mlt, mst])
    return {"univariate": uni, "independent": multi}


@pytest.mark.parametrize("which", ["univariate", "independent"])
@pytest.mark.parametrize("method", ["log_prob", "cdf", "mean", "variance"])
def test_mixture_against_torch(which, method):
    d, dt, ours, theirs = _mixtures()[which]
    if method == "cdf" and which == "independent":
        pytest.skip("Independent has no cdf (in torch either)")
    assert d.batch_shape == tuple(dt.batch_shape) and d.event_shape == tuple(dt.event_shape)
    shape = (5,) + tuple(d.batch_shape) + tuple(d.event_shape)
    x = rng.standard_normal(shape)
    if method in ("log_prob", "cdf"):
        y, yt = getattr(d, method)(mt.tensor(x)), getattr(dt, method)(torch.tensor(x))
    else:
        y, yt = getattr(d, method), getattr(dt, method)
    _compare(y, yt, ours, theirs)
    assert repr(d.support) == repr(dt.support) and d.has_rsample is False


def test_mixture_gradcheck_draws_expand_and_errors(device):
    lg, loc, sc = rng.standard_normal(3), rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    x = mt.tensor(rng.standard_normal((4, 1)))

    def fn(a, b, c):
        return D.MixtureSameFamily(D.Categorical(logits=a), D.Normal(b, c)).log_prob(x)
    assert mt.gradcheck(fn, [mt.tensor(v, dtype="float64", requires_grad=True) for v in (lg, loc, sc)])
    # draws: the mixture's mean and variance to 5 standard errors / 10 % (n = 20000, fixed seed;
    # the variance's standard error is under 3 % for this light-tailed mixture)
    n = 20000
    mt.manual_seed(4)
    t = lambda v: mt.tensor(v, dtype="float64", device=device)     # noqa: E731
    d = D.MixtureSameFamily(D.Categorical(probs=t([0.3, 0.7])), D.Normal(t([-2.0, 1.0]), t([0.5, 1.0])))
    s = d.sample((n,))
    assert s.shape == (n,) and s.device == device and not s.requires_grad
    s = s.numpy()
    mean, var = d.mean.item(), d.variance.item()
    assert abs(s.mean() - mean) < 5 * np.sqrt(var / n) and abs(s.var() / var - 1) < 0.1
    np.testing.assert_allclose([mean, var], [0.1, 0.3 * 0.25 + 0.7 * 1.0 + 0.3 * 2.1 ** 2 + 0.7 * 0.9 ** 2])
    e = d.expand((3,))
    assert e.batch_shape == (3,) and e.sample((2,)).shape == (2, 3)
    m = D.MixtureSameFamily(D.Categorical(logits=mt.zeros(2, 3)), D.Independent(D.Normal(mt.zeros(2, 3, 4), 1.0), 1))
    assert m.sample((5,)).shape == (5, 2, 4)
    with pytest.raises(ValueError, match="needs to be an instance of torch.distributions.Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(mt.zeros(3), 1.0))
    with pytest.raises(ValueError, match=r"does not equal `component_distribution.batch_shape\[-1\]` \(4\)"):
        D.MixtureSameFamily(D.Categorical(logits=mt.zeros(3)), D.Normal(mt.zeros(4), 1.0))
    with pytest.raises(ValueError, match="is not compatible with"):
        D.MixtureSameFamily(D.Categorical(logits=mt.zeros(2, 3)), D.Normal(mt.zeros(5, 3), 1.0))


LOC, W, DIAG = rng.standard_normal((2, 4)), rng.standard_normal((2, 4, 2)), rng.uniform(0.5, 2, 4)


@pytest.mark.parametrize("method", ["log_prob", "entropy", "variance", "scale_tril", "covariance_matrix",
                                    "precision_matrix", "rsample"])
def test_lowrank_against_torch(method):
    (loc, loct), (w, wt), (dg, dgt) = _pair(LOC), _pair(W), _pair(DIAG)
    d, dt = D.LowRankMultivariateNormal(loc, w, dg), TD.LowRankMultivariateNormal(loct, wt, dgt)
    assert d.batch_shape == (2,) and d.event_shape == (4,)
    if method == "log_prob":
        x = rng.standard_normal((3, 2, 4))
        y, yt = d.log_prob(mt.tensor(x)), dt.log_prob(torch.tensor(x))
    elif method == "entropy":
        y, yt = d.entropy(), dt.entropy()
    elif method == "rsample":
        # the same noise through both: our (eps_W, eps_D) replayed in torch's loc + W eps_W + sqrt(D) eps_D
        mt.manual_seed(8)
        y = d.rsample((3,))
        mt.manual_seed(8)
        ew = D.Normal(mt.zeros((3, 2, 2), dtype="float64"), 1.0).sample().numpy()
        ed = D.Normal(mt.zeros((3, 2, 4), dtype="float64"), 1.0).sample().numpy()
        yt = loct + (wt @ torch.tensor(ew).unsqueeze(-1)).squeeze(-1) + dgt.sqrt() * torch.tensor(ed)
    else:
        y, yt = getattr(d, method), getattr(dt, method)
    _compare(y, yt, [loc, w, dg], [loct, wt, dgt])


def test_lowrank_gradcheck_moments_and_errors(device):
    x = mt.tensor(rng.standard_normal((3, 2, 4)))

    def fn(a, b, c):
        d = D.LowRankMultivariateNormal(a, b, c, validate_args=False)
        return d.log_prob(x) + d.entropy()
    assert mt.gradcheck(fn, [mt.tensor(v, dtype="float64", requires_grad=True) for v in (LOC, W, DIAG)])

    def draw(a, b, c):
        mt.manual_seed(2)
        return D.LowRankMultivariateNormal(a, b, c, validate_args=False).rsample((2,))
    assert mt.gradcheck(draw, [mt.tensor(v, dtype="float64", requires_grad=True) for v in (LOC, W, DIAG)])
    # draws: the sample covariance against W W^T + D; each entry's standard error is at most
    # sqrt((s_ii s_jj + s_ij^2) / n) <= sqrt(2 / n) max s_ii: 5 of them
    n = 20000
    mt.manual_seed(6)
    w = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, -1.0]])
    d = D.LowRankMultivariateNormal(mt.tensor([1.0, 0.0, -1.0], dtype="float64", device=device),
                                    mt.tensor(w, device=device), mt.tensor([0.5, 0.2, 1.0], device=device))
    s = d.sample((n,))
    assert s.shape == (n, 3) and s.device == device
    cov = w @ w.T + np.diag([0.5, 0.2, 1.0])
    s = s.numpy()
    assert np.all(np.abs(s.mean(0) - [1.0, 0.0, -1.0]) < 5 * np.sqrt(np.diag(cov) / n))
    assert np.all(np.abs(np.cov(s.T) - cov) < 5 * np.sqrt(2 / n) * np.diag(cov).max())
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 4 x m"):
        D.LowRankMultivariateNormal(mt.zeros(4), mt.zeros(3, 2), mt.ones(4))
    with pytest.raises(ValueError, match="cov_diag must be a batch of vectors"):
        D.LowRankMultivariateNormal(mt.zeros(4), mt.zeros(4, 2), mt.ones(3))
    assert D.LowRankMultivariateNormal(mt.zeros(4), mt.zeros(4, 2), mt.ones(4)).expand((5,)).log_prob(
        mt.zeros(4)).shape == (5,)


_A = rng.standard_normal((4, 4))
KL_ARRAYS = (LOC, W, DIAG, rng.standard_normal(4), rng.standard_normal((4, 3)), rng.uniform(0.5, 2, (2, 4)),
             _A @ _A.T + np.eye(4))


def _dists(lib):
    f = (lambda v: mt.tensor(v, dtype="float64", requires_grad=True)) if lib is D else \
        (lambda v: torch.tensor(v, requires_grad=True))
    ps = [f(v) for v in KL_ARRAYS]
    lr1 = lib.LowRankMultivariateNormal(ps[0], ps[1], ps[2])
    lr2 = lib.LowRankMultivariateNormal(ps[3], ps[4], ps[5])
    mvn = lib.MultivariateNormal(ps[3], covariance_matrix=ps[6])
    lr3 = lib.LowRankMultivariateNormal(ps[0], ps[1], ps[2] * 1.0)
    return {"lr-lr": (lr1, lr2), "mvn-lr": (mvn, lr2), "lr-mvn": (lr3, mvn)}, ps


@pytest.mark.parametrize("pair", ["lr-lr", "mvn-lr", "lr-mvn"])
def test_lowrank_kl_against_torch(pair):
    (ours, ps), (theirs, pts) = _dists(D), _dists(TD)
    kl, klt = D.kl_divergence(*ours[pair]), TD.kl_divergence(*theirs[pair])
    assert tuple(kl.shape) == tuple(klt.shape)
    np.testing.assert_allclose(kl.detach().numpy(), klt.detach().numpy(), rtol=1e-9)
    kl.sum().backward()
    klt.sum().backward()
    for a, b in zip(ps, pts):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(D.LowRankMultivariateNormal(mt.zeros(3), mt.zeros(3, 1), mt.ones(3)), ours[pair][1])
