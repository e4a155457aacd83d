"""AdamW's step alone, a loop over the tensors against one flat update (``foreach``), on the CPU.

    python benchmarks/optimizer_step.py                  # baby and small
    python benchmarks/optimizer_step.py --preset baby --rounds 7

Builds the preset's GPT (benchmarks/race_pytorch.py's ``minitf_gpt``), gives every parameter
a gradient, makes two AdamW optimizers over the same parameters (weight decay on the matrices,
as the training job), ``foreach=False`` and ``foreach=True``, and times ``opt.step()`` of each in
alternating rounds of ``--steps`` steps, printing the median ms per step. The optimizer's default
on the CPU (``foreach=None``) is the loop; on a device, the flat update (minitf/optim/multi_tensor.py).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from race_pytorch import PRESETS, minitf_gpt  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), action="append",
                    help="preset(s) whose parameters are stepped (default: baby and small)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    ap.add_argument("--steps", type=int, default=10, help="steps per round (default 10)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        ap.error("--rounds and --steps must be at least 1")

    import minitf as mt
    from minitf import optim
    print(f"{'preset':<8}{'tensors':>8}{'loop ms':>10}{'flat ms':>10}{'flat / loop':>13}")
    for preset in args.preset or ["baby", "small"]:
        model = minitf_gpt(PRESETS[preset])
        params = list(model.parameters())
        for p in params:
            p.grad = mt.randn(*p.shape) * 0.01
        opts = {foreach: optim.AdamW(optim.param_groups_for_weight_decay(model.named_parameters(), 0.1),
                                     lr=1e-4, foreach=foreach) for foreach in (False, True)}
        for opt in opts.values():   # the state made, the flat buffers built
            opt.step()
        times = {False: [], True: []}
        for _ in range(args.rounds):
            for foreach, opt in opts.items():
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    opt.step()
                times[foreach].append((time.perf_counter() - t0) / args.steps * 1e3)
        loop, flat = statistics.median(times[False]), statistics.median(times[True])
        print(f"{preset:<8}{len(params):>8}{loop:>10.2f}{flat:>10.2f}{flat / loop:>13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
