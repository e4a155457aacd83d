"""Device operations (kernel launches on a GPU) of one training step, counted on the fake device.

    python benchmarks/device_ops.py --preset small
    python benchmarks/device_ops.py --preset small --foreach 0 --top 15

On a GPU every array operation is a kernel launch, a few microseconds of host time whatever
its size, so a step of small kernels is bound by their number, not by the GPU. The fake device
(minitf/fakedevice.py) counts them without a GPU: this builds the preset's GPT (no dropout, no
biases, as benchmarks/benchmark.py) on it, runs two steps of forward, cross-entropy, backward,
clipping at 1.0 and AdamW (the optimizer's state made), and prints the second step's count by
phase and, with ``--top``, the lines of minitf that make the most. The counts do not depend on
the batch or the block (tests/models/test_training_step.py), so a small batch is used. The
fake device also counts views (slices, reshapes), which launch nothing on CuPy: an upper bound.
``--foreach 0`` counts the optimizer's per-tensor loop instead of its multi-tensor update
(``foreach=None``, the default, takes the multi-tensor one on a device).
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from race_pytorch import PRESETS, VOCAB, minitf_gpt  # noqa: E402

PHASES = ("forward", "loss", "backward", "clip", "step", "zero_grad")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small", help="model shape (default small)")
    ap.add_argument("--foreach", choices=["auto", "0", "1"], default="auto",
                    help="the optimizer's foreach: auto (None, the default), 0 (per tensor) or 1")
    ap.add_argument("--top", type=int, default=0, help="also list the N lines of minitf making the most")
    args = ap.parse_args(argv)

    import numpy as np
    import minitf as mt
    from minitf import fakedevice, functional as F, optim
    cfg = PRESETS[args.preset]
    model = minitf_gpt(cfg, "fake")
    foreach = {"auto": None, "0": False, "1": True}[args.foreach]
    opt = optim.AdamW(optim.param_groups_for_weight_decay(model.named_parameters(), 0.1), lr=1e-3,
                      foreach=foreach)
    rng = np.random.default_rng(0)
    B, T = 2, 16

    by_line: collections.Counter = collections.Counter()
    phase = ["data"]

    class Tally(list):   # stands for fakedevice.ops ([count]): each increment noted with its caller
        def __setitem__(self, i, value):
            by_line[phase[0], _caller()] += value - list.__getitem__(self, i)
            list.__setitem__(self, i, value)

    def step():
        data = rng.integers(0, VOCAB, (B, T + 1))
        phase[0] = "data"
        x, y = mt.tensor(data[:, :-1], device="fake"), mt.tensor(data[:, 1:].reshape(-1), device="fake")
        phase[0] = "forward"
        logits = model(x)
        phase[0] = "loss"
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y)
        phase[0] = "backward"
        loss.backward()
        phase[0] = "clip"
        optim.clip_grad_norm_(model.parameters(), 1.0)
        phase[0] = "step"
        opt.step()
        phase[0] = "zero_grad"
        opt.zero_grad()

    step()
    saved, fakedevice.ops = fakedevice.ops, Tally([0])
    try:
        step()
    finally:
        fakedevice.ops = saved
    per_phase = collections.Counter()
    for (p, _), n in by_line.items():
        per_phase[p] += n
    n_params = len(list(model.parameters()))
    print(f"{args.preset} GPT ({cfg['n_layer']} layers, {n_params} parameter tensors), one training step on the "
          f"fake device, optimizer foreach={foreach}")
    print(f"{'phase':10s} {'operations':>10s}")
    for p in PHASES:
        print(f"{p:10s} {per_phase.get(p, 0):10d}")
    print(f"{'total':10s} {sum(per_phase.values()):10d}")
    if args.top:
        print(f"\n{'operations':>10s}  {'phase':10s} where")
        for (p, where), n in by_line.most_common(args.top):
            print(f"{n:10d}  {p:10s} {where}")
    return 0


def _caller() -> str:
    """The innermost frame of minitf outside the fake device and the backend: file:function."""
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename.replace("\\", "/")
        if "/minitf/" in name and not name.endswith(("fakedevice.py", "backend/__init__.py")):
            return f"{name.split('/minitf/')[-1]}:{f.f_code.co_name}"
        f = f.f_back
    return "?"


if __name__ == "__main__":
    sys.exit(main())
