"""torch.special's orthogonal polynomials (minitf/ops/orthopoly.py): values against torch 2.13 over a
grid of x (with +-1, 0, inf, NaN) and n (negative, 0, 1, up to 60 and 300, fractional, NaN/inf), tensor
and scalar n, broadcasting, dtype promotion, the fake device, no gradient, and the errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.ops import orthopoly

NAMES = orthopoly.__all__
X = np.concatenate([np.linspace(-3, 3, 121), [1.0, -1.0, 0.0, 0.5, -0.5, 1e-300, 0.999999, -0.99999999,
                                               np.inf, -np.inf, np.nan]])
N = np.array(list(range(-3, 41)) + [60, 300])


@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch_on_grid(name):
    torch = pytest.importorskip("torch")
    x, n = (a.ravel() for a in np.meshgrid(X, N))
    got = getattr(mt.special, name)(mt.tensor(x, dtype=mt.float64), mt.tensor(n)).data
    want = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n)).numpy()
    # NaN x with n >= 2: torch's scalar-x path returns uninitialised memory; minitf's is NaN throughout
    assert np.isnan(got[np.isnan(x) & (n >= 1)]).all()
    keep = ~(np.isnan(x) & (n >= 2))
    got, want = got[keep], want[keep]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    fin = np.isfinite(want)
    # the same recurrence as torch's; the differences are rounding, grown by n (the trigonometric forms'
    # n acos(x), to 3e-13 at n = 300) and by cancellation near the roots of Hermite H (1.7e-12 at n = 52)
    err = np.abs(got[fin] - want[fin]) / np.maximum(np.abs(want[fin]), 1)
    assert err.max() < (5e-12 if name.startswith("hermite") else 1e-12)


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "hermite_polynomial_he", "legendre_polynomial_p",
                                  "shifted_chebyshev_polynomial_w", "laguerre_polynomial_l"])
def test_scalar_n_fractional_and_nonfinite_n(name):
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -0.7, 1.0, -1.0, 2.5, 0.0])
    f, tf = getattr(mt.special, name), getattr(torch.special, name)
    for n in (3, 2.7, -0.5, -1, 0, 7.0):
        np.testing.assert_allclose(f(mt.tensor(x, dtype=mt.float64), n).data, tf(torch.tensor(x), n).numpy(),
                                   rtol=1e-14, atol=1e-14)
    for n in (np.nan, np.inf, -np.inf, 1e20):   # torch's int64 conversion: INT64_MIN, so 0
        out = f(mt.tensor(x, dtype=mt.float64), mt.tensor(n, dtype=mt.float64)).data
        np.testing.assert_array_equal(out, tf(torch.tensor(x), torch.tensor(n, dtype=torch.float64)).numpy())
    # a number x with a tensor n, broadcast
    np.testing.assert_allclose(f(0.25, mt.tensor([[1], [4]])).data, tf(0.25, torch.tensor([[1], [4]])).numpy(),
                               rtol=1e-6)


def test_dtypes_broadcasting_and_errors(device):
    torch = pytest.importorskip("torch")
    f, tf = mt.special.hermite_polynomial_h, torch.special.hermite_polynomial_h
    x = mt.tensor([[0.5], [1.5]], device=device)                       # float32 (2, 1)
    out = f(x, mt.tensor([1, 2, 3], device=device))
    assert out.shape == (2, 3) and out.dtype == mt.float32 and out.device == device
    want = tf(torch.tensor([[0.5], [1.5]]), torch.tensor([1, 2, 3])).numpy()
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    assert f(mt.tensor([2, 3], device=device), 3).dtype == mt.float32           # ints: the default float
    assert f(mt.tensor([2.0], dtype=mt.float32, device=device), mt.tensor([3.0], dtype=mt.float64,
                                                                          device=device)).dtype == mt.float64
    assert f(mt.zeros(2, 0, device=device), 3).shape == (2, 0)
    xt = mt.tensor([0.5, 1.5], dtype=mt.float64, device=device, requires_grad=True)
    y = mt.special.chebyshev_polynomial_u(xt, 4)
    assert not y.requires_grad                                                   # as torch: outside the graph
    with pytest.raises(TypeError, match="expected x or n to be a Tensor"):
        f(0.5, 3)
    # non-contiguous x
    base = mt.tensor(np.linspace(-1.2, 1.2, 12).reshape(3, 4), dtype=mt.float64, device=device)
    np.testing.assert_allclose(mt.special.legendre_polynomial_p(base.T, 9).numpy(),
                               tf_leg(torch, np.linspace(-1.2, 1.2, 12).reshape(3, 4).T, 9), rtol=1e-13, atol=1e-15)


def tf_leg(torch, a, n):
    return torch.special.legendre_polynomial_p(torch.tensor(a), n).numpy()
