"""Round-5 review fixes of the Module state-dict machinery (state_dict.py, lazy.py)."""
import copy

import pytest

import minitf as mt
from minitf import nn


def test_unexpected_keys_follow_torch_rule():
    # a dotted key under a parameter's name, and a child's name alone, are unexpected (torch's)
    m = nn.Module()
    m.lin = nn.Linear(2, 2)
    m.w = nn.Parameter(mt.ones(2))
    sd = dict(m.state_dict())
    sd["w.foo"] = sd["w"]
    sd["lin"] = sd["w"]
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == [] and sorted(result.unexpected_keys) == ["lin", "w.foo"]
    with pytest.raises(nn.StateDictError, match="unexpected key"):
        m.load_state_dict(sd)


def test_failed_load_leaves_lazy_placeholders():
    # the lazy pre-hook materialised the placeholders even when the load then failed
    src = nn.Sequential(nn.Linear(5, 3), nn.Linear(3, 2))
    lazy = nn.Sequential(nn.LazyLinear(3), nn.LazyLinear(2))
    sd = dict(src.state_dict())
    del sd["1.bias"]
    with pytest.raises(nn.StateDictError, match="missing"):
        lazy.load_state_dict(sd)
    assert all(nn.lazy.is_lazy(p) for p in lazy.parameters())
    lazy.load_state_dict(src.state_dict())        # a good load still materialises them
    x = mt.randn(4, 5)
    assert mt.allclose(lazy(x), src(x))


def test_deepcopied_load_pre_hook_gets_the_copy():
    seen = []
    m = nn.Linear(2, 2)
    m.register_load_state_dict_pre_hook(lambda mod, *a: seen.append(mod))
    c = copy.deepcopy(m)
    c.load_state_dict(m.state_dict())
    assert seen == [c]


def test_tied_parameter_with_nan_reloads_and_copies_are_compared():
    # np.array_equal without equal_nan refused a model's own state dict with a NaN in a tied weight
    lin = nn.Linear(2, 2, bias=False)
    s = nn.Sequential(lin, lin)
    lin.weight.data[0, 0] = float("nan")
    s.load_state_dict(s.state_dict())
    copies = {k: v.clone() for k, v in s.state_dict().items()}   # distinct arrays, equal values
    s.load_state_dict(copies)
    copies["1.weight"] = mt.zeros(2, 2)
    with pytest.raises(nn.StateDictError, match="tied parameters 0.weight and 1.weight"):
        s.load_state_dict(copies)
