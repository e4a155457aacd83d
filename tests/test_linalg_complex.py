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
    # hermitian=True reads the lower triangle and the diagonal's real part, as eigh (torch's kernel) does;
    # the gradient (torch's too) is the formula's at A as given, not central differences of that reading
    against_torch(lambda x: LA.pinv(x, hermitian=True), lambda x: torch.linalg.pinv(x, hermitian=True), [X], device,
                  gradcheck=False)
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


def test_matrix_rank_of_complex_input_and_integer_input_refused():
    assert LA.matrix_rank(mt.tensor(cmat((3, 3)))).item() == 3     # (complex input is fine: no gradient)
    with pytest.raises(mt.errors.DtypeError, match="floating point or complex"):
        LA.inv(mt.ones(2, 2, dtype=mt.int64))


MIXES = [(np.complex128, np.float64), (np.float64, np.complex128), (np.complex64, np.complex128),
         (np.float32, np.float64)]
DTYPE_MIXES = {   # torch promotes none of these (matmul would promote complex with real)
    "vecdot": (lambda L, a, b: L.vecdot(a, b), (2, 3), (2, 3)),
    "cross": (lambda L, a, b: L.cross(a, b), (2, 3), (2, 3)),
    "multi_dot": (lambda L, a, b: L.multi_dot([a, b]), (2, 3), (3, 2)),
    "householder_product": (lambda L, a, b: L.householder_product(a, b), (4, 3), (2,)),
    "lstsq": (lambda L, a, b: L.lstsq(a, b).solution, (4, 3), (4, 2)),
}


@pytest.mark.parametrize("name", sorted(DTYPE_MIXES))
def test_a_mix_of_dtypes_is_refused_as_torch(name):
    torch = pytest.importorskip("torch")
    fn, sa, sb = DTYPE_MIXES[name]
    for da, db in MIXES:
        a, b = (m.astype(d) if np.dtype(d).kind == "c" else m.real.astype(d)
                for m, d in ((cmat(sa, shift=False), da), (cmat(sb, seed=1, shift=False), db)))
        with pytest.raises(RuntimeError) as expected:
            fn(torch.linalg, torch.tensor(a), torch.tensor(b))
        if name == "multi_dot":   # torch's message string for string (minitf/ops/product_dtypes.py)
            with pytest.raises(RuntimeError) as got:
                fn(LA, mt.tensor(a), mt.tensor(b))
            assert str(got.value) == str(expected.value)
            continue
        with pytest.raises(RuntimeError, match=rf"{str(np.dtype(da))}.*{str(np.dtype(db))}|"
                                               rf"{str(np.dtype(db))}.*{str(np.dtype(da))}"):
            fn(LA, mt.tensor(a), mt.tensor(b))


