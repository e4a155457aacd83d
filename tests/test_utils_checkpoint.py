"""minitf.utils.checkpoint (torch.utils.checkpoint's names over mt.recompute): the same values and gradients
as a plain call, with dropout, closures, keyword tensors and Sequential segments; torch's warnings and errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.utils.checkpoint import checkpoint, checkpoint_sequential


def _model(seed=0):
    mt.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Dropout(0.3), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def _grads(model, x):
    return [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]


@pytest.mark.parametrize("segments", [1, 2, 3, 6])
def test_checkpoint_sequential_gives_the_plain_run(segments, device):
    x0 = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    results = []
    for use in (False, True):
        model = _model().to(device)
        x = mt.tensor(x0, device=device, requires_grad=True)
        mt.manual_seed(7)   # the same dropout masks in both runs (and in the recomputation)
        out = checkpoint_sequential(model, segments, x, use_reentrant=False) if use else model(x)
        out.square().sum().backward()
        results.append((out.numpy(), _grads(model, x)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoint_keyword_and_closure_tensors_get_gradients():
    w = mt.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mt.float64, requires_grad=True)
    b = mt.tensor([0.5, -0.5], dtype=mt.float64, requires_grad=True)
    x = mt.tensor([[0.1, 0.2]], dtype=mt.float64, requires_grad=True)

    def f(x, *, bias):
        return (x @ w + bias).tanh()
    checkpoint(f, x, bias=b, use_reentrant=False).sum().backward()
    got = [t.grad.numpy().copy() for t in (w, b, x)]
    for t in (w, b, x):
        t.grad = None
    f(x, bias=b).sum().backward()
    for g, t in zip(got, (w, b, x)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14)
    assert mt.gradcheck(lambda x, w: checkpoint(lambda a: (a @ w).sin(), x, use_reentrant=False), [x, w])


def test_warnings_and_errors():
    x = mt.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(lambda a: a.sin(), x)
    with pytest.raises(ValueError, match="unexpected keyword arguments"):
        checkpoint(lambda a, b: a * b, x, b=x, use_reentrant=True)
    with pytest.raises(TypeError, match="one Tensor"):
        checkpoint(lambda a: (a.sin(), a.cos()), x, use_reentrant=False)
    model = _model()
    with pytest.raises(ValueError, match="at most the number"):
        checkpoint_sequential(model, 7, mt.ones(3, 4), use_reentrant=False)
    with pytest.raises(ValueError, match="positive"):
        checkpoint_sequential(model, 0, mt.ones(3, 4), use_reentrant=False)
    assert mt.utils.checkpoint.checkpoint is checkpoint
