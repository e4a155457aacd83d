"""The cost of the engine on the default path (no create_graph, no debug tool on), compared
between two versions of minitf: a git revision and the working tree, alternated round by
round in one run so that a busy machine slows both alike.

    python benchmarks/engine_overhead.py --before 10b91dd --rounds 5

Two measurements, each the median over its repeats within a round (then the median over
rounds, and the median of the per-round after/before ratios): a chain of 100 small ops (8x8, forward and backward: the engine's own overhead
dominates) and one training step of the baby GPT (4 layers, C=128, B=12, T=64: forward,
cross-entropy, backward, AdamW). Prints a table and one JSON line.

BLAS and minitf run on one thread by default (``--threads``): the engine's overhead is
Python work on one core, and on a shared machine multi-threaded BLAS varies by tens of
percent from run to run (the same code against itself differed by 18% with the default
threads, next to other jobs on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(kind: str, repeats: int, threads: int) -> float:
    import numpy as np
    import minitf as mt
    from minitf import functional as F
    mt.set_num_threads(threads)
    if kind == "chain":
        x = mt.tensor(np.random.default_rng(0).standard_normal((8, 8)), requires_grad=True)

        def once():
            y = x
            for _ in range(25):
                y = F.tanh(y * 1.01 + 0.1) @ x
            y.sum().backward()
            x.grad = None
    else:
        from minitf import models, optim
        cfg = models.GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
        mt.manual_seed(0)
        model = models.GPT(cfg)
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        rng = np.random.default_rng(0)
        idx = mt.tensor(rng.integers(0, 65, (12, 64)))
        tgt = mt.tensor(rng.integers(0, 65, (12, 64)))

        def once():
            loss = F.cross_entropy(model(idx).reshape(-1, 65), tgt.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    for _ in range(3):
        once()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def checkout_minitf(revision: str, tmp: str) -> str:
    """A folder under ``tmp`` holding the minitf package as of git ``revision`` (for PYTHONPATH)."""
    archive = Path(tmp) / "before.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), revision, "minitf"], check=True)
    with tarfile.open(archive) as tf:
        tf.extractall(Path(tmp) / "before")
    return str(Path(tmp) / "before")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))  # the first paragraph
    p.add_argument("--before", default="HEAD", help="git revision to compare against (default HEAD)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds of the two versions (default 5)")
    p.add_argument("--threads", type=int, default=1, help="BLAS and minitf threads (default 1)")
    p.add_argument("--worker", choices=["chain", "gpt"], help=argparse.SUPPRESS)
    p.add_argument("--repeats", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(worker(args.worker, args.repeats, args.threads))
        return 0
    for name in ("rounds", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    with tempfile.TemporaryDirectory() as tmp:
        sides = {"before": checkout_minitf(args.before, tmp), "after": str(ROOT)}
        results = {(s, k): [] for s in sides for k in ("chain", "gpt")}
        for r in range(args.rounds):
            for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                for kind, repeats in (("chain", 200), ("gpt", 10)):
                    n = str(args.threads)
                    env = dict(os.environ, PYTHONPATH=sides[side], OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n,
                               MKL_NUM_THREADS=n)
                    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--repeats", str(repeats),
                                          "--threads", n],
                                         env=env, check=True, capture_output=True, text=True, cwd=tmp)
                    results[side, kind].append(float(out.stdout))
    summary = {f"{s}_{k}_ms": round(1e3 * statistics.median(v), 3) for (s, k), v in results.items()}
    for kind in ("chain", "gpt"):
        b, a = summary[f"before_{kind}_ms"], summary[f"after_{kind}_ms"]
        # the ratio within each round, where both sides met the same load, then its median
        paired = statistics.median(x / y for x, y in zip(results["after", kind], results["before", kind]))
        summary[f"{kind}_paired_ratio"] = round(paired, 3)
        print(f"{kind:6s} before {b:9.3f} ms   after {a:9.3f} ms   after/before {a / b:.3f}   "
              f"median of per-round ratios {paired:.3f}")
    print(json.dumps({"before": args.before, "rounds": args.rounds, "threads": args.threads, **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
