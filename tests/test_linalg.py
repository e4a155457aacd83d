"""mt.linalg: float64 gradchecks (and gradgradchecks) of every differentiable function on both
devices, PyTorch 2.13's values and gradients, batched shapes, and torch's errors."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import linalg as LA

from .conftest import ATOL, RTOL, device_tensor
from .torch_compare import compare_with_torch

# two LAPACK builds (NumPy's and torch's) round differently at ~1e-14 relative; the conditioning
# of the random matrices (cond < ~50) amplifies that, hence looser than compare_with_torch's default
TOL = dict(rtol=1e-8, atol=1e-10)


def well(shape, seed=0):
    """Random (..., n, n) matrices with a dominant diagonal: invertible, well conditioned."""
    a = np.random.default_rng(seed).standard_normal(shape)
    return a + shape[-1] * np.eye(shape[-1]) if shape[-1] == shape[-2] else a


def spd(shape, seed=0):
    """Random symmetric positive-definite (..., n, n) matrices: X X^T + n I."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(X):
    """The symmetric matrix made of X's lower triangle: the input parametrisation under which the
    functions that read one triangle (cholesky, eigh) have a well-defined finite-difference gradient."""
    return X.tril() + X.tril(-1).mT


def check(fn, arrays, device, second=True):
    xs = [device_tensor(a, device) for a in arrays]
    assert mt.gradcheck(fn, xs, rtol=RTOL, atol=ATOL)
    if second:
        assert mt.gradgradcheck(fn, xs, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- inverses, determinants, solves

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2)])
def test_inv_det_slogdet_gradcheck(device, shape):
    A = well(shape)
    check(LA.inv, [A], device)
    check(LA.det, [A], device)
    check(lambda a: LA.slogdet(a)[1], [A], device)
    check(mt.logdet, [spd(shape)], device, second=False)


def test_inverse_names_match_torch():
    torch = pytest.importorskip("torch")
    A = well((2, 3, 3), seed=1)
    A[1] *= -1                                    # a negative determinant: logdet NaN there, as torch
    for ours, theirs in [(LA.inv, torch.linalg.inv), (LA.det, torch.linalg.det), (mt.inverse, torch.inverse),
                         (lambda a: LA.slogdet(a).logabsdet, lambda a: torch.linalg.slogdet(a).logabsdet),
                         ]:
        compare_with_torch(ours, theirs, [A], **TOL)
    sign = LA.slogdet(mt.tensor(A)).sign            # no gradient (torch gives None, minitf zeros)
    np.testing.assert_array_equal(sign.numpy(), torch.linalg.slogdet(torch.tensor(A)).sign.numpy())
    y = mt.logdet(mt.tensor(A))
    np.testing.assert_allclose(y.numpy(), torch.logdet(torch.tensor(A)).numpy(), **TOL)
    assert np.isnan(y.numpy()[1]) and not np.isnan(y.numpy()[0])


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(device):
    # rank 2: det 0, its cofactor matrix (the gradient) is not 0; torch 2.13 gives zeros here
    A = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = device_tensor(np.stack([A, well((3, 3))]), device)
    LA.det(x).sum().backward()
    cof = np.array([[4.0, 4, -4], [-2, -2, 2], [0, 0, 0]])
    np.testing.assert_allclose(x.grad.numpy()[0], cof, atol=1e-12)
    check(LA.det, [A], device, second=False)


@pytest.mark.parametrize("a_shape, b_shape", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3)),
                                              ((2, 3, 3), (3,)), ((2, 3, 3), (3, 1)), ((1, 3, 3), (4, 3, 2)),
                                              ((2, 3, 3), (2, 3, 0))])
def test_solve_broadcasting_matches_torch(a_shape, b_shape):
    torch = pytest.importorskip("torch")
    A, B = well(a_shape), np.random.default_rng(3).standard_normal(b_shape)
    y = compare_with_torch(LA.solve, torch.linalg.solve, [A, B], **TOL)
    assert y.shape == tuple(torch.linalg.solve(torch.tensor(A), torch.tensor(B)).shape)
    if len(b_shape) == len(a_shape):   # B a batch of matrices: X A = B^T too
        compare_with_torch(lambda a, b: LA.solve(a, b.mT, left=False),
                           lambda a, b: torch.linalg.solve(a, b.mT, left=False), [A, B], **TOL)


