"""The fused products (addmm, addmv, addr, baddbmm, addbmm, kron) and the distances (cdist,
pdist) of minitf/ops/products.py and distance.py: values and gradients against torch 2.13,
torch's beta = 0 / alpha = 0 and compute_mode semantics, float64 gradchecks on every device,
and torch's errors."""
import math

import numpy as np
import pytest

import minitf as mt

from .torch_compare import compare_with_torch

rng = np.random.default_rng(0)


def _r(*shape):
    return rng.standard_normal(shape)


PRODUCTS = [  # (name, input shapes, keywords)
    ("addmm", [(3,), (2, 4), (4, 3)], dict(beta=0.5, alpha=2)),
    ("addmm", [(2, 3), (2, 4), (4, 3)], {}),
    ("addmm", [(1, 1), (1, 1), (1, 1)], dict(alpha=-1)),
    ("addmm", [(2, 3), (2, 0), (0, 3)], {}),
    ("addmv", [(2,), (2, 4), (4,)], dict(beta=2)),
    ("addmv", [(), (3, 2), (2,)], dict(alpha=0.25)),
    ("addr", [(1, 3), (2,), (3,)], dict(alpha=-1)),
    ("baddbmm", [(2, 1, 3), (2, 2, 4), (2, 4, 3)], dict(beta=0.3, alpha=0.7)),
    ("baddbmm", [(3,), (1, 2, 4), (1, 4, 3)], {}),
    ("addbmm", [(3,), (2, 2, 4), (2, 4, 3)], dict(beta=1.5)),
    ("addbmm", [(2, 3), (0, 2, 4), (0, 4, 3)], {}),
]


@pytest.mark.parametrize("case", range(len(PRODUCTS)))
def test_products_as_torch(case):
    torch = pytest.importorskip("torch")
    name, shapes, kw = PRODUCTS[case]
    compare_with_torch(lambda *t: getattr(mt, name)(*t, **kw), lambda *t: getattr(torch, name)(*t, **kw),
                       [_r(*s) for s in shapes], rtol=1e-12, atol=1e-13)
    # the Tensor method, on a non-contiguous (transposed) input where the shapes allow it
    a = [mt.tensor(_r(*s)) for s in shapes]
    assert getattr(a[0], name)(*a[1:], **kw).shape == getattr(mt, name)(*a, **kw).shape


@pytest.mark.parametrize("name", ["addmm", "baddbmm"])
def test_beta_zero_ignores_nan_input_and_alpha_zero_the_product(name):
    torch = pytest.importorskip("torch")
    shapes = {"addmm": [(2, 3), (2, 4), (4, 3)], "baddbmm": [(2, 2, 3), (2, 2, 4), (2, 4, 3)]}[name]
    arrays = [_r(*s) for s in shapes]
    arrays[0][0] = np.nan
    y = compare_with_torch(lambda *t: getattr(mt, name)(*t, beta=0), lambda *t: getattr(torch, name)(*t, beta=0),
                           arrays, rtol=1e-12, atol=1e-13)
    assert np.isfinite(y.numpy()).all()
    arrays = [_r(*s) for s in shapes]
    arrays[1][..., 0, 0] = np.inf       # alpha = 0: addmm drops it (BLAS), baddbmm gives NaN, as torch
    # (torch's baddbmm then gives batch2 the gradient inf * 0 = NaN, its addmm a finite one; minitf's
    # product factors get 0 from both: only the input's gradient is compared for baddbmm)
    y = compare_with_torch(lambda *t: getattr(mt, name)(*t, alpha=0, beta=2),
                           lambda *t: getattr(torch, name)(*t, alpha=0, beta=2), arrays,
                           grad=[0, 1, 2] if name == "addmm" else [0])
    assert np.isfinite(y.numpy()).all() == (name == "addmm")


def test_integer_products_as_torch():
    torch = pytest.importorskip("torch")
    a, b, c = ([[1, 2], [3, 4]], [[5, 6], [7, 8]], [1, -1])
    for kw in ({}, dict(beta=2, alpha=3), dict(alpha=0.5), dict(beta=0.5)):   # float scalars cast to int, as torch
        ours = mt.addmm(mt.tensor(c), mt.tensor(a), mt.tensor(b), **kw)
        theirs = torch.addmm(torch.tensor(c), torch.tensor(a), torch.tensor(b), **kw)
        assert ours.tolist() == theirs.tolist() and ours.dtype == mt.int64
    for x, y in (([1, 2], [[1.5, 2.0]]), ([[1, 2], [3, 4]], [[0, 1], [1, 0]]), (2.0, [1.0, 2.0])):
        ours, theirs = mt.kron(mt.tensor(x), mt.tensor(y)), torch.kron(torch.tensor(x), torch.tensor(y))
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


