"""constraints' check() and repr against torch 2.13, and expand() against torch's log_prob of the
expanded distribution."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
C, TC = mt.distributions.constraints, torch.distributions.constraints
D, TD = mt.distributions, torch.distributions

VALUES = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.inf, np.nan, 3.0]])
CASES = [("real", ()), ("positive", ()), ("nonnegative", ()), ("unit_interval", ()), ("boolean", ()),
         ("nonnegative_integer", ()), ("positive_integer", ()), ("integer_interval", (0, 2)),
         ("greater_than", (0.5,)), ("greater_than_eq", (0.5,)), ("less_than", (1.0,)), ("interval", (0.0, 2.0)),
         ("half_open_interval", (0.0, 2.0))]


@pytest.mark.parametrize("name,args", CASES, ids=[c[0] for c in CASES])
def test_elementwise_constraints_match_torch(name, args):
    ours, theirs = getattr(C, name), getattr(TC, name)
    if args:
        ours, theirs = ours(*args), theirs(*args)
    got = ours.check(mt.tensor(VALUES)).numpy()
    assert np.array_equal(got, theirs.check(torch.tensor(VALUES)).numpy())
    assert repr(ours) == repr(theirs) and ours.is_discrete == theirs.is_discrete
    assert ours.event_dim == theirs.event_dim


def test_matrix_and_vector_constraints_match_torch():
    mats = np.stack([np.eye(2), [[1.0, 0.0], [0.5, 2.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.3], [0.0, 1.0]],
                     [[-1.0, 0.0], [0.0, 1.0]], [[2.0, 0.5], [0.5, 1.0]]])
    for name in ("lower_triangular", "lower_cholesky", "positive_definite", "positive_semidefinite", "symmetric",
                 "square"):
        got = getattr(C, name).check(mt.tensor(mats)).numpy()
        assert np.array_equal(got, getattr(TC, name).check(torch.tensor(mats)).numpy()), name
        assert getattr(C, name).event_dim == 2
    vecs = np.array([[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1], [1.0, 0.0]])
    for name in ("simplex", "one_hot", "real_vector"):
        got = getattr(C, name).check(mt.tensor(vecs)).numpy()
        assert np.array_equal(got, getattr(TC, name).check(torch.tensor(vecs)).numpy()), name
    ind = C.independent(C.positive, 1)
    assert repr(ind) == repr(TC.independent(TC.positive, 1))
    assert ind.check(mt.tensor(vecs)).tolist() == [True, True, False, False]
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="dependent"):
        C.dependent.check(mt.zeros(2))


@pytest.mark.parametrize("name,args", [("Normal", (np.zeros(3), np.ones(3))), ("Bernoulli", (np.array([0.2, 0.9]),)),
                                       ("Gamma", (np.ones((1, 2)), np.ones(2))), ("Beta", (np.ones(2), np.ones(2))),
                                       ("Categorical", (np.array([[0.2, 0.8]]),)), ("Dirichlet", (np.ones((1, 3)),))])
def test_expand_matches_torch(name, args):
    d = getattr(D, name)(*[mt.tensor(a, dtype="float64") for a in args])
    dt = getattr(TD, name)(*[torch.tensor(a) for a in args])
    shape = (4,) + tuple(dt.batch_shape)
    e, et = d.expand(shape), dt.expand(shape)
    assert e.batch_shape == tuple(et.batch_shape) and e.event_shape == tuple(et.event_shape)
    assert type(e) is type(d) and e._validate_args == d._validate_args
    v = dt.sample()
    got = e.log_prob(mt.tensor(v.numpy())).numpy()
    np.testing.assert_allclose(got, et.log_prob(v).numpy(), rtol=1e-12)
    assert e.sample((2,)).shape == (2,) + shape + tuple(et.event_shape)
