"""The elementwise math of minitf/ops/special.py and binary_math.py, and minitf.special: values,
gradients and dtypes against torch 2.13 (edge points included), float64 gradchecks on every
device, and torch's errors."""
import math

import numpy as np
import pytest

import minitf as mt

from .torch_compare import compare_with_torch

GRID = np.array([-0.9, -0.5, -1e-3, 0.0, 0.25, 0.7, 0.95])   # inside every domain below
UNARY = {  # name -> (points, differentiable)
    "acos": (GRID, True), "arccos": (GRID, True), "asinh": (GRID * 5, True), "arcsinh": (GRID, True),
    "atanh": (GRID, True), "arctanh": (GRID, True), "acosh": (1.0 + np.abs(GRID) + 0.01, True),
    "arccosh": (2 + GRID, True), "erfc": (GRID * 4, True), "erfinv": (GRID, True), "sinc": (GRID * 3, True),
    "deg2rad": (GRID * 200, True), "rad2deg": (GRID, True), "frac": (GRID * 7 + 0.01, True),
}
UNARY_EDGES = np.array([0.0, -0.0, 1.0, -1.0, 1.5, -3.0, np.inf, -np.inf, np.nan, 1e-300, 1 - 1e-16])


def _torch(name):
    import torch
    return getattr(torch, name)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_as_torch(name):
    pytest.importorskip("torch")
    pts, _ = UNARY[name]
    a = np.stack([pts, pts[::-1]])[:, ::1]           # (2, 7), then a non-contiguous view below
    compare_with_torch(lambda x: getattr(mt, name)(x), lambda t: _torch(name)(t), [a], rtol=1e-12, atol=1e-14)
    compare_with_torch(lambda x: getattr(x.t(), name)(), lambda t: getattr(t.t(), name)(), [a], rtol=1e-12,
                       atol=1e-14)


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"frac"}) + ["sgn", "signbit"])
def test_unary_edge_values_and_integer_dtypes_as_torch(name):
    torch = pytest.importorskip("torch")
    ours = getattr(mt, name)(mt.tensor(UNARY_EDGES)).numpy()
    theirs = _torch(name)(torch.tensor(UNARY_EDGES)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0, equal_nan=True)
    assert (ours == theirs).dtype == bool and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    for ints in ([1, 0, 2], [True, False]):
        o, t = getattr(mt, name)(mt.tensor(ints)), _torch(name)(torch.tensor(ints))
        assert str(o.dtype) == str(t.dtype).replace("torch.", ""), (name, ints)
        np.testing.assert_allclose(o.numpy().astype(float), t.numpy().astype(float), rtol=1e-6, equal_nan=True)


def test_float32_values_as_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-0.99, 0.99, 41).astype(np.float32)
    for name in ("acos", "asinh", "atanh", "erfc", "erfinv", "sinc", "deg2rad"):
        o, t = getattr(mt, name)(mt.tensor(x)), _torch(name)(torch.tensor(x))
        assert o.dtype == mt.float32
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=3e-6, atol=1e-7, err_msg=name)


def test_erfinv_inverts_erf_to_rounding_and_its_edges():
    torch = pytest.importorskip("torch")
    y = np.concatenate([np.random.default_rng(0).uniform(-1, 1, 3000), [0.5, -0.5, 1 - 2 ** -52, 1e-310]])
    ours, theirs = mt.erfinv(mt.tensor(y)).numpy(), torch.erfinv(torch.tensor(y)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-15, atol=0)
    assert mt.erfinv(mt.tensor([1.0, -1.0, 1.5, np.nan])).tolist()[:2] == [math.inf, -math.inf]
    assert np.isnan(mt.erfinv(mt.tensor([1.5, np.nan])).numpy()).all()
    for dt in ("float64", "float32"):   # the sign of zero, as torch's
        z = mt.erfinv(mt.tensor([0.0, -0.0, -1e-310], dtype=dt)).numpy()
        assert np.signbit(z).tolist() == np.signbit(torch.erfinv(torch.tensor([0.0, -0.0, -1e-310],
                                                                            dtype=getattr(torch, dt))).numpy()).tolist()


