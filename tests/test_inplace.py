"""In-place changes (PyTorch's rules) and the version counter that guards saved tensors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitf as mt
from minitf import backend

from .conftest import ATOL, RTOL, randt


def host(t):
    return backend.to_numpy(t.data)


def test_manual_sgd_updates_the_parameter_and_the_loss_decreases(device, rng):
    target = mt.tensor(rng.standard_normal(5), dtype="float64", device=device)
    p = mt.tensor(np.zeros(5), dtype="float64", device=device, requires_grad=True)
    storage, losses = p.data, []
    for _ in range(20):
        loss = ((p - target) * (p - target)).sum()
        loss.backward()
        with mt.no_grad():
            p -= 0.1 * p.grad
            p.grad.zero_()
        losses.append(loss.item())
    assert p.data is storage and p.is_leaf and p.requires_grad  # the same parameter, changed in place
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 1e-3 * losses[0]
    assert p._version == 20 and host(p.grad).tolist() == [0.0] * 5


@pytest.mark.parametrize("name, call, expected", [
    ("iadd", lambda x: x.__iadd__(2.0), lambda a: a + 2),
    ("isub", lambda x: x.__isub__(mt.tensor([1.0, 2.0, 3.0], dtype="float64", device=x.device)),
     lambda a: a - [1, 2, 3]),
    ("imul", lambda x: x.__imul__(3.0), lambda a: a * 3),
    ("itruediv", lambda x: x.__itruediv__(4.0), lambda a: a / 4),
    ("add_alpha", lambda x: x.add_(mt.ones(3, dtype="float64", device=x.device), alpha=-2), lambda a: a - 2),
    ("sub_", lambda x: x.sub_(1.5), lambda a: a - 1.5),
    ("mul_", lambda x: x.mul_(-1.0), lambda a: -a),
    ("div_", lambda x: x.div_(2.0), lambda a: a / 2),
    ("zero_", lambda x: x.zero_(), lambda a: 0 * a),
    ("fill_", lambda x: x.fill_(7.0), lambda a: 0 * a + 7),
    ("copy_", lambda x: x.copy_(mt.tensor([1.0, 2.0, 3.0], device=x.device)), lambda a: 0 * a + [1, 2, 3]),
    ("clamp_", lambda x: x.clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    ("setitem", lambda x: x.__setitem__((slice(None), 1), 9.0), lambda a: np.where(np.arange(3) == 1, 9.0, a)),
])
def test_inplace_ops_write_into_the_same_storage(device, rng, name, call, expected):
    a = rng.standard_normal((2, 3))
    x = mt.tensor(a, dtype="float64", device=device)
    storage, view = x.data, x[0]
    out = call(x)
    assert out is x or out is None
    assert x.data is storage and x._version == 1 and view._version == 1  # views share the counter
    np.testing.assert_allclose(host(x), expected(a), rtol=1e-15)
    np.testing.assert_allclose(host(view), expected(a)[0], rtol=1e-15)  # and the memory


def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.__isub__(1.0), lambda: w.add_(1.0), lambda: w.zero_(), lambda: w.fill_(1.0),
               lambda: w.__setitem__(0, 5.0), lambda: w.copy_(mt.tensor([0.0, 0.0]))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            op()
    assert w.tolist() == [1.0, 2.0] and w._version == 0
    with mt.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0] and w._version == 1


def _recorded_chain(x, w):
    y = x * 1.5        # a non-leaf: changes to it are recorded
    y += w
    y.mul_(w)
    y[0] = w[1] * 2.0  # setitem with a value that requires grad
    y.sub_(x, alpha=0.5)
    y /= 3.0
    y.clamp_(-0.8, 0.8)
    return y


def _out_of_place_chain(x, w):
    y = (x * 1.5 + w) * w
    y = mt.cat([(w[1] * 2.0).reshape(1), y[1:]])
    return ((y - 0.5 * x) / 3.0).clamp(-0.8, 0.8)


def test_inplace_on_a_graph_tensor_is_recorded_with_exact_gradients(device, rng):
    x, w = randt(rng, 4, device=device), randt(rng, 4, device=device)
    y = _recorded_chain(x, w)
    assert not y.is_leaf and y.grad_fn is not None and y._version == 6
    np.testing.assert_allclose(host(y), host(_out_of_place_chain(x, w)), rtol=1e-14)
    assert mt.gradcheck(_recorded_chain, [x, w], rtol=RTOL, atol=ATOL)


def test_inplace_with_a_value_that_requires_grad_puts_a_plain_tensor_in_the_graph(device, rng):
    w = randt(rng, 3, device=device)
    buf = mt.zeros(2, 3, dtype="float64", device=device)
    buf[1] = w
    assert buf.requires_grad and not buf.is_leaf
    assert mt.gradcheck(lambda w: _fill_row(w, device), [w], rtol=RTOL, atol=ATOL)
    c = mt.zeros(3, dtype="float64", device=device)
    c += w
    (c * c).sum().backward()
    np.testing.assert_allclose(host(w.grad), 2 * host(w) + 0, rtol=1e-14)


def _fill_row(w, device):
    buf = mt.ones(2, 3, dtype="float64", device=device)
    buf[1] = w * w
    buf[:, 0] = 3.0
    return buf


def test_a_saved_tensor_changed_in_place_makes_backward_raise_naming_the_op(device):
    x = mt.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = mt.tensor([3.0, 4.0], device=device)
    y = x * c                      # Mul saved c
    c.add_(1.0)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: the input 1 of MulBackward"):
        y.sum().backward()
    e = x.exp()                    # Exp saved its output
    with mt.no_grad():
        e[0] = 0.0
    with pytest.raises(RuntimeError, match=r"output 0 of ExpBackward.*version 1"):
        e.sum().backward()
    d = mt.tensor([3.0, 4.0], device=device)
    z = x * d
    d.detach()[1].zero_()          # through a view of a detached alias: the same storage
    with pytest.raises(RuntimeError, match="input 1 of MulBackward"):
        z.sum().backward()


def test_changes_nothing_saved_are_allowed(device):
    x = mt.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = mt.tensor([3.0, 4.0], device=device)
    y = (x + c).sum()              # Add saves nothing
    c.mul_(10.0)
    y.backward()
    assert host(x.grad).tolist() == [1.0, 1.0]
    z = x * c
    z.sum().backward()             # changed before the forward: fine
    assert host(x.grad).tolist() == [31.0, 41.0]


def test_inplace_on_a_view_of_a_graph_tensor_is_recorded_on_its_base():
    x = mt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 2
    y.reshape(4).add_(1.0)         # any view: recorded on y as as_strided_scatter (tests/test_view_rebase.py)
    y[0] *= 2.0                    # Python: v = y[0]; v *= 2; y[0] = v
    y[1].mul_(3.0)                 # recorded on y as y[1] = y[1] * 3 (PyTorch's CopySlices)
    y[:, 0].sub_(1.0)
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    assert y.tolist() == [[5.0, 10.0], [20.0, 27.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[4.0, 4.0], [6.0, 6.0]]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0].zero_()


def test_a_view_taken_before_a_recorded_change_of_its_base_is_rebased():
    x = mt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    row = y[0]
    y.mul_(2.0)
    assert row.tolist() == [2.0, 4.0]  # the memory is shared, as in PyTorch
    assert row.grad_fn.name() == "AsStridedBackward0"   # read from y's new history, as torch's
    row.sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0], [0.0, 0.0]]


def test_data_writes_bypass_the_version_counter():
    # as in PyTorch: .data is the raw array; writing to it is invisible to autograd
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    c = mt.tensor([3.0, 4.0])
    y = (x * c).sum()
    c.data[...] = 0.0
    assert c._version == 0
    y.backward()
    assert x.grad.tolist() == [0.0, 0.0]  # the silently wrong gradient the method forms prevent


def test_setitem_forms_and_errors(device):
    x = mt.zeros(3, 4, dtype="float64", device=device)
    x[x.data.shape[0] - 1] = mt.tensor([1.0, 2.0, 3.0, 4.0], dtype="float64", device=device)
    x[0, [1, 3]] = 5.0
    x[mt.tensor([[True, False, False, False]] * 3, device=device)] = -1.0  # a boolean mask
    np.testing.assert_array_equal(host(x), [[-1, 5, 0, 5], [-1, 0, 0, 0], [-1, 2, 3, 4]])
    with pytest.raises(ValueError, match=r"setitem: .*tensor shape \(3, 4\), value shape \(3,\)"):
        x[0] = mt.tensor([1.0, 2.0, 3.0], dtype="float64", device=device)
    i = mt.tensor([1, 2, 3], device=device)
    with pytest.raises(TypeError, match="result type float32 can't be cast to the desired output type int64"):
        i += 0.5
    with pytest.raises(RuntimeError, match=r"output with shape \(3,\) doesn't match the broadcast shape"):
        i += mt.tensor([[1], [2]], device=device)
    i[0] = 2.7  # setitem casts, as PyTorch
    assert host(i).tolist() == [2, 2, 3]


def test_clamp_and_fill_errors():
    x = mt.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one of 'min' or 'max'"):
        x.clamp_()
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        x.fill_(mt.tensor([1.0, 2.0]))
    x.fill_(mt.tensor(3.0))
    assert x.tolist() == [3.0, 3.0]


def test_inplace_matches_torch_including_its_errors():
    torch = pytest.importorskip("torch")
    a = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]])
    xm = mt.tensor(a, dtype="float64", requires_grad=True)
    xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    wm = mt.tensor(a[0], dtype="float64", requires_grad=True)
    wt = torch.tensor(a[0], dtype=torch.float64, requires_grad=True)
    outs = []
    for x, w in ((xm, wm), (xt, wt)):
        y = x * 2
        y += w
        y[1] = w * 3
        y.mul_(w).clamp_(-2, 2)
        (y * y).sum().backward()
        outs.append([np.asarray(t.detach().numpy() if hasattr(t, "detach") else t) for t in (y, x.grad, w.grad)])
    for m, t in zip(*outs):
        np.testing.assert_allclose(m, t, rtol=1e-14)


def test_ops_recorded_before_a_recorded_change_still_see_the_old_value(device):
    x = mt.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", device=device, requires_grad=True)
    y = x * 2
    z = y + 3          # recorded before y changes: its gradient flows to y's old value, not through mul_
    y.mul_(5)
    (z.sum() + y.sum()).backward()
    assert host(x.grad).tolist() == [[12.0, 12.0]] * 2
    a = mt.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = mt.tensor([1.0, 1.0], device=device)
    w = mt.tensor([5.0, 5.0], device=device, requires_grad=True)
    s = a + c          # c was a constant here...
    c += w             # ...and only later enters the graph
    s.sum().backward()
    assert host(a.grad).tolist() == [1.0, 1.0] and w.grad is None


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    from minitf import optim
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    x = mt.tensor([3.0, 4.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * x).sum().backward()
    y = (w * x).sum()           # Mul saved w
    opt.step()                  # w changes in place: w._version 0 -> 1
    assert w._version == 1
    with pytest.raises(RuntimeError, match="input 0 of MulBackward"):
        y.backward()
    adam = optim.Adam([w], lr=0.1)
    adam.step()
    assert w._version == 2


def test_building_a_tensor_row_by_row_from_its_own_rows(device, rng):
    # out[t] = f(out[t - 1]): each row is read through a view, then the next row is written;
    # the views stay valid (their rows are not the ones written), as in PyTorch
    w = randt(rng, 3, device=device)

    def unroll(w):
        out = mt.zeros(4, 3, dtype="float64", device=device)
        out[0] = w
        for t in range(1, 4):
            out[t] = (out[t - 1] + w).tanh()
        return out

    assert mt.gradcheck(unroll, [w], rtol=RTOL, atol=ATOL)
    ref = [host(w)]
    for _ in range(3):
        ref.append(np.tanh(ref[-1] + host(w)))
    np.testing.assert_allclose(host(unroll(w)), np.stack(ref), rtol=1e-14)


def test_a_saved_view_of_a_storage_written_later_raises_as_in_pytorch():
    torch = pytest.importorskip("torch")
    for lib, make in ((mt, lambda: mt.tensor([0.5, -1.0], dtype="float64", requires_grad=True)),
                      (torch, lambda: torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True))):
        w = make()
        out = lib.zeros(3, 2, dtype=lib.float64)
        out[0] = w
        out[1] = out[0] * w     # MulBackward saves the view out[0]: one version counter with out
        out[2] = out[1] * w     # ... which this write bumps
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_only_what_a_gradient_reads_is_checked_as_pytorch():
    torch = pytest.importorskip("torch")
    grads = []
    for lib, make in ((mt, lambda v: mt.tensor(v, dtype="float64", requires_grad=True)),
                      (torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))):
        x = make([1.0, 2.0])
        y = x * 2
        z = y * 3               # d/dy reads only the constant 3: y may change afterwards
        q = y / 4               # d/dy reads only 4
        y.mul_(5)
        (z.sum() + q.sum() + y.sum()).backward()
        grads.append(np.asarray(x.grad.tolist()))
        w = make([3.0, 4.0])
        c = lib.ones(2, dtype=lib.float64)
        p = c * w               # d/dw reads c: changing c is caught
        c.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            p.sum().backward()
    np.testing.assert_array_equal(grads[0], grads[1])
    assert grads[0].tolist() == [2 * 3 + 2 / 4 + 2 * 5] * 2


# --------------------------------------------------------------------------- random sequences against torch
_STEPS = [
    ("add_w", lambda y, w, lib: y.add_(w)),
    ("mul_w", lambda y, w, lib: y.mul_(w)),
    ("sub_alpha", lambda y, w, lib: y.sub_(w, alpha=0.5)),
    ("div_const", lambda y, w, lib: y.div_(2.0)),
    ("iadd_const", lambda y, w, lib: y.__iadd__(0.25)),
    ("set_row", lambda y, w, lib: y.__setitem__(0, w * 2)),
    ("set_col", lambda y, w, lib: y.__setitem__((slice(None), 1), 0.5)),
    ("row_mul_", lambda y, w, lib: y[1].mul_(w)),
    ("clamp_", lambda y, w, lib: y.clamp_(-1.5, 1.5)),
    ("set_fancy", lambda y, w, lib: y.__setitem__(([0, 1], [2, 0]), w[:2])),
    ("copy_", lambda y, w, lib: y.copy_(y.tanh() if lib is mt else y.tanh())),
]


@given(st.lists(st.sampled_from(range(len(_STEPS))), min_size=1, max_size=6))
def test_random_inplace_sequences_match_torch(steps):
    torch = pytest.importorskip("torch")
    a = np.array([[0.3, -0.7, 1.1], [0.9, 0.2, -0.4]])
    b = np.array([0.6, -1.3, 0.8])
    results = []
    for lib in (mt, torch):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(b, dtype=lib.float64, requires_grad=True)
        y = x * 1.5
        for k in steps:
            _STEPS[k][1](y, w, lib)
        (y * y).sum().backward()
        results.append([None if t is None else np.asarray(t.tolist()) for t in (y.detach(), x.grad, w.grad)])
    for m, t in zip(*results):
        assert (m is None) == (t is None)
        if m is not None:
            np.testing.assert_allclose(m, t, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- .grad's version, as PyTorch's
def _grad_version_story(p, nn_linear, x, opt, clip, grad_fn, anomaly):
    """The same steps on minitf and on torch; the versions of ``p.grad`` (and a few identities) after each."""
    seen = []
    (p * 2.0).sum().backward()                   # a new .grad
    g = p.grad
    seen.append(g._version)
    (p * 2.0 + p * p).sum().backward()           # accumulated in place: +1, for p's three uses together
    seen.append(g._version)
    grad_fn((p * p).sum(), p)                    # grad(): .grad untouched
    seen.append(g._version)
    with anomaly():                              # the hooked walk accumulates as the plain one
        (p * 3.0).sum().backward()
    seen.append(g._version)
    for max_norm in (0.1, 1e6, float("inf")):    # every call scales in place, by 1.0 too
        clip([p], max_norm)
        seen.append(g._version)
    opt.zero_grad(set_to_none=False)             # zeros in place, the same tensor
    seen.append((g._version, p.grad is g, float(abs(g).sum())))
    out = nn_linear(x)
    out.sum().backward()
    wg = nn_linear.weight.grad
    v = wg._version
    nn_linear.zero_grad(set_to_none=False)
    seen.append(wg._version - v)
    return seen


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")  # torch's own notice
def test_grad_versions_follow_pytorch(device):
    torch = pytest.importorskip("torch")
    from minitf import nn, optim
    p = mt.tensor([1.0, -2.0, 0.5], dtype="float64", device=device, requires_grad=True)
    lin = nn.Linear(2, 2).to(device)
    ours = _grad_version_story(p, lin, mt.ones(1, 2, device=device), optim.SGD([p], lr=0.1), optim.clip_grad_norm_,
                               lambda y, x: mt.grad(y, x), mt.detect_anomaly)
    pt = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    theirs = _grad_version_story(pt, torch.nn.Linear(2, 2), torch.ones(1, 2), torch.optim.SGD([pt], lr=0.1),
                                 torch.nn.utils.clip_grad_norm_, lambda y, x: torch.autograd.grad(y, x),
                                 torch.autograd.detect_anomaly)
    assert ours == theirs == [0, 1, 1, 2, 3, 4, 5, (6, True, 0.0), 1]


def test_accumulating_into_a_saved_grad_is_caught_by_a_later_backward(device):
    torch = pytest.importorskip("torch")
    for lib, make in ((mt, lambda a: mt.tensor(a, dtype="float64", device=device, requires_grad=True)),
                      (torch, lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True))):
        p, w = make([1.0, 2.0]), make([3.0, 4.0])
        (p * p).sum().backward()
        y = (w * p.grad).sum()                   # Mul saves p.grad for w's gradient
        (p * p).sum().backward()                 # ... which this changes in place
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's own notice
def test_retained_and_create_graph_grads_are_new_tensors_as_pytorch(device):
    torch = pytest.importorskip("torch")
    results = []
    for lib, make in ((mt, lambda a: mt.tensor(a, dtype="float64", device=device, requires_grad=True)),
                      (torch, lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True))):
        x = make([1.0, 2.0])
        y = x * 2.0
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        first = y.grad
        z.backward()
        q = make([1.0, 3.0])
        (q ** 3).sum().backward(create_graph=True)
        qg = q.grad
        (q ** 3).sum().backward(create_graph=True)   # out of place: a new .grad
        qg2 = q.grad
        lib.optim.SGD([q], lr=0.1).zero_grad(set_to_none=False)  # detached, then zeroed in place
        results.append((y.grad is first, first.tolist(), y.grad.tolist(), first._version,
                        q.grad is qg, qg2.grad_fn is None, q.grad.grad_fn is None,
                        q.grad.requires_grad, q.grad.tolist(), q.grad._version))
    assert results[0] == results[1]
    assert results[0][:3] == (False, [4.0, 8.0], [8.0, 16.0])


@pytest.mark.parametrize("name, make", [
    ("linear", lambda x, w: mt.nn.functional.linear(x, w)),
    ("gelu", lambda x, w: mt.nn.functional.gelu(x @ w)),
    ("gelu_tanh", lambda x, w: mt.nn.functional.gelu(x @ w, approximate="tanh")),
    ("silu", lambda x, w: mt.nn.functional.silu(x @ w)),
    ("layer_norm", lambda x, w: mt.nn.functional.layer_norm(x @ w, (3,))),
    ("log_softmax", lambda x, w: mt.nn.functional.log_softmax(x @ w, dim=-1)),
    ("embedding", lambda x, w: mt.nn.functional.embedding(mt.tensor([[0, 2, 1]], device=x.device), w)),
    ("prod", lambda x, w: (x @ w).prod(dim=0)),
    ("cumprod", lambda x, w: (x @ w).cumprod(dim=1)),
    ("var", lambda x, w: (x @ w).var(dim=1)),
    ("sdpa", lambda x, w: mt.nn.functional.scaled_dot_product_attention(x @ w, x @ w, x @ w, is_causal=True)),
])
def test_an_op_whose_backward_never_reads_its_output_allows_changing_the_output(device, rng, name, make):
    """Ops that declare ``saves_output = False`` (their backward reads only inputs or arrays
    they derived): an in-place change of the output after forward leaves the gradients of the
    unchanged program; an op that does read its output (Exp, above) still refuses."""
    x0, w0 = rng.standard_normal((2, 3)), rng.standard_normal((3, 3))
    cotangent = {}

    def grads(change):
        x = mt.tensor(x0, device=device, requires_grad=True)
        w = mt.tensor(w0, device=device, requires_grad=True)
        y = make(x, w)
        if change:
            y.mul_(1.0)        # a recorded change that bumps the version, values unchanged
        c = cotangent.setdefault("c", rng.standard_normal(y.shape))
        (y * mt.tensor(c, device=device)).sum().backward()
        return [host(t.grad) for t in (x, w) if t.grad is not None]

    for a, b in zip(grads(False), grads(True)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, call", [
    ("fill_", lambda p: p.fill_(2.0)), ("zero_", lambda p: p.zero_()),
    ("copy_", lambda p: p.copy_(mt.ones(3))), ("setitem", lambda p: p.__setitem__(0, 1.0)),
])
def test_an_inplace_error_names_the_method_the_user_called(name, call):
    """fill_, zero_ and copy_ write through setitem; their errors say which of them it was."""
    p = mt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=rf"^{name}: a leaf Variable that requires grad"):
        call(p)


def test_requires_grad_of_a_non_leaf_cannot_be_changed_as_in_torch():
    """``y.requires_grad = False`` on a computed tensor used to cut the graph silently (x.grad
    came out [2, 4], not [4, 8]); torch refuses it, and any assignment of the flag on a non-leaf."""
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    for flag in (False, True):
        with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
            y.requires_grad = flag
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    assert y.requires_grad_(True) is y and y.requires_grad   # a no-op, as torch's
    (y * x).sum().backward()
    assert host(x.grad).tolist() == [4.0, 8.0]
    with mt.no_grad():
        z = x * 2                  # a no-grad result is a leaf: its flag can be set
    z.requires_grad = True
    assert z.requires_grad and z.is_leaf
