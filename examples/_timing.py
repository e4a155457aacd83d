"""The experiments' timer, table and memory peak (re-exported by examples/_common.py, from which
the scripts import them): medians of alternated rounds, a plain-text table, and the bytes a call
allocates at its peak. It uses only minitf's public API.
"""
from __future__ import annotations

import statistics
import time

import minitf as mt


def synchronize(device: str) -> None:
    """Wait for queued GPU work: copying one element to the host waits for the stream."""
    if device == "gpu":
        mt.zeros(1, device=device).numpy()


def time_alternating(fns: dict, repeats: int, device: str = "cpu", warmup: int = 1,
                     min_time_s: float = 0.0, max_repeats: int = 200, clock: str = "wall") -> dict:
    """Median time (s) of each callable in ``fns``, run in alternating rounds.

    Every round runs each function once, in an order that rotates from round to
    round, so that a slow spell of a shared machine hits all of them alike.
    At least ``repeats`` rounds; more (up to ``max_repeats``) when the warm-up
    round shows that ``min_time_s`` of rounds would hold more, so that quick
    calls get enough samples for a steady median.

    Both clocks are recorded: wall time (``time.perf_counter``) and this
    process's CPU time (``time.process_time``, all its threads). ``clock``
    picks the one reported as ``median_s``. On a machine shared with other jobs
    a call longer than a scheduler time slice is stretched in wall time by the
    share of the CPU it gets, a short one is not, which biases comparisons
    between calls of different lengths; CPU time is not stretched, and with one
    thread it is what the wall time would be on a quiet machine.
    Returns {name: {"median_s", "min_s", "wall_median_s", "cpu_median_s", "times_s", "cpu_times_s"}}.
    """
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    names = list(fns)
    t0 = time.perf_counter()
    for _ in range(warmup):
        for n in names:
            fns[n]()
    synchronize(device)
    if warmup and min_time_s > 0:
        per_round = (time.perf_counter() - t0) / warmup
        repeats = max(repeats, min(max_repeats, int(min_time_s / max(per_round, 1e-9))))
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            c0, t0 = time.process_time(), time.perf_counter()
            fns[n]()
            synchronize(device)
            wall[n].append(time.perf_counter() - t0)
            cpu[n].append(time.process_time() - c0)
    out = {}
    for n in names:
        chosen = wall[n] if clock == "wall" else cpu[n]
        out[n] = {"median_s": statistics.median(chosen), "min_s": min(chosen),
                  "wall_median_s": statistics.median(wall[n]), "cpu_median_s": statistics.median(cpu[n]),
                  "times_s": wall[n], "cpu_times_s": cpu[n]}
    return out


def print_table(headers: list[str], rows: list[list]) -> None:
    """A plain fixed-width table on stdout."""
    cells = [[h for h in headers]] + [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for j, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(v) -> str:
    if isinstance(v, float):
        if v == 0:
            return "0"
        a = abs(v)
        return f"{v:.3g}" if 1e-3 <= a < 1e5 else f"{v:.3e}"
    return str(v)


def peak_memory(fn, device: str = "cpu") -> int:
    """Bytes newly allocated at the peak of ``fn()`` (run once, untimed: tracing slows it).

    CPU: tracemalloc, which sees NumPy's array buffers. GPU: CuPy's memory pool,
    whose blocks stay reserved after use, so its growth over the call is the peak."""
    if device == "gpu":
        from minitf import backend
        return backend.gpu_pool_growth(fn)
    import tracemalloc
    tracemalloc.start()
    try:
        fn()
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
