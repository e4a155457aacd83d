"""Higher-order gradients: mt.grad (torch.autograd.grad semantics), backward(create_graph=True),
gradgradcheck on every op, and each fused op's composed backward against its fused one."""

import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.autograd import Function
from minitf.backend import to_numpy
from minitf.ops import composed

from .conftest import device_tensor
from .test_ops_retain_graph import OPS

# ops the retain_graph table lacks: name -> f(x (3, 4), w (4,), b (4,), device)
EXTRA = {
    "to_device": lambda x, w, b, d: x.to("fake" if d == "cpu" else "cpu") * 3.0,
    "layer_norm_plain": lambda x, w, b, d: F.layer_norm(x),
    "cross_entropy_ignore": lambda x, w, b, d: F.cross_entropy(x, mt.tensor([3, -100, 1], device=d)),
    "max_all": lambda x, w, b, d: F.max(x),
    "min_all": lambda x, w, b, d: F.min(x * w),
    "attention_mask": lambda x, w, b, d: F.scaled_dot_product_attention(
        x[None], (x * w)[None], (x + b)[None], mask=mt.tensor([[1, 0, 1], [0, 0, 0], [1, 1, 0]], device=d) > 0),
    "multi_head": lambda x, w, b, d: F.multi_head_self_attention(
        F.concatenate([x, x * w, x + b], axis=1).reshape(1, 3, 12), n_head=2),
    "rnn_cell": lambda x, w, b, d: F.rnn_cell(x, x * w, F.stack([w, b, w * b, b - w]) * 0.5),
    "lstm_cell": lambda x, w, b, d: F.lstm_cell(
        F.concatenate([x, x * w, x + b, x - w], axis=1), F.stack([x * b, x]) * 0.5,
        F.concatenate([F.stack([w, b, w * b, b - w])] * 4) * 0.5),
    "rnn_sequence": lambda x, w, b, d: F.rnn_sequence(x.reshape(1, 3, 4), w[None], F.stack([w, b, w, b]) * 0.5)[0],
    "lstm_sequence": lambda x, w, b, d: F.lstm_sequence(
        F.concatenate([x, x * b], axis=1).reshape(1, 3, 8), None, F.stack([w[:2], b[:2]] * 4) * 0.5)[1],
    # the ops merged from main after these tools were written
    "abs": lambda x, w, b, d: mt.abs(x) * w,
    "clamp": lambda x, w, b, d: mt.clamp(x * w, -0.5, 0.7) * x,
    "pow_tensor": lambda x, w, b, d: mt.pow(x * x + 0.5, w),
    "pow_scalar_base": lambda x, w, b, d: mt.pow(2.0, x * w),
    "tril": lambda x, w, b, d: mt.tril(x * w, 1) * x,
    "triu": lambda x, w, b, d: mt.triu(x * w) * x,
    "clone": lambda x, w, b, d: mt.clone(x) * w,
    "contiguous": lambda x, w, b, d: x.T.contiguous() * x.T,
    "expand": lambda x, w, b, d: (x[:, :1] * w).expand(2, 3, 4) * b,
    "repeat": lambda x, w, b, d: x.repeat(2, 1, 3) * F.concatenate([w] * 3),
    "max_dim": lambda x, w, b, d: mt.max(x * w, dim=1).values * b[:3],
    "min_dim_keepdim": lambda x, w, b, d: mt.min(x * w, dim=0, keepdim=True).values * b,
    "amax_all": lambda x, w, b, d: mt.amax(x * w, dim=(0, 1)) * x,
    "amin": lambda x, w, b, d: mt.amin(x * w, dim=1) * b[:3],
    "norm": lambda x, w, b, d: mt.norm(x * w, dim=1) * b[:3],
    "norm_p3": lambda x, w, b, d: mt.norm(x, p=3, dim=0) * w,
    "std": lambda x, w, b, d: mt.std(x * w, dim=1),
    "std_all_keepdim": lambda x, w, b, d: mt.std(x * w, correction=0, keepdim=True) * x,
    "var": lambda x, w, b, d: F.var(x * w, axis=1, keepdims=True) * x,
    "var_all": lambda x, w, b, d: F.var(x * w, correction=2.5),
    "pad_constant": lambda x, w, b, d: F.pad(x * w, (1, -1, 2, 0), value=0.5) ** 2,
    "pad_reflect": lambda x, w, b, d: F.pad((x * w)[None], (2, 1), mode="reflect") * F.pad(x[None], (2, 1), mode="replicate"),
    "pad_circular": lambda x, w, b, d: F.pad((x * w)[None], (1, 2, 1, 0), mode="circular") ** 2,
    "index_put": lambda x, w, b, d: mt.ops.index_put(x * w, (mt.tensor([0, 2], device=d), slice(1, 3)), b[:2] * b[1:3]) ** 2,
    "setitem_recorded": lambda x, w, b, d: _setitem(x * w, b),
    "cross_entropy_weighted": lambda x, w, b, d: F.cross_entropy(
        x * w, mt.tensor([3, -100, 1], device=d), weight=mt.tensor([0.5, 1.0, 2.0, 1.5], dtype="float64", device=d)),
    "cross_entropy_smoothing_none": lambda x, w, b, d: F.cross_entropy(
        x * w, mt.tensor([3, 0, 1], device=d), label_smoothing=0.2, reduction="none"),
    "cross_entropy_soft": lambda x, w, b, d: F.cross_entropy(x * w, F.softmax(x * b, dim=-1), label_smoothing=0.1),
    "nll_loss": lambda x, w, b, d: F.nll_loss(F.log_softmax(x * w, dim=-1), mt.tensor([3, -100, 1], device=d), reduction="sum"),
    "mse_loss": lambda x, w, b, d: F.mse_loss(x * w, x * b),
    "layer_norm_2d": lambda x, w, b, d: F.layer_norm(x[None], (3, 4), x * w, x + b),
    "gelu_tail": lambda x, w, b, d: F.gelu(x * 6.0) * w,
    "sigmoid_tail": lambda x, w, b, d: F.sigmoid(x * 30.0) * w,
    "attention_float_mask": lambda x, w, b, d: F.scaled_dot_product_attention(
        x, x * w, x + b, attn_mask=(x[:, :3] * b[:3])),
    "attention_is_causal": lambda x, w, b, d: F.scaled_dot_product_attention(
        x[:2], x * w, x + b, is_causal=True),
    "embedding_padding": lambda x, w, b, d: F.embedding(mt.tensor([[2, 1], [0, 1]], device=d), x * w, padding_idx=1),
    "relu_rnn_cell": lambda x, w, b, d: F.rnn_cell(x, x * w, F.stack([w, b, w * b, b - w]) * 0.5, nonlinearity="relu"),
    "rnn_sequence_reverse": lambda x, w, b, d: F.rnn_sequence(
        x.reshape(1, 3, 4), w[None], F.stack([w, b, w, b]) * 0.5, nonlinearity="relu", reverse=True)[0],
    "lstm_sequence_reverse": lambda x, w, b, d: F.lstm_sequence(
        F.concatenate([x, x * b], axis=1).reshape(1, 3, 8), None, F.stack([w[:2], b[:2]] * 4) * 0.5,
        reverse=True)[0],
}


