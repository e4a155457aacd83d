"""create_graph through 0/1 masks as torch's double backwards: the recorded backward of relu, clamp,
hardtanh, max(dim), maximum, ... and of the losses' ignore_index rows is a select (a recorded
where), so an inf or NaN gradient at an entry the mask turns off gives 0 there, as torch's (the
recorded multiply by the mask gave inf * 0 = NaN), to any order; and its second derivative is right."""
import numpy as np
import pytest

import minitf as mt
from minitf.backend import to_numpy

from .conftest import device_tensor
from .test_mask_backward import OPS, X

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# the losses: logits z (4, 3), rows 1 and 3 ignored; name -> f(lib, functional, z, targets)
T = np.array([1, -100, 2, -100])
W = np.array([0.5, 2.0, 1.5])
LOSSES = {
    "cross_entropy_none": lambda L, Fn, z, t: Fn.cross_entropy(z, t, reduction="none"),
    "cross_entropy_mean": lambda L, Fn, z, t: Fn.cross_entropy(z, t),
    "cross_entropy_weight_none": lambda L, Fn, z, t: Fn.cross_entropy(z, t, weight=L.tensor(W, device=z.device),
                                                                     reduction="none"),
    "cross_entropy_smoothing_sum": lambda L, Fn, z, t: Fn.cross_entropy(z, t, label_smoothing=0.2, reduction="sum"),
    "cross_entropy_all_ignored": lambda L, Fn, z, t: Fn.cross_entropy(z, t * 0 - 100),
    "nll_none": lambda L, Fn, z, t: Fn.nll_loss(z, t, reduction="none"),
    "nll_weight_mean": lambda L, Fn, z, t: Fn.nll_loss(z, t, weight=L.tensor(W, device=z.device)),
}
Z = np.random.default_rng(1).standard_normal((4, 3))


def _seed(shape, special, finite_at):
    g = np.full(shape, special)
    g.reshape(-1)[finite_at::3] = 1.5
    return g


def _grads(lib, f, x0, g, device, order):
    """Through the recorded masks, with ``g`` the last cotangent: gx = d <g, f(x)> / dx under
    create_graph (order 1); gu = d <g, gx> / du, gx's for u = ones (order 2: the backward's own
    backward); d <g, gu> / dgg, gu's for gg = ones (order 3: that one's backward)."""
    def tensor(a, requires_grad=True):
        return device_tensor(a, device, requires_grad) if lib is mt else torch.tensor(a, requires_grad=requires_grad)
    x = tensor(x0)
    y = f(lib, x)
    u = tensor(g if order == 1 else np.ones(tuple(y.shape)))
    (out,) = lib.autograd.grad(y, x, u, create_graph=True)
    if order >= 2:
        gg = tensor(g if order == 2 else np.ones(x0.shape), requires_grad=order == 3)
        (out,) = lib.autograd.grad(out, u, gg, create_graph=order == 3)
    if order == 3:
        (out,) = lib.autograd.grad(out, gg, tensor(g, requires_grad=False))
    return out.detach().numpy() if lib is torch else to_numpy(out.data)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("special", [np.inf, np.nan])
@pytest.mark.parametrize("name", sorted(OPS))
def test_create_graph_gives_0_off_the_mask_for_an_inf_or_nan_gradient_as_torchs(device, name, special, order):
    if order >= 2 and name == "hardsigmoid":
        pytest.skip("torch has no derivative of hardsigmoid_backward")
    for finite_at in (0, 1):   # (the specials at two sets of entries: hardswish's x <= -3 among them)
        got = []
        for lib, fn in ((mt, mt.nn.functional), (torch, TF)):
            # the last cotangent: of y's shape (orders 1 and 3), or of x's (order 2)
            shape = tuple(OPS[name](lib, fn, torch.tensor(X) if lib is torch else mt.tensor(X)).shape)
            g = _seed(X.shape if order == 2 else shape, special, finite_at)
            got.append(_grads(lib, lambda L, x: OPS[name](L, fn, x), X, g, device, order))
        np.testing.assert_allclose(got[0], got[1], rtol=1e-12, atol=0)   # (NaN where torch's NaN)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("special", [np.inf, np.nan])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_create_graph_gives_0_at_ignored_rows_for_an_inf_or_nan_gradient_as_torchs(device, name, special, order):
    if order == 2 and name == "cross_entropy_all_ignored":
        # d/du of a gradient that is 0 for every u: minitf's 0; torch's NaN, its formula being the
        # loss itself on gg (a mean over no rows)
        pytest.skip("torch's NaN for the derivative of a gradient that is identically 0")
    got = []
    for lib, fn in ((mt, mt.nn.functional), (torch, TF)):
        t = lib.tensor(T, device=device) if lib is mt else torch.tensor(T)
        f = lambda L, z: LOSSES[name](L, fn, z, t)   # noqa: E731
        shape = tuple(f(lib, torch.tensor(Z) if lib is torch else mt.tensor(Z, device=device)).shape)
        if order == 1:   # the special at the ignored rows only: at a kept row inf meets softmax's arithmetic
            g = np.full(shape, 1.5)
            if shape:
                g[1::2] = special
            else:
                g = np.full(shape, special) if name == "cross_entropy_all_ignored" else g
        else:            # gg (4, 3): special on the ignored rows
            g = np.full(Z.shape, 0.5)
            g[1::2] = special
        got.append(_grads(lib, f, Z, g, device, order))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-10, atol=1e-15)


# points away from every kink and tie (the masks are constant near them)
X_SMOOTH = np.array([-4.1, -2.2, -0.45, 0.3, 0.55, 2.1, 6.3, 7.2])


@pytest.mark.parametrize("name", sorted(set(OPS) - {"hardsigmoid"}))   # (torch has no hardsigmoid double backward)
def test_the_second_derivative_through_a_mask_is_right(name):
    x = mt.tensor(X_SMOOTH, dtype=mt.float64, requires_grad=True)
    assert mt.gradgradcheck(lambda x: OPS[name](mt, mt.nn.functional, x), [x])


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_the_second_derivative_of_a_loss_with_ignored_rows_is_right(name):
    z = mt.tensor(Z, dtype=mt.float64, requires_grad=True)
    t = mt.tensor(T)
    assert mt.gradgradcheck(lambda z: LOSSES[name](mt, mt.nn.functional, z, t), [z])


@pytest.mark.parametrize("op", ["floor", "ceil", "round", "trunc", "sign", "sgn"])
def test_a_step_functions_create_graph_gradient_is_a_constant_0_as_torchs(op):
    # torch's zeros_like(grad): 0 also for an inf or NaN gradient (g * 0 gave NaN), outside the graph
    got = []
    for lib in (mt, torch):
        x = lib.tensor([1.5, -2.5, 0.2], dtype=lib.float64, requires_grad=True)
        u = lib.tensor([np.inf, np.nan, 2.0], dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(getattr(x, op)(), x, u, create_graph=True)
        got.append(((gx.detach().numpy(force=True) if lib is torch else gx.numpy()).tolist(), gx.requires_grad))
    assert got[0] == got[1]
