"""BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm, LocalResponseNorm against torch in float64:
outputs, gradients and buffers over several train/eval steps, momentum=None (the cumulative
average), torch state dicts loaded both ways, resets, reprs, devices and the errors."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn

from .test_api_layers import grad_array, torch_state


def _pair(torch, mt_cls, t_cls, *args, **kw):
    """The same layer in both libraries, float64, random affine parameters (torch's loaded into ours)."""
    ref = t_cls(*args, **kw).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_()
    ours = mt_cls(*args, **kw).to(dtype="float64")
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _step(torch, ours, ref, x, train, rng):
    ours.train(train)
    ref.train(train)
    xm, xt = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xm), ref(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    cot = rng.standard_normal(y.shape)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(grad_array(xm), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), ref.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(grad_array(p), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    for (name, b), (tname, tb) in zip(ours.named_buffers(), ref.named_buffers()):
        assert name == tname
        np.testing.assert_allclose(b.numpy(), tb.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 6)),
                                        ("BatchNorm2d", (3, 3, 2, 4)), ("BatchNorm3d", (2, 3, 2, 1, 3))])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"track_running_stats": False}, {"bias": False}])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_batchnorm_matches_torch_over_train_and_eval_steps(cls, shape, momentum, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, ref = _pair(torch, getattr(nn, cls), getattr(torch.nn, cls), 3, momentum=momentum, **options)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for train in (True, True, False, True, True, False):
        _step(torch, ours, ref, rng.standard_normal(shape) * 2 + 0.5, train, rng)
    if ours.track_running_stats:
        assert ours.num_batches_tracked.item() == int(ref.num_batches_tracked) == 4
        assert ours.num_batches_tracked.dtype == np.int64


def test_a_torch_batchnorm2d_state_dict_loads_and_gives_torchs_outputs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ref = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        ref.weight.normal_()
        ref.bias.normal_()
    for _ in range(3):   # trained running statistics, num_batches_tracked = 3
        ref(torch.tensor(rng.standard_normal((5, 4, 3, 3)).astype(np.float32) * 2 + 1))
    ref.eval()
    ours = nn.BatchNorm2d(4)
    assert repr(ours.load_state_dict(ref.state_dict())) == "<All keys matched successfully>"
    assert ours.num_batches_tracked.item() == 3
    ours.eval()
    x = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(mt.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)   # float32 (torch's default layer), rounding apart
    # and back: ours into a fresh torch layer, the same outputs in evaluation
    back = torch.nn.BatchNorm2d(4).eval()
    back.load_state_dict(torch_state(torch, ours))
    assert int(back.num_batches_tracked) == 3
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), ours(mt.tensor(x)).numpy(), rtol=1e-5,
                               atol=1e-6)   # float32: the two fold the affine map in different orders


@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_batchnorm_buffers_defaults_resets_and_repr():
    torch = pytest.importorskip("torch")
    bn = nn.BatchNorm1d(3, momentum=None)
    assert repr(bn) == repr(torch.nn.BatchNorm1d(3, momentum=None))
    assert repr(nn.BatchNorm2d(3, affine=False)) == repr(torch.nn.BatchNorm2d(3, affine=False))
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    bn(mt.tensor(np.random.default_rng(2).standard_normal((4, 3)) + 3, dtype="float32"))
    assert bn.num_batches_tracked.item() == 1
    assert not np.allclose(bn.running_mean.numpy(), 0)
    with mt.no_grad():
        bn.weight.fill_(2.0)
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)
    assert bn.num_batches_tracked.item() == 0 and bn.weight.numpy()[0] == 2.0
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.weight.numpy(), 1)
    untracked = nn.BatchNorm1d(3, track_running_stats=False)
    assert untracked.running_mean is None and list(untracked.state_dict()) == ["weight", "bias"]
    untracked.eval()   # no running statistics: batch statistics in evaluation too, as torch
    y = untracked(mt.tensor(np.arange(6.0).reshape(2, 3), dtype="float32"))
    np.testing.assert_allclose(y.numpy(), [[-1, -1, -1], [1, 1, 1]], rtol=1e-5)