def test_solve_and_triangular_gradcheck(device):
    A, B = well((2, 3, 3)), np.random.default_rng(4).standard_normal((2, 3, 2))
    check(LA.solve, [A, B], device)
    check(lambda a, b: LA.solve(a, b[..., 0]), [A, B], device, second=False)
    check(lambda a, b: LA.solve(a, b.mT, left=False), [A, B], device, second=False)
    check(lambda a, b: LA.solve_triangular(a, b, upper=True), [A, B], device, second=False)


@pytest.mark.parametrize("upper, left, unit", [(True, True, False), (False, True, True), (False, False, False)])
def test_solve_triangular_matches_torch(upper, left, unit):
    torch = pytest.importorskip("torch")
    A, B = well((2, 3, 3)), np.random.default_rng(5).standard_normal((2, 3, 3))
    compare_with_torch(lambda a, b: LA.solve_triangular(a, b, upper=upper, left=left, unitriangular=unit),
                       lambda a, b: torch.linalg.solve_triangular(a, b, upper=upper, left=left, unitriangular=unit),
                       [A, B], **TOL)


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5])
def test_matrix_power_matches_torch(n):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda a: LA.matrix_power(a, n), lambda a: torch.linalg.matrix_power(a, n),
                       [well((2, 3, 3)) / 3], **TOL)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (3, 5)])
def test_pinv_matches_torch_and_gradcheck(device, shape):
    torch = pytest.importorskip("torch")
    A = well(shape, seed=6)
    compare_with_torch(LA.pinv, torch.linalg.pinv, [A], **TOL)
    compare_with_torch(mt.pinverse, torch.pinverse, [A], **TOL)
    check(LA.pinv, [A], device, second=shape == (3, 3))


def test_pinv_of_rank_deficient_matrix_matches_torch():
    torch = pytest.importorskip("torch")
    u = np.random.default_rng(7).standard_normal((4, 2))
    A = u @ u.T                                    # rank 2 of 4: two singular values dropped
    compare_with_torch(LA.pinv, torch.linalg.pinv, [A], **TOL)
    compare_with_torch(lambda a: LA.pinv(a, hermitian=True), lambda a: torch.linalg.pinv(a, hermitian=True),
                       [A], **TOL)
    assert int(LA.matrix_rank(mt.tensor(A))) == 2


@pytest.mark.parametrize("a_shape, b_shape", [((2, 5, 3), (2, 5, 2)), ((3, 5), (3, 2)), ((5, 3), (5,)),
                                              ((2, 5, 3), (1, 5, 2))])
def test_lstsq_matches_torch(a_shape, b_shape):
    torch = pytest.importorskip("torch")
    A, B = well(a_shape), np.random.default_rng(8).standard_normal(b_shape)
    compare_with_torch(lambda a, b: LA.lstsq(a, b).solution, lambda a, b: torch.linalg.lstsq(a, b).solution,
                       [A, B], **TOL)
    for driver in (None, "gelsy", "gelsd", "gelss", "gels"):
        ours, theirs = LA.lstsq(mt.tensor(A), mt.tensor(B), driver=driver), torch.linalg.lstsq(
            torch.tensor(A), torch.tensor(B), driver=driver)
        for a, b in zip(ours, theirs):   # solution, residuals, rank, singular_values (empty as torch's)
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)


def test_matrix_rank_matches_torch():
    torch = pytest.importorskip("torch")
    A = np.random.default_rng(9).standard_normal((3, 4, 5))
    A[1, 3] = A[1, 0] + A[1, 2]                    # rank 3
    A[2] = 0
    for kw in ({}, {"atol": 1.0}, {"rtol": 0.5}, {"atol": 0.1, "rtol": 0.1}):
        r = LA.matrix_rank(mt.tensor(A), **kw)
        assert r.dtype == mt.int64 and r.numpy().tolist() == torch.linalg.matrix_rank(torch.tensor(A), **kw).tolist()


# ---------------------------------------------------------------- decompositions

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cholesky_gradcheck(device, shape):
    S = spd(shape)
    check(lambda x: LA.cholesky(sym(x)), [S], device)
    check(lambda x: LA.cholesky(sym(x), upper=True), [S], device, second=False)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_matches_torch(upper):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda a: LA.cholesky(a, upper=upper), lambda a: torch.linalg.cholesky(a, upper=upper),
                       [spd((2, 4, 4))], **TOL)


