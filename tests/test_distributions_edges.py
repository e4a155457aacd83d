"""Round-7 review of the distributions (rev9c): densities at the ends of their supports against
closed forms, the shapes of inverted transforms, StickBreakingTransform far from 0, mixture draws
whose weights broadcast over the batch, Wishart with a number df over a batch of matrices.
torch 2.13 is the reference where it is right; where it is not (NaN at a support's end, a draw
shape) the closed form or an independent computation is."""
import math

import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D, TD = mt.distributions, torch.distributions


def _t(v):
    return mt.tensor(np.asarray(v, dtype=np.float64), dtype="float64")


# ------------------------------------------------------------------ log_prob at the support's ends

def _kumaraswamy_closed(a, b, x):
    # log a b + (a - 1) log x + (b - 1) log(1 - x^a), with 0 * log 0 = 0 (a = 1 at 0, b = 1 at 1)
    with np.errstate(divide="ignore"):
        t1 = 0.0 if a == 1 else (a - 1) * np.log(x)
        t2 = 0.0 if b == 1 else (b - 1) * np.log1p(-x ** a)
    return math.log(a * b) + t1 + t2


@pytest.mark.parametrize("a,b", [(0.5, 2.0), (1.0, 1.0), (2.0, 1.0), (2.0, 0.5), (1.0, 3.0), (3.0, 3.0), (0.5, 0.5)])
def test_kumaraswamy_log_prob_at_0_and_1(a, b):
    # 0 and 1 are in the support (unit_interval): +-inf or the finite end value, never NaN (torch
    # 2.13 answers NaN at both ends, and -inf at 1e-300 where the density is finite or large)
    x = np.array([0.0, 1e-300, 0.25, 1.0])
    lp = D.Kumaraswamy(_t(a), _t(b)).log_prob(_t(x)).numpy()
    np.testing.assert_allclose(lp, [_kumaraswamy_closed(a, b, v) for v in x], rtol=1e-12)
    tp = TD.Kumaraswamy(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    np.testing.assert_allclose(lp[2], tp.log_prob(torch.tensor(0.25, dtype=torch.float64)).item(), rtol=1e-12)


def test_kumaraswamy_float32_draws_have_a_density():
    # small concentrations put float32 draws on exactly 0 or 1: their log_prob is +-inf, not NaN
    c = mt.tensor(0.05, dtype="float32")
    d = D.Kumaraswamy(c, c)
    mt.manual_seed(0)
    x = d.rsample((1000,))
    assert not bool(d.log_prob(x).isnan().any())


@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
def test_weibull_log_prob_at_0_tiny_and_inf(c):
    k = 2.0
    x = np.array([0.0, 1e-300, 1.5, math.inf])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = x / k
        closed = math.log(c / k) + (0.0 if c == 1 else (c - 1) * np.log(z)) - z ** c
    closed[-1] = -math.inf                     # the density's limit at inf (inf - inf above)
    d = D.Weibull(_t(k), _t(c), validate_args=False)       # (0 is outside the support, positive)
    np.testing.assert_allclose(d.log_prob(_t(x)).numpy(), closed, rtol=1e-12)
    with pytest.raises(ValueError, match="to be within the support"):
        D.Weibull(_t(k), _t(c)).log_prob(_t([0.0]))
    tp = TD.Weibull(torch.tensor(k, dtype=torch.float64), torch.tensor(c, dtype=torch.float64))
    np.testing.assert_allclose(d.log_prob(_t(1.5)).item(), tp.log_prob(torch.tensor(1.5, dtype=torch.float64)).item(),
                               rtol=1e-12)


def test_gamma_chi2_fisher_log_prob_at_inf_and_0():
    inf = _t([math.inf])
    for d in (D.Gamma(_t([0.5, 1.0, 3.0]), _t([2.0])), D.Chi2(_t([1.0, 2.0, 5.0])),
              D.FisherSnedecor(_t([1.0, 2.0, 3.0]), _t([3.0]))):
        assert np.array_equal(d.log_prob(inf).numpy(), [-math.inf] * 3), type(d).__name__
    # F(2, d2) at 0: the density is (d1 / d2) / B(1, d2 / 2) = 1 there, log 1 = 0 (0 * log 0 before)
    f = D.FisherSnedecor(_t([1.0, 2.0, 3.0]), _t([3.0]), validate_args=False)
    np.testing.assert_allclose(f.log_prob(_t([0.0])).numpy(), [math.inf, 0.0, -math.inf], atol=1e-15)
    x = np.array([0.5, 2.0])
    ft = TD.FisherSnedecor(torch.tensor(2.0, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64))
    np.testing.assert_allclose(D.FisherSnedecor(_t(2.0), _t(3.0)).log_prob(_t(x)).numpy(),
                               ft.log_prob(torch.tensor(x)).numpy(), rtol=1e-12)


# ------------------------------------------------------------------ transforms

def _inverted(lib):
    T = D.transforms if lib is D else TD.transforms
    return {"stick": T.StickBreakingTransform().inv, "corr": T.CorrCholeskyTransform().inv,
            "reshape": T.ReshapeTransform((2, 3), (6,)).inv,
            "compose": T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()]).inv}


@pytest.mark.parametrize("name,shape", [("stick", (4, 3)), ("corr", (2, 3, 3)), ("compose", (2, 4))])
def test_inverse_transform_swaps_forward_and_inverse_shape(name, shape):
    t, tt = _inverted(D)[name], _inverted(TD)[name]
    assert tuple(t.forward_shape(shape)) == tuple(tt.forward_shape(torch.Size(shape)))
    assert tuple(t.inverse_shape(shape)) == tuple(tt.inverse_shape(torch.Size(shape)))
    assert tuple(t.forward_shape(shape)) != shape           # (each changes the shape)


