"""Where the time of a training step goes: ``mt.profile()`` over a few steps of a preset.

    python benchmarks/profile_step.py --preset baby --steps 5 --threads 1

Builds the preset's GPT (no dropout, no biases, as benchmarks/benchmark.py), runs
``--warmup`` unprofiled steps (the allocator and the optimizer's state settle), then
profiles ``--steps`` steps of forward, cross-entropy, backward, clipping and AdamW,
and prints the per-op table (forward and backward apart), the time outside the ops
(the optimizer, clipping and Python) and the machine's BLAS threads. The table in
docs/training.md ("Where the time goes") comes from this command.

    python benchmarks/profile_step.py --preset small --device gpu

profiles the step on a GPU (``--device``; the profiler waits for the device around each op,
so each row is that op's own time, launch and kernel).

    python benchmarks/profile_step.py --preset baby --threads 2 --torch

profiles the same step in PyTorch eager instead (benchmarks/race_pytorch.py's model, AdamW
and clipping without foreach, as benchmarks/benchmark.py), with ``torch.profiler``: its
table of self CPU time per aten op, to set beside minitf's (run each in its own process).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from race_pytorch import PRESETS, VOCAB, minitf_gpt  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="baby", help="model and batch shape (default baby)")
    ap.add_argument("--steps", type=int, default=5, help="profiled steps (default 5)")
    ap.add_argument("--warmup", type=int, default=3, help="unprofiled steps first (default 3)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS and minitf threads (default 1: per-op times are steadiest on one core)")
    ap.add_argument("--top", type=int, default=10, help="rows of the table (default 10)")
    ap.add_argument("--device", choices=["cpu", "gpu", "fake"], default="cpu",
                    help="where minitf's step runs (default cpu)")
    ap.add_argument("--torch", action="store_true", help="profile PyTorch eager's step instead (needs torch)")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--steps and --threads must be >= 1, --warmup >= 0")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy loads its BLAS
    if args.torch:
        return _profile_torch(args)

    import numpy as np
    import minitf as mt
    from minitf import backend, functional as F, optim
    mt.set_num_threads(args.threads)
    cfg = PRESETS[args.preset]
    model = minitf_gpt(cfg, args.device)
    opt = optim.AdamW(optim.param_groups_for_weight_decay(model.named_parameters(), 0.1), lr=1e-3)
    rng = np.random.default_rng(0)
    B, T = cfg["batch_size"], cfg["block_size"]

    def step():
        data = rng.integers(0, VOCAB, (B, T + 1))
        loss = F.cross_entropy(model(mt.tensor(data[:, :-1], device=args.device)).reshape(-1, VOCAB),
                               mt.tensor(data[:, 1:].reshape(-1), device=args.device))
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    for _ in range(args.warmup):
        step()
    backend.synchronize(args.device)
    t0 = time.perf_counter()
    with mt.profile() as prof:
        for _ in range(args.steps):
            step()
    backend.synchronize(args.device)
    wall = time.perf_counter() - t0
    print(f"{args.steps} {args.preset} steps (B = {B}, T = {T}) on {args.device}, {args.threads} thread(s), "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(prof.table(top=args.top))
    outside = wall - prof.total_seconds
    print(f"per step: {wall / args.steps * 1e3:.2f} ms, of which {outside / args.steps * 1e3:.2f} ms outside "
          f"the ops (AdamW, clipping, Python)")
    return 0


def _profile_torch(args) -> int:
    try:
        import torch
    except ImportError:
        print("error: --torch needs PyTorch (pip install torch); minitf never imports it", file=sys.stderr)
        return 2
    import numpy as np
    from torch.profiler import ProfilerActivity, profile
    from race_pytorch import torch_gpt
    torch.set_num_threads(args.threads)
    cfg = PRESETS[args.preset]
    torch.manual_seed(0)
    model = torch_gpt(torch, cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=False)
    rng = np.random.default_rng(0)
    B, T = cfg["batch_size"], cfg["block_size"]

    def step():
        data = torch.from_numpy(rng.integers(0, VOCAB, (B, T + 1)))
        logits = model(data[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), data[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=False)
        opt.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    wall = time.perf_counter() - t0
    print(f"{args.steps} {args.preset} steps (B = {B}, T = {T}) in PyTorch {torch.__version__}, {args.threads} "
          f"thread(s), {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top, max_name_column_width=48))
    print(f"per step: {wall / args.steps * 1e3:.2f} ms (profiled)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
