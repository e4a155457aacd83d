"""Batch size against gradient noise: the noise scale B_simple = tr(Sigma) / |G|^2 of McCandlish et al.
(2018) measured during training, and its prediction checked on runs at several batch sizes.

    python examples/batch_noise.py            # 2/4/64 GPT on Tiny Shakespeare, batches 4 to 256
    python examples/batch_noise.py --quick    # tiny sizes, seconds (what the tests run)
    python examples/batch_noise.py --from-json docs/results/batch_noise.json   # analyse and draw again, no training

A batch of B examples gives the gradient G_B, an unbiased estimate of the true
gradient G with covariance Sigma / B (Sigma: the covariance of one example's
gradient), so E|G_B|^2 = |G|^2 + tr(Sigma) / B. Two batch sizes B_small < B_big
give unbiased estimates of both terms (McCandlish et al., appendix A.1):

    |G|^2     ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
    tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)

and their ratio B_simple is the batch size at which the noise in G_B is as large
as G itself. Their theory predicts that a run needs S = S_min (1 + B_crit / B)
steps and E = E_min (1 + B / B_crit) examples to reach a given loss, with B_crit
close to the noise scale: below it a larger batch saves steps at almost no cost
in examples; above it, the extra examples buy almost no steps.

Here an example is one block of ``--block-size`` characters. One reference run
(batch ``--ref-batch``) measures B_simple at a few of its iterations; then every
batch size trains with each of ``--lrs`` at a constant learning rate (after a
short warmup), so that the loss after s steps is that of a run stopped at s, and
the steps each needs to reach the reference run's losses are fitted with
S = S_min (1 + B_crit / B). See docs/batch_size.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_common_args, machine_info, output_paths, print_table, pyplot, require_device,  # noqa: E402
                     make_dir, run_main, save_figure, save_results, write_outputs)
from _noise import NoiseScale, measure_noise, noise_estimates  # noqa: E402,F401  (the estimators, re-exported)
from scaling_laws import FixedValLoss, parse_arch, run_key  # noqa: E402

from minitf import data, train  # noqa: E402

NAME = "batch_noise"
CACHE_VERSION = 1
DEFAULTS = dict(arch=(2, 4, 64), batches=[4, 16, 64, 256], lrs=[1e-3, 3e-3, 1e-2], block_size=64, max_steps=1024,
                max_tokens=2 ** 20, warmup_iters=10, ref_batch=16, ref_lr=1e-3, noise_iters=[0, 32, 128, 512, 1024],
                b_small=4, group=16, groups=32, val_chars=8192, evals=32)
QUICK = dict(arch=(1, 2, 16), batches=[2, 8, 32], lrs=[3e-3, 1e-2], block_size=16, max_steps=64,
             max_tokens=2 ** 13, warmup_iters=2, ref_batch=8, ref_lr=3e-3, noise_iters=[0, 16, 64],
             b_small=2, group=4, groups=8, val_chars=512, evals=16)


# ---------------------------------------------------------------- the runs
def run_config(p: dict, batch: int, lr: float, device: str) -> train.TrainConfig:
    """One run: constant lr after ``warmup_iters`` (min_lr = lr), as many steps as the budgets allow."""
    n_layer, n_head, n_embd = p["arch"]
    steps = max(1, min(p["max_steps"], p["max_tokens"] // (batch * p["block_size"])))
    return train.make_config("baby", model="gpt", device=device, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                             block_size=p["block_size"], batch_size=batch, max_iters=steps, lr_decay_iters=steps,
                             lr=lr, min_lr=lr, warmup_iters=min(p["warmup_iters"], steps - 1) if steps > 1 else 0,
                             eval_interval=max(1, steps // p["evals"]), eval_iters=1, dropout=0.0, seed=1337,
                             progress=False, sample_chars=0)


def get_run(p, batch, lr, device, corpus, cache: Path, log, noise: bool) -> tuple[dict, bool]:
    """One run's result, from the cache or trained now; ``noise``: measure B_simple along it."""
    cfg = run_config(p, batch, lr, device)
    base = run_key(cfg, corpus.sha256, p["val_chars"])
    plain = hashlib.sha256(json.dumps([base, {}, CACHE_VERSION]).encode()).hexdigest()[:16]
    measured = hashlib.sha256(json.dumps([base, {k: p[k] for k in ("noise_iters", "b_small", "group", "groups")},
                                          CACHE_VERSION]).encode()).hexdigest()[:16]
    key = measured if noise else plain
    # measuring the noise does not change the run (its batches come from a generator of its own and
    # the gradients it leaves are cleared; the tests check it): a run that measured it serves as a plain one
    for k in ([measured] if noise else [plain, measured]):
        if (cache / f"{k}.json").is_file():
            log(f"cached: batch {batch}, lr {lr:g}")
            res = json.loads((cache / f"{k}.json").read_text(encoding="utf-8"))
            # served as a plain run: its noise estimates go, but their CPU time, which its cpu_seconds holds, stays
            return (res if noise else dict(res, noise=None, noise_cpu_seconds=sum(
                n["cpu_seconds"] for n in res["noise"] or []))), False
    path = cache / f"{key}.json"
    log(f"training: batch {batch}, lr {lr:g}, {cfg.max_iters} steps" + (" (measuring the noise scale)" if noise else ""))
    cfg.out_dir = str(cache / key)
    evals = FixedValLoss(p["val_chars"])
    callbacks = [evals]
    if noise:
        callbacks.append(NoiseScale(p["noise_iters"], p["b_small"], p["group"], p["groups"], evals))
    c0, t0 = time.process_time(), time.perf_counter()
    trainer = train.Trainer(cfg, corpus=corpus, callbacks=callbacks, overwrite=True, log=lambda line: None)
    trainer.run()
    res = {"key": key, "batch": batch, "lr": lr, "steps": cfg.max_iters, "warmup_iters": cfg.warmup_iters,
           "tokens_per_step": batch * cfg.block_size, "history": evals.history,
           "noise": callbacks[1].points if noise else None,
           "cpu_seconds": time.process_time() - c0, "wall_seconds": time.perf_counter() - t0}
    save_results(path, res)
    shutil.rmtree(cache / key, ignore_errors=True)
    return res, True


