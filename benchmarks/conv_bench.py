"""One table of minitf's convolution and pooling speed on CPU, against PyTorch eager.

    python benchmarks/conv_bench.py                          # every case, 1 thread
    python benchmarks/conv_bench.py --threads 2 --json out.json
    python benchmarks/conv_bench.py --old /tmp/convold       # also an older minitf checkout, alternated

Each library runs in its own worker process (so neither's allocator or BLAS
threads touch the other's figures); the parent sends every worker the same
commands and alternates their order in rounds, so that a burst of load on a
shared machine hits all of them. ``--old PATH`` adds a third worker that imports
minitf from PATH (a worktree of an older commit): before and after in one run.

Every case is timed as forward + backward (the gradient of the output's sum,
with respect to the input and every weight), float32, the same data in every
worker; the training step adds cross-entropy and an SGD (momentum) update.
Rows: the median wall ms per library, and the ratio minitf / PyTorch
(> 1: minitf slower), and old / minitf with ``--old`` (> 1: minitf faster).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (kind, arguments): N, C, H, W for images; O output channels; k kernel; s stride; p padding
CASES = {
    "conv2d 3x3 (32,16,32,32)->32 + max_pool2d(2)": ("conv_pool", dict(shape=(32, 16, 32, 32), o=32)),
    "conv2d 3x3 p1 (32,16,32,32)->32": ("conv2d", dict(shape=(32, 16, 32, 32), o=32, k=3, s=1, p=1)),
    "conv2d 3x3 p1 (32,64,16,16)->64": ("conv2d", dict(shape=(32, 64, 16, 16), o=64, k=3, s=1, p=1)),
    "conv2d 3x3 p1 (32,128,8,8)->128": ("conv2d", dict(shape=(32, 128, 8, 8), o=128, k=3, s=1, p=1)),
    "conv2d 3x3 s2 p1 (32,32,32,32)->64": ("conv2d", dict(shape=(32, 32, 32, 32), o=64, k=3, s=2, p=1)),
    "conv2d 1x1 (32,64,16,16)->128": ("conv2d", dict(shape=(32, 64, 16, 16), o=128, k=1, s=1, p=0)),
    "conv1d k5 p2 (32,64,256)->64": ("conv1d", dict(shape=(32, 64, 256), o=64, k=5, s=1, p=2)),
    "max_pool2d 2 (32,64,32,32)": ("max_pool2d", dict(shape=(32, 64, 32, 32), k=2, s=2, p=0)),
    "max_pool2d 3 s2 p1 (32,64,32,32)": ("max_pool2d", dict(shape=(32, 64, 32, 32), k=3, s=2, p=1)),
    "avg_pool2d 2 (32,64,32,32)": ("avg_pool2d", dict(shape=(32, 64, 32, 32), k=2, s=2, p=0)),
    "batch_norm2d train (32,64,32,32)": ("batch_norm2d", dict(shape=(32, 64, 32, 32))),
    "small CNN step (32,3,32,32)": ("cnn_step", dict(shape=(32, 3, 32, 32))),
    "tiny CNN step (8,1,8,8), the test's": ("tiny_step", dict(shape=(8, 1, 8, 8))),
}


# ------------------------------------------------------------------ the workers
class Lib:
    """The same few calls on minitf and on torch (whose APIs minitf follows)."""

    def __init__(self, name, threads):
        self.name = name
        if name == "pytorch":
            import torch
            torch.set_num_threads(threads)
            self.t, self.nn, self.F, self.optim = torch, torch.nn, torch.nn.functional, torch.optim
            self.tensor = lambda a, grad=False: torch.tensor(a, requires_grad=grad)
        else:
            import minitf as mt
            from minitf import functional as F, nn, optim
            mt.set_num_threads(threads)
            self.t, self.nn, self.F, self.optim = mt, nn, F, optim
            self.tensor = lambda a, grad=False: mt.tensor(a, requires_grad=grad)

    def info(self):
        if self.name == "pytorch":
            return dict(version=self.t.__version__, threads=self.t.get_num_threads())
        return dict(path=os.path.dirname(os.path.dirname(self.t.__file__)), threads=self.t.num_threads(),
                    numpy=np.__version__)

    def build(self, kind, a):
        """A function running one forward + backward of the case."""
        rng = np.random.default_rng(0)
        f32 = lambda *s: rng.standard_normal(s).astype(np.float32)   # noqa: E731
        F, nn = self.F, self.nn
        shape = tuple(a["shape"])
        if kind in ("conv_pool", "conv2d", "conv1d"):
            k = a.get("k", 3)
            x = self.tensor(f32(*shape), True)
            w = self.tensor(f32(a["o"], shape[1], *(k,) * (len(shape) - 2)) * 0.1, True)
            b = self.tensor(f32(a["o"]), True)
            conv = F.conv1d if kind == "conv1d" else F.conv2d
            if kind == "conv_pool":   # the author's first measurement: no bias
                return self._fwd_bwd(lambda: F.max_pool2d(F.conv2d(x, w, padding=1), 2), [x, w])
            return self._fwd_bwd(lambda: conv(x, w, b, stride=a["s"], padding=a["p"]), [x, w, b])
        if kind in ("max_pool2d", "avg_pool2d"):
            x = self.tensor(f32(*shape), True)
            pool = getattr(F, kind)
            return self._fwd_bwd(lambda: pool(x, a["k"], a["s"], a["p"]), [x])
        if kind == "batch_norm2d":
            x = self.tensor(f32(*shape), True)
            bn = nn.BatchNorm2d(shape[1])
            return self._fwd_bwd(lambda: bn(x), [x] + list(bn.parameters()))
        if kind in ("cnn_step", "tiny_step"):
            if kind == "cnn_step":
                model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten(), nn.Linear(64, 10))
                classes = 10
            else:
                model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4, 3))
                classes = 3
            self._same_weights(model, rng)
            opt = self.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            x = self.tensor(f32(*shape))
            y = self.tensor(rng.integers(0, classes, shape[0]))

            def step():
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                return loss.item()
            return step
        raise ValueError(f"unknown case kind {kind!r}")

    def _same_weights(self, model, rng):
        """Overwrite every parameter with the same seeded draw in both libraries."""
        state = model.state_dict()
        new = {}
        for key, v in state.items():
            arr = rng.standard_normal(tuple(v.shape)).astype(np.float32) * 0.2 if key.endswith(("weight", "bias")) \
                else v.numpy()   # the batch norms' running statistics as they are
            new[key] = self.t.tensor(np.array(arr))
        model.load_state_dict(new)

    def _fwd_bwd(self, fn, leaves):
        def run():
            for t in leaves:
                t.grad = None
            fn().sum().backward()
        return run


def worker_main(name, threads):
    """Answer one JSON command per line on stdin with one JSON line on stdout."""
    lib = Lib(name, threads)
    out = sys.stdout
    sys.stdout = sys.stderr   # nothing else may write to the answer channel
    cases = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "info":
            ans = lib.info()
        elif cmd["op"] == "setup":
            fn = cases[cmd["case"]] = lib.build(*CASES[cmd["case"]])
            for _ in range(cmd["warmup"]):
                fn()
            ans = {}
        elif cmd["op"] == "run":
            fn, times = cases[cmd["case"]], []
            for _ in range(cmd["reps"]):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            ans = dict(times=times)
        else:
            ans = dict(error=f"unknown op {cmd['op']}")
        out.write(json.dumps(ans) + "\n")
        out.flush()


class Worker:
    """The parent's handle on one worker process; ``path``: the directory its minitf is imported from."""

    def __init__(self, name, lib, threads, path):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), MINITF_NUM_THREADS=str(threads),
                   PYTHONPATH=os.pathsep.join([path, os.environ.get("PYTHONPATH", "")]))
        self.name = name
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", lib, "--threads",
                                   str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
                                  cwd=path)

    def __call__(self, op, **kw):
        self.p.stdin.write(json.dumps(dict(op=op, **kw)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker died (see its messages above)")
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of every library (default 1: the steadiest per-op figures on a shared machine)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--reps", type=int, default=5, help="timed runs of each case per worker per round (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs of each case first (default 2)")
    ap.add_argument("--case", action="append", metavar="SUBSTRING",
                    help="only the cases whose name contains this (repeatable; default every case)")
    ap.add_argument("--old", metavar="PATH", help="also time the minitf of this checkout (e.g. a git worktree)")
    ap.add_argument("--no-torch", action="store_true", help="without PyTorch, even if it is installed")
    ap.add_argument("--json", help="write every raw time here")
    ap.add_argument("--worker", choices=["minitf", "pytorch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.threads)
    for name in ("threads", "rounds", "reps"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1")
    if args.warmup < 0:
        ap.error("--warmup must be >= 0")
    if args.old and not os.path.isdir(os.path.join(args.old, "minitf")):
        ap.error(f"--old {args.old}: no minitf package there")
    cases = [c for c in CASES if not args.case or any(s in c for s in args.case)]
    if not cases:
        ap.error(f"no case matches {args.case}; the cases: {', '.join(CASES)}")
    root = os.path.dirname(HERE)
    specs = [("minitf", "minitf", root)]
    if args.old:
        specs.insert(0, ("old", "minitf", os.path.abspath(args.old)))
    if not args.no_torch:
        import importlib.util
        if importlib.util.find_spec("torch") is not None:
            specs.append(("pytorch", "pytorch", root))
    names = [s[0] for s in specs]
    workers = {name: Worker(name, lib, args.threads, path) for name, lib, path in specs}
    load = os.getloadavg()
    times = {c: {n: [] for n in names} for c in cases}
    try:
        info = {n: w("info") for n, w in workers.items()}
        for c in cases:
            for w in workers.values():
                w("setup", case=c, warmup=args.warmup)
        for r in range(args.rounds):
            for c in cases:
                for n in (names if r % 2 == 0 else names[::-1]):
                    times[c][n] += workers[n]("run", case=c, reps=args.reps)["times"]
    finally:
        for w in workers.values():
            w.close()
    load_after = os.getloadavg()
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or None
    except OSError:
        commit = None
    print(f"minitf commit {commit}; {os.uname().machine}, {len(os.sched_getaffinity(0))} usable cores, "
          f"{args.threads} thread(s) per library, load average {load[0]:.1f} before, {load_after[0]:.1f} after")
    for n in names:
        print(f"  {n}: " + ", ".join(f"{k} {v}" for k, v in info[n].items()))
    med = {c: {n: statistics.median(times[c][n]) * 1e3 for n in names} for c in cases}
    head = f"{'forward + backward, median ms':<44}" + "".join(f"{n:>10}" for n in names)
    if "pytorch" in names:
        head += f"{'/torch':>8}"
    if "old" in names:
        head += f"{'old/new':>9}"
    print(head)
    print("-" * len(head))
    for c in cases:
        m = med[c]
        line = f"{c:<44}" + "".join(f"{m[n]:>10.2f}" for n in names)
        if "pytorch" in names:
            line += f"{m['minitf'] / m['pytorch']:>8.2f}"
        if "old" in names:
            line += f"{m['old'] / m['minitf']:>9.2f}"
        print(line)
    print(f"median of {args.rounds * args.reps} runs per case and library; /torch: minitf / pytorch (> 1: minitf "
          f"slower)" + ("; old/new: > 1, minitf faster than the old checkout" if args.old else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(commit=commit, threads=args.threads, load_before=load, load_after=load_after, info=info,
                           times=times, median_ms=med), f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