@pytest.mark.parametrize("shape, mode", [((4, 3), "reduced"), ((3, 3), "complete"), ((3, 5), "reduced"),
                                         ((2, 3, 5), "complete"), ((2, 5, 2), "reduced")])
def test_qr_matches_torch_and_gradcheck(device, shape, mode):
    torch = pytest.importorskip("torch")
    A = well(shape, seed=10)
    for k in (0, 1):   # NumPy and torch both call LAPACK's geqrf: the same signs
        compare_with_torch(lambda a: LA.qr(a, mode)[k], lambda a: torch.linalg.qr(a, mode)[k], [A], **TOL)
    check(lambda a: LA.qr(a, mode)[0], [A], device, second=False)
    check(lambda a: LA.qr(a, mode).R, [A], device, second=shape == (4, 3))


def test_qr_modes_and_the_gradients_torch_refuses():
    A = mt.randn(4, 3, dtype="float64", requires_grad=True)
    Q, R = LA.qr(A, mode="r")
    assert Q.shape == (0,) and R.shape == (3, 3)
    with pytest.raises(RuntimeError, match="mode='r'"):
        R.sum().backward()
    Q, R = LA.qr(A, mode="complete")
    assert Q.shape == (4, 4) and R.shape == (4, 3)
    with pytest.raises(RuntimeError, match="nrows > ncols"):
        Q.sum().backward()
    np.testing.assert_allclose((Q @ R).numpy(), A.detach().numpy(), atol=1e-12)


def _eigh_loss(a):
    L, Q = LA.eigh(sym(a))
    w = mt.tensor(np.array([0.3, -1.2, 0.7, 2.0])[: L.shape[-1]], device=a.device)
    return (Q * w) @ Q.mT + L.unsqueeze(-1) * Q.abs()        # sign-invariant in each eigenvector


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_eigh_gradcheck(device, shape):
    S = spd(shape, seed=11)
    check(_eigh_loss, [S], device)
    check(lambda x: LA.eigvalsh(sym(x)), [S], device)
    check(lambda x: LA.eigh(sym(x).mT, UPLO="U")[1].abs(), [S], device, second=False)


def test_eigh_matches_torch():
    torch = pytest.importorskip("torch")
    S = spd((2, 4, 4), seed=12)
    for uplo in ("L", "U"):
        compare_with_torch(lambda a: LA.eigvalsh(a, UPLO=uplo), lambda a: torch.linalg.eigvalsh(a, UPLO=uplo),
                           [S], **TOL)
        compare_with_torch(lambda a: LA.eigh(a, UPLO=uplo)[1].abs(), lambda a: torch.linalg.eigh(a, UPLO=uplo)[1].abs(),
                           [S], **TOL)


def _svd_loss(a, full=False):
    U, s, Vh = LA.svd(a, full_matrices=full)
    k = s.shape[-1]
    return (U[..., :k] * s.unsqueeze(-2)) @ Vh[..., :k, :] + U[..., :k].abs().sum(-1, keepdim=True) \
        + Vh[..., :k, :].abs().sum(-2, keepdim=True)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3, 5)])
def test_svd_gradcheck(device, shape):
    A = well(shape, seed=13)
    check(_svd_loss, [A], device, second=shape == (3, 3))
    check(lambda a: _svd_loss(a, full=True), [A], device, second=False)
    check(LA.svdvals, [A], device)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5, 3), (3, 4)])
def test_svd_matches_torch(shape):
    torch = pytest.importorskip("torch")
    A = well(shape, seed=14)
    compare_with_torch(LA.svdvals, torch.linalg.svdvals, [A], **TOL)
    compare_with_torch(lambda a: LA.svd(a, full_matrices=False)[0].abs(),
                       lambda a: torch.linalg.svd(a, full_matrices=False)[0].abs(), [A], **TOL)
    compare_with_torch(lambda a: LA.svd(a)[2].abs()[..., : min(shape[-2:]), :],
                       lambda a: torch.linalg.svd(a)[2].abs()[..., : min(shape[-2:]), :], [A], **TOL)
    U, S, Vh = LA.svd(mt.tensor(A))
    assert U.shape == (*shape[:-1], shape[-2]) and Vh.shape == (*shape[:-2], shape[-1], shape[-1])
    np.testing.assert_allclose(((U[..., : S.shape[-1]] * S.unsqueeze(-2)) @ Vh[..., : S.shape[-1], :]).numpy(), A,
                               atol=1e-12)


