"""mt.linalg on complex input: values and gradients (of Re <u, f(A)>, a random complex u) against
torch in complex128, and mt.gradcheck's central differences on the real and the imaginary parts
of every input, on both devices. The decompositions are checked on functions their vectors'
phases do not change (|Q|, U diag(w) Vh ...); torch's phase errors too."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import linalg as LA

from .conftest import ATOL, RTOL

pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)

# two LAPACK builds (NumPy's and torch's) round differently at ~1e-14 relative, amplified by the
# random matrices' conditioning (as tests/test_linalg.py's TOL)
TOL = dict(rtol=1e-8, atol=1e-10)


def cmat(shape, seed=0, shift=True):
    """Random complex (..., m, n) matrices (a dominant diagonal when square and ``shift``)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return a + 2 * shape[-1] * np.eye(shape[-1]) if shift and shape[-1] == shape[-2] else a


def _as_tuple(y):
    return tuple(y) if isinstance(y, tuple) else (y,)


def against_torch(ours, theirs, arrays, device, gradcheck=True, tol=TOL):
    """ours(*tensors) and theirs(*torch_tensors) on the same complex (or float) arrays: equal
    outputs, equal gradients of sum Re(conj(u) y) for random u; then mt.gradcheck on ``device``."""
    torch = pytest.importorskip("torch")
    xs = [mt.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ys, yts = _as_tuple(ours(*xs)), _as_tuple(theirs(*ts))
    rng = np.random.default_rng(7)
    loss, loss_t = 0, 0
    for y, yt in zip(ys, yts):
        assert y.dtype == np.dtype(str(yt.dtype).split(".")[1]) and y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.numpy(), yt.detach().resolve_conj().numpy(), **tol)
        u = rng.standard_normal(y.shape) + (1j * rng.standard_normal(y.shape) if y.dtype.kind == "c" else 0)
        loss = loss + (y * mt.tensor(u.conj(), device=device)).real.sum()
        loss_t = loss_t + (yt * torch.tensor(u.conj())).real.sum()
    loss.backward()
    loss_t.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if x.grad is None or t.grad is None:   # (vector_norm's ord 0: no gradient on either side)
            assert x.grad is None and t.grad is None, f"gradient of input {i}"
            continue
        np.testing.assert_allclose(x.grad.numpy(), t.grad.resolve_conj().numpy(), **tol,
                                   err_msg=f"gradient of input {i}")
    if gradcheck:
        fresh = [mt.tensor(a, device=device, requires_grad=True) for a in arrays]
        assert mt.gradcheck(ours, fresh, rtol=RTOL, atol=ATOL)


def herm(X):
    """A Hermitian positive-definite matrix made of X (minitf's or torch's): X X^H + 3 I."""
    if isinstance(X, mt.Tensor):
        return X @ X.mH + 3 * mt.eye(X.shape[-1], dtype=X.dtype, device=X.device)
    import torch
    return X @ X.mH + 3 * torch.eye(X.shape[-1], dtype=X.dtype)


def test_inv_det_slogdet_solve(device):
    torch = pytest.importorskip("torch")
    A, B = cmat((2, 3, 3)), cmat((2, 3, 2), seed=1, shift=False)
    against_torch(LA.inv, torch.linalg.inv, [A], device)
    against_torch(LA.det, torch.linalg.det, [A], device)
    against_torch(lambda a: tuple(LA.slogdet(a)), lambda a: tuple(torch.linalg.slogdet(a)), [A], device)
    against_torch(LA.solve, torch.linalg.solve, [A, B], device)
    against_torch(lambda a, b: LA.solve(a, b, left=False), lambda a, b: torch.linalg.solve(a, b, left=False),
                  [A, cmat((2, 2, 3), seed=2, shift=False)], device)
    against_torch(lambda a, b: LA.solve_triangular(a, b, upper=True),
                  lambda a, b: torch.linalg.solve_triangular(a, b, upper=True), [A, B], device)
    against_torch(lambda a: (LA.matrix_power(a, 3), LA.matrix_power(a, -2)),
                  lambda a: (torch.linalg.matrix_power(a, 3), torch.linalg.matrix_power(a, -2)), [A], device)


def test_det_of_a_singular_complex_matrix(device):
    torch = pytest.importorskip("torch")
    A = cmat((3, 3), shift=False)
    A[:, 2] = A[:, 0] * (1 - 2j)             # rank 2: the cofactor matrix through the SVD
    against_torch(LA.det, torch.linalg.det, [A], device, gradcheck=False, tol=dict(rtol=1e-6, atol=1e-9))
    assert mt.gradcheck(LA.det, [mt.tensor(A, device=device, requires_grad=True)], rtol=RTOL, atol=ATOL)


