"""torch's Node API on minitf's graph: grad_fn.next_functions (the same graph as torch's for the same
program), AccumulateGrad, metadata, and node hooks (register_hook / register_prehook) that see and replace
the gradients at one op, as torch's do, on the plain, create_graph and mt.grad walks."""
import gc

import numpy as np
import pytest

import minitf as mt
from minitf import tensor_hooks
from minitf.graph_nodes import AccumulateGrad


def _walk(node, seen=None):
    """The node names reachable from ``node``, depth first, as a nested tuple (None for no node)."""
    if node is None:
        return None
    return (node.name(), tuple(_walk(n) for n, _ in node.next_functions))


def _program(lib, x, w, b):
    h = (x @ w + b).tanh()
    return (h * h).sum() + (h.exp() / 2).mean()


def test_next_functions_give_torchs_graph():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    ours = _program(mt, mt.tensor(x), mt.tensor(w, requires_grad=True), mt.tensor(b, requires_grad=True))
    theirs = _program(torch, torch.tensor(x), torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
    assert _walk(ours.grad_fn) == _walk(theirs.grad_fn)


def test_accumulate_grad_and_metadata():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = (x * mt.tensor([3.0, 4.0])).sum()
    (mul, _), = y.grad_fn.next_functions
    (acc, k), (none, _) = mul.next_functions
    assert isinstance(acc, AccumulateGrad) and acc.variable is x and k == 0 and none is None
    assert acc is mul.next_functions[0][0] and acc.next_functions == ()
    y.grad_fn.metadata["note"] = 1
    assert y.grad_fn.metadata == {"note": 1}


def _hooked(lib, log):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = lib.tensor([[0.5], [2.0]], requires_grad=True)   # broadcasts against x: (2, 1) * (3,) -> (2, 3)
    y = (x * w).sin().sum()
    mul = y.grad_fn.next_functions[0][0].next_functions[0][0]
    mul.register_prehook(lambda go: (go[0] * 2,))
    mul.register_hook(lambda gi, go: log.append([tuple(g.shape) for g in gi]) or (gi[0], gi[1] * 0 + 1))
    y.backward()
    return x.grad, w.grad


def test_node_hooks_see_and_replace_gradients_as_torchs():
    torch = pytest.importorskip("torch")
    ours_log, theirs_log = [], []
    ours, theirs = _hooked(mt, ours_log), _hooked(torch, theirs_log)
    assert ours_log == theirs_log == [[(3,), (2, 1)]]   # shaped as the inputs, not as the broadcast
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6)


def test_hooks_on_the_create_graph_and_grad_walks_and_removal():
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    y = (x ** 3).sum()
    pow_node = y.grad_fn.next_functions[0][0]
    handle = pow_node.register_prehook(lambda go: (go[0] * 3,))
    (g,) = mt.grad(y, x, create_graph=True)               # 3 * 3x^2, and still differentiable
    np.testing.assert_allclose(g.detach().numpy(), [9.0, 36.0])
    (gg,) = mt.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [18.0, 36.0])  # the hook's factor is a constant: 3 * 6x
    handle.remove()
    (g,) = mt.grad((x ** 3).sum(), x)
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])


def test_the_general_walk_is_left_once_hooked_nodes_are_gone():
    before = tensor_hooks.active
    x = mt.ones(2, requires_grad=True)
    y = (x * 2).sum()
    y.grad_fn.register_hook(lambda gi, go: None)
    assert tensor_hooks.active == before + 1
    y.backward()
    del y
    gc.collect()
    assert tensor_hooks.active == before
    z = (x * 2).sum()
    h = z.grad_fn.register_prehook(lambda go: None)
    h.remove()
    assert tensor_hooks.active == before


def test_errors():
    x = mt.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(TypeError, match="callable"):
        y.grad_fn.register_hook(3)
    y.grad_fn.register_hook(lambda gi, go: (1, 2, 3))
    with pytest.raises(TypeError, match="tuple of 1"):
        y.backward()
    z = x * x                 # MulBackward0 saves x: freed by the backward
    z.sum().backward()
    with pytest.raises(RuntimeError, match="already run"):
        z.grad_fn.register_hook(lambda gi, go: None)
    s = (x * 2).sum()         # SumBackward0 saves no tensor: kept, and takes a hook as torch's
    s.backward()
    s.grad_fn.register_hook(lambda gi, go: None)


def test_next_functions_of_a_multi_output_custom_function():
    # output k of a custom Function with several outputs is (the Function's node, k), as torch's; the
    # engine's unpacking nodes showed through (TwoBackward -> TwoBackward -> the leaves, index 0 twice)
    class Two(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * 2, y * 3

        @staticmethod
        def backward(ctx, a, b):
            return a * 2, b * 3

    x = mt.tensor(np.ones(3), requires_grad=True)
    w = mt.tensor(np.ones(3))
    a, b = Two.apply(x, w)
    edges = (a + b).grad_fn.next_functions
    assert [k for _, k in edges] == [0, 1] and edges[0][0] is edges[1][0]
    assert edges[0][0].name() == "TwoBackward"
    for out in (a, b):
        (leaf, k0), (none, k1) = out.grad_fn.next_functions   # the Function's own edges
        assert isinstance(leaf, AccumulateGrad) and leaf.variable is x and none is None and k0 == k1 == 0
