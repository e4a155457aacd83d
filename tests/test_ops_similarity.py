"""normalize and cosine_similarity: float64 gradchecks on both devices, PyTorch 2.13's values
and gradients (each norm clamped at eps on its own, the clamp not differentiated), errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL, device_tensor
from .torch_compare import compare_with_torch


@pytest.mark.parametrize("p, dim", [(2.0, 1), (2.0, -1), (1.0, 0), (3.0, 1)])
def test_normalize_gradcheck_and_unit_norm(device, p, dim):
    x = device_tensor(np.random.default_rng(0).standard_normal((3, 4, 2)), device)
    y = F.normalize(x, p=p, dim=dim)
    np.testing.assert_allclose((np.abs(y.numpy()) ** p).sum(axis=dim), 1.0, rtol=1e-12)
    assert mt.gradcheck(lambda t: F.normalize(t, p=p, dim=dim), [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_matches_torch(p, dim):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    x[0, :, 0] = 0.0                      # a zero slice: divided by eps, stays 0 (gradient too)
    compare_with_torch(lambda t: F.normalize(t, p=p, dim=dim),
                       lambda t: torch.nn.functional.normalize(t, p=p, dim=dim), [x])


SHAPES = [((4, 5), (4, 5), 1), ((3, 4, 5), (1, 4, 5), -1), ((2, 6), (6,), -1), ((4, 3), (4, 3), 0)]


@pytest.mark.parametrize("s1, s2, dim", SHAPES)
def test_cosine_similarity_gradcheck(device, s1, s2, dim):
    rng = np.random.default_rng(2)
    a, b = device_tensor(rng.standard_normal(s1), device), device_tensor(rng.standard_normal(s2), device)
    y = F.cosine_similarity(a, b, dim=dim)
    assert y.device == device and np.all(np.abs(y.numpy()) <= 1 + 1e-15)
    assert mt.gradcheck(lambda u, v: F.cosine_similarity(u, v, dim=dim), [a, b], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("s1, s2, dim", SHAPES)
def test_cosine_similarity_matches_torch(s1, s2, dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    compare_with_torch(lambda u, v: F.cosine_similarity(u, v, dim=dim),
                       lambda u, v: torch.nn.functional.cosine_similarity(u, v, dim=dim), [a, b])


def test_cosine_similarity_eps_clamps_each_norm_as_torch():
    """Below eps: x1.x2 / (max(|x1|, eps) max(|x2|, eps)); a zero vector gives 0 and a zero
    gradient to the other input; torch's gradient (clamp not differentiated) is matched."""
    torch = pytest.importorskip("torch")
    a = np.array([[1e-9, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [3e-5, -1e-5, 2e-5]])
    b = np.array([[10.0, 3.0, 1.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2e-4, 1e-4, -1e-4]])
    y = compare_with_torch(lambda u, v: F.cosine_similarity(u, v, eps=1e-4),
                           lambda u, v: torch.nn.functional.cosine_similarity(u, v, eps=1e-4), [a, b])
    assert y.numpy()[1] == 0.0 and y.numpy()[2] == 0.0
    compare_with_torch(lambda u, v: F.cosine_similarity(u, v),
                       lambda u, v: torch.nn.functional.cosine_similarity(u, v), [a, b])


def test_errors():
    x = mt.tensor([[1.0, 2.0]])
    with pytest.raises(ValueError, match="cosine_similarity: x1 of shape \\(1, 2\\) and x2 of shape \\(3,\\)"):
        F.cosine_similarity(x, mt.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="cosine_similarity: dim 2 is out of range"):
        F.cosine_similarity(x, x, dim=2)
    with pytest.raises(TypeError, match="normalize: input must be floating point"):
        F.normalize(mt.tensor([[1, 2]]))
    with pytest.raises(NotImplementedError, match="normalize: out= is not supported"):
        F.normalize(x, out=x)


@pytest.mark.parametrize("s1, s2, dim", SHAPES)
def test_cosine_similarity_gradgradcheck(device, s1, s2, dim):
    rng = np.random.default_rng(5)
    a, b = device_tensor(rng.standard_normal(s1), device), device_tensor(rng.standard_normal(s2), device)
    assert mt.gradgradcheck(lambda u, v: F.cosine_similarity(u, v, dim=dim), [a, b], rtol=RTOL, atol=ATOL)


def test_cosine_similarity_double_backward_matches_torch_below_eps():
    """Second derivatives where a norm is clamped: the clamp is a constant there, as torch's."""
    torch = pytest.importorskip("torch")
    a = np.array([[3e-5, -1e-5, 2e-5], [1.0, 2.0, 3.0]])
    b = np.array([[2e-4, 1e-4, -1e-4], [0.5, -1.0, 2.0]])
    u = np.random.default_rng(6).standard_normal(2)
    x1, x2 = mt.tensor(a, requires_grad=True), mt.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    g, = mt.grad((F.cosine_similarity(x1, x2, eps=1e-4) * mt.tensor(u)).sum(), x1, create_graph=True)
    gt, = torch.autograd.grad((torch.nn.functional.cosine_similarity(t1, t2, eps=1e-4) * torch.tensor(u)).sum(),
                              t1, create_graph=True)
    h = mt.grad((g * g).sum(), [x1, x2])
    ht = torch.autograd.grad((gt * gt).sum(), [t1, t2])
    for ours, theirs in zip(h, ht):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)