# ---------------------------------------------------------------- the analysis
def steps_to_reach(history, target: float) -> float | None:
    """The first step at which the validation curve reaches ``target``, interpolated linearly in
    log(step) between evaluations (None if it never does)."""
    prev = None
    for h in history:
        if h["val_loss"] <= target:
            if prev is None or prev["iter"] == 0:
                return float(h["iter"])
            f = (prev["val_loss"] - target) / (prev["val_loss"] - h["val_loss"])
            return float(np.exp(np.log(prev["iter"]) + f * (np.log(h["iter"]) - np.log(prev["iter"]))))
        prev = h
    return None


def loss_at(history, step: float) -> float | None:
    """The validation loss at ``step``, interpolated linearly in log(step) (None past the run's end)."""
    it = np.array([h["iter"] for h in history if h["iter"] > 0], dtype=float)
    loss = np.array([h["val_loss"] for h in history if h["iter"] > 0])
    if step < it[0] or step > it[-1]:
        return None
    return float(np.interp(np.log(step), np.log(it), loss))


def fit_critical_batch(batches, steps) -> dict:
    """Least squares of S = S_min + S_min B_crit / B (linear in 1/B): returns S_min, B_crit, E_min."""
    b, s = np.asarray(batches, dtype=float), np.asarray(steps, dtype=float)
    slope, s_min = np.polyfit(1.0 / b, s, 1)
    b_crit = slope / s_min if s_min > 0 else float("inf")
    return {"S_min": float(s_min), "B_crit": float(b_crit), "E_min": float(s_min * b_crit)}


