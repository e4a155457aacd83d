"""L(C): the loss against training compute, from each size of the L(N) sweep trained at several
token budgets, each run with its own full cosine schedule; the lower envelope of L over C is
fitted with L(C) = (C_c / C)^alpha_C.

    python examples/compute_frontier.py             # the sweep's sizes at 250, 500, 1000 and 2000 iterations
    python examples/compute_frontier.py --quick     # tiny sizes and budgets, seconds

Why a second experiment: the L(N) sweep gives every size the same D, so across it
C = 6 N D is proportional to N (up to the attention term), and a fit of L against C
there returns alpha_N again. Only runs of one size at several D separate the two.

The runs are those of examples/scaling_laws.py (the same configuration, key and cache:
the 1000-iteration runs are the L(N) sweep's own), with ``max_iters`` changed and the
cosine ending at each run's last iteration. C counts the training FLOPs as
docs/param_count.md does: C = (6 N + 12 n_layer T d) D. See docs/scaling_laws.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_args, machine_info, output_paths, print_table, pyplot, require_device  # noqa: E402
from _common import run_main, save_figure, write_outputs  # noqa: E402
from _scaling import (add_settings, bootstrap_fit, fit_and_predict, fit_power_law,  # noqa: E402
                      log_log_axes, resolve_settings)
from scaling_laws import QUICK_SWEEP, SETTINGS, SWEEP, fmt_arch, get_runs, parse_archs, run_config  # noqa: E402

from minitf import data, train  # noqa: E402

NAME = "compute_frontier"
KAPLAN_ALPHA_C_MIN = 0.050   # Kaplan et al. (2020): L(C_min), the compute-efficient frontier
KAPLAN_ALPHA_C = 0.057       # and L(C) at a fixed batch size
BUDGETS, QUICK_BUDGETS = [250, 500, 1000, 2000], [40, 80, 150]


def train_flops(r) -> float:
    """Training FLOPs of a run: (6 N + 12 n_layer T d) per token (weights and attention's scores), times D."""
    per_token = 6 * r["n_params_non_embedding"] + 12 * r["n_layer"] * r["config"]["block_size"] * r["n_embd"]
    return float(per_token * r["tokens"])


def lower_envelope(c, loss) -> list[int]:
    """Indices of the points no cheaper point beats: sorted by C, each lower than every one before it."""
    order = np.argsort(c, kind="stable")
    keep, best = [], np.inf
    for i in order:
        if loss[i] < best:
            keep.append(int(i))
            best = loss[i]
    return keep


def parse_budgets(text: str) -> list[int]:
    try:
        vals = sorted({int(v) for v in text.split(",") if v.strip()})
        if len(vals) < 2 or vals[0] < 1:
            raise ValueError
        return vals
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not two or more positive iteration counts, "
                                         f"e.g. 250,500,1000") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, NAME)
    p.add_argument("--data", metavar="FILE", default=None, help="a UTF-8 text (default: Tiny Shakespeare)")
    p.add_argument("--cache-dir", metavar="DIR", default="out/scaling_laws",
                   help="finished runs, shared with scaling_laws.py (default: out/scaling_laws)")
    p.add_argument("--sizes", type=parse_archs, default=None, metavar="L:H:C,...",
                   help="the sizes (default: the L(N) sweep's)")
    p.add_argument("--budgets", type=parse_budgets, default=None, metavar="I,I,...",
                   help="training iterations of each size's runs (default " + ",".join(map(str, BUDGETS)) + ")")
    p.add_argument("--seeds", type=int, default=1, metavar="K", help="seeds per run (default 1)")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples of the fit, for its error bars (default 2000; at least 10)")
    add_settings(p, [x for x in SETTINGS if x[0] != "max_iters"])
    return p