# ---------------------------------------------------------------- norms

@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
def test_matrix_norm_matches_torch_and_gradcheck(device, ord):
    torch = pytest.importorskip("torch")
    A = well((2, 3, 4), seed=15)
    compare_with_torch(lambda a: LA.matrix_norm(a, ord), lambda a: torch.linalg.matrix_norm(a, ord), [A], **TOL)
    compare_with_torch(lambda a: LA.matrix_norm(a, ord, dim=(0, 2), keepdim=True),
                       lambda a: torch.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True), [A], **TOL)
    compare_with_torch(lambda a: LA.norm(a[0], ord), lambda a: torch.linalg.norm(a[0], ord), [A], **TOL)
    check(lambda a: LA.matrix_norm(a, ord), [A], device, second=False)


@pytest.mark.parametrize("ord", [-1, -2, -0.5, 0, 0.5, 3])
def test_vector_norm_any_ord_matches_torch(device, ord):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(16).standard_normal((3, 4))
    x[1, 2] = 0.0                                   # a zero: a negative ord's norm is 0 there, gradient 0
    for dim in (None, 1, (0, 1)):
        if ord == 0:   # a count: no gradient
            np.testing.assert_allclose(LA.vector_norm(mt.tensor(x), 0, dim).numpy(),
                                       torch.linalg.vector_norm(torch.tensor(x), 0, dim).numpy())
            continue
        compare_with_torch(lambda t: LA.vector_norm(t, ord, dim), lambda t: torch.linalg.vector_norm(t, ord, dim),
                           [x], **TOL)
    if ord < 0:
        with pytest.raises(RuntimeError, match="does not have an identity"):
            LA.vector_norm(mt.zeros(2, 0), ord, 1)
        check(lambda t: LA.vector_norm(t, ord, 1, keepdim=True), [x[[0, 2]]], device, second=False)


# ---------------------------------------------------------------- products

def test_products_match_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17)
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((1, 4, 3))
    compare_with_torch(LA.cross, torch.linalg.cross, [a, b])
    compare_with_torch(lambda u, v: LA.cross(u.mT, v.mT, dim=1),
                       lambda u, v: torch.linalg.cross(u.mT, v.mT, dim=1), [a, b])
    compare_with_torch(lambda u, v: mt.cross(u, v.expand(2, 4, 3), dim=2),
                       lambda u, v: torch.cross(u, v.expand(2, 4, 3), dim=2), [a, b])
    compare_with_torch(lambda u, v: LA.vecdot(u, v[0], dim=-1), lambda u, v: torch.linalg.vecdot(u, v[0], dim=-1),
                       [a, b])
    ms = [rng.standard_normal(s) for s in [(3,), (3, 4), (4, 2), (2,)]]
    compare_with_torch(lambda *t: LA.multi_dot(t), lambda *t: torch.linalg.multi_dot(t), ms)
    compare_with_torch(lambda *t: LA.multi_dot(t[1:3]), lambda *t: torch.linalg.multi_dot(t[1:3]), ms, grad=[1, 2])
    chain = [rng.standard_normal(s) for s in [(10, 2), (2, 8), (8, 1), (1, 6), (6,)]]   # the order matters for cost
    compare_with_torch(lambda *t: LA.multi_dot(t), lambda *t: torch.linalg.multi_dot(t), chain)
    assert LA.products._chain_order([10, 2, 8, 1])[0][2] == 0      # 10x2 (2x8 8x1): 16 + 20, not 160 + 80
    compare_with_torch(lambda u: LA.diagonal(u, offset=1), lambda u: torch.linalg.diagonal(u, offset=1), [a])
    check(LA.cross, [a, b], device)
    with pytest.warns(UserWarning, match="without specifying the dim"):
        assert mt.cross(mt.tensor(a), mt.tensor(b)).shape == (2, 4, 3)


# ---------------------------------------------------------------- batches, devices, dtypes

