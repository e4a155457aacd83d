"""Tensor repr/str against torch 2.13's own: torch's string with 'torch' read as 'minitf'
must be minitf's, over ints, bools, floats of every magnitude mix, nan/inf, 0-d, empty,
2-d/3-d, long (summarised) tensors, non-default dtypes, grad flags and print options."""
import math

import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")


def _values():
    rng = np.random.default_rng(0)
    return {
        "ints": np.array([1, -20, 300]),
        "bools": np.array([True, False, True]),
        "floats": np.array([1.0, 2.5, -3.25]),
        "integral floats": np.array([1.0, -2.0, 300.0]),
        "zeros": np.zeros(4),
        "neg zero": np.array([-0.0, 0.0, 1.5]),
        "big": np.array([1e9, 2.0, 3.0]),
        "small": np.array([1e-5, 0.5, 0.25]),
        "wide range": np.array([0.001, 10.0, 100.5]),
        "ratio over 1000": np.array([0.01, 20.0]),
        "nan inf": np.array([np.nan, np.inf, -np.inf, 1.5]),
        "only nan": np.array([np.nan, np.nan]),
        "integral with inf": np.array([np.inf, 2.0, -3.0]),
        "0-d": np.array(3.14159),
        "0-d int": np.array(7),
        "0-d big": np.array(1.5e10),
        "empty": np.zeros((0,)),
        "empty 2-d": np.zeros((0, 3)),
        "empty int": np.zeros((2, 0), dtype=np.int64),
        "2-d": rng.standard_normal((3, 4)),
        "3-d": rng.standard_normal((2, 3, 4)),
        "wrapping row": rng.standard_normal(40) * 100,
        "wrapping 2-d": rng.standard_normal((3, 30)),
        "long": np.arange(2000) * 0.5,
        "long int": np.arange(1001),
        "long 2-d": rng.standard_normal((40, 50)),
        "long 3-d": rng.standard_normal((12, 10, 10)),
        "long sci": np.logspace(-8, 8, 1500),
    }


DTYPES = {"default": None, "float64": "float64", "float16": "float16", "int32": "int32", "int64": "int64",
          "uint8": "uint8", "int8": "int8", "int16": "int16", "bool": "bool"}


def _pair(a, dtype=None, requires_grad=False):
    if dtype is None:
        dtype = {"f": "float32", "b": "bool"}.get(a.dtype.kind, "int64")
    ours = mt.tensor(a, dtype=dtype, requires_grad=requires_grad)
    theirs = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return ours, theirs


def _same(ours, theirs):
    expected = repr(theirs).replace("torch.", "minitf.")
    assert repr(ours) == expected
    assert str(ours) == str(theirs).replace("torch.", "minitf.")


@pytest.mark.parametrize("name", list(_values()))
def test_values_print_as_torchs(name):
    _same(*_pair(_values()[name]))


@pytest.mark.parametrize("dtype", [d for d in DTYPES.values() if d])
@pytest.mark.parametrize("name", ["ints", "floats", "integral floats", "2-d", "empty", "0-d", "empty 2-d"])
def test_dtypes_print_as_torchs(name, dtype):
    a = _values()[name]
    if dtype in ("uint8", "int8", "int16", "int32", "int64", "bool") and a.dtype.kind == "f":
        a = np.abs(a).round() if dtype != "bool" else a > 0
    elif dtype in ("uint8",):
        a = np.abs(a)
    _same(*_pair(a, dtype))


@pytest.mark.parametrize("name", ["floats", "2-d", "0-d", "wrapping 2-d", "long"])
def test_grad_suffixes_print_as_torchs(name):
    ours, theirs = _pair(_values()[name], "float64", requires_grad=True)
    _same(ours, theirs)
    _same(ours * 2, theirs * 2)                    # grad_fn=<MulBackward0>, after a dtype suffix
    _same((ours + 1).sum(), (theirs + 1).sum())    # <SumBackward0>


