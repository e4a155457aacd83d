"""The Tensor's PyTorch-named surface: .grad as a Tensor, size()/numel()/dim(), dtypes, creation."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import backend

from .conftest import ATOL, RTOL, away_from_zero, randt


def test_grad_is_a_tensor_like_its_leaf(device):
    w = mt.tensor([[1.0, -2.0], [0.5, 3.0]], dtype="float64", device=device, requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    assert isinstance(g, mt.Tensor) and not g.requires_grad and g.is_leaf
    assert g.shape == w.shape and g.dtype == w.dtype and g.device == w.device
    np.testing.assert_array_equal(backend.to_numpy(g.data), 2 * backend.to_numpy(w.data))
    (w * w).sum().backward()  # accumulates into the same Tensor
    assert w.grad is g
    np.testing.assert_array_equal(backend.to_numpy(g.data), 4 * backend.to_numpy(w.data))


def test_grad_assignment_follows_pytorch():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    w.grad = mt.tensor([0.5, 0.5])
    assert w.grad.tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="Tensor or None but got grad of type ndarray"):
        w.grad = np.zeros(2, dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*shape \(2,\)"):
        w.grad = mt.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="dtype float64"):
        w.grad = mt.tensor([1.0, 2.0], dtype="float64")
    w.grad = None
    assert w.grad is None


def test_cpu_tensor_converts_to_numpy_implicitly_and_device_one_refuses():
    assert np.allclose(mt.tensor([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(TypeError):
        np.asarray(mt.tensor([1.0], device="fake"))


# --------------------------------------------------------------------------- attributes
def test_size_numel_dim_grad_fn(device):
    x = mt.zeros(2, 3, 4, device=device, requires_grad=True)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert x.numel() == 24 and mt.numel(x) == 24 and x.dim() == 3 and x.ndim == 3
    with pytest.raises(ValueError, match=r"size: dim 3 is out of range \[-3, 2\]"):
        x.size(3)
    assert x.grad_fn is None
    y = x * 2
    assert y.grad_fn is y._fn and repr(y.grad_fn).startswith("<MulBackward0 object at 0x") and y.grad_fn.name() == "MulBackward0"
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert mt.tensor(3.0).size() == () and mt.tensor(3.0).numel() == 1


def test_dtype_objects_are_accepted_wherever_a_dtype_is(device):
    x = mt.tensor([1.5, 2.5], device=device)
    assert x.dtype == mt.float32 and mt.float == mt.float32 and mt.double == mt.float64
    assert x.to(mt.float64).dtype == mt.float64
    assert x.to(device, mt.float64).dtype == mt.float64 and x.to(device, mt.float64).device == device
    assert x.to(dtype=mt.int64).tolist() == [1, 2]
    assert x.to(mt.tensor([1], dtype=mt.int32)).dtype == mt.int32  # to(other): its dtype and device
    for dt in (mt.float16, mt.float32, mt.float64, mt.int32, mt.int64, mt.bool, mt.uint8):
        assert mt.zeros(2, dtype=dt, device=device).dtype == dt
        assert mt.tensor([1, 0], dtype=dt).dtype == dt
    assert mt.ones(2, dtype=mt.bool).tolist() == [True, True] and mt.long == mt.int64


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.array([1.0, 2.0])
    t = mt.from_numpy(a)
    a[0] = 5.0
    assert t.dtype == mt.float64 and t.tolist() == [5.0, 2.0]
    t.add_(1.0)
    assert a.tolist() == [6.0, 3.0]
    c = mt.tensor(a, dtype="float64")
    a[1] = 0.0
    assert c.tolist() == [6.0, 3.0]
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        mt.from_numpy([1.0])


def test_clone_and_contiguous(device, rng):
    x = randt(rng, 3, 4, device=device)
    c = x.clone()
    assert c.data is not x.data and c.grad_fn is not None
    assert mt.gradcheck(lambda x: x.clone() * x, [x])
    assert x.contiguous() is x
    tx = x.T
    assert tx.contiguous().data.flags.c_contiguous and mt.gradcheck(lambda x: x.T.contiguous() * 2, [x])


# --------------------------------------------------------------------------- new differentiable ops
def _ops_table():
    return {
        "abs": (lambda x: x.abs(), np.abs),
        "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7)),
        "clamp_min": (lambda x: mt.clamp(x, min=0.2), lambda a: np.maximum(a, 0.2)),
        "clamp_max": (lambda x: x.clamp(max=0.1), lambda a: np.minimum(a, 0.1)),
        "max_dim": (lambda x: x.max(1).values, lambda a: a.max(1)),
        "min_dim_keep": (lambda x: x.min(dim=0, keepdim=True)[0], lambda a: a.min(0, keepdims=True)),
        "amax": (lambda x: x.amax((0, 1)), lambda a: a.max((0, 1))),
        "amin": (lambda x: mt.amin(x, -1, keepdim=True), lambda a: a.min(-1, keepdims=True)),
        "std": (lambda x: x.std(1), lambda a: a.std(1, ddof=1)),
        "std_biased": (lambda x: x.std(unbiased=False), lambda a: a.std()),
        "norm": (lambda x: x.norm(), lambda a: np.sqrt((a * a).sum())),
        "norm_dim": (lambda x: x.norm(dim=1, keepdim=True), lambda a: np.linalg.norm(a, axis=1, keepdims=True)),
        "norm_1": (lambda x: mt.norm(x, 1, dim=0), lambda a: np.abs(a).sum(0)),
        "norm_3": (lambda x: x.norm(3), lambda a: (np.abs(a) ** 3).sum() ** (1 / 3)),
        "norm_inf": (lambda x: x.norm(float("inf"), dim=1), lambda a: np.abs(a).max(1)),
        "unsqueeze": (lambda x: x.unsqueeze(-1) * 2, lambda a: a[..., None] * 2),
        "squeeze": (lambda x: x.unsqueeze(0).squeeze() * 2, lambda a: a * 2),
        "flatten": (lambda x: x.unsqueeze(1).flatten(1) * 2, lambda a: a * 2),
        "expand": (lambda x: x[:, :1].expand(-1, 5) * x[:, :5], lambda a: a[:, :1] * a[:, :5]),
        "expand_new_dims": (lambda x: x.expand(2, 3, 6) * 1.0, lambda a: np.broadcast_to(a, (2, 3, 6))),
        "repeat": (lambda x: x.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3))),
        "chunk": (lambda x: x.chunk(4, dim=1)[1] * 3, lambda a: a[:, 2:4] * 3),
        "t": (lambda x: x.t() * 2, lambda a: a.T * 2),
        "mT": (lambda x: x.mT * 2, lambda a: a.T * 2),
        "pow_tensor": (lambda x: x.abs() ** (x * 0.5), lambda a: np.abs(a) ** (a * 0.5)),
        "rpow": (lambda x: 2 ** x, lambda a: 2.0 ** a),
        "pow_method": (lambda x: x.pow(3), lambda a: a ** 3),
        "tril": (lambda x: x.tril(1) * 2, lambda a: np.tril(a, 1) * 2),
        "triu": (lambda x: mt.triu(x, -1), lambda a: np.triu(a, -1)),
        "where": (lambda x: x.where(x > 0, x * 3), lambda a: np.where(a > 0, a, 3 * a)),
        "matmul": (lambda x: x.matmul(x.T), lambda a: a @ a.T),
    }


@pytest.mark.parametrize("name", sorted(_ops_table()))
def test_new_ops_forward_and_gradcheck(device, rng, name):
    op, ref = _ops_table()[name]
    a = away_from_zero(rng.standard_normal((3, 6)), 0.15)  # away from the kinks of abs, clamp and norms
    x = mt.tensor(a, dtype="float64", device=device, requires_grad=True)
    out = op(x)
    assert out.device == device
    np.testing.assert_allclose(backend.to_numpy(out.data), ref(a), rtol=1e-12, atol=1e-14)
    assert mt.gradcheck(op, [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(_ops_table()))
def test_new_ops_match_torch_values_and_gradients(rng, name):
    torch = pytest.importorskip("torch")
    op, _ = _ops_table()[name]
    a = away_from_zero(rng.standard_normal((3, 6)), 0.15)
    x = mt.tensor(a, dtype="float64", requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    tops = {"rpow": lambda x: 2 ** x, "where": lambda x: x.where(x > 0, x * 3),
            "pow_tensor": lambda x: x.abs() ** (x * 0.5), "mT": lambda x: x.mT * 2,
            "amin": lambda x: torch.amin(x, -1, keepdim=True), "clamp_min": lambda x: torch.clamp(x, min=0.2),
            "norm_1": lambda x: torch.norm(x, 1, dim=0), "triu": lambda x: torch.triu(x, -1)}
    out, outt = op(x), tops.get(name, op)(xt)
    u = rng.standard_normal(out.shape)
    out.backward(u)
    outt.backward(torch.tensor(u))
    np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_tensor_exponent_gradient_reaches_both_operands(device, rng):
    x = mt.tensor(rng.uniform(0.5, 2.0, (2, 3)), dtype="float64", device=device, requires_grad=True)
    y = randt(rng, 2, 3, device=device)
    assert mt.gradcheck(lambda x, y: x ** y, [x, y], rtol=RTOL, atol=ATOL)
    assert mt.gradcheck(lambda y: mt.pow(3.0, y), [y], rtol=RTOL, atol=ATOL)


def test_gradients_at_the_kinks_follow_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    cases = [(lambda x: x.clamp(0.0, 1.0), lambda x: x.clamp(0.0, 1.0)),   # bounds pass the gradient
             (lambda x: x.abs(), lambda x: x.abs()),                         # 0 at 0
             (lambda x: (x * 0).norm(), lambda x: (x * 0).norm()),           # 2-norm at 0: 0, not NaN
             (lambda x: (x * 0) ** x, lambda x: (x * 0) ** x),               # 0 ** y: d/dy is 0 for y >= 0
             (lambda x: x.max(0).values, lambda x: x.max(0).values)]
    for op, top in cases:
        x = mt.tensor(a, dtype="float64", requires_grad=True)
        xt = torch.tensor(a, requires_grad=True)
        with warnings.catch_warnings():   # 0 ** -1 = inf on purpose, even under -W error::RuntimeWarning
            warnings.simplefilter("ignore", RuntimeWarning)
            y = op(x)
        # backward never warns, even under an "error" filter: its infs and NaNs (inf * 0) are PyTorch's values
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y.sum().backward()
        top(xt).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    x = mt.tensor([3.0, 1.0, 3.0], dtype="float64", requires_grad=True)
    v, i = x.max(0)                 # max(dim): the first maximal index takes the whole gradient
    v.backward()
    assert i.item() == 0 and x.grad.tolist() == [1.0, 0.0, 0.0]
    x.grad = None
    x.max().backward()              # max() over everything: ties share, as PyTorch
    assert x.grad.tolist() == [0.5, 0.0, 0.5]


@pytest.mark.parametrize("walk", ["backward", "grad"])
def test_backward_is_quiet_unless_numpy_was_asked_to_raise(device, walk):
    """d log(x) / dx = 1/x is inf at 0, as PyTorch computes it: no warning by default, in the plain
    walk and the general one (mt.grad), but a user's np.errstate(divide="raise") still applies."""
    def run():
        x = mt.tensor([0.0, 2.0], dtype="float64", device=device, requires_grad=True)
        with np.errstate(divide="ignore"):  # the forward's log(0) = -inf is not under test
            y = mt.log(x).sum()
        if walk == "grad":
            return mt.grad(y, x)[0].numpy()
        y.backward()
        return x.grad.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run().tolist() == [np.inf, 0.5]
    if device == "cpu":  # CuPy never signals: only NumPy's arrays are asked
        with np.errstate(divide="raise"), pytest.raises(FloatingPointError, match="divide by zero"):
            run()


