"""Gradient checkpointing (``GPTConfig(checkpoint_blocks=True)``): peak memory and step time, with and without.

    python benchmarks/checkpoint_memory.py                       # block 512, batch 4, baby width
    python benchmarks/checkpoint_memory.py --block-size 1024 --batch-size 2 --rounds 3

One training step is forward, cross-entropy, backward (no optimizer: it is the
same either way). Peak memory is the peak of the bytes NumPy allocated during
one step, from ``tracemalloc`` (NumPy reports its array buffers to it), above
what was allocated before the step (the model, its gradients from the previous
step, the batch). Step time is the median over ``--iters`` steps, timed without
tracemalloc, in wall-clock time and in the process's CPU time (all its
threads; less sensitive than wall time to other jobs on a shared machine: run
with ``OPENBLAS_NUM_THREADS=1 MINITF_NUM_THREADS=1`` so that no thread waits
for another). The two variants alternate in ``--rounds`` rounds, so that a
machine busy with other work slows both alike.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc

import numpy as np

import minitf as mt
from minitf import functional as F
from minitf import models


def build(args, checkpoint_blocks):
    mt.manual_seed(0)
    cfg = models.GPTConfig(vocab_size=65, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head,
                           n_embd=args.n_embd, dropout=0.0, bias=False, checkpoint_blocks=checkpoint_blocks)
    return models.GPT(cfg)


def step(model, x, y):
    for p in model.parameters():
        p.grad = None
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    loss.backward()
    return loss.item()


def peak_bytes(model, x, y) -> int:
    step(model, x, y)                      # gradients exist, as in training
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    step(model, x, y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--block-size", type=int, default=512, help="context length T of the batch (default 512)")
    p.add_argument("--batch-size", type=int, default=4, help="blocks B per batch (default 4)")
    p.add_argument("--n-layer", type=int, default=4, help="transformer blocks (default 4)")
    p.add_argument("--n-head", type=int, default=4, help="attention heads; must divide --n-embd (default 4)")
    p.add_argument("--n-embd", type=int, default=128, help="embedding width C (default 128)")
    p.add_argument("--iters", type=int, default=3, help="timed steps per variant per round (default 3)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the two variants (default 3)")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    for name in ("block_size", "batch_size", "n_layer", "n_head", "n_embd", "iters", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.n_embd % args.n_head:
        p.error(f"--n-embd ({args.n_embd}) must be a multiple of --n-head ({args.n_head})")

    r = np.random.default_rng(0)
    x = mt.tensor(r.integers(0, 65, (args.batch_size, args.block_size)))
    y = mt.tensor(r.integers(0, 65, (args.batch_size, args.block_size)))
    variants = {"plain": build(args, False), "checkpoint_blocks": build(args, True)}
    times = {k: [] for k in variants}
    cpu = {k: [] for k in variants}
    peaks, losses = {}, {}
    for name, model in variants.items():
        peaks[name] = peak_bytes(model, x, y)
        losses[name] = step(model, x, y)
    for _ in range(args.rounds):
        for name, model in variants.items():
            for _ in range(args.iters):
                t0, c0 = time.perf_counter(), time.process_time()
                step(model, x, y)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    res = {"config": vars(args), "peak_mib": {k: v / 2**20 for k, v in peaks.items()},
           "step_ms": {k: 1e3 * statistics.median(v) for k, v in times.items()},
           "cpu_ms": {k: 1e3 * statistics.median(v) for k, v in cpu.items()},
           "loss": losses}
    print(f"GPT n_layer {args.n_layer}, n_head {args.n_head}, n_embd {args.n_embd}, "
          f"batch {args.batch_size} x block {args.block_size}; {args.rounds} rounds x {args.iters} steps")
    print(f"{'':20s}{'peak MiB':>10s}{'step ms':>10s}{'CPU ms':>10s}")
    for k in variants:
        print(f"{k:20s}{res['peak_mib'][k]:10.1f}{res['step_ms'][k]:10.1f}{res['cpu_ms'][k]:10.1f}")
    ratio = lambda d: d["checkpoint_blocks"] / d["plain"]  # noqa: E731
    print(f"memory ratio {ratio(res['peak_mib']):.2f}, time ratio {ratio(res['step_ms']):.2f}, "
          f"CPU time ratio {ratio(res['cpu_ms']):.2f}; "
          f"losses equal: {losses['plain'] == losses['checkpoint_blocks']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    main()
