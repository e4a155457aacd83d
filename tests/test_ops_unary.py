"""The elementwise math, products and scans (minitf/ops/unary.py, minitf/ops/cumulative.py):
values and gradients against torch through mt.* and the Tensor method, float64 gradchecks
on every device, dtypes of integer input, zeros in prod/cumprod, and the errors."""
import numpy as np
import pytest

import minitf as mt

from .conftest import randt

# name -> (call with torch's signature on mt or torch, how to draw a valid input from a normal x)
CALLS = {
    "log1p": (lambda m, x: m.log1p(x), lambda x: np.abs(x)),
    "expm1": (lambda m, x: m.expm1(x), lambda x: x),
    "sin": (lambda m, x: m.sin(x), lambda x: x),
    "cos": (lambda m, x: m.cos(x), lambda x: x),
    "square": (lambda m, x: m.square(x), lambda x: x),
    "rsqrt": (lambda m, x: m.rsqrt(x), lambda x: np.abs(x) + 0.5),
    "reciprocal": (lambda m, x: m.reciprocal(x), lambda x: np.abs(x) + 0.5),
    "sign": (lambda m, x: m.sign(x), lambda x: x),
    "floor": (lambda m, x: m.floor(x), lambda x: 3 * x),
    "ceil": (lambda m, x: m.ceil(x), lambda x: 3 * x),
    "round": (lambda m, x: m.round(x), lambda x: 3 * x),
    "round(decimals=1)": (lambda m, x: m.round(x, decimals=1), lambda x: 3 * x),
    "trunc": (lambda m, x: m.trunc(x), lambda x: 3 * x),
    "clamp_min": (lambda m, x: m.clamp_min(x, -0.3), lambda x: x),
    "clamp_max": (lambda m, x: m.clamp_max(x, 0.2), lambda x: x),
    "clip": (lambda m, x: m.clip(x, -0.3, 0.2), lambda x: x),
    "nan_to_num": (lambda m, x: m.nan_to_num(x, nan=1.5, posinf=9.0), lambda x: x),
    "logsumexp(1)": (lambda m, x: m.logsumexp(x, 1), lambda x: x),
    "logsumexp((0, 1), keepdim)": (lambda m, x: m.logsumexp(x, (0, 1), keepdim=True), lambda x: x),
    "logsumexp(-1, keepdim)": (lambda m, x: m.logsumexp(x, -1, keepdim=True), lambda x: 50 * x),
    "prod()": (lambda m, x: m.prod(x), lambda x: x),
    "prod(1)": (lambda m, x: m.prod(x, 1), lambda x: x),
    "prod(0, keepdim)": (lambda m, x: m.prod(x, 0, keepdim=True), lambda x: x),
    "prod(-1) zeros": (lambda m, x: m.prod(x, -1), lambda x: _zeros(x)),
    "cumsum(1)": (lambda m, x: m.cumsum(x, 1), lambda x: x),
    "cumsum(-2)": (lambda m, x: m.cumsum(x, -2), lambda x: x),
    "cumprod(1)": (lambda m, x: m.cumprod(x, 1), lambda x: x),
    "cumprod(1) zeros": (lambda m, x: m.cumprod(x, 1), lambda x: _zeros(x)),
    "cumprod(0) zeros": (lambda m, x: m.cumprod(x, 0), lambda x: _zeros(x)),
}
STEPS = {"sign", "floor", "ceil", "round", "round(decimals=1)", "trunc"}
NO_GRADCHECK = STEPS  # zero gradient: finite differences across a step would not be zero


def _zeros(x):
    """Rows with no zero, one zero and two zeros (the three cases of the product rule)."""
    x = x.copy()
    x[1, 2] = 0.0
    x[2, 0] = x[2, 3] = 0.0
    x[3, 1] = 0.0
    return x


def _input(name, rng):
    x = CALLS[name][1](rng.standard_normal((4, 5)))
    if name == "nan_to_num":
        x[0, 0], x[1, 1], x[2, 2] = np.nan, np.inf, -np.inf
    return x


