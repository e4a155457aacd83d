"""leaky_relu, elu, softplus, logsigmoid, glu: float64 gradchecks on both devices, PyTorch's
values and gradients, stability in the tails, clear errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL, away_from_zero, device_tensor
from .torch_compare import compare_with_torch

X = away_from_zero(np.random.default_rng(0).standard_normal((3, 5)) * 3)  # kinks at 0 avoided

CASES = {
    "leaky_relu": (lambda x: F.leaky_relu(x), "leaky_relu", {}),
    "leaky_relu_slope": (lambda x: F.leaky_relu(x, 0.2), "leaky_relu", {"negative_slope": 0.2}),
    "elu": (lambda x: F.elu(x), "elu", {}),
    "elu_alpha": (lambda x: F.elu(x, alpha=0.5), "elu", {"alpha": 0.5}),
    "softplus": (lambda x: F.softplus(x), "softplus", {}),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), "softplus", {"beta": 2.0, "threshold": 3.0}),
    "logsigmoid": (lambda x: F.logsigmoid(x), "logsigmoid", {}),
    "glu": (lambda x: F.glu(x[:, :4]), None, {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck(device, case):
    x = device_tensor(X, device)
    y = CASES[case][0](x)
    assert y.device == device and y.dtype == np.float64
    assert mt.gradcheck(CASES[case][0], [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][1]))
def test_matches_torch(case):
    torch = pytest.importorskip("torch")
    ours, name, kw = CASES[case]
    x = np.concatenate([X.ravel(), [0.0, -0.0, 25.0, -40.0, 1e-3]])   # the kink and the tails too
    compare_with_torch(ours, lambda t: getattr(torch.nn.functional, name)(t, **kw), [x])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu_matches_torch(dim):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((4, 6, 2))
    y = compare_with_torch(lambda t: F.glu(t, dim), lambda t: torch.nn.functional.glu(t, dim), [x])
    assert y.shape == tuple(s // 2 if i == dim % 3 else s for i, s in enumerate(x.shape))


def test_glu_gradcheck_along_a_middle_dim(device):
    x = device_tensor(np.random.default_rng(2).standard_normal((2, 4, 3)), device)
    assert mt.gradcheck(lambda t: F.glu(t, 1), [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softplus_and_logsigmoid_are_stable_in_the_tails(device, dtype):
    big = 80.0 if dtype == "float32" else 700.0
    x = mt.tensor([-big, -30.0, 30.0, big], dtype=dtype, device=device, requires_grad=True)
    sp = F.softplus(x, threshold=1e9)           # no threshold: the stable formula on its own
    ls = F.logsigmoid(x)
    xl = np.array([-big, -30.0, 30.0, big], dtype=np.longdouble)
    ref_sp = np.maximum(xl, 0) + np.log1p(np.exp(-np.abs(xl)))
    np.testing.assert_allclose(sp.numpy(), ref_sp.astype(dtype), rtol=1e-6 if dtype == "float32" else 1e-14)
    np.testing.assert_allclose(ls.numpy(), (-ref_sp[::-1]).astype(dtype), rtol=1e-6 if dtype == "float32" else 1e-14)
    (sp.sum() + ls.sum()).backward()
    g = x.grad.numpy()
    assert np.all(np.isfinite(g)) and g[0] == pytest.approx(1.0) and g[-1] == pytest.approx(1.0)


def test_softplus_threshold_returns_the_input():
    x = mt.tensor([10.0, 21.0], dtype="float64", requires_grad=True)
    y = F.softplus(x)
    assert y.numpy()[1] == 21.0 and y.numpy()[0] == pytest.approx(np.log1p(np.exp(10.0)), rel=1e-15)
    y.sum().backward()
    assert x.grad.numpy()[1] == 1.0


def test_errors():
    x = mt.tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="glu: the size of dim -1 must be even"):
        F.glu(x)
    with pytest.raises(TypeError, match="leaky_relu: input must be floating point"):
        F.leaky_relu(mt.tensor([1, 2]))
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        F.softplus(x, beta=0)
    with pytest.raises(ValueError, match="glu: dim 2 is out of range"):
        F.glu(x, 2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradgradcheck(device, case):
    """create_graph=True through each op: its recorded backward against finite differences."""
    x = device_tensor(X, device)
    assert mt.gradgradcheck(CASES[case][0], [x], rtol=RTOL, atol=ATOL)


def test_second_derivatives_in_the_tails_are_finite(device):
    x = mt.tensor([-800.0, -50.0, 50.0, 800.0], dtype="float64", device=device, requires_grad=True)
    for f in (F.elu, lambda t: F.softplus(t, threshold=1e9), F.logsigmoid):
        g, = mt.grad(f(x).sum(), x, create_graph=True)
        h, = mt.grad(g.sum(), x)
        assert np.all(np.isfinite(h.numpy()))


def test_float32_stays_float32(device):
    """Every op and gradient keeps float32 (no silent float64 from a Python scalar or a mask)."""
    x = mt.tensor(X, dtype="float32", device=device, requires_grad=True)
    for f, *_ in CASES.values():
        x.grad = None
        y = f(x)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32
