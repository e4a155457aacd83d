"""torch.gradient (minitf/ops/numeric_gradient.py) against torch 2.13 (uniform, per-dim and coordinate
spacing, dims, edge orders, errors), its gradients (gradcheck / gradgradcheck, and against torch), and
the count samplers binomial / poisson (minitf/ops/count_sampling.py): shapes, dtypes, moments with a
fixed seed, gradients and errors as torch's, the fake device."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf.errors import ArgumentError, DimError, DtypeError, ShapeError

RNG = np.random.default_rng(11)
A = RNG.normal(size=(5, 4, 3))
C0, C2 = np.cumsum(RNG.uniform(0.5, 2, 5)), np.cumsum(RNG.uniform(0.5, 2, 3))
CASES = [dict(), dict(spacing=2.0), dict(spacing=3), dict(spacing=[2.0, 0.5, 3.0]), dict(dim=1), dict(dim=(2, 0)),
         dict(dim=-1, spacing=[C2]), dict(spacing=[C0, np.arange(4.0), C2]), dict(dim=[0], spacing=2.5)]


def _kw(kw, make):
    return {k: ([make(s) if isinstance(s, np.ndarray) else s for s in v] if isinstance(v, list) else v)
            for k, v in kw.items()}


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradient_matches_torch(case, edge_order):
    torch = pytest.importorskip("torch")
    kw = CASES[case]
    want = torch.gradient(torch.tensor(A), edge_order=edge_order, **_kw(kw, torch.tensor))
    got = mt.gradient(mt.tensor(A), edge_order=edge_order, **_kw(kw, mt.tensor))
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape) and g.dtype == mt.float64
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-13, atol=1e-13)


def test_gradient_edges_and_dtypes(device):
    torch = pytest.importorskip("torch")
    got = mt.gradient(mt.tensor([1, 2, 4], device=device))              # ints: the default float dtype
    assert got[0].dtype == mt.float32 and got[0].device == device
    np.testing.assert_allclose(got[0].numpy(), torch.gradient(torch.tensor([1, 2, 4]))[0].numpy())
    two = mt.gradient(mt.tensor([1.0, 3.0], device=device))[0]          # size 2: the two one-sided ends
    assert two.tolist() == [2.0, 2.0]
    assert mt.gradient(mt.zeros(2, 0, device=device), dim=0)[0].shape == (2, 0)
    assert mt.gradient(mt.tensor(3.0, device=device)) == ()             # 0-d: no dims, as torch
    base = mt.tensor(A, device=device)
    nc = base.transpose(0, 2)                                            # non-contiguous
    np.testing.assert_allclose(mt.gradient(nc, dim=0)[0].numpy(),
                               torch.gradient(torch.tensor(A).transpose(0, 2), dim=0)[0].numpy(), rtol=1e-13)
    # spacing 0: inf, as torch (the division by 0)
    assert np.isinf(mt.gradient(mt.tensor([1.0, 2.0, 4.0]), spacing=0.0)[0].numpy()).all()


def test_gradient_errors():
    x = mt.tensor(A)
    with pytest.raises(ArgumentError, match="only supports edge_order=1 and edge_order=2"):
        mt.gradient(x, edge_order=3)
    with pytest.raises(ArgumentError, match="list of length equal to 'self.dim\\(\\) = 3'"):
        mt.gradient(x, spacing=[1.0, 2.0])
    with pytest.raises(ArgumentError, match="spacing argument of length 2 and a dim argument of length 1"):
        mt.gradient(x, dim=1, spacing=[1.0, 2.0])
    with pytest.raises(DimError):
        mt.gradient(x, dim=3)
    with pytest.raises(ArgumentError, match="dim 0 appears multiple times"):
        mt.gradient(x, dim=(0, 0))
    with pytest.raises(ArgumentError, match="to have one dimension, but got an element with 0 dimensions"):
        mt.gradient(mt.tensor([1.0, 2.0, 4.0]), spacing=[mt.tensor(2.0)])
    with pytest.raises(ShapeError, match="at least edge_order\\+1"):
        mt.gradient(mt.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(ShapeError, match="the coordinates along dim 0 have 2 entries"):   # torch: no error
        mt.gradient(mt.tensor([1.0, 2.0, 4.0]), spacing=[mt.tensor([0.0, 1.0])])
    with pytest.raises(TypeError):
        mt.gradient(x, spacing=mt.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError):
        mt.gradient(x, spacing=[2.0, mt.tensor([0.0, 1, 2, 3]), 1.0])


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_is_differentiable(device, edge_order):
    torch = pytest.importorskip("torch")
    x = mt.tensor(A[:, :, 0], dtype=mt.float64, device=device, requires_grad=True)
    c = mt.tensor(C0, dtype=mt.float64, device=device, requires_grad=True)
    c1 = mt.tensor([0.0, 1, 3, 4], dtype=mt.float64, device=device)

    def fn(x, c):
        return mt.gradient(x, spacing=[c, c1], edge_order=edge_order)
    assert mt.gradcheck(fn, (x, c))
    assert mt.gradgradcheck(fn, (x, c))   # the coordinates enter through divisions: smooth
    assert mt.gradcheck(lambda x: mt.gradient(x, spacing=2.0, dim=1, edge_order=edge_order), (x,))
    # against torch's gradients, with a random cotangent
    w = RNG.normal(size=A[:, :, 0].shape)
    out = mt.gradient(x, spacing=[c], dim=0, edge_order=edge_order)[0]
    (out * mt.tensor(w, device=device)).sum().backward()
    tx = torch.tensor(A[:, :, 0], requires_grad=True)
    tc = torch.tensor(C0, requires_grad=True)
    (torch.gradient(tx, spacing=[tc], dim=0, edge_order=edge_order)[0] * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c.grad.numpy(), tc.grad.numpy(), rtol=1e-12, atol=1e-12)


N_DRAWS = 20000


def test_binomial_moments_shapes_and_dtypes(device):
    mt.manual_seed(1234)
    count = mt.full((N_DRAWS,), 20.0, dtype=mt.float64, device=device)
    prob = mt.tensor([0.3], dtype=mt.float64, device=device)            # broadcast to count's shape
    s = mt.binomial(count, prob)
    assert s.shape == (N_DRAWS,) and s.dtype == mt.float64 and s.device == device
    v = s.numpy()
    assert (v == np.round(v)).all() and v.min() >= 0 and v.max() <= 20
    # mean 6, variance 4.2: the sample mean's sd is sqrt(4.2 / 20000) = 0.0145, the sample variance's
    # about 4.2 sqrt(2 / 20000) = 0.042; 5 sd each (a false failure about once in 1.7 million seeds)
    assert abs(v.mean() - 6.0) < 5 * 0.0145 and abs(v.var() - 4.2) < 5 * 0.042
    edge = mt.binomial(mt.tensor([0.0, -3.0, 2.7, 5.0, 5.0, np.nan], device=device),
                       mt.tensor([0.5, 0.5, 1.0, 1.5, -0.5, 0.5], device=device))
    assert edge.dtype == mt.float32
    np.testing.assert_array_equal(edge.numpy(), [0, 0, 2, 5, 0, np.nan])   # as torch (NaN: torch hangs)
    mt.manual_seed(7)
    a = mt.binomial(mt.full((50,), 10.0, device=device), mt.full((50,), 0.5, device=device)).numpy()
    mt.manual_seed(7)
    b = mt.binomial(mt.full((50,), 10.0, device=device), mt.full((50,), 0.5, device=device)).numpy()
    np.testing.assert_array_equal(a, b)                                   # the seed decides the draws
    g = mt.Generator(device=device).manual_seed(3)
    assert mt.binomial(mt.full((4,), 10.0, device=device), mt.full((4,), 0.5, device=device), generator=g).shape == (4,)


def test_binomial_gradient_and_errors():
    count = mt.tensor([3.0], requires_grad=True)
    out = mt.binomial(count, mt.tensor([0.5]))
    assert out.requires_grad
    with pytest.raises(NotImplementedError, match="derivative for aten::binomial is not implemented"):
        out.sum().backward()
    with pytest.raises(DtypeError, match="only supports floating-point dtypes for count"):
        mt.binomial(mt.tensor([10, 20]), mt.tensor([0.5, 0.1]))
    with pytest.raises(DtypeError, match="expected float32"):
        mt.binomial(mt.tensor([10.0]), mt.tensor([0.5], dtype=mt.float64))
    with pytest.raises(ShapeError):
        mt.binomial(mt.tensor([1.0, 2.0, 3.0]), mt.tensor([0.5, 0.2]))


def test_poisson_moments_gradient_and_errors(device):
    mt.manual_seed(99)
    s = mt.poisson(mt.full((N_DRAWS,), 4.0, device=device))
    assert s.shape == (N_DRAWS,) and s.dtype == mt.float32 and s.device == device
    v = s.numpy().astype(np.float64)
    # mean = variance = 4: sd of the mean sqrt(4 / 20000) = 0.0141, of the variance sqrt((4 + 2 * 16) / 20000)
    # = 0.042 (fourth central moment lambda + 3 lambda^2); 5 sd each
    assert abs(v.mean() - 4.0) < 5 * 0.0141 and abs(v.var() - 4.0) < 5 * 0.042
    assert mt.poisson(mt.tensor([0.0, 0.0], dtype=mt.float64, device=device)).tolist() == [0.0, 0.0]
    x = mt.tensor([2.0, 3.0], requires_grad=True, device=device)
    y = mt.poisson(x)
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]                                  # torch's PoissonBackward: zeros
    with pytest.raises(ArgumentError, match="expected rate to be non-negative"):
        mt.poisson(mt.tensor([-1.0], device=device))
    with pytest.raises(ArgumentError, match="expected rate to be non-negative"):
        mt.poisson(mt.tensor([np.nan], device=device))
    with pytest.raises(NotImplementedError, match="not implemented for int64"):
        mt.poisson(mt.tensor([1, 2], device=device))
    assert mt.poisson(mt.zeros(0, 3, device=device)).shape == (0, 3)


def test_draw_counts_without_the_generator_method():
    # a generator lacking poisson/binomial (as a CuPy Generator may): drawn on the host from a seed drawn from it
    from minitf import backend

    class OnlyIntegers:
        def __init__(self, seed):
            self._g = np.random.default_rng(seed)

        def integers(self, *args, **kwargs):
            return self._g.integers(*args, **kwargs)

    a = backend.draw_counts(OnlyIntegers(5), "poisson", np.full(1000, 3.0))
    b = backend.draw_counts(OnlyIntegers(5), "binomial", np.full(1000, 10), np.full(1000, 0.5))
    assert a.shape == b.shape == (1000,) and abs(a.mean() - 3.0) < 5 * np.sqrt(3 / 1000)   # 5 sd of the mean
    assert abs(b.mean() - 5.0) < 5 * np.sqrt(2.5 / 1000)
    np.testing.assert_array_equal(a, backend.draw_counts(OnlyIntegers(5), "poisson", np.full(1000, 3.0)))


def test_poisson_and_binomial_of_0d_tensors(device):
    # NumPy answers 0-d parameters with a Python int: poisson raised AttributeError ('int' has no astype)
    mt.manual_seed(0)
    p = mt.poisson(mt.tensor(3.0, device=device))
    b = mt.binomial(mt.tensor(4.0, device=device), mt.tensor(0.5, device=device))
    assert p.shape == b.shape == () and p.device == b.device == device
    assert float(p.item()) >= 0 and 0 <= float(b.item()) <= 4


def test_binomial_refuses_infinite_and_int64_overflowing_counts(device):
    # inf or >= 2**63 became INT64_MIN for NumPy's sampler, which raised a bare ValueError("n < 0")
    for bad in (math.inf, 1e19):
        with pytest.raises(ArgumentError, match="counts of"):
            mt.binomial(mt.tensor([2.0, bad], device=device), mt.tensor([0.5, 0.5], device=device))
    assert mt.binomial(mt.tensor([1e10], device=device), mt.tensor([0.0], device=device)).tolist() == [0.0]


def test_gradient_refuses_bool_input():
    # torch raises (bool subtraction); minitf silently differentiated it as float
    with pytest.raises(DtypeError, match="bool input"):
        mt.gradient(mt.tensor([True, False, True]))


def test_gradient_at_repeated_coordinates_is_torchs_nan():
    torch = pytest.importorskip("torch")
    f, c = np.array([0.0, 1.0, 4.0, 9.0, 16.0, 25.0]), np.array([0.0, 1.0, 1.0, 3.0, 4.0, 5.0])
    (ours,) = mt.gradient(mt.tensor(f), spacing=[mt.tensor(c)])
    (theirs,) = torch.gradient(torch.tensor(f), spacing=[torch.tensor(c)])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, equal_nan=True)   # NaN at 1, 2 (was inf)
