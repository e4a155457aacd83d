"""ParameterList, ParameterDict, Flatten, Unflatten and RMSNorm: registration and state-dict
names as torch's, a torch state dict loading, values and gradients against torch with the same
weights, float64 gradchecks on both devices, and the errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim

from ..conftest import device_tensor
from .conftest import gradcheck_module


class WithParams(nn.Module):
    def __init__(self):
        super().__init__()
        self.plist = nn.ParameterList([nn.Parameter(mt.randn(2, 3)), mt.randn(3)])
        self.pdict = nn.ParameterDict({"scale": mt.ones(3), "shift": nn.Parameter(mt.zeros(3))})

    def forward(self, x):
        return (x @ self.plist[0] + self.plist[1]) * self.pdict["scale"] + self.pdict["shift"]


def test_parameter_containers_register_with_torch_names():
    torch = pytest.importorskip("torch")

    class TorchWithParams(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.plist = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(2, 3)), torch.randn(3)])
            self.pdict = torch.nn.ParameterDict({"scale": torch.ones(3), "shift": torch.zeros(3)})

    torch.manual_seed(0)
    m, tm = WithParams(), TorchWithParams()
    assert list(m.state_dict()) == list(tm.state_dict()) == ["plist.0", "plist.1", "pdict.scale", "pdict.shift"]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    expected = ((torch.tensor(x) @ tm.plist[0] + tm.plist[1]) * tm.pdict["scale"] + tm.pdict["shift"])
    # float32 with atol: torch may fuse the two products and the bias (FMA) where NumPy rounds
    # each, so an entry that cancels to near 0 differs by an ulp of its terms, not of itself
    np.testing.assert_allclose(m(mt.tensor(x)).numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())


def test_parameter_containers_train_and_move(device):
    m = WithParams().double().to(device)
    x = device_tensor(np.random.default_rng(1).standard_normal((4, 2)), device)
    assert gradcheck_module(m, [x])
    opt = optim.SGD(m.parameters(), lr=0.1)
    before = m.pdict["shift"].numpy().copy()
    m(x).sum().backward()
    opt.step()
    assert not np.allclose(m.pdict["shift"].numpy(), before)
    assert m.plist[0].device == device and m.pdict["scale"].dtype == np.float64


def test_parameter_list_operations():
    a, b, c = (nn.Parameter(mt.zeros(n)) for n in (1, 2, 3))
    pl = nn.ParameterList([a])
    pl.append(b).extend([c])
    assert len(pl) == 3 and pl[-1] is c and list(pl) == [a, b, c]
    assert list(pl[1:]) == [b, c] and isinstance(pl[1:], nn.ParameterList)
    d = nn.Parameter(mt.ones(2))
    pl[1] = d
    assert pl[1] is d and list(pl.state_dict()) == ["0", "1", "2"]
    pl += [nn.Parameter(mt.ones(1))]
    assert len(pl) == 4
    with pytest.raises(IndexError, match="ParameterList index 4 out of range for length 4"):
        pl[4]
    with pytest.raises(TypeError, match="ParameterList holds Parameters .* got int at index 4"):
        pl.append(3)
    with pytest.raises(TypeError, match="ParameterList indices must be integers or slices"):
        pl["0"]


def test_parameter_dict_operations():
    pd = nn.ParameterDict([("w", mt.ones(2))])
    pd.update({"b": nn.Parameter(mt.zeros(2))})
    assert list(pd) == ["w", "b"] and "w" in pd and len(pd) == 2
    assert [k for k, _ in pd.items()] == list(pd.keys()) and pd.get("missing") is None
    p = pd.pop("w")
    assert isinstance(p, nn.Parameter) and list(pd.state_dict()) == ["b"] and not hasattr(pd, "w")
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []
    with pytest.raises(KeyError, match="contain no '.'"):
        pd["a.b"] = mt.ones(1)
    with pytest.raises(KeyError, match="would hide the ParameterDict attribute"):
        pd["keys"] = mt.ones(1)
    with pytest.raises(TypeError, match="ParameterDict keys must be strings"):
        pd[0] = mt.ones(1)
    with pytest.raises(TypeError, match="ParameterDict holds Parameters .* got str for key 'x'"):
        pd["x"] = "not a tensor"
    with pytest.raises(KeyError):
        pd["absent"]


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (1, 2), (-2, -1)])
def test_flatten_matches_torch_and_gradchecks(device, start, end):
    x = device_tensor(np.random.default_rng(2).standard_normal((2, 3, 4, 2)), device)
    layer = nn.Flatten(start, end)
    y = layer(x)
    assert gradcheck_module(layer, [x])
    torch = pytest.importorskip("torch")
    assert y.shape == tuple(torch.nn.Flatten(start, end)(torch.zeros(2, 3, 4, 2)).shape)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(y.shape))


@pytest.mark.parametrize("dim, sizes", [(1, (3, 4)), (-1, (2, -1)), (0, [2, 1])])
def test_unflatten_matches_torch_and_gradchecks(device, dim, sizes):
    x = device_tensor(np.random.default_rng(3).standard_normal((2, 12)), device)
    layer = nn.Unflatten(dim, sizes)
    y = layer(x)
    assert gradcheck_module(layer, [x])
    torch = pytest.importorskip("torch")
    assert y.shape == tuple(torch.nn.Unflatten(dim, sizes)(torch.zeros(2, 12)).shape)
    assert nn.Flatten(dim % 2, dim % 2 + len(sizes) - 1)(y).shape == x.shape


def test_unflatten_errors():
    with pytest.raises(ValueError, match=r"Unflatten: sizes \(5, 2\) do not multiply up to the size of dim 1 \(12\)"):
        nn.Unflatten(1, (5, 2))(mt.zeros(2, 12))
    with pytest.raises(ValueError, match="cannot make up the size of dim 1"):
        nn.Unflatten(1, (5, -1))(mt.zeros(2, 12))
    with pytest.raises(ValueError, match="may hold one -1"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(TypeError, match="unflattened_size must be a non-empty tuple or list of ints"):
        nn.Unflatten(1, 12)


@pytest.mark.parametrize("shape, eps, affine", [(6, None, True), ((3, 6), 1e-3, True), ((6,), None, False)])
def test_rms_norm_layer_matches_torch_with_its_weights(shape, eps, affine):
    torch = pytest.importorskip("torch")
    tm = torch.nn.RMSNorm(shape, eps=eps, elementwise_affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            tm.weight.copy_(torch.randn(tm.weight.shape, dtype=torch.float64))
    m = nn.RMSNorm(shape, eps=eps, elementwise_affine=affine).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict(tm.state_dict())
    assert repr(m) == repr(tm)
    x = np.random.default_rng(4).standard_normal((2, 3, 6)) * 1e-4
    xt = torch.tensor(x, requires_grad=True)
    xm = mt.tensor(x, requires_grad=True)
    y, yt = m(xm), tm(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10)
    u = np.random.default_rng(5).standard_normal(y.shape)
    (y * mt.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    if affine:
        np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-10)


def test_rms_norm_layer_gradcheck(device):
    m = nn.RMSNorm((2, 3), dtype="float64", device=device)
    m.weight.data[...] = device_tensor(np.arange(1.0, 7.0).reshape(2, 3), device).data
    x = device_tensor(np.random.default_rng(6).standard_normal((4, 2, 3)), device)
    assert m.weight.device == device and m.weight.dtype == np.float64
    assert gradcheck_module(m, [x])


def test_rms_norm_layer_errors():
    with pytest.raises(ValueError, match="RMSNorm: normalized_shape must be a non-empty shape"):
        nn.RMSNorm(())
    with pytest.raises(ValueError, match="RMSNorm: eps must be None or a non-negative number"):
        nn.RMSNorm(4, eps=-1.0)
    with pytest.raises(ValueError, match=r"rms_norm: expected input \(\.\.\., 4\), got \(2, 3\)"):
        nn.RMSNorm(4)(mt.zeros(2, 3))


def test_parameter_dict_sorts_a_plain_dict_as_torch():
    # PyTorch sorts the keys of a plain dict (not of an OrderedDict, a ParameterDict or pairs):
    # the order of parameters() and of the state dict follows
    torch = pytest.importorskip("torch")
    from collections import OrderedDict
    keys = ["zeta", "alpha", "mid", "Beta"]
    for make in (dict, OrderedDict, lambda kv: kv, "paramdict"):
        def build(nnmod, ones):
            items = [(k, ones(i + 1)) for i, k in enumerate(keys)]
            if make == "paramdict":
                src = nnmod.ParameterDict()
                for k, v in items:
                    src[k] = v
                return nnmod.ParameterDict(src)
            return nnmod.ParameterDict(make(items))
        ours, theirs = build(nn, mt.ones), build(torch.nn, torch.ones)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [p.shape[0] for p in ours.parameters()] == [p.shape[0] for p in theirs.parameters()]
        pd, tpd = nn.ParameterDict(OrderedDict(y=mt.ones(1))), torch.nn.ParameterDict(OrderedDict(y=torch.ones(1)))
        pd.update(make([("b", mt.ones(1)), ("a", mt.ones(1))]) if make != "paramdict" else nn.ParameterDict([("b", mt.ones(1)), ("a", mt.ones(1))]))
        tpd.update(make([("b", torch.ones(1)), ("a", torch.ones(1))]) if make != "paramdict" else torch.nn.ParameterDict([("b", torch.ones(1)), ("a", torch.ones(1))]))
        assert list(pd) == list(tpd)
    assert list(nn.ParameterDict({"b": mt.ones(1), "a": mt.ones(1)})) == ["a", "b"]