def _setitem(y, b):
    # an in-place change recorded in the graph (IndexPut), then ops that read the new value
    y = y * 1.0
    y[1] = b * b
    y *= b
    return y
ALL = {**OPS, **EXTRA}


def grad_values(t):
    """``t.grad`` (a Tensor) on the host."""
    return to_numpy(t.grad.data)


def _xwb(device, seed=0):
    rng = np.random.default_rng(seed)
    return (device_tensor(rng.standard_normal((3, 4)), device), device_tensor(rng.standard_normal(4), device),
            device_tensor(rng.standard_normal(4), device))


@pytest.mark.parametrize("name", sorted(ALL))
def test_gradgradcheck_every_op(device, name):
    x, w, b = _xwb(device)
    assert mt.gradgradcheck(lambda x, w, b: ALL[name](x, w, b, device), [x, w, b])


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


# ops without a second derivative on purpose: torch 2.13 has none either
# ("derivative for aten::_ctc_loss_backward is not implemented"); create_graph=True names the op
NO_DOUBLE_BACKWARD = {"CTC"}


def test_every_op_of_the_library_has_a_differentiable_backward():
    import importlib
    import pkgutil
    import minitf.ops
    for m in pkgutil.iter_modules(minitf.ops.__path__):   # the lazy groups too, whatever ran before
        importlib.import_module(f"minitf.ops.{m.name}")
    lacking = sorted(c.__qualname__ for c in _all_functions() if c.__module__.startswith("minitf.ops")
                     and c.backward_graph is None and c.__qualname__ not in NO_DOUBLE_BACKWARD)
    assert not lacking, f"ops without backward_graph (create_graph=True fails on them): {lacking}"


