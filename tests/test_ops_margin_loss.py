"""The margin, ranking, embedding and likelihood losses and pairwise_distance: PyTorch's values and
gradients (every reduction, 1-D and 2-D inputs, empty batches, kinks), float64 gradchecks and
gradgradchecks on every device, the modules, and the errors. Also a grid of cross_entropy's options
(weight, ignore_index, label_smoothing, probability targets) against torch."""
import itertools

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn
from minitf.errors import ArgumentError

from .conftest import ATOL, RTOL, device_tensor
from .torch_compare import compare_with_torch

REDUCTIONS = ["none", "mean", "sum"]
R = np.random.default_rng(100)
N, C = 5, 4


def _signs(shape):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0)


# name -> (our call, torch's call, arrays, indices of the arrays that get gradients)
def _cases():
    tg = np.array([[3, 0, -1, 1], [1, -1, 2, 2], [0, 1, 2, 3], [-1, 0, 0, 0], [2, 2, -1, -1]])
    return {
        "margin_ranking": (lambda F, r, a, b, t: F.margin_ranking_loss(a, b, t, 0.3, reduction=r),
                           [R.standard_normal(N), R.standard_normal(N), _signs(N)], [0, 1, 2]),
        "margin_ranking_2d": (lambda F, r, a, b, t: F.margin_ranking_loss(a, b, t, reduction=r),
                              [R.standard_normal((N, 2)), R.standard_normal((N, 2)), _signs((N, 2))], [0, 1]),
        "hinge_embedding": (lambda F, r, a, t: F.hinge_embedding_loss(a, t, 0.7, reduction=r),
                            [R.standard_normal((N, C)), _signs((N, C))], [0]),
        "hinge_embedding_other_targets": (lambda F, r, a, t: F.hinge_embedding_loss(a, t, reduction=r),
                                          [R.standard_normal((N, C)), R.integers(-2, 3, (N, C)).astype(float)], [0]),
        "soft_margin": (lambda F, r, a, t: F.soft_margin_loss(a, t, reduction=r),
                        [R.standard_normal((N, C)) * 5, _signs((N, C))], [0]),   # (torch: no target grad)
        "multilabel_soft_margin": (lambda F, r, a, t, w: F.multilabel_soft_margin_loss(a, t, w, reduction=r),
                                   [R.standard_normal((N, C)), (R.random((N, C)) < 0.5) * 1.0, R.random(C)],
                                   [0, 1, 2]),
        "multilabel_soft_margin_1d": (lambda F, r, a, t: F.multilabel_soft_margin_loss(a, t, reduction=r),
                                      [R.standard_normal(C), (R.random(C) < 0.5) * 1.0], [0]),
        "multilabel_margin": (lambda F, r, a, t: F.multilabel_margin_loss(a, t, reduction=r),
                              [R.standard_normal((N, C)), tg], [0]),
        "multilabel_margin_1d": (lambda F, r, a, t: F.multilabel_margin_loss(a, t, reduction=r),
                                 [R.standard_normal(C), tg[1]], [0]),
        "multi_margin_p1": (lambda F, r, a, t, w: F.multi_margin_loss(a, t, 1, 0.8, w, reduction=r),
                            [R.standard_normal((N, C)), R.integers(0, C, N), R.random(C)], [0]),
        "multi_margin_p2": (lambda F, r, a, t: F.multi_margin_loss(a, t, p=2, reduction=r),
                            [R.standard_normal((N, C)), R.integers(0, C, N)], [0]),
        "multi_margin_1d": (lambda F, r, a, t: F.multi_margin_loss(a, t, reduction=r),
                            [R.standard_normal(C), np.array(2)], [0]),
        "cosine_embedding": (lambda F, r, a, b, t: F.cosine_embedding_loss(a, b, t, 0.2, reduction=r),
                             [R.standard_normal((N, C)), R.standard_normal((N, C)), _signs(N)], [0, 1]),
        "cosine_embedding_1d": (lambda F, r, a, b, t: F.cosine_embedding_loss(a, b, t, reduction=r),
                                [R.standard_normal(C), R.standard_normal(C), np.array(-1.0)], [0, 1]),
        "triplet": (lambda F, r, a, p, n: F.triplet_margin_loss(a, p, n, 0.5, 1.5, reduction=r),
                    [R.standard_normal((N, C)) for _ in range(3)], [0, 1, 2]),
        "triplet_swap": (lambda F, r, a, p, n: F.triplet_margin_loss(a, p, n, 2.0, swap=True, reduction=r),
                         [R.standard_normal((N, C)) for _ in range(3)], [0, 1, 2]),
        "triplet_1d": (lambda F, r, a, p, n: F.triplet_margin_loss(a, p, n, reduction=r),
                       [R.standard_normal(C) for _ in range(3)], [0, 1, 2]),
        "poisson_log": (lambda F, r, a, t: F.poisson_nll_loss(a, t, reduction=r),
                        [R.standard_normal((N, C)), R.integers(0, 5, (N, C)) * 1.0], [0, 1]),
        "poisson_rate_full": (lambda F, r, a, t: F.poisson_nll_loss(a, t, False, True, eps=1e-3, reduction=r),
                              [R.random((N, C)) + 0.1, R.integers(2, 6, (N, C)) * 1.0], [0, 1]),
        "gaussian": (lambda F, r, a, t, v: F.gaussian_nll_loss(a, t, v, reduction=r),
                     [R.standard_normal((N, C)), R.standard_normal((N, C)), R.random((N, C)) + 0.1], [0, 1, 2]),
        "gaussian_full_short_var": (lambda F, r, a, t, v: F.gaussian_nll_loss(a, t, v, full=True, reduction=r),
                                    [R.standard_normal((N, C)), R.standard_normal((N, C)), R.random(N) + 0.1],
                                    [0, 1, 2]),
        "gaussian_var_size_1_dim": (lambda F, r, a, t, v: F.gaussian_nll_loss(a, t, v, reduction=r),
                                    [R.standard_normal((N, C)), R.standard_normal((N, C)), R.random((1, C)) + 0.1],
                                    [0, 1, 2]),
        "gaussian_clamped_var": (lambda F, r, a, t, v: F.gaussian_nll_loss(a, t, v, eps=0.05, reduction=r),
                                 [R.standard_normal((N, C)), R.standard_normal((N, C)),
                                  R.random((N, C)) * np.where(R.random((N, C)) < 0.5, 0.01, 1) + 1e-3], [0, 1, 2]),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_torch(name, reduction):
    torch = pytest.importorskip("torch")
    fn, arrays, grad = CASES[name]
    compare_with_torch(lambda *t: fn(F, reduction, *t), lambda *t: fn(torch.nn.functional, reduction, *t), arrays,
                       grad=grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(device, name):
    fn, arrays, grad = CASES[name]
    if name == "gaussian_clamped_var":   # var below eps: torch's clamp is not differentiated, so its gradient
        grad = [0, 1]                    # is not the finite differences' 0 there (compared with torch above)
    tensors = [device_tensor(a, device, requires_grad=i in grad) for i, a in enumerate(arrays)]
    y = fn(F, "none", *tensors)
    assert y.device == device
    assert mt.gradcheck(lambda *t: fn(F, "sum", *t), tensors, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["soft_margin", "multilabel_soft_margin", "cosine_embedding", "triplet",
                                  "poisson_rate_full", "gaussian", "multi_margin_p2"])
def test_gradgradcheck(device, name):
    fn, arrays, grad = CASES[name]
    tensors = [device_tensor(a, device, requires_grad=i in grad) for i, a in enumerate(arrays)]
    assert mt.gradgradcheck(lambda *t: fn(F, "mean", *t), tensors, rtol=RTOL, atol=ATOL)


def test_gradients_at_the_kinks_are_torchs():
    """clamp_min's gradient 1 at the bound (margin_ranking, hinge, triplet), the kernels' 0 at z = 0
    (multi_margin, multilabel_margin)."""
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0]])
    kinks = [
        (lambda F, a: F.margin_ranking_loss(a[0], a[1], a[0] * 0 + 1, margin=1.0, reduction="sum")),
        (lambda F, a: F.hinge_embedding_loss(a, -(a * 0 + 1), margin=1.0, reduction="sum")),
        (lambda F, a: F.multi_margin_loss(a, [1, 2] if F is not torch.nn.functional else torch.tensor([1, 2]),
                                          reduction="sum")),
        (lambda F, a: F.multilabel_margin_loss(a, np.array([[1, -1, 0], [2, -1, 0]]) if F is not torch.nn.functional
                                               else torch.tensor([[1, -1, 0], [2, -1, 0]]), reduction="sum")),
        (lambda F, a: F.triplet_margin_loss(a[:1], a[:1] * 0, a[1:], margin=1.0, reduction="sum")),
    ]
    for fn in kinks:
        compare_with_torch(lambda a: fn(F, a), lambda a: fn(torch.nn.functional, a), [x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batches(reduction):
    torch = pytest.importorskip("torch")
    e, e4, t0 = np.zeros(0), np.zeros((0, C)), np.zeros(0, dtype=np.int64)
    cases = [("margin_ranking_loss", [e, e, e]), ("triplet_margin_loss", [e4, e4, e4]),
             ("cosine_embedding_loss", [e4, e4, e]), ("multilabel_soft_margin_loss", [e4, e4]),
             ("multi_margin_loss", [e4, t0]), ("multilabel_margin_loss", [e4, np.zeros((0, C), dtype=np.int64)])]
    for name, arrays in cases:
        y = getattr(F, name)(*[mt.tensor(a) for a in arrays], reduction=reduction)
        yt = getattr(torch.nn.functional, name)(*[torch.tensor(a) for a in arrays], reduction=reduction)
        assert y.shape == tuple(yt.shape), name
        if reduction == "mean":
            assert np.isnan(y.item()), name          # a mean over nothing
        elif reduction == "sum":
            assert y.item() == 0, name               # (torch 2.13's multi_margin kernels return garbage here)
        else:
            np.testing.assert_array_equal(y.numpy(), yt.numpy())


@pytest.mark.parametrize("p", [1, 2, 3.5, float("inf")])
@pytest.mark.parametrize("shapes", [((N, C), (N, C)), ((C,), (N, C)), ((N, 1), (N, C)), ((C,), (C,))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(p, shapes, keepdim):
    torch = pytest.importorskip("torch")
    a, b = (R.standard_normal(s) for s in shapes)
    compare_with_torch(lambda x, y: F.pairwise_distance(x, y, p, 1e-6, keepdim),
                       lambda x, y: torch.nn.functional.pairwise_distance(x, y, p, 1e-6, keepdim), [a, b])


def test_pairwise_distance_gradcheck(device):
    a, b = (device_tensor(R.standard_normal((N, C)), device) for _ in range(2))
    assert mt.gradcheck(lambda x, y: F.pairwise_distance(x, y, 3.0), [a, b], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda x, y: F.pairwise_distance(x, y), [a, b], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("custom", [False, True])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_with_distance_loss_matches_torch(custom, swap, reduction):
    torch = pytest.importorskip("torch")
    arrays = [R.standard_normal((N, C)) for _ in range(3)]

    def call(lib, a, p, n):
        d = (lambda x, y: 1.0 - lib.cosine_similarity(x, y)) if custom else None
        return lib.triplet_margin_with_distance_loss(a, p, n, distance_function=d, margin=0.7, swap=swap,
                                                     reduction=reduction)

    compare_with_torch(lambda *t: call(F, *t), lambda *t: call(torch.nn.functional, *t), arrays)
    ours = nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction)
    ref = torch.nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, arrays)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_with_distance_loss(*[mt.tensor(a) for a in arrays], margin=0.0)


def test_poisson_full_target_gradient_is_finite_at_zero_counts():
    # torch's is NaN where t = 0 (its masked Stirling term still takes log(0) in backward); minitf's
    # Stirling term never sees t <= 1, so the gradient there is the loss's: -x (log_input)
    x = mt.tensor([[0.5, -0.2]], requires_grad=True)
    t = mt.tensor([[0.0, 3.0]], requires_grad=True)
    F.poisson_nll_loss(x, t, full=True, reduction="sum").backward()
    assert np.isfinite(t.grad.numpy()).all()
    np.testing.assert_allclose(t.grad.numpy()[0, 0], -0.5)


def test_loss_errors():
    x = mt.tensor(R.standard_normal((N, C)))
    with pytest.raises(mt.errors.ShapeError, match="same number of dims"):
        F.margin_ranking_loss(x, x, mt.ones(N, dtype="float64"))
    with pytest.raises(ValueError, match="reduction must be"):
        F.soft_margin_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, mt.zeros(N, dtype="int64"), p=3)
    with pytest.raises(mt.errors.IndexRangeError, match=r"class indices in \[0, 4\)"):
        F.multi_margin_loss(x, mt.tensor([0, 1, 2, 3, 4]))
    with pytest.raises(mt.errors.ShapeError, match="weight must be one-dimensional with 4 elements"):
        F.multi_margin_loss(x, mt.zeros(N, dtype="int64"), weight=mt.ones(3, dtype="float64"))
    with pytest.raises(TypeError, match="integer class indices"):
        F.multi_margin_loss(x, mt.zeros(N))
    with pytest.raises(mt.errors.IndexRangeError, match=r"in \[0, 4\) or -1"):
        F.multilabel_margin_loss(x, np.full((N, C), 4))
    with pytest.raises(mt.errors.ShapeError, match="needs target of shape"):
        F.multilabel_margin_loss(x, np.zeros((N, 3), dtype=np.int64))
    with pytest.raises(mt.errors.ShapeError, match="1D target tensor expects 2D input tensors"):
        F.cosine_embedding_loss(x[0], x[1], mt.ones(N))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0)
    with pytest.raises(mt.errors.ShapeError, match="expected to have the same number of dimensions"):
        F.triplet_margin_loss(x, x, x[0])
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -mt.ones(N, C, dtype="float64"))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(mt.errors.ShapeError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, mt.ones(N, 2, dtype="float64"))
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        assert F.hinge_embedding_loss(x, mt.ones(N, C), reduce=False).shape == (N, C)