def test_normalize_gradgradcheck(device):
    x = device_tensor(np.random.default_rng(7).standard_normal((3, 4)), device)
    assert mt.gradgradcheck(lambda t: F.normalize(t, dim=1), [x], rtol=RTOL, atol=ATOL)


def test_float32_stays_float32(device):
    rng = np.random.default_rng(8)
    a = mt.tensor(rng.standard_normal((3, 4)), dtype="float32", device=device, requires_grad=True)
    b = mt.tensor(rng.standard_normal((3, 4)), dtype="float32", device=device, requires_grad=True)
    y = F.cosine_similarity(a, b) + F.normalize(a).sum(1) + F.rms_norm(a, 4).sum(1)
    y.sum().backward()
    assert y.dtype == a.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize("p", [3.0, 0.5, 1.5])
def test_norm_and_normalize_of_a_zero_slice_match_torch(p):
    # (sum |x|^p)^(1/p) has an infinite derivative at 0: PyTorch's norm backward sets it to 0
    # there (so normalize of a zero row has gradient 1/eps), and x = 0 inside a row adds nothing
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(9).standard_normal((3, 4))
    x[1] = 0.0
    x[2, 1] = 0.0
    compare_with_torch(lambda t: mt.norm(t, p=p, dim=1), lambda t: torch.linalg.vector_norm(t, ord=p, dim=1), [x])
    compare_with_torch(lambda t: mt.norm(t, p=p, dim=1, keepdim=True) * 2,
                       lambda t: t.norm(p=p, dim=1, keepdim=True) * 2, [x])
    compare_with_torch(lambda t: mt.norm(t, p=p), lambda t: t.norm(p=p), [np.zeros((2, 3))])
    compare_with_torch(lambda t: F.normalize(t, p=p, dim=1),
                       lambda t: torch.nn.functional.normalize(t, p=p, dim=1), [x])


@pytest.mark.parametrize("p", [3.0, 0.5])
def test_norm_p_gradcheck_and_zero_slice(device, p):
    rng = np.random.default_rng(10)
    x = device_tensor(rng.standard_normal((3, 4)) + 0.1, device)
    assert mt.gradcheck(lambda t: mt.norm(t, p=p, dim=1), [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda t: mt.norm(t, p=p, dim=0) * 2, [x], rtol=RTOL, atol=ATOL)
    z = mt.zeros((2, 3), dtype="float64", device=device, requires_grad=True)
    g, = mt.grad(F.normalize(z, p=p, dim=1).sum(), [z], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), 1e12)      # 1 / eps, finite (was NaN)
    h, = mt.grad((g * g).sum(), [z])                     # and differentiable again, finite
    assert np.all(np.isfinite(h.numpy()))


def test_norm_and_normalize_p0_count_non_zeros_as_torch(device):
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, 2.0, -3.0], [0.0, 0.0, 0.0]])
    compare_with_torch(lambda t: F.normalize(t, p=0, dim=1),
                       lambda t: torch.nn.functional.normalize(t, p=0, dim=1), [x])
    xm, xt = device_tensor(x, device), torch.tensor(x, requires_grad=True)
    for kw in ({"dim": 1}, {}, {"dim": 0, "keepdim": True}):
        n, nt = mt.norm(xm, p=0, **kw), torch.linalg.vector_norm(xt, 0, **kw)
        np.testing.assert_array_equal(n.numpy(), nt.detach().numpy())
        assert n.shape == tuple(nt.shape) and n.dtype == np.float64
    mt.norm(xm, p=0, dim=1).sum().backward()
    torch.linalg.vector_norm(xt, 0, dim=1).sum().backward()
    assert xm.grad is None and xt.grad is None               # piecewise constant: no gradient, as torch
    with pytest.raises(ValueError, match="norm: p must be positive, 0, inf, -inf or 'fro'"):
        mt.norm(xm, p=-1.5)
