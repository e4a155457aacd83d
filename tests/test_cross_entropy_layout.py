"""cross_entropy / nll_loss in torch's layout: input (C,), (N, C) or (N, C, d1, ..., dk), the class
dim at index 1; class-index targets (), (N,) or (N, d1, ..., dk), or probabilities of the input's
shape. Values and gradients against torch (float64, random cotangents), gradcheck of the K-dim
case, the nn modules, vmap and forward AD per example, and torch's errors for wrong shapes."""
import itertools
import sys

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, device_tensor

torch = pytest.importorskip("torch")
# torch.func's first call imports torch.jit, whose torch.jit.script warns that it is deprecated
# (torch's own internals, not this test's doing)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
TF = torch.nn.functional

C = 4
SHAPES = {"C": (C,), "NC": (3, C), "NCd": (2, C, 3), "NCdd": (2, C, 3, 2)}
OPTIONS = {   # keyword arguments of both libraries (weight: a host array here)
    "plain": {},
    "weight": {"weight": np.array([0.5, 2.0, 1.0, 3.0])},
    "ignore": {"ignore_index": 1},
    "all": {"weight": np.array([0.5, 2.0, 1.0, 3.0]), "ignore_index": 2, "label_smoothing": 0.2},
    "smoothing": {"label_smoothing": 0.3},
}


def _index_shape(shape):
    return () if len(shape) == 1 else (shape[0],) + shape[2:]


def _targets(rng, shape, kind):
    """Class indices (one of them 2, the 'all' option's ignore_index) or probabilities."""
    if kind == "probs":
        p = rng.random(shape) + 0.1
        return p / p.sum(axis=min(1, len(shape) - 1), keepdims=True)
    t = rng.integers(0, C, _index_shape(shape))
    t.reshape(-1)[0] = 2
    return t


def _ours(kw, device):
    return {k: (mt.tensor(v, device=device) if k == "weight" else v) for k, v in kw.items()}


def _theirs(kw):
    return {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}


def _compare(ours_fn, theirs_fn, z, t, device, kind, seed):
    """Values and gradients (input; probability targets) of ours_fn(x, t) against theirs_fn."""
    x = device_tensor(z, device)
    tt = device_tensor(t, device, requires_grad=kind == "probs")
    xt = torch.tensor(z, requires_grad=True)
    ttt = torch.tensor(t, requires_grad=kind == "probs")
    out, ref = ours_fn(x, tt), theirs_fn(xt, ttt)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    u = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(device_tensor(u, device, requires_grad=False))
    ref.backward(torch.tensor(u))
    np.testing.assert_allclose(to_numpy(x.grad.data), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    if kind == "probs":
        np.testing.assert_allclose(to_numpy(tt.grad.data), ttt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, kind, option, reduction", [   # (ignore_index: class indices only)
    c for c in itertools.product(SHAPES, ["index", "probs"], OPTIONS, ["mean", "sum", "none"])
    if not (c[1] == "probs" and "ignore_index" in OPTIONS[c[2]])])
def test_cross_entropy_matches_torch(device, shape, kind, option, reduction):
    kw = dict(OPTIONS[option], reduction=reduction)
    rng = np.random.default_rng(len(SHAPES[shape]))
    z, t = rng.standard_normal(SHAPES[shape]), _targets(rng, SHAPES[shape], kind)
    _compare(lambda x, tt: F.cross_entropy(x, tt, **_ours(kw, device)),
             lambda x, tt: TF.cross_entropy(x, tt, **_theirs(kw)), z, t, device, kind, 1)


@pytest.mark.parametrize("shape, option, reduction",
                         list(itertools.product(SHAPES, ["plain", "weight", "ignore"], ["mean", "sum", "none"])))
