"""The Module system: registration, dotted names, state dicts, modes, devices, tied weights."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.tensor import Tensor


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.body = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 3, bias=False)])
        self.heads = nn.ModuleDict(norm=nn.LayerNorm(3), drop=nn.Dropout(0.5))
        self.scale = nn.Parameter(mt.ones(3))
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight  # tied

    def forward(self, idx):
        x = self.emb(idx)
        for layer in self.body:
            x = layer(x)
        return self.head(self.heads["drop"](self.heads["norm"](x)) * self.scale)


# a module's own parameters come before its children's (as PyTorch orders them)
EXPECTED = [("scale", (3,)), ("emb.weight", (5, 3)), ("body.0.weight", (4, 3)), ("body.0.bias", (4,)),
            ("body.1.weight", (3, 4)), ("heads.norm.weight", (3,)), ("heads.norm.bias", (3,)),
            ("head.weight", (5, 3))]


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(mt.zeros(2, 3))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf and p.shape == (2, 3)
    assert not hasattr(p, "__dict__")  # __slots__ kept: no per-instance dict
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(mt.tensor([1, 2]))


def test_registration_order_and_dotted_names():
    m = Tiny()
    assert [(k, v.shape) for k, v in m.state_dict().items()] == EXPECTED
    named = [k for k, _ in m.named_parameters()]
    assert named == [k for k, _ in EXPECTED[:-1]]          # the tied head only under its first name
    assert len(list(m.parameters())) == 7
    assert [k for k, _ in m.named_modules()][:4] == ["", "emb", "body", "body.0"]


def test_tied_weights_are_one_parameter_counted_once():
    m = Tiny()
    assert m.head.weight is m.emb.weight
    sd = m.state_dict()
    assert sd["head.weight"].data is sd["emb.weight"].data
    total = sum(int(np.prod(s)) for k, s in EXPECTED if k != "head.weight")
    assert m.num_parameters() == total
    # Embedding parameters (and the head tied to them) are left out
    assert m.num_parameters(exclude_embeddings=True) == total - 15
    # gradients from both uses accumulate into the one parameter
    idx = mt.tensor([[0, 1, 4]])
    m(idx).sum().backward()
    assert m.emb.weight.grad is not None and m.emb.weight.grad.shape == (5, 3)


def test_state_dict_is_detached_and_shares_data():
    m = Tiny()
    sd = m.state_dict()
    assert all(not v.requires_grad and not isinstance(v, nn.Parameter) for v in sd.values())
    assert sd["body.0.weight"].data is m.body[0].weight.data


def test_state_dict_round_trip_is_exact(device):
    mt.manual_seed(3)
    a, b = Tiny().to(device=device, dtype="float64"), Tiny().to(device=device, dtype="float64")
    assert not np.array_equal(a.body[0].weight.numpy(), b.body[0].weight.numpy())
    ids = [id(p) for p in b.parameters()]
    b.load_state_dict(a.state_dict())
    assert [id(p) for p in b.parameters()] == ids               # copied into the same parameters
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and vb.device == device
        assert np.array_equal(va.numpy(), vb.numpy())
    # NumPy arrays load too, cast to the parameter's dtype and moved to its device
    host = {k: v.numpy().astype(np.float32) + 1 for k, v in a.state_dict().items()}
    b.load_state_dict(host)
    assert b.body[0].weight.dtype == np.float64 and b.body[0].weight.device == device
    np.testing.assert_array_equal(b.body[0].weight.numpy(), host["body.0.weight"].astype(np.float64))


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    m = Tiny()
    before = m.body[0].weight.numpy().copy()
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    del sd["scale"], sd["heads.norm.bias"]
    sd["extra.weight"] = np.zeros(3)
    sd["body.0.weight"] = np.zeros((3, 4))
    sd["body.0.bias"] = np.ones(4)
    with pytest.raises(nn.StateDictError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    for part in ("missing key(s): scale, heads.norm.bias", "unexpected key(s): extra.weight",
                 "body.0.weight: got shape (3, 4), the model has shape (4, 3)"):
        assert part in msg
    np.testing.assert_array_equal(m.body[0].weight.numpy(), before)
    assert not np.array_equal(m.body[0].bias.numpy(), np.ones(4))  # nothing copied


def test_load_state_dict_non_strict_returns_the_differences():
    m = Tiny()
    sd = {k: v for k, v in m.state_dict().items() if k != "scale"}
    sd["extra"] = np.zeros(2)
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["scale"] and res.unexpected_keys == ["extra"]
    sd["body.0.bias"] = np.zeros(7)
    with pytest.raises(nn.StateDictError, match="size mismatch for body.0.bias"):
        m.load_state_dict(sd, strict=False)  # a wrong shape is an error even when not strict


def test_tied_names_given_different_values_is_an_error():
    m = Tiny()
    sd = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    sd["head.weight"] += 1
    with pytest.raises(nn.StateDictError, match="tied parameters emb.weight and head.weight"):
        m.load_state_dict(sd)


def test_train_eval_reach_every_submodule():
    m = Tiny()
    assert all(x.training for x in m.modules())
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert m.heads["drop"].training


def test_zero_grad_and_to(device):
    m = Tiny()
    m(mt.tensor([[1, 2]])).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.to(device=device, dtype="float64")
    assert all(p.device == device and p.dtype == np.float64 for p in m.parameters())
    assert m.head.weight is m.emb.weight                      # still tied after the move
    with pytest.raises(TypeError, match="floating point"):
        m.to(dtype="int64")


def test_assignment_rules():
    m = Tiny()
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        m.scale = mt.ones(3)
    m.scale = None                                            # declared but absent
    assert "scale" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="ModuleList holds Modules"):
        nn.ModuleList([3])

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mt.ones(1))
    with pytest.raises(AttributeError, match="super"):
        Forgot()


def test_module_list_and_dict_access():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is list(layers)[2]
    with pytest.raises(IndexError, match="out of range"):
        layers[3]
    d = nn.ModuleDict(a=nn.Linear(1, 1))
    assert "a" in d and list(d.keys()) == ["a"] and len(d) == 1


class _DuckTensor:
    """A foreign tensor as PyTorch's looks to minitf: detach(), cpu(), numpy(), and no __array__."""

    def __init__(self, a, bfloat16=False):
        self.a, self.bfloat16, self.shape = a, bfloat16, a.shape

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        if self.bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self.a

    def float(self):
        return _DuckTensor(self.a.astype(np.float32))


