"""Global settings (default device, determinism, matmul precision, anomaly switches), typename,
is_storage, DLPack and torch's older decompositions and norms (the tensor gaps group)."""
import warnings

import numpy as np
import pytest

import minitf as mt

from .torch_compare import compare_with_torch


@pytest.fixture
def restore_settings():
    yield
    from minitf import settings
    mt.set_default_device(None)
    mt.use_deterministic_algorithms(False)
    settings._matmul_precision[0] = "highest"
    mt.set_anomaly_enabled(False)


def test_default_device_reaches_the_factories(restore_settings):
    assert mt.get_default_device() == "cpu" and mt.get_default_device().type == "cpu"
    mt.set_default_device("fake")
    made = [mt.zeros(2), mt.ones(2), mt.full((2,), 1.0), mt.empty(2), mt.eye(2), mt.arange(3), mt.rand(2),
            mt.randn(2), mt.randint(3, (2,)), mt.tensor([1.0]), mt.linspace(0, 1, 3), mt.randperm(3),
            mt.as_tensor([1, 2]), mt.logspace(0, 1, 2), mt.scalar_tensor(1.0), mt.hann_window(4),
            mt.empty_strided((2,), (1,))]
    assert all(t.device == "fake" for t in made)
    assert mt.get_default_device() == "fake"
    assert mt.zeros(2, device="cpu").device == "cpu"       # an explicit device wins
    assert mt.from_numpy(np.zeros(2)).device == "cpu"       # as torch's, always the host
    assert mt.zeros_like(mt.zeros(2, device="cpu")).device == "cpu"   # *_like keep their input's
    mt.set_default_device(None)
    assert mt.zeros(2).device == "cpu"
    with pytest.raises(mt.DeviceError):
        mt.set_default_device("tpu")


def test_device_as_a_context_manager(restore_settings):
    with mt.device("fake") as d:
        assert d == "fake" and mt.randn(3).device == "fake"
        with mt.device("cpu"):
            assert mt.zeros(1).device == "cpu"
        assert mt.zeros(1).device == "fake"
    assert mt.zeros(1).device == "cpu" and mt.get_default_device() == "cpu"


def test_deterministic_and_matmul_precision_flags_as_torch(restore_settings):
    torch = pytest.importorskip("torch")
    assert mt.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled() is False
    mt.use_deterministic_algorithms(True, warn_only=True)
    assert mt.are_deterministic_algorithms_enabled() and mt.is_deterministic_algorithms_warn_only_enabled()
    assert mt.get_deterministic_debug_mode() == 1
    mt.set_deterministic_debug_mode("error")
    assert mt.get_deterministic_debug_mode() == 2 and not mt.is_deterministic_algorithms_warn_only_enabled()
    mt.set_deterministic_debug_mode(0)
    assert not mt.are_deterministic_algorithms_enabled()
    with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
        mt.set_deterministic_debug_mode("loud")
    with pytest.raises(TypeError):
        mt.use_deterministic_algorithms("yes")
    assert mt.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    mt.set_float32_matmul_precision("medium")
    assert mt.get_float32_matmul_precision() == "medium"
    with pytest.warns(UserWarning, match="not one of 'highest', 'high', or 'medium'"):
        mt.set_float32_matmul_precision("bogus")
    assert mt.get_float32_matmul_precision() == "medium"


def test_anomaly_switches(restore_settings):
    assert not mt.is_anomaly_enabled() and mt.is_anomaly_check_nan_enabled()
    with mt.detect_anomaly():
        assert mt.is_anomaly_enabled()
    mt.set_anomaly_enabled(True)
    assert mt.is_anomaly_enabled()
    x = mt.tensor([-1.0], requires_grad=True)
    with pytest.raises(mt.AnomalyError):
        mt.log(x)   # the checks are on: NaN out of log(-1)
    mt.set_anomaly_enabled(False)
    assert not mt.is_anomaly_enabled() and np.isnan(mt.log(x).item())
    mt.set_anomaly_enabled(True, check_nan=False)
    assert mt.is_anomaly_enabled() and not mt.is_anomaly_check_nan_enabled()
    mt.log(x)   # on in name, checking nothing
    with mt.autograd.set_detect_anomaly(False):
        assert not mt.is_anomaly_enabled()
    assert mt.is_anomaly_enabled() and not mt.is_anomaly_check_nan_enabled()