@pytest.mark.parametrize("method", [False, True], ids=["mt", "Tensor"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_values_and_gradients_match_torch(device, name, method, rng):
    torch = pytest.importorskip("torch")
    data = _input(name, rng)
    call = CALLS[name][0]
    x = mt.tensor(data, dtype="float64", device=device, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    if method:  # the same call as a Tensor method: x.f(*args)
        class _M:
            def __getattr__(self, attr):
                return lambda t, *a, **k: getattr(t, attr)(*a, **k)
        out, outt = call(_M(), x), call(_M(), xt)
    else:
        out, outt = call(mt, x), call(torch, xt)
    assert out.device == device and out.shape == tuple(outt.shape) and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-12, atol=1e-12)
    cot = rng.standard_normal(out.shape)
    out.backward(mt.tensor(cot, dtype="float64", device=device))
    outt.backward(torch.tensor(cot))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(set(CALLS) - NO_GRADCHECK))
def test_gradcheck(device, name, rng):
    data = _input(name, rng)
    if name.startswith("clamp") or name == "clip":  # keep finite differences off the bounds
        data = np.where(np.abs(data + 0.3) < 0.05, data + 0.1, data)
        data = np.where(np.abs(data - 0.2) < 0.05, data + 0.1, data)
    x = mt.tensor(data, dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda x: CALLS[name][0](mt, x), [x])


@pytest.mark.parametrize("name", ["log1p", "expm1", "sin", "cos", "square", "rsqrt", "reciprocal",
                                  "logsumexp(1)", "cumsum(1)"])
def test_second_derivatives(device, name, rng):
    x = mt.tensor(_input(name, rng), dtype="float64", device=device, requires_grad=True)
    assert mt.gradgradcheck(lambda x: CALLS[name][0](mt, x), [x])


def test_second_derivatives_of_prod_and_cumprod(device, rng):
    """Slices with 0, 1, 2 and 3 zeros (_zeros: rows 1-3; row 0 none), each zero's place
    mattering for cumprod: twice differentiable in every case."""
    data = _zeros(rng.standard_normal((4, 5)))
    data[0, 4] = 0.0  # row 0: one zero at the end; row 3 gets a third zero
    data[3, 3] = data[3, 4] = 0.0
    data = np.concatenate([rng.standard_normal((1, 5)), data])  # and a row without one
    x = mt.tensor(data, dtype="float64", device=device, requires_grad=True)
    for f in (lambda x: x.prod(1), lambda x: x.prod(0, keepdim=True), lambda x: x.prod(),
              lambda x: x.cumprod(1), lambda x: x.cumprod(0)):
        assert mt.gradgradcheck(f, [x])
    for v in ([0.0, 0.0, 3.0], [2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 0.0], [2.0, 0.0, 3.0, 0.0, 4.0]):
        x = mt.tensor(v, dtype="float64", device=device, requires_grad=True)
        assert mt.gradgradcheck(lambda x: mt.prod(x), [x]) and mt.gradgradcheck(lambda x: mt.cumprod(x, 0), [x])


@pytest.mark.parametrize("v", [[0.0, 0.0, 3.0], [2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 3.0, 0.0, 4.0], [1.5, 2.0, -3.0]])
def test_hessians_of_prod_and_cumprod_match_torch(device, v):
    """The Hessians with zeros (prod of [0, 0, 3]: H[0][1] = 3; they were 0, and cumprod's
    was not symmetric)."""
    torch = pytest.importorskip("torch")
    w = np.linspace(0.5, 1.5, len(v))  # cumprod: <w, cumprod(x)>, weights not all equal
    for fm, ft in ((lambda x: mt.prod(x), lambda x: torch.prod(x)),
                   (lambda x: (mt.cumprod(x, 0) * mt.tensor(w, device=device)).sum(),
                    lambda x: (torch.cumprod(x, 0) * torch.tensor(w)).sum())):
        x = mt.tensor(v, dtype="float64", device=device, requires_grad=True)
        (g,) = mt.grad(fm(x), [x], create_graph=True)
        hess = [mt.grad(g[i], [x], retain_graph=True)[0].tolist() for i in range(len(v))]
        want = torch.autograd.functional.hessian(ft, torch.tensor(v, dtype=torch.float64))
        np.testing.assert_allclose(hess, want.numpy(), rtol=1e-12, atol=1e-12)


def test_lerp_and_addcmul_match_torch_in_every_argument(device, rng):
    torch = pytest.importorskip("torch")
    a, b, w = (rng.standard_normal(s) for s in ((3, 4), (4,), (3, 1)))
    ts = [mt.tensor(v, dtype="float64", device=device, requires_grad=True) for v in (a, b, w)]
    tt = [torch.tensor(v, requires_grad=True) for v in (a, b, w)]
    for f in (lambda m, x, y, z: m.lerp(x, y, z), lambda m, x, y, z: m.lerp(x, y, 0.25),
              lambda m, x, y, z: m.addcmul(x, y, z, value=-0.5), lambda m, x, y, z: x.addcmul(y, z)):
        for t in ts + tt:
            t.grad = None
        out, outt = f(mt, *ts), f(torch, *tt)
        np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-12)
        out.sum().backward()
        outt.sum().backward()
        for t, u in zip(ts, tt):
            assert (t.grad is None) == (u.grad is None)
            if u.grad is not None:
                np.testing.assert_allclose(t.grad.numpy(), u.grad.numpy(), rtol=1e-12)
    assert mt.gradcheck(lambda x, y, z: mt.lerp(x, y, z), ts)
    assert mt.gradcheck(lambda x, y, z: mt.addcmul(x, y, z, value=3.0), ts)


