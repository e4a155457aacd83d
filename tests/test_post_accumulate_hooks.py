"""Tensor.register_post_accumulate_grad_hook against torch and on its own: the hook gets the leaf
once per backward pass, after its .grad holds every use of the pass (tied weights, two backward
calls), during the walk rather than after it, never under mt.grad, only for the inputs of
backward(inputs=...), and not at all once removed."""
import gc

import numpy as np
import pytest

import minitf as mt
from minitf import tensor_hooks

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
X = np.array([[1.0, 2.0], [-0.5, 0.3], [0.2, -1.2]])


def _leaves(m, **kw):
    w = m.tensor(W, dtype=m.float64, requires_grad=True, **kw)
    v = m.tensor(X, dtype=m.float64, requires_grad=True, **kw)
    return w, v


def _program(m, w, v, log):
    """w used twice (tied: at the start and at the end), v once; two backward calls accumulate."""
    w.register_post_accumulate_grad_hook(lambda p: log.append(("w", p.grad.tolist())))
    v.register_post_accumulate_grad_hook(lambda p: log.append(("v", p.grad.tolist())))
    w.register_post_accumulate_grad_hook(lambda p: log.append(("w2", p is w)))
    for scale in (1.0, -2.0):
        h = (w @ v).tanh()               # (2, 2)
        out = (h @ w * scale).sum()      # w's second use
        out.backward()
        log.append("end")


def test_matches_torch_with_tied_weights_and_two_backwards(device):
    torch = pytest.importorskip("torch")
    log, logt = [], []
    _program(mt, *_leaves(mt, device=device), log)
    _program(torch, *_leaves(torch), logt)
    assert [e if isinstance(e, str) else e[0] for e in log] == [e if isinstance(e, str) else e[0] for e in logt]
    assert log.count(("w2", True)) == 2   # once per backward, with the leaf itself
    for a, b in zip(log, logt):
        if isinstance(a, tuple) and a[0] in "wv":
            np.testing.assert_allclose(a[1], b[1], rtol=1e-12)


def test_a_tied_weight_is_reported_once_with_its_final_gradient():
    w = mt.tensor(W, dtype=mt.float64, requires_grad=True)
    v = mt.tensor(X, dtype=mt.float64)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    out = ((w @ v).tanh() @ w).sum() + (w * w).sum()      # three uses, one of them twice in one op
    out.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], w.grad.numpy())   # nothing was added after the hook
    ref = mt.tensor(W, dtype=mt.float64, requires_grad=True)
    (((ref @ v).tanh() @ ref).sum() + (ref * ref).sum()).backward()
    np.testing.assert_allclose(seen[0], ref.grad.numpy(), rtol=1e-14)


def test_runs_during_the_walk_as_soon_as_the_leaf_is_final(device):
    """The last layer's weight is final before the first layer's backward has run: its hook
    sees the first weight without a gradient yet (what lets data parallelism send it early)."""
    first = mt.tensor(W, dtype=mt.float64, requires_grad=True, device=device)
    last = mt.tensor(X, dtype=mt.float64, requires_grad=True, device=device)
    seen = []
    last.register_post_accumulate_grad_hook(lambda p: seen.append(("last", first.grad is None)))
    first.register_post_accumulate_grad_hook(lambda p: seen.append(("first", last.grad is not None)))
    ((first * 2).tanh() @ last).sum().backward()
    assert seen == [("last", True), ("first", True)]


def test_the_gradient_may_be_changed_in_place_or_dropped():
    torch = pytest.importorskip("torch")
    res = []
    for m in (mt, torch):
        a, b = _leaves(m)

        def scale(p):
            p.grad.mul_(10)
        a.register_post_accumulate_grad_hook(scale)
        b.register_post_accumulate_grad_hook(lambda p: setattr(p, "grad", None))
        (a @ b).sum().backward()
        res.append((a.grad.tolist(), b.grad))
    assert res[0] == res[1] and res[0][1] is None