def test_sinc_and_xlogy_gradients_at_their_edge_points_as_torch():
    torch = pytest.importorskip("torch")
    compare_with_torch(mt.sinc, torch.sinc, [np.array([0.0, 0.5, -2.0, 1.3])])
    # near 0 torch's closed form cancels (its slope at 1e-9 is 0); minitf's series gives -pi^2 x / 3
    x = mt.tensor([1e-9, -1e-4, 1e-2], dtype=mt.float64, requires_grad=True)
    mt.sinc(x).sum().backward()
    xs = x.detach().numpy()
    px = np.pi * xs
    np.testing.assert_allclose(x.grad.numpy(), -np.pi ** 2 * xs / 3 * (1 - px ** 2 / 10 + px ** 4 / 280), rtol=1e-13)
    x = np.array([0.0, 0.0, 0.0, 1.0, -1.0, np.nan, 2.0])
    y = np.array([0.0, -1.0, np.nan, 2.0, 0.0, 1.0, np.inf])
    compare_with_torch(mt.xlogy, torch.xlogy, [x, y])
    compare_with_torch(mt.special.xlog1py, torch.special.xlog1py, [x, y - 0.5])
    compare_with_torch(mt.special.entr, torch.special.entr, [np.array([0.0, 0.5, 2.0, -1.0, np.inf])])


BINARY = {  # name -> (call on the module, (a, b) arrays)
    "xlogy": (lambda m, a, b: m.xlogy(a, b.abs() + 0.1), None),
    "xlogy number": (lambda m, a, b: m.xlogy(2, b.abs() + 0.1) + m.xlogy(a, 3.0), None),
    "logaddexp": (lambda m, a, b: m.logaddexp(a, b), None),
    "logaddexp2": (lambda m, a, b: a.logaddexp2(b), None),
    "float_power": (lambda m, a, b: m.float_power(a.abs() + 0.5, b), None),
    "float_power number": (lambda m, a, b: m.float_power(a.abs() + 0.5, 3) + m.float_power(2.5, b), None),
    "copysign": (lambda m, a, b: m.copysign(a, b), None),
    "copysign number": (lambda m, a, b: a.copysign(-1.0) * b, None),
    "ldexp": (lambda m, a, b: m.ldexp(a, b), None),
    "fmax": (lambda m, a, b: m.fmax(a, b), None),
    "fmin": (lambda m, a, b: a.fmin(b), None),
    "nextafter": (lambda m, a, b: m.nextafter(a, b), None),
}


def _pair(rng, broadcast):
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4,) if broadcast else (3, 4))
    a[0, :2] = 0.0
    if not broadcast:
        b[1, :2] = a[1, :2]        # ties
        a[2, 0], b[2, 1] = np.nan, np.nan
    return a, b


@pytest.mark.parametrize("broadcast", [False, True])
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_binary_values_and_gradients_as_torch(name, broadcast):
    torch = pytest.importorskip("torch")
    call, _ = BINARY[name]
    a, b = _pair(np.random.default_rng(1), broadcast)
    if name.startswith(("ldexp", "float_power")):
        b = np.round(b * 3)
    compare_with_torch(lambda x, y: call(mt, x, y), lambda x, y: call(torch, x, y), [a, b], rtol=1e-12, atol=1e-14)


def test_fmax_fmin_nan_rules_and_tie_gradients():
    torch = pytest.importorskip("torch")
    a = np.array([1.0, 2.0, np.nan, 3.0, np.nan])
    b = np.array([1.0, np.nan, 0.0, 2.0, np.nan])
    for name in ("fmax", "fmin"):
        compare_with_torch(getattr(mt, name), getattr(torch, name), [a, b])
    assert mt.fmax(mt.tensor([1, 5]), mt.tensor([3, 2])).tolist() == [3, 5]


@pytest.mark.parametrize("name", ["xlogy", "logaddexp", "float_power", "copysign", "heaviside", "nextafter", "ldexp",
                                  "fmax", "fmin", "logaddexp2"])