def test_every_function_keeps_batch_shape_device_and_dtype(device):
    A = mt.tensor(well((2, 1, 3, 3)), dtype="float32", device=device)
    S = mt.tensor(spd((2, 1, 3, 3)), dtype="float32", device=device)
    outs = [LA.inv(A), LA.det(A), *LA.slogdet(A), LA.solve(A, A), LA.cholesky(S), *LA.qr(A), *LA.eigh(S),
            LA.eigvalsh(S), *LA.svd(A), LA.svdvals(A), LA.matrix_norm(A, "nuc"), LA.matrix_power(A, -2),
            LA.pinv(A), LA.solve_triangular(A, A, upper=False), LA.cross(A, A), mt.logdet(S)]
    for y in outs:
        assert y.device == device and y.dtype == mt.float32 and y.shape[:2] == (2, 1)
    r = LA.matrix_rank(A)
    assert r.device == device and r.dtype == mt.int64 and r.numpy().tolist() == [[3], [3]]
    with mt.no_grad():
        assert not LA.inv(A.requires_grad_()).requires_grad


def test_empty_batch_and_empty_matrices():
    torch = pytest.importorskip("torch")
    for shape in [(0, 3, 3), (2, 0, 0), (1, 1)]:
        A = np.ones(shape)
        for ours, theirs in [(LA.inv, torch.linalg.inv), (LA.det, torch.linalg.det), (LA.pinv, torch.linalg.pinv),
                             (LA.svdvals, torch.linalg.svdvals), (LA.eigvalsh, torch.linalg.eigvalsh),
                             (LA.cholesky, torch.linalg.cholesky), (lambda a: LA.qr(a).R, lambda a: torch.linalg.qr(a).R),
                             (lambda a: LA.matrix_norm(a, 2), lambda a: torch.linalg.matrix_norm(a, 2)),
                             (lambda a: LA.matrix_norm(a, math.inf), lambda a: torch.linalg.matrix_norm(a, math.inf))]:
            y, yt = ours(mt.tensor(A)), theirs(torch.tensor(A))
            assert y.shape == tuple(yt.shape)
            np.testing.assert_allclose(y.numpy(), yt.numpy())


def test_non_contiguous_input_matches_torch():
    torch = pytest.importorskip("torch")
    A = well((3, 3), seed=18)
    compare_with_torch(lambda a: LA.inv(a.mT), lambda a: torch.linalg.inv(a.mT), [A], **TOL)
    compare_with_torch(lambda a: LA.det(a.flip(1)), lambda a: torch.linalg.det(a.flip(1)), [A], **TOL)
    compare_with_torch(lambda a: LA.svdvals(a[:, ::2]), lambda a: torch.linalg.svdvals(a[:, ::2]), [A], **TOL)


# ---------------------------------------------------------------- errors, as torch's

def _torch_error(fn, *arrays):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as info:
        fn(torch, *[torch.tensor(a) for a in arrays])
    return info.value


@pytest.mark.parametrize("case", ["inv", "inv_batch", "inv_ones", "solve", "cholesky", "cholesky_batch"])
def test_singular_and_non_pd_errors_are_torchs(device, case):
    sing = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    fns = {"inv": (lambda m, a: m.linalg.inv(a), [sing]),
           "inv_batch": (lambda m, a: m.linalg.inv(a), [np.stack([np.eye(3), sing])]),
           "inv_ones": (lambda m, a: m.linalg.inv(a), [np.ones((3, 3))]),
           "solve": (lambda m, a, b: m.linalg.solve(a, b), [sing, np.ones(3)]),
           "cholesky": (lambda m, a: m.linalg.cholesky(a), [np.diag([1.0, -1, 1])]),
           "cholesky_batch": (lambda m, a: m.linalg.cholesky(a), [np.stack([np.eye(2), -np.eye(2)])])}
    fn, arrays = fns[case]
    expected = _torch_error(fn, *arrays)
    with pytest.raises(LA.LinAlgError) as info:
        fn(mt, *[device_tensor(a, device, requires_grad=False) for a in arrays])
    assert str(info.value) == str(expected)
    assert isinstance(info.value, RuntimeError) and isinstance(expected, RuntimeError)


@pytest.mark.parametrize("case", ["nonsquare", "vector", "int", "solve_shape", "norm_ord", "qr_mode", "uplo",
                                  "cross_len", "norm_1d", "multi_dot_one", "multi_dot_3d", "multi_dot_mid",
                                  "multi_dot_sizes"])
