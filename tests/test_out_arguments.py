"""torch's out= keyword on the top-level functions (minitf/out_arguments.py), against torch."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf.out_arguments import LAZY_OUT_NAMES, OUT_NAMES


def _inputs(m):
    """The same inputs as ``m``'s tensors, ``m`` being minitf or torch."""
    rng = np.random.default_rng(0)
    u = rng.uniform(0.1, 0.9, (3, 4))      # inside every unary op's domain (log, logit, asin...)
    w = rng.uniform(0.1, 0.9, (3, 4))
    t = m.tensor
    return dict(u=t(u), w=t(w), v=t(u[0]), b3=t(rng.uniform(size=(2, 3, 4))), c3=t(rng.uniform(size=(2, 4, 3))),
                i=t(rng.integers(0, 9, (3, 4))), j=t(rng.integers(0, 9, (3, 4))),
                idx=t(np.array([[0, 3], [1, 1], [2, 0]])), rows=t(np.array([2, 0])), bounds=t(np.array([0.2, 0.5, 0.8])))


UNARY = ("exp", "log", "sqrt", "tanh", "sigmoid", "abs", "absolute", "log1p", "expm1", "sin", "cos", "square",
         "rsqrt", "reciprocal", "sign", "floor", "ceil", "round", "trunc", "fix", "nan_to_num", "neg", "negative",
         "log2", "log10", "exp2", "sinh", "cosh", "tan", "erf", "asin", "atan", "arcsin", "arctan", "logit",
         "tril", "triu", "diag", "logical_not", "argmax")
BINARY = ("maximum", "minimum", "pow", "atan2", "arctan2", "hypot", "add", "sub", "subtract", "mul", "multiply",
          "div", "divide", "true_divide", "floor_divide", "remainder", "fmod", "logical_and", "logical_or",
          "logical_xor", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
          "not_equal")
ALONG_DIM_1 = ("amax", "amin", "argmin", "std", "var", "sum", "mean", "prod", "cumsum", "cumprod", "logsumexp",
               "max", "min")
CALLS = {
    **{name: lambda f, a: f(a["u"]) for name in UNARY},
    **{name: lambda f, a: f(a["u"], a["w"]) for name in BINARY},
    **{name: lambda f, a: f(a["u"], 1) for name in ALONG_DIM_1},
    "norm": lambda f, a: f(a["u"], dim=1),
    "any": lambda f, a: f(a["u"] > 0.5, 1), "all": lambda f, a: f(a["u"] > 0.2, 1),
    "bitwise_and": lambda f, a: f(a["i"], a["j"]), "bitwise_or": lambda f, a: f(a["i"], a["j"]),
    "bitwise_xor": lambda f, a: f(a["i"], a["j"]), "bitwise_not": lambda f, a: f(a["i"]),
    "where": lambda f, a: f(a["u"] > 0.5, a["u"], a["w"]),
    **{name: lambda f, a: f([a["u"], a["w"]]) for name in ("cat", "concat", "concatenate", "stack")},
    "clamp": lambda f, a: f(a["u"], 0.3, 0.6), "clip": lambda f, a: f(a["u"], 0.3, 0.6),
    "clamp_min": lambda f, a: f(a["u"], 0.3), "clamp_max": lambda f, a: f(a["u"], 0.6),
    "sort": lambda f, a: f(a["u"]), "topk": lambda f, a: f(a["u"], 2),
    "lerp": lambda f, a: f(a["u"], a["w"], 0.3),
    "addcmul": lambda f, a: f(a["u"], a["u"], a["w"]), "addcdiv": lambda f, a: f(a["u"], a["u"], a["w"]),
    "gather": lambda f, a: f(a["u"], 1, a["idx"]), "index_select": lambda f, a: f(a["u"], 0, a["rows"]),
    "masked_select": lambda f, a: f(a["u"], a["u"] > 0.5), "nonzero": lambda f, a: f(a["u"] > 0.5),
    "matmul": lambda f, a: f(a["u"], a["w"].T), "mm": lambda f, a: f(a["u"], a["w"].T),
    "bmm": lambda f, a: f(a["b3"], a["c3"]), "mv": lambda f, a: f(a["u"].T, a["u"][:, 0]),
    **{name: lambda f, a: f(a["v"], a["v"]) for name in ("dot", "vdot", "outer", "ger")},
}
LAZY_UNARY = ("acos", "arccos", "asinh", "arcsinh", "atanh", "arctanh", "erfc", "erfinv", "sgn", "signbit", "frac",
              "deg2rad", "rad2deg", "sinc", "digamma", "i0", "isposinf", "isneginf", "msort", "diff", "frexp")
