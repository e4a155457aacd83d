"""LKJCholesky and Wishart against torch 2.13 in float64 (values and gradients), an independent
normalisation check, and draws by their moments with a fixed seed."""
import math

import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D, TD = mt.distributions, torch.distributions
rng = np.random.default_rng(21)
_A = rng.standard_normal((2, 3, 3))
SIGMA = _A @ _A.transpose(0, 2, 1) + np.eye(3)
DF = np.array([4.5, 7.0])
_B = rng.standard_normal((3, 3))
X = _B @ _B.T + np.eye(3)


def _wishart(lib, which):
    f = (lambda v: mt.tensor(v, dtype="float64", requires_grad=True)) if lib is D else \
        (lambda v: torch.tensor(v, requires_grad=True))
    df, m = f(DF), f({"covariance_matrix": SIGMA, "precision_matrix": np.linalg.inv(SIGMA),
                      "scale_tril": np.linalg.cholesky(SIGMA)}[which])
    return lib.Wishart(df, **{which: m}), [df, m]


@pytest.mark.parametrize("which", ["covariance_matrix", "precision_matrix", "scale_tril"])
@pytest.mark.parametrize("method", ["log_prob", "entropy", "mean", "mode", "variance", "precision_matrix",
                                    "covariance_matrix"])
def test_wishart_against_torch(which, method):
    (d, ps), (dt, pts) = _wishart(D, which), _wishart(TD, which)
    assert d.batch_shape == (2,) and d.event_shape == (3, 3) and repr(d.support) == repr(dt.support)
    if method == "log_prob":
        y, yt = d.log_prob(mt.tensor(X)), dt.log_prob(torch.tensor(X))
    elif method == "entropy":
        y, yt = d.entropy(), dt.entropy()
    else:
        y, yt = getattr(d, method), getattr(dt, method)
    # (torch factors a precision matrix directly, minitf through its inverse: equal up to rounding)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-11)
    cot = np.random.default_rng(0).standard_normal(y.shape)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    for a, b in zip(ps, pts):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.numpy())
            continue
        g, gt = a.grad.numpy(), b.grad.numpy()
        if which == "scale_tril" and g.ndim == 3:
            # the upper triangle of a scale_tril is no parameter (zeros by its constraint): minitf's
            # triangular solves never read it, torch's products sometimes do; the lower one is compared
            g, gt = np.tril(g), np.tril(gt)
        elif g.ndim == 3:
            # a symmetric matrix parameter: torch's cholesky backward answers the symmetrised
            # gradient, minitf's may split it between the triangles; compare (G + G^T) / 2
            g, gt = (g + g.transpose(0, 2, 1)) / 2, (gt + gt.transpose(0, 2, 1)) / 2
        np.testing.assert_allclose(g, gt, rtol=1e-7, atol=1e-10)


def test_wishart_exponential_family_and_kl():
    (d, _), (dt, _) = _wishart(D, "covariance_matrix"), _wishart(TD, "covariance_matrix")
    np.testing.assert_allclose(D.ExponentialFamily.entropy(d).detach().numpy(), d.entropy().detach().numpy(),
                               rtol=1e-10)
    q = D.Wishart(mt.tensor([5.0, 3.5], dtype="float64"), covariance_matrix=mt.tensor(SIGMA[::-1].copy()))
    qt = TD.Wishart(torch.tensor([5.0, 3.5], dtype=torch.float64), covariance_matrix=torch.tensor(SIGMA[::-1].copy()))
    # no closed-form pair: both libraries take the Bregman divergence of the log-normaliser
    np.testing.assert_allclose(D.kl_divergence(d, q).detach().numpy(), TD.kl_divergence(dt, qt).detach().numpy(),
                               rtol=1e-9)
    with pytest.raises(ValueError, match="expected to be greater than ndim - 1 = 2"):
        D.Wishart(mt.tensor([1.5]), covariance_matrix=mt.eye(3))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.Wishart(4.0)
    with pytest.warns(UserWarning, match="Low df values detected"):
        D.Wishart(2.5, covariance_matrix=mt.eye(3))
    assert D.Wishart(4.0, scale_tril=mt.eye(3)).expand((5,)).log_prob(mt.eye(3)).shape == (5,)