def test_binary_dtypes_as_torch(name):
    torch = pytest.importorskip("torch")
    cases = [([1, 2, 3], [1, 2, 3]), ([1, 2, 3], [1.0, 2.0, 3.0]), ([1.0, 2.0], [1.0, 2.0]),
             ([0.5, 2.0], [1, 2])]
    for x, y in cases:
        for dx, dy in ((None, None), ("float64", None), (None, "float16")):
            def make(m, v, d):
                t = m.tensor(v)
                return t.to(getattr(m, d)) if d else t
            try:
                expected = getattr(torch, name)(make(torch, x, dx), make(torch, y, dy))
            except (RuntimeError, NotImplementedError) as e:
                with pytest.raises(type(e)):
                    getattr(mt, name)(make(mt, x, dx), make(mt, y, dy))
                continue
            got = getattr(mt, name)(make(mt, x, dx), make(mt, y, dy))
            assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), (name, x, y, dx, dy)
            np.testing.assert_allclose(got.numpy().astype(float), expected.numpy().astype(float), rtol=1e-3)


def test_heaviside_values_and_refusals_as_torch():
    torch = pytest.importorskip("torch")
    x = [-1.0, 0.0, 2.0, np.nan, -0.0]
    assert mt.heaviside(mt.tensor(x), mt.tensor([0.5])).tolist() == \
        torch.heaviside(torch.tensor(x), torch.tensor([0.5])).tolist()
    with pytest.raises(mt.errors.DtypeError, match="different dtypes"):
        mt.heaviside(mt.tensor([1.0]), mt.tensor([1]))
    assert not mt.heaviside(mt.tensor([1.0], requires_grad=True), mt.tensor([0.5])).requires_grad


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "heaviside", "nextafter", "ldexp", "fmax", "fmin"])
def test_tensor_only_ops_refuse_numbers_as_torch(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        getattr(torch, name)(torch.ones(2), 2.0)
    with pytest.raises(TypeError, match="must be Tensor"):
        getattr(mt, name)(mt.ones(2), 2.0)


def test_errors_name_the_problem():
    with pytest.raises(mt.errors.DtypeNotImplemented, match="frac"):
        mt.frac(mt.tensor([1, 2]))
    with pytest.raises(mt.errors.DtypeNotImplemented, match="logaddexp"):
        mt.logaddexp(mt.tensor([1]), mt.tensor([2]))
    with pytest.raises(mt.errors.ShapeError, match="cannot be broadcast"):
        mt.xlogy(mt.ones(2), mt.ones(3))
    with pytest.raises(mt.errors.ShapeError, match="copysign"):
        mt.copysign(mt.ones(2), mt.ones(3))
    with pytest.raises(TypeError):
        mt.xlogy(2, 3)


DIFFERENTIABLE = {
    "acos": lambda x: mt.acos(x * 0.9), "acosh": lambda x: mt.acosh(x.abs() + 1.1), "asinh": mt.asinh,
    "atanh": lambda x: mt.atanh(x * 0.9), "erfc": mt.erfc, "erfinv": lambda x: mt.erfinv(x * 0.9),
    "sinc": mt.sinc, "deg2rad": mt.deg2rad, "rad2deg": lambda x: x.rad2deg(), "frac": lambda x: mt.frac(x + 3.3),
    "entr": lambda x: mt.special.entr(x.abs() + 0.1), "ndtr": mt.special.ndtr,
    "xlogy": lambda x: mt.xlogy(x, x.flip(0).abs() + 0.5), "xlog1py": lambda x: mt.special.xlog1py(x, x.abs()),
    "logaddexp": lambda x: mt.logaddexp(x, x.flip(1) * 2), "logaddexp2": lambda x: x.logaddexp2(x.flip(0)),
    "float_power": lambda x: mt.float_power(x.abs() + 0.5, x.flip(0)),
    "copysign": lambda x: mt.copysign(x, x.flip(1)), "ldexp": lambda x: mt.ldexp(x, x.flip(0)),
    "fmax": lambda x: mt.fmax(x, x.flip(0) + 0.13), "fmin": lambda x: x.fmin(x.flip(1) - 0.1),
}
SMOOTH = ["acos", "asinh", "erfc", "erfinv", "sinc", "xlogy", "logaddexp", "float_power", "entr"]
X = [[0.3, -0.6, 0.45], [-0.2, 0.75, 0.55]]


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradcheck(name, device):
    x = mt.tensor(X, dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(DIFFERENTIABLE[name], [x])


@pytest.mark.parametrize("name", SMOOTH)
def test_gradgradcheck(name, device):
    x = mt.tensor(X, dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradgradcheck(DIFFERENTIABLE[name], [x])


def test_sinc_gradcheck_at_zero_and_values_on_the_device(device):
    x = mt.tensor([0.0, 0.5, -1.5], dtype=mt.float64, device=device, requires_grad=True)
    # the gradient is masked to 0 at 0 (torch's), so second order is checked away from 0 only
    assert mt.gradcheck(mt.sinc, [x]) and mt.gradgradcheck(lambda t: mt.sinc(t[1:]), [x])
    y = mt.sinc(x)
    assert y.device == x.device and y[0].item() == 1.0
    assert mt.signbit(mt.tensor([-0.0, 1.0], device=device)).tolist() == [True, False]
    assert mt.heaviside(mt.tensor([0.0, 2.0], device=device), mt.tensor([0.5], device=device)).tolist() == [0.5, 1.0]
    assert mt.nextafter(mt.tensor([1.0], dtype=mt.float64, device=device),
                        mt.tensor([2.0], dtype=mt.float64, device=device)).item() == 1 + 2 ** -52


def test_special_namespace_is_torchs():
    torch = pytest.importorskip("torch")
    x = np.array([-2.0, -0.3, 0.0, 0.4, 3.0])
    for name in ("erf", "erfc", "expit", "log1p", "expm1", "exp2", "sinc", "entr", "ndtr", "round"):
        ours = getattr(mt.special, name)(mt.tensor(x)).numpy()
        np.testing.assert_allclose(ours, getattr(torch.special, name)(torch.tensor(x)).numpy(), rtol=1e-13,
                                   atol=1e-15, err_msg=name)
    p = np.array([0.1, 0.5, 0.9])
    for name in ("logit", "erfinv"):
        np.testing.assert_allclose(getattr(mt.special, name)(mt.tensor(p)).numpy(),
                                   getattr(torch.special, name)(torch.tensor(p)).numpy(), rtol=1e-13)
    np.testing.assert_allclose(mt.special.logsumexp(mt.tensor(x), 0).item(),
                               torch.special.logsumexp(torch.tensor(x), 0).item(), rtol=1e-14)
    np.testing.assert_allclose(mt.special.softmax(mt.tensor(x), 0).numpy(),
                               torch.special.softmax(torch.tensor(x), 0).numpy(), rtol=1e-14)


METHODS = {  # Tensor method -> (arguments after self, built from a (2, 3) float64 x)
    "acos": (), "arccos": (), "acosh": (), "arccosh": (), "asinh": (), "arcsinh": (), "atanh": (),
    "arctanh": (), "erfc": (), "erfinv": (), "sgn": (), "signbit": (), "frac": (), "deg2rad": (), "rad2deg": (),
    "sinc": (), "xlogy": ("y",), "logaddexp": ("y",), "logaddexp2": ("y",), "float_power": ("y",),
    "copysign": ("y",), "heaviside": ("y",), "nextafter": ("y",), "ldexp": ("y",), "fmax": ("y",), "fmin": ("y",),
    "cummax": (1,), "cummin": (0,), "logcumsumexp": (1,), "kron": ("y",), "addmm": ("m", "n"), "addmv": ("m", "v"),
    "addr": ("v2", "v"), "baddbmm": ("b1", "b2"), "addbmm": ("b1", "b2"), "histc": (4,),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_tensor_methods_are_torchs_and_the_functions(name):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(3)
    x = r.uniform(0.1, 0.9, (2, 3))
    if name in ("acosh", "arccosh"):
        x = x + 1
    arrays = {"y": r.uniform(0.1, 0.9, (2, 3)), "m": r.standard_normal((2, 4)), "n": r.standard_normal((4, 3)),
              "v": r.standard_normal(3), "v2": r.standard_normal(2), "b1": r.standard_normal((2, 2, 4)),
              "b2": r.standard_normal((2, 4, 3))}
    if name in ("addmv", "addr"):
        x = x[:, 0] if name == "addmv" else x
    if name in ("addmv",):
        arrays["m"] = r.standard_normal((2, 3))

    def args(m):
        return [m.tensor(arrays[a]) if isinstance(a, str) else a for a in METHODS[name]]
    ours = getattr(mt.tensor(x), name)(*args(mt))
    theirs = getattr(torch.tensor(x), name)(*args(torch))
    if isinstance(ours, tuple):
        ours, theirs = ours[0], theirs[0]
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), rtol=1e-12, atol=1e-14)
    function = getattr(mt, name)(mt.tensor(x), *args(mt))
    np.testing.assert_array_equal((function[0] if isinstance(function, tuple) else function).numpy(), ours.numpy())


INPLACE = {  # method -> (arguments, the input's values)
    "acos_": ((), X), "arccos_": ((), X), "acosh_": ((), [[1.5, 2.0]]), "arccosh_": ((), [[1.5]]),
    "asinh_": ((), X), "arcsinh_": ((), X), "atanh_": ((), X), "arctanh_": ((), X), "erfc_": ((), X),
    "erfinv_": ((), X), "sgn_": ((), X), "frac_": ((), X), "deg2rad_": ((), X), "rad2deg_": ((), X),
    "sinc_": ((), X), "xlogy_": (("y",), X), "copysign_": (("y",), X), "heaviside_": (("y",), X),
    "nextafter_": (("y",), X), "ldexp_": (("y",), X), "float_power_": (("y",), X),
    "addmm_": (("m", "n"), X), "addmv_": (("m", "v"), [0.5, -1.0]), "addr_": (("v2", "v"), X),
    "baddbmm_": (("b1", "b2"), [X, X]), "addbmm_": (("b1", "b2"), X),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_math_as_torch(name, device):
    torch = pytest.importorskip("torch")
    extra, values = INPLACE[name]
    a = np.array(values, dtype=np.float64)
    r = np.random.default_rng(4)
    n_rows, n_cols = (a.shape[-2], a.shape[-1]) if a.ndim > 1 else (a.shape[0], 3)
    arrays = {"y": np.round(r.standard_normal(a.shape) * 2), "m": r.standard_normal((n_rows, 3)),
              "n": r.standard_normal((3, n_cols)), "v": r.standard_normal(3 if a.ndim == 1 else n_cols),
              "v2": r.standard_normal(n_rows), "b1": r.standard_normal((2, n_rows, 4)),
              "b2": r.standard_normal((2, 4, n_cols))}
    ours = mt.tensor(a, device=device)
    out = getattr(ours, name)(*[mt.tensor(arrays[k], device=device) for k in extra])
    theirs = torch.tensor(a)
    getattr(theirs, name)(*[torch.tensor(arrays[k]) for k in extra])
    assert out is ours
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-14, equal_nan=True)


def test_inplace_math_refusals_and_gradients_as_torch():
    with pytest.raises(mt.errors.DtypeError, match="float_power_"):
        mt.ones(2).float_power_(2)
    with pytest.raises(mt.errors.DtypeError, match="can't be cast"):
        mt.tensor([1, 2]).acos_()
    x = mt.tensor([0.2, 0.5], dtype=mt.float64, requires_grad=True)
    assert mt.gradcheck(lambda t: (t * 1).acos_(), [x]) and mt.gradcheck(lambda t: (t * 1).sinc_(), [x])


def test_fmax_fmin_and_l1_loss_keep_torchs_sign_of_zero():
    # fmax / fmin: a tie of +0 and -0 gives the first operand (NumPy's gives the second); l1_loss:
    # |-0 - 0| = +0 (d * sign(d) gave -0)
    torch = pytest.importorskip("torch")
    a, b = np.array([0.0, -0.0, 0.0, -0.0, np.nan, 1.0]), np.array([-0.0, 0.0, 0.0, -0.0, -0.0, np.nan])
    for name, f in (("fmax", lambda m, x, y: m.fmax(x, y)), ("fmin", lambda m, x, y: m.fmin(x, y)),
                    ("l1", lambda m, x, y: m.nn.functional.l1_loss(x, y, reduction="none"))):
        ours, theirs = (f(m, m.tensor(a), m.tensor(b)).numpy() for m in (mt, torch))
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs), err_msg=name)