_NEG_INF = float("-inf")

# fused Function (-case) -> a call of the public op that records it (float64 inputs from _xwb)
FUSED = {
    "GELU": lambda x, w, b, d: F.gelu(x, approximate="tanh"),
    "GELUErf": lambda x, w, b, d: F.gelu(x),
    "GELUErf-tails": lambda x, w, b, d: F.gelu(x * 8.0),
    "SiLU": lambda x, w, b, d: F.silu(x),
    "Sigmoid": lambda x, w, b, d: F.sigmoid(x),
    "Sigmoid-tails": lambda x, w, b, d: F.sigmoid(x * 40.0),
    "CrossEntropy-all_ignored": lambda x, w, b, d: F.cross_entropy(x, mt.tensor([-100, -100, -100], device=d)),
    "WeightedCrossEntropy": lambda x, w, b, d: F.cross_entropy(
        x, mt.tensor([3, -100, 1], device=d), weight=mt.tensor([0.5, 1.0, 2.0, 1.5], dtype="float64", device=d)),
    "WeightedCrossEntropy-smoothing_sum": lambda x, w, b, d: F.cross_entropy(
        x, mt.tensor([3, 0, -100], device=d), label_smoothing=0.1, reduction="sum"),
    "WeightedCrossEntropy-none": lambda x, w, b, d: F.cross_entropy(
        x, mt.tensor([3, 0, -100], device=d), reduction="none"),
    "WeightedCrossEntropy-all_ignored": lambda x, w, b, d: F.cross_entropy(
        x, mt.tensor([-100, -100, -100], device=d), weight=mt.tensor([0.5, 1.0, 2.0, 1.5], dtype="float64", device=d)),
    "WeightedCrossEntropy-soft": lambda x, w, b, d: F.cross_entropy(
        x, F.softmax(x * w + b, dim=-1), weight=mt.tensor([0.5, 1.0, 2.0, 1.5], dtype="float64", device=d),
        label_smoothing=0.2),
    "NLLLoss": lambda x, w, b, d: F.nll_loss(
        F.log_softmax(x, dim=-1), mt.tensor([3, -100, 1], device=d), weight=mt.tensor([0.5, 1.0, 2.0, 1.5], dtype="float64", device=d)),
    "NLLLoss-none": lambda x, w, b, d: F.nll_loss(x, mt.tensor([3, 0, 1], device=d), reduction="none"),
    "Embedding-padding": lambda x, w, b, d: F.embedding(mt.tensor([[2, 1], [0, 1]], device=d), x, padding_idx=1),
    "ScaledDotProductAttention-float_mask": lambda x, w, b, d: F.scaled_dot_product_attention(
        x, x * w, x + b, attn_mask=x[:, :3] * b[:3]),
    "ScaledDotProductAttention-float_mask_inf": lambda x, w, b, d: F.scaled_dot_product_attention(
        x, x * w, x + b, attn_mask=mt.tensor([[0.0, _NEG_INF, 0.5], [_NEG_INF] * 3, [1.0, 0.0, _NEG_INF]],
                                             dtype="float64", device=d)),
    "ScaledDotProductAttention-is_causal": lambda x, w, b, d: F.scaled_dot_product_attention(
        x[:2], x * w, x + b, is_causal=True),
    "ReLURNNCell": lambda x, w, b, d: F.rnn_cell(x, x * w, F.stack([w, b, w * b, b - w]) * 0.5, nonlinearity="relu"),
    "Softmax": lambda x, w, b, d: F.softmax(x, axis=0),
    "LogSoftmax": lambda x, w, b, d: F.log_softmax(x, dim=-1),
    "CrossEntropy": lambda x, w, b, d: F.cross_entropy(x, mt.tensor([3, -100, 1], device=d)),
    "LayerNorm": lambda x, w, b, d: F.layer_norm(x, w, b),
    "Embedding": lambda x, w, b, d: F.embedding(mt.tensor([[2, 2], [0, 1]], device=d), x),
    "Dropout": lambda x, w, b, d: F.dropout(x, 0.5, generator=backend.default_rng(d, 0)),
    "Linear": lambda x, w, b, d: F.linear(x, F.stack([w, b, w * b]), b[:3]),
    "ScaledDotProductAttention": lambda x, w, b, d: F.scaled_dot_product_attention(
        x, x * w, x + b, causal=True, dropout_p=0.25, generator=backend.default_rng(d, 0)),
    "MultiHeadSelfAttention": EXTRA["multi_head"],
    "RNNCell": EXTRA["rnn_cell"],
    "LSTMCell": EXTRA["lstm_cell"],
}


