"""The chunked ``F.linear_cross_entropy`` against ``F.cross_entropy(F.linear(h, W), y)``: peak memory and step time.

    python benchmarks/linear_cross_entropy.py                 # the baby, small and GPT-2-vocabulary heads
    python benchmarks/linear_cross_entropy.py --rounds 5 --iters 5 --shapes baby:768:128:65

One step is the head alone: h (N, H) and W (V, H) requiring grad, the loss and its
backward (dh and dW), from a fresh start each time. Peak memory is the peak of the bytes
NumPy allocated during one step, from ``tracemalloc`` (NumPy reports its array buffers
to it), above what was allocated before it (h, W, y). Time is the median over
``--iters`` steps per round in wall-clock time; the variants alternate in ``--rounds``
rounds, so that a machine busy with other work slows both alike. The chunked op runs
with ``LinearCrossEntropyOptions()`` (chunking_method "auto": rows whose logits take
half the input's memory); ``--chunk`` sets batch_chunk_size instead.

The shapes (name:N:H:V): the baby and small presets' heads (B T rows, vocabulary 65
for Tiny Shakespeare), and GPT-2's vocabulary (50257) at the small preset's width with
fewer rows, where the logits dominate.
"""
from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

import minitf as mt
from minitf import functional as F
from minitf import nn

SHAPES = ["baby:768:128:65", "small:16384:384:65", "gpt2-vocab:512:128:50257"]


def make(n, h, v, seed=0):
    rng = np.random.default_rng(seed)
    x = mt.tensor(rng.standard_normal((n, h)).astype(np.float32), requires_grad=True)
    w = mt.tensor((0.02 * rng.standard_normal((v, h))).astype(np.float32), requires_grad=True)
    y = mt.tensor(rng.integers(0, v, n))
    return x, w, y


def step(variant, x, w, y, options):
    x.grad = w.grad = None
    if variant == "reference":
        loss = F.cross_entropy(F.linear(x, w), y)
    else:
        loss = F.linear_cross_entropy(x, w, y, options=options)
    loss.backward()
    return loss


def peak_bytes(variant, x, w, y, options):
    x.grad = w.grad = None
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step(variant, x, w, y, options)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", nargs="+", default=SHAPES, help="name:N:H:V heads (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--chunk", type=int, default=None, help="batch_chunk_size (default: chunking_method auto)")
    args = p.parse_args(argv)
    options = (nn.LinearCrossEntropyOptions() if args.chunk is None
               else nn.LinearCrossEntropyOptions(batch_chunk_size=args.chunk, chunking_method=None))
    print(f"{'head':12s} {'N':>6s} {'H':>4s} {'V':>6s} {'chunk':>6s} {'ref MiB':>8s} {'lce MiB':>8s} "
          f"{'ref ms':>8s} {'lce ms':>8s} {'time':>6s} {'|dloss|':>8s}")
    for spec in args.shapes:
        name, n, h, v = spec.split(":")
        n, h, v = int(n), int(h), int(v)
        x, w, y = make(n, h, v)
        ref = step("reference", x, w, y, options)
        got = step("chunked", x, w, y, options)
        dloss = abs(float(ref.item()) - float(got.item()))
        mem = {k: peak_bytes(k, x, w, y, options) / 2**20 for k in ("reference", "chunked")}
        times = {"reference": [], "chunked": []}
        for _ in range(args.rounds):
            for k in times:
                for _ in range(args.iters):
                    t0 = time.perf_counter()
                    step(k, x, w, y, options)
                    times[k].append(time.perf_counter() - t0)
        ms = {k: 1e3 * statistics.median(t) for k, t in times.items()}
        chunk = options.chunk_rows(n, h, v)
        print(f"{name:12s} {n:6d} {h:4d} {v:6d} {chunk:6d} {mem['reference']:8.1f} {mem['chunked']:8.1f} "
              f"{ms['reference']:8.2f} {ms['chunked']:8.2f} {ms['chunked'] / ms['reference']:6.2f} {dloss:8.1e}")


if __name__ == "__main__":
    main()
