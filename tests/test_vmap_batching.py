"""vmap's batched run (minitf/func/batching.py): each batching rule against the per-example loop
and torch.func.vmap, in float64; that the batched run really ran (f called once, not B times);
that an op without a rule falls back to the loop and still gives the right answer."""
import sys

import numpy as np
import pytest

import minitf as mt
import minitf.nn.functional as F
from minitf.errors import ShapeError
from minitf.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap
from minitf.func.batching import Unbatchable

torch = pytest.importorskip("torch")
TF = torch.nn.functional
V = sys.modules["minitf.func.vmap"]   # the module (minitf.func.vmap is the function)
B = 4
rng = np.random.default_rng(0)


def _arr(*shape):
    return rng.standard_normal(shape)


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in _leaves(t)]
    return [tree]


def _loop(f, in_dims, out_dims, args, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(V, "_BATCHING", False)
        return vmap(f, in_dims, out_dims)(*args)


def check(make, arrays, monkeypatch, in_dims=0, out_dims=0, batched=True):
    """vmap(make(mt, F)) on ``arrays`` equals the loop and torch.func.vmap(make(torch, TF)); with
    ``batched`` the function ran once (the batched run), else once more than per example (a
    batched try given up for the loop)."""
    f, calls = make(mt, F), [0]

    def counted(*a):
        calls[0] += 1
        return f(*a)
    args = [mt.tensor(a, dtype="float64" if a.dtype.kind == "f" else None) for a in arrays]
    V.last_fallback = None
    ours = vmap(counted, in_dims, out_dims)(*args)
    if batched:
        assert calls[0] == 1, V.last_fallback
        assert V.last_fallback is None
    else:
        assert calls[0] > 1 and isinstance(V.last_fallback, Exception)
    loop = _loop(f, in_dims, out_dims, args, monkeypatch)
    theirs = torch.func.vmap(make(torch, TF), in_dims, out_dims)(*[torch.tensor(a) for a in arrays])
    for o, lp, t in zip(_leaves(ours), _leaves(loop), _leaves(theirs), strict=True):
        assert type(o) is mt.Tensor and tuple(o.shape) == tuple(t.shape) == tuple(lp.shape)
        assert (o.dtype == mt.bool) == (t.dtype == torch.bool) == (lp.dtype == mt.bool)
        if o.dtype == mt.bool:   # comparisons: exactly the loop's and torch's
            np.testing.assert_array_equal(o.numpy(), lp.numpy())
            np.testing.assert_array_equal(o.numpy(), t.numpy())
            continue
        np.testing.assert_allclose(o.numpy(), lp.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    return ours


UNARY = {
    "float_fns": lambda M, F: lambda x: M.tanh(x) + M.exp(x) * M.sigmoid(x) - M.sqrt(M.abs(x) + 1)
    + M.sin(x) * M.cos(x) + M.rsqrt(x * x + 1) + M.log(x * x + 1) - (-x),
    "activations": lambda M, F: lambda x: F.relu(x) + F.gelu(x) + F.gelu(x, approximate="tanh") + F.silu(x),
    "clamp_pow_scalars": lambda M, F: lambda x: x.clamp(-0.5, 0.5) + x ** 2 + 1 / (x * x + 1) - 2 * x + x / 3,
    "max_min": lambda M, F: lambda x: M.maximum(x, x * 0.5) - M.minimum(x, -x),
    "softmaxes": lambda M, F: lambda x: F.softmax(x, dim=-1) + F.log_softmax(x, dim=0) + x.softmax(1),
    "reductions": lambda M, F: lambda x: (x.sum(), x.sum(dim=-1), x.sum(dim=(0, 2), keepdim=True),
                                          x.mean(dim=1, keepdim=True), x.var(dim=-1), x.mean()),
    "views": lambda M, F: lambda x: (x.reshape(-1), x.view(2, -1), x.transpose(0, -1), x.permute(2, 0, 1),
                                     x.unsqueeze(-1), x.unsqueeze(0).squeeze(0), x.flatten(), x.flatten(1),
                                     x.mT, x.unsqueeze(1).expand(-1, 5, -1, -1), x.movedim(0, -1), x[0].T),
    "split_tri": lambda M, F: lambda x: (M.split(x, [1, 3], dim=-1), x.split(1, dim=0), x.chunk(2, 1),
                                         M.tril(x, -1), x.triu(1), x.transpose(0, 1).contiguous()),
    "indexing": lambda M, F: lambda x: (x[1:, None, ::2], x[..., 0], x[0], x[:, -1]),
    "cat_stack": lambda M, F: lambda x: (M.cat([x, x * 2], dim=-1), M.stack([x, -x], dim=1),
                                         M.stack([x, x], dim=-1)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_rule_one_input(name, monkeypatch):
    check(UNARY[name], [_arr(B, 2, 3, 4)], monkeypatch)


def test_in_dims_and_out_dims_other_than_0(monkeypatch):
    make = UNARY["reductions"]
    check(make, [_arr(2, 3, B, 4)], monkeypatch, in_dims=2)
    check(make, [_arr(2, 3, 4, B)], monkeypatch, in_dims=-1, out_dims=(0, -1, 0, 1, -1, 0))
    check(lambda M, F: lambda x: F.softmax(x, dim=0), [_arr(3, B)], monkeypatch, in_dims=1, out_dims=1)


BROADCAST = {   # x batched, y not
    "arith": lambda M, F: lambda x, y: (x + y, x * y, y - x, y / (x * x + 1), x ** y.abs(), M.maximum(y, x)),
    "matmul": lambda M, F: lambda x, y: (x @ y.mT, y @ x.mT, M.matmul(x, y[0]), y[0] @ x[0], x[0] @ y[0]),
    "linear_layer_norm": lambda M, F: lambda x, y: (F.linear(x, y, y[:, 0]), F.linear(x[0], y),
                                                    F.layer_norm(x, (4,), y[0], y[1]), F.layer_norm(x, (3, 4))),
    "cat_with_unbatched": lambda M, F: lambda x, y: (M.cat([x, y], dim=0), M.stack([y, x], dim=-1)),
}


@pytest.mark.parametrize("name", sorted(BROADCAST))
def test_rule_against_an_unbatched_operand(name, monkeypatch):
    check(BROADCAST[name], [_arr(B, 3, 4), _arr(3, 4)], monkeypatch, in_dims=(0, None))


def test_broadcasting_pads_the_example_not_the_batch(monkeypatch):
    # the example (4,) against an unbatched (2, 3, 4): the batch dim must not meet the 2
    check(lambda M, F: lambda x, y: (x * y, y - x, x @ y.mT), [_arr(B, 4), _arr(2, 3, 4)], monkeypatch,
          in_dims=(0, None))
    check(lambda M, F: lambda x, y: x @ y, [_arr(B, 4), _arr(2, 4, 3)], monkeypatch, in_dims=(0, None))


def test_both_operands_batched(monkeypatch):
    check(lambda M, F: lambda x, y: (x @ y.mT, x * y[0], x[0] @ y[1], M.cat([x, y], 1), F.linear(x, y, y[0, :3]),
                                     F.layer_norm(x, (4,), y[0], y[1]), F.layer_norm(x, (4,), y[0])),
          [_arr(B, 3, 4), _arr(3, B, 4)], monkeypatch, in_dims=(0, 1))
    # an unbatched input with batched parameters
    check(lambda M, F: lambda w, x: (F.linear(x, w, w[:, 0]), F.layer_norm(x, (4,), w[0], w[1])),
          [_arr(B, 3, 4), _arr(2, 4)], monkeypatch, in_dims=(0, None))


def test_nested_vmap(monkeypatch):
    x, y = mt.tensor(_arr(3, 5), dtype="float64"), mt.tensor(_arr(B, 5), dtype="float64")
    calls = [0]

    def f(a, b):
        calls[0] += 1
        return (a * b).sum() + a.softmax(-1)[0] * b.mean()
    outer = vmap(vmap(f, in_dims=(None, 0)), in_dims=(0, None))(x, y)        # (3, B)
    assert calls[0] == 1, V.last_fallback
    tf = lambda a, b: (a * b).sum() + a.softmax(-1)[0] * b.mean()   # noqa: E731
    theirs = torch.func.vmap(torch.func.vmap(tf, in_dims=(None, 0)), in_dims=(0, None))(
        torch.tensor(x.numpy()), torch.tensor(y.numpy()))
    np.testing.assert_allclose(outer.numpy(), theirs.numpy(), rtol=1e-12)
    # a closure of the outer level meets the inner level's input; out_dims at both levels
    inner = vmap(lambda a: vmap(lambda b: a @ b + b.sum(), out_dims=0)(y), out_dims=1)(x)   # (B, 3)
    ref = torch.func.vmap(lambda a: torch.func.vmap(lambda b: a @ b + b.sum())(torch.tensor(y.numpy())),
                          out_dims=1)(torch.tensor(x.numpy()))
    np.testing.assert_allclose(inner.numpy(), ref.numpy(), rtol=1e-12)
    both = check(lambda M, F: lambda xs, ys: torch.func.vmap(lambda a, b: a @ b)(xs, ys) if M is torch
                 else vmap(lambda a, b: a @ b)(xs, ys), [_arr(B, 3, 5), _arr(B, 3, 5)], monkeypatch)
    assert tuple(both.shape) == (B, 3)


def test_outputs_that_do_not_depend_on_the_batch(monkeypatch):
    out = check(lambda M, F: lambda x, w: (w * 2, x + w, w.sum()), [_arr(B, 3), _arr(3)], monkeypatch,
                in_dims=(0, None), out_dims=(0, 1, 0))
    assert tuple(out[0].shape) == (B, 3) and tuple(out[1].shape) == (3, B)
    x, w = mt.tensor(_arr(B, 3), dtype="float64"), mt.tensor(_arr(3), dtype="float64")
    at1 = vmap(lambda x, w: w * 2, in_dims=(0, None), out_dims=1)(x, w)   # (torch's own vmap refuses this one)
    np.testing.assert_allclose(at1.numpy(), np.stack([w.numpy() * 2] * B, 1))
    shared = vmap(lambda x, w: (x * w, w + 1), in_dims=(0, None), out_dims=(0, None))(x, w)[1]
    np.testing.assert_allclose(shared.numpy(), w.numpy() + 1)


def test_an_op_without_a_rule_falls_back_to_the_loop(monkeypatch):
    check(lambda M, F: lambda x: M.cummax(x, 0).values * x.sum(), [_arr(B, 5)], monkeypatch, batched=False)
    check(lambda M, F: lambda x: M.flip(x.exp(), [-1])[:2], [_arr(B, 5)], monkeypatch, batched=False)
    # .item() and a data-dependent branch: refused by torch's batching, run by the loop here
    xs = mt.tensor(_arr(B, 3), dtype="float64")
    out = vmap(lambda x: x * 2 if x.sum().item() > 0 else x - 1)(xs)
    ref = [x * 2 if x.sum() > 0 else x - 1 for x in xs.numpy()]
    np.testing.assert_allclose(out.numpy(), np.stack(ref), rtol=1e-12)
    assert isinstance(V.last_fallback, Unbatchable)


def test_random_draws_run_in_the_loop():
    # an explicit generator draws per example in the loop: each example its own noise, as torch's
    xs = mt.zeros(B, 3, dtype="float64")
    g = mt.Generator().manual_seed(0)
    out = vmap(lambda x: x + mt.randn(3, generator=g, dtype="float64"))(xs).numpy()
    assert isinstance(V.last_fallback, Unbatchable) and not np.allclose(out[0], out[1])
    g.manual_seed(0)
    np.testing.assert_array_equal(out, np.stack([mt.randn(3, generator=g, dtype="float64").numpy()
                                                 for _ in range(B)]))
    mt.manual_seed(0)
    same = vmap(lambda x: x + mt.rand(3, dtype="float64"), randomness="same")(xs).numpy()
    assert (same == same[0]).all()


def test_the_errors_are_the_loops(monkeypatch):
    x = mt.tensor(_arr(B, 3), dtype="float64")
    with pytest.raises(ShapeError, match="inner dimensions differ"):
        vmap(lambda a: a @ mt.ones(4, dtype="float64"))(x)
    with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is None"):
        vmap(lambda a: a * 2, out_dims=None)(x)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda a: a + mt.rand(3, dtype="float64"))(x)


MLP = lambda M, F: lambda x, w1, b1, w2, b2: F.log_softmax(F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2), -1)  # noqa


def test_mlp_forward_on_the_devices(device):
    arrays = [_arr(B, 2, 5), _arr(8, 5), _arr(8), _arr(3, 8), _arr(3)]
    args = [mt.tensor(a, dtype="float64", device=device) for a in arrays]
    calls = [0]

    def f(*a):
        calls[0] += 1
        return MLP(mt, F)(*a)
    ours = vmap(f, in_dims=(0,) + (None,) * 4)(*args)
    assert calls[0] == 1 and ours.device == device
    theirs = torch.func.vmap(MLP(torch, TF), in_dims=(0,) + (None,) * 4)(*[torch.tensor(a) for a in arrays])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_gradients_through_the_batched_run():
    # grad of a vmapped function: the batched run's graph is ordinary
    x = mt.tensor(_arr(B, 5), dtype="float64", requires_grad=True)
    w = mt.tensor(_arr(3, 5), dtype="float64", requires_grad=True)
    f = vmap(lambda a, w: (F.softmax(F.linear(a, w), -1) * a[:3]).sum(), in_dims=(0, None))
    assert mt.gradcheck(lambda x, w: f(x, w), [x, w])
    g = grad(lambda w, x: f(x, w).sum())(w, x)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    tx = torch.tensor(x.detach().numpy())
    torch.func.vmap(lambda a, w: (TF.softmax(TF.linear(a, w), -1) * a[:3]).sum(), in_dims=(0, None))(tx, tw) \
        .sum().backward()
    np.testing.assert_allclose(g.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_per_example_gradients_of_a_linear_model_run_batched():
    loss = lambda M: lambda w, x, y: (M.tanh(x @ w) - y) ** 2   # noqa: E731
    w, xs, ys = _arr(3), _arr(B, 3), _arr(B)
    calls = [0]

    def counted(*a):
        calls[0] += 1
        return loss(mt)(*a)
    ours = vmap(grad(counted), in_dims=(None, 0, 0))(*[mt.tensor(a, dtype="float64") for a in (w, xs, ys)])
    assert calls[0] == 1, V.last_fallback
    theirs = torch.func.vmap(torch.func.grad(loss(torch)), in_dims=(None, 0, 0))(
        *[torch.tensor(a) for a in (w, xs, ys)])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_per_example_gradients_of_an_mlp_through_functional_call(reduction, monkeypatch):
    from minitf.func import functional_call
    model = mt.nn.Sequential(mt.nn.Linear(3, 8), mt.nn.GELU(), mt.nn.LayerNorm(8), mt.nn.Linear(8, 2)).double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    xs, ys = _arr(B, 5, 3), _arr(B, 5, 2)
    cs = rng.integers(0, 2, (B, 5))
    cs[1, 2] = -100   # an ignored target: that example's mean is over 4 of its 5
    calls = [0]

    def loss(p, x, c, y):
        calls[0] += 1
        out = functional_call(model, p, (x,))
        return F.cross_entropy(out, c, reduction=reduction, label_smoothing=0.1).sum() + F.mse_loss(out, y)
    args = (params, mt.tensor(xs), mt.tensor(cs), mt.tensor(ys))
    ours = vmap(grad(loss), in_dims=(None, 0, 0, 0))(*args)
    assert calls[0] == 1, V.last_fallback
    loop = _loop(grad(loss), (None, 0, 0, 0), 0, args, monkeypatch)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.GELU(), torch.nn.LayerNorm(8),
                                 torch.nn.Linear(8, 2)).double()
    tparams = {k: torch.tensor(v.numpy()) for k, v in params.items()}

    def tloss(p, x, c, y):
        out = torch.func.functional_call(tmodel, p, (x,))
        return TF.cross_entropy(out, c, reduction=reduction, label_smoothing=0.1).sum() + TF.mse_loss(out, y)
    theirs = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0, 0))(
        tparams, torch.tensor(xs), torch.tensor(cs), torch.tensor(ys))
    for k in params:
        assert tuple(ours[k].shape) == (B,) + tuple(params[k].shape)
        np.testing.assert_allclose(ours[k].numpy(), loop[k].numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-12, atol=1e-12)