def test_every_fused_op_has_a_composition_case():
    assert sorted(c.__name__ for c in composed.COMPOSED) == sorted({k.split("-")[0] for k in FUSED})


@pytest.mark.parametrize("name", sorted(FUSED))
def test_composed_backward_agrees_with_the_fused_one(device, name):
    # two independent derivations of one gradient: the fused array backward and the
    # primitive-op composition (create_graph=True runs the latter)
    _composed_agrees(device, name)


def _composed_agrees(device, name):
    x, w, b = _xwb(device, seed=3)
    y = FUSED[name](x, w, b, device)
    fused_cls = type(y._fn)
    assert fused_cls.__name__ == name.split("-")[0]
    ref = fused_cls.composed(*y._fn.inputs, **y._fn.params)
    np.testing.assert_allclose(to_numpy(ref.data), to_numpy(y.data), rtol=1e-12, atol=1e-14)
    u = device_tensor(np.random.default_rng(4).standard_normal(y.shape), device, requires_grad=False)
    leaves = [t for t in (x, w, b)]
    fused = mt.grad(y, leaves, u, retain_graph=True, allow_unused=True)
    comp = mt.grad(y, leaves, u, create_graph=True, allow_unused=True)
    assert any(g is not None for g in fused)
    for f, c in zip(fused, comp):
        assert (f is None) == (c is None)
        if f is not None:
            np.testing.assert_allclose(to_numpy(c.data), to_numpy(f.data), rtol=1e-11, atol=1e-13)