def test_gaussian_float_var_and_poisson_defaults_as_torch():
    torch = pytest.importorskip("torch")
    a, b = R.standard_normal((N, C)), R.standard_normal((N, C))
    np.testing.assert_allclose(F.gaussian_nll_loss(mt.tensor(a), mt.tensor(b), 0.5).item(),
                               torch.nn.functional.gaussian_nll_loss(torch.tensor(a), torch.tensor(b), 0.5).item(),
                               rtol=1e-12)


# --------------------------------------------------------------------------- modules
MODULES = [
    ("MarginRankingLoss", {"margin": 0.2}, "margin_ranking"),
    ("HingeEmbeddingLoss", {"margin": 0.7}, "hinge_embedding"),
    ("SoftMarginLoss", {}, "soft_margin"),
    ("MultiLabelSoftMarginLoss", {"weight": [0.5, 1.0, 2.0, 1.5]}, "multilabel_soft_margin_1d"),
    ("MultiLabelMarginLoss", {}, "multilabel_margin"),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": [0.5, 1.0, 2.0, 1.5]}, "multi_margin_p2"),
    ("CosineEmbeddingLoss", {"margin": 0.1}, "cosine_embedding"),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, "triplet"),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, "poisson_rate_full"),
    ("GaussianNLLLoss", {"full": True, "eps": 0.01}, "gaussian"),
]