def test_gradient_transforms_that_stay_in_the_loop():
    # grad inside nested vmaps, and a vmapped grad of a function that also reads .item(): the loop, right
    xs = mt.tensor(_arr(3, B, 2), dtype="float64")
    f = lambda x: (x ** 3).sum()   # noqa: E731
    ours = vmap(vmap(grad(f)))(xs)
    np.testing.assert_allclose(ours.numpy(), 3 * xs.numpy() ** 2, rtol=1e-12)
    assert isinstance(V.last_fallback, Unbatchable)
    g = vmap(grad(lambda x: f(x) * (2.0 if x.sum().item() > 0 else 1.0)))(xs[0])
    scale = np.where(xs[0].numpy().sum(-1) > 0, 2.0, 1.0)[:, None]
    np.testing.assert_allclose(g.numpy(), 3 * xs[0].numpy() ** 2 * scale, rtol=1e-12)


TRANSFORMS = {   # name: (function of one example, number of mapped inputs)
    "jvp": (lambda x, t: jvp(lambda y: mt.tanh(y) * y.sum(), (x,), (t,))[1], 2),
    "vjp": (lambda x, t: vjp(lambda y: mt.tanh(y) * y.sum(), x)[1](t)[0], 2),
    "jacrev": (lambda x: jacrev(lambda y: mt.tanh(y) * y.sum())(x), 1),
    "jacfwd": (lambda x: jacfwd(lambda y: mt.tanh(y) * y.sum())(x), 1),
    "hessian": (lambda x: hessian(lambda y: (y ** 3).sum())(x), 1),
    "grad_grad": (lambda x: grad(lambda y: grad(lambda z: (z ** 3).sum() * z[0])(y).sum())(x), 1),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_under_vmap_equals_the_loop(name, monkeypatch):
    f, n = TRANSFORMS[name]
    args = [mt.tensor(_arr(B, 3), dtype="float64") for _ in range(n)]
    ours = vmap(f)(*args)
    loop = _loop(f, 0, 0, args, monkeypatch)
    np.testing.assert_allclose(ours.numpy(), loop.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- function-level rules (batching_fns)
PAIRS = {   # x (B, 2, 3, 4) batched, y (2, 3, 4) unbatched unless in_dims say so
    "view_functions": lambda M, F: lambda x, y: (
        M.reshape(x, (-1,)), M.reshape(x, (6, 4)), M.transpose(x, 0, -1), M.permute(x, (2, 0, 1)),
        M.flatten(x), M.flatten(x, 1), M.flatten(x, -2, -1), M.squeeze(M.unsqueeze(x, 0), 0), M.unsqueeze(x, -1),
        M.squeeze(x[:1]), M.nn.Flatten()(x), M.nn.Flatten(0, 1)(x) + y.flatten(0, 1)),
    "comparisons": lambda M, F: lambda x, y: (
        x < 0, x >= y, y > x, x != x * 2, x == x, M.eq(x, x[0]), M.lt(x, 0.5), M.gt(y, x), M.le(x, y),
        M.ge(x, 0.0), M.ne(y, x)),
    "logical": lambda M, F: lambda x, y: (
        M.logical_and(x > 0, y < 0.5), M.logical_or(y > 0, x > 0), M.logical_xor(x > y, x < 0),
        M.logical_not(x > 0), (x > 0) & (y > 0), (y > 0) | (x < 0), M.isnan(M.log(x)), (x / 0).isfinite(),
        M.isinf(x / (x.abs() > 0.5))),
    "where": lambda M, F: lambda x, y: (
        M.where(x > 0, x, y), M.where(y > 0, x, -x), M.where(x > y, 1.0, 0.0), M.where(y < 0, y, x[0]),
        x.where(x < y, y), M.where(x > 0, y, 2.0)),
    "masked_fill": lambda M, F: lambda x, y: (
        x.masked_fill(x > 0, 0.5), y.masked_fill(x > 0, -1.0), x.masked_fill(y < 0, 2.0),
        M.masked_fill(x, x[0] < 0, -3.0) if M is mt else x.masked_fill(x[0] < 0, -3.0)),
    "clamp_tensor_bounds": lambda M, F: lambda x, y: (
        M.clamp(x, min=y, max=y + 1), x.clamp(max=y * 0.5), y.clamp(min=x), x.clamp(min=x[0], max=x[1]),
        # a number next to a tensor bound (minitf takes it; torch wants both tensors)
        x.clamp(min=x[0], max=0.3 if M is mt else M.full_like(x[0], 0.3)),
        M.clamp(x, min=-0.2 if M is mt else M.full_like(y, -0.2), max=y.abs())),
    "cat_negative_dims": lambda M, F: lambda x, y: (M.cat([x, y], dim=-1), M.cat([y, x, x], dim=-2),
                                                    M.stack([x, y], dim=-3)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_function_rules(name, monkeypatch):
    check(PAIRS[name], [_arr(B, 2, 3, 4), _arr(2, 3, 4)], monkeypatch, in_dims=(0, None))
    check(PAIRS[name], [_arr(2, B, 3, 4), _arr(2, 3, 4, B)], monkeypatch, in_dims=(1, -1))   # both batched


def test_embedding_with_batched_indices_or_a_batched_table(monkeypatch):
    V_, C = 6, 3
    idx, table = rng.integers(0, V_, (B, 2, 5)), _arr(V_, C)
    check(lambda M, F: lambda i, w: (F.embedding(i, w), F.embedding(i[0], w, padding_idx=1)), [idx, table],
          monkeypatch, in_dims=(0, None))
    # per-example tables (B, V, C): with the indices batched and not
    tables = _arr(B, V_, C)
    check(lambda M, F: lambda i, w: F.embedding(i, w) * 2, [idx, tables], monkeypatch, in_dims=(0, 0))
    check(lambda M, F: lambda i, w: F.embedding(i, w), [idx[0], tables], monkeypatch, in_dims=(None, 0))
    check(lambda M, F: lambda i, w: F.embedding(i, w), [idx, np.moveaxis(tables, 0, 2)], monkeypatch, in_dims=(0, 2))
    # a padding row with a batched table: the loop (right, just not batched)
    check(lambda M, F: lambda i, w: F.embedding(i, w, padding_idx=0), [idx, tables], monkeypatch, batched=False)


def test_embedding_with_a_batched_table_refuses_an_index_past_the_example():
    # an index of V would read the next example's table from the stacked one: refused, as the loop
    idx = mt.tensor([[0, 3], [1, 2]])
    with pytest.raises(IndexError):
        vmap(F.embedding)(idx, mt.tensor(_arr(2, 3, 2)))


def test_per_example_gradients_through_embedding_where_and_masked_fill(monkeypatch):
    V_, C = 5, 3

    def make(M, F):
        def loss(w, i, x):
            e = F.embedding(i, w)                                   # (T, C)
            e = M.where(e > 0, e, 0.1 * e).masked_fill(x < -1.0, 0.0)
            return (M.clamp(e, min=x - 1, max=x + 1) * x).sum()
        return loss
    check(lambda M, F: (grad if M is mt else torch.func.grad)(make(M, F)),
          [_arr(V_, C), rng.integers(0, V_, (B, 4)), _arr(B, 4, C)], monkeypatch, in_dims=(None, 0, 0))

ATTENTION = {   # q, k, v: (B, H, T, D) batched, one example (H, T, D)
    "plain": lambda M, F: lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
    "causal_scaled": lambda M, F: lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                                    scale=0.3),
    "bool_mask": lambda M, F: lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=k[..., :1].mT > -1.0),
    "shared_mask_more_dims": lambda M, F: lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=M.tensor(np.arange(75).reshape(3, 1, 5, 5) % 4 != 1)),
    "float_mask": lambda M, F: lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=q @ k.mT * 0.1),
    "softmax_pieces": lambda M, F: lambda q, k, v: F.softmax(
        (q @ k.mT / 2.0).masked_fill(M.ones(5, 5, dtype=M.bool).triu(1), float("-inf")), dim=-1) @ v,
}


