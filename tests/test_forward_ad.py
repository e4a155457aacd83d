"""Forward-mode AD (minitf.autograd.forward_ad): tangents against torch's forward AD and against
the double-vjp identity of reverse mode (func.reverse_jvp.jvp_by_double_vjp) for every op of the op tables, the
level rules, views and in-place changes of duals, custom Functions' jvp."""
import numpy as np
import pytest

import minitf as mt
import minitf.autograd.forward_ad as fwAD
from minitf import functional as F
from minitf.backend import to_numpy
from minitf.func.reverse_jvp import jvp_by_double_vjp   # reverse mode: the independent derivation

from .conftest import device_tensor
from .test_higher_order import ALL


def _tangent(y):
    return to_numpy(fwAD.unpack_dual(y).tangent.data)


def _forward(f, primals, tangents):
    with fwAD.dual_level():
        out = f(*[fwAD.make_dual(p, t) for p, t in zip(primals, tangents)])
        return to_numpy(out.data), _tangent(out)


def _eye(x, d):
    return 3 * mt.eye(3, dtype=x.dtype, device=d)


# the main ops of the op modules the retain_graph / higher-order tables leave out: f(x (3, 4), w (4,), b (4,), device)
MORE = {
    "conv2d": lambda x, w, b, d: F.conv2d(x.reshape(1, 1, 3, 4), (w[:, None] * b).reshape(1, 1, 4, 4)[..., :2, :2]),
    "max_pool2d": lambda x, w, b, d: F.max_pool2d((x * w).reshape(1, 1, 3, 4), 2),
    "avg_pool1d": lambda x, w, b, d: F.avg_pool1d((x * w)[None], 2),
    "einsum": lambda x, w, b, d: mt.einsum("ij,j,j->i", x, w, b),
    "cumsum_cumprod": lambda x, w, b, d: mt.cumsum(x * w, dim=1) + mt.cumprod(x * b, dim=0),
    "sort_topk": lambda x, w, b, d: mt.sort(x * w, dim=1).values[:, :2] + mt.topk(x * b, 2).values,
    "inv": lambda x, w, b, d: mt.linalg.inv(x[:, :3] * w[:3] + _eye(x, d)),
    "det_solve": lambda x, w, b, d: mt.linalg.det(x[:, :3] + _eye(x, d)) * mt.linalg.solve(x[:, 1:] + _eye(x, d), w[:3]),
    "qr_cholesky": lambda x, w, b, d: mt.linalg.qr(x * w)[1][:, :3] + mt.linalg.cholesky(x @ x.T + _eye(x, d)),
    "svdvals_eigvalsh": lambda x, w, b, d: mt.linalg.svdvals(x * w) + mt.linalg.eigvalsh(x @ x.T + mt.diag(b[:3])),
    "lgamma_erf": lambda x, w, b, d: mt.lgamma(x * x + 1.0) + mt.erf(x * w),
    "atan2_hypot": lambda x, w, b, d: mt.atan2(x, w + 2.0) + mt.hypot(x, b),
    "logsumexp": lambda x, w, b, d: mt.logsumexp(x * w, dim=1),
    "interpolate": lambda x, w, b, d: F.interpolate((x * w)[None], scale_factor=2, mode="linear"),
    "gather_scatter": lambda x, w, b, d: mt.gather(x * w, 1, mt.tensor([[0, 1], [2, 3], [1, 1]], device=d)) + mt.zeros(
        3, 4, dtype=x.dtype, device=d).scatter_add(1, mt.tensor([[0, 1], [2, 3], [1, 1]], device=d), x[:, :2] * b[:2])[:, 1:3],
    "index_select": lambda x, w, b, d: mt.index_select(x * w, 0, mt.tensor([2, 0], device=d)),
    "diagonal_trace": lambda x, w, b, d: mt.diagonal(x * w) * mt.trace(x[:, :3]),
    "batch_group_rms_norm": lambda x, w, b, d: F.batch_norm(x, None, None, w, b, training=True) + F.group_norm(
        x.reshape(1, 4, 3), 2, w, b).reshape(3, 4) + F.rms_norm(x, (4,), w),
    "minimum_maximum_clamp": lambda x, w, b, d: mt.minimum(x, w) + mt.maximum(x, b) + mt.clamp(x, min=w),
    "trig_abs": lambda x, w, b, d: mt.abs(x) * mt.sin(w) + mt.cos(x),
    "softplus_elu": lambda x, w, b, d: F.softplus(x) + F.elu(x * w),
    "cosine_similarity_cdist": lambda x, w, b, d: F.cosine_similarity(x, w[None], dim=1) + mt.cdist(x, x * w).sum(1),
    "unfold": lambda x, w, b, d: F.unfold((x * w).reshape(1, 1, 3, 4), 2),
    "kl_huber_bce": lambda x, w, b, d: F.kl_div(F.log_softmax(x, dim=1), F.softmax(x * w, dim=1), reduction="batchmean")
        + F.huber_loss(x, x * w + b) + F.binary_cross_entropy_with_logits(x, F.sigmoid(x * w)),
    "tensordot_outer": lambda x, w, b, d: mt.tensordot(x, x * w, dims=([1], [1])).sum(0) + mt.outer(w, b)[:3, 0],
    "promotion": lambda x, w, b, d: x.to(dtype=mt.float32) * w + F.soft_margin_loss(w, b.to(dtype=mt.float32)),
    "gru_sequence": lambda x, w, b, d: F.gru_sequence(F.concatenate([x, x * w, x + b], 1).reshape(2, 3, 6), None,
                                                      F.stack([w[:2], b[:2], w[2:]] * 2) * 0.5, b[:3].repeat(2))[0],
    "norms": lambda x, w, b, d: mt.linalg.norm(x * w) * mt.linalg.vector_norm(b, ord=3),
}


