"""Tensor.register_hook, retains_grad and detach_ against torch: hooks see the complete
gradient (a leaf's summed over its uses), may replace it, chain in order, are removable,
run under mt.grad and create_graph=True, and leave the plain backward path once removed."""
import gc

import numpy as np
import pytest

import minitf as mt
from minitf import tensor_hooks

DATA = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def _pair(m, device=None):
    kw = {"device": device} if device else {}
    return m.tensor(DATA, dtype=m.float64, requires_grad=True, **kw)


def _run(m, x, log):
    """The same program in minitf and torch: hooks on a leaf and a non-leaf, a retained grad."""
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: log.append(("y", g.tolist())) or g * 10)   # replaces y's gradient
    y.register_hook(lambda g: log.append(("y2", g.tolist())))            # sees the replacement
    x.register_hook(lambda g: log.append(("x", g.tolist())))             # once, with the sum
    z = (y * y).sum() + (x * 3).sum()
    z.backward()
    return y


def test_hooks_match_torch(device):
    torch = pytest.importorskip("torch")
    x, xt = _pair(mt, device), _pair(torch)
    log, logt = [], []
    y, yt = _run(mt, x, log), _run(torch, xt, logt)
    assert log == logt
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    assert y.retains_grad and not x.retains_grad and not (x * 1).retains_grad


def test_a_leaf_hook_replaces_what_grad_accumulates(device):
    torch = pytest.importorskip("torch")
    out = []
    for m, x in ((mt, _pair(mt, device)), (torch, _pair(torch))):
        x.register_hook(lambda g: g.clamp(min=0.0))
        (x * x).sum().backward()
        (x * 2).sum().backward()   # accumulates the second (hooked) gradient into .grad
        out.append(x.grad.numpy() if m is mt else x.grad.detach().numpy())
    np.testing.assert_allclose(*out)


def test_remove_and_the_plain_path_back():
    x = mt.tensor(DATA, requires_grad=True)
    calls = []
    h = x.register_hook(lambda g: calls.append(1))
    assert tensor_hooks.active >= 1
    (x * 2).sum().backward()
    h.remove()
    h.remove()  # twice is harmless, as torch's
    (x * 2).sum().backward()
    assert calls == [1]
    del x, h
    gc.collect()
    assert tensor_hooks.active == 0  # backward() takes its fast loop again


def test_hooks_under_grad_and_create_graph(device):
    torch = pytest.importorskip("torch")
    res = []
    for m, x in ((mt, _pair(mt, device)), (torch, _pair(torch))):
        y = x * x
        y.register_hook(lambda g: g * 3)
        x.register_hook(lambda g: g + 1)
        (gx,) = (mt.grad if m is mt else torch.autograd.grad)((y * x).sum(), [x], create_graph=True)
        (ggx,) = (mt.grad if m is mt else torch.autograd.grad)(gx.sum(), [x])
        res.append([t.detach().numpy() if m is torch else t.numpy() for t in (gx, ggx)])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b)


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mt.tensor([1.0]).register_hook(lambda g: g)
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    h = x.register_hook(lambda g: g[:1])
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).sum().backward()
    h.remove()
    h = x.register_hook(lambda g: 1.0)
    with pytest.raises(TypeError, match="Tensor or None"):
        (x * 2).sum().backward()
    h.remove()


def test_detach_in_place():
    torch = pytest.importorskip("torch")
    for m in (mt, torch):
        x = m.ones(2, requires_grad=True)
        y = x * 2
        assert y.detach_() is y and not y.requires_grad and y.grad_fn is None and y.is_leaf
        with pytest.raises(RuntimeError, match="detach views in-place"):
            x[0:1].detach_()


def test_detach_in_place_keeps_earlier_consumers(device):
    """torch changes only the tensor itself: ops recorded before detach_ keep their path
    through it (dz/dx = 3 * 2 + 1), ops after see a constant."""
    torch = pytest.importorskip("torch")
    grads = []
    for m, kw in ((mt, {"device": device}), (torch, {})):
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True, **kw)
        y = x * 2
        z = y * 3 + x
        y.detach_()
        w = z + y * 5                         # y is a constant here: no gradient through it
        w.sum().backward()
        grads.append(x.grad.tolist())
        assert y.grad_fn is None and not y.requires_grad and y.is_leaf
    assert grads[0] == grads[1] == [7.0, 7.0]


def test_detach_in_place_after_an_op_saved_it(device):
    """An op that saved y before detach_ (y * y) still differentiates through it: d(4x^2)/dx
    = 8x (torch refuses this backward, "a saved tensor that has been detached in-place")."""
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True, device=device)
    y = x * 2
    z = y * y
    y.detach_()
    z.sum().backward()
    assert x.grad.tolist() == [8.0, 16.0]


def test_detach_in_place_then_changed_in_place_is_caught():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y                                 # saves y
    y.detach_()
    with mt.no_grad():
        y.mul_(2)                             # the same storage: z's saved input changed
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        z.sum().backward()


def test_detach_in_place_refused_on_every_view():
    torch = pytest.importorskip("torch")
    for m in (mt, torch):
        a = m.tensor([[1.0, 2.0], [3.0, 4.0]])   # a base not requiring grad: still refused, as torch
        for view in (lambda: a[0:1], lambda: a.reshape(4), lambda: a.transpose(0, 1)):
            with pytest.raises(RuntimeError, match="detach views in-place"):
                view().detach_()
        assert not a.detach().detach_().requires_grad   # detach() is not a view here, as torch


def test_a_hook_changing_the_dtype_is_refused_as_torch(device):
    torch = pytest.importorskip("torch")
    for m, kw, match in ((mt, {"device": device}, "changed the type of value.*float32.*float64"),
                         (torch, {}, "changed the type of value")):
        x = m.ones(2, requires_grad=True, **kw)
        y = x * 2
        y.register_hook(lambda g: g.double())
        with pytest.raises(RuntimeError, match=match):
            y.sum().backward()


def test_detach_in_place_then_changed_is_caught_by_create_graph(device):
    """The general walk's check (create_graph reads every input) sees through detach_ too."""
    for detach in (False, True):
        x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True, device=device)
        y = x * 2
        z = y.cumsum(0)                       # saves nothing for the plain backward
        if detach:
            y.detach_()
        with mt.no_grad():
            y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace"):
            mt.grad(z.sum(), [x], create_graph=True)


def test_detach_in_place_keeps_hooks_and_retained_grad_as_torch(device):
    """Hooks registered on y, and y.retain_grad(), still act in the graph built before
    y.detach_() (torch keeps them on the node): y.grad = 3 * 10, x.grad = 2 * that."""
    torch = pytest.importorskip("torch")
    res = []
    for m, kw in ((mt, {"device": device}), (torch, {})):
        log = []
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True, **kw)
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: log.append(g.tolist()) or g * 10)
        z = y * 3
        y.detach_()
        z.sum().backward()
        res.append((log, y.grad.tolist(), x.grad.tolist()))
    assert res[0] == res[1] == ([[3.0, 3.0]], [30.0, 30.0], [60.0, 60.0])