# --------------------------------------------------------------------------- semantics
def test_hessian_vector_product_matches_finite_differences(device):
    rng = np.random.default_rng(0)
    A = device_tensor(rng.standard_normal((4, 4)), device, requires_grad=False)

    def f(x):
        return (F.tanh(A @ x) ** 2).sum() + (x * x * x).sum()

    x = device_tensor(rng.standard_normal(4), device)
    v = rng.standard_normal(4)
    g, = mt.grad(f(x), x, create_graph=True)
    hv, = mt.grad(g, x, grad_outputs=device_tensor(v, device, requires_grad=False))

    def grad_at(x_host):
        xt = device_tensor(x_host, device)
        return to_numpy(mt.grad(f(xt), xt)[0].data)

    eps = 1e-6
    numeric = (grad_at(x.numpy() + eps * v) - grad_at(x.numpy() - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_second_derivative_through_a_dtype_cast(device):
    # finite differences cannot see through float32 rounding, so astype is checked on its own
    x = device_tensor([0.5, -1.5, 2.0], device)
    g, = mt.grad((x.to(dtype="float32") ** 3).to(dtype="float64").sum(), x, create_graph=True)
    assert g.dtype == np.float64 and g.requires_grad
    h, = mt.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy(), rtol=1e-6)  # float32 intermediates


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = mt.tensor(3.0, dtype="float64", requires_grad=True)
    z = (x * y).sum()
    gx, gy = mt.grad(z, [x, y])
    assert x.grad is None and y.grad is None
    assert gx.tolist() == [3.0, 3.0] and gy.item() == 3.0
    assert not gx.requires_grad
    assert isinstance(mt.grad((x * 2).sum(), x), tuple)
    with pytest.raises(RuntimeError, match="second time"):  # retain_graph defaults to create_graph=False
        mt.grad(z, x)


def test_grad_of_a_non_leaf_and_several_outputs():
    x = mt.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    h = x * 3.0
    a, b = (h * h).sum(), h.sum()
    gh, gx = mt.grad([a, b], [h, x], grad_outputs=[None, mt.tensor(2.0, dtype="float64")])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy() + 2.0)
    np.testing.assert_allclose(gx.numpy(), 3 * (2 * h.numpy() + 2.0))


def test_grad_unused_input_and_bad_arguments():
    x = mt.tensor([1.0], dtype="float64", requires_grad=True)
    unused = mt.tensor([1.0], dtype="float64", requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="input 1 .* not used .*allow_unused=True"):
        mt.grad(y, [x, unused], retain_graph=True)
    assert mt.grad(y, [x, unused], allow_unused=True, retain_graph=True)[1] is None
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        mt.grad(y, [mt.tensor([1.0])], retain_graph=True)
    with pytest.raises(RuntimeError, match="one-element outputs"):
        mt.grad(F.concatenate([x, x]), x)
    with pytest.raises(ValueError, match="grad_outputs\\[0\\] has shape"):
        mt.grad(y, x, grad_outputs=mt.tensor([1.0, 2.0]))


def test_backward_create_graph_makes_dot_grad_differentiable():
    x = mt.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert isinstance(g, mt.Tensor) and g.requires_grad
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    x.grad = None
    g.sum().backward()  # d/dx sum(3 x^2) = 6 x
    np.testing.assert_allclose(grad_values(x), 6 * x.numpy())


def test_gradient_penalty_trains_the_penalised_parameter():
    # the penalty ||d out / d x||^2 depends on w only through the gradient (double backprop);
    # its gradient in w is checked against finite differences of the penalty
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.standard_normal((5, 3)), dtype="float64", requires_grad=True)
    w = mt.tensor(rng.standard_normal(3), dtype="float64", requires_grad=True)

    def penalty(w):
        with mt.enable_grad():  # gradcheck's numeric side runs under no_grad()
            gx, = mt.grad(F.tanh(x @ w).sum(), x, create_graph=True)
        return (gx * gx).sum()

    assert mt.gradcheck(penalty, [w])


def test_create_graph_on_an_op_without_backward_graph_names_it():
    class Cube(Function):
        def forward(self, x):
            self.x = x
            return x ** 3

        def backward(self, g):
            return (3 * g * self.x ** 2,)

    x = mt.tensor([1.0], dtype="float64", requires_grad=True)
    y = Cube.apply(x).sum()
    with pytest.raises(RuntimeError, match="the op Cube has no differentiable backward"):
        y.backward(create_graph=True)
    mt.grad(Cube.apply(x).sum(), x)  # a plain backward is fine


def test_gradgradcheck_catches_a_wrong_second_derivative():
    from minitf.ops import elementwise

    class Tanh2(elementwise.Tanh):
        def backward_graph(self, g):  # values right, but y held constant: d2 wrong
            y = F.tanh(self.inputs[0]).detach()
            return (g * (1 - y * y),)

    x = mt.tensor(np.linspace(-1, 1, 5), dtype="float64", requires_grad=True)
    assert mt.gradgradcheck(F.tanh, [x])
    with pytest.raises(mt.GradcheckError):
        mt.gradgradcheck(Tanh2.apply, [x])