@pytest.mark.parametrize("name,dtype", [
    ("log1p", "float32"), ("sin", "float32"), ("rsqrt", "float32"), ("reciprocal", "float32"),
    ("square", "int32"), ("sign", "int32"), ("floor", "int32"), ("round", "int32"),
    ("prod()", "int64"), ("cumsum(1)", "int64"), ("cumprod(1)", "int64"), ("logsumexp(1)", "float32")])
def test_integer_input_gives_torchs_dtype(device, name, dtype):
    torch = pytest.importorskip("torch")
    data = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    out = CALLS[name][0](mt, mt.tensor(data, dtype="int32", device=device))
    outt = CALLS[name][0](torch, torch.tensor(data))
    assert str(out.dtype) == dtype == str(outt.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), outt.numpy(), rtol=1e-6)


def test_errors_name_the_problem():
    x = mt.tensor([[1.5, 2.0]])
    with pytest.raises(TypeError, match="bool"):
        mt.floor(mt.tensor([True]))
    with pytest.raises(TypeError, match="decimals"):
        x.round(decimals=1.5)
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        x.cumsum(2)
    with pytest.raises(ValueError, match="out of range"):
        x.prod(-3)
    with pytest.raises(TypeError, match="keepdim"):
        x.prod(keepdim=True)
    with pytest.raises(TypeError, match="weight"):
        x.lerp(x, "half")
    with pytest.raises(ValueError, match="at least one"):
        x.clip()


def test_zero_dim_scans_and_products(device):
    x = mt.tensor(3.0, device=device, requires_grad=True)
    y = x.cumsum(0) * x.cumprod(-1) * x.prod(0)
    assert y.shape == () and y.item() == 27.0  # (float(y) warns: y requires grad)
    y.backward()
    assert float(x.grad) == 27.0


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc", "log1p", "expm1", "sin", "cos",
                                  "rsqrt", "reciprocal", "cumsum(1)", "cumprod(1)", "prod(1)", "nan_to_num"])
def test_grad_fn_names_are_torchs(name, rng):
    torch = pytest.importorskip("torch")
    data = _input(name, rng)
    out = CALLS[name][0](mt, mt.tensor(data, dtype="float64", requires_grad=True))
    outt = CALLS[name][0](torch, torch.tensor(data, requires_grad=True))
    assert out.grad_fn.name() == outt.grad_fn.name()  # the overload number too (ProdBackward1: prod(dim))


def test_clamp_with_tensor_bounds_matches_torch(device):
    """Tensor bounds broadcast; ties go to x (x = m = 2: x's gradient), min > max gives max,
    through mt.* and the methods (they refused tensor bounds)."""
    torch = pytest.importorskip("torch")
    xv = np.array([[1.0, 2.0, 3.0, 2.5], [0.0, 4.0, 2.2, 1.9]])
    lo, hi = np.array([2.0, 2.0, 2.0, 3.0]), np.array([[2.5], [2.2]])   # lo[3] > hi: the result is hi
    calls = [lambda m, x, a, b: m.clamp(x, a, b), lambda m, x, a, b: m.clamp_min(x, a),
             lambda m, x, a, b: m.clamp_max(x, b), lambda m, x, a, b: m.clip(x, max=b),
             lambda m, x, a, b: x.clamp(a, b), lambda m, x, a, b: x.clamp_min(a),
             lambda m, x, a, b: x.clamp_max(b), lambda m, x, a, b: x.clip(a, b),
             lambda m, x, a, b: x.clamp(min=a)]
    for f in calls:
        res = []
        for m, kw in ((mt, {"device": device}), (torch, {})):
            ts = [m.tensor(v, dtype=m.float64, requires_grad=True, **kw) for v in (xv, lo, hi)]
            out = f(m, *ts)
            (out * m.tensor(np.arange(1.0, 9.0).reshape(2, 4), dtype=m.float64, **kw)).sum().backward()
            res.append([out.tolist()] + [None if t.grad is None else t.grad.tolist() for t in ts])
        assert res[0] == res[1]