def test_max_min_argmax_forms(device):
    x = mt.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], device=device)
    r = x.max(dim=1)
    assert type(r).__name__ == "max" and r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    v, i = mt.min(x, 0, keepdim=True)
    assert v.shape == (1, 3) and i.tolist() == [[0, 1, 0]] and i.dtype == mt.int64
    assert x.max().item() == 7.0 and mt.max(x).item() == 7.0 and x.min().item() == 0.0
    assert x.argmax().item() == 3 and x.argmin(dim=1).tolist() == [0, 1]
    assert x.argmax(1, keepdim=True).shape == (2, 1) and mt.argmax(x, dim=0).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="argmax: dim 2 is out of range"):
        x.argmax(2)


def test_shape_helpers_and_their_errors():
    x = mt.zeros(2, 1, 3)
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3) and x.squeeze(0).shape == (2, 1, 3)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3) and x.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert x.flatten().shape == (6,) and mt.flatten(x, 0, 1).shape == (2, 3) and mt.tensor(1.0).flatten().shape == (1,)
    assert x.expand(4, 2, 5, 3).shape == (4, 2, 5, 3) and x.repeat(2, 2, 1).shape == (4, 2, 3)
    assert [c.shape for c in mt.arange(10).chunk(3)] == [(4,), (4,), (2,)]
    assert [c.shape for c in mt.chunk(mt.arange(5), 4)] == [(2,), (2,), (1,)]  # fewer pieces, as PyTorch
    with pytest.raises(ValueError, match=r"expand: the size of dim 0 \(2\) must match 3"):
        x.expand(3, 1, 3)
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dims"):
        x.t()
    with pytest.raises(ValueError, match="unsqueeze: dim 4 is out of range"):
        x.unsqueeze(4)
    with pytest.raises(ValueError, match="repeat: 2 repeats given for a tensor of 3 dims"):
        x.repeat(2, 2)


