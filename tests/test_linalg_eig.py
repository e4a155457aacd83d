"""mt.linalg.eig / eigvals: torch's values (up to the eigenvectors' order and phases, each
normalised as torch's geev output is), dtypes and errors; gradients of phase-invariant functions
against torch and by complex gradcheck (float64 / complex128), on both devices."""
import numpy as np
import pytest

import minitf as mt
from minitf import linalg as LA

from .conftest import ATOL, RTOL
from .test_linalg_complex import against_torch, cmat

pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def real(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def normalised(L, V):
    """(L, V) of one matrix in a canonical order (by real, then imaginary part), each vector's
    phase turned so that its largest component is real and positive (geev's rule, up to sign)."""
    order = np.lexsort((np.round(L.imag, 8), np.round(L.real, 8)))
    L, V = L[order], V[:, order]
    big = V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])]
    return L, V * (np.abs(big) / big)


@pytest.mark.parametrize("kind", ["float64", "float32", "complex128", "complex64"])
def test_eig_values_as_torch(device, kind):
    torch = pytest.importorskip("torch")
    a = (cmat((2, 3, 4, 4), shift=False) if kind.startswith("complex") else real((2, 3, 4, 4))).astype(kind)
    L, V = LA.eig(mt.tensor(a, device=device))
    Lt, Vt = torch.linalg.eig(torch.tensor(a))
    assert (str(L.dtype), str(V.dtype)) == (str(Lt.dtype).split(".")[1],) * 2
    assert L.shape == (2, 3, 4) and V.shape == (2, 3, 4, 4) and L.device == V.device == device
    tol = dict(rtol=1e-4, atol=1e-5) if kind in ("float32", "complex64") else dict(rtol=1e-9, atol=1e-11)
    Ln, Vn = L.numpy().reshape(-1, 4), V.numpy().reshape(-1, 4, 4)
    for l, v, lt, vt in zip(Ln, Vn, Lt.numpy().reshape(-1, 4), Vt.numpy().reshape(-1, 4, 4)):
        (l, v), (lt, vt) = normalised(l, v), normalised(lt, vt)
        np.testing.assert_allclose(l, lt, **tol)
        np.testing.assert_allclose(v, vt, **tol)
    # torch's (geev's) own normalisation: unit columns, the largest component of each real
    np.testing.assert_allclose(np.linalg.norm(Vn, axis=-2), 1, **tol)
    big = np.take_along_axis(Vn, np.argmax(np.abs(Vn), axis=-2)[:, None, :], axis=-2)
    np.testing.assert_allclose(big.imag, 0, atol=tol["atol"])
    np.testing.assert_allclose(a.reshape(-1, 4, 4) @ Vn, Vn * Ln[:, None, :], **tol)
    np.testing.assert_allclose(LA.eigvals(mt.tensor(a, device=device)).numpy(), L.numpy())


def test_eig_of_a_rotation_and_an_empty_matrix():
    L, V = LA.eig(mt.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=mt.float64))
    np.testing.assert_allclose(np.sort_complex(L.numpy()), [-1j, 1j], atol=1e-15)
    L, V = LA.eig(mt.zeros(0, 0))
    assert L.shape == (0,) and V.shape == (0, 0) and L.dtype == V.dtype == mt.complex64   # as torch
    result = LA.eig(mt.eye(2))
    assert result.eigenvalues is result[0] and result.eigenvectors is result[1]


@pytest.mark.parametrize("complex_input", [False, True])
def test_eig_gradients_as_torch(device, complex_input):
    torch = pytest.importorskip("torch")
    A = cmat((2, 3, 3), shift=False) if complex_input else real((2, 3, 3), seed=2)
    w = np.array([1.0, -2.0, 0.5j])

    def ours(a):
        L, V = LA.eig(a)
        return L, V.abs(), (V * mt.tensor(w, device=a.device)) @ LA.inv(V)   # none depends on V's phases

    def theirs(a):
        L, V = torch.linalg.eig(a)
        return L, V.abs(), (V * torch.tensor(w)) @ torch.linalg.inv(V)

    against_torch(ours, theirs, [A], device)
    against_torch(LA.eigvals, torch.linalg.eigvals, [A], device)


def test_eigvals_second_derivative(device):
    A = mt.tensor(real((3, 3), seed=4), device=device, requires_grad=True)
    assert mt.gradgradcheck(lambda a: LA.eigvals(a), [A], rtol=RTOL, atol=ATOL)


def test_eig_phase_dependent_loss_raises_as_torch():
    torch = pytest.importorskip("torch")
    a = real((3, 3), seed=1)
    with pytest.raises(RuntimeError) as expected:
        torch.linalg.eig(torch.tensor(a, requires_grad=True))[1].real.sum().backward()
    with pytest.raises(RuntimeError) as got:
        LA.eig(mt.tensor(a, requires_grad=True))[1].real.sum().backward()
    assert str(got.value) == str(expected.value)


def test_eig_errors():
    with pytest.raises(mt.errors.ShapeError, match="must be batches of square matrices"):
        LA.eig(mt.ones(3, 2))
    with pytest.raises(mt.errors.ShapeError, match="at least 2 dimensions"):
        LA.eigvals(mt.ones(3))
    with pytest.raises(mt.errors.DtypeError, match="floating point or complex"):
        LA.eig(mt.ones(2, 2, dtype=mt.int64))
    with pytest.raises(ValueError, match="should not contain infs or NaNs"):   # torch's message
        LA.eig(mt.full((2, 2), float("nan")))