@pytest.mark.parametrize("name,shape", [("vector_norm", (3, 4)), ("matrix_norm", (3, 4)), ("norm", (4,))])
def test_norm_dtype_argument_checked_as_torch(name, shape):
    """dtype= must be complex for a complex input, real for a real one, and not narrower (torch's
    errors); a wider one is the input cast first."""
    torch = pytest.importorskip("torch")
    z = cmat(shape, shift=False)
    cases = [(z, "float64", "should be complex"), (z.real, "complex128", "should be real"),
             (z, "complex64", "without narrowing"), (z.real, "float32", "without narrowing"),
             (z.astype(np.complex64), "complex128", None), (z.real.astype(np.float32), "float64", None)]
    for a, dt, message in cases:
        ours = lambda: getattr(LA, name)(mt.tensor(a), dtype=getattr(mt, dt))          # noqa: E731
        theirs = lambda: getattr(torch.linalg, name)(torch.tensor(a), dtype=getattr(torch, dt))   # noqa: E731
        if message is None:
            np.testing.assert_allclose(ours().numpy(), theirs().numpy(), rtol=1e-6)
            assert str(ours().dtype) == str(theirs().dtype).split(".")[1]
            continue
        with pytest.raises(RuntimeError, match=message):
            theirs()
        with pytest.raises(RuntimeError, match=message):
            ours()


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (3, 5), (5, 3)])
def test_lu_family(device, shape):
    """LU's pivots are torch's (the largest |Re| + |Im|, LAPACK's izamax); P L U and the gradients
    of the packed LU, of P, L, U, and of lu_solve's X in every form against torch."""
    torch = pytest.importorskip("torch")
    A = cmat(shape, shift=False)
    against_torch(lambda a: tuple(LA.lu_factor_ex(a)), lambda a: tuple(torch.linalg.lu_factor_ex(a)), [A], device)
    against_torch(lambda a: tuple(LA.lu(a)), lambda a: tuple(torch.linalg.lu(a)), [A], device)
    if shape[-1] != shape[-2]:
        return
    B = cmat(shape[:-1] + (2,), seed=1, shift=False)
    for left in (True, False):
        for adjoint in (False, True):
            b = B if left else np.swapaxes(B, -1, -2)
            against_torch(lambda a, b: LA.lu_solve(*LA.lu_factor(a), b, left=left, adjoint=adjoint),
                          lambda a, b: torch.linalg.lu_solve(*torch.linalg.lu_factor(a), b, left=left,
                                                             adjoint=adjoint), [A, b], device)


def test_lu_pivots_by_lapacks_measure():
    """The pivot is the largest |Re| + |Im| (LAPACK's izamax), not the largest |z|: here 1.2 + 1.2j
    (|z| 1.70, |Re| + |Im| 2.4) wins over 1.9, as in torch."""
    torch = pytest.importorskip("torch")
    A = np.array([[1.9 + 0.0j, 1.0], [1.2 + 1.2j, 3.0]])
    assert LA.lu_factor(mt.tensor(A))[1].tolist() == torch.linalg.lu_factor(torch.tensor(A))[1].tolist() == [2, 2]


def test_logdet_cond_and_the_ex_variants(device):
    torch = pytest.importorskip("torch")
    A = cmat((2, 3, 3), shift=False)
    against_torch(mt.logdet, torch.logdet, [A], device)
    for p in (None, 2, -2):
        against_torch(lambda a: LA.cond(a, p), lambda a: torch.linalg.cond(a, p), [A], device)
    for p in ("fro", "nuc", math.inf, -math.inf, 1, -1):   # torch 2.13's complex backward fails here (an
        # in-place error inside its inv_ex): values against torch, gradients by central differences
        x = mt.tensor(A, device=device)
        np.testing.assert_allclose(LA.cond(x, p).numpy(), torch.linalg.cond(torch.tensor(A), p).numpy(), **TOL)
        assert mt.gradcheck(lambda a: LA.cond(a, p), [mt.tensor(A, device=device, requires_grad=True)],
                            rtol=RTOL, atol=ATOL)
    against_torch(lambda a: tuple(LA.inv_ex(a)), lambda a: tuple(torch.linalg.inv_ex(a)), [A], device)
    against_torch(lambda a, b: tuple(LA.solve_ex(a, b)), lambda a, b: tuple(torch.linalg.solve_ex(a, b)),
                  [A, cmat((2, 3, 2), seed=1, shift=False)], device)
    X = cmat((2, 3, 3), seed=2, shift=False)
    against_torch(lambda x: tuple(LA.cholesky_ex(herm(x), upper=True)),
                  lambda x: tuple(torch.linalg.cholesky_ex(herm(x), upper=True)), [X], device)
    S = A.copy()
    S[1, :, 2] = 0                                               # singular: info as torch's
    assert LA.inv_ex(mt.tensor(S, device=device)).info.tolist() == torch.linalg.inv_ex(torch.tensor(S)).info.tolist()
    H = herm(mt.tensor(X)).numpy()
    H[0] = -H[0]
    assert (LA.cholesky_ex(mt.tensor(H, device=device)).info.tolist()
            == torch.linalg.cholesky_ex(torch.tensor(H)).info.tolist() == [1, 0])