# --------------------------------------------------------------------------- bugs 3, 4, 6
def test_reductions_of_a_0d_tensor_over_dim_0_and_minus_1_as_pytorch():
    torch = pytest.importorskip("torch")
    for dim in (0, -1):
        x = mt.tensor(1.7, dtype="float64", requires_grad=True)
        xt = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
        for name, op in [("sum", lambda t: t.sum(dim)), ("mean", lambda t: t.mean(dim)),
                         ("max", lambda t: t.max(dim).values), ("amax", lambda t: t.amax(dim)),
                         ("min", lambda t: t.min(dim)[0]), ("sum_keep", lambda t: t.sum(dim, keepdim=True)),
                         ("var0", lambda t: t.var(dim, correction=0)), ("std0", lambda t: t.std(dim, correction=0)),
                         ("norm", lambda t: t.norm(dim=dim)), ("F.sum", lambda t: t.sum(dim=dim))]:
            out, outt = op(x), op(xt)
            assert out.shape == tuple(outt.shape), name
            np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-15, err_msg=name)
        assert x.argmax(dim).item() == 0 and x.max(dim).indices.item() == 0
        assert mt.gradcheck(lambda t: t.sum(dim) * t.max(dim).values, x)
    with pytest.raises(ValueError, match="sum: axis 1 is out of range"):
        mt.tensor(1.0).sum(1)


