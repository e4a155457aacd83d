"""torch.geqrf / orgqr / ormqr (minitf/linalg/householder.py) against torch 2.13 and by gradcheck."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")


def _rand(rng, *shape, complex_=False):
    a = rng.standard_normal(shape)
    return a + 1j * rng.standard_normal(shape) if complex_ else a


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4), (0, 3)])
@pytest.mark.parametrize("complex_", [False, True])
def test_geqrf_matches_torch(shape, complex_):
    A = _rand(np.random.default_rng(0), *shape, complex_=complex_)
    a, tau = mt.geqrf(mt.tensor(A))
    ta, tt = torch.geqrf(torch.tensor(A))
    np.testing.assert_allclose(a.numpy(), ta.numpy(), atol=1e-13)
    np.testing.assert_allclose(tau.numpy(), tt.numpy(), atol=1e-13)
    assert mt.tensor(A).geqrf().tau.shape == tuple(tt.shape)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_ormqr_and_orgqr_match_torch(left, transpose, shape, complex_=True):
    rng = np.random.default_rng(1)
    A = _rand(rng, *shape, complex_=True)
    m = shape[-2]
    C = _rand(rng, *shape[:-2], m, 2, complex_=True)
    C = C if left else np.swapaxes(C, -1, -2)
    a, tau = mt.geqrf(mt.tensor(A))
    ta, tt = torch.geqrf(torch.tensor(A))
    got = mt.ormqr(a, tau, mt.tensor(C), left=left, transpose=transpose)
    np.testing.assert_allclose(got.numpy(), torch.ormqr(ta, tt, torch.tensor(C), left, transpose).numpy(), atol=1e-13)
    np.testing.assert_allclose(a.ormqr(tau, mt.tensor(C), left, transpose).numpy(), got.numpy())
    if shape[-2] >= shape[-1]:
        np.testing.assert_allclose(mt.orgqr(a, tau).numpy(), torch.orgqr(ta, tt).numpy(), atol=1e-13)


def test_ormqr_gradcheck_and_geqrf_has_none():
    rng = np.random.default_rng(2)
    a, tau = mt.geqrf(mt.tensor(rng.standard_normal((5, 3))))
    C = mt.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    assert mt.gradcheck(lambda a, t, c: mt.ormqr(a, t, c, transpose=True),
                        (a.clone().requires_grad_(), tau.clone().requires_grad_(), C))
    x = mt.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(NotImplementedError, match="derivative for 'geqrf' is not implemented"):
        mt.geqrf(x).a.sum().backward()


def test_ormqr_errors_as_torch():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 3))
    a, tau = mt.geqrf(mt.tensor(A))
    ta, tt = torch.geqrf(torch.tensor(A))
    cases = [(lambda m: (m.tensor(rng.standard_normal((4, 4))),), {}),
             (lambda m: (m.tensor(rng.standard_normal((5, 4))),), {"left": False}),
             (lambda m: (m.tensor(rng.standard_normal(5)),), {}),
             (lambda m: (m.tensor(rng.standard_normal((2, 5, 4))),), {})]
    for make, kw in cases:
        with pytest.raises(RuntimeError) as want:
            torch.ormqr(ta, tt, *make(torch), **kw)
        with pytest.raises(RuntimeError) as got:
            mt.ormqr(a, tau, *make(mt), **kw)
        assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="tau.shape"):
        mt.ormqr(a, tau[:2], mt.tensor(rng.standard_normal((5, 4))))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        mt.geqrf(mt.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="other must be a Tensor"):
        mt.ormqr(a, tau, [[1.0]])
    with pytest.raises(TypeError, match="expected a Tensor"):
        mt.geqrf([[1.0]])


def test_geqrf_ormqr_on_device(device):
    rng = np.random.default_rng(4)
    A, C = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    a, tau = mt.geqrf(mt.tensor(A, device=device))
    assert a.device == tau.device == mt.tensor(A, device=device).device
    got = mt.ormqr(a, tau, mt.tensor(C, device=device), transpose=True)
    ta, tt = torch.geqrf(torch.tensor(A))
    np.testing.assert_allclose(got.cpu().numpy(), torch.ormqr(ta, tt, torch.tensor(C), True, True).numpy(), atol=1e-13)
