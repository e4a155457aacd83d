"""mt.distributions against torch.distributions 2.13 (float64): log_prob, cdf, icdf, entropy and
the moments on a grid of broadcast batch shapes, number parameters and edge values, with the
gradients of all of them with respect to every parameter; mt.gradcheck of the densities."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")
D = mt.distributions
TD = torch.distributions

rng = np.random.default_rng(0)
POS = lambda *s: rng.uniform(0.5, 2.5, s)            # noqa: E731  (positive parameters)
REAL = lambda *s: rng.standard_normal(s)             # noqa: E731
PROB = lambda *s: rng.uniform(0.1, 0.9, s)           # noqa: E731


def _simplex(*s):
    p = rng.uniform(0.1, 1, s)
    return p / p.sum(-1, keepdims=True)


# (id, class, params (arrays or numbers), value, methods compared)
CONT = ["log_prob", "cdf", "entropy", "mean", "variance", "stddev", "mode"]
SPECS = [
    ("normal", "Normal", dict(loc=REAL(3), scale=POS(3)), REAL(3), CONT + ["icdf"]),
    ("normal-bcast", "Normal", dict(loc=REAL(2, 1), scale=POS(3)), REAL(4, 2, 3), CONT + ["icdf"]),
    ("normal-numbers", "Normal", dict(loc=0.5, scale=2.0), REAL(5), CONT),
    ("uniform", "Uniform", dict(low=REAL(3) - 2, high=POS(3) + 1), rng.uniform(-1, 1, (3,)),
     ["log_prob", "cdf", "entropy", "mean", "variance", "stddev", "icdf"]),
    ("uniform-outside", "Uniform", dict(low=np.zeros(3), high=np.ones(3)), np.array([0.0, 0.5, 0.99]),
     ["log_prob", "cdf"]),
    ("exponential", "Exponential", dict(rate=POS(2, 3)), POS(2, 3), CONT + ["icdf"]),
    ("exponential-zero", "Exponential", dict(rate=POS(3)), np.array([0.0, 1.0, 3.0]), ["log_prob", "cdf"]),
    ("laplace", "Laplace", dict(loc=REAL(3), scale=POS(3)), REAL(3), CONT + ["icdf"]),
    ("cauchy", "Cauchy", dict(loc=REAL(3), scale=POS(3)), REAL(3), ["log_prob", "cdf", "entropy", "mode", "icdf"]),
    ("gumbel", "Gumbel", dict(loc=REAL(3), scale=POS(3)), REAL(3), CONT + ["icdf"]),
    ("gamma", "Gamma", dict(concentration=POS(2, 3), rate=POS(3)), POS(2, 3), ["log_prob", "entropy", "mean",
                                                                               "variance", "mode"]),
    ("gamma-small", "Gamma", dict(concentration=np.array([0.3, 1.0, 4.0]), rate=POS(3)), POS(3),
     ["log_prob", "entropy", "mode"]),
    ("beta", "Beta", dict(concentration1=POS(3), concentration0=POS(2, 1)), PROB(2, 3),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("dirichlet", "Dirichlet", dict(concentration=POS(2, 4)), _simplex(2, 4),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("dirichlet-below1", "Dirichlet", dict(concentration=np.array([0.3, 0.5, 0.7])), _simplex(3), ["mode"]),
    ("studentt", "StudentT", dict(df=np.array([0.8, 1.5, 3.0, 7.0]), loc=REAL(4), scale=POS(4)), REAL(4),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("lognormal", "LogNormal", dict(loc=REAL(3), scale=POS(3)), POS(3), CONT + ["icdf"]),
    ("bernoulli-probs", "Bernoulli", dict(probs=np.array([0.1, 0.5, 0.9])), np.array([1.0, 0.0, 1.0]),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("bernoulli-logits", "Bernoulli", dict(logits=REAL(2, 3)), np.array([1.0, 0.0, 1.0]),
     ["log_prob", "entropy", "mean", "variance"]),
    ("geometric", "Geometric", dict(probs=PROB(3)), np.array([0.0, 2.0, 5.0]),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("geometric-one", "Geometric", dict(probs=np.array([1.0, 0.5])), np.array([0.0, 0.0]), ["log_prob"]),
    ("geometric-logits", "Geometric", dict(logits=REAL(3)), np.array([0.0, 1.0, 4.0]), ["log_prob", "entropy"]),
    ("poisson", "Poisson", dict(rate=POS(3)), np.array([0.0, 1.0, 4.0]), ["log_prob", "mean", "variance", "mode"]),
    ("binomial", "Binomial", dict(total_count=np.array([5.0, 5.0, 5.0]), probs=PROB(3)), np.array([0.0, 2.0, 5.0]),
     ["log_prob", "entropy", "mean", "variance", "mode"]),
    ("binomial-logits", "Binomial", dict(total_count=np.array([3.0, 6.0]), logits=np.array([0.0, -1.5])),
     np.array([1.0, 6.0]), ["log_prob", "mean", "variance"]),
    ("categorical-probs", "Categorical", dict(probs=rng.uniform(0.1, 1, (2, 4))), np.array([[0, 3], [1, 2]]),
     ["log_prob", "entropy", "mode"]),
    ("categorical-logits", "Categorical", dict(logits=REAL(3, 5)), np.array([4, 0, 2]), ["log_prob", "entropy"]),
    ("categorical-zero", "Categorical", dict(probs=np.array([0.0, 0.3, 0.7])), np.array([1, 2]),
     ["log_prob", "entropy"]),
    ("onehot", "OneHotCategorical", dict(logits=REAL(2, 3)), np.eye(3)[[0, 2]], ["log_prob", "entropy", "mean",
                                                                                 "variance", "mode"]),
    ("mvn-cov", "MultivariateNormal", dict(loc=REAL(2, 3), covariance_matrix="spd"), REAL(4, 2, 3),
     ["log_prob", "entropy", "mean", "variance"]),
    ("mvn-tril", "MultivariateNormal", dict(loc=REAL(3), scale_tril="tril"), REAL(2, 3),
     ["log_prob", "entropy", "variance"]),
    ("mvn-prec", "MultivariateNormal", dict(loc=REAL(3), precision_matrix="spd"), REAL(3),
     ["log_prob", "entropy", "variance"]),
]
_A = rng.standard_normal((2, 3, 3))
SPD = _A @ _A.transpose(0, 2, 1) + 3 * np.eye(3)
TRIL = np.tril(rng.standard_normal((3, 3)), -1) + np.diag(POS(3))


def _param(v):
    return SPD if isinstance(v, str) and v == "spd" else TRIL if isinstance(v, str) else v


def build(lib, name, params):
    """lib's distribution ``name`` from numpy params (float64 tensors that require grad) -> (dist, tensors)."""
    tensors = {}
    for k, v in params.items():
        v = _param(v)
        if isinstance(v, float):
            tensors[k] = v
        elif lib is TD:
            tensors[k] = torch.tensor(v, requires_grad=True)
        else:
            tensors[k] = mt.tensor(v, dtype="float64", requires_grad=True)
    cls = getattr(lib, name)
    return cls(**tensors), tensors


