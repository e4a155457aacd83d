"""float16 activations, sinc and ndtr are computed in float32 and rounded once, as torch's half
kernels: in float16 itself every step of the formula rounded, so GELU was up to 12 ulp off, sigmoid
1.8, sinc(1) came out 3e-4 (not 0) and ndtr(-2.5) 2% high. Checked against float64 values on a
grid, to within one float16 rounding (values and gradients)."""
import math

import numpy as np
import pytest

import minitf as mt

GRID = np.float16(np.linspace(-6, 6, 241))   # steps of 0.05, the integers among them


def _host(t):
    return mt.backend.to_numpy(t.data)


def _sinc(x):
    return 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)


def _ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _within_one_rounding(got, exact, x=0.0):
    got = got.astype(np.float64)
    # the float16 spacing at each exact value: a correctly rounded result is within half of it;
    # a float32 computation rounded once, within half of it plus float32's own error: a few of its
    # ulps of the largest term (sinc(5) is -6e-8 in float32, as torch's; tanh-GELU(-5.4) -2e-7
    # where 1 + tanh cancels, torch's -0), so 4 float32 epsilons of max(|exact|, |x|, 1)
    spacing = np.spacing(np.abs(exact).astype(np.float16)).astype(np.float64)
    scale = np.maximum(np.maximum(np.abs(exact), np.abs(np.float64(x))), 1)
    return np.abs(got - exact) <= 0.5 * spacing + 4 * np.finfo(np.float32).eps * scale


@pytest.mark.parametrize("name", ["sinc", "ndtr"])
def test_float16_results_are_rounded_once(name, device):
    exact = np.array([(_sinc if name == "sinc" else _ndtr)(float(v)) for v in GRID])
    got = _host(getattr(mt.special, name)(mt.tensor(GRID, device=device)))
    assert got.dtype == np.float16
    ok = _within_one_rounding(got, exact, GRID.astype(np.float64))
    assert ok.all(), list(zip(GRID[~ok][:5], got[~ok][:5], exact[~ok][:5]))


def test_sinc_is_zero_at_the_integers_in_float16(device):
    ints = mt.tensor([1.0, -1.0, 2.0, -3.0, 5.0], dtype=mt.float16, device=device)
    # 0 to float32's error (3e-4 when pi x was rounded to float16)
    assert (np.abs(_host(mt.special.sinc(ints))) <= 1.2e-7).all()


def test_float16_sinc_gradient(device):
    x = mt.tensor(GRID[GRID != 0], device=device, requires_grad=True)
    mt.special.sinc(x).sum().backward()
    xs = GRID[GRID != 0].astype(np.float64)
    exact = (np.pi * xs * np.cos(np.pi * xs) - np.sin(np.pi * xs)) / (np.pi * xs * xs)
    got = _host(x.grad)
    assert got.dtype == np.float16
    assert _within_one_rounding(got, exact, xs).all()