def analyse(runs, ref, p) -> dict:
    batches, lrs = sorted({r["batch"] for r in runs}), sorted({r["lr"] for r in runs})
    by = {(r["batch"], r["lr"]): r for r in runs}
    targets = []
    for pt in ref["noise"]:
        if pt["iter"] == 0:
            continue
        need = {}
        for b in batches:
            reach = {lr: steps_to_reach(by[(b, lr)]["history"], pt["val_loss"]) for lr in lrs}
            reach = {lr: s for lr, s in reach.items() if s is not None}
            if reach:
                lr = min(reach, key=reach.get)
                first = next(h["iter"] for h in by[(b, lr)]["history"] if h["iter"] > 0)
                # reached by the first evaluation: the step count is only an upper bound
                need[b] = {"steps": reach[lr], "lr": lr, "examples": reach[lr] * b, "at_first_eval": reach[lr] <= first,
                           "cpu_seconds": reach[lr] * cpu_per_step(by[(b, lr)])}
        t = {"iter": pt["iter"], "val_loss": pt["val_loss"], "B_simple": pt["B_simple"],
             "B_simple_95": pt["B_simple_95"], "reached": {str(b): v for b, v in need.items()}}
        if len(need) >= 3 and not any(v["at_first_eval"] for v in need.values()):
            t["fit"] = fit_critical_batch(list(need), [v["steps"] for v in need.values()])
            # how much one batch size moves it: the fit without each in turn
            t["fit"]["B_crit_leave_one_out"] = [
                fit_critical_batch([b for b in need if b != out], [v["steps"] for b, v in need.items() if b != out])
                ["B_crit"] for out in need]
        targets.append(t)
    tokens = min(by[(b, lrs[0])]["steps"] * b for b in batches) * p["block_size"]   # every run got this far
    steps = min(by[(b, lrs[0])]["steps"] for b in batches)
    fixed_tokens, fixed_steps = {}, {}
    for b in batches:
        at_t = {lr: loss_at(by[(b, lr)]["history"], tokens / (b * p["block_size"])) for lr in lrs}
        at_s = {lr: loss_at(by[(b, lr)]["history"], steps) for lr in lrs}
        lt, ls = min((v, lr) for lr, v in at_t.items() if v is not None), min((v, lr) for lr, v in at_s.items()
                                                                             if v is not None)
        fixed_tokens[str(b)] = {"val_loss": lt[0], "lr": lt[1], "by_lr": {str(k): v for k, v in at_t.items()}}
        fixed_steps[str(b)] = {"val_loss": ls[0], "lr": ls[1], "by_lr": {str(k): v for k, v in at_s.items()}}
    # each batch at its run's end, at the learning rate best there (the figure's loss-per-token curves)
    at_end = {}
    for b in batches:
        end = {lr: by[(b, lr)]["history"][-1]["val_loss"] for lr in lrs}
        lr = min(end, key=end.get)
        at_end[str(b)] = {"steps": by[(b, lr)]["steps"], "tokens": by[(b, lr)]["steps"] * b * p["block_size"],
                          "val_loss": end[lr], "lr": lr, "by_lr": {str(k): v for k, v in end.items()}}
    return {"targets": targets, "fixed_tokens": {"tokens": tokens, "loss": fixed_tokens},
            "fixed_steps": {"steps": steps, "loss": fixed_steps}, "at_end": at_end}


def check_budget(p: dict, device: str) -> None:
    """Refuse, before any training, budgets too small for :func:`analyse` to compare the batches: it reads
    every run at the tokens and at the steps all runs reach, which must not come before a run's first
    evaluation (a ConfigError naming the batch)."""
    runs = {b: run_config(p, b, p["lrs"][0], device) for b in p["batches"]}
    tokens, steps = min(c.max_iters * b for b, c in runs.items()), min(c.max_iters for c in runs.values())
    for b, c in runs.items():
        first = min(c.eval_interval, c.max_iters)
        if tokens / b < first or steps < first:
            raise train.ConfigError(
                f"--max-tokens {p['max_tokens']:,} and --max-steps {p['max_steps']:,} are too small to compare the "
                f"batches: all runs reach {tokens * p['block_size']:,} tokens and {steps} step(s), which batch {b} "
                f"passes at step {min(tokens / b, steps):.3g}, before its first evaluation (step {first}); raise them")


def cpu_per_step(run) -> float:
    """A run's CPU seconds per step, its noise measurements taken out; its evaluations stay in."""
    noise = run.get("noise_cpu_seconds") or sum(n["cpu_seconds"] for n in run["noise"] or [])
    return (run["cpu_seconds"] - noise) / run["steps"]


# ---------------------------------------------------------------- command line
def parse_list(kind):
    def parse(text):
        try:
            vals = sorted({kind(v) for v in text.split(",") if v.strip()})
            if not vals or vals[0] <= 0:
                raise ValueError
            return vals
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of positive numbers") from None
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, NAME)
    p.add_argument("--data", metavar="FILE", default=None, help="a UTF-8 text (default: Tiny Shakespeare)")
    p.add_argument("--cache-dir", metavar="DIR", default="out/batch_noise", help="finished runs (default: %(default)s)")
    p.add_argument("--from-json", metavar="FILE.json", default=None,
                   help="train nothing: analyse the runs recorded in a results JSON of this script again and "
                        "redraw the figure (the JSON's settings and machine are kept)")
    p.add_argument("--arch", type=parse_arch, default=None, metavar="L:H:C", help="the model (default 2:4:64)")
    p.add_argument("--batches", type=parse_list(int), default=None, metavar="B,...", help="batch sizes (blocks)")
    p.add_argument("--lrs", type=parse_list(float), default=None, metavar="LR,...", help="constant learning rates")
    for name, typ, text in (("max_steps", int, "steps of a run at most"),
                            ("max_tokens", int, "training tokens of a run at most"),
                            ("block_size", int, "context length in characters (one example)"),
                            ("ref_batch", int, "the batch of the run that measures the noise scale"),
                            ("ref_lr", float, "its learning rate"),
                            ("b_small", int, "the small batch of the noise estimate"),
                            ("group", int, "small batches per big one (b_big = group x b_small)"),
                            ("groups", int, "big batches per estimate")):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None, metavar="N",
                       help=f"{text} (default {DEFAULTS[name]}; --quick: {QUICK[name]})")
    return p


