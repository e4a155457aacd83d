"""Lazy modules and uninitialised parameters against torch 2.13: the shapes inferred at the first
call, the class they become, their state dicts before and after, loading into a lazy module."""
import copy
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.nn.lazy import is_lazy

# (class name, constructor args, input shape)
CASES = [
    ("LazyLinear", (4,), (2, 3, 5)),
    ("LazyLinear", (4, False), (5,)),
    ("LazyConv1d", (4, 3), (2, 3, 7)),
    ("LazyConv1d", (4, 3), (3, 7)),                 # unbatched
    ("LazyConv2d", (6, 3, 1, 1, 1, 2), (1, 4, 5, 5)),  # stride, padding, dilation, groups
    ("LazyConv3d", (2, (1, 2, 2)), (1, 3, 3, 4, 4)),
    ("LazyConvTranspose1d", (4, 3, 2), (2, 3, 5)),
    ("LazyConvTranspose2d", (6, 3, 1, 0, 0, 2), (1, 4, 5, 5)),   # ..., output_padding, groups
    ("LazyConvTranspose3d", (2, 2), (1, 3, 2, 2, 2)),
    ("LazyBatchNorm1d", (), (4, 3)),
    ("LazyBatchNorm1d", (1e-3, 0.2, False), (4, 3, 5)),
    ("LazyBatchNorm2d", (), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), (2, 3, 6)),
    ("LazyInstanceNorm2d", (1e-5, 0.1, False, False), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 2, 2)),
]


@pytest.mark.parametrize("name,args,shape", CASES)
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_lazy_module_matches_torch(name, args, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    sd_m, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_m) == list(sd_t)
    assert [repr(v) for v in sd_m.values() if is_lazy(v)] == \
        [repr(v) for v in sd_t.values() if isinstance(v, torch.nn.parameter.UninitializedTensorMixin)]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    full = getattr(torch.nn, name)(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # (torch's num_features warning, see below)
        full(torch.tensor(x))                      # initialised at its first call
    fresh = getattr(nn, name)(*args)
    fresh(mt.tensor(x))
    expected = repr(full)
    if not any(is_lazy(v) for v in sd_m.values()):
        # nothing to materialise (an instance norm without affine or running stats): torch keeps
        # num_features = 0 (and warns at every call); minitf sets it from the input
        expected = expected.replace("(0,", f"({shape[1]},", 1)
    assert type(fresh).__name__ == type(full).__name__ and repr(fresh) == expected
    # a lazy module given a full state dict: materialised by the load (torch's and ours alike)
    ours.load_state_dict({k: v.detach().numpy() for k, v in full.state_dict().items()})
    theirs.load_state_dict(full.state_dict())
    assert {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in full.state_dict().items()}
    ours.eval(), full.eval(), fresh.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y_t = full(torch.tensor(x)).detach().numpy()
    y = ours(mt.tensor(x))
    # (torch's loaded conv / norm would print a size of 0, see minitf/nn/lazy.py; ours is the full one's)
    assert type(ours).__name__ == type(full).__name__ and repr(ours) == expected
    np.testing.assert_allclose(y.numpy(), y_t, rtol=1e-5, atol=1e-5)
    for m in (ours, fresh):
        assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in full.state_dict().items()}


def test_first_call_infers_initialises_and_becomes_the_ordinary_class(device):
    mt.manual_seed(0)
    lazy = nn.LazyLinear(3).to(device, "float64")
    assert lazy.weight.dtype == np.float64
    y = lazy(mt.randn(2, 5, device=device, dtype="float64"))
    assert type(lazy) is nn.Linear and lazy.in_features == 5 and y.shape == (2, 3)
    assert lazy.weight.device == device and lazy.weight.dtype == np.float64
    assert type(lazy.weight) is nn.Parameter and not lazy._forward_pre_hooks
    bound = 1 / np.sqrt(5)
    assert np.all(np.abs(lazy.weight.numpy()) <= bound) and lazy.weight.numpy().std() > 0
    bn = nn.LazyBatchNorm2d()
    bn(mt.randn(2, 4, 3, 3, device="cpu"))
    assert type(bn) is nn.BatchNorm2d and bn.num_batches_tracked.item() == 1
    assert type(bn.running_mean) is mt.Tensor and bn.running_mean.shape == (4,)


def test_gradients_reach_the_materialised_parameters():
    conv = nn.LazyConv2d(2, 3)
    w_before = conv.weight                        # the same object after materialising
    conv(mt.randn(1, 3, 5, 5)).sum().backward()
    assert conv.weight is w_before and conv.weight.grad.shape == (2, 3, 3, 3)


def test_uninitialised_parameter_refuses_its_shape_and_materialises():
    torch = pytest.importorskip("torch")
    p, tp = nn.UninitializedParameter(), torch.nn.UninitializedParameter()
    for q in (p, tp):
        with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
            q.shape
        with pytest.raises(ValueError, match="uninitialized parameter"):
            q.numel()
        assert q.requires_grad and repr(q) == "<UninitializedParameter>"
    p.materialize((2, 3), dtype="float64")
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == np.float64
    b = nn.UninitializedBuffer()
    b.materialize((4,))
    assert type(b) is mt.Tensor and not b.requires_grad and b.dtype == mt.get_default_dtype()
    with pytest.raises(RuntimeError, match="share memory"):
        nn.LazyLinear(2).share_memory()


def test_errors_at_the_first_call():
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        nn.LazyConv2d(4, 3)(mt.randn(3, 5))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(mt.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.LazyBatchNorm1d()(mt.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="out_features"):
        nn.LazyLinear(-1)


def test_unbatched_instance_norm_reads_the_channels_from_dim_0():
    m = nn.LazyInstanceNorm1d()
    y = m(mt.randn(3, 6))               # (C, L): C = 3 (torch 2.13 reads dim 1 and then fails)
    assert m.num_features == 3 and y.shape == (3, 6)


def test_deepcopy_before_the_first_call_gives_an_independent_lazy_module():
    a = nn.LazyLinear(2)
    b = copy.deepcopy(a)
    b(mt.randn(1, 7))
    assert type(b) is nn.Linear and b.weight.shape == (2, 7)
    assert type(a) is nn.LazyLinear and is_lazy(a.weight)
    a(mt.randn(1, 4))
    assert a.weight.shape == (2, 4)
