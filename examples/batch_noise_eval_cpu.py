"""Chapter 8's CPU time to a loss without the evaluations: some of batch_noise.py's runs trained again,
the CPU time of their evaluations counted apart from that of their training steps.

    python examples/batch_noise_eval_cpu.py                       # batch_noise.py's four batches at lr 3e-3
    python examples/batch_noise_eval_cpu.py --quick               # tiny sizes, seconds (what the tests run)

A run's ``cpu_seconds`` in docs/results/batch_noise.json holds everything its
process did: the training steps, and also its evaluations, which cost the same
whatever the batch (32 losses on the fixed validation piece, the Trainer's own
estimate, the checkpoints, and one pass over the whole validation split at the
end). Here each run is trained again exactly as batch_noise.py trains it (the
same configuration, seed and batches: the losses must come out the same, and
the JSON says whether they did) and the CPU time spent inside the Trainer's
evaluation is counted apart; the rest, per step, is the training step's. The
CPU times to the committed targets are then recomputed from the steps alone.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import batch_noise as bn  # noqa: E402
from _common import machine_info, require_device, run_main, save_results  # noqa: E402

from minitf import data, train  # noqa: E402

NAME = "batch_noise_eval_cpu"


def build_parser():
    p = bn.build_parser()
    p.description = __doc__.split("\n\n")[0]
    p.add_argument("--lr", type=float, default=3e-3, help="the runs' learning rate (default %(default)s)")
    p.add_argument("--committed", metavar="FILE.json", default=None,
                   help="batch_noise.py's results to compare with and take the targets from "
                        "(default: docs/results/batch_noise.json, if the runs are its own)")
    return p


class EvalClock:
    """The CPU time spent inside ``Trainer._eval`` (its estimate, the checkpoints, the exact pass at the
    end and the callbacks, the fixed-piece loss among them) while installed."""

    def __init__(self):
        self.seconds, self._orig = 0.0, train.Trainer._eval

    def __enter__(self):
        orig = self._orig

        def timed(trainer, *a, **k):
            c0 = time.process_time()
            try:
                return orig(trainer, *a, **k)
            finally:
                self.seconds += time.process_time() - c0
        train.Trainer._eval = timed
        return self

    def __exit__(self, *exc):
        train.Trainer._eval = self._orig


def run(args, log=print) -> dict:
    require_device(args.device)
    p = bn.settings(args)
    corpus = data.load_corpus(args.data, progress=False, log=log)
    root = Path(__file__).resolve().parent.parent
    committed_path = Path(args.committed) if args.committed else (None if args.quick else
                                                                  root / "docs" / "results" / "batch_noise.json")
    try:
        committed = json.loads(committed_path.read_text(encoding="utf-8")) if committed_path else None
        by = {(r["batch"], r["lr"]): r for r in committed["runs"]} if committed else {}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise train.ConfigError(f"--committed {committed_path}: not a results JSON of batch_noise.py "
                                f"({type(e).__name__}: {e})") from None
    rows = []
    for b in p["batches"]:
        with EvalClock() as clock, tempfile.TemporaryDirectory() as tmp:
            res, _ = bn.get_run(p, b, args.lr, args.device, corpus, Path(tmp), lambda line: None, noise=False)
        old = by.get((b, args.lr))
        row = {"batch": b, "lr": args.lr, "steps": res["steps"], "cpu_seconds": res["cpu_seconds"],
               "eval_cpu_seconds": clock.seconds,
               "step_cpu_ms": 1e3 * (res["cpu_seconds"] - clock.seconds) / res["steps"],
               "committed_cpu_seconds": old["cpu_seconds"] if old else None,
               "same_losses_as_committed": ([h["val_loss"] for h in res["history"]] ==
                                            [h["val_loss"] for h in old["history"]]) if old else None}
        log(f"batch {b}: {row['cpu_seconds']:.2f} s of CPU, {row['eval_cpu_seconds']:.2f} s of it evaluating; "
            f"{row['step_cpu_ms']:.2f} ms per training step"
            + ("" if old is None else f" (committed run: {old['cpu_seconds']:.2f} s; same losses: "
                                      f"{row['same_losses_as_committed']})"))
        rows.append(row)
    step_ms = {r["batch"]: r["step_cpu_ms"] for r in rows}
    targets = []
    for t in (committed or {}).get("targets", []):
        reach = {b: v for b, v in t["reached"].items() if int(b) in step_ms and v["lr"] == args.lr}
        if reach:
            targets.append({"iter": t["iter"], "val_loss": t["val_loss"], "step_cpu_seconds": {
                b: v["steps"] * step_ms[int(b)] / 1e3 for b, v in reach.items()}})
            log(f"to {t['val_loss']:.4f}: " + ", ".join(f"B={b}: {s:.2f} s" for b, s in
                                                       targets[-1]["step_cpu_seconds"].items()))
    results = {"experiment": NAME, "machine": machine_info(args.device, args.note), "settings": dict(p, lr=args.lr),
               "committed": str(committed_path) if committed_path else None, "runs": rows, "targets": targets}
    out = args.out or (None if args.quick else root / "docs" / "results" / f"{NAME}.json")
    if out:
        log(f"results: {save_results(out, results)}")
    return results


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