def test_cholesky_qr(device):
    torch = pytest.importorskip("torch")
    X = cmat((2, 3, 3), shift=False)
    against_torch(lambda x: LA.cholesky(herm(x)), lambda x: torch.linalg.cholesky(herm(x)), [X], device)
    against_torch(lambda x: LA.cholesky(herm(x), upper=True), lambda x: torch.linalg.cholesky(herm(x), upper=True),
                  [X], device)
    H = (X @ np.swapaxes(X.conj(), -1, -2)) + 3 * np.eye(3)
    against_torch(LA.cholesky, torch.linalg.cholesky, [H], device, gradcheck=False)   # torch's formula itself
    for shape in [(4, 3), (3, 3), (2, 3, 4)]:
        against_torch(lambda a: tuple(LA.qr(a)), lambda a: tuple(torch.linalg.qr(a)), [cmat(shape, shift=False)],
                      device)
    against_torch(lambda a: tuple(LA.qr(a, mode="complete")), lambda a: tuple(torch.linalg.qr(a, mode="complete")),
                  [cmat((3, 4), shift=False)], device)


def test_eigh_eigvalsh(device):
    torch = pytest.importorskip("torch")
    X = cmat((2, 3, 3), shift=False)
    w = np.array([1.0, -2.0, 0.5])

    def ours(x):
        L, Q = LA.eigh(x + x.mH)
        return L, Q.abs(), (Q * mt.tensor(w, device=x.device)) @ Q.mH

    def theirs(x):
        L, Q = torch.linalg.eigh(x + x.mH)
        return L, Q.abs(), (Q * torch.tensor(w)) @ Q.mH

    against_torch(ours, theirs, [X], device)
    against_torch(lambda x: LA.eigvalsh(x + x.mH, UPLO="U"), lambda x: torch.linalg.eigvalsh(x + x.mH, UPLO="U"),
                  [X], device)


def test_svd_svdvals(device):
    torch = pytest.importorskip("torch")

    def ours(a):
        U, S, Vh = LA.svd(a, full_matrices=False)
        return S, U.abs(), Vh.abs(), (U * S.unsqueeze(-2)) @ Vh, U @ Vh

    def theirs(a):
        U, S, Vh = torch.linalg.svd(a, full_matrices=False)
        return S, U.abs(), Vh.abs(), (U * S.unsqueeze(-2)) @ Vh, U @ Vh

    for shape in [(4, 3), (3, 4), (2, 3, 3)]:
        A = cmat(shape, shift=False)
        against_torch(ours, theirs, [A], device)
        against_torch(LA.svdvals, torch.linalg.svdvals, [A], device)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
def test_matrix_norm(device, ord):
    torch = pytest.importorskip("torch")
    against_torch(lambda a: LA.matrix_norm(a, ord), lambda a: torch.linalg.matrix_norm(a, ord),
                  [cmat((2, 3, 4), shift=False)], device)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, math.inf, -math.inf, -1, 0])
def test_vector_norm(device, ord):
    torch = pytest.importorskip("torch")
    x = cmat((3, 4), shift=False)
    against_torch(lambda a: LA.vector_norm(a, ord, dim=-1), lambda a: torch.linalg.vector_norm(a, ord, dim=-1),
                  [x], device)
    against_torch(lambda a: LA.norm(a, ord), lambda a: torch.linalg.norm(a, ord), [x[0]], device)


def test_pinv_lstsq(device):
    torch = pytest.importorskip("torch")
    A, B = cmat((4, 3), shift=False), cmat((4, 2), seed=1, shift=False)
    against_torch(LA.pinv, torch.linalg.pinv, [A], device)
    against_torch(LA.pinv, torch.linalg.pinv, [cmat((2, 3, 5), shift=False)], device)
    X = cmat((3, 3), shift=False)
    against_torch(lambda x: LA.pinv(x + x.mH, hermitian=True), lambda x: torch.linalg.pinv(x + x.mH, hermitian=True),
                  [X], device)
    against_torch(lambda a, b: LA.lstsq(a, b).solution, lambda a, b: torch.linalg.lstsq(a, b).solution, [A, B], device)
    ours = LA.lstsq(mt.tensor(A), mt.tensor(B), driver="gelsd")
    theirs = torch.linalg.lstsq(torch.tensor(A), torch.tensor(B), driver="gelsd")
    for field in ("residuals", "rank", "singular_values"):
        np.testing.assert_allclose(getattr(ours, field).numpy(), getattr(theirs, field).numpy(), **TOL)
        assert getattr(ours, field).dtype == np.dtype(str(getattr(theirs, field).dtype).split(".")[1])