F = mt.nn.functional
ACTIVATIONS = {
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "sigmoid": mt.sigmoid,
    "silu": F.silu, "softplus": F.softplus, "logsigmoid": F.logsigmoid, "hardswish": F.hardswish,
    "selu": F.selu, "elu": F.elu, "celu": F.celu, "mish": F.mish, "rsqrt": mt.rsqrt,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float16_activations_are_rounded_once(name, device):
    f = ACTIVATIONS[name]
    grid = GRID[GRID > 0] if name == "rsqrt" else GRID
    x16 = mt.tensor(grid, device=device, requires_grad=True)
    x64 = mt.tensor(grid.astype(np.float64), device=device, requires_grad=True)
    y16, y64 = f(x16), f(x64)
    y16.sum().backward()
    y64.sum().backward()
    assert y16.dtype == x16.grad.dtype == mt.float16
    for got, exact in ((y16, y64), (x16.grad, x64.grad)):
        got, exact = _host(got), _host(exact)
        ok = _within_one_rounding(got, exact, grid.astype(np.float64))
        assert ok.all(), list(zip(grid[~ok][:5], got[~ok][:5], exact[~ok][:5]))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float16_create_graph_gradient_is_the_plain_one(name):
    # a recorded backward (create_graph=True) also computes in float32 and rounds once
    f = ACTIVATIONS[name]
    grid = GRID[GRID > 0] if name == "rsqrt" else GRID
    a = mt.tensor(grid, requires_grad=True)
    a64 = mt.tensor(grid.astype(np.float64), requires_grad=True)
    (exact,) = mt.autograd.grad(f(a64).sum(), a64)
    (recorded,) = mt.autograd.grad(f(a).sum(), a, create_graph=True)
    assert recorded.dtype == mt.float16 and recorded.requires_grad
    # within a rounding of the exact slope, as the plain gradient (the composition the recorded one
    # differentiates is another float32 formula, so a value on a rounding tie may land one ulp away
    # from the plain one; computed in float16 steps, GELU's was 5,960 ulp off at x = -3.586)
    got = recorded.detach().numpy()
    ok = _within_one_rounding(got, exact.numpy(), grid.astype(np.float64))
    assert ok.all(), list(zip(grid[~ok][:5], got[~ok][:5], exact.numpy()[~ok][:5]))
    (second,) = mt.autograd.grad(recorded.sum(), a, allow_unused=True)   # and differentiates again
    assert second is None or second.dtype == mt.float16


@pytest.mark.parametrize("name", ["gelu_tanh", "silu", "hardswish", "selu"])
def test_float16_ops_save_their_input_itself(name):
    # what a saved-tensor hook sees is the float16 input tensor, as torch's, not a float32 copy
    packed = []

    def pack(t):
        packed.append(t)
        return t

    a = mt.tensor(GRID[:50], requires_grad=True)
    with mt.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = ACTIVATIONS[name](a)
    assert any(t is a for t in packed), [(t.dtype, t.shape) for t in packed]
    assert not any(t.dtype == mt.float32 and t.shape == a.shape and not t.requires_grad and
                   np.array_equal(t.numpy(), a.numpy().astype(np.float32)) for t in packed)
    y.sum().backward()
    assert a.grad.dtype == mt.float16


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float16_forward_mode_tangent_is_the_gradient(name):
    # an elementwise op's J t is its gradient times t: forward mode computes it in float32 too
    f = ACTIVATIONS[name]
    grid = GRID[GRID > 0] if name == "rsqrt" else GRID
    a = mt.tensor(grid, requires_grad=True)
    (grad,) = mt.autograd.grad(f(a).sum(), a)
    _, tangent = mt.func.jvp(f, (mt.tensor(grid),), (mt.ones(len(grid), dtype=mt.float16),))
    assert tangent.dtype == mt.float16
    np.testing.assert_array_equal(tangent.numpy(), grad.numpy())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float16_recorded_forward_mode_tangent_is_rounded_once(name):
    # a dual whose primal requires grad records its tangent (backward_graph): in float32 as well
    import minitf.autograd.forward_ad as fwAD
    f = ACTIVATIONS[name]
    grid = GRID[GRID > 0] if name == "rsqrt" else GRID
    a64 = mt.tensor(grid.astype(np.float64), requires_grad=True)
    (exact,) = mt.autograd.grad(f(a64).sum(), a64)
    with fwAD.dual_level():
        dual = fwAD.make_dual(mt.tensor(grid, requires_grad=True), mt.ones(len(grid), dtype=mt.float16))
        tangent = fwAD.unpack_dual(f(dual)).tangent
    assert tangent.dtype == mt.float16
    got = tangent.detach().numpy()
    ok = _within_one_rounding(got, exact.numpy(), grid.astype(np.float64))
    assert ok.all(), list(zip(grid[~ok][:5], got[~ok][:5], exact.numpy()[~ok][:5]))
