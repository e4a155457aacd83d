"""Backward through a 0/1 mask as torch's select: an inf or NaN incoming gradient at an entry the mask
turns off gives 0 there (g * mask gave inf * 0 = NaN), and stays itself where the mask passes it."""
import numpy as np
import pytest

import minitf as mt
from minitf.backend import to_numpy

from .conftest import device_tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional
X = np.array([-4.0, -2.0, -0.5, 0.0, 0.5, 2.0, 6.0, 7.0])

# name -> f(lib, functional, x): x (8,) -> any shape
OPS = {
    "clamp": lambda L, Fn, x: x.clamp(-1, 1),
    "clamp_min": lambda L, Fn, x: x.clamp(min=0),
    "clamp_tensor": lambda L, Fn, x: x.clamp(x.detach() * 0, x.detach() * 0 + 1),
    "relu": lambda L, Fn, x: x.relu(),
    "hardtanh": lambda L, Fn, x: Fn.hardtanh(x),
    "relu6": lambda L, Fn, x: Fn.relu6(x),
    "threshold": lambda L, Fn, x: Fn.threshold(x, 0.4, -3.0),
    "hardsigmoid": lambda L, Fn, x: Fn.hardsigmoid(x),
    "hardswish": lambda L, Fn, x: Fn.hardswish(x),
    "hardshrink": lambda L, Fn, x: Fn.hardshrink(x, 0.6),
    "softshrink": lambda L, Fn, x: Fn.softshrink(x, 0.6),
    "max_dim": lambda L, Fn, x: x.reshape(2, 4).max(1)[0],
    "min_dim": lambda L, Fn, x: x.reshape(2, 4).min(1)[0],
    "maximum": lambda L, Fn, x: L.maximum(x, x.detach() * 0),
    "minimum": lambda L, Fn, x: L.minimum(x, x.detach() * 0),
    "max_pool1d": lambda L, Fn, x: Fn.max_pool1d(x.reshape(1, 1, 8), 2),
    "nll_ignore": lambda L, Fn, x: Fn.nll_loss(x.reshape(2, 4), L.tensor([1, -100], device=x.device), reduction="none"),
    "cross_entropy_ignore": lambda L, Fn, x: Fn.cross_entropy(x.reshape(2, 4), L.tensor([1, -100], device=x.device)),
}


@pytest.mark.parametrize("special", [np.inf, np.nan])
@pytest.mark.parametrize("name", sorted(OPS))
def test_an_inf_or_nan_gradient_off_the_mask_gives_0_as_torchs(device, name, special):
    grads = []
    for lib, fn in ((mt, mt.nn.functional), (torch, TF)):
        x = device_tensor(X, device) if lib is mt else torch.tensor(X, requires_grad=True)
        y = OPS[name](lib, fn, x)
        g = np.full(tuple(y.shape), special)
        g.reshape(-1)[::3] = 1.5   # finite at some entries
        y.backward(device_tensor(g, device, requires_grad=False) if lib is mt else torch.tensor(g))
        grads.append(x.grad.numpy() if lib is mt else x.grad.numpy())
    # (NaN where torch has NaN; rtol: softmax rounds differently by an ulp)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=0)


def test_the_pareto_mean_gradient_at_alpha_below_1_is_0_as_torchs():
    a, s = mt.tensor([0.5, 2.0], dtype=mt.float64, requires_grad=True), mt.tensor([1.0, 1.0], dtype=mt.float64)
    mt.distributions.Pareto(s, a).mean.sum().backward()
    ta = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    torch.distributions.Pareto(torch.tensor([1.0, 1.0], dtype=torch.float64), ta).mean.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())


def test_masked_keeps_finite_values_and_dtypes():
    from minitf.ops.masking import masked, pass_bits
    for dtype in (np.float16, np.float32, np.float64, np.complex64, np.complex128):
        g = np.array([np.inf, np.nan, -2.5, 3.0], dtype=dtype)
        out = masked(g, pass_bits(np.array([False, True, True, False])))
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, np.array([0, np.nan, -2.5, 0], dtype=dtype))


@pytest.mark.parametrize("fdtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("gdtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
def test_masked_with_bits_of_another_width_is_the_select(fdtype, gdtype):
    # bits of a forward dtype's width (pass_bits(mask, dtype)) meeting a gradient of another width:
    # narrower g used to widen the AND and split each element in the view; shapes 0-d and broadcast
    from minitf.ops.masking import masked, pass_bits
    rng = np.random.default_rng(0)
    for shape, bshape in (((), ()), ((3, 4), (3, 4)), ((3, 4), (1, 4)), ((1, 4), (3, 1))):
        m = rng.random(bshape) > 0.5
        g = np.where(rng.random(shape) > 0.5, np.inf, rng.standard_normal(shape)).astype(gdtype)
        g = np.broadcast_to(g, shape)   # read-only, and of stride 0 where broadcast
        out = masked(g, pass_bits(np.array(m), fdtype))
        want = np.where(m, g, gdtype(0))
        assert out.dtype == gdtype and out.shape == want.shape
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("gdtype", ["float16", "float32", "int64"])
def test_a_gradient_of_another_dtype_is_cast_to_the_outputs_as_torchs(device, gdtype):
    # backward(gradient) and grad(grad_outputs) of another real dtype: torch casts it to the output's
    # (a float32 one reached hardtanh's float64 bits and gave x a (6,) gradient)
    for call in ("backward", "grad"):
        got = []
        for lib in (mt, torch):
            x = device_tensor(X[:3], device) if lib is mt else torch.tensor(X[:3], requires_grad=True)
            y = (mt.nn.functional if lib is mt else TF).hardtanh(x)
            u = np.array([np.inf, 3, np.inf]) if gdtype != "int64" else np.array([7, 3, -2])
            u = mt.tensor(u, dtype=gdtype, device=device) if lib is mt else torch.tensor(u).to(getattr(torch, gdtype))
            if call == "backward":
                y.backward(u)
                gx = x.grad
            else:
                (gx,) = lib.autograd.grad(y, x, u)
            assert str(gx.dtype).endswith("float64")
            got.append(gx.numpy() if lib is torch else to_numpy(gx.data))
        np.testing.assert_array_equal(got[0], got[1])


def test_a_complex_gradient_for_a_real_output_is_torchs_error():
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    for y, u in ((x * 2, mt.ones(2, dtype=mt.complex128)), (mt.complex(x, x), mt.ones(2, dtype=mt.float64))):
        with pytest.raises(RuntimeError, match="both grad_output and output are required to have the same dtype"):
            y.backward(u)
        with pytest.raises(RuntimeError, match="grad_output.0. has a dtype of"):
            mt.autograd.grad(y, x, u)