def test_matrix_exp_products_householder(device):
    torch = pytest.importorskip("torch")
    against_torch(LA.matrix_exp, torch.linalg.matrix_exp, [cmat((2, 3, 3), shift=False)], device)
    a, b = cmat((2, 3), shift=False), cmat((2, 3), seed=1, shift=False)
    against_torch(LA.cross, torch.linalg.cross, [a, b], device)
    against_torch(LA.vecdot, torch.linalg.vecdot, [a, b], device)
    A, tau = cmat((4, 3), shift=False), cmat((1, 2), seed=3, shift=False)[0] * 0.5
    against_torch(LA.householder_product, torch.linalg.householder_product, [A, tau], device)


def test_compositions_tensorinv_tensorsolve_multi_dot_matrix_rank(device):
    torch = pytest.importorskip("torch")
    against_torch(lambda a: LA.tensorinv(a, ind=1), lambda a: torch.linalg.tensorinv(a, ind=1),
                  [cmat((4, 2, 2), shift=False)], device)
    against_torch(LA.tensorsolve, torch.linalg.tensorsolve, [cmat((2, 3, 6), shift=False), cmat((2, 3), seed=1)],
                  device)
    against_torch(lambda a, b, c: LA.multi_dot([a, b, c]), lambda a, b, c: torch.linalg.multi_dot([a, b, c]),
                  [cmat((3,), shift=False), cmat((3, 4), seed=1), cmat((4, 2), seed=2)], device)
    A = cmat((2, 4, 4), shift=False)
    A[1, :, 3] = A[1, :, 0] * 1j
    for hermitian in (False, True):
        M = A + np.swapaxes(A.conj(), -1, -2) if hermitian else A
        assert (LA.matrix_rank(mt.tensor(M, device=device), hermitian=hermitian).tolist()
                == torch.linalg.matrix_rank(torch.tensor(M), hermitian=hermitian).tolist())


SECOND = {"inv": LA.inv, "det": LA.det, "slogdet": lambda a: tuple(LA.slogdet(a)),
          "cholesky": lambda x: LA.cholesky(herm(x)), "eigvals": LA.eigvals, "svdvals": LA.svdvals,
          "qr": lambda a: tuple(LA.qr(a)), "matrix_exp": LA.matrix_exp, "pinv": LA.pinv,
          "eigvalsh": lambda x: LA.eigvalsh(x + x.mH)}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives(device, name):
    """The backwards are written in minitf ops: complex gradgradcheck through them."""
    x = mt.tensor(cmat((3, 3), shift=name in ("inv", "det", "slogdet")), device=device, requires_grad=True)
    assert mt.gradgradcheck(SECOND[name], [x], rtol=RTOL, atol=ATOL)


def test_phase_dependent_losses_raise_torch_errors(device):
    torch = pytest.importorskip("torch")
    X = cmat((3, 3), shift=False)
    cases = [(lambda a: LA.eigh(a + a.mH)[1].real.sum(), lambda a: torch.linalg.eigh(a + a.mH)[1].real.sum()),
             (lambda a: LA.svd(a)[0].real.sum(), lambda a: torch.linalg.svd(a)[0].real.sum()),
             (lambda a: LA.eig(a)[1].real.sum(), lambda a: torch.linalg.eig(a)[1].real.sum())]
    for ours, theirs in cases:
        with pytest.raises(RuntimeError) as expected:
            theirs(torch.tensor(X, requires_grad=True)).backward()
        with pytest.raises(RuntimeError) as got:
            ours(mt.tensor(X, device=device, requires_grad=True)).backward()
        assert str(got.value) == str(expected.value)


def test_complex_refused_where_not_supported():
    A = mt.tensor(cmat((3, 3)))
    for fn in (mt.logdet, LA.lu_factor, LA.matrix_rank):
        if fn is LA.matrix_rank:
            assert LA.matrix_rank(A).item() == 3     # (complex input is fine: no gradient)
            continue
        with pytest.raises(mt.errors.DtypeNotImplemented, match="complex"):
            fn(A)
    with pytest.raises(mt.errors.DtypeError, match="floating point or complex"):
        LA.inv(mt.ones(2, 2, dtype=mt.int64))