class _ArrayLike:
    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


def test_load_state_dict_takes_foreign_array_likes(device):
    mt.manual_seed(5)
    a, b = Tiny(), Tiny().to(device=device)
    ref = {k: v.numpy() for k, v in a.state_dict().items()}
    kinds = [_DuckTensor, lambda x: _DuckTensor(x, bfloat16=True), _ArrayLike, lambda x: x.tolist()]
    sd = {k: kinds[i % len(kinds)](v) for i, (k, v) in enumerate(ref.items())}
    sd["head.weight"] = _DuckTensor(ref["head.weight"])   # tied: compared on the host before copying
    b.load_state_dict(sd)
    for k, v in b.state_dict().items():
        assert v.device == device
        np.testing.assert_array_equal(v.numpy(), ref[k], err_msg=k)
    with pytest.raises(nn.StateDictError, match=r"not numeric: scale \(dtype <U1\)"):
        b.load_state_dict({**sd, "scale": ["a", "b", "c"]})


def test_load_state_dict_takes_torch_tensors(device):
    torch = pytest.importorskip("torch")
    mt.manual_seed(6)
    a, b = Tiny().to(dtype="float64"), Tiny().to(device=device)
    sd = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in a.state_dict().items()}
    sd["head.weight"] = sd["emb.weight"]                   # tied, one tensor under two names
    b.load_state_dict(sd)
    for k, v in b.state_dict().items():
        assert v.device == device and v.dtype == np.float32
        np.testing.assert_array_equal(v.numpy(), a.state_dict()[k].numpy().astype(np.float32), err_msg=k)
    sd["body.0.bias"] = torch.zeros(7)
    with pytest.raises(nn.StateDictError, match=r"body.0.bias: got shape \(7,\)"):
        b.load_state_dict(sd)
