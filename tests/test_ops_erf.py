"""erf (Cody's rational approximations) against math.erf, the exact GELU and SiLU
against their definitions and PyTorch in float64, on both devices."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.backend import to_numpy
from minitf.ops.erf import erf, erfc

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of


def _points():
    rng = np.random.default_rng(0)
    return np.concatenate([
        rng.standard_normal(5000) * 3, np.linspace(-7, 7, 7001), rng.uniform(-30, 30, 500),
        np.logspace(-310, 1, 500), -np.logspace(-310, 1, 500),
        # the ends of Cody's three ranges, and beyond erfc's underflow
        np.nextafter(0.46875, [0, 1]), [0.46875, 4.0, np.nextafter(4.0, 5), 26.5, 26.6, 1e300, 0.0, -0.0]])


def test_erf_float64_within_two_ulp_of_math_erf(device):
    x = _points()
    xp = backend.array_module(device)
    with np.errstate(all="raise"):  # no spurious overflow/invalid; underflow is expected and quiet
        y = to_numpy(erf(xp.asarray(x)))
    ref = np.array([math.erf(v) for v in x])
    ulp = np.spacing(np.abs(ref))
    ulp[ref == 0] = np.finfo(np.float64).smallest_subnormal
    assert (np.abs(y - ref) / ulp).max() <= 3  # a few ulp (math.erf itself is within about 1)
    assert np.signbit(y[x == 0]).tolist() == np.signbit(x[x == 0]).tolist()  # erf(-0) = -0


def test_erfc_float64_within_a_few_ulp_of_math_erfc(device):
    x = _points()
    with np.errstate(all="raise"):
        y = to_numpy(erfc(backend.array_module(device).asarray(x)))
    ref = np.array([math.erfc(v) for v in x])
    tiny = np.finfo(np.float64).tiny
    normal = ref >= tiny
    # a few eps relative while the result is a normal number (Cody's two exponentials and ratio);
    # results below the smallest normal are flushed to 0 (from x = 26.543, as Cody's XBIG)
    assert (np.abs(y - ref)[normal] / ref[normal]).max() <= 5 * np.finfo(np.float64).eps
    np.testing.assert_allclose(y[~normal], ref[~normal], rtol=0, atol=tiny)


def test_erf_float32_is_the_rounded_float64_value(device):
    x = _points()
    x = x[np.abs(x) < 1e38].astype(np.float32)
    y = to_numpy(erf(backend.array_module(device).asarray(x)))
    assert y.dtype == np.float32
    ref = np.array([math.erf(float(v)) for v in x]).astype(np.float32)
    assert (np.abs(y.astype(np.float64) - ref) <= np.spacing(np.abs(ref))).all()


def test_erfc_float32_is_the_rounded_float64_value_and_underflows_quietly(device):
    x = _points()
    x = x[np.abs(x) < 1e38].astype(np.float32)
    with np.errstate(all="raise"):  # erfc(x) for x > 9.2 rounds to a float32 subnormal or 0: no error
        y = to_numpy(erfc(backend.array_module(device).asarray(x)))
    assert y.dtype == np.float32
    ref = np.array([math.erfc(float(v)) for v in x]).astype(np.float32)
    assert (np.abs(y.astype(np.float64) - ref) <= np.spacing(np.abs(ref))).all()
    assert (ref[x > 10] == 0).any() and (ref[x > 10] == y[x > 10]).all()


def test_erf_special_values():
    y = erf(np.array([np.inf, -np.inf, np.nan, 30.0, -30.0]))
    assert y[:2].tolist() == [1.0, -1.0] and np.isnan(y[2]) and y[3:].tolist() == [1.0, -1.0]


def _gelu_exact(x):
    """x Phi(x) = 0.5 x erfc(-x / sqrt 2), with the argument rounded as minitf rounds it."""
    return np.array([0.5 * v * math.erfc(v * -math.sqrt(0.5)) for v in x])


def test_gelu_exact_forward_and_gradcheck(device):
    x = np.concatenate([np.linspace(-6, 6, 241), [-20.0, -37.0]])
    t = device_tensor(x, device)
    y = F.gelu(t)
    # relative accuracy a few ulp, in the far tail too (0.5 x erfc(-x / sqrt 2) does not cancel)
    np.testing.assert_allclose(y.numpy(), _gelu_exact(x), rtol=1e-15, atol=0)
    assert y.numpy()[-1] < 0
    np.testing.assert_array_equal(y.numpy(), F.gelu(t, approximate="none").numpy())
    assert mt.gradcheck(F.gelu, [device_tensor(np.random.default_rng(1).standard_normal((3, 5)) * 2, device)],
                        rtol=RTOL, atol=ATOL)
    F.gelu(t).backward(device_tensor(np.ones_like(x), device, requires_grad=False))
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    # Phi + x phi cancels for x << 0 (Phi ~ -x phi): there the error is absolute
    np.testing.assert_allclose(grad_of(t), np.vectorize(math.erfc)(x * -math.sqrt(0.5)) / 2 + x * pdf,
                               rtol=1e-14, atol=1e-16)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'exact'"):
        F.gelu(t, approximate="exact")


def test_gelu_float32_keeps_its_dtype(device):
    x = mt.tensor(np.linspace(-4, 4, 9, dtype=np.float32), device=device)
    for approximate in ("none", "tanh"):
        assert F.gelu(x, approximate=approximate).dtype == np.float32


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, u = np.concatenate([rng.standard_normal(500) * 3, np.linspace(-10, 10, 201)]), rng.standard_normal(701)
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = F.gelu(x, approximate=approximate)
    yt = torch.nn.functional.gelu(xt, approximate=approximate)
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    # float64 rounding, relative for x >= -1; below, PyTorch forms 1 + erf(x / sqrt 2) (or 1 + tanh) and
    # loses digits to cancellation (about |x| eps absolute), so the comparison there is absolute
    neg = a < -1
    np.testing.assert_allclose(y.numpy()[~neg], yt.detach().numpy()[~neg], rtol=2e-15, atol=1e-300)
    np.testing.assert_allclose(y.numpy()[neg], yt.detach().numpy()[neg], rtol=0, atol=4e-15)
    np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-14, atol=4e-15)


def test_silu_forward_gradcheck_and_torch(device):
    x = np.concatenate([np.linspace(-40, 40, 161), [-700.0, 700.0]])
    t = device_tensor(x, device)
    y = F.silu(t)
    with np.errstate(over="ignore"):
        want = x / (1 + np.exp(-x))
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-15, atol=0)
    assert mt.gradcheck(F.silu, [device_tensor(np.random.default_rng(3).standard_normal((4, 3)) * 3, device)],
                        rtol=RTOL, atol=ATOL)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.silu(xt).backward(torch.ones_like(xt))
    t.grad = None
    F.silu(t).backward(device_tensor(np.ones_like(x), device, requires_grad=False))
    np.testing.assert_allclose(y.numpy(), torch.nn.functional.silu(xt).detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(grad_of(t), xt.grad.numpy(), rtol=1e-14, atol=1e-300)


def test_gelu_float32_forward_and_gradient_to_float32_rounding(device):
    """float32 GELU (the shorter float64 kernel of minitf.ops.erf._single, its exp(-x^2/2) reused by
    backward): within an ulp or two of the float64 values at the same rounded argument, down the tail."""
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.standard_normal(4000) * 3, np.linspace(-12, 12, 2401), [0.0, -0.0, 1e-40, -1e-40]])
    x32 = x.astype(np.float32)
    t = mt.tensor(x32, device=device, requires_grad=True)
    y = F.gelu(t)
    assert y.dtype == np.float32
    arg = (x32 * np.float32(-math.sqrt(0.5))).astype(np.float64)   # the argument as float32 rounds it
    want = 0.5 * x32.astype(np.float64) * np.vectorize(math.erfc)(arg)
    got = y.numpy().astype(np.float64)
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    # two float32 roundings (Phi, then x Phi, as before this kernel): within two ulp at that argument
    ulps = np.abs(got - want)[normal] / np.spacing(np.abs(want[normal]).astype(np.float32))
    assert ulps.max() <= 2
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=np.finfo(np.float32).tiny)
    u = rng.standard_normal(x.shape).astype(np.float32)
    F.gelu(t).backward(mt.tensor(u, device=device))
    pdf = np.exp(-arg * arg) / math.sqrt(2 * math.pi)
    want_grad = u * (0.5 * np.vectorize(math.erfc)(arg) + x32 * pdf)
    # Phi + x phi cancels for x << 0 (as in float64): absolute float32 rounding there
    np.testing.assert_allclose(grad_of(t), want_grad, rtol=4e-7, atol=1e-7)


def test_erfc_and_exp_gives_the_kernels_exponential(device):
    from minitf.ops.erf import erfc_and_exp
    x = np.linspace(-11, 11, 2201).astype(np.float32)
    c, e = erfc_and_exp(backend.array_module(device).asarray(x))
    assert e is not None and to_numpy(e).dtype == np.float32
    np.testing.assert_array_equal(to_numpy(c), to_numpy(erfc(backend.array_module(device).asarray(x))))
    np.testing.assert_allclose(to_numpy(e), np.exp(-x.astype(np.float64) ** 2), rtol=6e-8, atol=1e-45)
    assert erfc_and_exp(np.linspace(-1, 1, 5))[1] is None   # float64: Cody's erfc, no exponential to give


def test_gelu_float32_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(5).standard_normal(3000).astype(np.float32) * 3
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    F.gelu(x).sum().backward()
    torch.nn.functional.gelu(xt).sum().backward()
    y, yt = F.gelu(x).numpy(), torch.nn.functional.gelu(xt).detach().numpy()
    # torch forms 1 + erf(x / sqrt 2) in float32 and loses its digits for x < -1: absolute there
    keep = a > -1
    np.testing.assert_allclose(y[keep], yt[keep], rtol=3e-6, atol=0)
    np.testing.assert_allclose(y[~keep], yt[~keep], rtol=0, atol=1e-6)
    np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
