"""Round-5 review fixes of the nnparam group (optim/clip.py)."""
import numpy as np
import pytest

import minitf as mt
from minitf import fakedevice, nn


@pytest.mark.parametrize("max_norm", [1.0, 10.0])
def test_clip_grad_norm_takes_a_tensor_max_norm(device, max_norm):
    # torch accepts a 0-d tensor max_norm; on a device it is used without being read back
    torch = pytest.importorskip("torch")
    g = np.array([3.0, 4.0, 0.0])
    p = mt.tensor(np.zeros(3), requires_grad=True, device=device)
    p.grad = mt.tensor(g, device=device)
    tp = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    tp.grad = torch.tensor(g)
    limit = mt.tensor(max_norm, dtype="float64", device=device)
    with fakedevice.count_host_transfers() as n:
        total = nn.utils.clip_grad_norm_([p], limit)
    assert n["to_host"] == 0
    ttotal = torch.nn.utils.clip_grad_norm_([tp], torch.tensor(max_norm))
    assert float(total) == pytest.approx(float(ttotal))
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    p.grad = mt.tensor(g, device=device)
    nn.utils.clip_grads_with_norm_([p], limit, total)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="one number"):
        nn.utils.clip_grad_norm_([p], mt.ones(2, device=device))
    q = mt.tensor(np.zeros(1), requires_grad=True)
    q.grad = mt.ones(1, dtype="float64")
    with pytest.raises(ValueError, match="max_norm"):
        nn.utils.clip_grad_norm_([q], mt.tensor(-1.0))