def test_typename_is_storage_as_torch():
    torch = pytest.importorskip("torch")
    assert mt.typename(mt.zeros(1)) == torch.typename(torch.zeros(1)) == "torch.FloatTensor"
    assert mt.typename(mt.zeros(1, dtype=mt.int64)) == torch.typename(torch.zeros(1, dtype=torch.int64))
    assert mt.typename(1) == torch.typename(1) == "int"
    assert mt.typename(mt.nn.Linear(1, 1)) == "minitf.nn.linear.Linear"
    assert mt.typename(mt.Tensor) == "minitf.tensor.Tensor" and torch.typename(torch.Tensor) == "torch.Tensor"
    assert mt.is_storage(mt.zeros(1)) is torch.is_storage(torch.zeros(1)) is False


def test_dlpack_round_trips_share_memory():
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    x = mt.from_dlpack(a)
    a[0, 0] = 7.0
    assert x[0, 0].item() == 7.0 and x.shape == (2, 3)
    y = mt.from_dlpack(mt.to_dlpack(x))   # a capsule: NumPy makes it read-only (a legacy capsule says nothing)
    a[1, 1] = -1.0
    assert y[1, 1].item() == -1.0
    x[0, 1] = 5.0   # from an object with __dlpack__: writable, as torch's
    assert a[0, 1] == 5.0
    t = torch.from_dlpack(x)   # torch reads minitf's __dlpack__
    assert t.tolist() == x.tolist()
    assert mt.from_dlpack(torch.arange(3)).tolist() == [0, 1, 2]
    assert np.from_dlpack(mt.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="require gradient"):
        mt.to_dlpack(mt.zeros(2, requires_grad=True))
    with pytest.raises(mt.DeviceError, match="fake device"):
        mt.to_dlpack(mt.zeros(2, device="fake"))
    with pytest.raises(TypeError, match="__dlpack__"):
        mt.from_dlpack([1, 2])


# ------------------------------------------------------------------ older decompositions and norms

@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3)])
@pytest.mark.parametrize("some", [True, False])
def test_svd_returns_v_as_torch(shape, some):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal(shape)
    U, S, V = mt.svd(mt.tensor(a), some=some)
    Ut, St, Vt = torch.svd(torch.tensor(a), some=some)
    assert (U.shape, S.shape, V.shape) == (tuple(Ut.shape), tuple(St.shape), tuple(Vt.shape))
    np.testing.assert_allclose(S.numpy(), St.numpy(), rtol=1e-12)
    k = S.shape[-1]
    np.testing.assert_allclose((U[..., :k] * S.unsqueeze(-2)) @ V[..., :k].mT, a, atol=1e-12)
    # the gradient of the singular values (unique, unlike the vectors' signs)
    compare_with_torch(lambda x: mt.svd(x, some=some)[1], lambda x: torch.svd(x, some=some)[1], [a])
    U0, S0, V0 = mt.svd(mt.tensor(a), compute_uv=False)
    Ut0, _, Vt0 = torch.svd(torch.tensor(a), compute_uv=False)
    assert U0.shape == tuple(Ut0.shape) and V0.shape == tuple(Vt0.shape) and not U0.numpy().any()
    assert mt.tensor(a).svd().S.shape == S.shape


