"""mt.autograd.functional's vjp, jvp, vhp, hvp against torch.autograd.functional in float64 (smooth
functions, one and several inputs/outputs), create_graph, strict and the argument errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.autograd.functional import hvp, jvp, vhp, vjp


def arr(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def f_one(x):            # (3, 2) -> (4,)
    return mt.stack([(x.sin() * x).sum(), (x * x).exp().sum(), x.tanh().sum(), (x ** 3).sum()])


def t_one(x):
    import torch
    return torch.stack([(x.sin() * x).sum(), (x * x).exp().sum(), x.tanh().sum(), (x ** 3).sum()])


def f_two(x, y):        # ((3,), (3,)) -> ((3,), scalar)
    return x * y.exp(), (x.sin() * y).sum()


def scalar(x, y):
    return (x.sin() * y * y).sum() + (x * y).exp().sum()


def close(ours, theirs):
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_vjp_jvp_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.autograd.functional
    x, v_out, v_in = arr(0, 3, 2), arr(1, 4), arr(2, 3, 2)
    close(vjp(f_one, mt.tensor(x), mt.tensor(v_out))[1], F.vjp(t_one, torch.tensor(x), torch.tensor(v_out))[1])
    o, j = jvp(f_one, mt.tensor(x), mt.tensor(v_in))
    to, tj = F.jvp(t_one, torch.tensor(x), torch.tensor(v_in))
    close(o, to)
    close(j, tj)
    x2, y2, a, b = arr(3, 3), arr(4, 3), arr(5, 3), arr(6, 3)
    T = torch.tensor
    ours = vjp(f_two, (mt.tensor(x2), mt.tensor(y2)), (mt.tensor(a), mt.tensor(1.5, dtype=mt.float64)))
    theirs = F.vjp(lambda p, q: (p * q.exp(), (p.sin() * q).sum()), (T(x2), T(y2)),
                   (T(a), T(1.5, dtype=torch.float64)))
    close(ours[0], theirs[0])
    close(ours[1], theirs[1])
    ours = jvp(f_two, (mt.tensor(x2), mt.tensor(y2)), (mt.tensor(a), mt.tensor(b)))
    theirs = F.jvp(lambda p, q: (p * q.exp(), (p.sin() * q).sum()), (T(x2), T(y2)), (T(a), T(b)))
    close(ours[1], theirs[1])


def test_hvp_vhp_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.autograd.functional
    x, y, a, b = arr(7, 2, 3), arr(8, 2, 3), arr(9, 2, 3), arr(10, 2, 3)

    def t_scalar(p, q):
        return (p.sin() * q * q).sum() + (p * q).exp().sum()
    T = torch.tensor
    for ours_f, theirs_f in ((hvp, F.hvp), (vhp, F.vhp)):
        o, r = ours_f(scalar, (mt.tensor(x), mt.tensor(y)), (mt.tensor(a), mt.tensor(b)))
        to, tr = theirs_f(t_scalar, (T(x), T(y)), (T(a), T(b)))
        close(o, to)
        close(r, tr)
    close(hvp(lambda p: (p ** 4).sum(), mt.tensor(x), mt.tensor(a))[1],
          F.hvp(lambda p: (p ** 4).sum(), T(x), T(a))[1])


def test_create_graph_strict_and_none_v():
    x = mt.tensor(arr(11, 3), requires_grad=True)
    _, g = vjp(lambda p: (p ** 3).sum(), x)          # v=None: a single-element output
    assert not g.requires_grad
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2, rtol=1e-12)
    _, g = vjp(lambda p: (p ** 3).sum(), x, create_graph=True)
    (gg,) = mt.autograd.grad(g.sum(), x)               # differentiable again: d/dx sum(3x^2) = 6x
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy(), rtol=1e-12)
    _, h = hvp(lambda p: (p ** 3).sum(), x, mt.ones(3, dtype=mt.float64), create_graph=True)
    assert h.requires_grad
    _, j = jvp(lambda p, q: p * 2, (x, x), (mt.ones(3, dtype=mt.float64),) * 2)
    np.testing.assert_allclose(j.numpy(), 2.0)       # the unused input adds nothing
    with pytest.raises(RuntimeError, match="independent of input 1"):
        jvp(lambda p, q: p * 2, (x, x), (mt.ones(3, dtype=mt.float64),) * 2, strict=True)
    with pytest.raises(RuntimeError, match="v can only be None"):
        vjp(lambda p: p * 2, x)
    with pytest.raises(ValueError, match="entry 0 of v has shape"):
        jvp(lambda p: p * 2, x, mt.ones(4, dtype=mt.float64))
    with pytest.raises(RuntimeError, match="single element"):
        hvp(lambda p: p * 2, x, x)
    with pytest.raises(TypeError, match="must be Tensors"):
        vjp(lambda p: p, [1.0])


def test_fake_device(device):
    x = mt.tensor(arr(12, 4), device=device)
    v = mt.tensor(arr(13, 4), device=device)
    _, r = hvp(lambda p: (p.sin()).sum(), x, v)
    assert r.device == device
    np.testing.assert_allclose(r.numpy(), -np.sin(x.numpy()) * v.numpy(), rtol=1e-12)
    _, j = jvp(lambda p: p.exp(), x, v)
    np.testing.assert_allclose(j.numpy(), np.exp(x.numpy()) * v.numpy(), rtol=1e-12)


def test_grad_mode_names_under_autograd():
    assert mt.autograd.set_grad_enabled is mt.set_grad_enabled
    assert mt.autograd.inference_mode is mt.inference_mode
    x = mt.ones(2, requires_grad=True)
    with mt.autograd.set_grad_enabled(False):
        assert not (x * 2).requires_grad