def test_argument_errors_are_torchs(case):
    fns = {"nonsquare": (lambda m, a: m.linalg.inv(a), [np.ones((2, 3))]),
           "vector": (lambda m, a: m.linalg.svd(a), [np.ones(3)]),
           "int": (lambda m, a: m.linalg.det(a), [np.ones((3, 3), dtype=np.int64)]),
           "solve_shape": (lambda m, a, b: m.linalg.solve(a, b), [np.eye(3), np.ones(4)]),
           "norm_ord": (lambda m, a: m.linalg.matrix_norm(a, 3), [np.eye(3)]),
           "qr_mode": (lambda m, a: m.linalg.qr(a, mode="x"), [np.eye(3)]),
           "uplo": (lambda m, a: m.linalg.eigh(a, UPLO="X"), [np.eye(3)]),
           "cross_len": (lambda m, a: m.linalg.cross(a, a), [np.ones(4)]),
           "norm_1d": (lambda m, a: m.linalg.matrix_norm(a), [np.ones(3)]),
           "multi_dot_one": (lambda m, a: m.linalg.multi_dot([a]), [np.ones(3)]),
           "multi_dot_3d": (lambda m, a: m.linalg.multi_dot([a, a[0]]), [np.ones((2, 2, 2))]),
           "multi_dot_mid": (lambda m, a: m.linalg.multi_dot([a, a[0], a]), [np.ones((2, 2))]),
           "multi_dot_sizes": (lambda m, a: m.linalg.multi_dot([a, a]), [np.ones((2, 3))])}
    fn, arrays = fns[case]
    expected = _torch_error(fn, *arrays)
    with pytest.raises(RuntimeError) as info:
        fn(mt, *[mt.tensor(a) for a in arrays])
    assert type(expected).__name__ == "RuntimeError"
    if case != "int":   # torch names its dtype "Long", minitf int64
        assert str(info.value) == str(expected)


def test_top_level_names_and_tensor_methods_match_torch():
    torch = pytest.importorskip("torch")
    A = well((2, 3, 3), seed=19)
    b = np.random.default_rng(20).standard_normal((2, 3, 3))
    S = spd((2, 3, 3))
    for ours, theirs, arrays in [(mt.inverse, torch.inverse, [A]), (mt.det, torch.det, [A]),
                                 (mt.logdet, torch.logdet, [S]), (lambda a: mt.slogdet(a)[1], lambda a: torch.slogdet(a)[1], [A]),
                                 (mt.pinverse, torch.pinverse, [A]),
                                 (lambda a: mt.matrix_power(a, 3), lambda a: torch.matrix_power(a, 3), [A]),
                                 (lambda a: a.inverse(), lambda a: a.inverse(), [A]),
                                 (lambda a: a.det(), lambda a: a.det(), [A]),
                                 (lambda a: a.logdet(), lambda a: a.logdet(), [S]),
                                 (lambda a: a.slogdet()[1], lambda a: a.slogdet()[1], [A]),
                                 (lambda a: a.pinverse(), lambda a: a.pinverse(), [A]),
                                 (lambda a: a.matrix_power(-2), lambda a: a.matrix_power(-2), [A]),
                                 (lambda a, c: a.cross(c, dim=1), lambda a, c: a.cross(c, dim=1), [A, b])]:
        compare_with_torch(ours, theirs, arrays, **TOL)


def test_solve_refuses_mixed_dtypes_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.linalg.solve(torch.eye(2), torch.ones(2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        LA.solve(mt.eye(2), mt.ones(2, dtype="float64"))


def test_forward_and_backward_stay_on_the_fake_device():
    # no host round trip (a GPU sync) in the kernels or gradients; det's backward reads one flag
    # (whether every det is non-zero) to choose A^-T or the SVD for its cofactor matrix
    from minitf.fakedevice import count_host_transfers
    A, S = well((2, 3, 3), seed=21), spd((2, 3, 3), seed=21)
    cases = [(LA.inv, A, 0), (lambda t: LA.solve(t, t), A, 0), (LA.cholesky, S, 0), (lambda t: LA.eigh(t)[1].abs(), S, 0),
             (lambda t: LA.svd(t)[0].abs(), A, 0), (lambda t: LA.qr(t)[0], A, 0), (lambda t: LA.slogdet(t)[1], A, 0),
             (LA.pinv, A, 0), (lambda t: LA.matrix_norm(t, 2), A, 0), (lambda t: LA.vector_norm(t, -1), A, 0),
             (LA.det, A, 1)]
    for fn, a, allowed in cases:
        x = device_tensor(a, "fake")
        with count_host_transfers() as n:
            fn(x).sum().backward()
        assert n["to_host"] == allowed and n["to_device"] == 0