def test_qr_cholesky_and_removed_names_as_torch(device):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((4, 3))
    spd = a.T @ a + np.eye(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (both warn that they are deprecated, as torch's)
        for some in (True, False):
            Q, R = mt.qr(mt.tensor(a, device=device), some=some)
            Qt, Rt = torch.qr(torch.tensor(a), some=some)
            np.testing.assert_allclose(np.abs(R.numpy()), np.abs(Rt.numpy()), atol=1e-12)
            assert Q.shape == tuple(Qt.shape)
        for upper in (False, True):
            L = mt.cholesky(mt.tensor(spd, device=device), upper=upper)
            np.testing.assert_allclose(L.numpy(), torch.cholesky(torch.tensor(spd), upper=upper).numpy(), atol=1e-12)
        compare_with_torch(lambda x: mt.cholesky(x @ x.mT + mt.eye(4, dtype=mt.float64), upper=True),
                           lambda x: torch.cholesky(x @ x.mT + torch.eye(4, dtype=torch.float64), upper=True), [a])
    with pytest.warns(UserWarning, match="deprecated in favor of torch.linalg.cholesky"):
        mt.tensor(spd).cholesky()
    with pytest.raises(RuntimeError, match="torch.linalg.lstsq"):
        mt.lstsq(mt.tensor(a), mt.tensor(a))
    with pytest.raises(RuntimeError, match="torch.linalg.matrix_rank"):
        mt.matrix_rank(mt.tensor(a))


def test_legacy_norms_match_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(2).standard_normal((3, 4))
    b = np.random.default_rng(3).standard_normal((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dim, keep in [((0, 1), False), ((0,), False), ((1,), True), (1, False)]:
            compare_with_torch(lambda x: mt.frobenius_norm(x, dim, keep), lambda x: torch.frobenius_norm(x, dim, keep),
                               [a])
        compare_with_torch(lambda x: mt.nuclear_norm(x), lambda x: torch.nuclear_norm(x), [a], rtol=1e-9)
        compare_with_torch(lambda x: mt.nuclear_norm(x, True), lambda x: torch.nuclear_norm(x, True), [a], rtol=1e-9)
        compare_with_torch(lambda x: mt.nuclear_norm(x, (1, 2)), lambda x: torch.nuclear_norm(x, (1, 2)), [b],
                           rtol=1e-9)
        with pytest.raises(ValueError, match="at most 2 dimensions"):
            mt.frobenius_norm(mt.tensor(b), (0, 1, 2))
        with pytest.raises(ValueError, match="2 dimensions"):
            mt.nuclear_norm(mt.tensor(b))
    for p, dim in [(2, 0), (2, 1), (3, 0), (2, -1), (2, -2), (1, 1)]:
        compare_with_torch(lambda x: mt.norm_except_dim(x, p, dim), lambda x: torch.norm_except_dim(x, p, dim), [b])
    with pytest.raises(IndexError):
        mt.norm_except_dim(mt.tensor(a), 2, 2)


def test_svd_and_pca_lowrank(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    low = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5))   # rank 2: exact for q >= 2
    mt.manual_seed(0)
    for A in (low, low.T):
        U, S, V = mt.svd_lowrank(mt.tensor(A, device=device), q=3)
        assert U.shape == (A.shape[0], 3) and V.shape == (A.shape[1], 3)
        np.testing.assert_allclose(((U * S) @ V.mT).cpu().numpy(), A, atol=1e-10)
        np.testing.assert_allclose(S.cpu().numpy()[:2], np.linalg.svd(A, compute_uv=False)[:2], rtol=1e-10)
    b = rng.standard_normal((5, 4, 3))
    U, S, V = mt.pca_lowrank(mt.tensor(b))
    Ut, St, Vt = torch.pca_lowrank(torch.tensor(b))
    assert (U.shape, S.shape, V.shape) == (tuple(Ut.shape), tuple(St.shape), tuple(Vt.shape))
    np.testing.assert_allclose(S.numpy(), St.numpy(), rtol=1e-8)   # full rank (q = 3 = min(m, n)): exact
    with pytest.raises(ValueError, match="not greater than min"):
        mt.pca_lowrank(mt.tensor(b), q=5)
    x = mt.tensor(low, requires_grad=True)
    mt.svd_lowrank(x, q=2)[1].sum().backward()   # differentiable through qr and svd
    assert x.grad.shape == low.shape and np.isfinite(x.grad.numpy()).all()


def test_default_device_is_per_thread_and_restored_after_an_error(restore_settings):
    # as torch's (a threading.local): another thread keeps the CPU, whatever this one set
    import threading
    seen = []

    def factory():
        seen.append(str(mt.zeros(1).device))
        with mt.device("fake"):   # a block in the other thread leaves this thread's default alone
            seen.append(str(mt.zeros(1).device))
            barrier.wait()
            barrier.wait()
    barrier = threading.Barrier(2)
    mt.set_default_device("fake")
    worker = threading.Thread(target=factory)
    worker.start()
    barrier.wait()
    mt.set_default_device("cpu")
    inside = str(mt.zeros(1).device)   # while the other thread is inside its block
    barrier.wait()
    worker.join()
    assert seen == ["cpu", "fake"] and inside == "cpu"
    with pytest.raises(KeyError):
        with mt.device("fake"):
            raise KeyError("x")
    assert mt.zeros(1).device == "cpu" and mt.get_default_device() == "cpu"
