"""rms_norm: float64 gradchecks on both devices (input and weight), PyTorch's values and
gradients over one and several trailing dims, eps=None as finfo eps, errors."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL, device_tensor
from .torch_compare import compare_with_torch


@pytest.mark.parametrize("shape, norm", [((3, 5), (5,)), ((2, 3, 4), (3, 4)), ((4,), (4,))])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck(device, shape, norm, weighted):
    rng = np.random.default_rng(0)
    x = device_tensor(rng.standard_normal(shape), device)
    w = device_tensor(rng.standard_normal(norm), device) if weighted else None
    y = F.rms_norm(x, norm, w)
    assert y.shape == shape and y.device == device
    if not weighted:
        axes = tuple(range(len(shape) - len(norm), len(shape)))
        np.testing.assert_allclose((y.numpy() ** 2).mean(axis=axes), 1.0, rtol=1e-10)
    inputs = [x] + ([w] if weighted else [])
    assert mt.gradcheck(lambda *t: F.rms_norm(t[0], norm, t[1] if weighted else None), inputs,
                        rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape, norm", [((3, 5), [5]), ((2, 3, 4), [3, 4])])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_matches_torch(shape, norm, eps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(shape) * 1e-4, rng.standard_normal(norm)   # small x: eps matters
    compare_with_torch(lambda a, b: F.rms_norm(a, norm, b, eps=eps),
                       lambda a, b: torch.nn.functional.rms_norm(a, norm, b, eps=eps), [x, w])


def test_errors():
    x = mt.tensor(np.ones((2, 3)), dtype="float32")
    with pytest.raises(ValueError, match=r"rms_norm: expected input \(\.\.\., 4\), got \(2, 3\)"):
        F.rms_norm(x, 4)
    with pytest.raises(ValueError, match="weight must have shape \\(3,\\)"):
        F.rms_norm(x, 3, mt.tensor(np.ones(2), dtype="float32"))
    with pytest.raises(TypeError, match="rms_norm: input is float32 but weight is float64"):
        F.rms_norm(x, 3, mt.tensor(np.ones(3), dtype="float64"))


@pytest.mark.parametrize("weighted", [False, True])
def test_gradgradcheck(device, weighted):
    rng = np.random.default_rng(2)
    x = device_tensor(rng.standard_normal((3, 2, 4)), device)
    w = device_tensor(rng.standard_normal((2, 4)), device)
    inputs = [x, w] if weighted else [x]
    assert mt.gradgradcheck(lambda *t: F.rms_norm(t[0], (2, 4), t[1] if weighted else None, eps=1e-3), inputs,
                            rtol=RTOL, atol=ATOL)


def test_eps_zero_on_a_zero_row_is_a_quiet_nan_as_torch(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 3))
    x[1] = 0.0
    xm = mt.tensor(x, device=device, requires_grad=True)
    w = mt.tensor(np.ones(3), device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no NumPy divide/invalid warning
        y = F.rms_norm(xm, 3, w, eps=0.0)
        (y * y).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.rms_norm(xt, (3,), torch.ones(3, dtype=torch.float64), eps=0.0)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)   # NaN where torch's is
    assert np.isnan(y.numpy()[1]).all()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
