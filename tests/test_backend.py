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


@pytest.mark.parametrize("query_chunk", [None, 8])   # None: as shipped (T = 64: one chunk)
def test_threaded_attention_equals_single_threaded_bit_for_bit(threads, monkeypatch, query_chunk):
    if query_chunk is not None:   # the causal query chunks, split over threads too
        from minitf.ops import attention
        monkeypatch.setattr(attention, "_QUERY_CHUNK", query_chunk)
    rng = np.random.default_rng(0)
    q_np, k_np, v_np = (rng.standard_normal((8, 4, 64, 16)).astype(np.float32) for _ in range(3))
    g_np = rng.standard_normal((8, 4, 64, 16)).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        backend.set_num_threads(n)
        mt.manual_seed(0)
        q, k, v = (mt.tensor(a, requires_grad=True) for a in (q_np, k_np, v_np))
        y = F.scaled_dot_product_attention(q, k, v, causal=True, dropout_p=0.1)
        y.backward(g_np)
        results.append([y.numpy().copy()] + [t.grad.numpy().copy() for t in (q, k, v)])
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            assert np.array_equal(a, b)


def test_attention_cache_blocks_do_not_change_results(threads, monkeypatch):
    """Attention works on cache-sized blocks of rows: any block size gives the same bits."""
    from minitf.ops import attention
    rng = np.random.default_rng(1)
    q_np, k_np, v_np, g_np = (rng.standard_normal((6, 3, 32, 8)).astype(np.float32) for _ in range(4))
    backend.set_num_threads(2)
    results = []
    for block in (1, 32 * 32 * 3 * 2, 10 ** 9):             # one row, two rows, everything at once
        monkeypatch.setattr(attention, "_CACHE_SCORES", block)
        q, k, v = (mt.tensor(a, requires_grad=True) for a in (q_np, k_np, v_np))
        y = F.scaled_dot_product_attention(q, k, v, causal=True)
        y.backward(g_np)
        results.append([y.numpy().copy()] + [t.grad.numpy().copy() for t in (q, k, v)])
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            assert np.array_equal(a, b)


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
        y = F.gelu(x, approximate="tanh") if op == "gelu" else F.layer_norm(x, w)  # the threaded kernel
        y.backward(g_np)
        results.append((y.numpy().copy(), x.grad.numpy().copy(), None if w.grad is None else w.grad.numpy().copy()))
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


# --- the GPU path's errors, with stand-in CuPy modules (no GPU and no CuPy here)

class _NoGPUCupy:
    """Imports fine, as CuPy does without a GPU; the first allocation fails."""

    class cuda:
        class runtime:
            class CUDARuntimeError(RuntimeError):
                pass

    @staticmethod
    def zeros(*a, **k):
        raise _NoGPUCupy.cuda.runtime.CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")


class _BrokenImport:
    """A finder whose `import cupy` raises OSError, as a missing libcuda does."""

    def find_spec(self, name, path=None, target=None):
        if name == "cupy":
            raise OSError("libcuda.so.1: cannot open shared object file")
        return None


@pytest.fixture
def fresh_gpu_state(monkeypatch):
    import sys
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_gpu_error", None)
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    return sys


def test_cupy_without_gpu_names_the_reason(fresh_gpu_state, monkeypatch):
    monkeypatch.setitem(fresh_gpu_state.modules, "cupy", _NoGPUCupy)
    with pytest.raises(mt.DeviceError, match="no usable GPU.*CUDARuntimeError.*no CUDA-capable device"):
        mt.tensor([1.0], device="gpu")
    assert not mt.gpu_available()
    assert "no usable GPU" in backend.gpu_unavailable_reason()


def test_cupy_failing_to_import_is_a_clear_error(fresh_gpu_state, monkeypatch):
    monkeypatch.setattr(fresh_gpu_state, "meta_path", [_BrokenImport()] + fresh_gpu_state.meta_path)
    with pytest.raises(mt.DeviceError, match="failed to import.*OSError.*libcuda"):
        mt.tensor([1.0], device="gpu")


