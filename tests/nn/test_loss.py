"""nn.MSELoss, nn.CrossEntropyLoss, nn.NLLLoss: the same numbers as the functions, and as
PyTorch's modules in float64, on both devices."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

from ..conftest import device_tensor


def _data(device):
    rng = np.random.default_rng(0)
    z = device_tensor(rng.standard_normal((5, 4)), device)
    t = mt.tensor(np.array([0, 3, -100, 1, 2]), device=device)
    return rng, z, t


def test_modules_equal_the_functions(device):
    rng, z, t = _data(device)
    w = rng.random(4) + 0.5
    wt = mt.tensor(w, device=device)
    crit = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, reduction="sum")
    np.testing.assert_array_equal(crit(z, t).numpy(),
                                  F.cross_entropy(z, t, weight=wt, label_smoothing=0.1, reduction="sum").numpy())
    np.testing.assert_array_equal(nn.CrossEntropyLoss()(z, t).numpy(), F.cross_entropy(z, t).numpy())
    lp = F.log_softmax(z, dim=-1)
    np.testing.assert_array_equal(nn.NLLLoss(weight=w, reduction="none")(lp, t).numpy(),
                                  F.nll_loss(lp, t, weight=wt, reduction="none").numpy())
    y = device_tensor(rng.standard_normal((5, 4)), device)
    np.testing.assert_array_equal(nn.MSELoss(reduction="sum")(z, y).numpy(), F.mse_loss(z, y, reduction="sum").numpy())
    assert mt.gradcheck(lambda z: crit(z, t), [z])
    # the class weights are a buffer, as PyTorch's: in the state dict, not a parameter
    assert list(crit.state_dict()) == ["weight"] and list(crit.parameters()) == []


def test_float32_input_with_float64_weights():
    z = mt.tensor(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0, 4.0])(z, mt.tensor([0, 1, 3]))
    assert loss.dtype == np.float32


def test_match_torch_modules():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    z, w = rng.standard_normal((6, 3)), rng.random(3) + 0.1
    t = np.array([0, 2, 1, -1, 2, 0])
    probs = rng.random((6, 3))
    probs /= probs.sum(1, keepdims=True)
    cases = [
        (nn.CrossEntropyLoss(weight=w, ignore_index=-1, label_smoothing=0.2),
         torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=-1, label_smoothing=0.2), t),
        (nn.CrossEntropyLoss(reduction="none"), torch.nn.CrossEntropyLoss(reduction="none"), probs),
        (nn.NLLLoss(weight=w, ignore_index=-1), torch.nn.NLLLoss(weight=torch.tensor(w), ignore_index=-1), t),
        (nn.MSELoss(), torch.nn.MSELoss(), probs),
    ]
    for ours, theirs, target in cases:
        x, xt = mt.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        y, yt = ours(x, mt.tensor(target)), theirs(xt, torch.tensor(target))
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=repr(ours))
        g = x.grad.data if isinstance(x.grad, mt.Tensor) else x.grad
        np.testing.assert_allclose(mt.backend.to_numpy(g), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_bad_arguments_and_repr():
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be"):
        nn.CrossEntropyLoss(reduction="elementwise_mean")
    with pytest.raises(ValueError, match="NLLLoss: reduction must be"):
        nn.NLLLoss(reduction=None)
    with pytest.raises(ValueError, match="MSELoss: reduction must be"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)
    assert repr(nn.MSELoss()) == "MSELoss()"        # torch's: the arguments are attributes, not printed
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss()"
    assert nn.CrossEntropyLoss(label_smoothing=0.1).label_smoothing == 0.1
