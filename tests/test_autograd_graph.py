"""mt.autograd.graph's graph tools against torch.autograd.graph's: Node, GradientEdge with grad,
increment_version and register_multi_grad_hook ('all' and 'any')."""
import numpy as np
import pytest

import minitf as mt
from minitf.autograd import graph


def test_every_grad_fn_and_accumulate_grad_is_a_node():
    torch = pytest.importorskip("torch")
    for lib in (mt, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * 2).exp().sum()
        G = lib.autograd.graph
        assert isinstance(y.grad_fn, G.Node) and issubclass(type(y.grad_fn), G.Node)
        acc = y.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]
        assert isinstance(acc, G.Node) and acc.name() == "torch::autograd::AccumulateGrad"
        assert not isinstance(x, G.Node) and not isinstance(object(), G.Node)
        with pytest.raises(TypeError):
            G.Node()   # abstract


def _edges(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    h = (x * x).tanh()
    loss = (h * lib.tensor([1.0, -2.0])).sum()
    G = lib.autograd.graph
    ex, eh = G.get_gradient_edge(x), G.get_gradient_edge(h)
    assert eh.node is h.grad_fn and eh.output_nr == 0 and ex.output_nr == 0
    by_edge = lib.autograd.grad(loss, (ex, eh), retain_graph=True)
    by_tensor = lib.autograd.grad(loss, (x, h), retain_graph=True)
    (single,) = lib.autograd.grad(loss, eh)
    for a, b in zip(by_edge, by_tensor):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="does not require gradients"):
        G.get_gradient_edge(lib.tensor([1.0]))
    return [g.numpy() for g in by_edge] + [single.numpy()]


def test_gradient_edges_stand_for_their_tensors_in_grad():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_edges(mt), _edges(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _backward_into_edges(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    v = lib.tensor([3.0, 4.0], requires_grad=True)
    z = w * v
    G = lib.autograd.graph
    out = (z * 3).sum()
    out.backward(inputs=G.get_gradient_edge(w), retain_graph=True)        # a leaf's edge: into w.grad
    lib.autograd.backward([out, z.sum()], inputs=[G.get_gradient_edge(v), G.get_gradient_edge(z)],
                          retain_graph=True)                              # a non-leaf's: into nothing
    return [w.grad.tolist(), v.grad.tolist(), z.grad is None]


def test_backward_takes_gradient_edges_as_inputs():
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch's warning on reading a non-leaf's .grad)
        assert _backward_into_edges(mt) == _backward_into_edges(torch)


def test_a_custom_functions_outputs_have_their_output_nr():
    from .test_custom_function import Two   # (x * 2, x * 3)
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    a, b = Two.apply(x)
    eb = graph.get_gradient_edge(b)
    assert eb.output_nr == 1 and eb.node is graph.get_gradient_edge(a).node
    (gb,) = mt.autograd.grad((a * b).sum(), eb)
    np.testing.assert_array_equal(gb.numpy(), a.detach().numpy())
    with pytest.raises(RuntimeError, match="GradientEdge whose tensor minitf cannot find"):
        mt.autograd.grad((a * b).sum(), graph.GradientEdge(eb.node, 5))


@pytest.mark.parametrize("many", [False, True])
def test_increment_version_makes_backward_refuse_as_torchs(many):
    torch = pytest.importorskip("torch")
    for lib in (mt, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()                       # saves its output
        z = (x * 3).sum()                 # saves nothing of y
        lib.autograd.graph.increment_version([y, x] if many else y)
        z.backward()                      # fine: nothing it saved changed
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    with pytest.raises(TypeError, match="a Tensor or an iterable of Tensors"):
        graph.increment_version([1.0])


def _multi(lib, mode, only_a=False):
    """Gradients a multi-grad hook over (c, a, b, d) ('all') or (c, a) ('any') sees: c = d = a * b,
    d not in the graphs; two passes (one with backward(inputs=(a,)) if only_a), then one after remove()."""
    rng = np.random.default_rng(3)
    a = lib.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = lib.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c, d = a * b, a * b
    calls = []

    def fn(grads):   # (copies: torch's leaf gradient becomes .grad, added into by the next pass)
        if mode == "all":
            calls.append([None if g is None else g.numpy().copy() for g in grads])
        else:
            calls.append(grads.numpy().copy())
    h = lib.autograd.graph.register_multi_grad_hook((c, a, b, d) if mode == "all" else (c, a), fn, mode=mode)
    c.sum().backward(retain_graph=True)
    (c * c).sum().backward(inputs=(a,) if only_a else None, retain_graph=True)
    h.remove()
    c.sum().backward()
    return calls


@pytest.mark.parametrize("mode,only_a", [("all", False), ("all", True), ("any", False)])
def test_register_multi_grad_hook_as_torchs(mode, only_a):
    torch = pytest.importorskip("torch")
    ours, theirs = _multi(mt, mode, only_a), _multi(torch, mode, only_a)
    assert len(ours) == len(theirs) == 2   # once per pass; not after remove()
    for o, t in zip(ours, theirs):
        if mode == "all":   # None for d (not in the graph) and, with inputs=(a,), for b (not needed)
            assert [g is None for g in o] == [g is None for g in t]
            for og, tg in zip(o, t):
                if tg is not None:
                    np.testing.assert_allclose(og, tg, rtol=1e-12)
        else:   # the first gradient of the pass: c's
            np.testing.assert_allclose(o, t, rtol=1e-12)
    if only_a:
        assert [g is None for g in ours[1]] == [False, False, True, True]


def test_register_multi_grad_hook_refuses_an_unknown_mode():
    x = mt.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Expects mode to be one of"):
        graph.register_multi_grad_hook([x], print, mode="some")
