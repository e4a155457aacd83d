"""The gamma family, Bessel I0/I1, erfcx, log_ndtr, ndtri and the incomplete gamma functions
(minitf/ops/gamma_fns.py, bessel_ndtr.py, incomplete_gamma.py): values against torch 2.13 over
wide grids (tiny, huge, negative, inf, NaN), gradients by gradcheck/gradgradcheck and against
torch, the fake device, dtypes, in-place forms and errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import ArgumentError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
INF, NAN = np.inf, np.nan
EDGES = np.array([0.0, -0.0, 1e-300, -1e-300, 0.5, 1.0, 2.0, -2.5, 10.0, 1e10, 1e300, -1e300, INF, -INF, NAN])
WIDE = np.concatenate([10 ** RNG.uniform(-300, 300, 400), RNG.uniform(0, 30, 400), -RNG.uniform(0, 50, 400)])
WIDE = WIDE[np.abs(WIDE - np.round(WIDE)) > 1e-6]   # off the poles of the negative axis


def _T(a, device="cpu"):
    return mt.tensor(a, dtype=mt.float64, device=device)


def _agree(got, want, rtol, atol=0.0):
    """Same inf/NaN pattern (signs included) and finite values within rtol (plus atol)."""
    got, want = np.asarray(got), np.asarray(want)
    fin = np.isfinite(want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=atol)


UNARY = {   # minitf name -> (torch function, grid, rtol, atol)
    # lgamma/digamma: relative accuracy except by their zeros (x = 1, 2, -2.457..., 1.4616...),
    # where the recurrence's error is absolute (~5e-15, see gamma_fns' docstring)
    "lgamma": (torch.lgamma, np.concatenate([WIDE, EDGES]), 1e-13, 1e-14),
    "digamma": (torch.digamma, np.concatenate([WIDE, EDGES]), 1e-13, 1e-14),
    "i0": (torch.special.i0, np.concatenate([RNG.uniform(-700, 700, 800), RNG.uniform(-25, 25, 400), EDGES[:-4]]),
           1e-14, 0),
    "i0e": (torch.special.i0e, np.concatenate([RNG.uniform(-700, 700, 800), EDGES]), 1e-14, 0),
    "i1": (torch.special.i1, np.concatenate([RNG.uniform(-700, 700, 800), RNG.uniform(-25, 25, 400), EDGES[:-4]]),
           1e-14, 0),
    "i1e": (torch.special.i1e, np.concatenate([RNG.uniform(-700, 700, 800), EDGES]), 1e-14, 0),
    # torch's erfcx is the less accurate one for x < -3 (5.6e-14 against mpmath there; minitf's 4e-16)
    "erfcx": (torch.special.erfcx, np.concatenate([RNG.uniform(-26, 50, 800), EDGES]), 1e-13, 0),
    # log_ndtr's upper tail -Phi(-x) has condition number ~x^2: the rounding of x / sqrt(2) alone
    # (which each library does its own way) moves it by x^2 eps, 3e-13 at x = 37
    "log_ndtr": (torch.special.log_ndtr, np.concatenate([RNG.uniform(-40, 37, 800), -10 ** RNG.uniform(0, 10, 100),
                                                         EDGES]), 1e-12, 1e-300),
    "ndtri": (torch.special.ndtri, np.concatenate([10 ** RNG.uniform(-320, 0, 800), RNG.uniform(0, 1, 400),
                                                   1 - 10 ** RNG.uniform(-16, 0, 200), [0, 1, 0.5, -1, 2, NAN]]),
              1e-14, 0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_torch_on_wide_grids(name):
    tf, x, rtol, atol = UNARY[name]
    got = getattr(mt.special, name if name != "lgamma" else "gammaln")(_T(x)).data
    _agree(got, tf(torch.tensor(x)).numpy(), rtol, atol)


def test_bessel_beyond_torch_overflow_and_at_infinity():
    # kept on purpose (docs/api.md): I0(x) is finite up to |x| ~ 713.98 (torch overflows at 709.8),
    # and I0(+-inf) = inf, I1(+-inf) = +-inf where torch gives NaN
    x = _T([711.0, -712.0, INF, -INF])
    assert np.isfinite(mt.special.i0(x).data[:2]).all()
    np.testing.assert_array_equal(mt.special.i0(x).data[2:], [INF, INF])
    np.testing.assert_array_equal(mt.special.i1(x).data[2:], [INF, -INF])
    # e^-711 I0(711) from the scaled function, to its precision
    np.testing.assert_allclose(mt.special.i0(x).data[0] * np.exp(-711.0), mt.special.i0e(x).data[0], rtol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_polygamma_matches_torch(n):
    x = np.concatenate([WIDE[(WIDE > -40) & (WIDE < 1e100)], [1e-300, 0.5, 1.0, 2.0, 1e10]])
    # trigamma: torch's own series is good to 5e-10 only (against mpmath; minitf's 7e-16), hence rtol
    _agree(mt.polygamma(n, _T(x)).data, torch.polygamma(n, torch.tensor(x)).numpy(), 1e-9 if n == 1 else 1e-13)
    poles = _T([0.0, -1.0, -3.0])
    assert np.isinf(mt.polygamma(n, poles).data).all()


def test_polygamma_zero_is_digamma_and_errors():
    x = _T([0.3, 4.0])
    np.testing.assert_array_equal(mt.polygamma(0, x).data, mt.digamma(x).data)
    with pytest.raises(ArgumentError, match="negative n"):
        mt.polygamma(-1, x)
    with pytest.raises(TypeError):
        mt.polygamma(1.0, x)


def test_zeta_matches_torch():
    s = np.concatenate([RNG.uniform(1.01, 60, 600), [2.0, 2.0, 1.0, 0.5, INF, 3.0, 4.0, 2.0]])
    q = np.concatenate([10 ** RNG.uniform(-5, 5, 600), [-1.5, -1.0, 1.0, 1.0, 1.0, 0.0, -2.5, NAN]])
    got = mt.special.zeta(_T(s), _T(q)).data
    _agree(got, torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy(), 1e-13)
    # numbers broadcast with tensors, as torch's
    np.testing.assert_allclose(mt.special.zeta(2.0, _T([1.0])).data, [np.pi ** 2 / 6], rtol=1e-15)


def test_zeta_of_a_large_negative_q_ends_as_torch():
    # a q below -2^52 is an integer (a pole: inf) and summed no terms; it made the term loop run
    # -q times (forever, at -1e300). A negative q of size 1e5 is 1e5 terms, summed as an array.
    import signal
    torch = pytest.importorskip("torch")
    s, q = np.array([2.0, 2.0, 4.0, 2.5, 3.0]), np.array([-1e300, -1e5 - 0.5, -1e5 - 0.25, -1e300, -7.75])
    signal.signal(signal.SIGALRM, lambda *a: pytest.fail("zeta did not return within 60 s"))
    signal.alarm(60)
    try:
        got = mt.special.zeta(_T(s), _T(q)).data
    finally:
        signal.alarm(0)
    # (2 and 4: sums of 1e5 terms of either sign, which cancel to the value: rounding grows with q)
    _agree(got, torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy(), 1e-9)


def test_incomplete_gamma_matches_torch():
    a = np.concatenate([10 ** RNG.uniform(-3, 3, 600), [0.0, 1.0, 1.0, -1.0, 2.0, INF, 0.5]])
    x = np.concatenate([10 ** RNG.uniform(-3, 3.3, 600), [1.0, 0.0, -1.0, 1.0, INF, 1.0, 1.0]])
    for f, tf in ((mt.special.gammainc, torch.special.gammainc), (mt.special.gammaincc, torch.special.gammaincc)):
        got = f(_T(a), _T(x)).data
        want = tf(torch.tensor(a), torch.tensor(x)).numpy()
        # torch's own error is up to 2e-9 for a ~ 1e3 (against mpmath; minitf's 1.2e-12), hence rtol
        # (below 1e-300 minitf keeps subnormal values where torch flushes some to 0)
        _agree(got, want, 5e-9, atol=1e-300)
    # minitf's own accuracy, against mpmath (torch's is the coarser one here)
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    a, x = 10 ** RNG.uniform(-3, 3, 40), 10 ** RNG.uniform(-3, 3, 40)
    want = np.array([float(mpmath.gammainc(ai, 0, xi, regularized=True)) for ai, xi in zip(a, x)])
    np.testing.assert_allclose(mt.special.gammainc(_T(a), _T(x)).data, want, rtol=2e-12, atol=1e-300)
    np.testing.assert_allclose(mt.special.gammainc(_T([0.5]), _T([0.7])).data + mt.special.gammaincc(
        _T([0.5]), _T([0.7])).data, [1.0], rtol=1e-15)


def test_mvlgamma_matches_torch_and_refuses_small_x():
    x = RNG.uniform(2.0, 30.0, (3, 4))
    for p in (1, 3, 5):
        np.testing.assert_allclose(mt.mvlgamma(_T(x), p).data, torch.mvlgamma(torch.tensor(x), p=p).numpy(),
                                   rtol=1e-13)
    np.testing.assert_array_equal(mt.special.multigammaln(_T(x), 3).data, mt.mvlgamma(_T(x), 3).data)
    with pytest.raises(ArgumentError, match=r"greater than \(p-1\)/2"):
        mt.mvlgamma(_T([0.5, 3.0]), 3)


POINTS = np.array([0.3, 1.7, 4.5, 12.0, 25.0])
# (for functions that grow like e^|x|: a large output swamps the finite differences of the small ones)
MODEST = np.array([0.3, 1.7, 4.5, 8.0])
GRADS = {   # name -> (minitf f, torch f, inputs)
    "lgamma": (mt.lgamma, torch.lgamma, np.concatenate([POINTS, [-2.5]])),
    "digamma": (mt.digamma, torch.digamma, np.concatenate([POINTS, [-2.5]])),
    "polygamma2": (lambda t: mt.polygamma(2, t), lambda t: torch.polygamma(2, t), POINTS),
    "i0": (mt.i0, torch.i0, np.concatenate([MODEST, -MODEST, [0.0]])),
    "i0e": (mt.special.i0e, torch.special.i0e, np.concatenate([POINTS, -POINTS])),
    "i1": (mt.special.i1, torch.special.i1, np.concatenate([MODEST, -MODEST, [0.0]])),
    "i1e": (mt.special.i1e, torch.special.i1e, np.concatenate([POINTS, -POINTS])),
    "erfcx": (mt.special.erfcx, torch.special.erfcx, np.concatenate([POINTS, -MODEST[:2]])),
    "log_ndtr": (mt.special.log_ndtr, torch.special.log_ndtr, np.concatenate([POINTS, -POINTS, [-40.0]])),
    "ndtri": (mt.special.ndtri, torch.special.ndtri, np.array([1e-10, 0.02, 0.3, 0.5, 0.8, 0.999])),
    "zeta": (lambda t: mt.special.zeta(3.5, t), lambda t: torch.special.zeta(3.5, t), POINTS),
    "gammainc": (lambda t: mt.special.gammainc(_T(POINTS[::-1] / 2), t),
                 lambda t: torch.special.gammainc(torch.tensor(POINTS[::-1] / 2), t), POINTS),
    "gammaincc": (lambda t: mt.special.gammaincc(_T(POINTS[::-1] / 2), t),
                  lambda t: torch.special.gammaincc(torch.tensor(POINTS[::-1] / 2), t), POINTS),
    "mvlgamma": (lambda t: mt.mvlgamma(t, 3), lambda t: torch.mvlgamma(t, 3), POINTS[1:] + 1),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients_gradcheck_and_torch(name):
    f, tf, x = GRADS[name]
    xt = mt.tensor(x, dtype=mt.float64, requires_grad=True)
    u = RNG.standard_normal(x.shape)
    assert mt.gradcheck(f, (xt,))
    if name != "ndtri":   # ndtri's slope grows as exp(x^2/2): the second-order differences need a kinder grid
        assert mt.gradgradcheck(f, (xt,))
    (f(xt) * _T(u)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    (tf(tx) * torch.tensor(u)).sum().backward()
    # digamma's gradient is trigamma, torch's good to 5e-10 only (see test_polygamma_matches_torch)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-9 if name == "digamma" else 1e-10, atol=1e-14)


def test_ndtri_gradgradcheck_in_the_middle():
    assert mt.gradgradcheck(mt.special.ndtri, (mt.tensor([0.2, 0.5, 0.7], dtype=mt.float64, requires_grad=True),))


@pytest.mark.parametrize("f", [mt.special.gammainc, mt.special.gammaincc, mt.special.zeta])
def test_no_gradient_in_the_first_argument_as_torch(f):
    a = mt.tensor([2.0, 3.0], dtype=mt.float64, requires_grad=True)
    y = f(a, mt.tensor([1.0, 4.0], dtype=mt.float64))
    with pytest.raises(NotImplementedError, match="not implemented"):
        y.sum().backward()


@pytest.mark.parametrize("name", ["lgamma", "digamma", "i0", "i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtri"])
def test_fake_device_float32_and_ints(device, name):
    f = getattr(mt.special, name if name != "lgamma" else "gammaln")
    x = np.array([0.1, 0.4, 0.6, 0.9]) if name == "ndtri" else np.array([-2.5, 0.3, 1.7, 4.5, 30.0])
    ref = f(_T(x)).data
    got = f(mt.tensor(x, dtype=mt.float32, device=device))
    assert got.dtype == mt.float32 and got.device == device
    np.testing.assert_allclose(mt.backend.to_numpy(got.data), ref.astype(np.float32), rtol=2e-6, atol=1e-30)
    if name != "ndtri":
        i = f(mt.tensor([1, 2, 3], device=device))
        assert i.dtype == mt.get_default_dtype()    # integers give the default float dtype, as torch
        xt = mt.tensor(x, dtype=mt.float64, device=device, requires_grad=True)
        f(xt).sum().backward()
        assert xt.grad.device == device


def test_two_argument_ops_on_the_fake_device(device):
    a = mt.tensor([[0.5], [3.0]], dtype=mt.float64, device=device)
    x = mt.tensor([0.2, 1.0, 7.0], dtype=mt.float64, device=device, requires_grad=True)
    for f in (mt.special.gammainc, mt.special.gammaincc, lambda a, x: mt.polygamma(2, x * a),
              lambda a, x: mt.special.zeta(a + 2, x)):
        y = f(a, x)
        assert y.shape == (2, 3) and y.device == device
        y.sum().backward()
    np.testing.assert_allclose(mt.backend.to_numpy(mt.igamma(a, x).data),
                               torch.igamma(torch.tensor([[0.5], [3.0]], dtype=torch.float64),
                                            torch.tensor([0.2, 1.0, 7.0], dtype=torch.float64)).numpy(), rtol=1e-13)


def test_top_level_names_methods_and_inplace():
    x = np.array([0.3, 1.5, 4.0])
    for name in ("lgamma", "digamma", "i0"):
        want = getattr(torch, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(getattr(mt, name)(_T(x)).data, want, rtol=1e-13)
        np.testing.assert_allclose(getattr(_T(x), name)().data, want, rtol=1e-13)
        y = _T(x)
        assert getattr(y, name + "_")() is y
        np.testing.assert_allclose(y.data, want, rtol=1e-13)
    np.testing.assert_allclose(_T(x).polygamma(2).data, torch.tensor(x).polygamma(2).numpy(), rtol=1e-13)
    y = _T(x)
    y.polygamma_(2)
    np.testing.assert_allclose(y.data, torch.tensor(x).polygamma(2).numpy(), rtol=1e-13)
    y = _T(x + 2)
    y.mvlgamma_(2)
    np.testing.assert_allclose(y.data, torch.tensor(x + 2).mvlgamma(2).numpy(), rtol=1e-13)
    y = _T(x)
    y.igammac_(_T(x[::-1].copy()))
    np.testing.assert_allclose(y.data, torch.tensor(x).igammac(torch.tensor(x[::-1].copy())).numpy(), rtol=1e-13)
    np.testing.assert_allclose(mt.i0_(_T(x)).data, torch.i0(torch.tensor(x)).numpy(), rtol=1e-13)
    assert mt.special.psi is mt.special.digamma and mt.special.gammaln is mt.lgamma
    with pytest.raises(Exception, match="float|dtype|cast"):   # a float result into an integer tensor
        mt.tensor([1, 2]).lgamma_()


def test_native_special_is_none_for_a_name_cupy_lacks(monkeypatch):
    """On CuPy, a special function that its cupyx.scipy.special lacks falls back to minitf's kernel
    (None here) instead of an AttributeError (a stand-in module plays CuPy)."""
    import sys
    import types

    from minitf import backend
    fake_xp = types.SimpleNamespace()
    special = types.ModuleType("cupyx.scipy.special")
    special.gammaln = lambda x: "native"
    scipy = types.ModuleType("cupyx.scipy")
    scipy.special = special
    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = scipy
    for name, module in (("cupyx", cupyx), ("cupyx.scipy", scipy), ("cupyx.scipy.special", special)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(backend, "_cupy", fake_xp)
    assert backend.native_special(fake_xp, "gammaln")(1.0) == "native"
    assert backend.native_special(fake_xp, "log_ndtr") is None


def test_trigamma_against_mpmath_and_its_edges(device):
    """polygamma(1, x) has its own kernel (recurrence to x >= 10, asymptotic series, reflection for
    x < 0): relative 1e-15 against mpmath from 1e-8 to 1e3 and on (-20, 0) off the poles."""
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(7)
    x = np.concatenate([np.logspace(-8, 3, 300), rng.uniform(0, 20, 300), rng.uniform(-20, 0, 300)])
    x = x[np.abs(x - np.round(x)) > 1e-9]
    want = np.array([float(mpmath.psi(1, mpmath.mpf(v))) for v in x])
    np.testing.assert_allclose(mt.polygamma(1, _T(x)).data, want, rtol=1.5e-15, atol=0)
    got = mt.polygamma(1, _T([0.0, -0.0, -4.0, INF, -INF, NAN, 1e300, -1e300])).data
    assert np.isinf(got[:3]).all() and (got[:3] > 0).all() and got[3] == 0
    assert np.isnan(got[4]) and np.isnan(got[5]) and got[6] == 1e-300 and np.isinf(got[7])
    # float32 is the float64 value rounded; every device gives the CPU's values
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(mt.polygamma(1, mt.tensor(x32)).data,
                                  mt.polygamma(1, _T(x32.astype(np.float64))).data.astype(np.float32))
    np.testing.assert_array_equal(mt.backend.to_numpy(mt.polygamma(1, _T(x, device)).data), mt.polygamma(1, _T(x)).data)


def test_incomplete_gamma_of_a_tiny_a_is_a_probability():
    # P(a, x) = x^a e^-x / Gamma(a + 1) (1 + ...): the series began at 1 / a, inf for a subnormal a
    # (P was inf, Q -inf); and both are clipped to [0, 1] (Q was -2e-14 at a = 1e-300, x = 0.5)
    a = _T(np.array([1e-310, 1e-310, 1e-300, 1e-300, 1e-8]))
    x = _T(np.array([1e-310, 0.5, 1e-5, 0.5, 1.0]))
    P, Q = mt.special.gammainc(a, x).data, mt.special.gammaincc(a, x).data
    np.testing.assert_allclose(P, [1.0, 1.0, 1.0, 1.0, 0.9999999978061607], rtol=1e-15)
    assert ((0 <= Q) & (Q < 3e-9)).all()   # (to its last digits: tests/test_incomplete_gamma_small_a.py)