def test_transformed_distribution_through_an_inverted_stick_breaking():
    conc = np.array([[1.0, 2.0, 3.0], [0.5, 0.7, 2.0]])
    d = D.TransformedDistribution(D.Dirichlet(_t(conc)), D.StickBreakingTransform().inv)
    dt = TD.TransformedDistribution(TD.Dirichlet(torch.tensor(conc)), TD.StickBreakingTransform().inv)
    assert d.batch_shape == tuple(dt.batch_shape) == (2,) and d.event_shape == tuple(dt.event_shape) == (2,)
    mt.manual_seed(0)
    x = d.sample((5,))
    assert x.shape == (5, 2, 2)
    np.testing.assert_allclose(d.log_prob(x).numpy(), dt.log_prob(torch.tensor(x.numpy())).numpy(), rtol=1e-10)


def test_stick_breaking_far_from_zero_against_torch():
    # sigmoid underflows to 0 / rounds to 1 beyond about +-37: torch clips it into [tiny, 1 - eps],
    # so the log-Jacobian and the inverse stay finite
    x = np.array([[-800.0, 0.0, 1.0], [40.0, 1.0, -1.0], [0.0, 0.0, 800.0], [-50.0, 60.0, 0.3]])
    t, tt = D.StickBreakingTransform(), TD.StickBreakingTransform()
    xm, xt = _t(x), torch.tensor(x)
    y, yt = t(xm), tt(xt)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-12, atol=0)
    ladj = t.log_abs_det_jacobian(xm, y).numpy()
    assert np.isfinite(ladj).all()
    np.testing.assert_allclose(ladj, tt.log_abs_det_jacobian(xt, yt).numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.inv(y).numpy(), tt.inv(yt).numpy(), rtol=1e-12)


# ------------------------------------------------------------------ mixtures and Wishart

@pytest.mark.parametrize("mix_batch", [(), (3,), (2, 1)])
def test_mixture_draws_when_the_weights_broadcast_over_the_batch(mix_batch):
    # components (2, 3) with K = 2 at locs 0 and 10 (scale 1e-9): each draw is its component's loc.
    # Every batch member picks its own component: with equal weights the 3 members of a row agree
    # with probability 2 / 8 (the draws failed before for () and (3,), and shared the pick along
    # the broadcast dim for (2, 1))
    n = 4000
    loc = np.broadcast_to(np.array([0.0, 10.0]), (2, 3, 2)).copy()
    m = D.MixtureSameFamily(D.Categorical(logits=mt.zeros(*mix_batch, 2, dtype="float64")),
                            D.Normal(_t(loc), 1e-9))
    assert m.batch_shape == (2, 3)
    mt.manual_seed(1)
    x = m.sample((n,)).numpy()
    assert x.shape == (n, 2, 3)
    pick = np.round(x / 10)
    assert np.all(np.abs(x - 10 * pick) < 1e-6) and set(np.unique(pick)) == {0.0, 1.0}
    agree = (pick == pick[..., :1]).all(-1).mean()
    assert abs(agree - 0.25) < 5 * math.sqrt(0.25 * 0.75 / (2 * n))
    assert abs(pick.mean() - 0.5) < 5 * math.sqrt(0.25 / pick.size)


def test_mixture_weights_with_two_batch_dims_under_a_longer_component_batch():
    # mixture batch (2, 3) under components (5, 2, 3): torch 2.13's mean / variance pad the weights
    # on the wrong side and fail; the laws of total expectation and variance by hand instead
    rng = np.random.default_rng(3)
    w = rng.uniform(0.1, 1, (2, 3, 4))
    loc, scale = rng.standard_normal((5, 2, 3, 4)), rng.uniform(0.5, 2, (5, 2, 3, 4))
    m = D.MixtureSameFamily(D.Categorical(probs=_t(w)), D.Normal(_t(loc), _t(scale)))
    p = w / w.sum(-1, keepdims=True)
    mean = (p * loc).sum(-1)
    var = (p * scale ** 2).sum(-1) + (p * (loc - mean[..., None]) ** 2).sum(-1)
    np.testing.assert_allclose(m.mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(m.variance.numpy(), var, rtol=1e-12)
    x = rng.standard_normal((5, 2, 3))
    dens = (p * np.exp(-0.5 * ((x[..., None] - loc) / scale) ** 2) / (scale * math.sqrt(2 * math.pi))).sum(-1)
    np.testing.assert_allclose(m.log_prob(_t(x)).numpy(), np.log(dens), rtol=1e-12)
    assert m.sample((7,)).shape == (7, 5, 2, 3)


def test_wishart_number_df_over_a_batch_of_matrices():
    # a number df with a batch of scale matrices: the moments as with the same df given as a tensor
    S = np.stack([np.eye(3) + 0.3, 2 * np.eye(3)])
    num = D.Wishart(5.0, covariance_matrix=_t(S))
    ten = D.Wishart(_t([5.0, 5.0]), covariance_matrix=_t(S))
    tt = TD.Wishart(torch.tensor([5.0, 5.0], dtype=torch.float64), covariance_matrix=torch.tensor(S))
    for name in ("mean", "mode", "variance"):
        np.testing.assert_allclose(getattr(num, name).numpy(), getattr(ten, name).numpy(), rtol=1e-12)
        np.testing.assert_allclose(getattr(num, name).numpy(), getattr(tt, name).numpy(), rtol=1e-12)
    assert num.df.shape == (2,) and num.sample((3,)).shape == (3, 2, 3, 3)
