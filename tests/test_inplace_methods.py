"""torch's in-place methods made from out-of-place ops (minitf/ops/inplace_methods.py) and the
index writes (minitf/ops/index_ops.py): values and gradients against torch, the version
counter, leaf refusals, and float64 gradchecks on every device."""
import numpy as np
import pytest

import minitf as mt

X = [[0.5, 1.5, 2.25], [0.75, 1.25, 3.0]]
IDX = [1, 1, 0]
CALLS = {  # name -> call on a tensor x of X's shape, on mt or torch
    "exp_": lambda m, x: x.exp_(),
    "log_": lambda m, x: x.log_(),
    "sqrt_": lambda m, x: x.sqrt_(),
    "abs_": lambda m, x: x.abs_(),
    "sigmoid_": lambda m, x: x.sigmoid_(),
    "tanh_": lambda m, x: x.tanh_(),
    "pow_": lambda m, x: x.pow_(3),
    "clip_": lambda m, x: x.clip_(0.8, 2.0),
    "floor_": lambda m, x: x.floor_(),
    "ceil_": lambda m, x: x.ceil_(),
    "round_": lambda m, x: x.round_(),
    "trunc_": lambda m, x: x.trunc_(),
    "sign_": lambda m, x: x.sign_(),
    "lerp_": lambda m, x: x.lerp_(m.ones(2, 3, dtype=x.dtype, device=x.device), 0.25),
    "addcmul_": lambda m, x: x.addcmul_(m.full((3,), 2.0, dtype=x.dtype, device=x.device), m.full((2, 3), 0.5, dtype=x.dtype, device=x.device), value=3),
    "addcdiv_": lambda m, x: x.addcdiv_(m.full((3,), 2.0, dtype=x.dtype, device=x.device), m.full((2, 3), 4.0, dtype=x.dtype, device=x.device), value=-1),
    "index_add_": lambda m, x: x.index_add_(1, m.tensor(IDX, device=x.device), m.ones(2, 3, dtype=x.dtype, device=x.device), alpha=2),
    "index_copy_": lambda m, x: x.index_copy_(0, m.tensor([1], device=x.device), m.full((1, 3), 7.0, dtype=x.dtype, device=x.device)),
    "index_fill_": lambda m, x: x.index_fill_(1, m.tensor([0, 2], device=x.device), -1.0),
    "scatter_": lambda m, x: x.scatter_(1, m.tensor([[2], [0]], device=x.device), m.full((2, 1), 9.0, dtype=x.dtype, device=x.device)),
    "scatter_ value": lambda m, x: x.scatter_(0, m.tensor([[1, 0, 1]], device=x.device), value=4.0),
    "scatter_add_": lambda m, x: x.scatter_add_(1, m.tensor([[0, 0], [2, 1]], device=x.device), m.ones(2, 2, dtype=x.dtype, device=x.device)),
    "unsqueeze_": lambda m, x: x.unsqueeze_(1),
    "squeeze_": lambda m, x: x.reshape(1, 2, 3).squeeze_(0),
    "t_": lambda m, x: x.t_(),
    "transpose_": lambda m, x: x.transpose_(0, 1),
}
PIECEWISE = {"floor_", "ceil_", "round_", "trunc_", "sign_"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_values_and_gradients_as_torch(name, device):
    torch = pytest.importorskip("torch")
    a = mt.tensor(X, device=device, requires_grad=True)
    at = torch.tensor(X, requires_grad=True)
    y, yt = a * 1.0, at * 1.0  # non-leaves: in place is recorded
    out, outt = CALLS[name](mt, y), CALLS[name](torch, yt)
    assert out is y or name == "squeeze_"
    assert out.shape == tuple(outt.shape) and out.dtype == mt.float32
    np.testing.assert_allclose(out.detach().cpu().numpy(), outt.detach().numpy(), rtol=1e-6)
    w = np.arange(out.numel(), dtype=np.float32).reshape(out.shape)
    (out * mt.tensor(w, device=device)).sum().backward()
    (outt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), at.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_outside_the_graph_the_tensor_itself_changes(name, device):
    x = mt.tensor(X, device=device)
    expected = CALLS[name](mt, x.clone().requires_grad_() * 1.0).detach()
    x2 = x if name != "squeeze_" else x.reshape(1, 2, 3)
    data = x2.data
    v = x2._version
    out = CALLS[name](mt, x) if name != "squeeze_" else x2.squeeze_(0)
    assert out is x2 and out._version == v + 1
    np.testing.assert_allclose(out.cpu().numpy(), expected.cpu().numpy(), rtol=1e-6)
    if name in ("unsqueeze_", "squeeze_", "t_", "transpose_"):  # a view of the same memory, as torch
        assert np.shares_memory(mt.backend.to_numpy(out.data), mt.backend.to_numpy(data)) or device != "cpu"


@pytest.mark.parametrize("name", sorted(set(CALLS) - PIECEWISE - {"squeeze_"}))
def test_gradcheck(name, device):
    rng = np.random.default_rng(0)
    x = mt.tensor(np.abs(rng.standard_normal((2, 3))) + 0.5, dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda t: CALLS[name](mt, t * 1.0), [x])


def test_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    p = mt.nn.Parameter(mt.ones(3))
    for call in (lambda: p.exp_(), lambda: p.lerp_(mt.zeros(3), 0.5), lambda: p.unsqueeze_(0),
                 lambda: p.index_add_(0, mt.tensor([0]), mt.ones(1))):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            call()
    with mt.no_grad():
        p.unsqueeze_(0)
    assert p.shape == (1, 3)


def test_ema_idiom():
    p, ema = mt.nn.Parameter(mt.tensor([1.0, 3.0])), mt.tensor([0.0, 0.0])
    with mt.no_grad():
        ema.lerp_(p, 1 - 0.9)
    np.testing.assert_allclose(ema.numpy(), [0.1, 0.3], rtol=1e-6)


def test_an_op_that_saved_the_old_value_raises_at_backward():
    a = mt.tensor(X, requires_grad=True)
    y = a * 1.0
    z = y * y  # saves y
    y.exp_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    a2 = mt.tensor(X, requires_grad=True)
    y2 = a2 * 2.0
    z2 = y2.exp()  # saves its output only: the change of y2 does not matter, as torch
    y2.t_()
    z2.sum().backward()
    np.testing.assert_allclose(a2.grad.numpy(), 2 * np.exp(2 * np.array(X)), rtol=1e-5)


def test_result_type_must_cast():
    with pytest.raises(TypeError, match="can't be cast to the desired output type int64"):
        mt.tensor([1, 2]).exp_()


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_as_torch(reduce, include_self, device):
    torch = pytest.importorskip("torch")
    idx, src = [[0, 0, 2], [1, 1, 1]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    a = mt.tensor(X, device=device, requires_grad=True)
    s = mt.tensor(src, device=device, requires_grad=True)
    at, st = torch.tensor(X, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = a.scatter_reduce(1, mt.tensor(idx, device=device), s, reduce, include_self=include_self)
    outt = at.scatter_reduce(1, torch.tensor(idx), st, reduce, include_self=include_self)
    np.testing.assert_allclose(out.detach().cpu().numpy(), outt.detach().numpy(), rtol=1e-6)
    w = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    (out * mt.tensor(w, device=device)).sum().backward()
    (outt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), at.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.grad.cpu().numpy(), st.grad.numpy(), rtol=1e-6)
    x64, s64 = (mt.tensor(v, dtype="float64", device=device, requires_grad=True) for v in (X, src))
    assert mt.gradcheck(lambda x, y: mt.scatter_reduce(x, 1, mt.tensor(idx, device=device), y, reduce,
                                                       include_self=include_self), [x64, s64])


def test_scatter_reduce_integer_mean_rounds_down_and_unknown_names_refuse():
    out = mt.tensor([1, 2]).scatter_reduce(0, mt.tensor([0, 0]), mt.tensor([2, 2]), "mean")
    assert out.tolist() == [1, 2]
    # "prod" is implemented now (tests/test_ops_scatter_prod.py); an unknown name still refuses
    assert mt.tensor([2, 3]).scatter_reduce(0, mt.tensor([0, 0]), mt.tensor([5, 7]), "prod").tolist() == [70, 3]
    with pytest.raises(RuntimeError, match="must be one of"):
        mt.ones(2).scatter_reduce(0, mt.tensor([0]), mt.ones(1), "max")


def test_index_ops_out_of_place_and_their_errors():
    x = mt.zeros(2, 3)
    assert mt.index_add(x, 1, mt.tensor([0, 0]), mt.ones(2, 2)).tolist() == [[2, 0, 0], [2, 0, 0]]
    assert x.tolist() == [[0] * 3] * 2
    assert x.index_fill(0, mt.tensor(1), 5.0).tolist() == [[0, 0, 0], [5, 5, 5]]
    with pytest.raises(RuntimeError, match="source of shape"):
        x.index_copy(0, mt.tensor([0]), mt.ones(2, 3))
    with pytest.raises(IndexError, match="out of range"):
        x.index_add(1, mt.tensor([3]), mt.ones(2, 1))


@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_extremes_share_the_gradient_among_ties_as_torch(reduce, include_self, device):
    torch = pytest.importorskip("torch")
    x, src, idx, g = [1.0, 5.0, 0.0], [5.0, 2.0, 5.0, -1.0], [1, 1, 1, 0], [1.0, 2.0, 3.0]
    a, s = mt.tensor(x, device=device, requires_grad=True), mt.tensor(src, device=device, requires_grad=True)
    at, st = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = a.scatter_reduce(0, mt.tensor(idx, device=device), s, reduce, include_self=include_self)
    outt = at.scatter_reduce(0, torch.tensor(idx), st, reduce, include_self=include_self)
    out.backward(mt.tensor(g, device=device))
    outt.backward(torch.tensor(g))
    assert out.tolist() == outt.tolist()
    np.testing.assert_allclose(a.grad.cpu().numpy(), at.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.grad.cpu().numpy(), st.grad.numpy(), rtol=1e-6)
    ints = mt.tensor([1, 5, 0]).scatter_reduce(0, mt.tensor(idx), mt.tensor([5, 2, 7, -1]), reduce, include_self=include_self)
    assert ints.tolist() == torch.tensor([1, 5, 0]).scatter_reduce(0, torch.tensor(idx), torch.tensor([5, 2, 7, -1]), reduce,
                                                                   include_self=include_self).tolist()


def test_tensor_relu_method_in_place_as_torch():
    x = mt.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    y = x * 2
    assert y.relu_() is y and y.tolist() == [0.0, 4.0, 0.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0]