def settings(args) -> dict:
    p = dict(QUICK if args.quick else DEFAULTS)
    for k in ("arch", "batches", "lrs", "max_steps", "max_tokens", "block_size", "ref_batch", "ref_lr", "b_small",
              "group", "groups"):
        if getattr(args, k) is not None:
            p[k] = getattr(args, k)
    for k in ("max_steps", "max_tokens", "block_size", "b_small"):   # each a count or a size: 0 means nothing
        if p[k] < 1:
            raise train.ConfigError(f"--{k.replace('_', '-')} must be at least 1, got {p[k]}")
    if p["group"] < 2 or p["groups"] < 2:
        raise train.ConfigError("--group and --groups must be at least 2")
    if p["ref_batch"] not in p["batches"] or p["ref_lr"] not in p["lrs"]:
        raise train.ConfigError("--ref-batch must be one of --batches and --ref-lr one of --lrs")
    return p


def reanalyse(args, log=print) -> dict:
    """--from-json: the analysis and figure again from recorded runs (a newer analysis, no training)."""
    path = Path(args.from_json)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        runs, p = old["runs"], old["settings"]
        ref = next(r for r in runs if r["noise"])
    except (OSError, ValueError, KeyError, StopIteration, TypeError) as e:
        raise train.ConfigError(f"--from-json {path}: not a results JSON of batch_noise.py ({e!r})") from None
    now = machine_info(args.device, args.note)
    results = dict(old, **analyse(runs, ref, p),
                   reanalysed={"date_utc": now["date_utc"], "command": now["command"], "from": str(path)})
    out, fig = output_paths(args, NAME)
    write_outputs(results, out, fig, lambda where: draw(results, where), log)
    return results


def run(args, log=print) -> dict:
    if args.from_json:
        return reanalyse(args, log)
    require_device(args.device)
    p = settings(args)
    for b in p["batches"]:
        for lr in p["lrs"]:
            run_config(p, b, lr, args.device)   # a bad setting fails now, before any training
    check_budget(p, args.device)
    ref_steps = run_config(p, p["ref_batch"], p["ref_lr"], args.device)
    p["noise_iters"] = [i for i in p["noise_iters"] if i <= ref_steps.max_iters and i % ref_steps.eval_interval == 0]
    corpus = data.load_corpus(args.data, progress=False, log=log)
    cache = Path(args.cache_dir)
    make_dir(cache, "--cache-dir ")
    t0 = time.perf_counter()
    runs, trained = [], 0
    for b in p["batches"]:
        for lr in p["lrs"]:
            r, new = get_run(p, b, lr, args.device, corpus, cache, log, noise=(b, lr) == (p["ref_batch"], p["ref_lr"]))
            runs.append(r)
            trained += new
    ref = next(r for r in runs if (r["batch"], r["lr"]) == (p["ref_batch"], p["ref_lr"]))
    res = analyse(runs, ref, p)
    T = p["block_size"]
    print_table(["iter", "val loss", "|G|^2", "tr(Sigma)", "B_simple (blocks)", "95%", "tokens"],
                [[n["iter"], f"{n['val_loss']:.4f}", f"{n['G2']:.4g}", f"{n['trace_sigma']:.4g}", f"{n['B_simple']:.1f}",
                  "-" if n["B_simple_95"] is None else f"{n['B_simple_95'][0]:.1f} to {n['B_simple_95'][1]:.1f}",
                  f"{n['B_simple'] * T:,.0f}"] for n in ref["noise"]])
    log("")
    for t in res["targets"]:
        f = t.get("fit")
        log(f"to reach {t['val_loss']:.4f} (the reference run at iter {t['iter']}, B_simple {t['B_simple']:.1f}): "
            + ", ".join(f"B={b}: {v['steps']:.0f} steps" for b, v in t["reached"].items())
            + (f"; fit S_min {f['S_min']:.0f}, B_crit {f['B_crit']:.1f}" if f else
               "; no fit: fewer than three batch sizes reach it, or one does by its first evaluation"))
    for view, unit in (("fixed_tokens", "tokens"), ("fixed_steps", "steps")):
        v = res[view]
        log(f"after {v[unit]:,} {unit}: " + ", ".join(f"B={b}: {x['val_loss']:.4f} (lr {x['lr']:g})"
                                                      for b, x in v["loss"].items()))
    cpu = sum(r["cpu_seconds"] for r in runs)
    log(f"trained {trained} run(s) now, {len(runs) - trained} from the cache in {cache}; {time.perf_counter() - t0:.0f} s"
        f" (the runs' CPU time when trained: {cpu:.0f} s)")
    results = {"experiment": NAME, "machine": machine_info(args.device, args.note),
               "corpus": {"source": corpus.source, "chars": len(corpus.text), "sha256": corpus.sha256},
               "settings": dict(p, quick=args.quick, example="one block of block_size characters"),
               "noise": ref["noise"], "runs": runs, **res, "trained_now": trained, "cpu_seconds_of_runs": cpu}
    out, fig = output_paths(args, NAME)
    write_outputs(results, out, fig, lambda path: draw(results, path), log)
    return results