def test_clamp_with_tensor_bounds_gradcheck(device, rng):
    x, lo, hi = (mt.tensor(v, dtype="float64", device=device, requires_grad=True)
                 for v in (rng.standard_normal((3, 4)), rng.standard_normal(4) - 1.0, rng.standard_normal((3, 1)) + 1.0))
    assert mt.gradcheck(lambda x, a, b: mt.clamp(x, a, b), [x, lo, hi])
    assert mt.gradcheck(lambda x, a: x.clamp_min(a), [x, lo])
    assert mt.gradgradcheck(lambda x, a, b: mt.clamp(x, a, b) ** 2, [x, lo, hi])


def test_clamp_in_place_with_tensor_bounds(device):
    x = mt.tensor([1.0, 5.0, 2.5], device=device)
    assert x.clamp_(mt.tensor([2.0], device=device), 3.0) is x and x.tolist() == [2.0, 3.0, 2.5]
    a = mt.tensor([1.0, 5.0], device=device, requires_grad=True)
    m = mt.tensor([2.0, 2.0], device=device, requires_grad=True)
    y = a * 1
    y.clamp_(min=m)
    y.sum().backward()
    assert y.tolist() == [2.0, 5.0] and a.grad.tolist() == [0.0, 1.0] and m.grad.tolist() == [1.0, 0.0]
    with pytest.raises(TypeError, match="min must be a number or a tensor"):
        mt.clamp(x, min="1")


def test_sign_of_nan_is_zero_as_torch(device):
    torch = pytest.importorskip("torch")
    v = [float("nan"), -0.0, 0.0, -2.5, float("inf"), float("-inf")]
    for dt in ("float32", "float64"):
        out = mt.tensor(v, dtype=dt, device=device).sign()
        assert out.tolist() == torch.tensor(v, dtype=getattr(torch, dt)).sign().tolist() == [0, 0, 0, -1, 1, -1]
        assert out.dtype == dt


def test_prod_of_a_zero_dim_tensor_checks_its_dim(device):
    x = mt.tensor(3.0, device=device)
    assert float(x.prod(0)) == float(x.prod(-1, keepdim=True)) == 3.0
    for d in (1, -2, 5):
        with pytest.raises(ValueError, match=f"dim {d} is out of range"):
            x.prod(d)


def test_lerp_is_exact_at_weight_one_as_torch(device):
    """torch computes end - (end - start)(1 - w) where |w| >= 0.5: lerp(1e16, 1, 1) is 1
    (start + w (end - start) gave 0)."""
    torch = pytest.importorskip("torch")
    s, e, w = [1e16, -3.0, 2.0, 1e16], [1.0, 5.0, -1.0, 1.0], [1.0, 0.75, -0.6, 0.49]
    for wt in (1.0, w):
        res = []
        for m, kw in ((mt, {"device": device}), (torch, {})):
            a, b = (m.tensor(v, dtype=m.float64, requires_grad=True, **kw) for v in (s, e))
            ww = m.tensor(wt, dtype=m.float64, requires_grad=True, **kw) if isinstance(wt, list) else wt
            out = m.lerp(a, b, ww)
            (out * m.tensor([1.0, 2.0, 3.0, 4.0], dtype=m.float64, **kw)).sum().backward()
            res.append([out.tolist(), a.grad.tolist(), b.grad.tolist()] + ([ww.grad.tolist()] if isinstance(wt, list) else []))
        # torch's CPU kernel fuses the multiply-add (FMA): a last-bit difference, not more
        for got, want in zip(*res):
            np.testing.assert_allclose(got, want, rtol=4e-16, atol=0)
        assert res[0][0][0] == 1.0 and res[0][0][3] == res[1][0][3]