LAZY_BINARY = ("xlogy", "logaddexp", "logaddexp2", "float_power", "copysign", "heaviside", "nextafter", "fmax", "fmin",
               "igamma", "igammac", "kron", "inner")
LAZY_ALONG_DIM_1 = ("cummax", "cummin", "logcumsumexp", "nansum", "nanmean", "median", "nanmedian", "mode")
CALLS.update({
    **{name: lambda f, a: f(a["u"]) for name in LAZY_UNARY},
    **{name: lambda f, a: f(a["u"], a["w"]) for name in LAZY_BINARY},
    **{name: lambda f, a: f(a["u"], 1) for name in LAZY_ALONG_DIM_1},
    "acosh": lambda f, a: f(a["u"] + 1), "arccosh": lambda f, a: f(a["u"] + 1),
    "ldexp": lambda f, a: f(a["u"], a["i"]), "gcd": lambda f, a: f(a["i"], a["j"]), "lcm": lambda f, a: f(a["i"], a["j"]),
    "kthvalue": lambda f, a: f(a["u"], 2, 1), "aminmax": lambda f, a: f(a["u"], dim=1),
    "quantile": lambda f, a: f(a["u"], 0.3, 1), "nanquantile": lambda f, a: f(a["u"], 0.3, 1),
    "polygamma": lambda f, a: f(1, a["u"]),
    "addmm": lambda f, a: f(a["u"][:, :3], a["u"], a["w"].T), "addmv": lambda f, a: f(a["u"][:, 0], a["u"], a["v"]),
    "addr": lambda f, a: f(a["u"], a["u"][:, 0], a["v"]),
    "baddbmm": lambda f, a: f(a["b3"] @ a["c3"], a["b3"], a["c3"]),
    "addbmm": lambda f, a: f(a["b3"][0] @ a["c3"][0], a["b3"], a["c3"]),
    **{name: lambda f, a: f([a["u"], a["w"]]) for name in ("hstack", "vstack", "dstack", "column_stack")},
    "tensordot": lambda f, a: f(a["u"], a["w"].T, dims=1), "take": lambda f, a: f(a["u"], a["rows"]),
    "take_along_dim": lambda f, a: f(a["u"], a["idx"], dim=1), "bucketize": lambda f, a: f(a["u"], a["bounds"]),
    "searchsorted": lambda f, a: f(a["bounds"], a["u"]), "histc": lambda f, a: f(a["u"], bins=4, min=0, max=1),
})


def test_every_name_has_a_sample_call():
    assert sorted(CALLS) == sorted((*OUT_NAMES, *LAZY_OUT_NAMES)) and not set(OUT_NAMES) & LAZY_OUT_NAMES


@pytest.mark.filterwarnings("ignore:torch.ger is deprecated")
@pytest.mark.parametrize("name", (*OUT_NAMES, *sorted(LAZY_OUT_NAMES)))
def test_out_as_torch(name):
    torch = pytest.importorskip("torch")
    expected = CALLS[name](getattr(torch, name), _inputs(torch))
    many = isinstance(expected, tuple)
    t_outs = tuple(torch.empty(0, dtype=e.dtype) for e in expected) if many else torch.empty(0, dtype=expected.dtype)
    t_got = CALLS[name](lambda *a, **k: getattr(torch, name)(*a, **k, out=t_outs), _inputs(torch))   # torch takes out=
    assert t_got is t_outs or all(g is o for g, o in zip(t_got, t_outs))
    dtype = {str(d): d for d in (mt.float64, mt.int64, mt.int32, mt.bool)}
    outs = (tuple(mt.empty(0, dtype=dtype[str(e.dtype).split(".")[1]]) for e in expected) if many
            else mt.empty(0, dtype=dtype[str(expected.dtype).split(".")[1]]))
    got = CALLS[name](lambda *a, **k: getattr(mt, name)(*a, **k, out=outs), _inputs(mt))
    for g, o, e in zip(*((got, outs, expected) if many else ((got,), (outs,), (expected,)))):
        assert g is o
        assert g.shape == tuple(e.shape) and str(g.dtype) == str(e.dtype).split(".")[1]
        # torch's trigamma is off by up to 5e-10 relative on (0.1, 0.9) (minitf's: 3e-16 of mpmath's)
        rtol = 1e-9 if name == "polygamma" else 1e-12
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=rtol, atol=1e-15)
    if many and hasattr(expected, "_fields"):
        assert got._fields == expected._fields


