"""The cost of importing minitf and its lazily imported packages, each in a fresh interpreter.

    PYTHONPATH=$PWD python benchmarks/import_time.py [--repeats 15] [--tree OTHER_CHECKOUT]

Each statement runs in its own ``python -c`` process, the statements alternating within each
round; the table prints the median and the minimum over the rounds (wall time of the statement
itself, measured inside the process, so interpreter start-up is not counted). ``--tree`` times
the same statements on another checkout too (say, one at the previous commit), alternating
with this one, and adds the ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

STATEMENTS = ["import minitf", "import minitf.distributions", "import minitf.distributions as D; D.Normal",
              "import minitf.distributions as D; D.kl_divergence(D.Normal(0., 1.), D.Normal(1., 1.))"]

_TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def _once(stmt: str, tree: str) -> float:
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", _TIMED.format(stmt=stmt)], env=env, check=True,
                         capture_output=True, text=True, cwd=tree)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--tree", default=None, help="another checkout to compare with")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = [here] + ([os.path.abspath(args.tree)] if args.tree else [])
    times = {(s, t): [] for s in STATEMENTS for t in trees}
    for _ in range(args.repeats):
        for s in STATEMENTS:
            for t in trees:   # alternating: the two checkouts see the same machine load
                times[s, t].append(_once(s, t))
    header = f"{'statement':<88} {'tree':<6} {'median ms':>10} {'min ms':>8}"
    print(header + (f" {'ratio':>7}" if args.tree else ""))
    for s in STATEMENTS:
        for i, t in enumerate(trees):
            med = statistics.median(times[s, t]) * 1e3
            row = f"{s:<88} {'this' if i == 0 else 'other':<6} {med:>10.1f} {min(times[s, t]) * 1e3:>8.1f}"
            if i == 1:
                row += f" {med / (statistics.median(times[s, here]) * 1e3):>7.2f}"
            print(row)


if __name__ == "__main__":
    main()