def run(args, log=print) -> dict:
    require_device(args.device)
    q = args.quick
    s = resolve_settings(args, [x for x in SETTINGS if x[0] != "max_iters"])
    archs = args.sizes or (QUICK_SWEEP if q else SWEEP)
    budgets = args.budgets or (QUICK_BUDGETS if q else BUDGETS)
    if args.seeds < 1 or args.bootstrap < 10:
        raise train.ConfigError("--seeds must be at least 1 and --bootstrap at least 10")
    seeds = [1337 + i for i in range(args.seeds)]

    def settings(budget):   # a short run evaluates more often, so that its best is not missed
        return dict(s, max_iters=budget, eval_interval=min(s["eval_interval"], max(1, budget // 5)))
    for arch in archs:
        for b in budgets:
            run_config(arch, seeds[0], settings(b), args.device, None)   # a bad setting fails before training
    corpus = data.load_corpus(args.data, progress=False, log=log)
    t0 = time.perf_counter()
    runs, trained = [], 0
    for b in budgets:
        got, n = get_runs(archs, seeds, settings(b), args.device, corpus, Path(args.cache_dir), log)
        runs += got
        trained += n
    wall = time.perf_counter() - t0
    c = np.array([train_flops(r) for r in runs])
    c6 = np.array([6.0 * r["n_params_non_embedding"] * r["tokens"] for r in runs])
    loss = np.array([r["best_val_loss"] for r in runs])
    env = lower_envelope(c, loss)
    if len(env) < 2:
        raise train.ConfigError("the lower envelope has fewer than two points: nothing to fit")
    alpha, c_c = fit_power_law(c[env], loss[env])
    boot = bootstrap_fit(c[env], loss[env], float(c.max()), args.bootstrap)
    # the fit on the runs of one budget alone (every size, one D), as the L(N) sweep has them: C is
    # then proportional to N, up to the attention term, and the slope comes out as alpha_N's
    fixed_d = {}
    for b in budgets:
        idx = [i for i, r in enumerate(runs) if r["max_iters"] == b]
        if len({runs[i]["n_params_non_embedding"] for i in idx}) > 1:
            fixed_d[str(b)] = {"alpha_C": fit_power_law(c[idx], loss[idx])[0],
                               "alpha_N": fit_power_law([runs[i]["n_params_non_embedding"] for i in idx],
                                                        loss[idx])[0]}
    frontier = {"indices": env, "alpha_C": alpha, "C_c": c_c, "bootstrap": boot,
                "alpha_C_6ND": fit_power_law(c6[env], loss[env])[0],
                "residuals_log": [float(v) for v in np.log(loss[env]) - np.log(fit_and_predict(c[env], loss[env],
                                                                                               c[env])[1])],
                "points": [{"arch": fmt_arch(runs[i]), "max_iters": runs[i]["max_iters"], "seed": runs[i]["seed"],
                            "C": float(c[i]), "best_val_loss": float(loss[i])} for i in env]}
    # the same procedure without the longest budget: how much the envelope's slope hangs on the grid
    short = [i for i, r in enumerate(runs) if r["max_iters"] < max(budgets)]
    env_short = [short[j] for j in lower_envelope(c[short], loss[short])]
    if len(env_short) >= 2 and len(budgets) > 2:
        frontier["without_longest_budget"] = {
            "indices": env_short, "alpha_C": fit_power_law(c[env_short], loss[env_short])[0],
            "bootstrap": bootstrap_fit(c[env_short], loss[env_short], float(c.max()), args.bootstrap)}
    rows = [[fmt_arch(r), f"{r['n_params_non_embedding']:,}", r["max_iters"], f"{r['tokens']:,}", r["seed"],
             f"{c[i]:.3e}", f"{loss[i]:.4f}", r["best_iter"], "*" if i in env else ""]
            for i, r in sorted(enumerate(runs), key=lambda t: c[t[0]])]
    print_table(["layers/heads/width", "N", "iters", "tokens D", "seed", "C (FLOPs)", "best val", "at iter",
                 "envelope"], rows)
    b95 = boot["alpha_95"]
    log(f"\nlower envelope ({len(env)} points): L(C) = ({c_c:.3e} / C)^{alpha:.4f}; alpha_C = {alpha:.4f} +- "
        f"{boot['alpha_std']:.4f} (bootstrap, 95%: {b95[0]:.4f} to {b95[1]:.4f}); with C = 6 N D alone: "
        f"{frontier['alpha_C_6ND']:.4f}")
    if "without_longest_budget" in frontier:
        w = frontier["without_longest_budget"]
        log(f"  without the {max(budgets)}-iteration runs: alpha_C = {w['alpha_C']:.4f} +- "
            f"{w['bootstrap']['alpha_std']:.4f} ({len(w['indices'])} points on the envelope)")
    for b, f in fixed_d.items():
        log(f"  the {b}-iteration runs alone (one D): alpha_C {f['alpha_C']:.4f}, alpha_N {f['alpha_N']:.4f}")
    log(f"Kaplan et al.: alpha_C = {KAPLAN_ALPHA_C_MIN} on the compute-efficient frontier, {KAPLAN_ALPHA_C} "
        f"at a fixed batch size")
    log(f"trained {trained} run(s) now, {len(runs) - trained} from the cache in {args.cache_dir}; {wall:.0f} s")
    results = {"experiment": NAME, "machine": machine_info(args.device, args.note),
               "corpus": {"source": corpus.source, "chars": len(corpus.text), "sha256": corpus.sha256},
               "settings": dict(s, budgets=budgets, seeds=seeds, quick=q,
                                flops="(6 N + 12 n_layer T d) D, N non-embedding"),
               "kaplan": {"alpha_C_min": KAPLAN_ALPHA_C_MIN, "alpha_C_fixed_batch": KAPLAN_ALPHA_C},
               "runs": [dict(r, C=float(c[i]), C_6ND=float(c6[i])) for i, r in enumerate(runs)],
               "frontier": frontier, "fixed_D_fits": fixed_d, "trained_now": trained, "wall_seconds": wall}
    out, fig = output_paths(args, NAME)
    write_outputs(results, out, fig, lambda path: draw(runs, c, loss, frontier, path), log)
    return results


def draw(runs, c, loss, frontier, path):
    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 5))
    archs = list(dict.fromkeys(fmt_arch(r) for r in runs))
    for k, a in enumerate(archs):
        idx = sorted((i for i, r in enumerate(runs) if fmt_arch(r) == a), key=lambda i: c[i])
        ax.plot(c[idx], loss[idx], "o-", color=f"C{k}", ms=5,
                label=f"{a}: N = {runs[idx[0]]['n_params_non_embedding']:,}")
    env = frontier["indices"]
    ax.scatter(c[env], loss[env], s=140, facecolors="none", edgecolors="k", zorder=4, label="lower envelope")
    grid = np.geomspace(c.min() / 1.3, c.max() * 1.3, 50)
    ax.plot(grid, fit_and_predict(c[env], loss[env], grid)[1], "k--", lw=1,
            label=f"fit: $\\alpha_C$ = {frontier['alpha_C']:.3f} $\\pm$ {frontier['bootstrap']['alpha_std']:.3f}")
    log_log_axes(ax, "training compute C = (6N + 12 n_layer T d) D  (FLOPs)",
                 "L(C): each size at several token budgets (one cosine schedule per run)")
    return save_figure(fig, path)


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
