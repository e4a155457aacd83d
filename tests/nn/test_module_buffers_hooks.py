"""Module buffers (register_buffer, persistent or not, in state dicts, moved by to(), through
save/load and training checkpoints), add_module / register_module, get_submodule /
get_parameter / get_buffer, cpu() / half(), and forward (pre-)hooks with removable handles:
names, order and semantics as torch's."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import backend, nn


class Stats(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.register_buffer("running_mean", mt.zeros(3))
        self.register_buffer("steps", mt.tensor(0))                 # int64: never cast
        self.register_buffer("scratch", mt.ones(3), persistent=False)
        self.register_buffer("absent", None)
        self.inner = nn.Sequential(nn.LayerNorm(3))
        self.inner[0].register_buffer("mask", mt.ones(3))

    def forward(self, x):
        return self.inner(self.lin(x) - self.running_mean)


def _torch_stats(torch):
    class TorchStats(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 3)
            self.register_buffer("running_mean", torch.randn(3))
            self.register_buffer("steps", torch.tensor(7))
            self.register_buffer("scratch", torch.ones(3), persistent=False)
            self.register_buffer("absent", None)
            self.inner = torch.nn.Sequential(torch.nn.LayerNorm(3))
            self.inner[0].register_buffer("mask", torch.randn(3))
    return TorchStats()


def test_buffers_names_and_state_dict_as_torch():
    torch = pytest.importorskip("torch")
    m, tm = Stats(), _torch_stats(torch)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()] == [
        "running_mean", "steps", "scratch", "inner.0.mask"]
    assert [n for n, _ in m.named_buffers(recurse=False)] == ["running_mean", "steps", "scratch"]
    assert len(list(m.buffers())) == 4 and all(not b.requires_grad for b in m.buffers())
    assert "scratch" not in m.state_dict() and "absent" not in m.state_dict()
    assert len(list(m.parameters())) == 4       # buffers are not parameters
    keep = m.running_mean
    m.load_state_dict(tm.state_dict())
    assert m.running_mean is keep         # loaded in place
    np.testing.assert_allclose(m.running_mean.numpy(), tm.running_mean.numpy(), rtol=1e-7)
    np.testing.assert_allclose(m.inner[0].mask.numpy(), tm.inner[0].mask.numpy(), rtol=1e-7)
    assert m.steps.item() == 7 and m.steps.dtype == np.int64


def test_missing_buffer_is_reported_by_strict_loading():
    sd = Stats().state_dict()
    del sd["running_mean"]
    with pytest.raises(nn.StateDictError, match="missing key\\(s\\): running_mean"):
        Stats().load_state_dict(sd)
    assert Stats().load_state_dict(sd, strict=False).missing_keys == ["running_mean"]


def test_persistent_buffers_survive_save_and_load(tmp_path):
    m = Stats()
    m.running_mean.data[...] = np.array([1.0, 2.0, 3.0], np.float32)
    m.steps.data[...] = 5
    m.scratch.data[...] = 9.0
    mt.save(m.state_dict(), tmp_path / "m.npz")
    fresh = Stats()
    fresh.load_state_dict(mt.load(tmp_path / "m.npz"))
    assert fresh.running_mean.tolist() == [1.0, 2.0, 3.0] and fresh.steps.item() == 5
    assert fresh.scratch.tolist() == [1.0, 1.0, 1.0]       # not persistent: not saved


def test_persistent_buffers_survive_a_training_checkpoint(tmp_path):
    from minitf import optim
    from minitf.checkpoint import load_training, save_training
    m = Stats()
    m.running_mean.data[...] = np.array([4.0, 5.0, 6.0], np.float32)
    opt = optim.SGD(m.parameters(), lr=0.1)
    save_training(tmp_path / "ck.npz", m.state_dict(), opt.state_dict(), {"iter": 3, "elapsed_s": 1.0})
    ck = load_training(tmp_path / "ck.npz")
    fresh = Stats()
    fresh.load_state_dict(ck.model_state, strict=True)
    assert fresh.running_mean.tolist() == [4.0, 5.0, 6.0]


def test_to_moves_buffers_and_casts_only_floating_ones():
    m = Stats().to("fake", "float64")
    assert m.running_mean.device == "fake" and m.running_mean.dtype == np.float64
    assert m.steps.device == "fake" and m.steps.dtype == np.int64
    assert m.scratch.device == "fake" and m.inner[0].mask.dtype == np.float64
    m.cpu()
    assert all(t.device == "cpu" for t in [*m.buffers(), *m.parameters()])
    m.half()
    assert m.lin.weight.dtype == np.float16 and m.running_mean.dtype == np.float16 and m.steps.dtype == np.int64


def test_assigning_to_a_buffer_name_updates_the_buffer():
    m = Stats()
    m.running_mean = mt.full((3,), 2.0)
    assert m.get_buffer("running_mean") is m.running_mean and m.state_dict()["running_mean"].tolist() == [2.0] * 3
    m.absent = mt.ones(1)
    assert "absent" in m.state_dict()
    with pytest.raises(TypeError, match="cannot assign int to buffer 'steps' of Stats"):
        m.steps = 3
    m.running_mean = nn.Parameter(mt.zeros(3))           # a Parameter replaces the buffer, as torch
    assert "running_mean" in dict(m.named_parameters()) and "running_mean" not in dict(m.named_buffers())
    del m.scratch
    assert "scratch" not in dict(m.named_buffers())


def test_register_buffer_and_add_module_errors():
    m = Stats()
    with pytest.raises(KeyError, match="must be non-empty and contain no '.'"):
        m.register_buffer("a.b", mt.zeros(1))
    with pytest.raises(KeyError, match="attribute 'lin' already exists"):
        m.register_buffer("lin", mt.zeros(1))
    with pytest.raises(TypeError, match="register_buffer: 'x' must be a Tensor or None, got list"):
        m.register_buffer("x", [1.0])
    with pytest.raises(TypeError, match="add_module: 'x' must be a Module or None, got int"):
        m.add_module("x", 3)
    with pytest.raises(KeyError, match="attribute 'running_mean' already exists"):
        m.add_module("running_mean", nn.ReLU())


def test_add_module_get_submodule_get_parameter_get_buffer():
    m = Stats()
    m.add_module("head", nn.Linear(3, 2))
    m.register_module("act", nn.ReLU())
    m.add_module("nothing", None)
    assert [n for n, _ in m.named_children()] == ["lin", "inner", "head", "act"] and m.nothing is None
    assert "head.weight" in m.state_dict()
    assert m.get_submodule("") is m and m.get_submodule("inner.0") is m.inner[0]
    assert m.get_parameter("inner.0.weight") is m.inner[0].weight
    assert m.get_buffer("inner.0.mask") is m.inner[0].mask
    with pytest.raises(AttributeError, match="Sequential has no sub-module '3'"):
        m.get_submodule("inner.3")
    with pytest.raises(AttributeError, match="Stats has an attribute that is not a Module: 'running_mean'"):
        m.get_submodule("running_mean.x")
    with pytest.raises(AttributeError, match="Linear has no parameter 'gain'"):
        m.get_parameter("lin.gain")
    with pytest.raises(AttributeError, match="Stats has no buffer 'lin'"):
        m.get_buffer("lin")
    assert m.get_buffer("absent") is None                  # registered as None: None, as torch
    with pytest.raises(AttributeError, match="Stats has no buffer 'missing'"):
        m.get_buffer("missing")


def test_get_buffer_of_a_none_buffer_as_torch():
    torch = pytest.importorskip("torch")
    assert _torch_stats(torch).get_buffer("absent") is None and Stats().get_buffer("absent") is None


# --------------------------------------------------------------------------- hooks
def test_forward_pre_hook_and_forward_hook_change_input_and_output():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda mod, args, out: calls.append((mod, args[0].tolist())) or out + 1)
    y = lin(mt.ones(1, 2))
    np.testing.assert_allclose(y.numpy(), lin.bias.numpy()[None] + 1, rtol=1e-6)
    assert calls == [(lin, [[0.0, 0.0]])]            # the forward hook sees the changed input
    h1.remove()
    h2.remove()
    h2.remove()                                       # twice is harmless, as torch
    np.testing.assert_allclose(lin(mt.ones(1, 2)).numpy(), (mt.ones(1, 2) @ lin.weight.T + lin.bias).numpy())
    assert len(calls) == 1


def test_pre_hook_single_value_is_wrapped_and_hooks_run_in_order_with_prepend():
    m = nn.Identity()
    order = []
    m.register_forward_hook(lambda mod, a, out: order.append("a"))
    m.register_forward_hook(lambda mod, a, out: order.append("b"))
    m.register_forward_hook(lambda mod, a, out: order.append("first"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args: args[0] * 3)       # not a tuple: wrapped
    assert m(mt.tensor([1.0])).tolist() == [3.0] and order == ["first", "a", "b"]


def test_hooks_with_kwargs_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            if factor < 0:
                raise ValueError("negative factor")
            return x * factor

    m, seen = Scale(), []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "factor": kwargs.get("factor", 1.0) * 2}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs["factor"]), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)
    assert m(mt.tensor([1.0]), factor=2.0).tolist() == [4.0] and seen[0] == 4.0
    seen.clear()
    with pytest.raises(ValueError, match="negative factor"):
        m(mt.tensor([1.0]), factor=-1.0)
    assert seen == [("always", None)]


def test_handle_as_context_manager_and_hooks_on_children_of_a_model():
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    model.double().load_state_dict(tmodel.state_dict())
    acts, tacts = {}, {}
    x = np.random.default_rng(0).standard_normal((5, 3))
    def keep(store, value):  # returns None: the output stays as it is
        store["relu"] = value

    with model[1].register_forward_hook(lambda mod, a, out: keep(acts, out.numpy())):
        with tmodel[1].register_forward_hook(lambda mod, a, out: keep(tacts, out.detach().numpy())):
            model(mt.tensor(x))
            tmodel(torch.tensor(x))
    np.testing.assert_allclose(acts["relu"], tacts["relu"], rtol=1e-12)
    acts.clear()
    model(mt.tensor(x))
    assert acts == {}                                 # removed on leaving the block


def test_hooks_record_gradients_through_changed_outputs():
    lin = nn.Linear(2, 1).double()
    lin.register_forward_hook(lambda mod, args, out: out * 2)
    x = mt.tensor([[1.0, 2.0]], dtype="float64")
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), [[2.0, 4.0]])


def test_bad_hooks_raise():
    m = nn.Identity()
    with pytest.raises(TypeError, match="register_forward_hook: the hook must be callable"):
        m.register_forward_hook(3)
    m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple \\(args, kwargs\\)"):
        m(mt.tensor([1.0]))


def _hook_run(nnmod, module_cls, tensor, fail):
    """The events of one call of a module with a pre-hook, three forward hooks (the 2nd and 4th
    always_call) and an error raised at ``fail`` ('pre', 'forward', 'hook', 'always' or None)."""
    class M(module_cls):
        def forward(self, x):
            if fail == "forward":
                raise ValueError("forward")
            return x * 2

    m, seen = M(), []

    def pre(mod, args):
        if fail == "pre":
            raise ValueError("pre")
        return (args[0] + 1,)

    def hook(name, raises=False, replace=False):
        def h(mod, args, out):
            seen.append((name, None if out is None else float(out.sum()), float(args[0].sum())))
            if raises:
                raise ValueError(name)
            return out * 10 if replace and out is not None else None
        return h

    m.register_forward_pre_hook(pre)
    m.register_forward_hook(hook("h1", replace=True))
    m.register_forward_hook(hook("a1", raises=fail == "always"), always_call=True)
    m.register_forward_hook(hook("h2", raises=fail == "hook"))
    m.register_forward_hook(hook("a2"), always_call=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = float(m(tensor([1.0])).sum())
        except ValueError as e:
            out = f"raised {e}"
    return seen, out, [issubclass(x.category, UserWarning) for x in w]


@pytest.mark.parametrize("fail", [None, "pre", "forward", "hook", "always"])
def test_always_call_hooks_run_whatever_raises_as_torch(fail):
    # PyTorch's try covers the pre-hooks, forward and the hooks: on an error every always_call
    # hook not yet run runs (output None when forward gave none, else the output so far)
    torch = pytest.importorskip("torch")
    ours = _hook_run(nn, nn.Module, mt.tensor, fail)
    theirs = _hook_run(torch.nn, torch.nn.Module, lambda v: torch.tensor(v), fail)
    assert ours == theirs
    if fail == "pre":
        assert ours[0] == [("a1", None, 1.0), ("a2", None, 1.0)]


def test_module_cuda_moves_to_the_gpu_or_says_why_not():
    m = Stats()
    with pytest.raises(backend.DeviceError, match="one GPU"):
        m.cuda(1)
    if not backend.gpu_available():
        with pytest.raises(backend.DeviceError, match="GPU|CuPy"):
            m.cuda()
        assert all(t.device == "cpu" for t in [*m.buffers(), *m.parameters()])  # nothing moved
        return
    assert m.cuda() is m and all(t.device == "gpu" for t in [*m.buffers(), *m.parameters()])
    assert m.cpu() is m and all(t.device == "cpu" for t in [*m.buffers(), *m.parameters()])


def test_module_cuda_and_cpu_exist_in_torch():
    torch = pytest.importorskip("torch")
    for name in ("cuda", "cpu"):
        assert callable(getattr(torch.nn.Module, name)) and callable(getattr(mt.nn.Module, name))
