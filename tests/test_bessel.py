"""torch.special's Bessel and Airy functions (minitf/ops/bessel_jy.py, bessel_k.py, airy.py): values
against mpmath (the accuracy the docstrings state) and against torch 2.13 (whose own J/Y on
2 < x < 20 and Ai near -2 are less accurate: the tolerances there say so), edges, dtypes, the fake
device, and no gradient (torch's results are outside the graph)."""
import numpy as np
import pytest

import minitf as mt

RNG = np.random.default_rng(5)
INF, NAN = np.inf, np.nan
EDGES = np.array([0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 2.0, 20.0, INF, -INF, NAN])
J_GRID = np.concatenate([RNG.uniform(0, 40, 600), 10 ** RNG.uniform(-300, 3, 200), -RNG.uniform(0, 40, 100),
                         [2.0, 20.0, np.nextafter(2.0, 3), np.nextafter(20.0, 0)]])
K_GRID = np.concatenate([RNG.uniform(0, 40, 600), 10 ** RNG.uniform(-300, 3, 200), [1.0, 20.0, np.nextafter(1.0, 2)]])
K_MP = np.concatenate([K_GRID[:600:6], K_GRID[600:800:4], K_GRID[800:]])   # mpmath's besselk is slow: a subset
AI_GRID = np.concatenate([RNG.uniform(-12, 12, 600), RNG.uniform(-200, 105, 200), [9.25, -9.25, 0.0, 1e-300]])
# (mt name, mpmath function, grid, tolerance of |error| / max(|f|, scale(x)))
MP = {
    "bessel_j0": (lambda m, v: m.besselj(0, v), J_GRID, 3e-15),
    "bessel_j1": (lambda m, v: m.besselj(1, v), J_GRID, 3e-15),
    "bessel_y0": (lambda m, v: m.bessely(0, v), J_GRID[J_GRID > 0], 3e-15),
    "bessel_y1": (lambda m, v: m.bessely(1, v), J_GRID[J_GRID > 0], 3e-15),
    "modified_bessel_k0": (lambda m, v: m.besselk(0, v), K_MP, 1.5e-15),
    "modified_bessel_k1": (lambda m, v: m.besselk(1, v), K_MP, 1.5e-15),
    "scaled_modified_bessel_k0": (lambda m, v: m.besselk(0, v) * m.exp(v), K_MP, 1.5e-15),
    "scaled_modified_bessel_k1": (lambda m, v: m.besselk(1, v) * m.exp(v), K_MP, 1.5e-15),
    "airy_ai": (lambda m, v: m.airyai(v), AI_GRID, None),
}


def _scale(name, x):
    """The envelope below which the error is absolute: sqrt(2/(pi x)) for J, Y past x = 1 (their zeros)."""
    if name.startswith("bessel"):
        return np.where(np.abs(x) > 1, np.sqrt(2 / (np.pi * np.maximum(np.abs(x), 1))), 0.0)
    return np.zeros_like(x)


def _f(name, x, dtype=mt.float64, device="cpu"):
    return getattr(mt.special, name)(mt.tensor(x, dtype=dtype, device=device))


@pytest.mark.parametrize("name", sorted(MP))
def test_against_mpmath(name):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 100
    fn, x, tol = MP[name]
    want = np.array([float(fn(mpmath, mpmath.mpf(float(v)))) for v in x])
    got = _f(name, x).data
    ok = want != 0
    if name == "airy_ai":
        # |x| <= 9.25 and x > 0 relative (z eps: the rounding of z = 2/3 x^1.5 in e^-z); x < -9.25 the
        # phase's rounding, |x|^1.5 eps times the envelope (see minitf/ops/airy.py)
        z = 2 / 3 * np.abs(x) ** 1.5
        env = np.where(x < -9.25, np.maximum(np.abs(x), 1) ** -0.25 / np.sqrt(np.pi), 0.0)
        err = np.abs(got - want) / np.maximum(np.abs(want), env)
        bound = np.where(np.abs(x) <= 9.25, 2e-15, 1e-15 * np.maximum(z, 1))
        near_zero = (np.abs(x) <= 9.25) & (np.abs(want) < 0.05)
        assert (np.abs(got - want)[near_zero] < 1e-15).all()
        rest = ~near_zero & ok
        assert (err[rest] < bound[rest]).all(), np.max(err[rest] / bound[rest])
        return
    err = np.abs(got - want) / np.maximum(np.abs(want), _scale(name, x))
    assert np.max(err[ok]) < tol, (np.max(err[ok]), x[ok][np.argmax(err[ok])])


