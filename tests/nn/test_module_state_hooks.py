"""Module machinery against torch 2.13: state_dict(destination, prefix, keep_vars), the per-module
_save_to_state_dict / _load_from_state_dict steps, the state-dict hooks (order and arguments),
extra state, load_state_dict(assign=True), and the smaller Module methods (nn.Buffer,
set_submodule, to_empty, type, bfloat16, share_memory, compile, register_backward_hook)."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn


def _pair(lib):
    """The same small model in minitf or torch: a Linear, a BatchNorm1d inside a Sequential, a buffer."""
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(3, 4)
            self.body = lib.nn.Sequential(lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2, bias=False))
            self.register_buffer("scale", lib.ones(2))
            self.register_buffer("tmp", lib.zeros(1), persistent=False)

        def forward(self, x):
            return self.body(self.fc(x)) * self.scale
    return Net()


def _hook_log(model, log):
    """Register every kind of state-dict hook on each module, logging (kind, module name, args)."""
    names = {id(m): n for n, m in model.named_modules()}
    for m in model.modules():
        n = names[id(m)]
        m.register_state_dict_pre_hook(lambda mod, prefix, keep, n=n: log.append(("pre", n, prefix, keep)))
        m.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta, n=n: log.append(("post", n, prefix, meta["version"], len(sd))))
        m.register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, meta, strict, miss, unexp, errs, n=n: log.append(("lpre", n, prefix, sorted(sd))))
        m.register_load_state_dict_post_hook(
            lambda mod, keys, n=n: log.append(("lpost", n, list(keys.missing_keys), list(keys.unexpected_keys))))


def test_state_dict_keys_metadata_and_hook_order_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(mt), _pair(torch)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    partial = {k: v for k, v in theirs.state_dict().items() if k != "fc.bias"}
    partial["body.9.weight"] = partial["scale"]
    log_m, log_t = [], []
    _hook_log(ours, log_m)
    _hook_log(theirs, log_t)
    sd_m, sd_t = ours.state_dict(prefix="net."), theirs.state_dict(prefix="net.")
    assert list(sd_m) == list(sd_t)
    assert dict(sd_m._metadata) == dict(sd_t._metadata)
    for k in sd_t:
        np.testing.assert_array_equal(sd_m[k].numpy(), sd_t[k].numpy())
    ours.load_state_dict(partial, strict=False)
    theirs.load_state_dict(partial, strict=False)
    assert log_m == log_t and log_m[0] == ("pre", "", "net.", False)


def test_state_dict_destination_keep_vars_and_positional_warning():
    m = _pair(mt)
    dest = {}
    assert m.state_dict(destination=dest, prefix="a.") is dest and "a.fc.weight" in dest
    kept = m.state_dict(keep_vars=True)
    assert kept["fc.weight"] is m.fc.weight and kept["scale"] is m.scale
    assert m.state_dict()["fc.weight"] is not m.fc.weight and "tmp" not in kept
    with pytest.warns(FutureWarning, match="Positional args"):
        m.state_dict(None, "p.")


def test_private_state_dict_hook_may_replace_the_result_public_must_not():
    m = nn.Linear(2, 2)
    m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"only": 1})
    assert m.state_dict() == {"only": 1}
    m2 = nn.Linear(2, 2)
    m2.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
    with pytest.raises(RuntimeError, match="must return None"):
        m2.state_dict()


def test_hook_handles_remove_the_hooks():
    m, calls = nn.Linear(2, 2), []
    handles = [m.register_state_dict_pre_hook(lambda *a: calls.append(1)),
               m.register_load_state_dict_pre_hook(lambda *a: calls.append(2)),
               m.register_load_state_dict_post_hook(lambda *a: calls.append(3))]
    for h in handles:
        h.remove()
    m.load_state_dict(m.state_dict())
    assert calls == []
    with pytest.raises(TypeError, match="callable"):
        m.register_state_dict_pre_hook(3)


class Versioned(nn.Module):
    """A module whose version 2 renamed 'w' to 'weight' and keeps a step count as extra state."""
    _version = 2

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(mt.zeros(3))
        self.count = 0

    def get_extra_state(self):
        return {"count": self.count}

    def set_extra_state(self, state):
        self.count = state["count"]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
        if local_metadata.get("version", 1) < 2 and prefix + "w" in state_dict:
            state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)


def test_extra_state_and_an_overridden_load_step_for_old_keys():
    src = nn.Sequential(Versioned())
    src[0].count = 7
    sd = src.state_dict()
    assert list(sd) == ["0.weight", "0._extra_state"] and sd["0._extra_state"] == {"count": 7}
    assert sd._metadata["0"] == {"version": 2}
    dst = nn.Sequential(Versioned())
    dst.load_state_dict(sd)
    assert dst[0].count == 7
    old = type(sd)({"0.w": np.arange(3.0), "0._extra_state": {"count": 1}})
    old._metadata = {"0": {"version": 1}}
    dst.load_state_dict(old)
    np.testing.assert_array_equal(dst[0].weight.numpy(), [0, 1, 2])
    with pytest.raises(nn.StateDictError, match=r"missing key\(s\): 0._extra_state"):
        dst.load_state_dict({"0.weight": np.zeros(3)})
    with pytest.raises(nn.StateDictError, match=r"unexpected key\(s\): _extra_state"):
        nn.Linear(1, 1).load_state_dict({"weight": np.zeros((1, 1)), "bias": np.zeros(1), "_extra_state": 1})
    with pytest.raises(RuntimeError, match="get_extra_state"):
        nn.Linear(1, 1).get_extra_state()


def test_extra_state_matches_torch_keys():
    torch = pytest.importorskip("torch")

    def make(lib):
        class E(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(1, 1)

            def get_extra_state(self):
                return 5

            def set_extra_state(self, s):
                pass
        return lib.nn.Sequential(E(), lib.nn.Linear(1, 1))
    assert list(make(mt).state_dict()) == list(make(torch).state_dict())


def test_a_failed_load_changes_nothing_not_even_with_an_extra_state():
    dst = nn.Sequential(Versioned(), nn.Linear(2, 2))
    before = dst[1].weight.numpy().copy()
    with pytest.raises(nn.StateDictError, match="size mismatch for 1.bias"):
        dst.load_state_dict({"0.weight": np.ones(3), "0._extra_state": {"count": 3},
                             "1.weight": np.zeros((2, 2)), "1.bias": np.zeros(5)})
    assert dst[0].count == 0
    np.testing.assert_array_equal(dst[1].weight.numpy(), before)
    np.testing.assert_array_equal(dst[0].weight.numpy(), np.zeros(3))


def test_a_post_hook_may_clear_the_missing_keys_before_strict_judges_them():
    m = nn.Linear(2, 2)
    m.register_load_state_dict_post_hook(lambda mod, keys: keys.missing_keys.clear())
    result = m.load_state_dict({"weight": np.ones((2, 2))})
    assert result.missing_keys == [] and np.all(m.weight.numpy() == 1)
    m2 = nn.Linear(2, 2)
    m2.register_load_state_dict_post_hook(lambda mod, keys: 1)
    with pytest.raises(RuntimeError, match="must return None"):
        m2.load_state_dict(m2.state_dict())


def test_a_pre_hook_may_rename_keys_for_the_children():
    m = nn.Sequential(nn.Linear(2, 2))
    m.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, *rest: sd.update({prefix + "0.bias": sd.pop(prefix + "0.b")}))
    given = {"0.weight": np.ones((2, 2)), "0.b": np.full(2, 3.0)}
    m.load_state_dict(given)
    np.testing.assert_array_equal(m[0].bias.numpy(), [3, 3])
    assert "0.b" in given   # the caller's dict is not edited


def test_assign_keeps_the_given_tensors(device):
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m[0].weight.requires_grad_(False)
    new = {k: mt.tensor(np.random.default_rng(0).standard_normal(v.shape), dtype="float64", device=device)
           if v.dtype.kind == "f" else v for k, v in m.state_dict().items()}
    m.load_state_dict(new, assign=True)
    assert m[1].running_mean is new["1.running_mean"]
    w = m[0].weight
    assert isinstance(w, nn.Parameter) and w.dtype == np.float64 and w.device == device
    assert not w.requires_grad and m[0].bias.requires_grad
    assert dict(m.named_parameters())["0.weight"] is w
    np.testing.assert_array_equal(w.numpy(), new["0.weight"].numpy())


def test_assign_matches_torch():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Linear(3, 2)
    tm.load_state_dict({"weight": torch.ones(2, 3, dtype=torch.float64), "bias": torch.zeros(2)}, assign=True)
    m = nn.Linear(3, 2)
    m.load_state_dict({"weight": mt.ones(2, 3, dtype="float64"), "bias": mt.zeros(2)}, assign=True)
    assert str(m.weight.dtype) == str(tm.weight.dtype).replace("torch.", "")
    assert isinstance(m.weight, nn.Parameter) == isinstance(tm.weight, torch.nn.Parameter)


def test_module_version_and_zero_d_checkpoint_allowance():
    assert nn.Module._version == 1
    m = nn.Module()
    m.register_buffer("t", mt.tensor(0.0))
    m.load_state_dict({"t": np.array([4.0])})   # torch's allowance: a (1,) value for a 0-d entry
    assert m.t.item() == 4.0


# ------------------------------------------------------------ Module methods


def test_buffer_marker_registers_with_its_persistence():
    torch = pytest.importorskip("torch")
    for lib in (mt, torch):
        m = lib.nn.Module()
        m.a = lib.nn.Buffer(lib.ones(2))
        m.b = lib.nn.Buffer(lib.zeros(1), persistent=False)
        assert [n for n, _ in m.named_buffers()] == ["a", "b"] and list(m.state_dict()) == ["a"]
        m.a = lib.nn.Buffer(lib.ones(3), persistent=False)
        assert list(m.state_dict()) == []
    m = nn.Module()
    m.x = 1
    with pytest.raises(KeyError, match="already exists"):
        m.x = nn.Buffer(mt.ones(1))
    with pytest.raises(TypeError, match="Buffer"):
        nn.Buffer([1.0])
    t = mt.ones(2, requires_grad=True)
    assert nn.Buffer(t).requires_grad and nn.Buffer().shape == (0,)


def test_set_submodule_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (mt, torch):
        m = lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(1, 1)))
        m.set_submodule("0.0", lib.nn.ReLU())
        m.set_submodule("0.new", lib.nn.Tanh())
        assert [n for n, _ in m.named_modules()] == ["", "0", "0.0", "0.new"]
        with pytest.raises(AttributeError):
            m.set_submodule("0.other", lib.nn.ReLU(), strict=True)
        with pytest.raises(ValueError):
            m.set_submodule("", lib.nn.ReLU())
        with pytest.raises(ValueError):
            m.set_submodule("0.x", 3)
        with pytest.raises(AttributeError):
            m.set_submodule("9.x", lib.nn.ReLU())
        m.training_flag = 1
        with pytest.raises(AttributeError, match="not an nn.Module"):
            m.set_submodule("training_flag", lib.nn.ReLU())


def test_to_empty_type_share_memory_compile(device):
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = m[0].weight
    assert m.to_empty(device=device) is m and m[0].weight is w and w.device == device
    assert m[1].num_batches_tracked.dtype == np.int64 and m[1].running_mean.device == device
    m2 = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    m2.to_empty(device=device, recurse=False)   # a Sequential has no own tensors: nothing moves
    assert m2[0].weight.device == "cpu"
    bn = nn.BatchNorm1d(2)
    assert bn.type("float64") is bn and bn.weight.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.float64     # torch's type() casts every buffer
    with pytest.raises(TypeError, match="floating point"):
        bn.type("int32")
    with pytest.raises(NotImplementedError, match="bfloat16"):
        nn.Linear(1, 1).bfloat16()
    assert m.share_memory() is m
    assert m.compile(mode="max-autotune") is None


def test_register_backward_hook_warns_and_cannot_mix_with_full_hooks():
    m = nn.Linear(2, 1)
    grads = []
    with pytest.warns(FutureWarning, match="register_full_backward_hook"):
        m.register_backward_hook(lambda mod, gi, go: grads.append(go[0].shape))
    m(mt.randn(3, 2, requires_grad=True)).sum().backward()
    assert grads == [(3, 1)]
    with pytest.raises(RuntimeError, match="Cannot use both"):
        m.register_full_backward_hook(lambda *a: None)
    m2 = nn.Linear(2, 1)
    m2.register_full_backward_hook(lambda *a: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="Cannot use both"):
            m2.register_backward_hook(lambda *a: None)