def test_wishart_draws_moments_and_rsample_gradient(device):
    # n = 20000 draws: each entry's mean within 5 standard errors of df Sigma_ij, its standard error
    # sqrt(df (Sigma_ij^2 + Sigma_ii Sigma_jj) / n) from the Wishart's own variance
    n = 20000
    mt.manual_seed(3)
    sigma = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 0.5]])
    d = D.Wishart(mt.tensor(5.0, dtype="float64", device=device), covariance_matrix=mt.tensor(sigma, device=device))
    x = d.sample((n,))
    assert x.shape == (n, 3, 3) and x.device == device and not x.requires_grad
    x = x.numpy()
    var = d.variance.numpy()
    np.testing.assert_allclose(var, 5 * (sigma ** 2 + np.outer(np.diag(sigma), np.diag(sigma))))
    assert np.all(np.abs(x.mean(0) - 5 * sigma) < 5 * np.sqrt(var / n))
    assert np.all(np.linalg.eigvalsh(x) > 0)
    # a fixed seed: the draw is L A A^T L^T with A independent of L, a smooth map of scale_tril
    L = np.linalg.cholesky(sigma)

    def draw(tril):
        mt.manual_seed(4)
        return D.Wishart(6.0, scale_tril=tril, validate_args=False).rsample((2,))
    assert mt.gradcheck(draw, [mt.tensor(L, requires_grad=True)])


def test_lkj_against_torch_and_normalised():
    conc = np.array([0.5, 1.0, 3.0])
    c, ct = mt.tensor(conc, dtype="float64", requires_grad=True), torch.tensor(conc, requires_grad=True)
    d, dt = D.LKJCholesky(4, c), TD.LKJCholesky(4, ct)
    assert d.batch_shape == (3,) and d.event_shape == (4, 4) and repr(d.support) == repr(dt.support)
    mt.manual_seed(0)
    L = d.sample((5,))
    assert L.shape == (5, 3, 4, 4) and bool(D.constraints.corr_cholesky.check(L).all())
    y, yt = d.log_prob(L), dt.log_prob(torch.tensor(L.numpy()))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), ct.grad.numpy(), rtol=1e-9)
    assert mt.gradcheck(lambda a: D.LKJCholesky(4, a).log_prob(L), [mt.tensor(conc, requires_grad=True)])
    # dim 2: L = [[1, 0], [r, sqrt(1 - r^2)]], the density in r integrates to 1 over (-1, 1)
    r = np.linspace(-1 + 1e-9, 1 - 1e-9, 400001)
    Ls = np.zeros((r.size, 2, 2))
    Ls[:, 0, 0], Ls[:, 1, 0], Ls[:, 1, 1] = 1.0, r, np.sqrt(1 - r ** 2)
    for eta in (1.0, 2.5, 6.0):
        p = np.exp(D.LKJCholesky(2, eta).log_prob(mt.tensor(Ls, dtype="float64")).numpy())
        np.testing.assert_allclose(np.trapezoid(p, r), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="Expected dim to be an integer greater than or equal to 2"):
        D.LKJCholesky(1)


def test_lkj_correlation_moments(device):
    # the correlations r_ij of LKJ(eta) in dim d: (r + 1) / 2 ~ Beta(b, b), b = eta - 1 + d / 2, so
    # E r = 0 and Var r = 1 / (2 eta + d - 1); n = 20000: means within 5 standard errors, variances
    # within 10 % (their standard error is ~1.3 % here). (torch 2.13's onion draws give 0.188 for the
    # correlations past the first row at d = 4, eta = 2, where 1 / 7 = 0.143: see LKJCholesky.__init__)
    n, dim, eta = 20000, 4, 2.0
    mt.manual_seed(8)
    L = D.LKJCholesky(dim, mt.tensor(eta, dtype="float64", device=device)).sample((n,))
    assert L.device == device
    L = L.numpy()
    C = L @ L.transpose(0, 2, 1)
    np.testing.assert_allclose(np.diagonal(C, axis1=1, axis2=2), 1.0, rtol=1e-12)
    off = C[:, np.tril_indices(dim, -1)[0], np.tril_indices(dim, -1)[1]]
    var = 1 / (2 * eta + dim - 1)
    assert np.all(np.abs(off.mean(0)) < 5 * math.sqrt(var / n))
    np.testing.assert_allclose(off.var(0), var, rtol=0.1)
