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
