"""TransformedDistribution and its transforms, and the relaxed (Concrete) distributions, against
torch 2.13 in float64: log_prob / cdf / icdf values and their gradients, rsample's gradients."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D = mt.distributions
TD = torch.distributions


def _pair(a):
    return (mt.tensor(np.asarray(a), dtype="float64", requires_grad=True),
            torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True))


def _check(y, yt, ours, theirs, rtol=1e-9):
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    if not yt.requires_grad:   # (a constant, e.g. log|scale| of a number scale: none on either side)
        assert not y.requires_grad
        return
    cot = np.random.default_rng(0).standard_normal(y.shape)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol * 10, atol=1e-10)


def _transforms(lib, loc, scale):
    T = lib.transforms if lib is TD else D.transforms
    return {"exp": [T.ExpTransform()],
            "affine": [T.AffineTransform(loc, scale)],
            "affine-neg": [T.AffineTransform(0.5, -2.0)],
            "sigmoid": [T.SigmoidTransform()],
            "tanh-affine": [T.TanhTransform(), T.AffineTransform(loc, scale)],
            "compose": [T.ComposeTransform([T.AffineTransform(loc, scale), T.SigmoidTransform()])],
            "exp-inv": [T.ExpTransform().inv]}


@pytest.mark.parametrize("which", ["exp", "affine", "affine-neg", "sigmoid", "tanh-affine", "compose", "exp-inv"])
@pytest.mark.parametrize("method", ["log_prob", "cdf", "icdf", "rsample"])
def test_transformed_against_torch(which, method):
    mu, mut = _pair([0.2, -0.5, 1.0])
    sd, sdt = _pair([0.7, 1.3, 0.4])
    loc, loct = _pair([0.1, 0.3, -0.2])
    scale, scalet = _pair([1.5, 0.5, 2.0])
    base = D.Normal(mu, sd) if which != "exp-inv" else D.LogNormal(mu, sd)
    baset = TD.Normal(mut, sdt) if which != "exp-inv" else TD.LogNormal(mut, sdt)
    d = D.TransformedDistribution(base, _transforms(D, loc, scale)[which])
    dt = TD.TransformedDistribution(baset, _transforms(TD, loct, scalet)[which])
    if method == "rsample":
        # the same base noise through both: our draw's eps replayed through torch's transforms
        mt.manual_seed(3)
        x = d.rsample((4,))
        mt.manual_seed(3)
        eps = torch.tensor(D.Normal(mt.zeros(3, dtype="float64"), 1.0).sample((4,)).numpy())
        xt = mut + sdt * eps
        xt = xt.exp() if which == "exp-inv" else xt
        for t in dt.transforms:
            xt = t(xt)
    else:
        values = {"exp": [0.5, 1.2, 3.0], "affine": [0.0, 1.0, -2.0], "affine-neg": [0.0, 1.0, -2.0],
                  "sigmoid": [0.2, 0.5, 0.9], "tanh-affine": [0.5, 0.4, -1.0], "compose": [0.2, 0.5, 0.9],
                  "exp-inv": [-0.5, 0.3, 1.1]}[which]
        if method == "icdf":
            values = [0.1, 0.5, 0.8]
        v, vt = mt.tensor(values, dtype="float64"), torch.tensor(values, dtype=torch.float64)
        x, xt = getattr(d, method)(v), getattr(dt, method)(vt)
    _check(x, xt, [mu, sd, loc, scale] if which in ("affine", "tanh-affine", "compose") else [mu, sd],
           [mut, sdt, loct, scalet] if which in ("affine", "tanh-affine", "compose") else [mut, sdt])


def test_transform_log_abs_det_jacobian_and_inverse_against_torch():
    x = np.array([-1.5, 0.0, 0.7, 2.0])
    for name, args in [("ExpTransform", ()), ("SigmoidTransform", ()), ("TanhTransform", ()),
                       ("AffineTransform", (0.5, -3.0))]:
        t, tt = getattr(D.transforms, name)(*args), getattr(TD.transforms, name)(*args)
        xm, xt = _pair(x)
        y, yt = t(xm), tt(xt)
        _check(t.log_abs_det_jacobian(xm, y), tt.log_abs_det_jacobian(xt, yt), [xm], [xt])
        np.testing.assert_allclose(t.inv(y).detach().numpy(), x, rtol=1e-9, atol=1e-9)
        assert t.sign == tt.sign and t.bijective and repr(t.domain) == repr(tt.domain)
        assert repr(t.codomain) == repr(tt.codomain)


def test_independent_affine_event_dim():
    loc, loct = _pair(np.zeros((2, 3)))
    scale = np.array([1.0, 2.0, 0.5])
    d = D.TransformedDistribution(D.Normal(loc, 1.0), [D.transforms.AffineTransform(0.0, mt.tensor(scale), event_dim=1)])
    dt = TD.TransformedDistribution(TD.Normal(loct, 1.0), [TD.transforms.AffineTransform(0.0, torch.tensor(scale),
                                                                                         event_dim=1)])
    assert d.event_shape == (3,) == tuple(dt.event_shape) and d.batch_shape == (2,)
    v = np.arange(6.0).reshape(2, 3) / 3
    _check(d.log_prob(mt.tensor(v)), dt.log_prob(torch.tensor(v)), [loc], [loct])
    kl = D.kl_divergence(d, D.TransformedDistribution(D.Normal(mt.ones(2, 3), 2.0), d.transforms))
    assert kl.shape == (2,)


def test_relaxed_against_torch():
    T, Tt = _pair(0.7)
    logits, logitst = _pair([[0.3, -1.0, 2.0], [0.0, 0.5, -0.5]])
    pb, pbt = _pair([0.2, 0.6, 0.9])
    rb, rbt = D.RelaxedBernoulli(T, probs=pb), TD.RelaxedBernoulli(Tt, probs=pbt)
    v = np.array([0.1, 0.5, 0.97])
    _check(rb.log_prob(mt.tensor(v)), rbt.log_prob(torch.tensor(v)), [T, pb], [Tt, pbt])
    T.grad = None
    Tt.grad = None
    r, rt = D.RelaxedOneHotCategorical(T, logits=logits), TD.RelaxedOneHotCategorical(Tt, logits=logitst)
    assert r.event_shape == (3,) and r.batch_shape == (2,)
    s = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    _check(r.log_prob(mt.tensor(s)), rt.log_prob(torch.tensor(s)), [T, logits], [Tt, logitst])


def test_relaxed_rsample_shapes_support_and_gradients(device):
    mt.manual_seed(0)
    T = mt.tensor(0.5, dtype="float64", device=device, requires_grad=True)
    logits = mt.tensor([[0.0, 1.0, -1.0]], dtype="float64", device=device, requires_grad=True)
    x = D.RelaxedOneHotCategorical(T, logits=logits).rsample((6,))
    assert x.shape == (6, 1, 3) and x.device == device
    np.testing.assert_allclose(x.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    g = mt.autograd.grad((x[..., 0] ** 2).sum(), [T, logits])
    assert all(np.all(np.isfinite(t.numpy())) for t in g)
    b = D.RelaxedBernoulli(T, logits=logits).rsample((6,))
    assert b.shape == (6, 1, 3) and bool(((b > 0) & (b < 1)).all())
    # a low temperature concentrates the draws near {0, 1}: the Bernoulli's frequencies
    cold = D.RelaxedBernoulli(mt.tensor(0.05, device=device), probs=mt.tensor([0.3], device=device))
    draws = cold.sample((4000,)).numpy()
    assert np.mean((draws < 0.01) | (draws > 0.99)) > 0.9
    # 0.3 with 5 standard errors (sqrt(0.21 / 4000) = 0.0072) plus the relaxation's spread
    assert abs(np.mean(draws > 0.5) - 0.3) < 0.05


def test_sigmoid_transform_and_dirichlet_draws_keep_values_below_eps(device):
    # torch clamps sigmoids and Dirichlet draws into [tiny, 1 - eps]; minitf clamped to [eps, 1 - eps],
    # so sigmoid's inverse stopped at -36 and a third of Dirichlet(0.01, 0.01)'s draws were raised to eps
    t = D.SigmoidTransform()
    x = mt.tensor([-40.0, -1.0, 30.0], dtype="float64", device=device)
    np.testing.assert_allclose(t.inv(t(x)).numpy()[:2], [-40.0, -1.0], rtol=1e-9)
    assert float(t(mt.tensor([-800.0], dtype="float64", device=device)).item()) == np.finfo(np.float64).tiny
    mt.manual_seed(0)
    s = D.Dirichlet(mt.tensor([0.01, 0.01], dtype="float64", device=device)).sample((4000,)).numpy()
    # P(min coordinate < 1e-20) is about 0.6 for Dirichlet(0.01, 0.01); none could be under eps before
    assert (s < 1e-20).mean() > 0.3 and s.min() >= np.finfo(np.float64).tiny
    s32 = D.Beta(mt.tensor([0.01], device=device), mt.tensor([0.01], device=device)).sample((4000,)).numpy()
    assert s32.dtype == np.float32 and s32.min() < 1e-10 and s32.max() <= 1 - np.finfo(np.float32).eps
