"""backend: the thread split of CPU kernels never changes a result."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf import functional as F


@pytest.fixture
def threads():
    before = backend.num_threads()
    yield
    backend.set_num_threads(before)


def test_parallel_rows_covers_every_row_once(threads):
    backend.set_num_threads(3)
    seen = np.zeros(1000, dtype=int)

    def kernel(lo, hi):
        seen[lo:hi] += 1

    backend.parallel_rows(np, kernel, 1000, min_rows=10)
    assert (seen == 1).all()


def test_parallel_rows_runs_once_off_the_cpu(threads):
    backend.set_num_threads(4)
    calls = []
    backend.parallel_rows(backend.array_module("fake"), lambda lo, hi: calls.append((lo, hi)), 1000, 1)
    assert calls == [(0, 1000)]


@pytest.mark.parametrize("op", ["gelu", "layer_norm"])
def test_threaded_kernels_equal_single_threaded_bit_for_bit(threads, op):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((64, 40, 256)).astype(np.float32)  # large enough to be split
    g_np = rng.standard_normal(x_np.shape).astype(np.float32)
    w_np = rng.standard_normal(256).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        backend.set_num_threads(n)
        x = mt.tensor(x_np, requires_grad=True)
        w = mt.tensor(w_np, requires_grad=True)
        y = F.gelu(x) if op == "gelu" else F.layer_norm(x, w)
        y.backward(g_np)
        results.append((y.numpy().copy(), x.grad.copy(), None if w.grad is None else w.grad.copy()))
    for y, gx, gw in results[1:]:
        assert np.array_equal(y, results[0][0])
        assert np.array_equal(gx, results[0][1])
        if gw is not None:
            assert np.array_equal(gw, results[0][2])


def test_set_num_threads_rejects_nonsense():
    with pytest.raises(ValueError, match="positive int"):
        backend.set_num_threads(0)
    with pytest.raises(ValueError, match="positive int"):
        backend.set_num_threads("2")