def test_nll_loss_matches_torch(device, shape, option, reduction):
    kw = dict(OPTIONS[option], reduction=reduction)
    rng = np.random.default_rng(7)
    logp = TF.log_softmax(torch.tensor(rng.standard_normal(SHAPES[shape])), dim=0 if shape == "C" else 1).numpy()
    _compare(lambda x, tt: F.nll_loss(x, tt, **_ours(kw, device)),
             lambda x, tt: TF.nll_loss(x, tt, **_theirs(kw)), logp, _targets(rng, SHAPES[shape], "index"),
             device, "index", 2)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_of_log_softmax_over_dim_1_is_cross_entropy(device, reduction):
    rng = np.random.default_rng(3)
    z, t = device_tensor(rng.standard_normal((2, C, 3, 2)), device), mt.tensor(rng.integers(0, C, (2, 3, 2)),
                                                                              device=device)
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(z, dim=1), t, reduction=reduction).numpy(),
                               F.cross_entropy(z, t, reduction=reduction).numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_k_dim_gradcheck(device, reduction):
    rng = np.random.default_rng(4)
    z = device_tensor(rng.standard_normal((2, C, 3, 2)), device)
    t = rng.integers(0, C, (2, 3, 2))
    t[0, 1, 0] = -100
    t = mt.tensor(t, device=device)
    w = mt.tensor([0.5, 2.0, 1.0, 3.0], dtype="float64", device=device)
    probs = device_tensor(_targets(rng, (2, C, 3, 2), "probs"), device)
    assert mt.gradcheck(lambda x: F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.1),
                        [z], rtol=RTOL, atol=ATOL)
    assert mt.gradcheck(lambda x, p: F.cross_entropy(x, p, weight=w, reduction=reduction), [z, probs],
                        rtol=RTOL, atol=ATOL)
    assert mt.gradcheck(lambda x: F.nll_loss(x, t, weight=w, reduction=reduction), [z], rtol=RTOL, atol=ATOL)


def test_1d_input_takes_a_0d_or_a_size_1_target(device):
    # (C,) with a 0-d target, or (as torch) a 1-D one of size 1: both one row, a 0-d 'none' output
    z = np.random.default_rng(5).standard_normal(C)
    for target in (np.array(2), np.array([2])):
        for fn, tfn in ((F.cross_entropy, TF.cross_entropy), (F.nll_loss, TF.nll_loss)):
            out = fn(device_tensor(z, device), mt.tensor(target, device=device), reduction="none")
            ref = tfn(torch.tensor(z), torch.tensor(target), reduction="none")
            assert out.shape == tuple(ref.shape) == ()
            np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-13)


@pytest.mark.parametrize("kind", ["index", "probs"])
def test_modules_match_torch(device, kind):
    rng = np.random.default_rng(6)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    z, t = rng.standard_normal((2, C, 3)), _targets(rng, (2, C, 3), kind)
    ours = mt.nn.CrossEntropyLoss(weight=mt.tensor(w), reduction="none", label_smoothing=0.1).to(device=device)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), reduction="none", label_smoothing=0.1)
    _compare(ours, theirs, z, t, device, kind, 3)
    if kind == "index":
        logp = TF.log_softmax(torch.tensor(z), 1).numpy()
        _compare(mt.nn.NLLLoss(weight=mt.tensor(w), ignore_index=2).to(device=device),
                 torch.nn.NLLLoss(weight=torch.tensor(w), ignore_index=2), logp, t, device, kind, 4)


