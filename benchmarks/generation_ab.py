"""The generation rows of benchmark.py for two versions of minitf, alternated in one run: a git
revision (or a directory holding one) and the working tree, each in its own worker process.

    python benchmarks/generation_ab.py --before 3ddca85 --rounds 4

Each side is benchmark.py's own minitf worker (``--worker minitf``) with that side's minitf on
its path: the same model (the small preset's width, 6 layers, 6 heads, 384, block 256), the
same 255 tokens from a 1-token prompt, with and without the key/value cache. The rounds
alternate which side goes first, so a burst of load on a shared machine hits both. Reported
per side: median wall seconds and tokens/s, and the worker's CPU seconds (user + system, from
/proc) for each generation: on a busy machine the CPU time moves less than the wall time
(though multi-threaded BLAS spinning on a crowded machine inflates it too). Prints a table
and one JSON line; each measurement as it comes, on stderr.
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from benchmark import GEN_TOKENS  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class Side:
    """benchmark.py's minitf worker with the minitf of ``tree`` on its path."""

    def __init__(self, tree: str, threads: int):
        n = str(threads)
        env = dict(os.environ, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
                   MINITF_NUM_THREADS=n, PYTHONPATH=tree)
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "benchmark.py"), "--worker", "minitf",
                                   "--threads", n], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                  text=True)

    def __call__(self, op, **kw):
        c0 = cpu_seconds(self.p.pid)
        self.p.stdin.write(json.dumps(dict(op=op, **kw)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("a worker died (see its messages above)")
        return dict(json.loads(line), cpu=cpu_seconds(self.p.pid) - c0)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def before_tree(rev: str, tmp: str) -> str:
    if os.path.isdir(os.path.join(rev, "minitf")):
        return os.path.abspath(rev)
    archive = os.path.join(tmp, "before.tar")
    subprocess.run(["git", "-C", ROOT, "archive", "-o", archive, rev, "minitf"], check=True)
    with tarfile.open(archive) as tf:
        tf.extractall(os.path.join(tmp, "before"))
    return os.path.join(tmp, "before")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--before", default="HEAD", help="git revision or a directory with minitf/ (default HEAD)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="threads of each side (default: the usable cores, as benchmark.py)")
    p.add_argument("--no-uncached", action="store_true", help="only the cached generation")
    args = p.parse_args(argv)
    for name in ("rounds", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    modes = ("cache",) if args.no_uncached else ("cache", "nocache")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": before_tree(args.before, tmp), "after": ROOT}
        sides = {s: Side(t, args.threads) for s, t in trees.items()}
        res = {(s, m, k): [] for s in sides for m in modes for k in ("wall", "cpu")}
        try:
            for side in sides.values():
                side("setup_gen")                 # builds the model, one cached generation to warm up
            for r in range(args.rounds):
                for mode in modes:
                    for s in (("before", "after") if r % 2 == 0 else ("after", "before")):
                        ans = sides[s]("generate", use_cache=mode == "cache")
                        res[s, mode, "wall"].append(ans["seconds"])
                        res[s, mode, "cpu"].append(ans["cpu"])
                        print(f"round {r} {s:6} {mode:7}: {ans['seconds']:7.3f} s wall, {ans['cpu']:6.2f} s CPU, "
                              f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        finally:
            for side in sides.values():
                side.close()
    summary = dict(before_rev=args.before, rounds=args.rounds, threads=args.threads, load_before=load[0],
                   load_after=os.getloadavg()[0], raw={"/".join(k): v for k, v in res.items()})
    print(f"{'':8}{'cache tok/s':>12}{'cache cpu s':>12}" + (f"{'no-cache tok/s':>15}{'cpu s':>8}{'speed-up':>10}"
                                                            f"{'cpu ratio':>10}" if len(modes) == 2 else ""))
    for s in sides:
        med = {(m, k): statistics.median(res[s, m, k]) for m in modes for k in ("wall", "cpu")}
        row = {"cache_tok_s": GEN_TOKENS / med["cache", "wall"], "cache_cpu_s": med["cache", "cpu"]}
        line = f"{s:8}{row['cache_tok_s']:>12.1f}{row['cache_cpu_s']:>12.3f}"
        if len(modes) == 2:
            row.update(nocache_tok_s=GEN_TOKENS / med["nocache", "wall"], nocache_cpu_s=med["nocache", "cpu"],
                       speedup=med["nocache", "wall"] / med["cache", "wall"],
                       cpu_ratio=med["nocache", "cpu"] / med["cache", "cpu"])
            line += (f"{row['nocache_tok_s']:>15.1f}{row['nocache_cpu_s']:>8.2f}{row['speedup']:>9.1f}x"
                     f"{row['cpu_ratio']:>9.1f}x")
        summary[s] = {k: round(v, 3) for k, v in row.items()}
        print(line)
    print(f"load average (1 min) {load[0]:.1f} before, {summary['load_after']:.1f} after; "
          f"{args.threads} threads per side")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
