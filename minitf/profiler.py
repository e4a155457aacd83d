"""An op profiler: time and call counts per op, forward and backward separately.

    with mt.profile() as prof:
        loss = model(x)
        loss.backward()
    print(prof)                    # the table, sorted by total time

Every ``Function.apply`` (forward) and every node of a backward pass is timed with
``time.perf_counter``; on a GPU the device is synchronised before and after each
timing, so an op's time is its own and not that of work queued before it (which also
makes the profiled run slower than a normal one). Off by default: with no profiler
active the engine does not time anything. Under ``create_graph=True`` the ops that a
recorded backward runs are also counted as forward calls.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from . import debughooks


@dataclass
class OpStat:
    """Totals for one op in one direction."""
    name: str
    direction: str
    calls: int = 0
    seconds: float = 0.0


class profile:
    """Context manager recording per-op times; ``prof.stats`` is a list of :class:`OpStat`
    sorted by total time, ``prof.table()`` (and ``print(prof)``) formats it. It records the ops
    of the thread that entered it, as torch's autograd profiler (thread-local)."""

    synchronize = True

    def __init__(self):
        self._stats: dict = {}
        self.wall_seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()
        debughooks.push(self, thread=True)   # this thread's ops only, as torch's autograd profiler
        return self

    def __exit__(self, *exc):
        debughooks.pop(self)
        self.wall_seconds = time.perf_counter() - self._start

    def _add(self, name, direction, seconds):
        s = self._stats.get((name, direction))
        if s is None:
            s = self._stats[name, direction] = OpStat(name, direction)
        s.calls += 1
        s.seconds += seconds

    def on_forward(self, cls, inputs, out, seconds):
        self._add(cls.__name__, "forward", seconds)

    def on_backward(self, fn, grad_out, grads_in, seconds):
        self._add(type(fn).__name__, "backward", seconds)

    @property
    def stats(self) -> list:
        return sorted(self._stats.values(), key=lambda s: (-s.seconds, s.name, s.direction))

    @property
    def total_seconds(self) -> float:
        """The time spent inside ops (forward and backward), summed."""
        return sum(s.seconds for s in self._stats.values())

    def table(self, top: int | None = None) -> str:
        """One row per (op, direction): calls, total ms, mean us per call, share of the op time."""
        rows = self.stats[:top] if top else self.stats
        total = self.total_seconds or 1.0
        w = max([len("op")] + [len(s.name) for s in rows])
        lines = [f"{'op':<{w}}  {'direction':<9}  {'calls':>7}  {'total ms':>10}  {'mean us':>10}  {'share':>6}"]
        for s in rows:
            lines.append(f"{s.name:<{w}}  {s.direction:<9}  {s.calls:>7d}  {1e3 * s.seconds:>10.3f}  "
                         f"{1e6 * s.seconds / s.calls:>10.1f}  {100 * s.seconds / total:>5.1f}%")
        lines.append(f"ops total {1e3 * self.total_seconds:.3f} ms of {1e3 * self.wall_seconds:.3f} ms "
                     f"wall time in the profiled block")
        return "\n".join(lines)

    __str__ = table
