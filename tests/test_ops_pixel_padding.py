"""Padding layers (nn.ConstantPad*, ZeroPad*, ReflectionPad*, ReplicationPad*, CircularPad*), F.pad's
negative amounts in the copying modes, and the pixel/channel shuffles: torch 2.13 in float64 (values
and gradients), gradchecks on both devices, torch's errors and reprs."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import ArgumentError, ArgumentTypeError, ShapeError

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of

LAYERS = [f"{kind}Pad{d}d" for kind in ("Constant", "Zero", "Reflection", "Replication", "Circular")
          for d in (1, 2, 3)]


def _args(name, padding):
    return (padding, 2.5) if name.startswith("Constant") else (padding,)


def _both(torch, a, fn_mt, fn_t, rng):
    """fn on minitf and torch tensors of ``a`` (float64), with one random cotangent: (y, yt, dx, dxt)."""
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = fn_mt(x), fn_t(xt)
    u = rng.standard_normal(tuple(yt.shape))
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    return y.numpy(), yt.detach().numpy(), grad_of(x), xt.grad.numpy()


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("padding", [1, "tuple"])
@pytest.mark.parametrize("batched", [True, False])
def test_padding_layers_match_torch(name, padding, batched):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    d = int(name[-2])
    if padding == "tuple":
        padding = (2, 0, 1, 3, 0, 1)[:2 * d]
    shape = ((2,) if batched else ()) + (3,) + (4, 5, 4)[:d]
    a = rng.standard_normal(shape)
    layer, ref = getattr(nn, name)(*_args(name, padding)), getattr(torch.nn, name)(*_args(name, padding))
    assert repr(layer) == repr(ref)
    assert layer.padding == ref.padding
    y, yt, g, gt = _both(torch, a, layer, ref, rng)
    np.testing.assert_array_equal(y, yt)
    np.testing.assert_allclose(g, gt, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["ReflectionPad2d", "ReplicationPad3d", "CircularPad1d", "ZeroPad3d"])
def test_padding_layers_gradcheck_on_device(device, name):
    d = int(name[-2])
    x = device_tensor(np.random.default_rng(1).standard_normal((2, 2) + (3, 4, 3)[:d]), device)
    layer = getattr(nn, name)((1, 2, 2, 0, 0, 1)[:2 * d])
    assert layer(x).device == device
    assert mt.gradcheck(layer, [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(layer, [x], rtol=RTOL, atol=ATOL)


def test_padding_layers_check_the_input_rank_as_torch():
    torch = pytest.importorskip("torch")
    for name, ndim in [("CircularPad1d", 4), ("CircularPad2d", 2), ("CircularPad3d", 6), ("ReflectionPad1d", 4),
                       ("ReplicationPad2d", 5), ("ReflectionPad3d", 3)]:
        a = np.zeros((2,) * ndim)
        with pytest.raises((ValueError, NotImplementedError)):
            getattr(torch.nn, name)(1)(torch.tensor(a))
        with pytest.raises(ShapeError, match=f"{ndim}D input"):
            getattr(nn, name)(1)(mt.tensor(a))
    # constant padding takes any rank with enough dims, as torch's
    a = np.zeros((2, 2, 2, 2, 2))
    assert nn.ConstantPad1d(1, 0.0)(mt.tensor(a)).shape == tuple(torch.nn.ConstantPad1d(1, 0.0)(torch.tensor(a)).shape)
    with pytest.raises(ArgumentError, match="padding must be an int or a tuple of 4 ints"):
        nn.ZeroPad2d(1.5)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(-1, 1, 2, -1, 0, -2), (2, -1, -2, 2, 1, 1), (-1, -1, 0, 0, -2, 2)])
def test_pad_negative_amounts_crop_in_every_mode_as_torch(mode, pad):
    # torch crops first and then pads what is left (circular wraps around the cropped part)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 3, 4, 5, 6))
    y, yt, g, gt = _both(torch, a, lambda t: F.pad(t, pad, mode=mode),
                         lambda t: torch.nn.functional.pad(t, pad, mode=mode), rng)
    np.testing.assert_array_equal(y, yt)
    np.testing.assert_allclose(g, gt, rtol=1e-14, atol=1e-15)


def test_pad_circular_more_than_what_is_left_after_cropping_is_an_error():
    # torch answers these with overlapping-memory errors or sizes that are no wrap of anything
    x = mt.zeros(1, 1, 4)
    with pytest.raises(ValueError, match=r"size 2 after cropping"):
        F.pad(x, (3, -2), mode="circular")
    with pytest.raises(ValueError, match="leaves a negative size"):
        F.pad(x, (-3, -2), mode="replicate")


# ----------------------------------------------------------------------------- pixel and channel shuffles
SHUFFLES = [("pixel_shuffle", (2, 8, 3, 2), 2), ("pixel_shuffle", (9, 1, 2), 3), ("pixel_shuffle", (2, 1, 4, 2, 3), 2),
            ("pixel_shuffle", (0, 4, 2, 2), 2), ("pixel_shuffle", (4, 1, 1), 1),
            ("pixel_unshuffle", (2, 2, 4, 6), 2), ("pixel_unshuffle", (1, 6, 3), 3), ("pixel_unshuffle", (3, 2, 2, 2, 4), 2),
            ("channel_shuffle", (2, 6, 3), 3), ("channel_shuffle", (1, 6, 2, 2), 2), ("channel_shuffle", (2, 4, 1, 2, 1), 4),
            ("channel_shuffle", (0, 6, 2), 2), ("native_channel_shuffle", (2, 6, 2), 2)]


@pytest.mark.parametrize("name, shape, r", SHUFFLES)
def test_shuffles_match_torch(name, shape, r):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.standard_normal(shape)
    # (torch's native_channel_shuffle has no derivative: its gradients are channel_shuffle's)
    tname = "channel_shuffle" if name == "native_channel_shuffle" else name
    fn, ref = (lambda t: getattr(F, name)(t, r)), (lambda t: getattr(torch.nn.functional, tname)(t, r))
    if a.size:
        y, yt, g, gt = _both(torch, a, fn, ref, rng)
        np.testing.assert_array_equal(g, gt)
    else:   # (torch's pixel_shuffle backward refuses an empty batch: forward only)
        y, yt = fn(mt.tensor(a)).numpy(), ref(torch.tensor(a)).numpy()
        x = mt.tensor(a, requires_grad=True)
        fn(x).sum().backward()
        assert grad_of(x).shape == a.shape
    assert y.shape == yt.shape
    np.testing.assert_array_equal(y, yt)
    # int input, as torch's
    ai = np.arange(int(np.prod(shape))).reshape(shape)
    np.testing.assert_array_equal(getattr(F, name)(mt.tensor(ai), r).numpy(),
                                  getattr(torch.nn.functional, name)(torch.tensor(ai), r).numpy())


def test_shuffles_non_contiguous_input_and_top_level_names():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).standard_normal((4, 2, 8, 3))
    x, xt = mt.tensor(a).transpose(1, 2), torch.tensor(a).transpose(1, 2)     # (4, 8, 2, 3), not contiguous
    np.testing.assert_array_equal(mt.pixel_shuffle(x, 2).numpy(), torch.pixel_shuffle(xt, 2).numpy())
    np.testing.assert_array_equal(mt.channel_shuffle(x, 4).numpy(), torch.channel_shuffle(xt, 4).numpy())
    np.testing.assert_array_equal(mt.pixel_unshuffle(x[..., :2, :2], 2).numpy(),
                                  torch.pixel_unshuffle(xt[..., :2, :2], 2).numpy())
    assert mt.native_channel_shuffle is mt.channel_shuffle is F.channel_shuffle


@pytest.mark.parametrize("name, shape, r", [s for s in SHUFFLES if s[1][0]][:4] + SHUFFLES[6:8] + SHUFFLES[9:10])
def test_shuffles_gradcheck_on_device(device, name, shape, r):
    x = device_tensor(np.random.default_rng(5).standard_normal(shape), device)
    assert getattr(F, name)(x, r).device == device
    assert mt.gradcheck(lambda t: getattr(F, name)(t, r), [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda t: getattr(F, name)(t, r), [x], rtol=RTOL, atol=ATOL)


def test_shuffle_layers_and_errors():
    torch = pytest.importorskip("torch")
    for layer, ref in [(nn.PixelShuffle(3), torch.nn.PixelShuffle(3)), (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2)),
                       (nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2))]:
        assert repr(layer) == repr(ref)
    a = np.arange(36.0).reshape(1, 36, 1, 1)
    np.testing.assert_array_equal(nn.PixelShuffle(3)(mt.tensor(a)).numpy(), torch.nn.PixelShuffle(3)(torch.tensor(a)).numpy())
    x = mt.zeros(5, 2, 2)
    with pytest.raises(ShapeError, match=r"input.size\(-3\)=5 is not divisible by 4"):
        F.pixel_shuffle(x, 2)
    with pytest.raises(ShapeError, match="at least 3 dimensions, but got input with 2"):
        F.pixel_shuffle(mt.zeros(4, 2), 2)
    with pytest.raises(ArgumentError, match="positive upscale_factor, but got 0"):
        F.pixel_shuffle(x, 0)
    with pytest.raises(ArgumentTypeError, match="must be int, not float"):
        F.pixel_shuffle(x, 2.0)
    with pytest.raises(ShapeError, match=r"width to be divisible by downscale_factor, but input.size\(-1\)=5"):
        F.pixel_unshuffle(mt.zeros(1, 4, 5), 2)
    with pytest.raises(ShapeError, match="Got 6 channels and 4 groups"):
        F.channel_shuffle(mt.zeros(1, 6, 2), 4)
    with pytest.raises(ArgumentError, match="must be positive. Value of groups:-2"):
        F.channel_shuffle(mt.zeros(1, 6, 2), -2)
    with pytest.raises(ShapeError, match=r"> 2 dims, but got input with sizes \[2, 6\]"):
        F.channel_shuffle(mt.zeros(2, 6), 2)
