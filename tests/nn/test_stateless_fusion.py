"""torch.func.functional_call (mt.func / nn.utils.stateless), nn.utils.skip_init and the
conv/linear + batch-norm fusion of nn.utils.fusion, against torch 2.13."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn


def _net(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(3, 4)
            self.b = lib.nn.Linear(4, 4, bias=False)
            self.register_buffer("shift", lib.ones(4))

        def forward(self, x, scale=1.0):
            return (self.b(self.a(x).tanh()) + self.shift) * scale
    return Net()


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def test_functional_call_values_and_gradients_match_torch(device):
    torch = pytest.importorskip("torch")
    from torch.func import functional_call as t_call
    ours, theirs = _net(mt), _net(torch)
    _copy_weights(ours, theirs)
    ours.to(device)
    rng = np.random.default_rng(0)
    x, w, s = rng.standard_normal((2, 3)), rng.standard_normal((4, 4)), rng.standard_normal(4)
    tw, ts = torch.tensor(w, dtype=torch.float32, requires_grad=True), torch.tensor(s, dtype=torch.float32)
    mw = mt.tensor(w, dtype="float32", device=device, requires_grad=True)
    ms = mt.tensor(s, dtype="float32", device=device)
    y_t = t_call(theirs, ({"b.weight": tw}, {"shift": ts}), (torch.tensor(x, dtype=torch.float32),), {"scale": 2.0})
    y = mt.func.functional_call(ours, ({"b.weight": mw}, {"shift": ms}), (mt.tensor(x, dtype="float32", device=device),),
                                {"scale": 2.0})
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    y_t.sum().backward()
    y.sum().backward()
    np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert ours.b.weight.grad is None and ours.a.weight.grad is not None   # the module's own b is untouched
    assert isinstance(ours.b.weight, nn.Parameter) and ours.b.weight is ours.b._parameters["weight"]
    assert ours.shift is ours._buffers["shift"] and np.all(ours.shift.numpy() == 1)


def test_functional_call_restores_after_an_exception_and_sees_swapped_registries():
    m = _net(mt)
    original = m.a.weight
    seen = {}

    class Boom(Exception):
        pass

    def hook(mod, args):
        seen["param"] = dict(m.named_parameters())["a.weight"]
        seen["extra"] = getattr(m, "extra", None)
        raise Boom
    m.register_forward_pre_hook(hook)
    w = mt.zeros(4, 3)
    extra = mt.ones(1)
    with pytest.raises(Boom):
        mt.func.functional_call(m, {"a.weight": w, "extra": extra}, mt.randn(1, 3))
    assert seen["param"] is w and seen["extra"] is extra
    assert m.a.weight is original and m._modules["a"]._parameters["weight"] is original
    assert not hasattr(m, "extra")


def test_tie_weights_and_strict_as_torch():
    torch = pytest.importorskip("torch")
    from torch.func import functional_call as t_call

    def tied(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False))
        m[1].weight = m[0].weight
        return m
    ours, theirs = tied(mt), tied(torch)
    _copy_weights(ours, theirs)
    w = np.arange(4.0).reshape(2, 2)
    x = np.ones((1, 2))
    for tie in (True, False):
        y = mt.func.functional_call(ours, {"0.weight": mt.tensor(w, dtype="float32")}, mt.tensor(x, dtype="float32"),
                                    tie_weights=tie)
        y_t = t_call(theirs, {"0.weight": torch.tensor(w, dtype=torch.float32)}, torch.tensor(x, dtype=torch.float32),
                     tie_weights=tie)
        np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-6)
    two = {"0.weight": mt.tensor(w), "1.weight": mt.tensor(w)}
    with pytest.raises(ValueError, match="which are tied"):
        mt.func.functional_call(ours, two, mt.tensor(x))
    mt.func.functional_call(ours, two, mt.tensor(x), tie_weights=False)
    mt.func.functional_call(ours, {"0.weight": mt.tensor(w)}, mt.tensor(x), strict=True)   # tied: complete
    m = _net(mt)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'foo'\.\n\tMissing key\(s\): 'a.weight'"):
        mt.func.functional_call(m, {"foo": mt.ones(1), "a.bias": mt.ones(4), "b.weight": mt.ones(4, 4),
                                    "shift": mt.ones(4)}, mt.randn(1, 3), strict=True)


def test_functional_call_bad_arguments():
    m = _net(mt)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        mt.func.functional_call(m, ({"shift": mt.ones(4)}, {"shift": mt.ones(4)}), mt.randn(1, 3))
    with pytest.raises(TypeError, match="not an instance of minitf.Tensor"):
        mt.func.functional_call(m, {"shift": 3}, mt.randn(1, 3))
    with pytest.raises(AttributeError, match="has no attribute `c`"):
        mt.func.functional_call(m, {"a.c.weight": mt.ones(1)}, mt.randn(1, 3))
    assert np.all(m.shift.numpy() == 1)


def test_stateless_functional_call_is_the_deprecated_name():
    m = _net(mt)
    x = mt.randn(2, 3)
    with pytest.warns(FutureWarning, match="deprecated"):
        y = nn.utils.stateless.functional_call(m, {"shift": mt.zeros(4)}, (x,))
    np.testing.assert_allclose(y.numpy(), (m(x) - 1).numpy(), rtol=1e-6, atol=1e-6)


def test_functional_call_gradcheck():
    m = nn.Linear(3, 2).double()
    x = mt.randn(4, 3, dtype="float64")
    w = mt.randn(2, 3, dtype="float64", requires_grad=True)
    b = mt.randn(2, dtype="float64", requires_grad=True)
    assert mt.gradcheck(lambda w, b: mt.func.functional_call(m, {"weight": w, "bias": b}, (x,)).tanh(), (w, b))


def test_skip_init(device):
    m = nn.utils.skip_init(nn.Linear, 3, 5, bias=False, device=device)
    assert type(m) is nn.Linear and m.weight.shape == (5, 3) and m.weight.device == device and m.bias is None
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int, 3)


# ------------------------------------------------------------ fusion

CONVS = [("Conv1d", "BatchNorm1d", (2, 3, 7), {}), ("Conv2d", "BatchNorm2d", (2, 3, 5, 5), {"bias": False}),
         ("Conv3d", "BatchNorm3d", (1, 3, 3, 4, 4), {"stride": 2}),
         ("ConvTranspose2d", "BatchNorm2d", (2, 3, 4, 4), {})]


@pytest.mark.parametrize("conv,bn,shape,kw", CONVS)
@pytest.mark.parametrize("affine", [True, False])
def test_fuse_conv_bn_eval_matches_torch_and_the_unfused_pair(conv, bn, shape, kw, affine, device):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.fusion import fuse_conv_bn_eval as t_fuse
    tc, tb = getattr(torch.nn, conv)(3, 4, 3, **kw), getattr(torch.nn, bn)(4, affine=affine)
    with torch.no_grad():
        tb.running_mean.uniform_(-1, 1)
        tb.running_var.uniform_(0.5, 2)
        if affine:
            tb.weight.uniform_(0.5, 2)
            tb.bias.uniform_(-1, 1)
    tc.eval(), tb.eval()
    mc, mb = getattr(nn, conv)(3, 4, 3, **kw), getattr(nn, bn)(4, affine=affine)
    _copy_weights(mc, tc)
    _copy_weights(mb, tb)
    mc.eval(), mb.eval()
    transpose = conv.startswith("ConvTranspose")
    tf = t_fuse(tc, tb, transpose=transpose)
    mf = nn.utils.fuse_conv_bn_eval(mc.to(device), mb.to(device), transpose=transpose)
    assert type(mf) is type(mc) and mf is not mc
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(mf, name).numpy(), getattr(tf, name).detach().numpy(), rtol=1e-5, atol=1e-6)
        assert getattr(mf, name).requires_grad == getattr(tf, name).requires_grad
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = mf(mt.tensor(x, device=device))
    np.testing.assert_allclose(y.numpy(), mb(mc(mt.tensor(x, device=device))).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y.numpy(), tf(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("features", [4, 1])
def test_fuse_linear_bn_eval_matches_torch(features, device):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.fusion import fuse_linear_bn_eval as t_fuse
    tl, tb = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(features)
    with torch.no_grad():
        tb.running_mean.uniform_(-1, 1)
        tb.running_var.uniform_(0.5, 2)
        tb.weight.uniform_(0.5, 2)
    tl.eval(), tb.eval()
    ml, mb = nn.Linear(3, 4), nn.BatchNorm1d(features)
    _copy_weights(ml, tl)
    _copy_weights(mb, tb)
    ml.eval(), mb.eval()
    tf, mf = t_fuse(tl, tb), nn.utils.fuse_linear_bn_eval(ml.to(device), mb.to(device))
    np.testing.assert_allclose(mf.weight.numpy(), tf.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mf.bias.numpy(), tf.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
    if features == 4:   # (a 1-feature batch norm cannot follow this linear: only the fused pair exists)
        x = mt.randn(5, 3, device=device)
        np.testing.assert_allclose(mf(x).numpy(), mb(ml(x)).numpy(), rtol=1e-4, atol=1e-5)


def test_fusion_errors():
    conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    with pytest.raises(RuntimeError, match="only for eval"):
        nn.utils.fuse_conv_bn_eval(conv, bn)
    with pytest.raises(RuntimeError, match="running statistics"):
        nn.utils.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(4, track_running_stats=False).eval())
    with pytest.raises(ValueError, match="out_features"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(2).eval())
    w, b = nn.utils.fuse_conv_bn_weights(conv.weight, None, bn.running_mean, bn.running_var, 1e-5, None, None)
    assert w.requires_grad and not b.requires_grad and b.dtype == conv.weight.dtype   # as torch's
