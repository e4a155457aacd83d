"""The slow special functions against torch on the CPU: exact and tanh GELU, erf, lgamma, digamma
and stft, forward and forward+backward, as a table of ms per call and the ratio minitf / torch.

    PYTHONPATH=$PWD python benchmarks/special_speed.py --rounds 5 --threads 1

minitf and torch run in their own subprocesses, alternated round by round (minitf first in even
rounds, torch first in odd ones); each figure is the median of ``--repeats`` calls within a round,
and the table gives the median over rounds. ``--threads`` bounds both sides' CPU threads (minitf's
set_num_threads, torch's set_num_threads); ``--before REV`` adds a column for minitf at a git
revision, in its own alternated subprocesses too.

Forward+backward: y = op(x) then y.backward(g), g a fixed random cotangent of y's shape (complex for
stft), x a leaf that requires grad.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (64, 1024)
STFT_SHAPE, N_FFT, HOP = (8, 16000), 512, 128

# name -> (op, input range, dtype); "stft" is separate (its input and cotangent differ)
CASES = {
    "gelu none": ("gelu_none", (-6.0, 6.0), "float32"),
    "gelu tanh": ("gelu_tanh", (-6.0, 6.0), "float32"),
    "erf": ("erf", (-4.0, 4.0), "float32"),
    "erf f64": ("erf", (-4.0, 4.0), "float64"),
    "gelu none f64": ("gelu_none", (-6.0, 6.0), "float64"),
    "lgamma (0,20)": ("lgamma", (0.0, 20.0), "float32"),
    "lgamma (-10,10)": ("lgamma", (-10.0, 10.0), "float32"),
    "lgamma f64 (0,20)": ("lgamma", (0.0, 20.0), "float64"),
    "digamma (0,20)": ("digamma", (0.0, 20.0), "float32"),
    "digamma (-10,10)": ("digamma", (-10.0, 10.0), "float32"),
    "digamma f64 (0,20)": ("digamma", (0.0, 20.0), "float64"),
    "stft": ("stft", (-1.0, 1.0), "float32"),
}


def _ops(lib, F):
    """op name -> callable on a tensor of ``lib`` (minitf or torch: the same API)."""
    def stft(x):
        return lib.stft(x, N_FFT, hop_length=HOP, window=stft.window, return_complex=True)
    stft.window = lib.hann_window(N_FFT)
    return {"gelu_none": lambda x: F.gelu(x), "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
            "erf": lib.erf, "lgamma": lib.lgamma, "digamma": lib.digamma, "stft": stft}


def _worker(lib_name: str, repeats: int, threads: int) -> dict:
    import time

    import numpy as np
    if lib_name == "torch":
        import torch as lib
        import torch.nn.functional as F
        lib.set_num_threads(threads)
        tensor = lambda a: lib.from_numpy(a)   # noqa: E731
    else:
        import minitf as lib
        import minitf.nn.functional as F
        lib.set_num_threads(threads)
        tensor = lambda a: lib.tensor(a)   # noqa: E731
    ops = _ops(lib, F)
    out = {}
    for case, (op, (lo, hi), dtype) in CASES.items():
        rng = np.random.default_rng(0)
        shape = STFT_SHAPE if op == "stft" else SHAPE
        a = rng.uniform(lo, hi, shape).astype(dtype)
        fn = ops[op]
        y0 = fn(tensor(a))
        g = rng.standard_normal(tuple(y0.shape)).astype(dtype)
        if op == "stft":
            g = (g + 1j * rng.standard_normal(tuple(y0.shape))).astype(np.complex64)
        gt = tensor(g)

        def forward():
            fn(tensor(a))

        def both():
            x = tensor(a)
            x.requires_grad_(True)
            fn(x).backward(gt)

        for label, call in (("fwd", forward), ("fwd+bwd", both)):
            call()   # warm up (lazy imports, caches)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
            out[f"{case}|{label}"] = statistics.median(times) * 1e3
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--before", default=None, help="also time minitf at this git revision")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.repeats, args.threads)))
        return
    from engine_overhead import checkout_minitf   # the script's folder is on sys.path
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        sides = {"minitf": str(ROOT), "torch": str(ROOT)}
        if args.before:
            sides["before"] = checkout_minitf(args.before, tmp)
        order = list(sides)
        for r in range(args.rounds):
            for side in (order if r % 2 == 0 else order[::-1]):
                cmd = [sys.executable, __file__, "--worker", "torch" if side == "torch" else "minitf",
                       "--repeats", str(args.repeats), "--threads", str(args.threads)]
                env = {"PYTHONPATH": sides[side], "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": str(args.threads)}
                done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if done.returncode:
                    sys.exit(f"{side} worker failed:\n{done.stderr}")
                for k, v in json.loads(done.stdout).items():
                    results.setdefault((side, k), []).append(v)
    print(f"CPU, {args.threads} thread(s); ms per call, median of {args.rounds} rounds of the median of "
          f"{args.repeats} calls; elementwise ops on {SHAPE}, stft on {STFT_SHAPE} (n_fft {N_FFT}, hop {HOP}, hann)")
    head = f"{'op':20s} {'pass':8s} {'dtype':8s} {'minitf':>8s} {'torch':>8s} {'ratio':>6s}"
    print(head + (f" {'before':>8s} {'after/before':>12s}" if args.before else ""))
    for case, (op, _, dtype) in CASES.items():
        for label in ("fwd", "fwd+bwd"):
            key = f"{case}|{label}"
            m, t = (statistics.median(results[s, key]) for s in ("minitf", "torch"))
            line = f"{case:20s} {label:8s} {dtype:8s} {m:8.3f} {t:8.3f} {m / t:6.2f}"
            if args.before:
                b = statistics.median(results["before", key])
                line += f" {b:8.3f} {m / b:12.2f}"
            print(line)


if __name__ == "__main__":
    main()