def test_grad_matches_torch_autograd_grad():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    x = mt.tensor(a, dtype="float64", requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    g, = mt.grad((F.softmax(x, dim=-1) * x).sum(), x, create_graph=True)
    h, = mt.grad((g * g).sum(), x)
    gt, = torch.autograd.grad((torch.softmax(xt, -1) * xt).sum(), xt, create_graph=True)
    ht, = torch.autograd.grad((gt * gt).sum(), xt)
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-10)


def test_enable_grad_inside_no_grad_as_context_and_decorator():
    x = mt.tensor([1.0], requires_grad=True)

    @mt.enable_grad()
    def recorded(t):
        return t * 2.0

    with mt.no_grad():
        assert not (x * 2.0).requires_grad
        with mt.enable_grad():
            assert (x * 2.0).requires_grad and mt.is_grad_enabled()
        assert not mt.is_grad_enabled()
        assert recorded(x).requires_grad and not mt.is_grad_enabled()


def test_hessian_vector_product_through_a_tiny_gpt():
    # double backprop through every layer of the language model (embedding, layer_norm,
    # linear, multi-head attention, gelu, cross_entropy), against finite differences
    from minitf import models
    mt.manual_seed(0)
    model = models.GPT(models.GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=8)).to(dtype="float64")
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    idx, tgt = mt.tensor(rng.integers(0, 5, (2, 4))), mt.tensor(rng.integers(0, 5, (2, 4)))
    vs = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum((v * v).sum() for v in vs))
    vs = [v / norm for v in vs]  # a unit direction: the difference step is eps in total

    def loss():
        return F.cross_entropy(model(idx).flatten(0, 1), tgt.flatten())

    gs = mt.grad(loss(), params, create_graph=True)
    dot = sum((g * mt.tensor(v, dtype="float64")).sum() for g, v in zip(gs, vs))
    hv = mt.grad(dot, params, allow_unused=True)

    eps = 1e-4

    def grads_at(sign):
        with mt.no_grad():
            for p, v in zip(params, vs):
                p.data += sign * eps * v
        out = [to_numpy(g.data) for g in mt.grad(loss(), params)]
        with mt.no_grad():
            for p, v in zip(params, vs):
                p.data -= sign * eps * v
        return out

    plus, minus = grads_at(1), grads_at(-1)
    for h, a, b in zip(hv, plus, minus):
        numeric = (a - b) / (2 * eps)
        got = np.zeros_like(numeric) if h is None else to_numpy(h.data)
        np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sa, sb", [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((4,), (2, 4, 3)), ((2, 3, 4), (4,))])
def test_gradgradcheck_matmul_every_operand_layout(device, sa, sb):
    # the 1-D promotions and broadcast batch dims each take their own branch of backward_graph
    rng = np.random.default_rng(0)
    a, b = device_tensor(rng.standard_normal(sa), device), device_tensor(rng.standard_normal(sb), device)
    assert mt.gradgradcheck(lambda a, b: F.tanh(a @ b), [a, b])


@pytest.mark.parametrize("sa, sb", [((3, 1), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3))])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_gradgradcheck_broadcasting(device, sa, sb, op):
    # gradients summed back to each input's shape in recorded ops (the engine's sum_to)
    rng = np.random.default_rng(1)
    a = device_tensor(rng.standard_normal(sa), device)
    b = device_tensor(rng.uniform(0.5, 1.5, sb), device)  # away from 0 for div
    assert mt.gradgradcheck(lambda a, b: getattr(F, op)(a, b) * a, [a, b])