@pytest.mark.parametrize("cls, kwargs, case", MODULES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_modules_match_torch(cls, kwargs, case, reduction):
    torch = pytest.importorskip("torch")
    _, arrays, grad = CASES[case]
    tkw = {k: torch.tensor(v, dtype=torch.float64) if k == "weight" else v for k, v in kwargs.items()}
    ours = getattr(nn, cls)(reduction=reduction, **kwargs)
    ref = getattr(torch.nn, cls)(reduction=reduction, **tkw)
    assert repr(ours) == repr(ref) and list(ours.state_dict()) == list(ref.state_dict())
    compare_with_torch(ours, ref, arrays, grad=[i for i in grad if i == 0])


def test_pairwise_distance_module_and_module_errors():
    torch = pytest.importorskip("torch")
    a, b = R.standard_normal((N, C)), R.standard_normal((N, C))
    assert repr(nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())
    compare_with_torch(nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True),
                       [a, b])
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="reduction must be"):
        nn.SoftMarginLoss(reduction="avg")


def test_loss_modules_on_the_devices(device):
    x = device_tensor(R.standard_normal((N, C)), device)
    t = mt.tensor(R.integers(0, C, N), device=device)
    loss = nn.MultiMarginLoss(weight=[1.0, 2.0, 3.0, 4.0]).to(device=device)(x, t)
    loss.backward()
    assert loss.device == device and x.grad.device == device


