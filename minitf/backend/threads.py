"""The worker threads that CPU kernels split their rows over (NumPy runs one core per call);
CuPy and the fake device need none. The pool and the thread count are this module's own state."""
from __future__ import annotations

import os

import numpy as np

_pool = None          # worker threads for CPU kernels, made on first use
_pool_pid = None      # the process that made them (a forked child makes its own)


_threads = None       # how many threads CPU kernels use (set_num_threads, or found on first use)


def num_threads() -> int:
    """Threads that CPU kernels split their rows over (see :func:`set_num_threads`)."""
    global _threads
    if _threads is None:
        env = os.environ.get("MINITF_NUM_THREADS")
        if env:
            try:
                _threads = int(env)
            except ValueError:
                raise ValueError(f"MINITF_NUM_THREADS must be a positive integer, got {env!r}") from None
            if _threads < 1:
                raise ValueError(f"MINITF_NUM_THREADS must be a positive integer, got {env!r}")
        else:
            _threads = usable_cores()
    return _threads


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity on Linux, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for CPU kernels (default: ``MINITF_NUM_THREADS`` or the usable cores).

    As ``torch.set_num_threads`` bounds its BLAS too, so does this NumPy's BLAS (OpenBLAS's
    matrix products) where threadpoolctl is installed (the ``bench`` extra); without it the
    BLAS keeps its own setting (``OPENBLAS_NUM_THREADS``)."""
    global _threads, _pool, _blas_limits
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    _threads = n
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    try:   # imported here, on the call: `import minitf` stays free of it
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    # the limit holds by itself (threadpoolctl restores only when asked); the first call's controller
    # is kept, whose restore_original_limits() gives the BLAS its own setting back
    limits = threadpool_limits(limits=n, user_api="blas")
    if _blas_limits is None:
        _blas_limits = limits


_blas_limits = None   # threadpoolctl's controller of the first BLAS limit set_num_threads set


def chunk_elements(xp, n: int, cpu_chunk: int) -> int:
    """Elements per inner step of a chunked kernel over ``n`` elements: ``cpu_chunk`` on the CPU,
    where a step's temporaries then stay in cache; all ``n`` elsewhere, where each step is a
    kernel launch per operation and a loop over chunks costs host time growing with the size."""
    return cpu_chunk if xp is np else max(n, 1)


def parallel_rows(xp, kernel, n: int, min_rows: int) -> None:
    """Run ``kernel(lo, hi)`` over the rows [0, n), split into contiguous blocks across threads.

    NumPy runs one core per call and releases the GIL inside its loops, so on
    the CPU a row-wise kernel (elementwise math, per-row reductions) gains from
    running its blocks on several threads; each row is computed exactly as it
    would be in one call, so results do not depend on the split. CuPy (and the
    fake device) run the kernel once over all rows: the GPU parallelises it.
    Blocks smaller than ``min_rows`` are not worth a thread.
    """
    global _pool, _pool_pid
    workers = min(num_threads(), n // max(min_rows, 1)) if xp is np else 1
    if workers <= 1:
        kernel(0, n)
        return
    if _pool is None or _pool_pid != os.getpid():
        from concurrent.futures import ThreadPoolExecutor
        _pool, _pool_pid = ThreadPoolExecutor(max_workers=num_threads() - 1,
                                              thread_name_prefix="minitf"), os.getpid()
    bounds = [n * i // workers for i in range(workers + 1)]
    futures = [_pool.submit(kernel, bounds[i], bounds[i + 1]) for i in range(1, workers)]
    kernel(bounds[0], bounds[1])
    for f in futures:
        f.result()