def test_third_derivative_through_indexing_and_reductions(device):
    # the backward of a backward is recorded too: getitem <-> scatter, sum <-> broadcast_to
    x = device_tensor([0.5, -1.0, 2.0], device)
    idx = mt.tensor([2, 0, 2], device=device)  # repeated: scatter must accumulate
    g1, = mt.grad((x[idx] ** 4).mean(), x, create_graph=True)
    g2, = mt.grad(g1.sum(), x, create_graph=True)
    g3, = mt.grad(g2.sum(), x)
    counts = np.array([1.0, 0.0, 2.0])  # how often each element is picked
    np.testing.assert_allclose(g1.numpy(), counts * 4 * x.numpy() ** 3 / 3)
    np.testing.assert_allclose(g2.numpy(), counts * 12 * x.numpy() ** 2 / 3)
    np.testing.assert_allclose(g3.numpy(), counts * 24 * x.numpy() / 3)


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_second_grad_through_relu_and_abs_alone_is_zero_as_torch(device, name):
    """relu' and |x|' are piecewise constant, but torch records them on x: grad of the first
    gradient w.r.t. x is zeros, where minitf used to raise that the gradient does not require grad."""
    x = mt.tensor([-1.5, 2.0, 0.5], device=device, dtype=mt.float64, requires_grad=True)
    f = getattr(mt, name)
    (g,) = mt.grad(f(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = mt.grad(g.sum(), x)
    assert backend.to_numpy(h.data).tolist() == [0.0, 0.0, 0.0]
    (g2,) = mt.grad((f(x) * x).sum(), x, create_graph=True)      # d/dx (f'(x) x + f(x)) = 2 f'(x)
    (h2,) = mt.grad(g2.sum(), x)
    expected = [0.0, 2.0, 2.0] if name == "relu" else [-2.0, 2.0, 2.0]
    assert backend.to_numpy(h2.data).tolist() == expected


def test_second_grad_through_relu_and_abs_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ("relu", "abs"):
        x = torch.tensor([-1.5, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(getattr(torch, name)(x).sum(), x, create_graph=True)
        h = torch.autograd.grad(g.sum(), x)[0] + torch.zeros(3, dtype=torch.float64)  # (torch's zeros: no storage)
        assert g.requires_grad and h.tolist() == [0.0, 0.0, 0.0]


def test_piecewise_constant_scale_gradchecks(device):
    """The op behind relu' and |x|' under create_graph: d/dg = m, d/dx = 0, to second order."""
    from minitf.ops.elementwise import PiecewiseConstantScale
    rng = np.random.default_rng(5)
    m = backend.array_module(device).asarray(np.sign(rng.standard_normal((3, 4))))
    g, x = (mt.tensor(rng.standard_normal((3, 4)), dtype=mt.float64, device=device, requires_grad=True)
            for _ in range(2))
    fn = lambda g, x: PiecewiseConstantScale.apply(g, x, m=m)    # noqa: E731
    assert mt.gradcheck(fn, (g, x)) and mt.gradgradcheck(fn, (g, x))


def test_an_op_without_a_second_derivative_says_so():
    lp = F.log_softmax(mt.tensor(np.random.default_rng(0).standard_normal((5, 1, 4)), requires_grad=True), dim=-1)
    loss = F.ctc_loss(lp, mt.tensor([[1, 2]]), mt.tensor([5]), mt.tensor([2]))
    with pytest.raises(RuntimeError, match="CTC"):
        mt.grad(loss, lp, create_graph=True)


def test_grad_materialize_grads_gives_zeros_for_unused_inputs_as_torch():
    x = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    unused = mt.tensor([[1.0, 3.0, 4.0]], dtype="float32", requires_grad=True)
    y = (x * 2).sum()
    gx, gu = mt.grad(y, [x, unused], materialize_grads=True, retain_graph=True)
    assert gx.tolist() == [2.0, 2.0]
    assert gu.shape == (1, 3) and gu.dtype == mt.float32 and gu.tolist() == [[0.0, 0.0, 0.0]]
    assert not gu.requires_grad
    _, gu = mt.grad(y, [x, unused], materialize_grads=True, allow_unused=True, create_graph=True)
    assert gu.requires_grad and gu.is_leaf and gu.tolist() == [[0.0, 0.0, 0.0]]   # (torch: zeros_like(requires_grad=True))
    with pytest.raises(ValueError, match="allow_unused to be True or not passed when materialize_grads=True"):
        mt.grad(y, [x, unused], materialize_grads=True, allow_unused=False)