@pytest.mark.parametrize("shapes", [[(2, 3), (3, 1, 2)], [(2,), (3,)], [(1, 2, 2), (2, 2)], [(0, 2), (2, 3)]])
def test_kron_as_torch(shapes):
    torch = pytest.importorskip("torch")
    compare_with_torch(mt.kron, torch.kron, [_r(*s) for s in shapes])


def test_product_errors_as_torch():
    m = mt.ones(2, 3)
    with pytest.raises(mt.errors.ShapeError, match="cannot be multiplied"):
        mt.addmm(mt.ones(3), m, mt.ones(4, 3))
    with pytest.raises(mt.errors.ShapeError, match="matrix"):
        mt.addmm(mt.ones(3), mt.ones(3), mt.ones(3, 3))
    with pytest.raises(mt.errors.ShapeError, match="does not broadcast"):
        mt.addmm(mt.ones(3, 3), m, mt.ones(3, 3))
    with pytest.raises(mt.errors.DtypeError, match="same dtype"):
        mt.addmm(mt.ones(3), m, mt.ones(3, 3, dtype=mt.float64))
    with pytest.raises(mt.errors.ShapeError, match="size mismatch"):
        mt.addmv(mt.ones(2), m, mt.ones(4))
    with pytest.raises(mt.errors.ShapeError, match="vector"):
        mt.addr(m, mt.ones(2, 1), mt.ones(3))
    with pytest.raises(mt.errors.ShapeError, match="cannot be multiplied"):
        mt.baddbmm(mt.ones(3), mt.ones(2, 2, 3), mt.ones(3, 3, 3))
    with pytest.raises(TypeError, match="alpha"):
        mt.addmm(mt.ones(3), m, mt.ones(3, 3), alpha=mt.ones(1))


X1 = [[0.3, -0.6, 0.45], [-0.2, 0.75, 0.55]]
X2 = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.4], [-0.7, 0.3, 0.07]]   # no |difference| ties (p = inf)


@pytest.mark.parametrize("name", ["addmm", "addmv", "addr", "baddbmm", "addbmm", "kron"])
def test_product_gradchecks(name, device):
    a = mt.tensor(X1, dtype=mt.float64, device=device, requires_grad=True)
    b = mt.tensor(X2, dtype=mt.float64, device=device, requires_grad=True)
    calls = {"addmm": lambda a, b: mt.addmm(a[0], a, b, beta=0.5, alpha=-2),
             "addmv": lambda a, b: mt.addmv(a[:, 0], a, b[0], beta=2),
             "addr": lambda a, b: a.addr(a[:, 1], b[1], alpha=3),
             "baddbmm": lambda a, b: mt.baddbmm(a, mt.stack([a, a * 2]), mt.stack([b, b.t()]), beta=0),
             "addbmm": lambda a, b: mt.addbmm(a, mt.stack([a, a * 2]), mt.stack([b, b.t()])),
             "kron": mt.kron}
    assert mt.gradcheck(calls[name], [a, b]) and mt.gradgradcheck(calls[name], [a, b])


P_VALUES = [0, 0.5, 1, 1.5, 2, 3, math.inf]


def _cloud(with_ties=True):
    a, b = _r(2, 4, 3), _r(5, 3)
    if with_ties:
        b[0] = a[0, 1]               # a zero distance
        b[1, 0] = a[1, 2, 0]         # a zero coordinate difference
        b[2, 1] = a[0, 0, 1] + 1.0   # (and an |difference| tie for p = inf below)
        b[2, 2] = a[0, 0, 2] - 1.0
        b[2, 0] = a[0, 0, 0]
    return a, b


@pytest.mark.parametrize("p", P_VALUES)
def test_cdist_direct_as_torch(p):
    torch = pytest.importorskip("torch")
    a, b = _cloud()
    mode = "donot_use_mm_for_euclid_dist"
    compare_with_torch(lambda x, y: mt.cdist(x, y, p, mode), lambda x, y: torch.cdist(x, y, p, mode), [a, b])


