"""torch names added for ports (minitf/ops/more_math.py, more_reductions.py, more_shapes.py,
linalg.py, size.py, dtypes): values against torch, float64 gradchecks on every device."""
import numpy as np
import pytest

import minitf as mt

X = [[0.3, 0.6, 0.45], [0.2, 0.75, 0.55]]
CALLS = {  # name -> (call on mt or torch, differentiable)
    "log2": (lambda m, x: m.log2(x), True),
    "log10": (lambda m, x: x.log10(), True),
    "exp2": (lambda m, x: m.exp2(x), True),
    "sinh": (lambda m, x: m.sinh(x), True),
    "cosh": (lambda m, x: x.cosh(), True),
    "tan": (lambda m, x: m.tan(x), True),
    "asin": (lambda m, x: m.asin(x), True),
    "arctan": (lambda m, x: m.arctan(x), True),
    "erf": (lambda m, x: x.erf(), True),
    "logit": (lambda m, x: m.logit(x), True),
    "logit eps": (lambda m, x: m.logit(x, eps=0.35), True),
    "atan2": (lambda m, x: m.atan2(x, x.flip(0) - 0.5), True),
    "hypot": (lambda m, x: m.hypot(x, x.flip(1)), True),
    "nansum": (lambda m, x: m.nansum(x, 1), True),
    "nanmean": (lambda m, x: x.nanmean(0), True),
    "var_mean": (lambda m, x: m.var_mean(x, 1)[0] + m.var_mean(x, 1)[1], True),
    "std_mean": (lambda m, x: m.std_mean(x, 0, correction=0)[0] * m.std_mean(x, 0)[1], True),
    "median": (lambda m, x: m.median(x), True),
    "median(1)": (lambda m, x: m.median(x, 1).values, True),
    "quantile": (lambda m, x: m.quantile(x, 0.3), True),
    "quantile dim keepdim": (lambda m, x: x.quantile(0.6, 1, True), True),
    "quantile tensor q": (lambda m, x: m.quantile(x, m.tensor([0.25, 0.9], dtype=x.dtype, device=x.device), 0), True),
    "quantile midpoint": (lambda m, x: m.quantile(x, 0.5, 1, interpolation="midpoint"), True),
    "quantile nearest": (lambda m, x: m.quantile(x, 0.7, 1, interpolation="nearest"), True),
    "hstack": (lambda m, x: m.hstack([x, x * 2]), True),
    "vstack": (lambda m, x: m.vstack([x[0], x]), True),
    "diagonal": (lambda m, x: m.diagonal(x, 1), True),
    "diagonal -1": (lambda m, x: x.diagonal(-1, 1, 0), True),
    "trace": (lambda m, x: m.trace(x), True),
    "tensordot": (lambda m, x: m.tensordot(x, x.t() * 1.0, 1), True),
    "tensordot pairs": (lambda m, x: m.tensordot(x, x * 2.0, ([0, 1], [0, 1])), True),
    "diff": (lambda m, x: m.diff(x, 1, 1), True),
    "diff 2 prepend": (lambda m, x: x.diff(2, 1, prepend=x[:, :1]), True),
    "meshgrid": (lambda m, x: m.meshgrid(x[0], x[1, :2], indexing="ij")[1], True),
    "meshgrid xy": (lambda m, x: m.meshgrid(x[0], x[1, :2], indexing="xy")[0], True),
    "vector_norm": (lambda m, x: m.linalg.vector_norm(x, 3, 1), True),
    "linalg.norm": (lambda m, x: m.linalg.norm(x), True),
    "normal mean tensor": (lambda m, x: (m.manual_seed(0), m.normal(x, 0.0))[1], True),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_values_as_torch(name):
    torch = pytest.importorskip("torch")
    call, _ = CALLS[name]
    ours = call(mt, mt.tensor(X, dtype=mt.float64))
    theirs = call(torch, torch.tensor(X, dtype=torch.float64))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(n for n, (_, d) in CALLS.items() if d))
def test_gradcheck(name, device):
    call, _ = CALLS[name]
    x = mt.tensor(X, dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(lambda t: call(mt, t), [x])


@pytest.mark.parametrize("name", ["log2", "tan", "asin", "erf", "atan2"])
def test_gradgradcheck(name, device):
    call, _ = CALLS[name]
    x = mt.tensor(X, dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradgradcheck(lambda t: call(mt, t), [x])


def test_integer_helpers_as_torch():
    torch = pytest.importorskip("torch")
    for m in (mt, torch):
        assert m.triu_indices(3, 4, 1).tolist() == torch.triu_indices(3, 4, 1).tolist()
        assert m.tril_indices(4, 3, -1).tolist() == torch.tril_indices(4, 3, -1).tolist()
    assert mt.isin(mt.tensor([1, 2, 3]), mt.tensor([2, 5])).tolist() == [False, True, False]
    seq, v = [[1, 3, 5, 7], [2, 4, 6, 8]], [[3, 6], [1, 9]]
    for right in (False, True):
        assert mt.searchsorted(mt.tensor(seq), mt.tensor(v), right=right).tolist() == \
            torch.searchsorted(torch.tensor(seq), torch.tensor(v), right=right).tolist()
    assert mt.median(mt.tensor([[3.0, 1.0, 2.0, 4.0]]), 1).indices.tolist() == [2]
    assert mt.log2(mt.tensor([8])).dtype == mt.float32


def test_dtypes_size_type_and_info():
    x = mt.ones(2, 3)
    assert isinstance(x.size(), mt.Size) and x.size() == (2, 3) and x.size().numel() == 6
    assert mt.Size([]).numel() == 1 and type(x.shape) is tuple
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    assert x.type(mt.float64).dtype == mt.float64 and x.type("torch.IntTensor").dtype == mt.int32
    assert x.is_floating_point() and not mt.is_floating_point(x.long())
    assert mt.tensor([1, 2], dtype=mt.int8).dtype == np.int8 and mt.zeros(2, dtype=mt.int16).dtype == mt.short
    assert mt.finfo(mt.float32).eps == np.finfo(np.float32).eps and mt.finfo().bits == 32
    assert mt.iinfo(mt.int8).max == 127
    with pytest.raises(TypeError):
        mt.finfo(mt.int64)


def test_normal_draws():
    mt.manual_seed(1)
    z = mt.normal(2.0, 3.0, (4000,))
    assert z.shape == (4000,) and abs(z.mean().item() - 2.0) < 0.2 and abs(z.std().item() - 3.0) < 0.2
    mean = mt.zeros(3, requires_grad=True)
    std = mt.ones(3, requires_grad=True)
    out = mt.normal(mean, std)
    out.sum().backward()
    assert mean.grad.tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(std.grad.numpy(), out.detach().numpy(), rtol=1e-6)  # d/dstd (mean + std z) = z
    with pytest.raises(TypeError):
        mt.normal(0.0, 1.0)


def test_linalg_norm_is_a_matrix_norm_over_two_dims():
    # (matrix norms are tested against torch in tests/test_linalg.py; here: norm dispatches to them)
    assert mt.linalg.norm(mt.eye(3), "nuc").item() == 3.0
    assert mt.linalg.norm(mt.ones(2, 3, 3), 1, dim=(1, 2)).tolist() == [3.0, 3.0]


def test_quantile_refuses_what_torch_refuses():
    with pytest.raises(RuntimeError, match="in the range"):
        mt.quantile(mt.ones(3), 1.5)
    with pytest.raises(ValueError, match="interpolation"):
        mt.quantile(mt.ones(3), 0.5, interpolation="cubic")
