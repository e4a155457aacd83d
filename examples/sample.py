"""Print text sampled from a checkpoint written by examples/train_charlm.py.

    python examples/sample.py --out-dir out/charlm --num-chars 1000 --temperature 0.8 --top-k 200 --start "ROMEO:"
"""
import argparse
import math
import sys
from pathlib import Path

import minitf as mt
from minitf import checkpoint, train
from minitf.train.config import MAX_SAMPLE_CHARS as MAX_CHARS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SIGPIPE_STATUS, PipeSafePrint  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Sample text from a trained character-level language model.")
    p.add_argument("--out-dir", default="out/charlm", help="the run directory (default: out/charlm)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best",
                   help="best: best.npz, the state of the eval with the lowest val loss (ckpt.npz when the run "
                        "has no best.npz); last: ckpt.npz, the latest state (default: best)")
    p.add_argument("--num-chars", type=int, default=500, help="characters to generate (default 500)")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="divide the logits by this: < 1 is more conservative, > 1 more random, 0 always takes "
                        "the likeliest character (greedy) (default 0.8)")
    p.add_argument("--top-k", type=int, default=200, help="sample among the k likeliest characters; 0: all (default 200)")
    p.add_argument("--start", default="\n", help="text to continue (default: a newline)")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed in [0, 2**63), for a reproducible sample (default: none, a different sample "
                        "each time)")
    p.add_argument("--device", choices=["cpu", "gpu", "fake"], metavar="{cpu,gpu}", default=None,
                   help="where to run (default: where it was trained)")
    args = p.parse_args(argv)
    if not 0 <= args.num_chars <= MAX_CHARS:
        p.error(f"--num-chars must be in [0, {MAX_CHARS:,}], got {args.num_chars:,} (characters are generated one "
                f"at a time and held in memory until printed)")
    if args.seed is not None and not 0 <= args.seed < 2 ** 63:
        p.error(f"--seed must be in [0, 2**63), got {args.seed}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        p.error(f"--temperature must be a finite number >= 0 (0: greedy), got {args.temperature}")
    if args.top_k < 0:
        p.error("--top-k must be >= 0")
    try:
        model, vocab, meta = train.load_model(args.out_dir, device=args.device, which=args.checkpoint)
        if args.seed is not None:
            mt.manual_seed(args.seed)
        text = train.generate_text(model, vocab, args.num_chars, temperature=args.temperature,
                                   top_k=args.top_k or None, start=args.start,
                                   device=args.device or meta["config"]["device"])
    except (mt.DeviceError, checkpoint.CheckpointError, train.ConfigError, ValueError) as e:
        run_dir = train.RunDir(args.out_dir)
        hint = ""
        if (isinstance(e, checkpoint.CheckpointError) and args.checkpoint == "best" and str(run_dir.best_path) in str(e)
                and run_dir.ckpt_path.is_file()):
            hint = f"; --checkpoint last samples from {run_dir.ckpt_path} instead"
        elif isinstance(e, checkpoint.CheckpointError) and not (run_dir.ckpt_path.exists() or run_dir.best_path.exists()):
            hint = f"; train a model there first: python examples/train_charlm.py --out-dir {args.out_dir}"
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    best = meta.get("best") or {}
    what = f", the best val loss {best['val_loss']:.4f}" if best.get("iter") == meta["iter"] else ""
    out = PipeSafePrint()   # `sample.py | head`: a closed pipe ends quietly
    out(f"sampled from {meta['checkpoint_path']} (iter {meta['iter']}{what})", file=sys.stderr)
    out(text)
    return SIGPIPE_STATUS if out.closed else 0


if __name__ == "__main__":
    sys.exit(main())