@pytest.mark.parametrize("name", sorted(ATTENTION))
def test_attention(name, monkeypatch):
    q, k, v = _arr(B, 2, 5, 4), _arr(B, 2, 5, 4), _arr(B, 2, 5, 3)
    check(ATTENTION[name], [q, k, v], monkeypatch)
    check(ATTENTION[name], [q, k[0], v[0]], monkeypatch, in_dims=(0, None, None))   # a shared key/value
    check(ATTENTION[name], [q[0, 0], k, v], monkeypatch, in_dims=(None, 0, 0))


def test_attention_dropout_stays_in_the_loop():
    q = mt.tensor(_arr(B, 3, 4), dtype="float64")
    out = vmap(lambda a: F.scaled_dot_product_attention(a, a, a, dropout_p=0.5), randomness="different")(q)
    assert isinstance(V.last_fallback, Unbatchable) and tuple(out.shape) == (B, 3, 4)


def test_advanced_indexing(monkeypatch):
    x, j = _arr(B, 3, 4), rng.integers(0, 3, (B, 2, 4))   # j: gather indices along dim 0 of an example
    cols, rows = np.array([3, 0, 3]), rng.integers(0, 4, (B, 5))
    # the index unbatched (a closure or in_dims None), the tensor batched
    check(lambda M, F: lambda x, j: (M.gather(x, 0, j), x.gather(-1, j[:, :3].mT), M.index_select(x, 1, j[0, :1]),
                                     x.index_select(-2, j[1, :2]), x[j[0, 0]], x[:, j[0, 0]], x[..., j[0]],
                                     x[j[0], j[1]]),
          [x, j[0]], monkeypatch, in_dims=(0, None))
    # the index batched: the tensor batched too, or not
    for in_dims, arrays in (((0, 0), [x, j]), ((None, 0), [x[0], j])):
        check(lambda M, F: lambda x, j: (M.gather(x, 0, j), x.gather(1, j[:, :3].mT)), arrays, monkeypatch,
              in_dims=in_dims)
    check(lambda M, F: lambda x, r: (M.index_select(x, 1, r), x.index_select(-1, r[:2])), [x, rows], monkeypatch,
          in_dims=(0, 0))
    check(lambda M, F: lambda x, r: M.index_select(x, 0, r[:2]), [x[0], rows % 3], monkeypatch, in_dims=(None, 0))
    # x[idx] with a batched idx (an example's rows of x), x batched or not
    check(lambda M, F: lambda x, r: (x[r], x[r[:2]], x[r[0]], x.T[r]), [x, rows % 3], monkeypatch, in_dims=(0, 0))
    check(lambda M, F: lambda x, r: x[r.reshape(1, 5)], [x[0], rows % 3], monkeypatch, in_dims=(None, 0))
    # index arrays apart (NumPy puts their dims first), a negative batched index: the loop, still right
    check(lambda M, F: lambda x: x[M.tensor([0, 2]), :, M.tensor([1, 3])] if M is mt
          else x[torch.tensor([0, 2]), :, torch.tensor([1, 3])], [_arr(B, 3, 2, 4)], monkeypatch, batched=False)
    check(lambda M, F: lambda x, c: x[c], [x, np.stack([cols % 3 - 3] * B)], monkeypatch, batched=False)


