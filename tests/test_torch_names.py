"""PyTorch's spellings of things minitf has under its own names: mt.get_num_threads,
mt.cuda.is_available, mt.utils.data without an import, mt.autograd.grad ..."""
import subprocess
import sys

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