def _grads(y, wrt, c):
    if not y.requires_grad:   # (a tangent independent of the primals: a linear or piecewise-linear op)
        return [np.zeros(x.shape) for x in wrt]
    gs = mt.grad((y * c).sum(), wrt, retain_graph=True, allow_unused=True)
    return [np.zeros(x.shape) if g is None else to_numpy(g.data) for g, x in zip(gs, wrt)]


@pytest.mark.parametrize("mode", ["grad", "no_grad", "recorded"])
@pytest.mark.parametrize("name", sorted({**ALL, **MORE}))
def test_every_op_tangent_equals_func_jvp(device, name, mode):
    # two derivations of J t: op by op (forward AD) and from the whole recorded graph (func.jvp);
    # "recorded": the primals require grad, and the graphs of the output and of its tangent give
    # the gradients reverse mode gives without forward AD (the node forward AD records is the op's)
    if name == "embedding_padding":   # torch's tangent passes the padding row's (its gradient does not):
        pytest.skip("checked against torch in tests/test_forward_fused.py")   # the double vjp gives 0 there
    rng = np.random.default_rng(0)
    recorded = mode == "recorded"
    primals = [device_tensor(rng.standard_normal(s), device, requires_grad=recorded) for s in ((3, 4), (4,), (4,))]
    tangents = [device_tensor(rng.standard_normal(p.shape), device, requires_grad=False) for p in primals]

    def f(x, w, b):
        return {**ALL, **MORE}[name](x, w, b, device)

    with fwAD.dual_level():
        with mt.set_grad_enabled(mode != "no_grad"):
            out = f(*[fwAD.make_dual(p, t) for p, t in zip(primals, tangents)])
        tangent = fwAD.unpack_dual(out).tangent
    ref_value, ref_tangent = jvp_by_double_vjp(f, tuple(primals), tuple(tangents))
    np.testing.assert_allclose(to_numpy(out.data), to_numpy(ref_value.data), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(to_numpy(tangent.data), to_numpy(ref_tangent.data), rtol=1e-12, atol=1e-12)
    assert out.requires_grad == recorded and (recorded or not tangent.requires_grad)
    if recorded:
        c = device_tensor(rng.standard_normal(out.shape), out.device, requires_grad=False)
        for got, want in zip(_grads(out, primals, c) + _grads(tangent, primals, c),
                             _grads(ref_value, primals, c) + _grads(ref_tangent, primals, c)):
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


# minitf function, torch function (same arguments)
TORCH_OPS = {
    "mul_add": (lambda x, w: x * w + x, lambda x, w: x * w + x),
    "div_pow": (lambda x, w: x / (w * w + 1.0) + x ** 3, lambda x, w: x / (w * w + 1.0) + x ** 3),
    "matmul": (lambda x, w: x @ w, lambda x, w: x @ w),
    "exp_log": (lambda x, w: F.exp(x) + F.log(w * w + 0.5), None),
    "tanh_sigmoid": (lambda x, w: F.tanh(x) * F.sigmoid(w), None),
    "gelu": (lambda x, w: F.gelu(x * w), lambda x, w: __import__("torch").nn.functional.gelu(x * w)),
    "softmax": (lambda x, w: F.softmax(x * w, dim=-1), lambda x, w: (x * w).softmax(-1)),
    "log_softmax": (lambda x, w: F.log_softmax(x, dim=0), lambda x, w: x.log_softmax(0)),
    "layer_norm": (lambda x, w: F.layer_norm(x, (4,), w, w + 1.0),
                   lambda x, w: __import__("torch").nn.functional.layer_norm(x, (4,), w, w + 1.0)),
    "sum_mean": (lambda x, w: x.sum(0) * w.mean(), lambda x, w: x.sum(0) * w.mean()),
    "views": (lambda x, w: x.T.reshape(2, 6)[1, 2:] * 2.0, lambda x, w: x.T.reshape(2, 6)[1, 2:] * 2.0),
    "cat_where": (lambda x, w: mt.cat([mt.where(x > 0, x, w), x]), None),
    "amax_relu": (lambda x, w: F.amax(F.relu(x * w), axis=1), lambda x, w: (x * w).relu().amax(1)),
}


def _torch_forward(ft, primals, tangents):
    import torch
    import torch.autograd.forward_ad as tfw
    with tfw.dual_level():
        out = ft(*[tfw.make_dual(torch.tensor(to_numpy(p.data)), torch.tensor(to_numpy(t.data)))
                   for p, t in zip(primals, tangents)])
        return tfw.unpack_dual(out).tangent.numpy()


_TORCH_EQUIV = {"exp_log": lambda x, w: x.exp() + (w * w + 0.5).log(),
                "tanh_sigmoid": lambda x, w: x.tanh() * w.sigmoid(),
                "cat_where": lambda x, w: __import__("torch").cat([__import__("torch").where(x > 0, x, w), x])}


@pytest.mark.parametrize("name", sorted(TORCH_OPS))
def test_tangents_equal_torch_forward_ad(name):
    pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    primals = [mt.tensor(rng.standard_normal((3, 4))), mt.tensor(rng.standard_normal(4))]
    tangents = [mt.tensor(rng.standard_normal(p.shape)) for p in primals]
    f, ft = TORCH_OPS[name]
    _, got = _forward(f, primals, tangents)
    want = _torch_forward(ft or _TORCH_EQUIV[name], primals, tangents)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def _mlp_and_block(torch_mode):
    """(f, params as float64 arrays): an MLP, then a LayerNorm + causal self-attention block, in
    minitf or torch (the same code on both)."""
    if torch_mode:
        import torch
        nnF, sdpa = torch.nn.functional, torch.nn.functional.scaled_dot_product_attention
    else:
        nnF, sdpa = F, F.scaled_dot_product_attention

    def f(x, w1, b1, w2, g, bb, wq):
        h = nnF.linear(nnF.gelu(nnF.linear(x, w1, b1)), w2)      # (2, 5, 8)
        n = nnF.layer_norm(h, (8,), g, bb)
        q, k, v = (n @ wq).split(8, dim=-1) if torch_mode else (n @ wq).split(8, -1)
        a = sdpa(q, k, v, is_causal=True)
        return (h + a).tanh() if torch_mode else F.tanh(h + a)
    return f


def test_mlp_and_attention_block_tangents_equal_torch_and_func_jvp():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    rng = np.random.default_rng(2)
    shapes = [(2, 5, 6), (16, 6), (16,), (8, 16), (8,), (8,), (8, 24)]
    arrays = [rng.standard_normal(s) * 0.5 for s in shapes]
    tarrays = [rng.standard_normal(s) for s in shapes]
    primals = [mt.tensor(a) for a in arrays]
    tangents = [mt.tensor(a) for a in tarrays]
    f = _mlp_and_block(False)
    _, got = _forward(f, primals, tangents)
    with tfw.dual_level():
        out = _mlp_and_block(True)(*[tfw.make_dual(torch.tensor(a), torch.tensor(t)) for a, t in zip(arrays, tarrays)])
        want = tfw.unpack_dual(out).tangent.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    _, ref = jvp_by_double_vjp(f, tuple(primals), tuple(tangents))
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- levels and duals
def test_levels_follow_torch_rules():
    x, t = mt.tensor([1.0, 2.0]), mt.tensor([0.5, -1.0])
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, t)
    with pytest.raises(RuntimeError, match="no forward AD level is open"):
        fwAD.exit_dual_level()
    with fwAD.dual_level() as level:
        assert level == 0
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="not the last one"):
            fwAD.exit_dual_level(level=3)
        d = fwAD.make_dual(x, t)
        unpacked = fwAD.unpack_dual(d)
        assert isinstance(unpacked, fwAD.UnpackedDualTensor) and unpacked._fields == ("primal", "tangent")
        assert unpacked.tangent is t and unpacked.primal is not x
        assert fwAD.unpack_dual(unpacked.primal).tangent is None   # the primal is a view without it
        assert fwAD.unpack_dual(x).tangent is None                  # make_dual made a new tensor
        assert fwAD.unpack_dual(d.detach()).tangent is None         # detach drops the tangent (torch)
        assert fwAD.unpack_dual(d, level=0).tangent is t
        with pytest.raises(RuntimeError, match="already has a forward gradient"):
            fwAD.make_dual(d, t)
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, mt.tensor([1.0, 2.0, 3.0]))
        with pytest.raises(ValueError, match="floating point"):
            fwAD.make_dual(mt.tensor([1, 2]), t)
        with pytest.raises(ValueError, match="tangent to be floating point"):
            fwAD.make_dual(x, mt.tensor([1, 2]))
        with pytest.raises(TypeError, match="must be Tensor"):
            fwAD.unpack_dual(3.0)
        assert fwAD.unpack_dual(d > 0).tangent is None and fwAD.unpack_dual(d.argmax()).tangent is None
    assert fwAD.unpack_dual(d).tangent is None   # the level's tangents went with it
    level = fwAD.enter_dual_level()              # a new level after the exit: 0 again
    assert level == 0 and fwAD.unpack_dual(d).tangent is None
    fwAD.exit_dual_level(level=0)

    @fwAD.dual_level()
    def decorated(p):
        return _tangent(fwAD.make_dual(p, t) * 3.0)
    np.testing.assert_allclose(decorated(x), 3 * t.numpy())


