"""vmap's rules for the ops along named dims (minitf/func/batching_fns.py ``along``, and the
reductions and scans at Function.apply in minitf/func/batching.py): max / min (with a dim:
values and indices), amax / amin, argmax / argmin, the norms, std / var, logsumexp, any / all,
% / remainder / fmod, round, sort / topk, cumsum / cumprod. Each against the loop and
torch.func.vmap in float64 (in_dims and out_dims other than 0, 0-d examples, nested levels), and
their gradients against torch's per-example gradients and mt.gradcheck."""
import numpy as np
import pytest

import minitf as mt
from minitf.func import grad, vmap

from .test_vmap_batching import V, _arr, check, rng

torch = pytest.importorskip("torch")
B = 4

DIMS = {   # one example x (..., 5) at least 1-D; every dim given as a negative one or 0
    "max_min_dim": lambda M, F: lambda x: tuple(x.max(-1)) + tuple(M.min(x, 0, keepdim=True)),
    "max_min_all": lambda M, F: lambda x: (x.max(), x.min(), M.amax(x, -1), x.amin(0, keepdim=True)),
    "argmax": lambda M, F: lambda x: (x.argmax(-1), x.argmin(), M.argmax(x, 0, keepdim=True), M.argmin(x, -1)),
    "norms": lambda M, F: lambda x: (x.norm(), x.norm(dim=-1), M.linalg.vector_norm(x, 3, dim=-1), x.norm(p=1),
                                     x.norm(p=float("inf")), M.linalg.vector_norm(x, 0), x.norm(dim=0, keepdim=True)),
    "std_var": lambda M, F: lambda x: (x.std(-1), x.std(), M.var(x, 0), x.var(correction=0),
                                       x.std(0, keepdim=True)),
    "logsumexp": lambda M, F: lambda x: (M.logsumexp(x, -1), M.logsumexp(x, 0, keepdim=True)),
    "any_all": lambda M, F: lambda x: ((x > 0).any(-1), (x > 0).all(), M.any(x > 1), M.all(x > -1, 0, keepdim=True)),
    "remainder_fmod": lambda M, F: lambda x: (x % 0.7, M.remainder(x, 0.3), M.fmod(x, 0.4), 2.0 % x,
                                              M.remainder(x, x.abs() + 0.5)),
    "round": lambda M, F: lambda x: (M.round(x * 3), x.round(decimals=1), x.floor(), M.ceil(x), x.trunc()),
    "sort_topk": lambda M, F: lambda x: tuple(M.sort(x, -1)) + tuple(x.sort(0, descending=True))
    + tuple(x.topk(1, dim=-1)) + tuple(x.topk(1, 0, largest=False)) + (M.argsort(x, -1), x.argsort(0, descending=True)),
    "cumsum": lambda M, F: lambda x: (x.cumsum(-1), x.cumsum(0), M.cumprod(x, -1)),
    "integer_sums": lambda M, F: lambda x: ((x * 10).long().sum(), (x * 10).int().sum(0), (x > 0).sum()),
}


@pytest.mark.filterwarnings("ignore:.*degrees of freedom")   # (std / var of one element: NaN, both)
@pytest.mark.parametrize("name", sorted(DIMS))
def test_rules_along_dims(name, monkeypatch):
    make = DIMS[name]
    check(make, [_arr(B, 3, 5)], monkeypatch)
    check(make, [_arr(3, B, 5)], monkeypatch, in_dims=1, out_dims=-1)   # the batch after a dim, moved last
    check(make, [_arr(B)], monkeypatch)                                  # 0-d examples: dims 0 and -1
    check(make, [_arr(B, 1)], monkeypatch)


def test_rules_along_dims_under_nested_vmaps(monkeypatch):
    # the outer level's dim and the inner one's in front of the example: the dims shift past both
    def make(M, F):
        vm = vmap if M is mt else torch.func.vmap
        return lambda x: vm(lambda y: (y.max(-1).values, y.argmax(0), M.sort(y, -1).indices, y.cumsum(0),
                                       M.logsumexp(y, -1), y.std(0)), in_dims=1)(x)
    check(make, [_arr(B, 3, 2, 5)], monkeypatch)


def test_argmax_without_a_dim_keeps_the_examples_dims():
    # torch's own vmap gives (B, 1) here, where its eager argmax(keepdim=True) of each example is
    # (1, 1): minitf follows the per-example semantics (the loop's)
    xs = _arr(B, 3, 5)
    ours = vmap(lambda x: mt.argmax(x, keepdim=True))(mt.tensor(xs))
    assert V.last_fallback is None
    theirs = torch.stack([torch.argmax(x, keepdim=True) for x in torch.tensor(xs)])
    assert tuple(ours.shape) == tuple(theirs.shape) == (B, 1, 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


GRADS = {   # scalar functions of one example (3, 5)
    "max_min": lambda M: lambda x: (x.max(-1).values * x[:, 0]).sum() + (x.min(0, keepdim=True).values * x).sum()
    + x.max() * x.min(),
    "amax": lambda M: lambda x: (M.amax(x, 0) ** 2).sum() + x.amin(),
    "norms": lambda M: lambda x: x.norm() + x.norm(dim=-1).sum() + M.linalg.vector_norm(x, 3, dim=-1).sum()
    + x.norm(p=1),
    "std_var": lambda M: lambda x: x.std() + x.var(0).sum() + x.std(-1, correction=0).sum(),
    "logsumexp": lambda M: lambda x: M.logsumexp(x, -1).sum() * M.logsumexp(x, (0, 1)),
    "remainder_fmod": lambda M: lambda x: ((x % 0.7) * x + M.fmod(x, 0.4) + M.remainder(x, x[0].abs() + 0.5)).sum(),
    "sort_topk": lambda M: lambda x: (M.sort(x, -1).values * M.arange(5, dtype=M.float64)).sum()
    + (x.topk(2, 0).values ** 2).sum(),
    "cumsum": lambda M: lambda x: (x.cumsum(-1) * x).sum() + M.cumprod(x, 0).sum(),
    "rounding": lambda M: lambda x: (M.round(x * 3) * x + x.floor() * x.trunc() + M.ceil(x) * x
                                     + x.round(decimals=1) * x).sum(),   # (their own gradient is 0)
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_per_example_gradients_along_dims(name):
    xs = rng.standard_normal((B, 3, 5))
    V.last_fallback = None
    ours = vmap(grad(GRADS[name](mt)))(mt.tensor(xs))
    assert V.last_fallback is None   # batched: one backward pass of the batch
    theirs = torch.func.vmap(torch.func.grad(GRADS[name](torch)))(torch.tensor(xs))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_gradcheck_through_the_rules():
    # reverse mode through a vmapped function built of the rules, against central differences
    x = mt.tensor(_arr(B, 3, 4), dtype="float64", requires_grad=True)

    def f(x):
        return vmap(lambda e: (e.max(-1).values.sum() + mt.logsumexp(e, 0).sum() + e.std(-1).sum()
                               + mt.sort(e, -1).values[:, 1].sum() + e.norm() + e.cumsum(0).sum()
                               + (e % 0.9).sum()))(x)
    assert mt.gradcheck(f, [x])