INDEXES = [
    (1, slice(None), [0, 1]), ([0, 1], slice(None), 1), (slice(None), 1, [0, 1]), ([0, 1], 1),
    (None, 1, slice(None), [0, 1]), (Ellipsis, 1, [0, 2]), (1, [0, 1], [2, 3]), ([0, 1], slice(None), [2, 3]),
    (1, None, [0, 1]), ([[0, 1], [2, 3]], slice(1, 3)), (slice(None), [1, 1, 0]), (-1, slice(None, None, 2), -2),
    (0,), 2, [3, 0], (slice(1, 3), Ellipsis, None), ([0, 1], [1, 2], [3, 4]), (1, 2, [0, 5]),
    (slice(None), slice(None), [[0], [1]]), (1, [[0, 1]], slice(None)),
    # boolean masks (lists of bools are masks in PyTorch too)
    ([True, False, True, True],), (slice(None), [True, False, True, False, True]),
    (1, [True, False, True, False, True]), (1, slice(None), [True, False] * 3),
    ([True, False, True, True], slice(1, 3)),
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_indexing_agrees_with_torch_in_value_shape_and_gradient(index):
    torch = pytest.importorskip("torch")
    a = np.arange(120, dtype=np.float64).reshape(4, 5, 6)
    x = mt.tensor(a, dtype="float64", requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    out, outt = x[index], xt[index]
    assert out.shape == tuple(outt.shape)
    np.testing.assert_array_equal(out.numpy(), outt.detach().numpy())
    u = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(u)
    outt.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-15)
    # and the same index on the left of an assignment
    y = mt.tensor(a, dtype="float64")
    yt = torch.tensor(a)
    y[index] = -1.0
    yt[index] = -1.0
    np.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_boolean_mask_reads_are_differentiable_copies(device, rng):
    """x[mask] as PyTorch: the selected elements in order, a copy (writing it leaves x alone),
    gradients scattered back, first and second order; a mask of the wrong shape is one error."""
    x = randt(rng, 3, 4, device=device)
    mask = x > 0
    y = x[mask]
    np.testing.assert_array_equal(backend.to_numpy(y.data), backend.to_numpy(x.data)[backend.to_numpy(mask.data)])
    y.data[...] = 0
    assert (backend.to_numpy(x.data) != 0).all()
    assert mt.gradcheck(lambda x: x[mask] * x[mask], [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda x: (x[mask] ** 3).sum(), [x], rtol=RTOL, atol=ATOL)
    assert mt.gradcheck(lambda x: x[:, mt.tensor([True, False, True, True], device=device)], [x],
                        rtol=RTOL, atol=ATOL)
    with pytest.raises(IndexError, match=r"getitem: boolean index did not match.*\(tensor shape \(3, 4\)\)"):
        x[mt.tensor([True, False], device=device)]


def test_mixed_integer_and_array_index_follows_pytorch(device, rng):
    x = randt(rng, 4, 5, 6, device=device)
    assert x[1, :, [0, 1]].shape == (5, 2)  # NumPy would give (2, 5)
    np.testing.assert_array_equal(backend.to_numpy(x[1, :, [0, 1]].data), backend.to_numpy(x.data)[1][:, [0, 1]])
    assert mt.gradcheck(lambda x: x[1, :, [0, 1, 1]], [x], rtol=RTOL, atol=ATOL)


def test_permute_refuses_out_of_range_and_repeated_dims():
    x = mt.zeros(2, 3, 4)
    assert x.permute(0, -1, 1).shape == (2, 4, 3)  # negative dims in range are fine
    with pytest.raises(ValueError, match=r"permute: dim 5 is out of range \[-3, 2\]"):
        x.permute(0, 1, 5)
    with pytest.raises(ValueError, match=r"permute: dim -4 is out of range"):
        x.permute(0, 1, -4)
    with pytest.raises(ValueError, match="a dim is repeated"):
        x.permute(0, 2, -1)
    with pytest.raises(ValueError, match="names 2 dims, the tensor of shape"):
        x.permute(0, 1)


# --------------------------------------------------------------------------- creation
def test_creation_functions_follow_pytorch_defaults(device, restore_rng):
    assert mt.arange(5).dtype == mt.int64 and mt.arange(3.0).dtype == mt.float32
    assert mt.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75] and mt.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert mt.full((2, 2), 7).dtype == mt.int64 and mt.full((2,), 1.5).dtype == mt.float32
    assert mt.full((2,), True).dtype == mt.bool and mt.full([3], 2.0, dtype=mt.float64).tolist() == [2.0] * 3
    assert mt.eye(3).tolist() == np.eye(3).tolist() and mt.eye(2, 3).shape == (2, 3)
    x = mt.tensor([[1, 2]], dtype=mt.int32, device=device)
    for f, val in ((mt.zeros_like, 0), (mt.ones_like, 1), (lambda t: mt.full_like(t, 4), 4)):
        y = f(x)
        assert y.shape == (1, 2) and y.dtype == mt.int32 and y.device == device and y.tolist() == [[val, val]]
    assert mt.zeros_like(x, dtype=mt.float64).dtype == mt.float64
    mt.manual_seed(3)
    r = mt.rand(1000, device=device)
    assert r.dtype == mt.float32 and 0 <= r.min().item() and r.max().item() < 1 and 0.45 < r.mean().item() < 0.55
    mt.manual_seed(3)
    assert mt.rand(1000, device=device).tolist() == r.tolist()
    i = mt.randint(3, 7, (500,), device=device)
    assert i.dtype == mt.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert set(mt.randint(2, (100,)).tolist()) == {0, 1} and mt.randint(5, size=(2, 3)).shape == (2, 3)
    assert mt.randn(2, 3, dtype=mt.float64).dtype == mt.float64 and mt.empty(2, 2).shape == (2, 2)
    with pytest.raises(ValueError, match="randint: need low < high"):
        mt.randint(5, 5, (2,))
    with pytest.raises(ValueError, match="zeros: sizes must be non-negative integers"):
        mt.zeros(2, -1)


def test_allclose(device):
    a = mt.tensor([1.0, 2.0], device=device)
    assert mt.allclose(a, a + 1e-9) and a.allclose(a * (1 + 1e-6)) and not a.allclose(a + 1e-3)
    assert isinstance(mt.allclose(a, a), bool)


def test_manual_seed_accepts_pytorchs_range(restore_rng):
    mt.manual_seed(-1)
    a = mt.randn(3).tolist()
    mt.manual_seed(2 ** 64 - 1)  # the same seed modulo 2**64, as torch.manual_seed
    assert mt.randn(3).tolist() == a
    with pytest.raises(ValueError, match=r"manual_seed: the seed must be in \[-2\*\*63, 2\*\*64\), got 18446744073709551616"):
        mt.manual_seed(2 ** 64)
    with pytest.raises(TypeError, match="manual_seed: the seed must be an integer, got 'x'"):
        mt.manual_seed("x")


def test_dim_keepdim_aliases_in_functional_and_the_namespace():
    from minitf import functional as F
    x = mt.tensor([[1.0, 2.0], [3.0, 5.0]])
    assert F.sum(x, dim=1, keepdim=True).tolist() == [[3.0], [8.0]] and F.mean(x, dim=0).tolist() == [2.0, 3.5]
    assert F.amax(x, dim=1).tolist() == [2.0, 5.0] and F.var(x, dim=1, correction=0).tolist() == [0.25, 1.0]
    assert mt.cat([x, x], dim=1).shape == (2, 4) and mt.stack([x, x], dim=2).shape == (2, 2, 2)
    assert [t.shape for t in mt.split(x, 1, dim=1)] == [(2, 1), (2, 1)] and x.split(1, dim=1)[1].tolist() == [[2.0], [5.0]]
    assert mt.sum(x, dim=0).tolist() == [4.0, 7.0] and mt.mean(x, 1, keepdim=True).shape == (2, 1)
    with pytest.raises(TypeError, match="give dim or axis, not both"):
        F.sum(x, axis=0, dim=1)


def test_tensor_class_constructor_follows_torch():
    # mt.Tensor(...) as torch.Tensor(...): data in the default float dtype, or sizes
    t = mt.Tensor([1, 2])
    assert t.dtype == mt.float32 and t.tolist() == [1.0, 2.0] and isinstance(t.tolist()[0], float)
    assert mt.Tensor(2, 3).shape == (2, 3) and mt.Tensor(2, 3).dtype == mt.float32
    assert mt.Tensor().shape == (0,) and mt.Tensor(0).shape == (0,)
    assert mt.Tensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, as torch's
    assert mt.Tensor(np.int64(3)).shape == (3,) and mt.Tensor(np.int64(2), 3).shape == (2, 3)  # NumPy ints: sizes
    assert mt.Tensor([[True], [False]]).dtype == mt.float32
    src = mt.tensor([1.0, 2.0])
    alias = mt.Tensor(src)  # shares data and version counter, as torch.Tensor(t)
    src.add_(1.0)
    assert alias.tolist() == [2.0, 3.0] and alias._version == src._version == 1
    mt.set_default_dtype(mt.float64)
    try:
        assert mt.Tensor([1]).dtype == mt.float64 and mt.Tensor(1, 2).dtype == mt.float64
    finally:
        mt.set_default_dtype(mt.float32)


def test_tensor_class_wraps_a_backend_array_as_is(device):
    # the library's own use: an array of a device is wrapped with its dtype and memory
    arr = backend.array_module(device).arange(3)
    t = mt.Tensor(arr)
    assert t.data is arr and t.dtype == mt.int64 and t.device == device


@pytest.mark.parametrize("args, error, match", [
    ((2.5,), TypeError, "must be a sequence"), (("ab",), TypeError, "must be a sequence"),
    ((2, 2.0), TypeError, "sizes must be ints"), ((2, -1), RuntimeError, "negative dimension"),
    ((["a"],), TypeError, "cannot build a tensor"), (([1], 2), TypeError, "sizes must be ints")])
def test_tensor_class_constructor_errors_name_the_problem(args, error, match):
    with pytest.raises(error, match=match):
        mt.Tensor(*args)


def test_tensor_class_constructor_matches_torch():
    torch = pytest.importorskip("torch")
    for args in [([1, 2],), ([[1, 2], [3, 4]],), ((2, 3),), ([True, False],), ([1.5, -2],)]:
        ours, theirs = mt.Tensor(*args), torch.Tensor(*args)
        assert ours.shape == tuple(theirs.shape) and str(theirs.dtype) == f"torch.{ours.dtype}"
        assert ours.tolist() == theirs.tolist()
    for args in [(2, 3), (), (0,), (4,)]:
        assert mt.Tensor(*args).shape == tuple(torch.Tensor(*args).shape)


def test_tensor_class_of_a_numpy_scalar_is_a_0d_array():
    t = mt.Tensor(np.float64(2.5))
    assert isinstance(t.data, np.ndarray) and t.shape == () and t.dtype == mt.float64 and t.device == "cpu"


@pytest.mark.parametrize("call", [lambda x: x.sum(True), lambda x: x.mean(1.5), lambda x: x.amax((0, False)),
                                  lambda x: x.var((0, True))])
def test_a_reduction_refuses_a_dim_that_is_not_an_int(call):
    """x.sum(True) read as dim 1 (or 0) would give another reduction (std(False) and var(True) are
    torch's unbiased forms: tests/test_variance_arguments.py)."""
    x = mt.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, 9.0]])
    with pytest.raises(TypeError, match="dim must be an int or a tuple of ints"):
        call(x)



