"""Q(a, x) = gammaincc for a small a and x <= 1.1, where Q is tiny and 1 - P(a, x) (what minitf
computed before, and torch computes) keeps none of its digits: against an independent reference,
the trapezoidal rule on Q(a, x) = 1/Gamma(a) int_0^inf (x + u)^(a-1) e^-(x+u) du with u = e^s,
whose integrand is analytic and decays at both ends (so the rule converges geometrically: ~2e-16
with 8000 points, checked against mpmath when it was written). Neither torch nor mpmath needed."""
import math

import numpy as np
import pytest

import minitf as mt

A = [1e-300, 1e-100, 1e-20, 1e-8, 1e-4, 0.01, 0.1, 0.4]
X = [1e-20, 1e-8, 1e-3, 0.1, 0.5, 0.9, 1.0, 1.1]


def _reference_q(a, x):
    s, h = np.linspace(-110.0, 4.0, 8000, retstep=True)
    u = np.exp(s)
    integrand = (x + u) ** (a - 1) * np.exp(-x - u) * u
    return a / math.gamma(1 + a) * math.fsum(integrand) * h   # 1 / Gamma(a) = a / Gamma(1 + a)


def test_upper_incomplete_gamma_of_a_small_a_keeps_its_digits(device):
    aa, xx = np.meshgrid(A, X, indexing="ij")
    want = np.vectorize(_reference_q)(aa, xx)
    a, x = (mt.tensor(v, dtype=mt.float64, device=device) for v in (aa, xx))
    Q = mt.backend.to_numpy(mt.special.gammaincc(a, x).data)
    P = mt.backend.to_numpy(mt.special.gammainc(a, x).data)
    # measured 2e-15 at most on a finer grid against mpmath; the reference adds ~7e-16
    np.testing.assert_allclose(Q, want, rtol=4e-15, atol=0)
    np.testing.assert_allclose(P + Q, 1.0, rtol=2e-16 * 4)
    assert Q[0, 0] < 1e-297   # Q(1e-300, 1e-20) = 1e-300 (log(1e20) - 0.577...) = 4.5e-299


@pytest.mark.parametrize("a", [1e-300, 1e-8, 0.3])
def test_upper_incomplete_gamma_is_continuous_across_its_series_edge(a):
    # x = 1.1 is where Q's own series hands over to 1 - P's series or the continued fraction
    below = mt.special.gammaincc(mt.tensor([a], dtype=mt.float64), mt.tensor([1.1], dtype=mt.float64)).item()
    above = mt.special.gammaincc(mt.tensor([a], dtype=mt.float64),
                                 mt.tensor([np.nextafter(1.1, 2.0)], dtype=mt.float64)).item()
    assert abs(below - above) <= 1e-14 * below
    assert below == pytest.approx(_reference_q(a, 1.1), rel=4e-15)
