"""L(D) at a fixed model size: one GPT trained on nested prefixes of the training split, each
scored by its best validation loss (early stopping), and L(D) = (D_c / D)^alpha_D fitted.

    python examples/data_scaling.py              # the default (Tiny Shakespeare, CPU)
    python examples/data_scaling.py --quick      # tiny sizes, seconds

The companion of examples/scaling_laws.py, which varies N at a fixed budget of
tokens: here N is fixed and the data D varies. Every run has the same model,
the same budget of training tokens and schedule, and the same validation
characters; it draws its batches from the first D characters of the training
split only (the prefixes are nested: a smaller D is a part of every larger one).
A run over a small D repeats its data many times and over-fits: its best
validation loss, taken every ``--eval-interval`` iterations, is the loss that
data allows the model to reach, as Kaplan et al. measure L(D) with early
stopping. Results are cached as in scaling_laws.py. See docs/scaling_laws.md.
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
from _scaling import (add_settings, bootstrap_fit, fit_and_predict, log_log_axes, fit_power_law,  # noqa: E402
                      ngram_baselines, resolve_settings)
from scaling_laws import CACHE_VERSION, param_counts, parse_arch, run_config, run_key, train_one  # noqa: E402

from minitf import data, train  # noqa: E402

NAME = "data_scaling"
KAPLAN_ALPHA_D = 0.095       # Kaplan et al. (2020), L(D) with early stopping, WebText2 BPE tokens
KAPLAN_D_C = 5.4e13

ARCH, QUICK_ARCH = (4, 4, 128), (1, 2, 16)    # 788k non-embedding parameters: the largest of L(N)'s sweep
# training characters of each run; 0 stands for the whole training split
SIZES, QUICK_SIZES = [2 ** 15, 2 ** 16, 2 ** 17, 2 ** 18, 2 ** 19, 0], [128, 512, 2048, 0]

# (flag, type, default, quick default, help), the same for every run
SETTINGS = [
    ("max_iters", int, 1500, 150, "training iterations of every run (the cosine decay ends here)"),
    ("batch_size", int, 16, 8, "blocks per batch"),
    ("block_size", int, 64, 32, "context length in characters"),
    ("lr", float, 1e-3, 1e-2, "peak learning rate (min_lr is a tenth of it)"),
    ("warmup_iters", int, 50, 5, "linear warmup iterations"),
    ("eval_interval", int, 50, 10, "iterations between validation evals (the early-stopping grid)"),
    ("val_chars", int, 32768, 2048, "validation characters of each eval (a fixed piece, the same for every run)"),
]


def parse_sizes(text: str) -> list[int]:
    """``32768,65536,all``: training characters per run, ``all`` for the whole split."""
    try:
        sizes = [0 if t.strip() == "all" else int(t) for t in text.split(",") if t.strip()]
        if len(set(sizes)) < 2 or any(v < 0 for v in sizes):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not two or more distinct character counts (or 'all'), "
                                         f"e.g. 32768,131072,all") from None
    return sizes


def restrict_training_split(n_chars: int):
    """A Trainer ``prepare`` hook: batches come from the first ``n_chars`` of the training split."""
    def prepare(trainer):
        s = trainer.sampler
        trainer.sampler = data.BatchSampler(s.data["train"][:n_chars], s.data["val"], s.block_size, s.batch_size,
                                            s.device, trainer.strategy.sampler_seed(trainer.cfg.seed),
                                            shard=trainer.strategy.batch_shard())
    return prepare


def get_runs(arch, sizes, seeds, s, device, corpus, cache_dir: Path, log) -> tuple[list, int]:
    """Every (D, seed) result, cached by a hash of the run and its D; returns (results, trained now)."""
    vocab = data.CharVocab.from_text(corpus.text)
    n_train = len(data.split_ids(vocab.encode(corpus.text), 0.9)[0])
    tokens = s["max_iters"] * s["batch_size"] * s["block_size"]
    out, trained = [], 0
    make_dir(cache_dir, "--cache-dir ")
    for d_chars in sizes:
        D = n_train if d_chars == 0 else d_chars
        for seed in seeds:
            cfg = run_config(arch, seed, s, device, None)
            key = hashlib.sha256(f"{run_key(cfg, corpus.sha256, s['val_chars'])}/D={D}/v{CACHE_VERSION}"
                                 .encode()).hexdigest()[:16]
            path = cache_dir / f"{key}.json"
            label = f"D = {D:,} characters ({tokens / D:.1f} passes), seed {seed}"
            if path.is_file():
                res = json.loads(path.read_text(encoding="utf-8"))
                log(f"cached: {label}")
            else:
                log(f"training: {label}")
                res = train_one(cfg, corpus, s["val_chars"], cache_dir / key, log, restrict_training_split(D))
                n_nonemb, n_total = param_counts(cfg, len(vocab))
                res.update(key=key, train_chars=D, seed=seed, n_layer=arch[0], n_head=arch[1], n_embd=arch[2],
                           n_params_non_embedding=n_nonemb, n_params_total=n_total, tokens=tokens,
                           max_iters=cfg.max_iters, device=device)
                save_results(path, res)
                shutil.rmtree(cache_dir / key, ignore_errors=True)   # the checkpoint is not needed once kept
                trained += 1
            out.append(res)
    return out, trained


def summarise(runs, resamples: int) -> dict:
    """The fit over every run, the fit without the largest D, and the data-limited fraction."""
    d = [r["train_chars"] for r in runs]
    loss = [r["best_val_loss"] for r in runs]
    alpha, d_c = fit_power_law(d, loss)
    fit = {"alpha_D": alpha, "D_c": d_c, "bootstrap": bootstrap_fit(d, loss, max(d), resamples),
           "residuals_log": [float(v) for v in np.log(loss) - np.log(fit_and_predict(d, loss, d)[1])]}
    small = [i for i, v in enumerate(d) if v < max(d)]
    if len({d[i] for i in small}) >= 2:   # the law without the whole split: does the last point bend?
        a_small, _ = fit_power_law([d[i] for i in small], [loss[i] for i in small])
        pred = float(fit_and_predict([d[i] for i in small], [loss[i] for i in small], max(d))[1])
        measured = float(np.mean([loss[i] for i in range(len(d)) if d[i] == max(d)]))
        fit["without_largest"] = {"alpha_D": a_small, "predicted_largest": pred, "measured_largest": measured,
                                  "relative_error": (measured - pred) / pred}
    return fit


def draw(runs, fit, baselines, path) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    d = np.array([r["train_chars"] for r in runs], dtype=float)
    loss = [r["best_val_loss"] for r in runs]
    ax.scatter(d, loss, color="C0", zorder=3, label="best val loss (each run)")
    grid = np.geomspace(d.min() / 1.3, d.max() * 1.3, 100)
    ax.plot(grid, fit_and_predict(d, loss, grid)[1], color="C0",
            label=f"fit $(D_c/D)^{{\\alpha_D}}$: $\\alpha_D$ = {fit['alpha_D']:.3f} "
                  f"$\\pm$ {fit['bootstrap']['alpha_std']:.3f}")
    if "without_largest" in fit:
        w = fit["without_largest"]
        keep = d < d.max()
        ax.plot(grid, fit_and_predict(d[keep], np.array(loss)[keep], grid)[1], color="C1", ls="--",
                label=f"fit without the whole split: $\\alpha_D$ = {w['alpha_D']:.3f}")
    if baselines:
        ax.axhline(baselines["bigram"], color="gray", ls="--", lw=1, label=f"bigram counts: {baselines['bigram']:.3f}")
    log_log_axes(ax, "training characters D", f"L(D) at fixed N = {runs[0]['n_params_non_embedding']:,}")
    first = min(r["seed"] for r in runs)
    for i, r in enumerate(sorted((r for r in runs if r["seed"] == first), key=lambda r: r["train_chars"])):
        h = r["history"][1:]   # iteration 0 is the untrained model
        passes = [e["iter"] * r["tokens"] / r["max_iters"] / r["train_chars"] for e in h]
        line, = ax2.plot(passes, [e["val_loss"] for e in h], color=f"C{i}", label=f"D = {r['train_chars']:,}")
        ax2.scatter([r["best_iter"] * r["tokens"] / r["max_iters"] / r["train_chars"]], [r["best_val_loss"]],
                    color=line.get_color(), s=40, zorder=3)
    ax2.set_xscale("log")
    ax2.set_xlabel("passes over the run's training characters")
    ax2.set_ylabel("validation loss (fixed piece)")
    ax2.set_title(f"validation curves, seed {first} (dot: best = early stopping)")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    return save_figure(fig, path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="default: model " + ":".join(map(str, ARCH)) + ", D = "
                                + ",".join(str(v) if v else "all" for v in SIZES) + "; --quick: model "
                                + ":".join(map(str, QUICK_ARCH)) + ", D = "
                                + ",".join(str(v) if v else "all" for v in QUICK_SIZES) + ".")
    add_common_args(p, NAME)
    p.add_argument("--data", metavar="FILE", default=None,
                   help="a UTF-8 text to train on (default: Tiny Shakespeare, looked up as train_charlm.py does)")
    p.add_argument("--cache-dir", metavar="DIR", default="out/data_scaling",
                   help="where finished runs are kept (default: out/data_scaling)")
    p.add_argument("--arch", type=parse_arch, default=None, metavar="L:H:C", help="the model (n_layer:n_head:n_embd)")
    p.add_argument("--sizes", type=parse_sizes, default=None, metavar="D,...",
                   help="training characters of each run ('all': the whole training split)")
    p.add_argument("--seeds", type=int, default=1, metavar="K", help="seeds per size (default 1)")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples of the fit, for its error bars (default 2000; at least 10)")
    add_settings(p, SETTINGS)
    return p


def run(args, log=print) -> dict:
    require_device(args.device)   # no GPU (or no CuPy): one line saying why, before any work
    q = args.quick
    s = resolve_settings(args, SETTINGS)
    arch = args.arch or (QUICK_ARCH if q else ARCH)
    if args.seeds < 1 or args.bootstrap < 10:
        raise train.ConfigError("--seeds must be at least 1 and --bootstrap at least 10")
    seeds = [1337 + i for i in range(args.seeds)]
    run_config(arch, seeds[0], s, args.device, None)   # a bad setting fails now, before any training
    corpus = data.load_corpus(args.data, progress=False, log=log)
    n_train = len(data.split_ids(data.CharVocab.from_text(corpus.text).encode(corpus.text), 0.9)[0])
    sizes = args.sizes or (QUICK_SIZES if q else SIZES)
    for v in sizes:
        if v and not s["block_size"] + 1 < v <= n_train:
            raise data.DataError(f"--sizes: {v:,} training characters is not between block_size + 2 = "
                                 f"{s['block_size'] + 2} and the training split's {n_train:,}")
    tokens = s["max_iters"] * s["batch_size"] * s["block_size"]
    log(f"corpus: {corpus.source}, {len(corpus.text):,} characters ({n_train:,} in the training split); model "
        f"{':'.join(map(str, arch))}; every run: {tokens:,} training tokens, best of an eval every "
        f"{s['eval_interval']} iterations; seeds {seeds}")
    t0 = time.perf_counter()
    cache = Path(args.cache_dir)
    runs, trained = get_runs(arch, sizes, seeds, s, args.device, corpus, cache, log)
    fit = summarise(runs, args.bootstrap)
    baselines = ngram_baselines(corpus.text, s["val_chars"])
    wall = time.perf_counter() - t0

    d_all, l_all = [r["train_chars"] for r in runs], [r["best_val_loss"] for r in runs]
    rows = [[f"{r['train_chars']:,}", r["seed"], f"{tokens / r['train_chars']:.1f}", f"{r['best_val_loss']:.4f}",
             r["best_iter"], f"{r['best_iter'] * tokens / r['max_iters'] / r['train_chars']:.1f}",
             f"{r['last_val_loss']:.4f}", f"{float(fit_and_predict(d_all, l_all, r['train_chars'])[1]):.4f}",
             f"{r['train_seconds']:.0f}"] for r in runs]
    print_table(["D (chars)", "seed", "passes", "best val", "at iter", "passes at best", "last val", "fit", "s"],
                rows)
    b = fit["bootstrap"]
    log(f"\nfit: L(D) = ({fit['D_c']:.3e} / D)^{fit['alpha_D']:.4f}; alpha_D = {fit['alpha_D']:.4f} +- "
        f"{b['alpha_std']:.4f} (bootstrap, 95%: {b['alpha_95'][0]:.4f} to {b['alpha_95'][1]:.4f})")
    if "without_largest" in fit:
        w = fit["without_largest"]
        log(f"without the whole split: alpha_D = {w['alpha_D']:.4f}, which predicts {w['predicted_largest']:.4f} "
            f"there; measured {w['measured_largest']:.4f} ({100 * w['relative_error']:+.1f}%)")
    log(f"Kaplan et al. (WebText2, BPE tokens, early stopping): alpha_D = {KAPLAN_ALPHA_D}")
    log(f"trained {trained} run(s) now, {len(runs) - trained} from the cache in {cache}; {wall:.0f} s")

    results = {"experiment": NAME, "machine": machine_info(args.device, args.note),
               "corpus": {"source": corpus.source, "name": corpus.name, "chars": len(corpus.text),
                          "train_chars": n_train, "sha256": corpus.sha256},
               "settings": dict(s, tokens_per_run=tokens, min_lr=s["lr"] / 10, seeds=seeds, quick=q,
                                arch=list(arch), sizes=sizes),
               "kaplan": {"alpha_D": KAPLAN_ALPHA_D, "D_c": KAPLAN_D_C}, "runs": runs, "fit": fit,
               "baselines": baselines, "trained_now": trained, "wall_seconds": wall}
    out, fig = output_paths(args, NAME)
    write_outputs(results, out, fig, lambda path: draw(runs, fit, baselines, path), log)
    return results


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
