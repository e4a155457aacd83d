"""minitf.func (torch.func's transforms): values against finite differences and torch 2.13, composition,
the level rules (what stays connected to an outer graph), pytrees, vmap's dims and randomness, errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.func import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp, vmap
from minitf.func.pytree import tree_flatten, tree_unflatten


def _t(a, device="cpu", **kw):
    return mt.tensor(np.asarray(a, dtype=np.float64), device=device, **kw)


def _f(x):   # smooth, nonlinear, mixes elements: (3,) -> (2,)
    return mt.stack([(x.sin() * x[0]).sum(), (x ** 3).sum() + x[1] * x[2]])


def _numeric_jacobian(f, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        cols.append((f(x + d) - f(x - d)) / (2 * eps))
    return np.stack(cols, -1)


def _np_f(x):
    return np.array([(np.sin(x) * x[0]).sum(), (x ** 3).sum() + x[1] * x[2]])


X = [0.3, -1.2, 0.7]


def test_jacrev_and_jacfwd_match_central_differences(device):
    x = _t(X, device)
    expected = _numeric_jacobian(_np_f, X)
    for jac in (jacrev(_f), jacfwd(_f)):
        np.testing.assert_allclose(jac(x).numpy(), expected, rtol=1e-8, atol=1e-9)


def test_jvp_and_vjp_are_the_jacobian_times_a_random_vector(device):
    rng = np.random.default_rng(0)
    J = _numeric_jacobian(_np_f, X)
    t, u = rng.standard_normal(3), rng.standard_normal(2)
    out, j = jvp(_f, (_t(X, device),), (_t(t, device),))
    np.testing.assert_allclose(out.numpy(), _np_f(np.array(X)), rtol=1e-14)
    np.testing.assert_allclose(j.numpy(), J @ t, rtol=1e-8)
    out, fn = vjp(_f, _t(X, device))
    (g,) = fn(_t(u, device))
    np.testing.assert_allclose(g.numpy(), u @ J, rtol=1e-8)
    _, lin = linearize(_f, _t(X, device))
    for _ in range(2):   # the recorded pass serves every call
        np.testing.assert_allclose(lin(_t(t, device)).numpy(), J @ t, rtol=1e-8)


def test_jvp_and_linearize_under_no_grad_are_not_zeros():
    # torch.func ignores an outer no_grad; minitf's J^T u was once left unrecorded there, so J t was 0
    rng = np.random.default_rng(1)
    J, t = _numeric_jacobian(_np_f, X), rng.standard_normal(3)
    with mt.no_grad():
        _, j = jvp(_f, (_t(X),), (_t(t),))
        _, lin = linearize(_f, _t(X))
        jl = lin(_t(t))
    np.testing.assert_allclose(j.numpy(), J @ t, rtol=1e-8)
    np.testing.assert_allclose(jl.numpy(), J @ t, rtol=1e-8)


def test_hessian_and_nested_grad():
    f = lambda x: (x.sin() * x ** 2).sum()   # noqa: E731
    x = np.array(X)
    # d/dx (sin x * x^2) = cos x x^2 + 2 x sin x ; second derivative on the diagonal only
    d2 = -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x)
    np.testing.assert_allclose(hessian(f)(_t(X)).numpy(), np.diag(d2), rtol=1e-12)
    g2 = grad(lambda s: grad(lambda v: (v.sin() * v ** 2).sum())(s).sum())
    np.testing.assert_allclose(g2(_t(X)).numpy(), d2, rtol=1e-12)


def test_no_perturbation_confusion():
    # d/dx [ d/dy (x y^2) at y = x ] = d/dx 2 x^2 = 4x: the inner level must not see the closure's x
    x = _t(1.5)
    assert grad(lambda x: grad(lambda y: x * y ** 2)(x))(x).item() == pytest.approx(6.0)


def test_results_stay_connected_to_an_outer_graph_only_through_outside_tensors():
    w = _t(2.0, requires_grad=True)
    g = grad(lambda x: w * x ** 2)(_t(3.0))          # 2 w x, a function of the outside w
    assert g.requires_grad and g.item() == 12.0
    g.backward()
    assert w.grad.item() == 6.0
    assert not grad(lambda x: (x ** 2).sum())(_t([1.0, 2.0])).requires_grad
    with mt.no_grad():   # an outer no_grad: no graph kept, the transform still differentiates
        g = grad(lambda x: w * x ** 2)(_t(3.0))
    assert not g.requires_grad and g.item() == 12.0
    x = _t([1.0, 2.0], requires_grad=True)            # an input that requires grad: differentiable through
    g = grad(lambda v: (v ** 3).sum())(x)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_pytrees_argnums_has_aux():
    params = {"w": _t([1.0, 2.0]), "b": (_t(0.5), [_t(3.0)])}
    loss = lambda p, x: (p["w"] * x).sum() * p["b"][0] + p["b"][1][0] ** 2   # noqa: E731
    g = grad(loss)(params, _t([4.0, 5.0]))
    assert tree_flatten(g)[1] == tree_flatten(params)[1]
    np.testing.assert_allclose(g["w"].numpy(), [2.0, 2.5])
    assert g["b"][0].item() == 14.0 and g["b"][1][0].item() == 6.0
    gw, gx = grad(loss, argnums=(0, 1))(params, _t([4.0, 5.0]))
    np.testing.assert_allclose(gx.numpy(), [0.5, 1.0])
    (gr, (value, aux)) = grad_and_value(lambda x: ((x ** 2).sum(), x * 2), has_aux=True)(_t([1.0, 2.0]))
    assert value.item() == 5.0 and not value.requires_grad
    np.testing.assert_allclose(aux.numpy(), [2.0, 4.0])
    assert grad(lambda x, y: (x * 2).sum(), argnums=-1)(_t(1.0), _t(2.0)).item() == 0.0   # unused: zeros


def test_tree_roundtrip_keeps_types():
    from collections import namedtuple
    P = namedtuple("P", "a b")
    tree = [P(1, {"z": 2, "a": (3,)}), 4]
    leaves, spec = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4]
    assert tree_unflatten(leaves, spec) == tree and type(tree_unflatten(leaves, spec)[0]) is P


def test_vmap_dims_and_per_example_gradients(device):
    xs = mt.arange(12.0, device=device).reshape(3, 4) / 10
    w = mt.ones(4, device=device)
    loss = lambda w, x: ((w * x).sum()) ** 2   # noqa: E731
    per = vmap(grad(loss), in_dims=(None, 0))(w, xs)
    expected = np.stack([2 * (x.sum()) * x for x in xs.numpy()])
    np.testing.assert_allclose(per.numpy(), expected, rtol=1e-6)
    out = vmap(lambda x: (x, x.sum()), in_dims=1, out_dims=(1, 0))(xs)
    np.testing.assert_allclose(out[0].numpy(), xs.numpy())
    np.testing.assert_allclose(out[1].numpy(), xs.numpy().sum(0), rtol=1e-6)
    np.testing.assert_allclose(vmap(lambda x: x * 2, out_dims=-1)(xs).numpy(), 2 * xs.numpy().T)
    nested = vmap(vmap(lambda a: a * a))(xs)   # over rows, then over elements
    np.testing.assert_allclose(nested.numpy(), xs.numpy() ** 2)
    empty = vmap(lambda x: x.sum(-1, keepdim=True))(mt.ones(0, 5, device=device))
    assert tuple(empty.shape) == (0, 1)


def test_vmap_is_differentiable_through():
    xs = _t(np.arange(6.0).reshape(3, 2), requires_grad=True)
    vmap(lambda x: (x ** 2).sum())(xs).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), 2 * xs.detach().numpy())


def test_vmap_randomness():
    xs = mt.zeros(3, 2)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda x: mt.rand(2) + x)(xs)
    mt.manual_seed(0)
    same = vmap(lambda x: mt.rand(2) + x, randomness="same")(xs).numpy()
    assert (same == same[0]).all()
    different = vmap(lambda x: mt.rand(2) + x, randomness="different")(xs).numpy()
    assert not np.allclose(different[0], different[1])
    mt.rand(1)   # the default generators are back after the error and "same" modes


def test_errors():
    with pytest.raises(RuntimeError, match="argnum=2"):
        grad(lambda x, y: x.sum(), argnums=2)(_t([1.0]), _t([1.0]))
    with pytest.raises(RuntimeError, match="scalar"):
        grad(lambda x: x ** 2)(_t([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="return a Tensor"):
        grad(lambda x: (x, x))(_t(1.0))
    with pytest.raises(RuntimeError, match="has_aux"):
        grad(lambda x: x.sum(), has_aux=True)(_t([1.0]))
    with pytest.raises(ValueError, match="must be Tensors"):
        grad(lambda x: x)(3.0)
    with pytest.raises(RuntimeError, match="floating point"):
        grad(lambda x: x.sum())(mt.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="tuple"):
        jvp(lambda x: x, _t([1.0]), (_t([1.0]),))
    with pytest.raises(RuntimeError, match="shape"):
        jvp(lambda x: x, (_t([1.0, 2.0]),), (_t([1.0]),))
    _, fn = vjp(lambda x: (x, x), _t([1.0]))
    with pytest.raises(RuntimeError, match="structure"):
        fn(_t([1.0]))
    with pytest.raises(ValueError, match="same size"):
        vmap(lambda x, y: x + y)(mt.ones(3), mt.ones(4))
    with pytest.raises(ValueError, match="in_dim"):
        vmap(lambda x: x, in_dims=1)(mt.ones(3))
    with pytest.raises(ValueError, match="None"):
        vmap(lambda x: x, in_dims=0)(5)
    with pytest.raises(ValueError, match="structure"):
        vmap(lambda x: x, in_dims=((0, 0),))((mt.ones(3),))
    with pytest.raises(IndexError, match="out of range"):
        vmap(lambda x: x, out_dims=2)(mt.ones(3, 2))
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda x: x, randomness="sometimes")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # torch.func's own use of torch.jit
def test_against_torch():
    torch = pytest.importorskip("torch")
    from torch import func as tf
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal(3)

    def f_mt(x, y):
        return (x @ y).tanh().sum() + (x ** 2).mean() * y.exp().sum()

    def f_t(x, y):
        return (x @ y).tanh().sum() + (x ** 2).mean() * y.exp().sum()
    A, B = torch.tensor(a), torch.tensor(b)
    for ours, theirs in [(grad(f_mt, argnums=(0, 1))(_t(a), _t(b)), tf.grad(f_t, argnums=(0, 1))(A, B)),
                         (hessian(f_mt, argnums=1)(_t(a), _t(b)), tf.hessian(f_t, argnums=1)(A, B)),
                         (jacrev(lambda x: (x @ _t(b)).sin())(_t(a)), tf.jacrev(lambda x: (x @ B).sin())(A))]:
        for o, t in zip(tree_flatten(ours)[0], tree_flatten(theirs)[0]):
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-14)
    per = vmap(grad(f_mt), in_dims=(0, None))(_t(np.stack([a, 2 * a])), _t(b))
    per_t = tf.vmap(tf.grad(f_t), in_dims=(0, None))(torch.tensor(np.stack([a, 2 * a])), B)
    np.testing.assert_allclose(per.numpy(), per_t.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # torch.func's own use of torch.jit
def test_per_example_gradients_of_a_module_match_torch():
    torch = pytest.importorskip("torch")
    from minitf import nn
    from minitf.func import functional_call
    rng = np.random.default_rng(2)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    xs, ys = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    model = nn.Linear(3, 2).double()
    params = {"weight": _t(w), "bias": _t(b)}

    def loss(p, x, y):
        return ((functional_call(model, p, (x,)).tanh() - y) ** 2).sum()
    ours = vmap(grad(loss), in_dims=(None, 0, 0))(params, _t(xs), _t(ys))
    tmodel = torch.nn.Linear(3, 2).double()
    tparams = {"weight": torch.tensor(w), "bias": torch.tensor(b)}

    def tloss(p, x, y):
        return ((torch.func.functional_call(tmodel, p, (x,)).tanh() - y) ** 2).sum()
    theirs = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(tparams, torch.tensor(xs), torch.tensor(ys))
    for k in ("weight", "bias"):
        assert tuple(ours[k].shape) == (4,) + params[k].shape
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-12)


def test_vmap_out_dims_none_refuses_a_batched_output(device):
    # torch raises where an output at out_dims=None depends on the batch; minitf returned example 0's
    x = mt.tensor(np.arange(12.0).reshape(3, 4), device=device)
    w = mt.tensor(np.ones(2), device=device)
    with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is None"):
        mt.vmap(lambda a: (a, a.sum()), out_dims=(0, None))(x)
    out, shared = mt.vmap(lambda a, v: (a * 2, v + 1), in_dims=(0, None), out_dims=(0, None))(x, w)
    assert out.shape == (3, 4) and shared.shape == (2,) and (shared.numpy() == 2).all()
    nan = mt.tensor(np.array([np.nan, 1.0]), device=device)   # the same value (NaN included) in every example
    assert mt.vmap(lambda a, v: v * 1, in_dims=(0, None), out_dims=None)(x, nan).shape == (2,)
