"""The implicit reparameterisation gradient of Gamma draws (minitf/ops/gamma_sampling.py) and the
rsample of Gamma, Beta, Dirichlet and StudentT built on it."""
import numpy as np
import pytest

import minitf as mt
from minitf.ops.gamma_sampling import implicit_gamma, standard_gamma_grad
from minitf.ops.lgamma_kernel import _lgamma64
from minitf.ops.incomplete_gamma import _gammainc64

D = mt.distributions


def gamma_quantile(u, a):
    """x with P(a, x) = u (a deterministic Gamma 'draw'): bisection in log x, then Newton steps."""
    lo, hi = np.full_like(a, -745.0), np.log(a + 50.0) + 10.0
    for _ in range(48):
        mid = (lo + hi) / 2
        below = _gammainc64(np, a, np.exp(mid), False) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    x = np.exp((lo + hi) / 2)
    for _ in range(3):
        density = np.exp((a - 1) * np.log(x) - x - _lgamma64(np, a))
        x = x - (_gammainc64(np, a, x, False) - u) / density
    return x


ALPHAS = np.array([0.05, 0.3, 1.0, 2.5, 10.0, 100.0])


def test_implicit_gradient_is_the_derivative_of_the_quantile():
    # gradcheck's finite differences of x(alpha) = F^-1(u; alpha) against the implicit backward;
    # the quantile is exact to ~1e-12 relative (the kernel's error), so its central difference
    # with step 1e-6 is good to ~1e-6: rtol 1e-5 (the default 1e-6 is below that noise)
    alphas = np.concatenate([ALPHAS, ALPHAS])
    u = np.repeat([0.02, 0.9], len(ALPHAS))
    x0 = gamma_quantile(u, alphas)
    assert np.all(np.abs(_gammainc64(np, alphas, x0, False) - u) < 1e-13)

    def fn(alpha):
        x = gamma_quantile(u, alpha.detach().numpy())
        return implicit_gamma(alpha, mt.tensor(x, dtype="float64"))
    alpha = mt.tensor(alphas, dtype="float64", requires_grad=True)
    assert mt.gradcheck(fn, [alpha], eps=1e-6, rtol=1e-5, atol=1e-9)


def test_implicit_gradient_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = np.repeat(ALPHAS, 50)
    x = rng.standard_gamma(a)
    x = np.maximum(x, 1e-30)
    ours = standard_gamma_grad(a, x)
    theirs = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    # torch's kernel is an approximation (series, asymptotic and rational fits): it differs from the
    # quantile-exact values above by up to ~5e-4 relative, so that is the tolerance here
    np.testing.assert_allclose(ours, theirs, rtol=2e-3, atol=1e-12)


def test_rsample_gradients_are_unbiased(device):
    # d/dtheta E[x] = E[dx/dtheta]: the mean over n draws of the per-draw gradient against the
    # derivative of the closed-form mean, to 5 standard errors of that mean (the per-draw
    # gradients' standard deviation / sqrt(n), from the same draws). n = 4000 draws per parameter
    # pair, each its own batch element so each draw's gradient is one element of the result.
    n = 4000
    mt.manual_seed(0)
    a0, b0 = np.array([0.4, 3.0]), np.array([2.0, 0.5])
    a = mt.tensor(np.tile(a0, (n, 1)), dtype="float64", device=device, requires_grad=True)
    b = mt.tensor(np.tile(b0, (n, 1)), dtype="float64", device=device, requires_grad=True)
    beta_da = b0 / (a0 + b0) ** 2                                     # d(a / (a + b)) / da
    cases = [(lambda: D.Gamma(a, b).rsample(), 1 / b0),               # d(a / r) / da = 1 / r
             (lambda: D.Beta(a, b).rsample(), beta_da),
             (lambda: D.Dirichlet(mt.stack([a, b], -1)).rsample()[..., 0], beta_da)]
    for draw, expected in cases:
        x = draw()
        assert x.device == device and x.shape == (n, 2)
        (g,) = mt.autograd.grad(x.sum(), [a])
        g = g.numpy()
        assert np.all(np.isfinite(g))
        assert np.all(np.abs(g.mean(0) - expected) < 5 * g.std(0) / np.sqrt(n)), (g.mean(0), expected)


def test_studentt_and_gamma_rsample_are_differentiable_in_every_parameter(device):
    mt.manual_seed(1)
    df = mt.tensor([3.0, 8.0], dtype="float64", device=device, requires_grad=True)
    loc = mt.tensor([0.0, 1.0], dtype="float64", device=device, requires_grad=True)
    scale = mt.tensor([1.0, 2.0], dtype="float64", device=device, requires_grad=True)
    x = D.StudentT(df, loc, scale).rsample((5,))
    grads = mt.autograd.grad(x.sum(), [df, loc, scale])
    assert all(np.all(np.isfinite(t.numpy())) for t in grads)
    np.testing.assert_allclose(grads[1].numpy(), [5.0, 5.0])   # d(loc + scale y)/dloc = 1 per draw
    assert not D.StudentT(df).sample((2,)).requires_grad


def test_create_graph_records_the_gradient_and_a_second_derivative_raises():
    mt.manual_seed(2)
    alpha = mt.tensor([0.7, 2.0], dtype="float64", requires_grad=True)
    x = D.Gamma(alpha, 1.0).rsample()
    (g,) = mt.autograd.grad(x.sum(), [alpha], create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), standard_gamma_grad(alpha.detach().numpy(), x.detach().numpy()))
    # torch: "the derivative for '_standard_gamma_grad' is not implemented"
    with pytest.raises(NotImplementedError, match="_standard_gamma_grad"):
        g.sum().backward()


def test_implicit_gradient_for_large_concentrations():
    # the difference step was 1e-3 alpha, far past the sqrt(alpha) scale on which P(alpha, x) moves:
    # 6e-4 relative error at alpha = 1e4 and 6e-2 at 1e5; torch's large-alpha expansion is good to
    # 6e-6 / 2e-7 there (against mpmath), so rtol 2e-5 / 1e-6 leaves room for both kernels' error
    torch = pytest.importorskip("torch")
    for alpha, rtol in ((1e4, 2e-5), (1e5, 1e-6)):
        x = alpha + np.sqrt(alpha) * np.array([-4.0, -1.0, 0.0, 0.5, 2.0, 4.0])
        a = np.full_like(x, alpha)
        theirs = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
        np.testing.assert_allclose(standard_gamma_grad(a, x), theirs, rtol=rtol)
