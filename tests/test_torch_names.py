"""PyTorch's spellings of things minitf has under its own names: mt.get_num_threads,
mt.cuda.is_available, mt.utils.data without an import, mt.autograd.grad ..."""
import subprocess
import sys

import numpy as np
import pytest

import minitf as mt
from minitf import backend


@pytest.fixture
def restore_threads():
    before = backend.num_threads()
    yield
    backend.set_num_threads(before)


def test_get_num_threads_is_num_threads(restore_threads):
    mt.set_num_threads(3)
    assert mt.get_num_threads() == mt.num_threads() == 3
    mt.set_num_threads(1)
    assert mt.get_num_threads() == 1


def test_thread_names_exist_in_torch():
    torch = pytest.importorskip("torch")
    for name in ("get_num_threads", "set_num_threads"):
        assert callable(getattr(torch, name)) and callable(getattr(mt, name))
    assert isinstance(mt.get_num_threads(), type(torch.get_num_threads()))


def _fresh(code):
    """Run ``code`` in a new interpreter (this worktree's minitf), returning its stdout."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_cuda_namespace_is_light_and_imports_cupy_only_when_asked():
    assert _fresh("import sys, minitf as mt; mt.cuda; print('cupy' in sys.modules, 'minitf.cuda' in sys.modules)"
                  ) == "False True"
    assert _fresh("import sys, minitf; print('minitf.cuda' in sys.modules)") == "False"


def test_cuda_functions_follow_the_backend(monkeypatch):
    assert mt.cuda.is_available() is backend.gpu_available()
    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    assert mt.cuda.is_available() is False and mt.cuda.device_count() == 0
    with pytest.raises(backend.DeviceError, match="no usable GPU"):
        mt.cuda.current_device()
    monkeypatch.setattr(backend, "gpu_available", lambda: True)
    assert mt.cuda.is_available() is True and mt.cuda.device_count() == 1 and mt.cuda.current_device() == 0
    with pytest.raises(backend.DeviceError, match="unknown device"):
        mt.cuda.synchronize("tpu")


def test_cuda_names_exist_in_torch():
    torch = pytest.importorskip("torch")
    for name in mt.cuda.__all__:
        assert callable(getattr(torch.cuda, name)), name
    assert isinstance(mt.cuda.is_available(), bool) and isinstance(torch.cuda.is_available(), bool)


def test_utils_data_without_an_import_and_not_imported_eagerly():
    assert _fresh("import sys, minitf; print('minitf.utils' in sys.modules, 'minitf.utils.data' in sys.modules)"
                  ) == "False False"
    assert _fresh("import minitf as mt; from minitf.utils.data import DataLoader; "
                  "print(mt.utils.data.DataLoader is DataLoader)") == "True"
    assert _fresh("import minitf as mt; print(mt.utils.data.DataLoader.__name__, "
                  "len(list(mt.utils.data.DataLoader(mt.utils.data.TensorDataset(mt.arange(5)), batch_size=2))))"
                  ) == "DataLoader 3"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mt.utils.nope


def test_utils_data_path_as_torch():
    torch = pytest.importorskip("torch")
    for name in mt.utils.data.__all__:
        assert hasattr(torch.utils.data, name), name


# ----------------------------------------------------------------------------- mt.autograd.grad / backward
def test_autograd_grad_is_mt_grad():
    from minitf.autograd import grad
    assert mt.autograd.grad is mt.grad is grad
    assert mt.autograd.detect_anomaly is mt.detect_anomaly   # torch.autograd.detect_anomaly
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mt.autograd.grad((x * x).sum(), x)
    assert g.tolist() == [2.0, 4.0] and x.grad is None


def test_autograd_backward_sums_over_tensors_in_one_pass(device):
    x = mt.tensor([1.0, 2.0, 3.0], dtype=mt.float64, device=device, requires_grad=True)
    h = x * x
    a, b = h.sum(), (h * 2.0)
    # one walk: h's graph is freed only after both, so no retain_graph is needed
    mt.autograd.backward([a, b], [None, mt.tensor([1.0, 0.0, -1.0], dtype=mt.float64, device=device)])
    # d/dx [sum x^2 + <(1, 0, -1), 2 x^2>] = 2x + 4x (1, 0, -1)
    np.testing.assert_allclose(x.grad.numpy(), [2.0 + 4.0, 4.0, 6.0 - 12.0])
    with pytest.raises(RuntimeError, match="freed|retain_graph"):
        b.backward(mt.ones_like(b))


def test_autograd_backward_single_tensor_inputs_and_create_graph(device):
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, device=device, requires_grad=True)
    w = mt.tensor([3.0, 4.0], dtype=mt.float64, device=device, requires_grad=True)
    mt.autograd.backward((x * w).sum(), inputs=[x])
    assert x.grad.tolist() == [3.0, 4.0] and w.grad is None
    x.grad = None
    y = (x ** 3).sum()
    z = x.sum()
    mt.autograd.backward([y, z], inputs=[x], create_graph=True)
    assert x.grad.tolist() == [3.0 + 1.0, 12.0 + 1.0] and x.grad.requires_grad
    (hess,) = mt.grad(x.grad.sum(), x)
    assert hess.tolist() == [6.0, 12.0]


def test_autograd_backward_errors():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="2 tensors but 1 grad_tensors"):
        mt.autograd.backward([x.sum(), x.sum()], [None])
    with pytest.raises(RuntimeError, match="output 1 does not require grad"):
        mt.autograd.backward([x.sum(), mt.ones(1)])
    with pytest.raises(RuntimeError, match="grad_tensors can be omitted only for one-element outputs"):
        mt.autograd.backward([x.sum(), x * 2])
    with pytest.raises(ValueError, match=r"grad_tensors\[1\] has shape"):
        mt.autograd.backward([x.sum(), x * 2], [None, mt.ones(3)])
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mt.autograd.nope


def test_autograd_backward_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 2))
    v = np.random.default_rng(1).standard_normal((3, 2))
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    mt.autograd.backward([(x.tanh() * x).sum(), x.exp()], [None, mt.tensor(v)])
    torch.autograd.backward([(xt.tanh() * xt).sum(), xt.exp()], [None, torch.tensor(v)])
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14)


def test_cuda_manual_seed_reseeds_only_the_gpu_and_is_ignored_without_one(monkeypatch):
    from minitf import random as _random
    seen = []
    monkeypatch.setattr(_random, "seed_generator", lambda dev, seed: seen.append((dev, seed)))
    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    mt.manual_seed(3)
    before = mt.rand(2).tolist()
    mt.manual_seed(3)
    mt.cuda.manual_seed(5)
    mt.cuda.manual_seed_all(5)
    assert seen == [] and mt.rand(2).tolist() == before  # nothing reseeded, the CPU stream untouched
    monkeypatch.setattr(backend, "gpu_available", lambda: True)
    mt.cuda.manual_seed(5)
    assert seen == [("gpu", _random.device_seed(5, "gpu"))]  # the stream mt.manual_seed(5) gives the GPU
    with pytest.raises(ValueError):
        mt.cuda.manual_seed(2 ** 64)


def test_cuda_device_name_says_why_without_a_gpu():
    if backend.gpu_available():
        assert isinstance(mt.cuda.get_device_name(), str) and mt.cuda.get_device_name(0)
    else:
        with pytest.raises(backend.DeviceError):
            mt.cuda.get_device_name()


def test_set_num_threads_bounds_numpys_blas_as_torchs_bounds_its_own(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {d["num_threads"] for d in threadpoolctl.threadpool_info() if d["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS that threadpoolctl can see")
    mt.set_num_threads(1)
    assert blas_threads() == {1}
    mt.set_num_threads(3)
    assert blas_threads() == {3}