def test_tangents_under_no_grad_and_differentiable_under_grad():
    x = mt.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
    t = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    with fwAD.dual_level():
        with mt.no_grad():
            y = F.exp(fwAD.make_dual(x, t)) * 2.0
            assert not y.requires_grad
            np.testing.assert_allclose(_tangent(y), 2 * np.exp(x.detach().numpy()) * t.detach().numpy())
        y = (fwAD.make_dual(x, t) * fwAD.make_dual(x, t)).sum()   # sum x^2: tangent 2 x t
        yt = fwAD.unpack_dual(y).tangent
        assert y.requires_grad and yt.requires_grad
        yt.backward()   # d(2 x t)/dx = 2 t, d/dt = 2 x
    np.testing.assert_allclose(x.grad.numpy(), 2 * t.detach().numpy())
    np.testing.assert_allclose(t.grad.numpy(), 2 * x.detach().numpy())


def test_forward_over_reverse_hessian_vector_product():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, v = rng.standard_normal(5), rng.standard_normal(5)
    x = mt.tensor(a, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, mt.tensor(v))
        g, = mt.grad((F.tanh(d) ** 3).sum(), d, create_graph=True)
        hv = _tangent(g)
    xt = torch.tensor(a, requires_grad=True)
    gt, = torch.autograd.grad((xt.tanh() ** 3).sum(), xt, create_graph=True)
    ht, = torch.autograd.grad(gt, xt, torch.tensor(v))
    np.testing.assert_allclose(hv, ht.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- views and in place
def test_views_share_the_tangent_and_in_place_ops_update_it():
    x, t = mt.tensor([0.0, 1.0, 2.0, 3.0]), mt.tensor([1.0, 1.0, 1.0, 1.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x.clone(), t)
        v = d[1:]
        assert np.shares_memory(fwAD.unpack_dual(v).tangent.data, t.data)
        d.mul_(2.0)                                            # (torch's: the tangent doubles in place)
        assert fwAD.unpack_dual(d).tangent.tolist() == [2.0] * 4 and t.tolist() == [2.0] * 4
        assert fwAD.unpack_dual(v).tangent.tolist() == [2.0] * 3
        y = mt.zeros(4)
        y[1:3].copy_(d[:2])                                    # a view of a tensor without tangent
        assert fwAD.unpack_dual(y).tangent.tolist() == [0.0, 2.0, 2.0, 0.0]
        z = mt.zeros(4)
        zv = z[2:]
        z.copy_(d)                                             # a view taken before the base got its tangent
        assert fwAD.unpack_dual(zv).tangent.tolist() == [2.0, 2.0]
        w = mt.zeros(4)
        w.add_(1.0)
        assert fwAD.unpack_dual(w).tangent is None
        e = fwAD.make_dual(mt.ones(2), mt.full((2,), 3.0))
        e.zero_()
        assert fwAD.unpack_dual(e).tangent.tolist() == [0.0, 0.0]
        m = fwAD.make_dual(mt.ones(2, 3), mt.arange(6.0).reshape(2, 3))
        m.t_()                                                 # a shape change in place: the tangent follows
        assert m.shape == (3, 2) and fwAD.unpack_dual(m).tangent.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def test_in_place_ops_match_torch_with_and_without_grad():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    rng = np.random.default_rng(4)
    a, b, ta, tb = (rng.standard_normal(4) for _ in range(4))

    def body(x, y):
        h = x * 1.0
        h.mul_(y)
        h[1:3] += y[:2] ** 2
        h.exp_()
        h.clamp_(-2.0, 3.0)
        return h

    for grad_on in (True, False):
        with fwAD.dual_level():
            xs = [fwAD.make_dual(mt.tensor(a, requires_grad=grad_on) * 1.0, mt.tensor(ta)),
                  fwAD.make_dual(mt.tensor(b), mt.tensor(tb))]
            got = _tangent(body(*xs))
        with tfw.dual_level():
            xs = [tfw.make_dual(torch.tensor(a, requires_grad=grad_on) * 1.0, torch.tensor(ta)),
                  tfw.make_dual(torch.tensor(b), torch.tensor(tb))]
            want = tfw.unpack_dual(body(*xs)).tangent.detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_in_place_write_into_a_reshaped_or_permuted_view_as_torch(device):
    # the base gets a tangent laid out as itself: the view's tangent is the one written, the
    # base's holds it at the view's place, and views taken before (of any kind) see it
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    rng = np.random.default_rng(5)
    t6, t32, tb = rng.standard_normal(6), rng.standard_normal((3, 2)), rng.standard_normal((4, 6))

    def body(lib, fw, mk):
        out = []
        x = mk(np.zeros((2, 3)))
        w, r = x.view(6), x[1]
        v = x.t()
        v.copy_(fw.make_dual(mk(np.ones((3, 2))), mk(t32)))              # a transposed view
        out += [x, v, w, r]
        y = mk(np.zeros((2, 3)))
        y.reshape(6).add_(fw.make_dual(mk(np.ones(6)), mk(t6)))           # a reshaped view, then
        y.permute(1, 0).mul_(fw.make_dual(mk(np.full((3, 2), 2.0)), mk(t32)))   # a permuted one
        out.append(y)
        z = mk(np.ones((4, 6)))
        zz = z[::2, 1:4].t()                                              # a permuted view of a slice
        zz.mul_(fw.make_dual(mk(np.full((3, 2), 3.0)), mk(t32)))
        out += [z, zz]
        q = fw.make_dual(mk(np.ones((4, 6))), mk(tb))
        q.t()[1:3].zero_()                                                # the base is a dual already
        out.append(q)
        return [np.asarray(fw.unpack_dual(o).tangent.tolist()) for o in out]

    with fwAD.dual_level():
        got = body(mt, fwAD, lambda a: device_tensor(a, device, requires_grad=False))
    with tfw.dual_level():
        want = body(torch, tfw, lambda a: torch.tensor(a))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-15)


# --------------------------------------------------------------------------- custom Functions
class Cube(mt.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        assert fwAD.unpack_dual(x).tangent is None   # forward sees the primals, as torch's
        ctx.save_for_forward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, g):
        raise AssertionError("not used")

    @staticmethod
    def jvp(ctx, tx, tscale):
        (x,) = ctx.saved_tensors
        assert tscale is None
        return 3 * ctx.scale * x ** 2 * tx


def test_custom_function_jvp_and_its_errors():
    x, t = mt.tensor([1.0, -2.0], dtype="float64"), mt.tensor([0.5, 1.0], dtype="float64")
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        np.testing.assert_allclose(_tangent(Cube.apply(d, 2.0)), 6 * x.numpy() ** 2 * t.numpy())
        with mt.no_grad():
            np.testing.assert_allclose(_tangent(Cube.apply(d, 2.0) + 1.0), 6 * x.numpy() ** 2 * t.numpy())

        class NoJvp(mt.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        with pytest.raises(NotImplementedError, match="must implement the jvp function"):
            NoJvp.apply(d)
        assert NoJvp.apply(x) is not None   # no dual argument: no jvp needed

        class Two(mt.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * b, a + b

            @staticmethod
            def jvp(ctx, ta, tb):
                assert tb.tolist() == [0.0, 0.0]   # an argument without tangent: zeros, as torch's
                return ta * 2, ta + tb

            @staticmethod
            def backward(ctx, g1, g2):
                return g1, g2
        p, q = Two.apply(d, mt.ones(2, dtype="float64"))
        assert _tangent(p).tolist() == (2 * t).tolist() and _tangent(q).tolist() == t.tolist()

        class Wrong(NoJvp):
            @staticmethod
            def jvp(ctx, ta):
                return ta, ta
        with pytest.raises(RuntimeError, match="invalid number of forward gradients"):
            Wrong.apply(d)

        class WrongShape(NoJvp):
            @staticmethod
            def jvp(ctx, ta):
                return ta[:1]
        with pytest.raises(RuntimeError, match="different size"):
            WrongShape.apply(d)

        class SavesNumber(NoJvp):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_forward(3)
                return a

            @staticmethod
            def jvp(ctx, ta):
                return ta
        with pytest.raises(TypeError, match="save_for_forward expects all arguments to be tensors"):
            SavesNumber.apply(d)


def test_op_without_a_rule_or_differentiable_backward_is_named():
    class Square(mt.autograd.Function):   # an engine op (array forward) without backward_graph
        def forward(self, a):
            return a * a

        def backward(self, g):
            return (g,)
    with fwAD.dual_level():
        d = fwAD.make_dual(mt.tensor([1.0]), mt.tensor([1.0]))
        with pytest.raises(RuntimeError, match="the op Square has no forward-mode rule"):
            Square.apply(d)


def test_forward_ad_with_the_profiler_and_anomaly_mode_on():
    # the debug tools see the ops forward AD runs (their outputs, with tangents), and backward still runs
    x = mt.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    with mt.profile() as prof, mt.detect_anomaly(), fwAD.dual_level():
        y = F.exp(fwAD.make_dual(x, mt.tensor([1.0, 0.0], dtype="float64"))).sum()
        np.testing.assert_allclose(_tangent(y), np.exp(0.5))
        y.backward()
    assert "Exp" in prof.table()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()))


def test_make_dual_lays_the_tangent_out_as_the_primal_so_views_share_it():
    # a transposed or expanded tangent: torch's make_dual copies it into the primal's layout, so
    # x.view(6) has a view of x's tangent and an in-place op on it changes x's tangent too
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    t_np = np.arange(6.0).reshape(3, 2)
    results = []
    for lib, fw in ((mt, fwAD), (torch, tfw)):
        with fw.dual_level():
            x = fw.make_dual(lib.zeros(2, 3, dtype=lib.float64) + 1, lib.tensor(t_np).t())
            x.view(6).mul_(2.0)
            e = fw.make_dual(lib.ones(2, 3, dtype=lib.float64), lib.arange(3.0, dtype=lib.float64).expand(2, 3))
            e[0].mul_(3.0)
            w = lib.tensor(t_np, requires_grad=True)
            g = fw.make_dual(lib.ones(2, 3, dtype=lib.float64), w.t())
            (fw.unpack_dual(g * 2).tangent ** 2).sum().backward()   # the layout copy is recorded
            results.append([np.asarray(fw.unpack_dual(x).tangent.tolist()),
                            np.asarray(fw.unpack_dual(e).tangent.tolist()), np.asarray(w.grad.tolist())])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b)


def test_inference_mode_turns_forward_ad_off_as_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    results = []
    for lib, fw in ((mt, fwAD), (torch, tfw)):
        with fw.dual_level():
            x = fw.make_dual(lib.zeros(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64))
            with lib.inference_mode():
                seen = fw.unpack_dual(x).tangent
                y = x.exp() * 2
                x.mul_(2.0)                                  # the tangent is not changed
                z = fw.make_dual(lib.zeros(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64))
                with lib.inference_mode(False):
                    u = x * 3
            results.append([seen, fw.unpack_dual(y).tangent, fw.unpack_dual(z).tangent,
                            fw.unpack_dual(x).tangent.tolist(), fw.unpack_dual(u).tangent.tolist()])
    assert results[0] == results[1]