def test_lerp_dtypes_as_torch(device, rng):
    torch = pytest.importorskip("torch")
    ts = [mt.tensor(rng.standard_normal((2, 3)), dtype="float64", device=device, requires_grad=True)
          for _ in range(3)]
    assert mt.gradcheck(lambda a, b, w: mt.lerp(a, b, w * 0.5 + 0.5), ts)   # weights on both sides of 0.5
    assert mt.gradgradcheck(lambda a, b, w: mt.lerp(a, b, w * 0.5 + 0.5) ** 2, ts)
    assert mt.gradgradcheck(lambda a, b: mt.lerp(a, b, 0.75) ** 2, ts[:2])
    for m in (mt, torch):
        a, a64, i = m.ones(2), m.zeros(2, dtype=m.float64), m.tensor([1, 2])
        assert m.lerp(a, m.zeros(2), m.tensor(0.25, dtype=m.float64)).dtype == m.float32  # a 0-d weight is cast
        for bad in (lambda: m.lerp(a, m.zeros(2), m.tensor([0.3, 0.7], dtype=m.float64)),
                    lambda: m.lerp(a, a64, 0.5), lambda: m.lerp(i, i, 0.5)):
            with pytest.raises((TypeError, RuntimeError, NotImplementedError)):
                bad()
    with pytest.raises(TypeError, match="lerp: expected dtype float32 for weight but got float64"):
        mt.lerp(mt.ones(2), mt.zeros(2), mt.tensor([0.3, 0.7], dtype="float64"))
    with pytest.raises(TypeError, match="lerp: expected dtype float32 for end but got float64"):
        mt.lerp(mt.ones(2), mt.zeros(2, dtype="float64"), 0.5)
    with pytest.raises(TypeError, match="lerp: not defined for int64"):
        mt.lerp(mt.tensor([1, 2]), mt.tensor([3, 4]), 0.5)


def test_nan_to_num_with_nan_none_means_zero(device):
    torch = pytest.importorskip("torch")
    v = [float("nan"), float("inf"), -1.5]
    out = mt.nan_to_num(mt.tensor(v, device=device), nan=None).tolist()
    assert out == torch.nan_to_num(torch.tensor(v), nan=None).tolist() and out[0] == 0.0


def test_prods_gradient_is_the_product_of_the_others_beside_an_inf_or_an_overflow():
    # prod_{j != i} x_j as the running products before and after i (torch's safe path): p / x_i
    # gave inf / inf = NaN for [inf, 1, 2] (the inf's slope is 2) and inf for [1e300, 1e300, 1e-300]
    # (the first two slopes are 1); zeros, and the dim and full reductions, as before
    cases = [([np.inf, 1.0, 2.0], [2.0, np.inf, np.inf]), ([1e300, 1e300, 1e-300], [1.0, 1.0, np.inf]),
             ([0.0, 3.0, 4.0], [12.0, 0.0, 0.0]), ([0.0, 0.0, 4.0], [0.0, 0.0, 0.0]), ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0])]
    for v, want in cases:
        for reduce in (lambda t: t.prod(), lambda t: t.reshape(1, 3).prod(1).sum()):
            x = mt.tensor(v, dtype="float64", requires_grad=True)
            with np.errstate(over="ignore"):
                reduce(x).backward()
            np.testing.assert_array_equal(x.grad.numpy(), want)
    x = mt.tensor(np.random.default_rng(0).standard_normal((3, 4, 5)), requires_grad=True)
    assert mt.gradcheck(lambda t: t.prod(1), [x]) and mt.gradgradcheck(lambda t: t.prod(2), [x])


def test_cumsum_of_negative_zeros_starts_from_plus_zero_as_torch():
    # torch's running sum starts at +0, so a run of -0 gives +0 (forward and backward); NumPy's
    # starts from the first element
    torch = pytest.importorskip("torch")
    x_host, g_host = np.array([[-0.0, -0.0, 1.0, -1.0], [-0.0, 2.0, -0.0, -2.0]]), np.full((2, 4), -0.0)
    out = []
    for m in (mt, torch):
        x = m.tensor(x_host, requires_grad=True)
        y = x.cumsum(1)
        y.backward(m.tensor(g_host))
        out.append((y.detach().numpy(), x.grad.numpy()))
    for ours, theirs in zip(*out):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