def _value(lib, v, name):
    v = np.asarray(v)
    if lib is TD:
        return torch.tensor(v) if v.dtype.kind == "f" else torch.tensor(v, dtype=torch.int64)
    return mt.tensor(v, dtype="float64") if v.dtype.kind == "f" else mt.tensor(v)


def _call(dist, method, value):
    if method in ("log_prob", "cdf"):
        return getattr(dist, method)(value)
    if method == "icdf":
        return dist.icdf(value)
    if method == "entropy":
        return dist.entropy()
    return getattr(dist, method)


def _icdf_value(lib):
    q = np.array([0.1, 0.5, 0.8])
    return torch.tensor(q) if lib is TD else mt.tensor(q, dtype="float64")


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_against_torch_values_and_gradients(spec):
    _, name, params, value, methods = spec
    for method in methods:
        d, ps = build(D, name, params)
        dt, pts = build(TD, name, params)
        v = _icdf_value(D) if method == "icdf" else _value(D, value, name)
        vt = _icdf_value(TD) if method == "icdf" else _value(TD, value, name)
        if method == "icdf" and name in ("Normal", "Laplace", "Exponential", "Cauchy", "LogNormal", "Gumbel"):
            shape = d.batch_shape
            q = np.broadcast_to(np.array([0.1, 0.5, 0.8])[:shape[-1]] if shape else 0.3, shape).copy()
            v, vt = mt.tensor(q, dtype="float64"), torch.tensor(q)
        compare_with_torch(_call(d, method, v), _call(dt, method, vt), ps, pts, method)