def test_2d_input_is_not_copied(device):
    # the training loop's (N, C) case: the loss node reads the logits themselves (no view, no copy)
    x = device_tensor(np.zeros((3, C)), device)
    loss = F.cross_entropy(x, mt.tensor([0, 1, 2], device=device))
    assert type(loss.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"


BAD_SHAPES = [   # (input shape, target shape, target dtype): torch's error for each
    ((2, C, 3), (2, C), "int64"),
    ((2, C, 3), (2, 5), "int64"),
    ((2, C, 3), (6,), "int64"),
    ((2, C, 3), (2,), "int64"),
    ((2, C, 3), (2, 3, 1), "int64"),
    ((2, C, 3), (3, 3), "int64"),
    ((2, C, 3), (2, C, 5), "float64"),
    ((2, C, 3, 5), (2, 3), "int64"),
    ((2, C, 3, 5), (2, 3, 6), "int64"),
    ((2, C, 3, 5, 2), (2, 3, 5, 3), "int64"),
    ((3, C), (4,), "int64"),
    ((3, C), (3, 1), "int64"),
    ((3, C), (3, 5), "float64"),
    ((3, C), (), "int64"),
    ((C,), (2,), "int64"),
    ((C,), (1, 1), "int64"),
]


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("shape, tshape, dtype", BAD_SHAPES)
def test_wrong_target_shape_gets_torchs_error(device, op, shape, tshape, dtype):
    z, t = np.zeros(shape), np.zeros(tshape, dtype=dtype)
    with pytest.raises(Exception) as theirs:
        getattr(TF, op)(torch.tensor(z), torch.tensor(t))
    with pytest.raises(type(theirs.value)) as ours:   # torch's class (ValueError or RuntimeError)
        getattr(F, op)(device_tensor(z, device), mt.tensor(t, device=device))
    assert str(ours.value).startswith(f"{op}: {theirs.value}")   # torch's message after the op's name
    assert f"got {tshape}" in str(ours.value)                       # and minitf's: the shapes


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_wrong_target_dtype_and_0d_input(device, op):
    fn = getattr(F, op)
    with pytest.raises(TypeError, match=f"{op}: expected target dtype to be Long or Byte, but got float64"):
        fn(device_tensor(np.zeros((2, C, 3)), device), device_tensor(np.zeros((2, 3)), device))
    with pytest.raises(ValueError, match=rf"{op}: Expected 1 or more dimensions \(got 0\)"):
        fn(device_tensor(np.zeros(()), device), mt.tensor(0, device=device))
    with pytest.raises(IndexError, match=rf"{op}: target out of range \[0, 4\)"):
        fn(device_tensor(np.zeros((2, C, 3)), device), mt.tensor(np.full((2, 3), C), device=device))


def test_integer_targets_of_the_inputs_shape_are_refused_as_torch(device):
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities"):
        F.cross_entropy(device_tensor(np.zeros((2, C, 3)), device), mt.tensor(np.zeros((2, C, 3), dtype=np.int64),
                                                                                device=device))


def test_probability_targets_refuse_ignore_index(device):
    with pytest.raises(ValueError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(device_tensor(np.zeros((2, C, 3)), device), device_tensor(np.full((2, C, 3), 0.25), device),
                        ignore_index=0)


def _per_example_loss(lib, loss, reduction):
    """One example's loss in lib (minitf's F or torch's): cross_entropy with smoothing, nll_loss of
    the log-probabilities (the class dim: 0 for a (C,) example, else 1), or nll_loss with a
    class weight (a weighted mean is the loop's, so only sum and none)."""
    Fl = F if lib is mt else TF
    weight = lib.tensor([0.5, 2.0, 1.0, 3.0], dtype=lib.float64) if loss == "nll_loss weighted" else None
    if loss == "cross_entropy":
        return lambda x, y: Fl.cross_entropy(x, y, reduction=reduction, label_smoothing=0.1)
    return lambda x, y: Fl.nll_loss(Fl.log_softmax(x, dim=0 if x.ndim == 1 else 1), y, weight=weight,
                                    reduction=reduction)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "nll_loss weighted"])
@pytest.mark.parametrize("shape", ["C", "NC", "NCd", "NCdd"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_vmap_per_example_layout_as_torch(shape, reduction, loss):
    from minitf.func import vmap
    V = sys.modules["minitf.func.vmap"]   # the module (minitf.func.vmap is the function)
    if loss == "nll_loss weighted" and reduction == "mean":
        pytest.skip("a weighted mean has no batching rule (the loop's, tested elsewhere)")
    rng = np.random.default_rng(8)
    B, ex = 3, SHAPES[shape]
    z, t = rng.standard_normal((B,) + ex), rng.integers(0, C, (B,) + _index_shape(ex))
    if t.ndim > 1:
        t.reshape(B, -1)[1, 0] = -100   # an ignored target: that example's mean is over the others
    calls, per_example = [0], _per_example_loss(mt, loss, reduction)

    def f(x, y):
        calls[0] += 1
        return per_example(x, y)
    V.last_fallback = None
    ours = vmap(f)(mt.tensor(z), mt.tensor(t))
    assert calls[0] == 1 and V.last_fallback is None   # the batched rule, not the loop
    theirs = torch.func.vmap(_per_example_loss(torch, loss, reduction))(torch.tensor(z), torch.tensor(t))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["index", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_jvp_of_the_k_dim_loss_as_torch(kind, reduction):
    from minitf.func import jvp
    rng = np.random.default_rng(9)
    z, dz = rng.standard_normal((2, C, 3)), rng.standard_normal((2, C, 3))
    t = _targets(rng, (2, C, 3), kind)
    kw = {"weight": np.array([0.5, 2.0, 1.0, 3.0]), "label_smoothing": 0.1, "reduction": reduction}
    out, tan = jvp(lambda x: F.cross_entropy(x, mt.tensor(t), **_ours(kw, "cpu")), (mt.tensor(z),),
                   (mt.tensor(dz),))
    ref, rtan = torch.func.jvp(lambda x: TF.cross_entropy(x, torch.tensor(t), **_theirs(kw)), (torch.tensor(z),),
                               (torch.tensor(dz),))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)
    assert tan.shape == tuple(rtan.shape)
    np.testing.assert_allclose(tan.numpy(), rtan.numpy(), rtol=1e-12, atol=1e-14)
