"""F.pad (every mode, PyTorch's last-dimension-first order) and F.one_hot: NumPy
references, float64 gradchecks on both devices, PyTorch in float64."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of

NP_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
# (input shape, pad) pairs PyTorch accepts in every mode: 2 entries for 3-D, 4 for 4-D, 6 for 5-D input
CASES = [((2, 3, 5), (1, 2)), ((2, 3, 5), (0, 3)), ((2, 2, 4, 5), (2, 1, 3, 0)),
         ((1, 2, 3, 4, 4), (1, 1, 2, 0, 0, 2))]


def _np_widths(ndim, pad):
    widths = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        widths[ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return widths


@pytest.mark.parametrize("mode", sorted(NP_MODE))
@pytest.mark.parametrize("shape, pad", CASES)
def test_pad_forward_and_gradcheck(device, mode, shape, pad):
    a = np.random.default_rng(0).standard_normal(shape)
    x = device_tensor(a, device)
    kw = {"constant_values": 1.5} if mode == "constant" else {}
    out = F.pad(x, pad, mode=mode, **({"value": 1.5} if mode == "constant" else {}))
    assert out.device == device
    np.testing.assert_array_equal(out.numpy(), np.pad(a, _np_widths(a.ndim, pad), mode=NP_MODE[mode], **kw))
    assert mt.gradcheck(lambda t: F.pad(t, pad, mode=mode), [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", sorted(NP_MODE))
@pytest.mark.parametrize("shape, pad", CASES)
def test_pad_matches_torch(mode, shape, pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = F.pad(x, pad, mode=mode), torch.nn.functional.pad(xt, pad, mode=mode)
    u = rng.standard_normal(yt.shape)
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
    np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_pad_constant_crops_with_negative_amounts_as_torch(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    x = device_tensor(a, device)
    out = F.pad(x, (-1, 2, 1, -2), value=-7.0)
    want = np.full((2, 2, 5), -7.0)
    want[:, 1:, :3] = a[:, :1, 1:]
    np.testing.assert_array_equal(out.numpy(), want)
    assert mt.gradcheck(lambda t: F.pad(t, (-1, 2, 1, -2)), [x], rtol=RTOL, atol=ATOL)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.pad(torch.tensor(a), (-1, 2, 1, -2),
                                                                       value=-7.0).numpy())


def test_pad_bad_arguments(device):
    x = device_tensor(np.zeros((2, 3)), device)
    with pytest.raises(ValueError, match="even-length sequence of ints"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match=r"pads 3 dimensions, but the input \(2, 3\) has 2"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="mode must be one of 'constant', 'reflect', 'replicate', 'circular'"):
        F.pad(x, (1, 1), mode="symmetric")
    with pytest.raises(ValueError, match=r"reflect padding of \(3, 0\) needs dimension 1 \(size 3\)"):
        F.pad(x, (3, 0), mode="reflect")
    # negative amounts crop in every mode, as torch's (tests/test_ops_pixel_padding.py compares them)
    np.testing.assert_array_equal(F.pad(x, (-1, 0), mode="replicate").numpy(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="leaves a negative size"):
        F.pad(x, (-2, -2))


def test_one_hot_as_torch(device):
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    out = F.one_hot(mt.tensor(idx, device=device))
    assert out.device == device and out.dtype == np.int64 and out.shape == (3, 2, 4)
    np.testing.assert_array_equal(to_numpy(out.data), np.eye(4, dtype=np.int64)[idx])
    assert F.one_hot(mt.tensor(idx, device=device), num_classes=6).shape == (3, 2, 6)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    np.testing.assert_array_equal(F.one_hot(mt.tensor(idx), 6).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx), 6).numpy())


def test_one_hot_bad_input(device):
    with pytest.raises(ValueError, match="class value 3 is out of range for num_classes=3"):
        F.one_hot(mt.tensor([0, 3], device=device), num_classes=3)
    with pytest.raises(ValueError, match="must be non-negative, got -1"):
        F.one_hot(mt.tensor([0, -1], device=device))
    with pytest.raises(TypeError, match="one_hot: class indices must be integers, got float"):
        F.one_hot(mt.tensor([0.0, 1.0], device=device))
    with pytest.raises(ValueError, match="cannot infer num_classes from an empty tensor"):
        F.one_hot(mt.tensor(np.zeros(0, dtype=np.int64), device=device))
    assert F.one_hot(mt.tensor(np.zeros(0, dtype=np.int64), device=device), 3).shape == (0, 3)
