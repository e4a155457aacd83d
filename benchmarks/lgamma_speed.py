"""ms per 1M float64 values of ``mt.lgamma`` on the CPU, before (a git revision) and after (this tree),
in alternating subprocesses, with torch.lgamma beside them.

    PYTHONPATH=$PWD python benchmarks/lgamma_speed.py --before main --rounds 3

Ranges: (-10, 0) (the recurrence with a double-double product), (-20, 0) (the reflection, and the
recurrence near the poles above -20), mixed (-10, 10) and positive (0, 20). Each figure is the
best of ``--repeats`` calls in a round; the table gives the median over rounds.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from engine_overhead import checkout_minitf   # the script's folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]
RANGES = {"(-10,0)": (-10.0, 0.0), "(-20,0)": (-20.0, 0.0), "(-10,10)": (-10.0, 10.0), "(0,20)": (0.0, 20.0)}
N = 1_000_000


def _worker(repeats: int, with_torch: bool) -> dict:
    import time

    import numpy as np

    import minitf as mt
    rng = np.random.default_rng(0)
    out = {}
    for name, (lo, hi) in RANGES.items():
        x = rng.uniform(lo, hi, N)
        t = mt.tensor(x)
        mt.lgamma(t)   # warm up (lazy imports)
        best = min(_timed(time, lambda: mt.lgamma(t)) for _ in range(repeats))
        out[name] = best * 1e3
        if with_torch:
            import torch
            tt = torch.from_numpy(x)
            out["torch " + name] = min(_timed(time, lambda: torch.lgamma(tt)) for _ in range(repeats)) * 1e3
    return out


def _timed(time, fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--before", default="main", help="git revision to compare against (default main)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--torch", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.repeats, args.torch)))
        return
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        sides = {"before": checkout_minitf(args.before, tmp), "after": str(ROOT)}
        for r in range(args.rounds):
            for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                cmd = [sys.executable, __file__, "--worker", "--repeats", str(args.repeats)]
                if side == "after" and r == 0:
                    cmd.append("--torch")
                out = subprocess.run(cmd, env={"PYTHONPATH": sides[side], "PATH": "/usr/bin:/bin"},
                                     capture_output=True, text=True, check=True)
                for k, v in json.loads(out.stdout).items():
                    results.setdefault((side, k), []).append(v)
    print(f"ms per 1M float64 values (median of {args.rounds} rounds, best of {args.repeats} calls each)")
    for name in RANGES:
        b = statistics.median(results["before", name])
        a = statistics.median(results["after", name])
        tor = results.get(("after", "torch " + name), [float("nan")])[0]
        print(f"{name:9s} before {b:8.1f}   after {a:8.1f}   after/before {a / b:5.2f}   torch {tor:6.1f}")


if __name__ == "__main__":
    main()