def test_forward_infs_and_nans_are_silent_as_in_pytorch_unless_a_user_filter_asks(device):
    # pytest restores the filters it started with around collection and each test, so the filter
    # that `import minitf` appends is installed here by hand, in a filter list of its own
    x = mt.tensor([0.0, 1.0, -1.0], dtype="float64", device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()                  # Python's default action ("default") for the rest
        mt.backend.silence_fp_warnings_from_minitf()
        results = [mt.log(x), x / 0, x ** -1, mt.sqrt(x), mt.exp(x * 1000)]
        # sums of +inf and -inf and means of nothing: NaN, as torch's, quietly (NumPy's own sum and
        # mean would warn from numpy._core._methods, a frame the filter must not match)
        both_infs = mt.tensor([np.inf, -np.inf])
        results += [both_infs.sum(), both_infs.mean(), mt.zeros(0).mean(), mt.zeros(2, 0).mean(1)]
        assert not caught, [str(w.message) for w in caught]
        np.add.reduce(np.array([np.inf, -np.inf]))   # while the user's own NumPy sum still warns
        assert len(caught) == 1
        caught.clear()
        np.log(np.zeros(1))                       # the user's own NumPy code still warns as NumPy does
        warnings.warn("a RuntimeWarning of the user's own", RuntimeWarning)
        assert len(caught) == 2
        warnings.simplefilter("error", RuntimeWarning)   # a user's filter comes first: -W error still finds them
        if device == "cpu":   # (the fake device, as CuPy, never signals)
            with pytest.raises(RuntimeWarning, match="divide by zero"):
                mt.log(x)
        else:
            mt.log(x)
    assert np.isneginf(results[0].numpy()[0]) and np.isnan(results[0].numpy()[2])
    assert np.isposinf(results[4].numpy()[1])


def test_import_minitf_installs_the_silencing_filter_and_W_error_still_wins():
    import subprocess
    import sys
    code = "import minitf as mt; print(mt.log(mt.zeros(1)).item())"
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert quiet.stdout.strip() == "-inf" and "RuntimeWarning" not in quiet.stderr, quiet.stderr
    loud = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code],
                          capture_output=True, text=True)
    assert loud.returncode != 0 and "divide by zero encountered in log" in loud.stderr