def draw(res, path):
    plt = pyplot()
    if plt is None:
        return None
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(16, 4.6))
    pts = [n for n in res["noise"]]
    it = np.array([max(n["iter"], 1) for n in pts], dtype=float)
    bs = np.array([n["B_simple"] for n in pts])
    lo = [n["B_simple"] - n["B_simple_95"][0] if n["B_simple_95"] else 0 for n in pts]
    hi = [n["B_simple_95"][1] - n["B_simple"] if n["B_simple_95"] else 0 for n in pts]
    a1.errorbar(it, bs, yerr=[lo, hi], fmt="o-", capsize=3)
    for x, n in zip(it, pts):
        a1.annotate(f"L={n['val_loss']:.2f}", (x, n["B_simple"]), textcoords="offset points", xytext=(5, -12), fontsize=8)
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_yticks([v for v in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if bs.min() / 2 < v < bs.max() * 2])
    a1.set_xlabel(f"iteration of the reference run (batch {res['settings']['ref_batch']}; 0 plotted at 1)")
    a1.set_ylabel("B_simple = tr(Σ) / |G|² (blocks)")
    a1.set_title("gradient noise scale during training (95% bootstrap)")
    a1.grid(alpha=0.3, which="both")
    T = res["settings"]["block_size"]
    batches = sorted({r["batch"] for r in res["runs"]})
    for k, b in enumerate(batches):
        lr = res["at_end"][str(b)]["lr"]     # the rate best at the run's end
        r = next(r for r in res["runs"] if r["batch"] == b and r["lr"] == lr)
        h = [x for x in r["history"] if x["iter"] > 0]
        a2.plot([x["iter"] * b * T for x in h], [x["val_loss"] for x in h], color=f"C{k}", label=f"B = {b} (lr {lr:g})")
    a2.axvline(res["fixed_tokens"]["tokens"], color="gray", ls=":", lw=1)
    a2.set_xscale("log")
    a2.set_xlabel("training tokens")
    a2.set_ylabel("validation loss (fixed piece)")
    a2.set_title("loss against tokens (each batch: lr best at its end)")
    a2.grid(alpha=0.3, which="both")
    a2.legend(fontsize=8)
    for k, t in enumerate(t for t in res["targets"] if "fit" in t):
        b = np.array([int(x) for x in t["reached"]], dtype=float)
        s = np.array([v["steps"] for v in t["reached"].values()])
        line, = a3.plot(b, s, "o", color=f"C{k}", label=f"L = {t['val_loss']:.3f}: B_crit {t['fit']['B_crit']:.0f}, "
                                                       f"B_simple {t['B_simple']:.0f}")
        grid = np.geomspace(b.min() / 1.5, b.max() * 1.5, 50)
        a3.plot(grid, t["fit"]["S_min"] * (1 + t["fit"]["B_crit"] / grid), "-", color=line.get_color(), lw=1)
        a3.axvline(t["B_simple"], color=line.get_color(), ls=":", lw=1)
    a3.set_xscale("log")
    a3.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    a3.set_xticks(batches)
    for ax in (a1, a3):   # plain numbers on the log axes, not 2 x 10^1
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
    a3.set_xlabel("batch size B (blocks)")
    a3.set_ylabel("steps to reach the loss")
    a3.set_title("S = S_min (1 + B_crit / B); dotted: B_simple")
    a3.grid(alpha=0.3, which="both")
    a3.legend(fontsize=8)
    fig.subplots_adjust(wspace=0.28)
    return save_figure(fig, path)


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
