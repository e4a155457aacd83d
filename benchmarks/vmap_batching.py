"""vmap's batched run against its per-example loop (and torch.func.vmap where torch is installed)
for an MLP: the forward of B examples, and per-example gradients ``vmap(grad(loss))`` of the
same MLP through ``functional_call`` (cross-entropy), float32.

    python benchmarks/vmap_batching.py --batch 64 --rounds 5 [--before main]

``--before REV``: the batched run of minitf as of git revision REV too (column "before"), in the
same rounds, for a before/after table of one run.

Each measurement runs in a process of its own, the three variants alternated round by round
(so that a busy machine slows all of them alike); a cell is the median over rounds of the
per-round median time of one call. BLAS and torch run on one thread (``--threads``): on a
shared machine multi-threaded BLAS varies by tens of percent from run to run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (32, 128, 128, 10)   # in, hidden, hidden, classes


def worker(variant: str, task: str, batch: int, repeats: int) -> float:
    import numpy as np
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    cs = rng.integers(0, SIZES[-1], batch)
    if variant == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        nn, F, func, tensor = torch.nn, torch.nn.functional, torch.func, torch.tensor
    else:
        import minitf as mt
        import minitf.nn.functional as F
        from minitf import func
        mt.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        nn, tensor = mt.nn, mt.tensor
        if variant == "loop":
            sys.modules["minitf.func.vmap"]._BATCHING = False
    layers = []
    for a, b in zip(SIZES, SIZES[1:]):
        layers += [nn.Linear(a, b), nn.GELU()]
    model = nn.Sequential(*layers[:-1])
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, c = tensor(xs), tensor(cs)

    def loss(p, x, c):
        return F.cross_entropy(func.functional_call(model, p, (x.unsqueeze(0),)), c.unsqueeze(0))
    if task == "forward":
        run = func.vmap(lambda x: model(x))
        call = lambda: run(x)   # noqa: E731
    else:
        run = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
        call = lambda: run(params, x, c)   # noqa: E731
    for _ in range(5):   # warm-up: the first calls of a process also fault in the memory of the batch's arrays
        call()
    if variant in ("batched", "before"):   # the batched run really ran (no fall-back to the loop)
        assert sys.modules["minitf.func.vmap"].last_fallback is None, sys.modules["minitf.func.vmap"].last_fallback
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--before", help="git revision whose batched run to time too (column 'before')")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(worker(a.worker[0], a.worker[1], a.batch, a.repeats))
        return
    import importlib.util
    import tempfile
    variants = ("batched", "loop") + (("torch",) if importlib.util.find_spec("torch") else ())
    n = str(a.threads)   # NumPy's BLAS reads its thread count at start-up: set in the workers' environment
    env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_THREADS=n, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n,
               MKL_NUM_THREADS=n)
    envs = dict.fromkeys(variants, env)
    tmp = tempfile.TemporaryDirectory()
    if a.before:
        from engine_overhead import checkout_minitf   # (this script's folder is on sys.path)
        variants = ("before",) + variants
        envs["before"] = dict(env, PYTHONPATH=checkout_minitf(a.before, tmp.name))
    results = {}
    for task in ("forward", "per_example_grad"):
        per = {v: [] for v in variants}
        for _ in range(a.rounds):
            for v in variants:
                out = subprocess.run([sys.executable, __file__, "--worker", v, task, "--batch", str(a.batch),
                                      "--repeats", str(a.repeats)], env=envs[v], capture_output=True, text=True,
                                     check=True)
                per[v].append(float(out.stdout.strip().splitlines()[-1]))
        results[task] = {v: statistics.median(ts) for v, ts in per.items()}
    print(f"MLP {'-'.join(map(str, SIZES))}, B={a.batch}, float32, {a.threads} thread(s); ms per call "
          f"(median of {a.rounds} rounds)")
    ratios = [("loop", "batched")] + [(v, "torch") for v in ("before", "batched") if v in variants and "torch" in variants]
    head = "| task | " + " | ".join(f"{v} vmap" for v in variants) + "".join(f" | {p} / {q}" for p, q in ratios) + " |"
    print(head)
    print("|" + "---|" * (len(variants) + len(ratios) + 1))
    for task, r in results.items():
        cells = " | ".join(f"{r[v] * 1e3:.2f}" for v in variants)
        print(f"| {task} | {cells}" + "".join(f" | {r[p] / r[q]:.1f}x" for p, q in ratios) + " |")
    print(json.dumps({t: {v: round(s * 1e3, 3) for v, s in r.items()} for t, r in results.items()}))


if __name__ == "__main__":
    main()