def test_cdist_matrix_product_path_as_torch():
    torch = pytest.importorskip("torch")
    # integers: the expansion is exact, so a zero distance is exactly 0 and its gradient 0 (torch's mask)
    a = rng.integers(-3, 4, (3, 2)).astype(float)
    b = np.concatenate([a[:1], rng.integers(-3, 4, (2, 2))]).astype(float)
    compare_with_torch(lambda x, y: mt.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
                       lambda x, y: torch.cdist(x, y, compute_mode="use_mm_for_euclid_dist"), [a, b])
    a, b = _r(30, 3), _r(4, 3)                  # > 25 rows: the default mode takes the expansion too
    compare_with_torch(mt.cdist, torch.cdist, [a, b], rtol=1e-9, atol=1e-12)
    a, b = _cloud(with_ties=False)
    compare_with_torch(lambda x, y: mt.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
                       lambda x, y: torch.cdist(x, y, compute_mode="use_mm_for_euclid_dist"), [a, b],
                       rtol=1e-9, atol=1e-12)


def test_cdist_shapes_dtypes_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    assert mt.cdist(mt.ones(2, 1, 4, 3), mt.ones(5, 2, 3)).shape == tuple(torch.cdist(torch.ones(2, 1, 4, 3),
                                                                                      torch.ones(5, 2, 3)).shape)
    assert mt.cdist(mt.ones(0, 3), mt.ones(2, 3)).shape == (0, 2)
    assert mt.cdist(mt.ones(2, 3), mt.ones(2, 3)).dtype == mt.float32
    with pytest.raises(mt.errors.ShapeError, match="at least 2D"):
        mt.cdist(mt.ones(3), mt.ones(3))
    with pytest.raises(mt.errors.ShapeError, match="same number of columns"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 4))
    with pytest.raises(mt.errors.ArgumentError, match="non-negative"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 3), p=-1)
    with pytest.raises(ValueError, match="compute_mode"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 3), compute_mode="x")
    with pytest.raises(mt.errors.DtypeError, match="floating"):
        mt.cdist(mt.ones(2, 3, dtype=mt.int64), mt.ones(2, 3, dtype=mt.int64))
    with pytest.raises(mt.errors.DtypeError, match="same dtype"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 3, dtype=mt.float64))
    with pytest.raises(mt.errors.ShapeError, match="batch"):
        mt.cdist(mt.ones(2, 2, 3), mt.ones(3, 2, 3))
    with pytest.raises(mt.errors.ShapeError, match="2D"):
        mt.pdist(mt.ones(2, 2, 3))


@pytest.mark.parametrize("p", [1, 2, 1.5, math.inf])
def test_pdist_as_torch(p):
    torch = pytest.importorskip("torch")
    a = _r(4, 3)
    a[1] = a[0]                                   # a zero distance: gradient 0 there, as torch
    compare_with_torch(lambda x: mt.pdist(x, p), lambda t: torch.nn.functional.pdist(t, p), [a])
    assert mt.functional.pdist(mt.ones(1, 3)).shape == (0,)


@pytest.mark.parametrize("p", [0.5, 1, 1.5, 2, 3, math.inf])
@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_gradcheck(p, mode, device):
    if p != 2 and mode == "use_mm_for_euclid_dist":
        pytest.skip("compute_mode only matters for p = 2")
    a = mt.tensor(X1, dtype=mt.float64, device=device, requires_grad=True)
    b = mt.tensor(X2, dtype=mt.float64, device=device, requires_grad=True)
    fn = lambda u, v: mt.cdist(u, v, p, mode)  # noqa: E731
    assert mt.gradcheck(fn, [a, b])
    if p not in (1, math.inf):            # piecewise linear there: second order is 0 away from kinks anyway
        assert mt.gradgradcheck(fn, [a, b])
    assert mt.gradcheck(lambda u: mt.pdist(u, p), [b])


def test_alpha_zero_as_torch_for_each_product():
    torch = pytest.importorskip("torch")
    shapes = {"addmm": [(2, 2), (2, 3), (3, 2)], "addmv": [(2,), (2, 3), (3,)], "addr": [(2, 3), (2,), (3,)],
              "baddbmm": [(2, 2, 2), (2, 2, 3), (2, 3, 2)], "addbmm": [(2, 2), (2, 2, 3), (2, 3, 2)]}
    for name, sh in shapes.items():
        arrays = [np.ones(s) for s in sh]
        arrays[1].reshape(-1)[0] = np.inf
        for kw in (dict(alpha=0), dict(beta=0), dict(alpha=0, beta=0)):
            if "beta" in kw:
                arrays[0].reshape(-1)[0] = np.nan
            ours = getattr(mt, name)(*[mt.tensor(a) for a in arrays], **kw).numpy()
            theirs = getattr(torch, name)(*[torch.tensor(a) for a in arrays], **kw).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{name} {kw}")
