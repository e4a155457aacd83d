"""torch's ``cache_size`` on the transforms (minitf/distributions/transforms.py): 0 or 1; a caching
transform returns the kept tensor for the same x object (``t(x)``) or y object (``t.inv(y)``),
``with_cache`` remakes a transform (its parts too) with a cache, and ``t.inv`` is one object, as
torch 2.13's; every behaviour compared with torch's on the same calls."""
import copy

import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")

MAKERS = {   # name -> (make(transforms module, distributions module, lib, **cache), input)
    "Exp": (lambda T, D, L, **kw: T.ExpTransform(**kw), [0.5, -1.0, 2.0]),
    "Affine": (lambda T, D, L, **kw: T.AffineTransform(1.0, 2.0, **kw), [0.5, -1.0, 2.0]),
    "Sigmoid": (lambda T, D, L, **kw: T.SigmoidTransform(**kw), [0.5, -1.0, 2.0]),
    "Tanh": (lambda T, D, L, **kw: T.TanhTransform(**kw), [0.5, -1.0, 2.0]),
    "Compose": (lambda T, D, L, **kw: T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, 3.0)], **kw),
                [0.5, -1.0, 2.0]),
    "Power": (lambda T, D, L, **kw: T.PowerTransform(L.tensor(2.0), **kw), [0.5, 1.0, 2.0]),
    "Softplus": (lambda T, D, L, **kw: T.SoftplusTransform(**kw), [0.5, -1.0, 2.0]),
    "Abs": (lambda T, D, L, **kw: T.AbsTransform(**kw), [0.5, -1.0, 2.0]),
    "Independent": (lambda T, D, L, **kw: T.IndependentTransform(T.ExpTransform(), 1, **kw), [0.5, -1.0, 2.0]),
    "Reshape": (lambda T, D, L, **kw: T.ReshapeTransform((3,), (3, 1), **kw), [0.5, -1.0, 2.0]),
    "Cat": (lambda T, D, L, **kw: T.CatTransform([T.ExpTransform(), T.AffineTransform(0.0, 2.0)], 0, [1, 2], **kw),
            [0.5, -1.0, 2.0]),
    "Stack": (lambda T, D, L, **kw: T.StackTransform([T.ExpTransform(), T.ExpTransform(), T.TanhTransform()], 0,
                                                     **kw), [0.5, -1.0, 2.0]),
    "Softmax": (lambda T, D, L, **kw: T.SoftmaxTransform(**kw), [0.5, -1.0, 2.0]),
    "StickBreaking": (lambda T, D, L, **kw: T.StickBreakingTransform(**kw), [0.5, -1.0, 2.0]),
    "LowerCholesky": (lambda T, D, L, **kw: T.LowerCholeskyTransform(**kw), [[0.5, 0.1], [-1.0, 2.0]]),
    "CorrCholesky": (lambda T, D, L, **kw: T.CorrCholeskyTransform(**kw), [0.5, -1.0, 2.0]),
    "CDF": (lambda T, D, L, **kw: T.CumulativeDistributionTransform(D.Normal(0.0, 1.0), **kw), [0.5, -1.0, 2.0]),
}
LIBS = {"minitf": (mt.distributions.transforms, mt.distributions, mt),
        "torch": (torch.distributions.transforms, torch.distributions, torch)}


def _observed(lib, name, cache_size):
    """What the caching does on one library: identities of results and the cache sizes seen."""
    T, D, L = LIBS[lib]
    make, data = MAKERS[name]
    t = make(T, D, L, cache_size=cache_size)
    x = L.tensor(data, dtype=L.float64)
    y = t(x)
    seen = dict(same_y=t(x) is y, inv_of_y_is_x=t.inv(y) is x, inv_is_inv=t.inv is t.inv,
                inv_inv_is_t=t.inv.inv is t, sizes=(t._cache_size, t.inv._cache_size))
    seen["new_x_computes"] = t(x.clone()) is not y   # (one pair kept: another x replaces it)
    seen["old_x_computes"] = t(x) is not y
    seen["values"] = y.detach().numpy().tolist()
    return seen


@pytest.mark.parametrize("cache_size", [0, 1])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_caching_as_torch(name, cache_size):
    ours, theirs = _observed("minitf", name, cache_size), _observed("torch", name, cache_size)
    np.testing.assert_allclose(ours.pop("values"), theirs.pop("values"), rtol=1e-12)
    assert ours == theirs
    assert ours["inv_of_y_is_x"] == (cache_size == 1)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_with_cache_as_torch(name):
    seen = {}
    for lib, (T, D, L) in LIBS.items():
        t = MAKERS[name][0](T, D, L)
        w = t.with_cache(1)
        inner = getattr(w, "parts", None) or getattr(w, "transforms", None) or (
            [w.base_transform] if hasattr(w, "base_transform") else [])
        seen[lib] = (type(w).__name__, w._cache_size, t.with_cache(0) is t, w.with_cache(1) is w,
                     [p._cache_size for p in inner], t.inv.with_cache(1)._cache_size)
    assert seen["minitf"] == seen["torch"]
    assert seen["minitf"][1] == 1


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_errors_as_torch(lib):
    T, D, L = LIBS[lib]
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)

    class WithParameter(T.Transform):
        def __init__(self, a):
            super().__init__()
            self.a = a

    with pytest.raises(NotImplementedError, match="with_cache is not implemented"):
        WithParameter(1).with_cache(1)


def test_a_users_transform_caches_and_a_caching_one_deep_copies():
    T = mt.distributions.transforms

    class Double(T.Transform):   # (no __init__ of its own: Transform's takes cache_size, as torch's)
        bijective = True

        def _call(self, x):
            return x * 2

        def _inverse(self, y):
            return y / 2

    x = mt.tensor([1.0, 2.0])
    t = Double().with_cache(1)
    assert t.inv(t(x)) is x and Double().inv(Double()(x)) is not x
    e = T.ExpTransform(cache_size=1)
    assert e.inv is e.inv   # (a weak reference, which deepcopy drops: the copy makes its own inverse)
    c = copy.deepcopy(e)
    assert c._cache_size == 1 and c.inv.inv is c


def test_a_transformed_distribution_with_a_caching_transform_scores_its_draw_by_the_kept_x():
    D = mt.distributions
    base = D.Normal(mt.tensor([0.0, 1.0], dtype=mt.float64), mt.tensor([1.0, 2.0], dtype=mt.float64))
    d = D.TransformedDistribution(base, [D.transforms.ExpTransform(cache_size=1)])
    y = d.rsample()
    x = d.transforms[0].inv(y)
    assert x is d.transforms[0]._cached_x_y[0]
    np.testing.assert_allclose(d.log_prob(y).detach().numpy(), (base.log_prob(x) - x).detach().numpy(), rtol=1e-12)