def compare_with_torch(y, yt, ps, pts, method, defined_only=False):
    """y against torch's yt (values), then the gradients of <cotangent, y> in every tensor of ps
    against pts' (a cotangent of 0 where torch's value is not finite). ``defined_only``: compare a
    gradient shaped like y only where torch's value is finite."""
    assert y.shape == tuple(yt.shape), method
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=method)
    if not yt.requires_grad or y.dtype.kind != "f":
        return
    finite = np.isfinite(yt.detach().numpy())
    cot = np.where(finite, np.random.default_rng(1).standard_normal(y.shape), 0.0)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    for k in (k for k in ps if not isinstance(ps[k], (int, float))):
        g, gt = ps[k].grad, pts[k].grad
        if gt is None:
            assert g is None or np.all(g.numpy() == 0), (method, k)
            continue
        g, gt = g.numpy(), gt.numpy()
        if defined_only and g.shape == y.shape:
            g, gt = g[finite], gt[finite]
        np.testing.assert_allclose(g, gt, rtol=1e-8, atol=1e-10, err_msg=f"{method} d/d{k}")


@pytest.mark.parametrize("spec", [s for s in SPECS if "log_prob" in s[4] and not s[0].startswith(
    ("geometric-one", "uniform-outside", "exponential-zero", "categorical-zero"))], ids=lambda s: s[0])
def test_gradcheck_log_prob_and_entropy(spec):
    _, name, params, value, methods = spec
    names = [k for k, v in params.items() if not isinstance(v, float) and not (name == "Binomial" and k == "total_count")]
    if not names:
        pytest.skip("number parameters only")
    inputs = [mt.tensor(_param(params[k]), dtype="float64", requires_grad=True) for k in names]
    fixed = {k: (mt.tensor(_param(v), dtype="float64") if not isinstance(v, float) else v)
             for k, v in params.items() if k not in names}
    v = _value(D, value, name)

    def fn(*xs):
        # a covariance or precision matrix is read as symmetric: perturb its two triangles together
        xs = [(x + x.mT) / 2 if k in ("covariance_matrix", "precision_matrix") else x for k, x in zip(names, xs)]
        d = getattr(D, name)(**dict(zip(names, xs)), **fixed, validate_args=False)
        out = d.log_prob(v).sum()
        return out + d.entropy().sum() if "entropy" in methods else out
    assert mt.gradcheck(fn, inputs)