def test_cupy_missing_says_how_to_install(fresh_gpu_state, monkeypatch):
    monkeypatch.setitem(fresh_gpu_state.modules, "cupy", None)  # `import cupy` raises ImportError
    with pytest.raises(mt.DeviceError, match=r'not installed.*pip install -e "\.\[gpu\]"'):
        mt.tensor([1.0], device="gpu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_scatter_add_sorted_rows_matches_add_at(dtype):
    """The sorted fast path of scatter_add (1-D integer index) against np.add.at: repeats,
    negative indices naming the same row as positive ones, a non-zero target, 1-D and 3-D rows."""
    rng = np.random.default_rng(0)
    for shape in ((7,), (7, 5), (7, 3, 2)):
        target = (rng.standard_normal(shape) * 10).astype(dtype)
        index = np.array([0, 3, -1, 6, 3, 3, -7, 2])            # -1 is row 6, -7 is row 0
        values = (rng.standard_normal((len(index),) + shape[1:]) * 10).astype(dtype)
        expected = target.copy()
        np.add.at(expected, index, values)
        backend.scatter_add(target, index, values)
        # a different summation order (each row's values first, then the target): float32
        # rounding of terms ~10 differs by a few ulps of 10, hence an absolute tolerance there
        tol = dict(rtol=1e-6, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(target, expected, **tol)
        if dtype == np.int64:
            np.testing.assert_array_equal(target, expected)


class _FakeGPUCupy:
    """Just enough of CuPy for backend.gpu_info and gpu_pool_growth: one device, a pool."""
    __version__ = "14.2.0"

    class cuda:
        class runtime:
            @staticmethod
            def getDeviceProperties(i):
                return {"name": b"NVIDIA H200", "totalGlobalMem": 141 * 2 ** 30}

            driverGetVersion = staticmethod(lambda: 13000)
            runtimeGetVersion = staticmethod(lambda: 13000)

        class Device:
            id = 0

            def synchronize(self):
                pass

    class _Pool:
        total = 0

        def free_all_blocks(self):
            pass

        def total_bytes(self):
            return self.total

    pool = _Pool()
    get_default_memory_pool = staticmethod(lambda: _FakeGPUCupy.pool)
    zeros = staticmethod(lambda *a, **k: np.zeros(*a, **k))


def test_gpu_facts_come_from_backend(fresh_gpu_state, monkeypatch):
    """The experiments and the GPU check read GPU facts through backend (only it knows CuPy)."""
    monkeypatch.setitem(fresh_gpu_state.modules, "cupy", _FakeGPUCupy)
    info = backend.gpu_info()
    assert info == {"name": "NVIDIA H200", "memory_bytes": 141 * 2 ** 30, "driver": 13000,
                    "cuda_runtime": 13000, "cupy": "14.2.0"}

    def allocate():
        _FakeGPUCupy.pool.total += 4096
    assert backend.gpu_pool_growth(allocate) == 4096


def test_gpu_facts_without_a_gpu_are_a_device_error(fresh_gpu_state, monkeypatch):
    monkeypatch.setitem(fresh_gpu_state.modules, "cupy", _NoGPUCupy)
    with pytest.raises(mt.DeviceError, match="no usable GPU"):
        backend.gpu_info()


def test_cupy_has_every_xp_name_minitf_uses_for_gpu():
    """Every ``xp.<name>`` (and ``xp.<name>.<attr>``) in minitf exists in CuPy, where CuPy is
    installed (no GPU needed: this reads attributes only). The fake device forwards any NumPy
    name, so it would not catch one CuPy lacks. (CuPy 14.2, installed without a GPU on the
    development machine, passed; the GPU check runs it on the GPU machine.)"""
    import pathlib
    import re
    cupy = pytest.importorskip("cupy")
    pkg = pathlib.Path(mt.__file__).parent   # the whole package (backend is a subpackage of it)
    missing = set()
    for path in pkg.rglob("*.py"):
        if path.name == "fakedevice.py":
            continue
        for m in re.finditer(r"\bxp\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?", path.read_text(encoding="utf-8")):
            name, attr = m.groups()
            if name == "scatter_add":   # the fake namespace's; CuPy's is cupyx.scatter_add (backend)
                continue
            if not hasattr(cupy, name) or (attr and not hasattr(getattr(cupy, name), attr)):
                missing.add(f"{path.name}: xp.{name}" + (f".{attr}" if attr else ""))
    assert not missing, sorted(missing)


def test_only_the_backend_package_imports_cupy():
    """The rule in ARCHITECTURE.md: the backend package is the only code that knows CuPy."""
    import pathlib
    import re
    pkg = pathlib.Path(mt.__file__).parent
    found = sorted(str(path.relative_to(pkg)) for path in pkg.rglob("*.py")
                   if path.parent != pkg / "backend"
                   and re.search(r"^\s*(import|from)\s+cupyx?\b", path.read_text(encoding="utf-8"), re.M))
    assert not found, found
    assert re.search(r"^\s*import cupy\b", (pkg / "backend" / "__init__.py").read_text(encoding="utf-8"), re.M)