def test_default_dtype_float64_prints_float32_with_its_dtype():
    old_mt, old_t = mt.get_default_dtype(), torch.get_default_dtype()
    mt.set_default_dtype(mt.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for dtype in ("float32", "float64", "int64"):
            _same(*_pair(np.array([1.5, 2.0]), dtype))
        _same(mt.zeros(0, dtype=mt.int64), torch.zeros(0, dtype=torch.int64))
    finally:
        mt.set_default_dtype(old_mt)
        torch.set_default_dtype(old_t)


OPTIONS = [dict(precision=2), dict(precision=8), dict(threshold=5), dict(edgeitems=1, threshold=10),
           dict(edgeitems=0, threshold=10), dict(linewidth=40), dict(linewidth=200), dict(sci_mode=True),
           dict(sci_mode=False), dict(profile="short"), dict(profile="full"), dict(profile="short", precision=6)]


@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_set_printoptions_as_torchs(opts):
    mt_before, t_before = mt.get_printoptions(), torch._tensor_str.get_printoptions()
    try:
        mt.set_printoptions(**opts)
        torch.set_printoptions(**opts)
        for name in ("floats", "big", "small", "2-d", "3-d", "wrapping row", "long", "long 2-d", "ints",
                     "integral floats", "nan inf"):
            _same(*_pair(_values()[name]))
        _same(*_pair(_values()["wrapping row"], requires_grad=True))
    finally:
        mt.set_printoptions(**mt_before)
        torch.set_printoptions(**t_before)
    assert mt.get_printoptions() == mt_before


def test_set_printoptions_profile_resets_and_context_restores():
    with mt.printoptions(precision=1):
        assert repr(mt.tensor([1.25])) == "tensor([1.2])"
    assert repr(mt.tensor([1.25])) == "tensor([1.2500])"
    mt.set_printoptions(sci_mode=True)
    mt.set_printoptions(precision=4)  # every call without sci_mode restores None, as torch's
    assert mt.get_printoptions()["sci_mode"] is None
    assert mt.get_printoptions()["threshold"] == 1000 and math.isinf(mt.printing._PROFILES["full"]["threshold"])
    with pytest.raises(ValueError, match="profile must be one of"):
        mt.set_printoptions(profile="long")


def test_device_suffix(device):
    x = mt.tensor([1.0, 2.5], device=device, requires_grad=True)
    suffix = "" if device == "cpu" else ", device='fake'" if device == "fake" else ", device='cuda:0'"
    assert repr(x) == f"tensor([1.0000, 2.5000]{suffix}, requires_grad=True)"
    assert repr(mt.tensor([1, 2], device=device, dtype=mt.int32)) == f"tensor([1, 2]{suffix}, dtype=minitf.int32)"


def test_parameter_prints_as_torchs():
    nn = mt.nn
    p = nn.Parameter(mt.tensor([[1.0, -2.5], [0.125, 4.0]]))
    q = torch.nn.Parameter(torch.tensor([[1.0, -2.5], [0.125, 4.0]]))
    assert repr(p) == repr(q)


def test_grad_fn_names_are_torchs():
    F, TF = mt.nn.functional, torch.nn.functional
    x, xt = _pair(np.arange(1.0, 7.0).reshape(2, 3) / 7, "float64", requires_grad=True)
    w, wt = _pair(np.arange(1.0, 13.0).reshape(4, 3) / 13, "float64", requires_grad=True)
    b, bt = _pair(np.arange(1.0, 5.0) / 5, "float64", requires_grad=True)
    i, it = mt.tensor([0, 2]), torch.tensor([0, 2])
    calls = {
        "add": lambda L, F, x, w, b, i: x + x, "mul": lambda L, F, x, w, b, i: x * 2,
        "div": lambda L, F, x, w, b, i: x / 3, "pow": lambda L, F, x, w, b, i: x ** 2,
        "pow tensor": lambda L, F, x, w, b, i: x ** x, "mm": lambda L, F, x, w, b, i: x @ w.T,
        "mv": lambda L, F, x, w, b, i: x @ b[:3], "dot": lambda L, F, x, w, b, i: b @ b,
        "vm": lambda L, F, x, w, b, i: x[0] @ w.T, "batched": lambda L, F, x, w, b, i: x[None] @ w.T,
        "addmm": lambda L, F, x, w, b, i: F.linear(x, w, b), "linear no bias": lambda L, F, x, w, b, i: F.linear(x, w),
        "linear 3-d": lambda L, F, x, w, b, i: F.linear(x[None], w, b),
        "sum": lambda L, F, x, w, b, i: x.sum(), "sum dim": lambda L, F, x, w, b, i: x.sum(1),
        "mean": lambda L, F, x, w, b, i: x.mean(), "mean dims": lambda L, F, x, w, b, i: x.mean((0, 1)),
        "prod dim": lambda L, F, x, w, b, i: x.prod(0), "max": lambda L, F, x, w, b, i: x.max(),
        "max dim": lambda L, F, x, w, b, i: x.max(1)[0], "relu": lambda L, F, x, w, b, i: F.relu(x),
        "gelu": lambda L, F, x, w, b, i: F.gelu(x), "gelu tanh": lambda L, F, x, w, b, i: F.gelu(x, approximate="tanh"),
        "silu": lambda L, F, x, w, b, i: F.silu(x), "softmax": lambda L, F, x, w, b, i: F.softmax(x, dim=-1),
        "log_softmax": lambda L, F, x, w, b, i: F.log_softmax(x, dim=-1), "tanh": lambda L, F, x, w, b, i: x.tanh(),
        "view": lambda L, F, x, w, b, i: x.reshape(3, 2), "permute": lambda L, F, x, w, b, i: x.permute(1, 0),
        "cat": lambda L, F, x, w, b, i: L.cat([x, x]), "stack": lambda L, F, x, w, b, i: L.stack([x, x]),
        "expand": lambda L, F, x, w, b, i: x[:1].expand(4, 3), "clone": lambda L, F, x, w, b, i: x.clone(),
        "to": lambda L, F, x, w, b, i: x.to(L.float32), "layer_norm": lambda L, F, x, w, b, i: F.layer_norm(x, (3,)),
        "cross_entropy": lambda L, F, x, w, b, i: F.cross_entropy(x, i[:2] % 3),
        "embedding": lambda L, F, x, w, b, i: F.embedding(i, w), "norm": lambda L, F, x, w, b, i: x.norm(),
        "clamp": lambda L, F, x, w, b, i: x.clamp(0.2, 0.5), "leaky_relu": lambda L, F, x, w, b, i: F.leaky_relu(x),
        "log1p": lambda L, F, x, w, b, i: x.log1p(), "where": lambda L, F, x, w, b, i: L.where(x > 0.3, x, x * 0),
        "pad": lambda L, F, x, w, b, i: F.pad(x, (1, 1)), "var": lambda L, F, x, w, b, i: x.var(1),
    }
    for name, f in calls.items():
        ours, theirs = f(mt, F, x, w, b, i), f(torch, TF, xt, wt, bt, it)
        assert ours.grad_fn.name() == theirs.grad_fn.name(), name
        assert repr(ours.grad_fn).startswith(f"<{theirs.grad_fn.name()} object at 0x"), name
    y = F.linear(x, w, b).sum(1).mean()
    y.backward()  # the names outlive the arrays backward frees
    assert y.grad_fn.name() == "MeanBackward0" and y.grad_fn.inputs[0].grad_fn.name() == "SumBackward1"


@pytest.mark.parametrize("key", ["0", "1:", "0, 1:", ":, 0", "None", "...", ":", "i", "0, i", "i, 1:", "..., 0",
                                 "0, 1", "x > 0.5", "0, None", ":, :, 1:3", "-1", "1:, 0", "..., None", "0, ..."])
def test_indexing_node_names_are_torchs(key):
    x, xt = _pair(np.linspace(0, 1, 60).reshape(3, 4, 5), "float64", requires_grad=True)
    i, it = mt.tensor([0, 2]), torch.tensor([0, 2])  # noqa: F841  (read by eval)
    ours, theirs = eval(f"x[{key}]"), eval(f"xt[{key.replace('x', 'xt').replace('i', 'it')}]")
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    ours.sum().backward()  # the name outlives the arrays backward frees
    assert ours.grad_fn.name() == theirs.grad_fn.name()


def test_custom_function_names_have_no_overload_number():
    class Cube(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    y = Cube.apply(mt.tensor([2.0], requires_grad=True))
    assert y.grad_fn.name() == "CubeBackward" and repr(y) == "tensor([8.], grad_fn=<CubeBackward>)"


def test_float_of_a_tensor_requiring_grad_warns_once_as_torchs(monkeypatch):
    import sys
    import warnings
    monkeypatch.setattr(sys.modules["minitf.tensor_conversions"], "_scalar_warning_given", [False])
    x = mt.tensor([1.5, 2.0], requires_grad=True)
    s = x.sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert int(s) == 3 and s.item() == 3.5 and bool(s) and f"{s:.1f}" == "3.5"   # these never warn
        assert not caught
        assert float(x[0].detach()) == 1.5 and not caught
        with mt.no_grad():
            assert float(s) == 3.5 and not caught   # torch checks grad mode too
        with mt.inference_mode():
            assert float(s) == 3.5 and not caught
        assert float(s) == 3.5
        assert float(s) == 3.5   # once per process, as torch's TORCH_WARN_ONCE
    assert len(caught) == 1 and caught[0].category is UserWarning and caught[0].filename == __file__
    assert str(caught[0].message) == ("Converting a tensor with requires_grad=True to a scalar may lead to "
                                      "unexpected behavior.\nConsider using tensor.detach() first.")