# --------------------------------------------------------------------------- cross_entropy's options
@pytest.mark.parametrize("target, weighted, smoothing, ignore_index",
                         [c for c in itertools.product(["index", "prob"], [False, True], [0.0, 0.3, 1.0], [-100, 2])
                          if c[0] == "index" or c[3] == -100])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_options_match_torch(target, weighted, smoothing, ignore_index, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((6, 5)), rng.random(5) + 0.2
    p = rng.random((6, 5))
    t = np.array([0, 4, ignore_index, 2, 2, 1]) if target == "index" else p / p.sum(1, keepdims=True)

    def call(lib, x, w, tt):
        return lib.cross_entropy(x, tt, weight=w if weighted else None, ignore_index=ignore_index,
                                 reduction=reduction, label_smoothing=smoothing)

    compare_with_torch(lambda a, b, c: call(F, a, b, c), lambda a, b, c: call(torch.nn.functional, a, b, c),
                       [x, w, t], grad=[0])


def test_multi_margin_loss_refuses_a_weight_that_requires_grad_as_torch():
    # torch: "not differentiable with respect to argument 'weight'" (found by a fuzz against torch)
    x, t = mt.randn(3, 4), mt.tensor([0, 1, 2])
    w = mt.rand(4, requires_grad=True)
    with pytest.raises(ArgumentError, match="not differentiable with respect to weight"):
        F.multi_margin_loss(x, t, weight=w)
    with mt.no_grad():
        expected = F.multi_margin_loss(x, t, weight=w.detach())
        np.testing.assert_allclose(F.multi_margin_loss(x, t, weight=w).numpy(), expected.numpy())
    assert F.multi_margin_loss(x, t, weight=w.detach()).shape == ()


def test_soft_margin_loss_computes_in_the_input_dtype_as_torch():
    # a float64 target with a float32 input gave float64 (torch: float32; found by a fuzz against torch)
    x = mt.tensor(np.array([0.3, -1.2, 2.0], dtype=np.float32))
    y = mt.tensor(np.array([1.0, -1.0, -1.0]))
    for reduction in ("mean", "none"):
        assert F.soft_margin_loss(x, y, reduction=reduction).dtype == np.float32


def test_multi_margin_loss_weight_of_another_dtype_raises_as_torch():
    from minitf.errors import DtypeError
    with pytest.raises(DtypeError, match="float32 but weight is float64"):
        F.multi_margin_loss(mt.randn(3, 4), mt.tensor([0, 1, 2]), weight=mt.ones(4, dtype="float64"))


def test_multilabel_margin_memory_follows_the_target_slots_not_the_class_pairs():
    """The pairs are (N, K, C) over the K target slots: at C = 2000 with two targets per row,
    a (N, C, C) intermediate would take N * 32 MB in float64."""
    import tracemalloc
    n, c = 4, 2000
    x = mt.tensor(R.standard_normal((n, c)), requires_grad=True)
    t = np.full((n, c), -1)
    t[:, :2] = R.integers(0, c, (n, 2))
    tracemalloc.start()
    F.multilabel_margin_loss(x, t).backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * n * c * 8 * 4, peak          # a few (N, K, C) arrays, far below N C C


@pytest.mark.parametrize("seed", range(4))
def test_multilabel_margin_random_targets_match_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    n, c = 6, 9
    x = rng.standard_normal((n, c))
    t = rng.integers(-1, c, (n, c))              # ragged rows, repeats, a -1 anywhere
    ours = mt.tensor(x, requires_grad=True)
    F.multilabel_margin_loss(ours, t, reduction="sum").backward()
    theirs = torch.tensor(x, requires_grad=True)
    torch.nn.functional.multilabel_margin_loss(theirs, torch.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