def test_out_refuses_a_graph_as_torch():
    x = mt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"exp\(\): functions with out=\.\.\. arguments don't support automatic"):
        mt.exp(x, out=mt.empty(3))
    with pytest.raises(RuntimeError, match="requires grad"):        # an out that requires grad, as torch
        mt.exp(x.detach(), out=mt.empty(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="requires grad"):        # inside a sequence argument
        mt.cat([x, x], out=mt.empty(6))
    with mt.no_grad():
        y = mt.empty(3)
        assert mt.exp(x, out=y) is y and not y.requires_grad and y.grad_fn is None


def test_out_dtype_rules_as_torch():
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the desired output type int64"):
        mt.exp(mt.ones(3), out=mt.empty(3, dtype=mt.int64))
    with pytest.raises(RuntimeError, match="can't be cast .* bool"):
        mt.exp(mt.ones(3), out=mt.empty(3, dtype=mt.bool))
    y = mt.empty(3, dtype=mt.float32)          # float64 into float32 (same kind) and int into float: allowed
    mt.exp(mt.ones(3, dtype=mt.float64), out=y)
    assert y.dtype == mt.float32 and np.allclose(y.numpy(), np.e)
    mt.add(mt.tensor([1, 2, 3]), 1, out=y)
    assert y.tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(RuntimeError, match="expected out tensor to have dtype int64, but got int32"):
        mt.argmax(mt.ones(3), out=mt.empty((), dtype=mt.int32))
    with pytest.raises(RuntimeError, match="expected out tensor to have dtype int64"):   # max's indices
        mt.max(mt.ones(2, 3), 1, out=(mt.empty(0), mt.empty(0, dtype=mt.int32)))


def test_out_resizes_with_torchs_warning():
    y = mt.ones(5)
    with pytest.warns(UserWarning, match=r"resized since it had shape \[5\].*required output shape \[2, 2\]"):
        assert mt.exp(mt.zeros(2, 2), out=y) is y
    assert y.shape == (2, 2) and y.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # an empty out, and an out of the right shape: no warning
        z = mt.empty(0)
        mt.exp(mt.zeros(2, 2), out=z)
        mt.exp(mt.zeros(2, 2), out=z)
    assert z.shape == (2, 2)


def test_out_writes_in_place():
    x = mt.tensor([0.0, 1.0])
    version = x._version
    assert mt.exp(x, out=x) is x                  # the result is computed before it is written
    np.testing.assert_allclose(x.numpy(), np.exp([0.0, 1.0]))
    assert x._version > version
    base = mt.zeros(4)
    mt.add(mt.ones(2), 1, out=base[1:3])          # into a view: its base sees the values
    assert base.tolist() == [0.0, 2.0, 2.0, 0.0]
    m = mt.zeros(2, 3).T                          # a transposed out keeps its layout
    mt.add(mt.ones(3, 2), 1, out=m)
    assert m.tolist() == [[2.0, 2.0]] * 3


def test_out_on_every_device(device):
    x = mt.tensor(np.array([0.0, 1.0]), device=device)
    y = mt.tensor(np.zeros(0), device=device)
    assert mt.exp(x, out=y) is y and y.device == x.device
    np.testing.assert_allclose(backend.to_numpy(y.data), np.exp([0.0, 1.0]))
    v, i = mt.tensor(np.zeros(0), device=device), mt.zeros(0, dtype=mt.int64, device=device)
    mt.max(x.reshape(1, 2), 1, out=(v, i))
    assert backend.to_numpy(i.data).tolist() == [1] and i.device == x.device
    if x.device != mt.ones(1).device:           # an out on another device: refused, naming both
        with pytest.raises(RuntimeError, match="expected out tensor to be on"):
            mt.exp(x, out=mt.empty(2))


def test_out_argument_errors():
    with pytest.raises(TypeError, match="argument 'out' must be a Tensor, not int"):
        mt.exp(mt.ones(3), out=3)
    with pytest.raises(TypeError, match="'out' must be a tuple of 2 Tensors"):
        mt.max(mt.ones(2, 3), 1, out=mt.empty(0))
    with pytest.raises(TypeError, match="argument 'out' must be a Tensor, not tuple"):
        mt.exp(mt.ones(3), out=(mt.empty(3),))
    assert mt.exp(mt.zeros(1), out=None).tolist() == [1.0]      # out=None: the plain call


def test_functional_forms_and_methods_take_no_out():
    with pytest.raises(TypeError):
        mt.functional.exp(mt.ones(3), out=mt.empty(3))
    assert mt.concat is mt.cat and mt.ger is mt.outer            # aliases stay one function