def test_batchnorm_on_the_devices_keeps_buffers_there(device):
    bn = nn.BatchNorm2d(2).to(device=device, dtype="float64")
    x = mt.tensor(np.random.default_rng(3).standard_normal((3, 2, 2, 2)), device=device, requires_grad=True)
    bn(x).sum().backward()
    assert bn.running_mean.device == device and bn.num_batches_tracked.dtype == np.int64
    assert x.grad.device == device and bn.weight.grad.device == device
    bn.eval()
    assert bn(x).device == device


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(mt.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(mt.ones(2, 3, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(mt.ones(1, 3))
    with pytest.raises(mt.errors.ShapeError, match=r"running_mean should contain 4 elements \(one per channel\), "
                                                   r"not 3"):
        nn.BatchNorm1d(3)(mt.ones(2, 4))
    with pytest.raises(ValueError, match="num_features must be a positive int"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum must be None or in"):
        nn.BatchNorm1d(3, momentum=2.0)
    nn.BatchNorm1d(3).eval()(mt.ones(1, 3))   # one value per channel is fine in evaluation


# --------------------------------------------------------------------------- InstanceNorm
@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (3, 3, 5)), ("InstanceNorm1d", (3, 5)),
                                        ("InstanceNorm2d", (2, 3, 2, 4)), ("InstanceNorm2d", (3, 2, 3)),
                                        ("InstanceNorm3d", (2, 3, 2, 1, 3))])
@pytest.mark.parametrize("options", [{}, {"affine": True}, {"track_running_stats": True},
                                     {"affine": True, "track_running_stats": True, "momentum": 0.5}])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_instancenorm_matches_torch(cls, shape, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ours, ref = _pair(torch, getattr(nn, cls), getattr(torch.nn, cls), 3, **options)
    assert repr(ours) == repr(ref) and list(ours.state_dict()) == list(ref.state_dict())
    for train in (True, True, False, True):
        _step(torch, ours, ref, rng.standard_normal(shape) * 2 + 0.5, train, rng)


def test_instancenorm_num_features_mismatch_as_torch():
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\)"):
        nn.InstanceNorm1d(3, affine=True)(mt.ones(2, 4, 5))
    with pytest.warns(UserWarning, match="num_features is not used because affine=False"):
        nn.InstanceNorm1d(3)(mt.tensor(np.random.default_rng(5).standard_normal((2, 4, 5)), dtype="float32"))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(mt.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm2d(3)(mt.ones(2, 3, 1, 1))


# --------------------------------------------------------------------------- GroupNorm, LocalResponseNorm
@pytest.mark.parametrize("shape, G", [((2, 6, 4), 3), ((3, 6), 6), ((2, 6, 2, 3), 1)])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"bias": False}])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_groupnorm_matches_torch(device, shape, G, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    ours, ref = _pair(torch, nn.GroupNorm, torch.nn.GroupNorm, G, 6, **options)
    assert repr(ours) == repr(ref) and list(ours.state_dict()) == list(ref.state_dict())
    _step(torch, ours, ref, rng.standard_normal(shape), True, rng)
    ours.to(device=device)
    y = ours(mt.tensor(rng.standard_normal(shape), device=device))
    assert y.device == device and y.shape == shape


def test_groupnorm_and_lrn_constructor_errors_and_reprs():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    assert repr(nn.LocalResponseNorm(3)) == repr(torch.nn.LocalResponseNorm(3))
    x = np.random.default_rng(7).standard_normal((2, 5, 3))
    np.testing.assert_allclose(nn.LocalResponseNorm(3, alpha=0.5)(mt.tensor(x)).numpy(),
                               torch.nn.LocalResponseNorm(3, alpha=0.5)(torch.tensor(x)).numpy(), rtol=1e-12)


def test_no_numpy_warnings_in_the_norm_layers():
    x = mt.tensor(np.random.default_rng(8).standard_normal((4, 2, 3)), dtype="float32",
                  requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for layer in (nn.BatchNorm1d(2), nn.InstanceNorm1d(2), nn.GroupNorm(1, 2)):
            layer(x).sum().backward()
