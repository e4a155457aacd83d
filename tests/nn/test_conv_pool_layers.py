"""nn.Conv1d/2d, nn.ConvTranspose1d/2d and the pooling layers: torch's reprs, state-dict names
(a torch state dict loads and gives torch's outputs), torch's initialisation bounds, padding
modes, gradients, the fake device, and a small CNN trained with minitf and with torch from
the same weights."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn, optim

from .conftest import gradcheck_module

rng = np.random.default_rng(5)

LAYERS = [  # (constructor text, input shape): each built by minitf's nn and torch's nn alike
    ("Conv2d(3, 4, 3, stride=2, padding=1, bias=False)", (2, 3, 7, 6)),
    ("Conv2d(4, 6, (2, 3), dilation=(1, 2), groups=2)", (2, 4, 6, 8)),
    ("Conv2d(2, 3, 3, padding='same', padding_mode='reflect')", (2, 2, 5, 5)),
    ("Conv2d(2, 3, (2, 3), padding=(1, 2), padding_mode='circular')", (2, 2, 5, 5)),
    ("Conv2d(2, 3, 3, padding=1, padding_mode='replicate', stride=2)", (2, 2, 5, 6)),
    ("Conv1d(2, 3, 3, padding='same', padding_mode='reflect', dilation=2)", (2, 2, 9)),
    ("Conv1d(4, 4, 2, stride=2, groups=4, padding='valid')", (3, 4, 9)),
    ("Conv1d(2, 3, 3)", (2, 7)),   # unbatched
    ("ConvTranspose2d(2, 3, 3, stride=2, output_padding=1)", (2, 2, 4, 3)),
    ("ConvTranspose2d(4, 2, (2, 3), stride=(2, 1), padding=(1, 0), groups=2, dilation=(1, 2), bias=False)", (1, 4, 3, 3)),
    ("ConvTranspose1d(3, 2, 4, stride=3, padding=1)", (2, 3, 5)),
    ("MaxPool2d(2)", (2, 3, 6, 5)),
    ("MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", (2, 3, 6, 5)),
    ("MaxPool1d(3, stride=1, dilation=2)", (2, 3, 9)),
    ("AvgPool2d(3, 2)", (2, 3, 7, 7)),
    ("AvgPool2d((2, 3), padding=1, count_include_pad=False, divisor_override=None)", (2, 3, 5, 6)),
    ("AvgPool2d(2, divisor_override=3)", (1, 2, 4, 4)),
    ("AvgPool1d(2)", (2, 3, 8)),
    ("AvgPool1d(3, stride=2, padding=1, ceil_mode=True)", (2, 3, 8)),
    ("AdaptiveAvgPool2d((2, None))", (2, 3, 5, 4)),
    ("AdaptiveAvgPool2d(3)", (2, 3, 7, 5)),
    ("AdaptiveAvgPool1d(4)", (2, 3, 10)),
    ("AdaptiveMaxPool2d((3, None))", (2, 3, 5, 4)),
    ("AdaptiveMaxPool1d(4)", (2, 3, 10)),
    # 3-d convolution and pooling
    ("Conv3d(2, 3, (2, 3, 1), stride=(2, 1, 3), padding=(1, 0, 1), bias=False)", (2, 2, 4, 5, 4)),
    ("Conv3d(4, 6, 2, dilation=(1, 2, 1), groups=2)", (2, 4, 3, 5, 3)),
    ("Conv3d(2, 3, (2, 3, 2), padding='same', padding_mode='reflect')", (2, 2, 3, 4, 4)),
    ("Conv3d(2, 3, 3, padding=(0, 1, 2), padding_mode='circular')", (1, 2, 3, 4, 3)),
    ("Conv3d(2, 3, 2, padding=1, padding_mode='replicate', stride=2)", (2, 4, 3, 3)),   # unbatched
    ("ConvTranspose3d(2, 3, 2, stride=2, output_padding=(1, 0, 1))", (2, 2, 2, 3, 2)),
    ("ConvTranspose3d(4, 2, (2, 1, 2), stride=(2, 1, 1), padding=(1, 0, 0), groups=2, dilation=(1, 1, 2))",
     (1, 4, 3, 2, 3)),
    ("MaxPool3d(2)", (2, 2, 4, 5, 3)),
    ("MaxPool3d(3, stride=2, padding=1, ceil_mode=True, dilation=(1, 1, 1))", (2, 4, 5, 4)),
    ("AvgPool3d((2, 3, 2), padding=1, count_include_pad=False)", (2, 2, 4, 5, 3)),
    ("AvgPool3d(2, stride=1, divisor_override=3, ceil_mode=True)", (1, 2, 3, 3, 4)),
    ("AdaptiveAvgPool3d((2, None, 3))", (2, 2, 4, 5, 4)),
    ("AdaptiveMaxPool3d(2)", (2, 2, 4, 5, 3)),
]


def _pair(text):
    torch = pytest.importorskip("torch")
    ours, theirs = eval("nn." + text, {"nn": nn}), eval("nn." + text, {"nn": torch.nn})
    theirs = theirs.double()
    ours.load_state_dict(theirs.state_dict())   # torch's names and shapes: weight, bias
    return ours.double(), theirs


@pytest.mark.parametrize("text, shape", LAYERS)
def test_layer_matches_torch(text, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(text)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape)
    x = rng.standard_normal(shape)
    xm, xt = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xm), theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(mt.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_max_pool_layer_returns_indices_as_torchs():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 6))
    y, idx = nn.MaxPool2d(2, return_indices=True)(mt.tensor(x))
    yt, idxt = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), idxt.numpy())
    np.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_conv_transpose_output_size_as_torchs():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair("ConvTranspose2d(2, 3, 3, stride=2)")
    x = rng.standard_normal((1, 2, 4, 4))
    for size in ((9, 9), (10, 10), (1, 3, 9, 10)):
        assert ours(mt.tensor(x), output_size=size).shape == tuple(theirs(torch.tensor(x), output_size=size).shape)
    with pytest.raises(ValueError, match="valid sizes range"):
        ours(mt.tensor(x), output_size=(11, 11))


def test_conv_transpose_output_size_range_ignores_the_dilation_as_torchs():
    # torch's module allows sizes up to stride - 1 above the least (found by a fuzz against torch)
    layer = nn.ConvTranspose1d(1, 1, 2, stride=1, dilation=3)
    x = mt.ones(1, 1, 4)
    assert layer(x, output_size=[7]).shape == (1, 1, 7)
    with pytest.raises(ValueError, match=r"valid sizes range from \(7,\) to \(7,\)"):
        layer(x, output_size=[8])


@pytest.mark.parametrize("layer", [nn.Conv2d(6, 4, (3, 2), groups=2), nn.Conv1d(5, 3, 4), nn.ConvTranspose2d(4, 6, 3),
                                   nn.Conv3d(4, 8, (3, 2, 2), groups=2), nn.ConvTranspose3d(4, 6, (2, 3, 2))])
def test_init_is_torchs_bound(layer):
    """kaiming_uniform(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias the same bound."""
    w = layer.weight.numpy()
    bound = 1 / math.sqrt(w.shape[1] * math.prod(w.shape[2:]))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.25 * bound / math.sqrt(3)   # a uniform's std, loosely
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer.weight.dtype == np.float32


def test_layers_gradcheck():
    for layer, shape in [(nn.Conv2d(4, 2, 2, stride=2, padding=1, groups=2), (2, 4, 4, 5)),
                         (nn.Conv1d(2, 3, 3, padding="same", padding_mode="circular"), (2, 2, 6)),
                         (nn.ConvTranspose1d(2, 2, 3, stride=2, output_padding=1), (2, 2, 4)),
                         (nn.Conv3d(2, 2, 2, padding="same", padding_mode="reflect", groups=2), (1, 2, 3, 3, 3)),
                         (nn.ConvTranspose3d(2, 2, 2, stride=2, output_padding=(0, 1, 0)), (1, 2, 2, 2, 2))]:
        layer = layer.double()
        assert gradcheck_module(layer, [mt.tensor(rng.standard_normal(shape), requires_grad=True)])


def test_layers_on_the_device(device):
    x = rng.standard_normal((2, 3, 6, 6))
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(1),
                          nn.ConvTranspose2d(4, 2, 2, stride=2), nn.AdaptiveAvgPool2d(2)).double()
    ref = model(mt.tensor(x)).numpy()
    model.to(device)
    y = model(mt.tensor(x, device=device))
    y.sum().backward()
    assert y.device == model[0].weight.grad.device == mt.device(device)
    np.testing.assert_allclose(mt.backend.to_numpy(y.data), ref, rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: nn.Conv2d(3, 4, 2, groups=2), "in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 3, 2, groups=2), "out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(3, 4, 2, padding_mode="mirror"), "padding_mode"),
    (lambda: nn.Conv2d(3, 4, 2, stride=2, padding="same"), "strided"),
    (lambda: nn.Conv1d(3, 4, 2, padding="full"), "padding string"),
    (lambda: nn.ConvTranspose2d(3, 4, 2, padding_mode="reflect"), "zeros"),
    (lambda: nn.Conv2d(0, 4, 2), "in_channels"),
    (lambda: nn.Conv2d(3, 4, (2, 2, 2)), "kernel_size"),
    (lambda: nn.Conv3d(3, 4, (2, 2)), "kernel_size"),
    (lambda: nn.Conv3d(3, 4, 2, stride=(1, 2, 1), padding="same"), "strided"),
    (lambda: nn.ConvTranspose3d(3, 4, 2, padding_mode="circular"), "zeros"),
])
def test_bad_layer_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_3d_layers_on_the_device(device):
    x = rng.standard_normal((2, 2, 4, 4, 4))
    model = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1, padding_mode="replicate"), nn.ReLU(), nn.MaxPool3d(2),
                          nn.AvgPool3d(1), nn.ConvTranspose3d(4, 2, 2, stride=2), nn.AdaptiveAvgPool3d(2),
                          nn.AdaptiveMaxPool3d(1)).double()
    ref = model(mt.tensor(x)).numpy()
    model.to(device)
    y = model(mt.tensor(x, device=device))
    y.sum().backward()
    assert y.device == model[0].weight.grad.device == model[4].weight.grad.device == mt.device(device)
    np.testing.assert_allclose(mt.backend.to_numpy(y.data), ref, rtol=1e-12)


def test_conv_transpose3d_output_size_as_torchs():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair("ConvTranspose3d(2, 3, 3, stride=(2, 1, 3))")
    x = rng.standard_normal((1, 2, 3, 2, 2))
    for size in ((7, 4, 6), (8, 4, 8), (1, 3, 8, 4, 7)):
        assert ours(mt.tensor(x), output_size=size).shape == tuple(theirs(torch.tensor(x), output_size=size).shape)
    with pytest.raises(ValueError, match="valid sizes range"):
        ours(mt.tensor(x), output_size=(7, 5, 6))


def test_device_and_dtype_arguments(device):
    conv = nn.Conv2d(2, 3, 2, device=device, dtype="float64")
    t = nn.ConvTranspose1d(2, 3, 2, dtype="float64")
    assert conv.weight.device == conv.bias.device == mt.device(device)
    assert conv.weight.dtype == t.weight.dtype == np.float64
    y = conv(mt.tensor(rng.standard_normal((1, 2, 3, 3)), device=device))
    assert y.shape == (1, 3, 2, 2) and F.conv2d(mt.ones(1, 2, 3, 3, dtype="float64"), conv.weight.cpu(),
                                                 groups=np.int64(1)).shape == (1, 3, 2, 2)


def test_wrong_channel_count_names_it():
    with pytest.raises(RuntimeError, match="to have 3 channels, but got 2"):
        nn.Conv2d(3, 4, 2)(mt.ones(1, 2, 5, 5))


def test_tiny_cnn_trains_as_torchs():
    """Conv2d-ReLU-MaxPool-Flatten-Linear, the same float64 weights in both, a few SGD
    (momentum) steps on the same batches: the same losses and weights."""
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2), lib.Conv2d(4, 4, 3, stride=2),
                              lib.ReLU(), lib.Flatten(), lib.Linear(4, 3))
    theirs = build(torch.nn).double()
    ours = build(nn).double()
    ours.load_state_dict(theirs.state_dict())
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    losses, losses_t = [], []
    for step in range(5):
        x = rng.standard_normal((8, 1, 8, 8))
        y = rng.integers(0, 3, 8)
        loss = F.cross_entropy(ours(mt.tensor(x)), mt.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
        losses.append(loss.item())
        losses_t.append(loss_t.item())
    np.testing.assert_allclose(losses, losses_t, rtol=1e-10, atol=1e-12)
    assert losses[0] != losses[-1]   # it did train
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_fold_and_unfold_modules_as_torchs():
    # torch.nn has them; minitf.nn lacked them (found by a module-level comparison with torch)
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4, 5))
    for ctor in ("Unfold(2, padding=1)", "Unfold((2, 3), dilation=(1, 2), stride=2)"):
        ours, theirs = eval("nn." + ctor), eval("torch.nn." + ctor)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(mt.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    cols = rng.standard_normal((2, 12, 12))
    ours, theirs = nn.Fold((4, 5), 2), torch.nn.Fold((4, 5), 2)
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(ours(mt.tensor(cols)).numpy(), theirs(torch.tensor(cols)).numpy())
