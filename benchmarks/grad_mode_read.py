"""What Function.apply pays for grad mode per op: a module global (minitf up to round 9) against one
attribute of a ``threading.local`` subclass with class-level defaults (``autograd._tls``, per
thread as torch's), timed in one process, alternated round by round so a busy machine slows both.

    python benchmarks/grad_mode_read.py --rounds 7

Prints a table (ns per read, the best of each round's repeats) and one JSON line. The engine's
chain of 100 small ops (benchmarks/engine_overhead.py) does about 100 such reads.
"""
from __future__ import annotations

import argparse
import json
import statistics
import timeit
from _thread import _local


class _State(_local):
    grad_enabled = True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="grad mode read: module global vs thread-local attribute")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--number", type=int, default=1_000_000)
    args = p.parse_args(argv)
    env = {"G": True, "S": _State()}
    cases = {"global": "if G: pass", "thread-local": "if S.grad_enabled: pass", "empty": "pass"}
    ns = {k: [] for k in cases}
    for r in range(args.rounds):
        order = list(cases) if r % 2 == 0 else list(reversed(cases))
        for k in order:
            best = min(timeit.repeat(cases[k], globals=env, number=args.number, repeat=5))
            ns[k].append(best / args.number * 1e9)
    med = {k: statistics.median(v) for k, v in ns.items()}
    print(f"{'read':14s} {'ns (median of rounds)':>22s} {'minus empty loop':>17s}")
    for k in cases:
        print(f"{k:14s} {med[k]:22.1f} {med[k] - med['empty']:17.1f}")
    extra = med["thread-local"] - med["global"]
    print(f"thread-local costs {extra:.1f} ns more per read")
    print(json.dumps({"rounds": args.rounds, **{f"{k}_ns": round(v, 1) for k, v in med.items()},
                      "extra_ns": round(extra, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