def test_validation_errors_are_torchs_value_errors():
    loc = mt.tensor([0.0, 1.0])
    with pytest.raises(mt.errors.ConstraintError, match=r"Expected parameter scale \(Tensor of shape \(2,\)\) of "
                       r"distribution Normal\(loc: \(2,\), scale: \(2,\)\) to satisfy the constraint "
                       r"GreaterThan\(lower_bound=0.0\), but found invalid values"):
        D.Normal(loc, mt.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="to be within the support"):
        D.Exponential(mt.tensor([1.0])).log_prob(mt.tensor([-1.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Bernoulli(probs=mt.tensor(0.3), logits=mt.tensor(0.1))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        D.Dirichlet(mt.ones(3)).log_prob(mt.ones(4) / 4)
    with pytest.raises(ValueError, match="Value is not broadcastable with batch_shape"):
        D.Normal(mt.zeros(3), 1.0).log_prob(mt.zeros(4))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        D.Normal(0.0, 1.0).log_prob(0.5)
    with pytest.raises(ValueError, match=r"the constraint IndependentConstraint\(GreaterThan\(lower_bound=0.0\), 1\)"):
        D.Dirichlet(mt.tensor([0.5, -0.6]))
    with pytest.raises(ValueError, match="OneHot"):
        D.OneHotCategorical(logits=mt.zeros(3)).log_prob(mt.tensor([1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="PositiveDefinite"):
        D.MultivariateNormal(mt.zeros(2), covariance_matrix=mt.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="LessThan"):
        D.Uniform(mt.tensor(1.0), mt.tensor(0.0))
    with pytest.raises(ValueError, match="to be positive"):
        D.Geometric(probs=mt.tensor([0.0, 0.5]))
    # validate_args=False skips the checks (torch's escape hatch), and the default can be switched
    D.Normal(loc, mt.tensor([1.0, -1.0]), validate_args=False)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(loc, mt.tensor([1.0, -1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)


def test_torch_raises_the_same_errors():
    # the cases above are ValueErrors in torch too (the messages match up to torch.Size's repr)
    with pytest.raises(ValueError, match="to satisfy the constraint GreaterThan"):
        TD.Normal(torch.zeros(2), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="to be within the support"):
        TD.Exponential(torch.tensor([1.0])).log_prob(torch.tensor([-1.0]))


def test_shapes_expand_and_support():
    d = D.Normal(mt.zeros(2, 1), mt.ones(3))
    assert d.batch_shape == (2, 3) and d.event_shape == () and d.sample((4, 5)).shape == (4, 5, 2, 3)
    e = d.expand((6, 2, 3))
    assert e.batch_shape == (6, 2, 3) and e.log_prob(mt.zeros(())).shape == (6, 2, 3)
    c = D.Categorical(logits=mt.zeros(2, 5))
    assert c.sample((7,)).shape == (7, 2) and c.sample().dtype == np.int64
    assert repr(c.support) == "IntegerInterval(lower_bound=0, upper_bound=4)"
    assert c.expand((3, 2)).batch_shape == (3, 2)
    mvn = D.MultivariateNormal(mt.zeros(3), scale_tril=mt.eye(3))
    assert mvn.event_shape == (3,) and mvn.rsample((2, 4)).shape == (2, 4, 3)
    assert mvn.expand((5,)).log_prob(mt.zeros(3)).shape == (5,)
    ind = D.Independent(D.Normal(mt.zeros(4, 3), mt.ones(4, 3)), 1)
    assert ind.batch_shape == (4,) and ind.event_shape == (3,) and ind.log_prob(mt.zeros(3)).shape == (4,)
    assert D.Dirichlet(mt.ones(2, 3)).sample((5,)).shape == (5, 2, 3)
    assert D.OneHotCategorical(logits=mt.zeros(3)).sample((4,)).shape == (4, 3)
    assert D.Normal(0.0, 1.0).batch_shape == () and D.Beta(2.0, 3.0).sample((3,)).shape == (3,)
    assert D.Bernoulli(probs=mt.tensor([0.2, 0.7])).enumerate_support().shape == (2, 2)
    for dist, expected in [(D.Normal, "Real()"), (D.Exponential, "GreaterThanEq(lower_bound=0.0)")]:
        assert repr(dist.support) == expected == repr(getattr(TD, dist.__name__).support)


def test_rsample_is_differentiable_and_sample_is_not():
    loc, scale = mt.tensor([0.5, -1.0], dtype="float64", requires_grad=True), mt.tensor([2.0, 0.5], dtype="float64",
                                                                                       requires_grad=True)
    for cls in (D.Normal, D.Laplace, D.Cauchy, D.Gumbel, D.LogNormal):
        mt.manual_seed(3)
        x = cls(loc, scale).rsample((4,))
        assert x.requires_grad and not cls(loc, scale).sample((4,)).requires_grad
        mt.manual_seed(3)
        # the draw is loc + scale * noise (or a monotone map of it): d x / d loc and d x / d scale exist
        g = mt.autograd.grad(x.sum(), [loc, scale])
        assert all(np.all(np.isfinite(t.numpy())) for t in g)
    # reparameterisation: a fixed seed makes rsample a deterministic function of the parameters
    for cls, args in [(D.Normal, 2), (D.Laplace, 2), (D.Gumbel, 2), (D.Cauchy, 2), (D.Uniform, 2),
                      (D.Exponential, 1), (D.LogNormal, 2)]:
        low = mt.tensor([0.3, 0.6], dtype="float64", requires_grad=True)
        high = mt.tensor([1.5, 2.0], dtype="float64", requires_grad=True)
        params = [low, high][:args]

        def fn(*ps):
            mt.manual_seed(11)
            return cls(*ps).rsample((3,))
        assert mt.gradcheck(fn, params), cls.__name__
    mvn_loc = mt.tensor([0.1, 0.2], dtype="float64", requires_grad=True)
    tril = mt.tensor([[1.0, 0.0], [0.4, 0.7]], dtype="float64", requires_grad=True)

    def mvn(loc, L):
        mt.manual_seed(5)
        return D.MultivariateNormal(loc, scale_tril=L, validate_args=False).rsample((3,))
    assert mt.gradcheck(mvn, [mvn_loc, tril])
    for cls in (D.Bernoulli, D.Categorical, D.Poisson, D.Binomial, D.Geometric, D.OneHotCategorical):
        assert cls.has_rsample is False   # (discrete: no reparameterisation, as torch)


def test_manual_seed_makes_draws_reproducible():
    d = D.Gamma(mt.tensor([0.5, 3.0]), mt.tensor([1.0, 2.0]))
    mt.manual_seed(7)
    a = d.sample((5,)).numpy()
    mt.manual_seed(7)
    assert np.array_equal(a, d.sample((5,)).numpy())


def test_gamma_cdf_against_torch_and_its_concentration_gradient_raises_as_torchs():
    a, r, x = np.array([0.5, 2.0, 7.0]), np.array([1.0, 0.5, 3.0]), np.array([0.3, 4.0, 2.0])
    rate = mt.tensor(r, dtype="float64", requires_grad=True)
    ratet = torch.tensor(r, requires_grad=True)
    y = D.Gamma(mt.tensor(a, dtype="float64"), rate).cdf(mt.tensor(x, dtype="float64"))
    yt = TD.Gamma(torch.tensor(a), ratet).cdf(torch.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-9)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), ratet.grad.numpy(), rtol=1e-9)
    conc = mt.tensor(a, dtype="float64", requires_grad=True)
    with pytest.raises(NotImplementedError):
        D.Gamma(conc, 1.0).cdf(mt.tensor(x, dtype="float64")).sum().backward()


def test_dirichlet_and_beta_mode_where_no_concentration_exceeds_one(device):
    # every concentration <= 1 with one equal to 1: torch's mode is 0/0 = NaN; minitf answered 0
    # (a point off the simplex); all < 1 is the first vertex, as torch's
    a = mt.tensor([[1.0, 0.5, 1.0], [0.5, 0.5, 0.5], [2.0, 0.5, 3.0]], dtype="float64", device=device,
                  requires_grad=True)
    mode = D.Dirichlet(a).mode
    assert np.isnan(mode.numpy()[0]).all()
    np.testing.assert_allclose(mode.numpy()[1:], [[1.0, 0.0, 0.0], [1 / 3, 0.0, 2 / 3]])
    mode.nan_to_num(0.0).sum().backward()
    assert np.isfinite(a.grad.numpy()).all()
    b = D.Beta(mt.tensor([1.0, 0.5, 2.0], device=device), mt.tensor([1.0, 0.5, 0.5], device=device)).mode.numpy()
    assert np.isnan(b[0]) and b[1:].tolist() == [1.0, 1.0]