def test_grad_and_backward_inputs_as_torch():
    torch = pytest.importorskip("torch")
    logs = []
    for m in (mt, torch):
        a, b = _leaves(m)
        log = []
        a.register_post_accumulate_grad_hook(lambda p: log.append("a"))
        b.register_post_accumulate_grad_hook(lambda p: log.append("b"))
        (mt.grad if m is mt else torch.autograd.grad)((a @ b).sum(), [a, b])   # accumulates nothing
        log.append("|")
        (a @ b).sum().backward(inputs=[b])
        log.append("|")
        m.autograd.backward([(a @ b).sum()], inputs=[a])
        logs.append(log)
    assert logs[0] == logs[1] == ["|", "b", "|", "a"]


def test_create_graph_and_a_leaf_as_the_root(device):
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True, device=device)
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append((p.grad.tolist(), p.grad.requires_grad)))
    (x * x).sum().backward(create_graph=True)
    assert seen == [([2.0, 4.0], True)]
    x.grad = None
    x.backward(mt.tensor([1.0, -1.0], dtype=mt.float64, device=device))
    assert seen[1:] == [([1.0, -1.0], False)]


class _NoGradForB(mt.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b

    @staticmethod
    def backward(ctx, grad):
        return grad * 2, None


def test_a_use_that_sends_no_gradient():
    """b's count includes a use whose op returns no gradient for it: its hook still runs, once,
    after the other use; a leaf that gets nothing at all is not reported (as torch)."""
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    b = mt.tensor([3.0, 4.0], requires_grad=True)
    c = mt.tensor([5.0, 6.0], requires_grad=True)
    seen = []
    for name, t in (("a", a), ("b", b), ("c", c)):
        t.register_post_accumulate_grad_hook(lambda p, name=name: seen.append((name, p.grad.tolist())))
    (_NoGradForB.apply(a, b).sum() + (b * 3).sum() + _NoGradForB.apply(a, c).sum()).backward()
    assert sorted(seen) == [("a", [4.0, 4.0]), ("b", [3.0, 3.0])]
    assert c.grad is None


def test_with_a_gradient_hook_on_the_same_leaf():
    torch = pytest.importorskip("torch")
    logs = []
    for m in (mt, torch):
        a, b = _leaves(m)
        log = []
        a.register_hook(lambda g: log.append(("pre", g.tolist())) or g * 2)
        a.register_post_accumulate_grad_hook(lambda p: log.append(("post", p.grad.tolist())))
        ((a @ b).sum() + (a * a).sum()).backward()
        logs.append(log)
    assert [e[0] for e in logs[0]] == [e[0] for e in logs[1]] == ["pre", "post"]
    np.testing.assert_allclose(logs[0][1][1], logs[1][1][1])


def test_remove_and_the_plain_path_back():
    x = mt.tensor(W, requires_grad=True)
    calls = []
    h = x.register_post_accumulate_grad_hook(lambda p: calls.append(1))
    h2 = x.register_post_accumulate_grad_hook(lambda p: calls.append(2))
    assert tensor_hooks.posted >= 1 and tensor_hooks.active >= 1
    (x * 2).sum().backward()
    h.remove()
    h.remove()   # twice is harmless, as torch's
    (x * 2).sum().backward()
    h2.remove()
    (x * 2).sum().backward()
    assert calls == [1, 2, 2]
    del x, h, h2
    gc.collect()
    assert tensor_hooks.posted == 0 and tensor_hooks.active == 0   # backward() takes its fast loop again
    y = mt.tensor(W, requires_grad=True)
    y.register_post_accumulate_grad_hook(lambda p: None)
    del y
    gc.collect()
    assert tensor_hooks.posted == 0 and tensor_hooks.active == 0   # a freed leaf takes its hooks along


def test_errors_as_torch():
    torch = pytest.importorskip("torch")
    for m in (mt, torch):
        x = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
            (x * 2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            m.ones(2).register_post_accumulate_grad_hook(lambda p: None)
        h = x.register_post_accumulate_grad_hook(lambda p: p.grad * 2)
        with pytest.raises(RuntimeError, match="should return None"):
            (x * 2).sum().backward()
        h.remove()
    with pytest.raises(TypeError, match="register_post_accumulate_grad_hook: the hook must be callable"):
        mt.ones(2, requires_grad=True).register_post_accumulate_grad_hook(3)   # torch: only at backward


def test_once_per_pass_through_a_recomputed_block():
    """recompute's backward runs a backward of its own, whose parameter gradients are the node's
    and accumulated by the outer pass: the hooks run there, once, with the final gradient."""
    w = mt.tensor(W, dtype=mt.float64, requires_grad=True)
    x = mt.tensor(X, dtype=mt.float64, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    y = mt.recompute(lambda a: (a @ w).tanh(), x, params=[w])   # (3, 3)
    ((y @ w.T).sum() + (w * w).sum()).backward()                 # two more uses outside
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], w.grad.numpy())
    ref = mt.tensor(W, dtype=mt.float64, requires_grad=True)
    (((x @ ref).tanh() @ ref.T).sum() + (ref * ref).sum()).backward()
    np.testing.assert_allclose(seen[0], ref.grad.numpy(), rtol=1e-14)


def test_two_backward_calls_accumulate_before_the_hook():
    """Without torch: the second pass's hook sees .grad with both passes in it, once per pass."""
    w = mt.tensor(W, dtype=mt.float64, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    (w * w).sum().backward()          # 2w
    (w * 3 + w).sum().backward()      # + 4, from two uses
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[0], 2 * W)
    np.testing.assert_array_equal(seen[1], 2 * W + 4)
    np.testing.assert_array_equal(w.grad.numpy(), seen[1])


def _recompute_hook_run(m, closed):
    """A parameter with a doubling gradient hook, and a leaf W, through a recomputed call (torch:
    checkpoint(use_reentrant=False)): W is a parameter of the call, or read from its closure
    (``closed``) and also used outside it. The log holds what each hook saw, in order."""
    log = []
    w = m.tensor(W, dtype=m.float64, requires_grad=True)
    v = m.tensor(X.T.copy(), dtype=m.float64, requires_grad=True)   # (2, 3), read from the closure
    x = m.tensor(X, dtype=m.float64, requires_grad=True)
    w.register_hook(lambda g: g * 2)
    w.register_hook(lambda g: log.append(("w pre", g.sum().item())))
    v.register_hook(lambda g: log.append(("v pre", g.sum().item())))
    v.register_post_accumulate_grad_hook(lambda p: log.append(("v post", p.grad.sum().item())))
    w.register_post_accumulate_grad_hook(lambda p: log.append(("w post", p.grad.sum().item())))
    f = lambda a: ((a @ w).tanh() @ v.T).tanh() if closed else (a @ w).tanh()
    if m is mt:
        y = mt.recompute(f, x, params=[w])
    else:
        import torch.utils.checkpoint as cp
        y = cp.checkpoint(f, x, use_reentrant=False)
    (y.sum() + (v * v).sum()).backward()
    return log, w.grad.numpy(), v.grad.numpy()


@pytest.mark.parametrize("closed", [False, True])
def test_recomputed_hooks_run_once_as_torch(closed):
    """A gradient hook on a recomputed call's parameter ran twice (the nested backward, then the
    outer accumulation): it runs once, on the whole gradient; a leaf the function closes over gets
    its post-accumulate-grad hook once, after its last use (it never ran)."""
    torch = pytest.importorskip("torch")
    got, ref = _recompute_hook_run(mt, closed), _recompute_hook_run(torch, closed)
    got_log, ref_log = sorted(got[0]), sorted(ref[0])   # each hook's calls; the order across tensors is the engine's
    assert [k for k, _ in got_log] == [k for k, _ in ref_log]
    np.testing.assert_allclose([v for _, v in got_log], [v for _, v in ref_log], rtol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12)
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-12)


def test_recomputed_hooks_run_once_without_torch():
    """Without torch: the doubling hook is applied once (the plain run's gradient, doubled); the
    closed-over leaf's post hook runs once with its final .grad, which equals the plain run's."""
    log, wg, vg = _recompute_hook_run(mt, True)
    w = mt.tensor(W, dtype=mt.float64, requires_grad=True)
    v = mt.tensor(X.T.copy(), dtype=mt.float64, requires_grad=True)
    x = mt.tensor(X, dtype=mt.float64)
    (((x @ w).tanh() @ v.T).tanh().sum() + (v * v).sum()).backward()
    np.testing.assert_allclose(wg, 2 * w.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(vg, v.grad.numpy(), rtol=1e-14)
    assert [k for k, _ in log].count("w pre") == 1 and [k for k, _ in log].count("v post") == 1
    assert dict(log)["v post"] == pytest.approx(float(vg.sum()), rel=1e-14)
