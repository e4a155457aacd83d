"""Module.register_full_backward_pre_hook / register_full_backward_hook against torch 2.13: the
same program runs in minitf and torch, and the hooks' calls (order, grad_input, grad_output)
and the resulting gradients are compared."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn

W = np.array([[0.5, -1.0], [2.0, 0.25]])
X = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.75]])


def _t(m, a, grad=True, device=None):
    kw = {"device": device} if device and m is mt else {}
    return m.tensor(np.asarray(a, dtype=np.float64), dtype=m.float64, requires_grad=grad, **kw)


def _vals(gs):
    return tuple(None if g is None else np.round(g.detach().numpy(), 12).tolist() for g in gs)


def _linear(m, device=None):
    lin = m.nn.Linear(2, 2).double()
    with m.no_grad():
        lin.weight.copy_(_t(m, W, False, device))
        lin.bias.copy_(_t(m, [0.1, -0.2], False, device))
    if device and m is mt:
        lin.to(device)
    return lin


def _two(m, device=None):
    """forward(a, b, c=None) -> (a * w, b * v, 3): a tuple with a non-Tensor."""
    class Two(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = m.nn.Parameter(_t(m, [2.0, 3.0], device=device))
            self.v = m.nn.Parameter(_t(m, [5.0, 7.0], device=device))

        def forward(self, a, b, c=None):
            return a * self.w, b * self.v, 3
    return Two()


def _recording(module, log, name=""):
    """A pre-hook and a full hook that log what they see (and return None)."""
    module.register_full_backward_pre_hook(lambda mod, go: log.append((name + "pre", _vals(go))))
    module.register_full_backward_hook(lambda mod, gi, go: log.append((name + "full", _vals(gi), _vals(go))))


def _grad(m):
    return mt.grad if m is mt else m.autograd.grad


def _both(program):
    """``program(m, log)`` in minitf and torch: both logs and both results."""
    torch = pytest.importorskip("torch")
    log, logt = [], []
    return log, program(mt, log), logt, program(torch, logt)


def test_grad_input_and_grad_output_match_torch(device):
    def program(m, log):
        mod = _two(m, device)
        _recording(mod, log)
        a, b = _t(m, [1.0, -1.0], device=device), _t(m, [0.5, 2.0], device=device)
        y, z, _ = mod(a, b, "c")
        (y * y).sum().backward()                # z gets no gradient: None in grad_output, zeros for b
        return [_vals([a.grad, b.grad, mod.w.grad]), mod.v.grad]
    log, res, logt, rest = _both(program)
    assert log == logt
    assert log[0] == ("pre", ([4.0, -6.0], None, None))
    assert res[0] == rest[0]
    assert res[1] is None and rest[1] is None    # no gradient reached v (torch passes none on)


def test_inputs_that_do_not_require_grad_get_zeros(device):
    def program(m, log):
        mod = _two(m, device)
        _recording(mod, log)
        a, b = _t(m, [1.0, -1.0], grad=False, device=device), _t(m, [0.5, 2.0], device=device)
        y, z, _ = mod(a, b)
        (y.sum() + (z * z).sum()).backward()
        return _vals([b.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest
    assert log[1][1][0] == [0.0, 0.0]           # a: zeros, as torch (it is a Tensor argument)


def test_an_argument_not_used_gets_zeros_and_a_zero_grad():
    def program(m, log):
        lin = _linear(m)

        class Skip(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lin

            def forward(self, a, b):
                return self.lin(a)
        mod = Skip()
        _recording(mod, log)
        a, b = _t(m, X), _t(m, X * 2)
        mod(a, b).sum().backward()
        return _vals([a.grad, b.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest
    assert res[1] == [[0.0, 0.0]] * 3           # torch materialises zeros for b, and they reach b.grad


def test_no_input_requires_grad_warns_and_calls_the_full_hook_with_nones():
    def program(m, log):
        mod = _two(m)
        _recording(mod, log)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            y, z, _ = mod(_t(m, [1.0, 2.0], False), _t(m, [3.0, 4.0], False))
            y.sum().backward()
        return len(w), _vals([mod.w.grad])
    log, res, logt, rest = _both(program)
    assert log == logt == [("pre", ([1.0, 1.0], None, None)), ("full", (None, None), ([1.0, 1.0], None, None))]
    assert res == rest == (1, ([1.0, 2.0],))


def test_no_input_requires_grad_a_returned_gradient_is_refused():
    torch = pytest.importorskip("torch")
    for m in (mt, torch):
        lin = _linear(m)
        lin.register_full_backward_hook(lambda mod, gi, go: (go[0],))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError, match="no input requires grad|none of whose inputs requires grad"):
                lin(_t(m, X, False)).sum().backward()
        lin = _linear(m)
        lin.register_full_backward_hook(lambda mod, gi, go: (None,))  # a tuple of None is allowed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin(_t(m, X, False)).sum().backward()


def test_order_prepend_and_hooks_as_of_forward():
    def program(m, log):
        lin = _linear(m)
        lin.register_full_backward_hook(lambda mod, gi, go: log.append("A"))
        h = lin.register_full_backward_hook(lambda mod, gi, go: log.append("B"))
        lin.register_full_backward_hook(lambda mod, gi, go: log.append("C"), prepend=True)
        lin.register_full_backward_pre_hook(lambda mod, go: log.append("pA"))
        lin.register_full_backward_pre_hook(lambda mod, go: log.append("pC"), prepend=True)
        lin.register_forward_hook(lambda mod, args, out: log.append("fwd"))
        lin.register_forward_pre_hook(lambda mod, args: log.append("fwdpre"))
        x = _t(m, X)
        y = lin(x)
        h.remove()                                   # still fires for y: hooks are taken at forward
        lin.register_full_backward_hook(lambda mod, gi, go: log.append("D"))
        y.sum().backward()
        log.append("|")
        lin(x).sum().backward()
        return None
    log, _, logt, _ = _both(program)
    assert log == logt == ["fwdpre", "fwd", "pC", "pA", "C", "A", "B", "|", "fwdpre", "fwd", "pC", "pA", "C", "A", "D"]


def test_handle_is_removable_and_a_context_manager():
    lin, log = _linear(mt), []
    with lin.register_full_backward_hook(lambda mod, gi, go: log.append("full")):
        with lin.register_full_backward_pre_hook(lambda mod, go: log.append("pre")):
            lin(_t(mt, X)).sum().backward()
        lin(_t(mt, X)).sum().backward()
    lin(_t(mt, X)).sum().backward()
    assert log == ["pre", "full", "full"]
    assert not lin._backward_hooks and not lin._backward_pre_hooks
    with pytest.raises(TypeError, match="callable"):
        lin.register_full_backward_hook(3)


def test_returned_tuples_replace_the_gradients_in_order():
    def program(m, log):
        lin = _linear(m)
        lin.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
        lin.register_full_backward_hook(lambda mod, gi, go: log.append(_vals(gi)) or [gi[0] * 3])  # a list too
        lin.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
        lin.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", _vals(go))))
        lin.register_full_backward_hook(lambda mod, gi, go: log.append(("go", _vals(go))))
        x = _t(m, X)
        lin(x).sum().backward()
        return _vals([x.grad, lin.weight.grad, lin.bias.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest
    np.testing.assert_allclose(res[0], 60.0 * np.ones((3, 2)) @ W)   # 10 (pre) * 2 * 3 (full hooks)


def test_forward_hooks_are_inside_the_backward_hooks():
    def program(m, log):
        lin = _linear(m)
        lin.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        lin.register_forward_hook(lambda mod, args, out: log.append(
            (type(args[0].grad_fn).__name__, out.grad_fn.name() != "BackwardHookFunctionBackward")) or out * 5)
        _recording(lin, log)
        x = _t(m, X)
        y = lin(x)
        log.append(y.grad_fn.name())
        (y * y).sum().backward()
        return _vals([x.grad])
    log, res, logt, rest = _both(program)
    assert log[0][1] and logt[0][1] and log[1:] == logt[1:] and res == rest
    assert log[1] == "BackwardHookFunctionBackward"


@pytest.mark.parametrize("kind", ["pre", "full"])
def test_wrong_number_of_gradients_is_torchs_error(kind):
    torch = pytest.importorskip("torch")
    want = "grad_output" if kind == "pre" else "grad_input"
    for m in (mt, torch):
        lin = _linear(m)
        if kind == "pre":
            lin.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
        else:
            lin.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match=f"returned an invalid number of {want}, got 2, but expected 1"):
            lin(_t(m, X)).sum().backward()


@pytest.mark.parametrize("kind", ["pre", "full"])
def test_a_returned_gradient_of_the_wrong_shape_or_type_is_refused(kind):
    torch = pytest.importorskip("torch")
    for m in (mt, torch):
        for bad, error, match in [(_t(m, np.ones(3), False), RuntimeError, "changed the size of value"),
                                  (3, TypeError, "hook returned 'int'|returned int")]:
            lin = _linear(m)
            if kind == "pre":
                lin.register_full_backward_pre_hook(lambda mod, go: (bad,))
            else:
                lin.register_full_backward_hook(lambda mod, gi, go: (bad,))
            with pytest.raises(error, match=match):
                lin(_t(m, X)).sum().backward()


def test_nested_modules_fire_inside_out_as_torch():
    def program(m, log):
        l1, l2 = _linear(m), _linear(m)
        seq = m.nn.Sequential(l1, m.nn.Tanh(), l2)
        for name, mod in (("s.", seq), ("l1.", l1), ("l2.", l2)):
            _recording(mod, log, name)

        class Res(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.f, self.g = _linear(m), _linear(m)

            def forward(self, x):
                return x + self.f(x) + self.g(x) * 2
        res = Res()
        for name, mod in (("r.", res), ("f.", res.f), ("g.", res.g)):
            _recording(mod, log, name)
        x = _t(m, X)
        (res(seq(x)) ** 2).sum().backward()
        return _vals([x.grad])
    log, res, logt, rest = _both(program)
    # f and g hang off the same input: torch's engine takes the later-made g first, this walk
    # takes f first; the rest is fixed by the graph (outer before inner, pre before full)
    assert sorted(map(repr, log[:6])) == sorted(map(repr, logt[:6]))
    assert log[6:] == logt[6:] and res == rest
    assert [e[0] for e in log] == ["r.pre", "f.pre", "f.full", "g.pre", "g.full", "r.full",
                                   "s.pre", "l2.pre", "l2.full", "l1.pre", "l1.full", "s.full"]


def test_each_call_fires_once_per_backward():
    def program(m, log):
        lin = _linear(m)
        _recording(lin, log)
        x = _t(m, X)
        (3 * lin(lin(x)).sum()).backward()          # two calls, one graph: the outer call's first
        log.append("|")
        (lin(x).sum() + 3 * (lin(2 * x) ** 2).sum()).backward()  # two independent calls
        return _vals([x.grad, lin.weight.grad])
    log, res, logt, rest = _both(program)
    assert log[:5] == logt[:5] and len(log) == len(logt) == 9
    # independent calls: torch's engine takes the later one first; the walk here may differ in
    # order, never in what each call sees
    assert sorted(map(repr, log[5:])) == sorted(map(repr, logt[5:]))
    assert res == rest


def test_retain_graph_fires_each_backward_and_grad_of_params_only_fires_none():
    def program(m, log):
        lin = _linear(m)
        _recording(lin, log)
        x = _t(m, X)
        y = lin(x)
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        log.append("|")
        _grad(m)(lin(x).sum(), lin.weight)   # the inputs' side is not walked: no full hook
        return _vals([x.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest
    assert [e if e == "|" else e[0] for e in log] == ["pre", "full", "pre", "full", "|", "pre"]


def test_create_graph_hooks_see_graph_carrying_gradients():
    def program(m, log):
        lin = _linear(m)
        tanh = m.nn.Tanh()
        tanh.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", go[0].requires_grad)))
        tanh.register_full_backward_hook(
            lambda mod, gi, go: log.append(("full", gi[0].requires_grad, go[0].requires_grad)) or (gi[0] * gi[0],))
        x = _t(m, X)
        y = tanh(lin(x))
        g, = _grad(m)((y ** 2).sum(), x, create_graph=True)
        log.append("|")
        g.sum().backward()                          # through the module again: its hooks fire again
        return _vals([g, x.grad, lin.weight.grad])
    log, res, logt, rest = _both(program)
    assert log == logt
    assert log[:2] == [("pre", True), ("full", True, True)]
    for a, b in zip(res, rest):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_no_grad_fires_nothing(device):
    lin, log = _linear(mt, device), []
    _recording(lin, log)
    x = _t(mt, X, device=device)
    with mt.no_grad():
        y = lin(x)
    assert y.grad_fn is None and not y.requires_grad
    lin(x).sum().backward()                         # the next call in grad mode is hooked as usual
    assert [e[0] for e in log] == ["pre", "full"]


def test_fake_device_matches_cpu(device):
    def run(dev):
        l1, l2 = _linear(mt, dev), _linear(mt, dev)
        log = []
        _recording(l2, log)
        l2.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0.5,))
        x = _t(mt, X, device=dev)
        (mt.tanh(l2(l1(x))) ** 2).sum().backward()
        assert x.grad.device == dev
        return log, _vals([x.grad, l1.weight.grad])
    assert run(device) == run("cpu")


def test_hooked_module_passes_gradcheck():
    lin = _linear(mt)
    lin.register_full_backward_hook(lambda mod, gi, go: None)
    lin.register_full_backward_pre_hook(lambda mod, go: None)
    x = _t(mt, X)
    assert mt.gradcheck(lambda t: mt.tanh(lin(t)), [x])
    assert mt.gradgradcheck(lambda t: mt.tanh(lin(t)), [x])   # second order through the hooked nodes


def test_tuple_outputs_nested_and_named():
    import collections
    Pair = collections.namedtuple("Pair", "a b")

    def program(m, log):
        class Out(m.nn.Module):
            def forward(self, x):
                return Pair(x * 2, (x * 3,))
        mod = Out()
        _recording(mod, log)
        x = _t(m, X)
        y = mod(x)
        assert type(y) is Pair and y.a.grad_fn.name() == "BackwardHookFunctionBackward"
        (y.a.sum() + y.b[0].sum()).backward()       # a nested tuple is not hooked: None in grad_output
        return _vals([x.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest


def test_dict_output_warns_and_is_not_hooked():
    def program(m, log):
        class D(m.nn.Module):
            def forward(self, x):
                return {"a": x * 2}
        mod = D()
        _recording(mod, log)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mod(_t(m, X))["a"].sum().backward()
        return len(w)
    log, res, logt, rest = _both(program)
    assert log == logt == [] and res == rest == 1


def test_the_same_tensor_twice_and_a_module_returning_its_input():
    def program(m, log):
        class Mul(m.nn.Module):
            def forward(self, a, b):
                return a * b
        mul, ident = Mul(), m.nn.Identity()
        _recording(mul, log, "mul.")
        _recording(ident, log, "id.")
        x = _t(m, X)
        (ident(mul(x, x)) * 3).sum().backward()
        return _vals([x.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest


def test_in_place_change_of_a_hooked_output_is_recorded():
    """torch refuses it (its outputs are views made by a custom Function); here the change is
    recorded as on any view, and the hooks see the gradient of the output as returned."""
    torch = pytest.importorskip("torch")
    lin = _linear(torch)
    lin.register_full_backward_hook(lambda mod, gi, go: None)
    with pytest.raises(RuntimeError, match="modified inplace"):
        lin(_t(torch, X)).mul_(2)

    def run(hooked):
        mod, log = _two(mt), []
        if hooked:
            _recording(mod, log)
        a = _t(mt, [1.0, -1.0])
        y, z, _ = mod(a, a)
        y.add_(1)                                   # in place, then squared
        (y * y).sum().backward()
        return log, _vals([a.grad, mod.w.grad])
    log, grads = run(True)
    assert grads == run(False)[1]
    assert log[0] == ("pre", ([6.0, -4.0], None, None))  # d sum((y+1)**2) / dy at y = a * w as returned


def test_in_place_change_of_a_hooked_input_follows_the_rules_without_hooks():
    class AddOne(nn.Module):
        def forward(self, x):
            x.add_(1)
            return x * 2
    mod = AddOne()
    mod.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(RuntimeError, match="leaf"):
        mod(_t(mt, X))                              # a leaf that requires grad: refused, as without hooks
    log = []
    mod.register_full_backward_hook(lambda m, gi, go: log.append(_vals(gi)))
    x = _t(mt, X)
    h = x * 1
    out = mod(h)                                     # a non-leaf: changed in place, recorded
    (out * out).sum().backward()
    np.testing.assert_allclose(h.detach().numpy(), X + 1)
    np.testing.assert_allclose(log[0][0], 8 * (X + 1))   # d sum((2(h+1))**2) / dh
    np.testing.assert_allclose(x.grad.numpy(), 8 * (X + 1))


def test_keyword_tensors_are_not_in_grad_input():
    def program(m, log):
        class K(m.nn.Module):
            def forward(self, x, y=None):
                return x * y
        mod = K()
        _recording(mod, log)
        x, y = _t(m, X), _t(m, X * 2)
        mod(x, y=y).sum().backward()                # y's gradient flows past the hooks
        return _vals([x.grad, y.grad])
    log, res, logt, rest = _both(program)
    assert log == logt and res == rest and len(log[1][1]) == 1


def test_a_returned_gradient_of_another_dtype_is_refused():
    lin = _linear(mt)
    lin.register_full_backward_hook(lambda mod, gi, go: (gi[0].float(),))
    with pytest.raises(RuntimeError, match="changed the type of value"):
        lin(_t(mt, X)).sum().backward()


def test_hooks_under_the_debug_tools_and_backward_inputs():
    lin, log = _linear(mt), []
    _recording(lin, log)
    x = _t(mt, X)
    with mt.detect_anomaly():
        lin(x).sum().backward()
    with mt.profile() as prof:
        lin(x).sum().backward()
    assert {"BackwardHookFunction", "BackwardHookBundle"} <= {s.name for s in prof.stats}
    x.grad, lin.weight.grad = None, None
    lin(x).sum().backward(inputs=[x])
    assert x.grad is not None and lin.weight.grad is None
    y = lin(x)
    mt.grad(y.sum(), y)                             # the gradient of the output itself: no hook runs
    assert [e[0] for e in log] == ["pre", "full"] * 3
    assert "BackwardHookBundle" in mt.to_dot(lin(x).sum())
