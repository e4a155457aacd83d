"""mt.linalg.ldl_factor(_ex) / ldl_solve: torch's LD and pivots exactly as LAPACK's sytrf lays them
out (users index them), info, solutions, errors, and no gradient (as torch), on both devices."""
import numpy as np
import pytest

import minitf as mt
from minitf import linalg as LA

pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def symmetric(shape, kind, seed, small_diagonal=False):
    """Random symmetric (real, complex) or Hermitian ('hermitian') indefinite matrices."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if kind != "real":
        a = a + 1j * rng.standard_normal(shape)
    a = a + (np.swapaxes(a, -1, -2).conj() if kind == "hermitian" else np.swapaxes(a, -1, -2))
    if small_diagonal:   # forces 2x2 pivots and row swaps
        a[..., np.arange(shape[-1]), np.arange(shape[-1])] *= 0.01
    return a


CASES = [(kind, n, small, seed) for kind in ("real", "complex", "hermitian") for n in (1, 2, 5, 8)
         for small in (False, True) for seed in (0, 1)]


@pytest.mark.parametrize("kind,n,small,seed", CASES)
def test_ldl_factor_and_solve_as_torch(kind, n, small, seed):
    torch = pytest.importorskip("torch")
    a = symmetric((3, n, n), kind, seed, small)
    a[..., np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]] = 7.0   # only the lower triangle is read
    herm = kind == "hermitian"
    LD, piv, info = LA.ldl_factor_ex(mt.tensor(a), hermitian=herm)
    LDt, pivt, infot = torch.linalg.ldl_factor_ex(torch.tensor(a), hermitian=herm)
    np.testing.assert_array_equal(piv.numpy(), pivt.numpy())
    np.testing.assert_allclose(LD.numpy(), LDt.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(info.numpy(), infot.numpy())
    assert piv.dtype == info.dtype == mt.int32 and LD.dtype == a.dtype
    b = np.random.default_rng(9).standard_normal((3, n, 2)).astype(a.dtype)
    X = LA.ldl_solve(LD, piv, mt.tensor(b), hermitian=herm)
    np.testing.assert_allclose(X.numpy(), torch.linalg.ldl_solve(LDt, pivt, torch.tensor(b), hermitian=herm).numpy(),
                               rtol=1e-9, atol=1e-11)


def test_ldl_on_both_devices_and_broadcasting(device):
    a = symmetric((2, 4, 4), "real", 3, small_diagonal=True)
    LD, piv = LA.ldl_factor(mt.tensor(a, device=device))
    assert LD.device == piv.device == device
    b = np.random.default_rng(1).standard_normal((3, 1, 4, 2))                  # batch dims broadcast
    X = LA.ldl_solve(LD, piv, mt.tensor(b, device=device))
    assert X.shape == (3, 2, 4, 2) and X.device == device
    np.testing.assert_allclose(a @ X.numpy(), np.broadcast_to(b, X.shape), rtol=1e-9, atol=1e-10)
    result = LA.ldl_factor_ex(mt.tensor(a, device=device))
    assert result.LD is result[0] and result.pivots is result[1] and result.info is result[2]


def test_singular_matrices_and_errors():
    torch = pytest.importorskip("torch")
    z = np.zeros((2, 3, 3))
    z[1] = symmetric((3, 3), "real", 0)
    LD, piv, info = LA.ldl_factor_ex(mt.tensor(z))
    _, pivt, infot = torch.linalg.ldl_factor_ex(torch.tensor(z))
    assert info.tolist() == infot.tolist() == [1, 0] and piv.tolist() == pivt.tolist()
    # torch 2.13 fails here with an internal assertion ("Unknown error code: 1"); minitf names the block
    with pytest.raises(mt.linalg.LinAlgError, match=r"\(Batch element 0\): .*singular: the diagonal block D\[1,1\]"):
        LA.ldl_factor(mt.tensor(z))
    with pytest.raises(mt.linalg.LinAlgError, match="singular"):
        LA.ldl_factor_ex(mt.tensor(z), check_errors=True)
    with pytest.raises(mt.errors.ShapeError, match="must be batches of square matrices"):
        LA.ldl_factor(mt.ones(3, 2))
    with pytest.raises(mt.errors.DtypeError, match="floating point or complex"):
        LA.ldl_factor(mt.ones(3, 3, dtype=mt.int64))
    LD, piv = LA.ldl_factor(mt.eye(3, dtype=mt.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        LA.ldl_solve(LD, piv, mt.ones(3, 1))
    with pytest.raises(RuntimeError, match="each A matrix is 3 by 3 but each b matrix is 4 by 1"):
        LA.ldl_solve(LD, piv, mt.ones(4, 1, dtype=mt.float64))
    with pytest.raises(RuntimeError, match="pivots.shape to be the same"):
        LA.ldl_solve(LD.expand(2, 3, 3), piv, mt.ones(3, 1, dtype=mt.float64))


def test_no_gradient_as_torch():
    a = mt.tensor(symmetric((3, 3), "real", 0), requires_grad=True)
    LD, piv = LA.ldl_factor(a)
    assert LD.requires_grad and not piv.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        LD.sum().backward()
    b = mt.ones(3, 1, dtype=mt.float64, requires_grad=True)
    X = LA.ldl_solve(LD.detach(), piv, b)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not implemented"):
        X.sum().backward()
    assert not LA.ldl_solve(LD.detach(), piv, b.detach()).requires_grad


@pytest.mark.parametrize("shape,b_shape", [((0, 0), (0, 2)), ((2, 0, 0), (2, 0, 3)), ((0, 3, 3), (0, 3, 1)),
                                           ((3, 3), (3, 0)), ((2, 3, 3), (0, 1, 3, 1))])
def test_empty_matrices_and_batches_as_torch(shape, b_shape):
    torch = pytest.importorskip("torch")
    a = np.eye(shape[-1]) * np.arange(1, 1 + int(np.prod(shape[:-2]))).reshape(shape[:-2] + (1, 1))
    b = np.ones(b_shape)
    LD, piv, info = LA.ldl_factor_ex(mt.tensor(a))
    LDt, pivt, infot = torch.linalg.ldl_factor_ex(torch.tensor(a))
    assert (LD.shape, piv.shape, info.shape) == (tuple(LDt.shape), tuple(pivt.shape), tuple(infot.shape))
    np.testing.assert_array_equal(piv.numpy(), pivt.numpy())
    X = LA.ldl_solve(LD, piv, mt.tensor(b))
    Xt = torch.linalg.ldl_solve(LDt, pivt, torch.tensor(b))
    assert X.shape == tuple(Xt.shape)
    np.testing.assert_allclose(X.numpy(), Xt.numpy())


@pytest.mark.parametrize("kind", ["real", "complex", "hermitian"])
def test_larger_than_lapacks_block_as_torch(kind):
    """n = 70 > 64: torch's sytrf takes its blocked path (lasyf), minitf the unblocked one; the
    pivots (the same choices) and LD agree."""
    torch = pytest.importorskip("torch")
    a = symmetric((70, 70), kind, 5, small_diagonal=True)
    herm = kind == "hermitian"
    LD, piv, info = LA.ldl_factor_ex(mt.tensor(a), hermitian=herm)
    LDt, pivt, infot = torch.linalg.ldl_factor_ex(torch.tensor(a), hermitian=herm)
    np.testing.assert_array_equal(piv.numpy(), pivt.numpy())
    np.testing.assert_allclose(LD.numpy(), LDt.numpy(), rtol=1e-9, atol=1e-11)
    assert int(info) == int(infot) == 0