def test_per_example_gradients_through_gather_and_index_select(monkeypatch):
    def make(M, F):
        return lambda w, j, r: (M.gather(w, 1, j) ** 2).sum() + (w.index_select(0, r) * w[r]).sum()
    check(lambda M, F: (grad if M is mt else torch.func.grad)(make(M, F)),
          [_arr(3, 4), rng.integers(0, 4, (B, 3, 2)), rng.integers(0, 3, (B, 5))], monkeypatch, in_dims=(None, 0, 0))

def test_function_rules_on_the_devices_and_nested(device):
    # a small transformer-block piece: embedding of per-example tables, masked attention, a gather
    idx, tables, j = rng.integers(0, 6, (B, 3, 5)), _arr(B, 3, 6, 4), rng.integers(0, 5, (B, 3, 2, 4))

    def make(M, F):
        def block(i, w, j):
            e = F.embedding(i, w)                                       # (5, 4)
            a = F.scaled_dot_product_attention(e, e, e, attn_mask=e[:, :1] > e[:, 1:2].mT)
            return M.gather(M.where(a > 0, a, e), 0, j).clamp(min=e[:2] * 0.5)
        return block
    calls = [0]

    def counted(*a):
        calls[0] += 1
        return make(mt, F)(*a)
    args = [mt.tensor(a, device=device, dtype="float64" if a.dtype.kind == "f" else None) for a in (idx, tables, j)]
    ours = vmap(vmap(counted))(*args)                                     # (B, 3, 2, 4): two levels
    assert calls[0] == 1, V.last_fallback
    assert ours.device == device
    theirs = torch.func.vmap(torch.func.vmap(make(torch, TF)))(*[torch.tensor(a) for a in (idx, tables, j)])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_a_transformer_block(monkeypatch):
    # GPT-style: layer_norm, a fused qkv projection split into heads, causal attention, the heads
    # merged back with transpose().contiguous().view(), an MLP; the weights unbatched (closures)
    T, C, H = 5, 8, 2
    ws = [_arr(3 * C, C) * 0.3, _arr(C, C) * 0.3, _arr(16, C) * 0.3, _arr(C, 16) * 0.3]

    def make(M, F):
        wq, wo, w1, w2 = [M.tensor(w) for w in ws]

        def block(x):                                                   # (T, C)
            h = F.layer_norm(x, (C,))
            q, k, v = F.linear(h, wq).split(C, dim=-1)
            q, k, v = (M.transpose(t.view(T, H, C // H), 0, 1) for t in (q, k, v))   # (H, T, C/H)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + F.linear(a.transpose(0, 1).contiguous().view(T, C), wo)
            scores = (q @ k.mT).tril().masked_fill(M.ones(T, T, dtype=M.bool).triu(1), 0.0)
            return x + F.linear(F.gelu(F.linear(F.layer_norm(x, (C,)), w1)), w2), M.chunk(scores, 2, dim=-1)
        return block
    check(make, [_arr(B, T, C)], monkeypatch)


def test_nn_transformer_encoder_layer_runs_batched(monkeypatch):
    layer = mt.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    xs = mt.tensor(_arr(B, 3, 5, 8))
    calls = [0]

    def f(x):
        calls[0] += 1
        return layer(x)
    ours = vmap(f)(xs)
    assert calls[0] == 1, V.last_fallback
    np.testing.assert_allclose(ours.numpy(), _loop(layer, 0, 0, (xs,), monkeypatch).numpy(), rtol=1e-12, atol=1e-12)