TORCH_TOL = {   # torch 2.13's own error (against mpmath) bounds the agreement: see the module docstrings
    "bessel_j0": 3e-6, "bessel_j1": 3e-6, "bessel_y0": 3e-6, "bessel_y1": 3e-6,
    "modified_bessel_k0": 5e-15, "modified_bessel_k1": 5e-15, "scaled_modified_bessel_k0": 5e-15,
    "scaled_modified_bessel_k1": 5e-15, "modified_bessel_i0": 2e-15, "modified_bessel_i1": 2e-15,
    "spherical_bessel_j0": 1e-15, "airy_ai": 3e-5,
}


@pytest.mark.parametrize("name", sorted(TORCH_TOL))
def test_against_torch_with_edges(name):
    torch = pytest.importorskip("torch")
    grid = {"airy_ai": AI_GRID[np.abs(AI_GRID) < 100], "modified_bessel_i0": RNG.uniform(-700, 700, 300),
            "modified_bessel_i1": RNG.uniform(-700, 700, 300)}.get(name, J_GRID[np.abs(J_GRID) < 1e3])
    x = np.concatenate([grid, EDGES])
    got = _f(name, x).data
    want = getattr(torch.special, name)(torch.tensor(x)).numpy()
    # kept on purpose (docs/api.md): the limits at +-inf are 0 (J, Y, j0, Ai), +-inf (I0, I1) where torch gives NaN
    at_inf = np.isinf(x) & np.isnan(want) & ~np.isnan(got)
    limit = {"modified_bessel_i0": INF, "modified_bessel_i1": np.where(x < 0, -INF, INF)}.get(name, 0.0)
    np.testing.assert_array_equal(got[at_inf], np.broadcast_to(limit, x.shape)[at_inf])
    keep = ~at_inf
    got, want, x = got[keep], want[keep], x[keep]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    fin = np.isfinite(want)
    scale = np.maximum(np.abs(want), _scale(name, x))[fin]
    if name == "airy_ai":
        scale = np.maximum(scale, np.where(x[fin] < 0, np.maximum(np.abs(x[fin]), 1) ** -0.25 / np.sqrt(np.pi), 0))
    ok = scale > 0
    assert np.max(np.abs(got[fin] - want[fin])[ok] / scale[ok]) < TORCH_TOL[name]
    assert (got[fin][~ok] == want[fin][~ok]).all()


def test_edges_and_kept_differences():
    x = mt.tensor([0.0, -1.0, INF, 5e-324], dtype=mt.float64)
    np.testing.assert_array_equal(mt.special.bessel_y0(x).data[:3], [-INF, NAN, 0.0])
    np.testing.assert_array_equal(mt.special.bessel_j1(mt.tensor([-0.0, -INF], dtype=mt.float64)).data, [-0.0, 0.0])
    assert np.signbit(mt.special.bessel_j1(mt.tensor([-0.0], dtype=mt.float64)).data[0])
    k0 = mt.special.modified_bessel_k0(x).data
    assert k0[0] == INF and np.isnan(k0[1]) and k0[2] == 0
    # K0(5e-324) = -log(x/2) - gamma = 744.86 (torch: inf), K1 = 1/x overflows to inf (torch: NaN)
    np.testing.assert_allclose(k0[3], np.log(2) - np.log(5e-324) - 0.5772156649015329, rtol=1e-15)
    assert mt.special.modified_bessel_k1(x).data[3] == INF
    np.testing.assert_array_equal(mt.special.airy_ai(mt.tensor([INF, -INF, NAN], dtype=mt.float64)).data, [0, 0, NAN])


@pytest.mark.parametrize("name", sorted(TORCH_TOL))
def test_dtypes_device_and_no_gradient(device, name):
    x = np.array([0.3, 1.7, 4.0, 12.5, 30.0])
    ref = _f(name, x).data
    got = _f(name, x, dtype=mt.float32, device=device)
    assert got.dtype == mt.float32 and got.device == device and got.shape == (5,)
    np.testing.assert_allclose(got.numpy(), ref.astype(np.float32), rtol=2e-6, atol=1e-7)   # float32 rounding
    assert getattr(mt.special, name)(mt.tensor([1, 2, 3], device=device)).dtype == mt.float32   # ints: default float
    xt = mt.tensor(x, dtype=mt.float64, device=device, requires_grad=True)
    out = getattr(mt.special, name)(xt)
    assert not out.requires_grad and out.grad_fn is None   # torch: outside the graph, no derivative
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.sum().backward()
    assert getattr(mt.special, name)(mt.zeros(2, 0)).shape == (2, 0)
    with pytest.raises(TypeError, match="must be Tensor"):
        getattr(mt.special, name)(1.5)
