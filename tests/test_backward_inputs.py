"""Tensor.backward(inputs=...): only the given tensors (leaves or not) accumulate, as PyTorch."""
import numpy as np
import pytest

import minitf as mt
from minitf.backend import to_numpy


def _run(m, device=None):
    kw = {} if device is None else {"device": device}
    a = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True, **kw)
    b = m.tensor([3.0], dtype=m.float64, requires_grad=True, **kw)
    c = m.tensor([5.0], dtype=m.float64, requires_grad=True, **kw)
    h = a * 2
    y = (h * h).sum() * b
    y.backward(inputs=[a, c], retain_graph=True)         # c is not reached: it gets nothing
    first = (a.grad.tolist(), b.grad, c.grad)
    y.backward(inputs=a, retain_graph=True)              # accumulates into a.grad
    second = a.grad.tolist()
    y.backward(inputs=[h])                               # a non-leaf input gets a .grad
    return first[0], first[1] is None, first[2] is None, second, h.grad.tolist(), a.grad.tolist()


def test_backward_inputs_matches_torch(device):
    torch = pytest.importorskip("torch")
    assert _run(mt, device) == _run(torch)


def test_backward_inputs_with_create_graph_gives_a_differentiable_grad(device):
    x = mt.tensor([0.5, 1.5], dtype="float64", device=device, requires_grad=True)
    w = mt.tensor([2.0, -1.0], dtype="float64", device=device, requires_grad=True)
    ((x ** 3) * w).sum().backward(inputs=[x], create_graph=True)
    assert w.grad is None and x.grad.requires_grad           # d/dx = 3 x^2 w, in the graph
    x.grad.sum().backward(inputs=[w])                         # d/dw sum(3 x^2 w) = 3 x^2
    np.testing.assert_allclose(to_numpy(w.grad.data), 3 * np.array([0.5, 1.5]) ** 2)


def test_backward_inputs_errors():
    x = mt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match=r"inputs\[0\] does not require grad"):
        (x * 2).sum().backward(inputs=[mt.tensor([1.0])])


def test_backward_takes_torchs_gradient_keyword():
    torch = pytest.importorskip("torch")
    import inspect
    ours = list(inspect.signature(mt.Tensor.backward).parameters)
    assert ours == list(inspect.signature(torch.Tensor.backward).parameters)
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(gradient=mt.tensor([3.0, 5.0]))
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    (xt * xt).backward(gradient=torch.tensor([3.0, 5.0]))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
