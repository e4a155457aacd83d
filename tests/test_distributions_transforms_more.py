"""The elementwise, simplex, matrix and structural transforms and biject_to / transform_to against
torch 2.13 in float64: forward, inverse, log|det J|, shapes, domains; mt.gradcheck of the forward
map and of the log-Jacobian."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D, TD = mt.distributions, torch.distributions
C, TC = D.constraints, TD.constraints

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3))


def _tr(lib):
    T = D.transforms if lib is D else TD.transforms
    f64 = (lambda v: mt.tensor(v, dtype="float64")) if lib is D else (lambda v: torch.tensor(v, dtype=torch.float64))
    return {
        "abs": (T.AbsTransform(), X),
        "power": (T.PowerTransform(f64([0.5, 2.0, 3.0])), np.abs(X) + 0.1),
        "power-number": (T.PowerTransform(2.5), np.abs(X) + 0.1),
        "softplus": (T.SoftplusTransform(), 10 * X),
        "cdf": (T.CumulativeDistributionTransform(lib.Normal(f64(0.3), 2.0)), X),
        "softmax": (T.SoftmaxTransform(), X),
        "stick": (T.StickBreakingTransform(), X),
        "lowerchol": (T.LowerCholeskyTransform(), rng.standard_normal((2, 3, 3))),
        "pd": (T.PositiveDefiniteTransform(), rng.standard_normal((2, 3, 3))),
        "corr": (T.CorrCholeskyTransform(), rng.standard_normal((2, 6))),
        "reshape": (T.ReshapeTransform((2, 3), (6,)), rng.standard_normal((4, 2, 3))),
        "indep": (T.IndependentTransform(T.ExpTransform(), 1), X),
        "cat": (T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], 1, [1, 2]), X),
        "cat-batch": (T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], 0), X),
        "stack": (T.StackTransform([T.ExpTransform(), T.SigmoidTransform(), T.AffineTransform(1.0, 3.0)], 1), X),
    }


NAMES = list(_tr(D))
OURS, THEIRS = _tr(D), _tr(TD)


@pytest.mark.parametrize("name", NAMES)
def test_transform_against_torch(name):
    (t, x), (tt, _) = OURS[name], THEIRS[name]
    xm, xt = mt.tensor(x, dtype="float64"), torch.tensor(x)
    y, yt = t(xm), tt(xt)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-10, atol=1e-13)
    assert tuple(t.forward_shape(tuple(xm.shape))) == tuple(tt.forward_shape(xt.shape)) == tuple(y.shape)
    assert tuple(t.inverse_shape(tuple(y.shape))) == tuple(tt.inverse_shape(yt.shape))
    np.testing.assert_allclose(t.inv(y).numpy(), tt.inv(yt).numpy(), rtol=1e-9, atol=1e-12)
    assert t.bijective == tt.bijective and repr(t.domain) == repr(tt.domain)
    assert repr(t.codomain) == repr(tt.codomain) and t.domain.event_dim == tt.domain.event_dim
    assert t.codomain.event_dim == tt.codomain.event_dim
    assert bool(t.codomain.check(y).all()) and bool(tt.codomain.check(yt).all())
    if t.bijective:
        np.testing.assert_allclose(t.log_abs_det_jacobian(xm, y).numpy(), tt.log_abs_det_jacobian(xt, yt).numpy(),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("abs", "lowerchol")])
def test_transform_gradcheck(name):
    # the map and (for the bijections) its log-Jacobian, differentiated in x; AbsTransform's kink
    # at 0 and LowerCholeskyTransform's dropped triangle are plain (sub)gradients, checked by value above
    t, x = OURS[name]

    def fn(v):
        y = t(v)
        return (y, t.log_abs_det_jacobian(v, y)) if t.bijective else y
    assert mt.gradcheck(fn, [mt.tensor(x, dtype="float64", requires_grad=True)])


def test_inverse_round_trips_and_jacobian_by_autograd():
    # StickBreaking and CorrCholesky are bijections: inv(t(x)) = x, and their log|det J| is the
    # log-determinant of the Jacobian autograd computes (over the free coordinates)
    for t, x in [(D.StickBreakingTransform(), rng.standard_normal(4)), (D.CorrCholeskyTransform(), rng.standard_normal(6))]:
        xm = mt.tensor(x, dtype="float64")
        y = t(xm)
        np.testing.assert_allclose(t.inv(y).numpy(), x, rtol=1e-9, atol=1e-12)
        if isinstance(t, D.StickBreakingTransform):
            free = lambda v: t(v)[:-1]                                            # noqa: E731
        else:
            free = lambda v: D.transforms_matrix.tril_matrix_to_vec(t(v), -1)   # noqa: E731
        J = mt.autograd.functional.jacobian(free, xm).numpy()
        np.testing.assert_allclose(t.log_abs_det_jacobian(xm, y).item(), np.linalg.slogdet(J)[1], rtol=1e-10)


def test_structural_errors_and_equality():
    with pytest.raises(ValueError, match="different numbers of elements"):
        D.ReshapeTransform((2, 3), (5,))
    with pytest.raises(ValueError, match="Shape mismatch"):
        D.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2))
    with pytest.raises(ValueError, match="Expected size 3 at dim 1"):
        D.CatTransform([D.ExpTransform()] * 3, 1)(mt.zeros(2, 4))
    assert D.PowerTransform(2.0) == D.PowerTransform(2.0) and D.PowerTransform(2.0) != D.PowerTransform(3.0)
    assert D.SoftplusTransform() == D.SoftplusTransform() and D.AbsTransform() != D.ExpTransform()
    assert D.transforms.identity_transform(mt.tensor([1.5])).item() == 1.5
    assert D.transforms.StackTransform is D.StackTransform   # the lazily read names are the package's


CONSTRAINTS = [("real", ()), ("positive", ()), ("nonnegative", ()), ("greater_than", (1.0,)),
               ("greater_than_eq", (-2.0,)), ("less_than", (2.0,)), ("unit_interval", ()), ("interval", (-1.0, 3.0)),
               ("half_open_interval", (0.0, 1.0)), ("simplex", ()), ("corr_cholesky", ()), ("real_vector", ()),
               ("lower_cholesky", ()), ("positive_definite", ()), ("positive_semidefinite", ())]


def _get(mod, name, args):
    c = getattr(mod, name)
    return c(*args) if args else c


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name,args", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_constraint_registries_against_torch(registry, name, args):
    c, ct = _get(C, name, args), _get(TC, name, args)
    try:
        tt = getattr(TD, registry)(ct)
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match=f"Cannot transform {type(c).__name__} constraints"):
            getattr(D, registry)(c)
        return
    t = getattr(D, registry)(c)
    assert type(t).__name__ == type(tt).__name__
    assert [type(p).__name__ for p in getattr(t, "parts", [])] == [type(p).__name__ for p in getattr(tt, "parts", [])]
    shape = (2, 6) if name == "corr_cholesky" else (2, 3, 3) if name.startswith(("lower", "positive_")) else (2, 3)
    x = rng.standard_normal(shape)
    y, yt = t(mt.tensor(x, dtype="float64")), tt(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-10, atol=1e-12)
    assert bool(c.check(y).all())


def test_registry_register_cat_stack_and_errors():
    reg = D.constraint_registry.ConstraintRegistry()
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
        reg.register(3, lambda c: None)
    reg.register(C.positive)(lambda c: D.ExpTransform())
    assert isinstance(reg(C.positive), D.ExpTransform)
    with pytest.raises(NotImplementedError, match="Cannot transform _Simplex constraints"):
        reg(C.simplex)
    cat, catt = C.cat([C.real, C.positive], 1, [1, 2]), TC.cat([TC.real, TC.positive], 1, [1, 2])
    stk, stkt = C.stack([C.real, C.unit_interval, C.positive], 1), TC.stack([TC.real, TC.unit_interval, TC.positive], 1)
    for c, ct in ((cat, catt), (stk, stkt)):
        t, tt = D.biject_to(c), TD.biject_to(ct)
        y, yt = t(mt.tensor(X)), tt(torch.tensor(X))
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-10)
        assert c.event_dim == ct.event_dim and bool(c.check(y).all())
        v = np.array([[-1.0, 0.5, 2.0], [1.0, -0.5, 0.3]])
        assert np.array_equal(c.check(mt.tensor(v)).numpy(), ct.check(torch.tensor(v)).numpy())
    m, mt_ = C.multinomial(3), TC.multinomial(3)
    v = np.array([[1.0, 2.0], [3.0, 1.0], [-1.0, 1.0]])
    assert np.array_equal(m.check(mt.tensor(v)).numpy(), mt_.check(torch.tensor(v)).numpy())
    L = D.CorrCholeskyTransform()(mt.tensor(rng.standard_normal(3), dtype="float64"))
    assert bool(C.corr_cholesky.check(L)) and not bool(C.corr_cholesky.check(2 * L))
