"""Edge cases a fuzz against torch 2.13 found: any/all over dim=(), iterating a 0-d tensor,
softmax / log_softmax / gather on 0-d inputs, where() of two numbers. Written values first
(CI without torch checks them), then torch's where it is installed."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy


@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_any_all_over_no_dims_reduce_nothing(device, name, keepdim):
    x = mt.tensor([[1, 0], [0, 0]], device=device)
    for out in (getattr(mt, name)(x, dim=(), keepdim=keepdim), getattr(x, name)(dim=[], keepdim=keepdim)):
        assert out.dtype == mt.bool and to_numpy(out.data).tolist() == [[True, False], [False, False]]
    assert getattr(mt, name)(x).item() is (name == "any")   # dim=None still reduces everything
    assert x.sum(dim=()).item() == 1                       # sum's dim=() is every dim, as torch
    torch = pytest.importorskip("torch")
    t = torch.tensor([[1, 0], [0, 0]])
    assert getattr(t, name)(dim=(), keepdim=keepdim).tolist() == [[True, False], [False, False]]


def test_iterating_a_0d_tensor_raises_as_torch():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(mt.tensor(1.0))
    rows = list(mt.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.numpy().tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    x = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    sum(v * v for v in x).backward()   # the elements stay in the graph
    assert x.grad.numpy().tolist() == [2.0, 4.0]


@pytest.mark.parametrize("name, value", [("softmax", 1.0), ("log_softmax", 0.0)])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_a_0d_tensor(device, name, value, dim):
    x = mt.tensor(2.5, dtype="float64", device=device, requires_grad=True)
    y = getattr(F, name)(x, dim=dim)
    assert y.shape == () and y.item() == value
    y.backward()
    assert x.grad.item() == 0.0   # constant in x
    assert mt.gradcheck(lambda x: getattr(F, name)(x, dim=dim) * x, [x])
    with pytest.raises(ValueError, match="out of range"):
        getattr(F, name)(x, dim=1)
    torch = pytest.importorskip("torch")
    assert getattr(torch, name)(torch.tensor(2.5, dtype=torch.float64), dim=dim).item() == value


def test_gather_of_a_0d_tensor(device):
    x = mt.tensor(2.5, dtype="float64", device=device, requires_grad=True)
    y = mt.gather(x, 0, mt.tensor(0, device=device))
    assert y.shape == () and y.item() == 2.5
    y.backward()
    assert x.grad.item() == 1.0
    assert mt.gradcheck(lambda x: mt.gather(x, -1, mt.tensor(0, device=device)) * x, [x])
    torch = pytest.importorskip("torch")
    assert torch.gather(torch.tensor(2.5), 0, torch.tensor(0)).item() == 2.5


@pytest.mark.parametrize("a, b, dtype", [(1.0, 0.0, "float32"), (1, 0, "int64"), (1, 0.5, "float32"), (True, False, "bool")])
def test_where_of_two_numbers(device, a, b, dtype):
    cond = mt.tensor([True, False, True], device=device)
    out = mt.where(cond, a, b)
    assert out.dtype == np.dtype(dtype) and out.device == cond.device
    assert to_numpy(out.data).tolist() == [a, b, a]
    with pytest.raises(TypeError, match="the condition or one of a and b must be a tensor"):
        mt.where(True, a, b)
    torch = pytest.importorskip("torch")
    t = torch.where(torch.tensor([True, False, True]), a, b)
    assert str(t.dtype) == f"torch.{dtype}" and t.tolist() == [a, b, a]


def test_integer_tensor_to_negative_integer_tensor_powers(device):
    # torch truncates toward 0: 1 for base 1, +-1 for base -1 by parity, 0 otherwise (0 ** -1 too);
    # NumPy refuses, which surfaced as a misleading "cannot be broadcast" error
    a = mt.tensor([0, 1, -1, -1, 2, -2, 3, 5], device=device)
    b = mt.tensor([-1, -3, -3, -2, -1, -1, 0, 2], device=device)
    expected = [0, 1, -1, 1, 0, 0, 1, 25]
    out = a ** b
    assert out.dtype == mt.int64 and to_numpy(out.data).tolist() == expected
    assert to_numpy(mt.pow(2, mt.tensor([-1, 2], device=device)).data).tolist() == [0, 4]
    u = mt.tensor(np.array([2, 3], np.uint8), device=device) ** mt.tensor([-1, 2], device=device)
    assert to_numpy(u.data).tolist() == [0, 9]
    with pytest.raises(ValueError, match=r"pow: shapes \(2,\) and \(3,\) cannot be broadcast"):
        mt.tensor([1, 2], device=device) ** mt.tensor([-1, 2, 3], device=device)
    torch = pytest.importorskip("torch")
    assert (torch.tensor([0, 1, -1, -1, 2, -2, 3, 5]) ** torch.tensor([-1, -3, -3, -2, -1, -1, 0, 2])).tolist() == expected


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_with_another_dim_of_size_zero_is_empty(device, name):
    for shape, dim, keepdim, out_shape in [((0, 3), 1, False, (0,)), ((3, 0, 2), 2, False, (3, 0)),
                                           ((0, 3), 1, True, (0, 1)), ((0, 3), -1, False, (0,))]:
        out = getattr(mt.zeros(*shape, device=device), name)(dim=dim, keepdim=keepdim)
        assert out.shape == out_shape and out.dtype == mt.int64
    with pytest.raises(ValueError, match=rf"{name}: dim 1 of shape \(3, 0\) is empty"):
        getattr(mt.zeros(3, 0, device=device), name)(dim=1)
    with pytest.raises(ValueError, match=rf"{name}: the tensor is empty; name a dim"):
        getattr(mt.zeros(0, 3, device=device), name)()
    torch = pytest.importorskip("torch")
    assert tuple(getattr(torch.zeros(3, 0, 2), name)(dim=2).shape) == (3, 0)


IN_PLACE_WRITES = {
    "add_": lambda x: x.add_(1.0), "+=": lambda x: x.__iadd__(1.0), "mul_": lambda x: x.mul_(2.0),
    "setitem": lambda x: x.__setitem__(0, 1.0), "fill_": lambda x: x.fill_(2.0), "zero_": lambda x: x.zero_(),
    "copy_": lambda x: x.copy_(mt.ones(2, 3, device=x.device)), "clamp_": lambda x: x.clamp_(0.0, 1.0),
    "masked_fill_": lambda x: x.masked_fill_(mt.ones(2, 3, device=x.device) > 0, 1.0),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE_WRITES))
def test_writing_into_an_expanded_view_names_the_cause(device, name):
    base = mt.zeros(1, 3, device=device)
    x = base.expand(2, 3)
    with pytest.raises(RuntimeError, match="expanded view .* more than one of its elements refers to a single "
                                           "memory location.*clone\\(\\) it first"):
        IN_PLACE_WRITES[name](x)
    assert to_numpy(base.data).tolist() == [[0.0, 0.0, 0.0]]
    y = x.clone()
    IN_PLACE_WRITES[name](y)   # a clone is writable
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single"):
        torch.zeros(1, 3).expand(2, 3).add_(1.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_probability_targets_give_the_weight_a_gradient(device, reduction, eps):
    rng = np.random.default_rng(0)
    x_np, p_np = rng.standard_normal((3, 4)), rng.random((3, 4))
    p_np /= p_np.sum(1, keepdims=True)
    w_np = np.array([0.5, 1.0, 2.0, 1.5])
    x, p, w = (mt.tensor(a, dtype="float64", device=device, requires_grad=True) for a in (x_np, p_np, w_np))
    loss = F.cross_entropy(x, p, weight=w, reduction=reduction, label_smoothing=eps)
    loss.sum().backward()
    # written out: per row -sum_c w_c q_c log_softmax(x)_c, q = (1 - eps) p + eps / C; mean over rows
    logp = x_np - np.log(np.exp(x_np).sum(1, keepdims=True))
    q = (1 - eps) * p_np + eps / 4
    per_row = -(w_np * q * logp).sum(1)
    expected = {"none": per_row, "sum": per_row.sum(), "mean": per_row.mean()}[reduction]
    np.testing.assert_allclose(to_numpy(loss.data), expected, rtol=1e-12)
    scale = 1 / 3 if reduction == "mean" else 1.0
    np.testing.assert_allclose(to_numpy(w.grad.data), -(q * logp).sum(0) * scale, rtol=1e-12)
    assert mt.gradcheck(lambda x, p, w: F.cross_entropy(x, p, weight=w, reduction=reduction, label_smoothing=eps),
                        [x, p, w])
    torch = pytest.importorskip("torch")
    xt, pt, wt = (torch.tensor(a, requires_grad=True) for a in (x_np, p_np, w_np))
    torch.nn.functional.cross_entropy(xt, pt, weight=wt, reduction=reduction, label_smoothing=eps).sum().backward()
    np.testing.assert_allclose(to_numpy(w.grad.data), wt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(x.grad.data), xt.grad.numpy(), rtol=1e-12)


def test_cross_entropy_class_targets_refuse_a_weight_that_requires_grad(device):
    x = mt.tensor(np.zeros((2, 3)), dtype="float64", device=device, requires_grad=True)
    w = mt.tensor([1.0, 2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="with class-index targets the loss is not differentiable in the weight"):
        F.cross_entropy(x, mt.tensor([0, 2], device=device), weight=w)
    F.cross_entropy(x, mt.tensor([0, 2], device=device), weight=w.detach()).backward()   # detached: fine
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        torch.nn.functional.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 2]),
                                          weight=torch.tensor([1.0, 2.0, 3.0], requires_grad=True))


@pytest.mark.parametrize("create_graph", [False, True])
def test_abs_and_elu_gradients_at_nan_as_torch(device, create_graph):
    # torch: abs' = sgn(x), 0 at NaN; elu's backward takes the x > 0 branch (1) at NaN
    x = mt.tensor([np.nan, -2.0, 0.0, 3.0], dtype="float64", device=device, requires_grad=True)
    g = mt.tensor([5.0, 5.0, 5.0, 5.0], dtype="float64", device=device)
    ga, = mt.grad(mt.abs(x), x, g, create_graph=create_graph)
    np.testing.assert_array_equal(to_numpy(ga.data), [0.0, -5.0, 0.0, 5.0])
    ge, = mt.grad(F.elu(x), x, g, create_graph=create_graph)
    np.testing.assert_allclose(to_numpy(ge.data), [5.0, 5.0 * np.exp(-2.0), 5.0, 5.0], rtol=1e-15)
    torch = pytest.importorskip("torch")
    t = torch.tensor([np.nan, -2.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    gt = torch.full((4,), 5.0, dtype=torch.float64)
    np.testing.assert_array_equal(to_numpy(ga.data), torch.autograd.grad(t.abs(), t, gt)[0].numpy())
    np.testing.assert_allclose(to_numpy(ge.data), torch.autograd.grad(torch.nn.functional.elu(t), t, gt)[0].numpy(),
                               rtol=1e-15)


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_relu_and_abs_refuse_bool_as_torch(device, name):
    with pytest.raises(TypeError, match=f"{name}: not defined for bool tensors"):
        getattr(mt, name)(mt.tensor([True, False], device=device))
    assert to_numpy(getattr(mt, name)(mt.tensor([-2, 3], device=device)).data).tolist() == \
        ([0, 3] if name == "relu" else [2, 3])
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(torch, name)(torch.tensor([True, False]))
