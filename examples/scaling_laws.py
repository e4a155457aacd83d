"""Scaling laws at small scale: train GPTs of several sizes on one corpus with one token budget,
fit L(N) = (N_c / N)^alpha_N in log-log space, predict a larger model's loss, then train it.

    python examples/scaling_laws.py                 # the default sweep (Tiny Shakespeare, CPU)
    python examples/scaling_laws.py --quick         # tiny sizes, under half a minute
    python examples/scaling_laws.py --device gpu    # the same sweep on a GPU

Every run gets the same number of training tokens D = max_iters x batch_size x
block_size, a cosine learning-rate schedule that ends exactly at its last
iteration, and an evaluation every ``--eval-interval`` iterations on a fixed
piece of the validation split (the same characters for every run). The loss
of a run is its *best* validation loss, not its last: bigger models over-fit a
1M-character corpus. N is counted without the embeddings (the count the fit
uses, as Kaplan et al. do) and in total.

Each finished run is cached under ``--cache-dir`` by a hash of everything
that determines it (architecture, training settings, seed, corpus), so a
re-run trains only what is missing. See docs/scaling_laws.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_common_args, machine_info, output_paths, print_table, pyplot, require_device,  # noqa: E402
                     make_dir, run_main, save_figure, save_results, write_outputs)
from _scaling import (add_settings, bootstrap_fit, compare_shapes, draw_shapes, fit_and_predict, log_log_axes,  # noqa: E402,F401
                      fit_power_law, ngram_baselines, parse_arch, parse_archs, parse_shapes, resolve_settings)

import minitf as mt  # noqa: E402
from minitf import data, models, train  # noqa: E402
from minitf import functional as F  # noqa: E402

NAME = "scaling_laws"
KAPLAN_ALPHA_N = 0.076       # Kaplan et al. (2020), L(N) on WebText2, non-embedding N, nats per BPE token
KAPLAN_N_C = 8.8e13
CACHE_VERSION = 1            # bump when the meaning of a cached result changes

# (n_layer, n_head, n_embd): non-embedding N from 12k to 788k (64x), then a model 2.2x beyond
SWEEP = [(1, 4, 32), (2, 4, 40), (2, 4, 64), (3, 4, 88), (4, 4, 128)]
PREDICT = (4, 4, 192)
QUICK_SWEEP = [(1, 2, 16), (1, 2, 24), (1, 4, 32), (2, 4, 32), (2, 4, 48)]
QUICK_PREDICT = (2, 4, 64)

# training settings shared by every run (flag, type, default, quick default, help)
SETTINGS = [
    ("max_iters", int, 1000, 150, "training iterations of every run (the cosine decay ends here)"),
    ("batch_size", int, 16, 16, "blocks per batch"),
    ("block_size", int, 64, 64, "context length in characters"),
    ("lr", float, 1e-3, 2e-3, "peak learning rate (min_lr is a tenth of it)"),
    ("warmup_iters", int, 50, 10, "linear warmup iterations"),
    ("eval_interval", int, 100, 25, "iterations between validation evals"),
    ("val_chars", int, 32768, 8192, "validation characters of each eval (a fixed piece, the same for every run)"),
]


# ---------------------------------------------------------------- one run
def run_config(arch, seed: int, s: dict, device: str, data_path) -> train.TrainConfig:
    """The library's training config of one run: same data, tokens and schedule shape for every size."""
    n_layer, n_head, n_embd = arch
    return train.make_config("baby", model="gpt", device=device, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                             block_size=s["block_size"], batch_size=s["batch_size"], max_iters=s["max_iters"],
                             lr_decay_iters=s["max_iters"],   # the cosine ends at this run's budget
                             lr=s["lr"], min_lr=s["lr"] / 10, warmup_iters=s["warmup_iters"],
                             eval_interval=s["eval_interval"], eval_iters=1, dropout=0.0, seed=seed,
                             data=data_path, progress=False, sample_chars=0)


def run_key(cfg: train.TrainConfig, corpus_sha: str, val_chars: int) -> str:
    """A hash of everything that determines a run's result (not where it runs or is written)."""
    # left out: where the run is written and shown, and how it is computed: the device (see the
    # chapter) and checkpoint_blocks, whose recomputation gives the same numbers bit for bit
    # (tests/test_recompute.py); a field added to TrainConfig later must not re-key old results
    fields = {k: v for k, v in dataclasses.asdict(cfg).items()
              if k not in ("out_dir", "data", "progress", "log_interval", "device", "sample_chars",
                           "sample_temperature", "sample_top_k", "extra", "checkpoint_blocks")}
    blob = json.dumps({"config": fields, "corpus": corpus_sha, "val_chars": val_chars, "v": CACHE_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def param_counts(cfg: train.TrainConfig, vocab_size: int) -> tuple[int, int]:
    """(non-embedding N, total N) of the GPT a config describes, without building it."""
    gc = models.GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                          n_head=cfg.n_head, n_embd=cfg.n_embd, bias=cfg.bias)
    return models.gpt_param_count(gc), models.gpt_param_count(gc, exclude_embeddings=False)


class FixedValLoss:
    """Trainer callback: the loss over the first ``val_chars`` characters of the validation split.

    The same characters for every eval and every model, so that differences
    between evals (and the choice of the best one) are not sampling noise.
    """

    def __init__(self, val_chars: int):
        self.val_chars, self.history = val_chars, []

    @mt.no_grad()
    def __call__(self, trainer, record):
        model = trainer.model
        n_blocks = max(1, self.val_chars // trainer.cfg.block_size)
        model.eval()
        total, count, done = 0.0, 0, 0
        for x, y in trainer.sampler.blocks("val", batch_size=64):
            take = min(x.shape[0], n_blocks - done)
            if take <= 0:
                break
            x, y = x[:take], y[:take]
            logits = model(x)   # (B, T, V): flattened to torch's (N, C) layout
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()) * y.numel()
            count, done = count + y.numel(), done + take
        model.train()
        self.history.append({"iter": record["iter"], "val_loss": total / count, "val_tokens": count,
                             "train_loss_estimate": record["train_loss"], "lr": record["lr"]})


def train_one(cfg: train.TrainConfig, corpus: data.Corpus, val_chars: int, run_dir: Path, log,
              prepare=None) -> dict:
    """Train one configuration with the library's Trainer; returns its summary (best val loss and history).

    ``prepare(trainer)``, if given, is called before the run (examples/data_scaling.py
    narrows the training split there)."""
    cfg.out_dir = str(run_dir)
    evals = FixedValLoss(val_chars)
    t0 = time.perf_counter()
    trainer = train.Trainer(cfg, corpus=corpus, callbacks=[evals], overwrite=True, log=lambda line: None)
    if prepare is not None:
        prepare(trainer)
    result = trainer.run()
    wall = time.perf_counter() - t0
    best = min(evals.history, key=lambda h: h["val_loss"])
    last = evals.history[-1]
    log(f"  best val loss {best['val_loss']:.4f} at iter {best['iter']} (last {last['val_loss']:.4f}), "
        f"{wall:.0f} s")
    return {"best_val_loss": best["val_loss"], "best_iter": best["iter"], "last_val_loss": last["val_loss"],
            "final_val_loss_whole_split": result["final_val_loss"], "history": evals.history,
            "train_seconds": result["elapsed_s"], "wall_seconds": wall}


def get_runs(archs, seeds, s, device, corpus, cache_dir: Path, log) -> tuple[list, int]:
    """Every (arch, seed) result, from the cache where it is there, trained (and cached) where not.

    Returns (results, how many were trained now)."""
    vocab_size = len(data.CharVocab.from_text(corpus.text))
    tokens = s["max_iters"] * s["batch_size"] * s["block_size"]
    out, trained = [], 0
    make_dir(cache_dir, "--cache-dir ")
    for arch, seed in itertools.product(archs, seeds):
        cfg = run_config(arch, seed, s, device, None)
        key = run_key(cfg, corpus.sha256, s["val_chars"])
        path = cache_dir / f"{key}.json"
        n_nonemb, n_total = param_counts(cfg, vocab_size)
        label = f"n_layer {arch[0]}, n_head {arch[1]}, n_embd {arch[2]}, seed {seed} (N = {n_nonemb:,})"
        if path.is_file():
            res = json.loads(path.read_text(encoding="utf-8"))
            log(f"cached: {label}")
        else:
            log(f"training: {label}, {tokens:,} tokens")
            run_dir = cache_dir / key
            res = train_one(cfg, corpus, s["val_chars"], run_dir, log)
            res.update(key=key, n_layer=arch[0], n_head=arch[1], n_embd=arch[2], seed=seed,
                       n_params_non_embedding=n_nonemb, n_params_total=n_total, tokens=tokens,
                       lr_decay_iters=cfg.lr_decay_iters, max_iters=cfg.max_iters, device=device,
                       config={k: v for k, v in dataclasses.asdict(cfg).items() if k != "out_dir"})
            save_results(path, res)
            shutil.rmtree(run_dir, ignore_errors=True)   # the checkpoint is not needed once the result is kept
            trained += 1
        out.append(res)
    return out, trained


# ---------------------------------------------------------------- the experiment
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="sizes are n_layer:n_head:n_embd. Default sweep: "
                                + ",".join(":".join(map(str, a)) for a in SWEEP)
                                + "; predicted: " + ":".join(map(str, PREDICT))
                                + ". --quick: " + ",".join(":".join(map(str, a)) for a in QUICK_SWEEP)
                                + "; predicted " + ":".join(map(str, QUICK_PREDICT)) + ", one seed, "
                                + ", ".join(f"{n} {q}" for n, _, _, q, _ in SETTINGS) + ".")
    add_common_args(p, NAME)
    p.add_argument("--data", metavar="FILE", default=None,
                   help="a UTF-8 text to train on (default: Tiny Shakespeare, looked up as train_charlm.py does)")
    p.add_argument("--cache-dir", metavar="DIR", default="out/scaling_laws",
                   help="where finished runs are kept (default: out/scaling_laws); a re-run trains only what "
                        "is missing")
    p.add_argument("--sizes", type=parse_archs, default=None, metavar="L:H:C,...", help="the sweep's sizes")
    p.add_argument("--predict", type=parse_arch, default=None, metavar="L:H:C",
                   help="the larger model whose loss is predicted, then measured")
    p.add_argument("--shapes", type=parse_shapes, default=None, metavar="L:H:C,...",
                   help="also train these shapes (e.g. equal N, different depth and width) with the sweep's "
                        "settings and seeds, and compare each with the fit at its N")
    p.add_argument("--seeds", type=int, default=None, metavar="K", help="seeds per size (default 2; --quick: 1)")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples of the fit, for its error bars (default 2000; at least 10)")
    add_settings(p, SETTINGS)
    return p


def fmt_arch(r) -> str:
    return f"{r['n_layer']}/{r['n_head']}/{r['n_embd']}"


def summarise(sweep, big, n_predict_nonemb, n_predict_total, resamples) -> dict:
    """Fits (non-embedding N: the one used; total N: for comparison), bootstrap, prediction against measurement."""
    n = [r["n_params_non_embedding"] for r in sweep]
    n_tot = [r["n_params_total"] for r in sweep]
    loss = [r["best_val_loss"] for r in sweep]
    alpha, n_c = fit_power_law(n, loss)
    alpha_tot, n_c_tot = fit_power_law(n_tot, loss)
    fit = {"uses": "non-embedding N", "alpha_N": alpha, "N_c": n_c,
           "bootstrap": bootstrap_fit(n, loss, n_predict_nonemb, resamples),
           "residuals_log": [float(v) for v in np.log(loss) - np.log(fit_and_predict(n, loss, n)[1])],
           "total_N": {"alpha": alpha_tot, "N_c": n_c_tot,
                       "residuals_log": [float(v) for v in
                                         np.log(loss) - np.log(fit_and_predict(n_tot, loss, n_tot)[1])]}}
    seeds = sorted({r["seed"] for r in sweep})
    if len(seeds) > 1:   # one fit per seed: the seed-to-seed spread of the exponent itself
        fit["per_seed"] = {str(sd): fit_power_law([r["n_params_non_embedding"] for r in sweep if r["seed"] == sd],
                                                  [r["best_val_loss"] for r in sweep if r["seed"] == sd])[0]
                           for sd in seeds}
    predicted = float(fit_and_predict(n, loss, n_predict_nonemb)[1])
    measured = [r["best_val_loss"] for r in big]
    pred = {"n_params_non_embedding": n_predict_nonemb, "n_params_total": n_predict_total,
            "predicted_loss": predicted, "predicted_95": fit["bootstrap"]["predict_95"],
            "measured_loss": measured, "measured_mean": float(np.mean(measured)) if measured else None}
    if measured:
        pred["error"] = pred["measured_mean"] - predicted
        pred["relative_error"] = pred["error"] / predicted
    return {"fit": fit, "prediction": pred}


def draw(sweep, big, summary, path) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    fit, pred = summary["fit"], summary["prediction"]
    shapes = summary.get("shapes") or []
    fig, axes = plt.subplots(1, 3 if shapes else 2, figsize=(18 if shapes else 12, 4.8))
    ax, ax2 = axes[0], axes[1]
    if shapes:
        draw_shapes(axes[2], shapes)
    n = np.array([r["n_params_non_embedding"] for r in sweep], dtype=float)
    ax.scatter(n, [r["best_val_loss"] for r in sweep], color="C0", zorder=3, label="sweep: best val loss (each seed)")
    grid = np.geomspace(n.min() / 1.3, pred["n_params_non_embedding"] * 1.3, 100)
    b = fit["bootstrap"]
    ax.plot(grid, fit_and_predict(n, [r["best_val_loss"] for r in sweep], grid)[1], color="C0",
            label=f"fit $(N_c/N)^{{\\alpha_N}}$: $\\alpha_N$ = {fit['alpha_N']:.3f} $\\pm$ {b['alpha_std']:.3f}")
    lo, hi = pred["predicted_95"]
    ax.errorbar([pred["n_params_non_embedding"]], [pred["predicted_loss"]],
                yerr=[[pred["predicted_loss"] - lo], [hi - pred["predicted_loss"]]], fmt="D", color="C1",
                capsize=4, zorder=4, label=f"predicted {pred['predicted_loss']:.3f} (95% bootstrap)")
    if big:
        ax.scatter([r["n_params_non_embedding"] for r in big], [r["best_val_loss"] for r in big], marker="*",
                   s=160, color="C3", zorder=5, label=f"measured {pred['measured_mean']:.3f}")
    base = summary.get("baselines")
    if base:
        ax.axhline(base["bigram"], color="gray", ls="--", lw=1,
                   label=f"bigram counts (previous character only): {base['bigram']:.3f}")
    log_log_axes(ax, "non-embedding parameters N", "L(N) at a fixed budget of tokens")
    first_seed = min(r["seed"] for r in sweep)
    runs = [r for r in sweep + big if r["seed"] == first_seed]
    for i, r in enumerate(sorted(runs, key=lambda r: r["n_params_non_embedding"])):
        h = r["history"][1:]   # iteration 0 is the untrained model
        tok = [e["iter"] * r["tokens"] / r["max_iters"] for e in h]
        line, = ax2.plot(tok, [e["val_loss"] for e in h], color=f"C{i}",
                         label=f"{fmt_arch(r)}: N = {r['n_params_non_embedding']:,}")
        ax2.scatter([r["best_iter"] * r["tokens"] / r["max_iters"]], [r["best_val_loss"]], color=line.get_color(),
                    marker="o", s=40, zorder=3)
    ax2.set_xlabel("training tokens")
    ax2.set_ylabel("validation loss (fixed piece)")
    ax2.set_title(f"validation curves, seed {first_seed} (dot: best)")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    return save_figure(fig, path)


def run(args, log=print) -> dict:
    require_device(args.device)   # no GPU (or no CuPy): one line saying why, before any work
    q = args.quick
    s = resolve_settings(args, SETTINGS)
    archs = args.sizes or (QUICK_SWEEP if q else SWEEP)
    big_arch = args.predict or (QUICK_PREDICT if q else PREDICT)
    n_seeds = args.seeds if args.seeds is not None else (1 if q else 2)   # --seeds 0 is refused, not the default
    if n_seeds < 1 or args.bootstrap < 10:
        raise train.ConfigError("--seeds must be at least 1 and --bootstrap at least 10")
    seeds = [1337 + i for i in range(n_seeds)]
    for arch in list(archs) + [big_arch] + list(args.shapes or []):
        run_config(arch, seeds[0], s, args.device, None)   # a bad setting fails now, before any training
    corpus = data.load_corpus(args.data, progress=False, log=log)
    vocab_size = len(data.CharVocab.from_text(corpus.text))
    if int(len(corpus.text) * 0.1) < s["block_size"] + 1:
        raise data.DataError(f"{corpus.source}: the validation split is shorter than block_size + 1")
    tokens = s["max_iters"] * s["batch_size"] * s["block_size"]
    log(f"corpus: {corpus.source}, {len(corpus.text):,} characters; every run: {tokens:,} training tokens "
        f"({s['max_iters']} iterations x {s['batch_size']} x {s['block_size']}), cosine {s['lr']:g} -> "
        f"{s['lr'] / 10:g} ending at iteration {s['max_iters']}; seeds {seeds}")
    t0 = time.perf_counter()
    cache = Path(args.cache_dir)
    sweep, trained = get_runs(archs, seeds, s, args.device, corpus, cache, log)

    big_cfg = run_config(big_arch, seeds[0], s, args.device, None)
    n_big, n_big_total = param_counts(big_cfg, vocab_size)
    # the prediction is made (and printed) from the sweep alone, before the larger model is trained
    before = summarise(sweep, [], n_big, n_big_total, args.bootstrap)
    p = before["prediction"]
    log(f"prediction before training {fmt_arch(dict(n_layer=big_arch[0], n_head=big_arch[1], n_embd=big_arch[2]))} "
        f"(N = {n_big:,}): L = {p['predicted_loss']:.4f} (95% bootstrap {p['predicted_95'][0]:.4f} "
        f"to {p['predicted_95'][1]:.4f})")
    big, trained_big = get_runs([big_arch], seeds, s, args.device, corpus, cache, log)
    summary = summarise(sweep, big, n_big, n_big_total, args.bootstrap)
    summary["baselines"] = ngram_baselines(corpus.text, s["val_chars"])
    shape_runs, trained_shapes = get_runs(args.shapes or [], seeds, s, args.device, corpus, cache, log)
    summary["shapes"] = compare_shapes(shape_runs, sweep)
    wall = time.perf_counter() - t0

    rows = []
    n_sweep, l_sweep = [r["n_params_non_embedding"] for r in sweep], [r["best_val_loss"] for r in sweep]
    for i, r in enumerate(sweep + big):
        rows.append([fmt_arch(r) + ("  (predicted)" if i >= len(sweep) else ""), f"{r['n_params_non_embedding']:,}",
                     f"{r['n_params_total']:,}", r["seed"], f"{r['best_val_loss']:.4f}", r["best_iter"],
                     f"{r['last_val_loss']:.4f}", f"{r['final_val_loss_whole_split']:.4f}",
                     f"{float(fit_and_predict(n_sweep, l_sweep, r['n_params_non_embedding'])[1]):.4f}",
                     f"{r['train_seconds']:.0f}"])
    print_table(["layers/heads/width", "N (no emb.)", "N total", "seed", "best val", "at iter", "last val",
                 "whole val (last)", "fit", "s"], rows)
    f, b = summary["fit"], summary["fit"]["bootstrap"]
    log(f"\nfit on non-embedding N (the one used): L(N) = ({f['N_c']:.3e} / N)^{f['alpha_N']:.4f}; "
        f"alpha_N = {f['alpha_N']:.4f} +- {b['alpha_std']:.4f} (bootstrap over the {len(sweep)} points, "
        f"95%: {b['alpha_95'][0]:.4f} to {b['alpha_95'][1]:.4f})")
    if "per_seed" in f:
        log("  one fit per seed: " + ", ".join(f"seed {k}: {v:.4f}" for k, v in f["per_seed"].items()))
    log(f"fit on total N (embeddings included), for comparison: alpha = {f['total_N']['alpha']:.4f}")
    log(f"Kaplan et al. (WebText2, BPE tokens, models trained to convergence): alpha_N = {KAPLAN_ALPHA_N}")
    base = summary["baselines"]
    log(f"counting baselines on the same validation characters: unigram {base['unigram']:.4f}, "
        f"bigram {base['bigram']:.4f} nats per character")
    p = summary["prediction"]
    log(f"predicted {p['predicted_loss']:.4f}, measured " + ", ".join(f"{m:.4f}" for m in p["measured_loss"])
        + f" (mean {p['measured_mean']:.4f}): error {p['error']:+.4f} ({100 * p['relative_error']:+.1f}%)")
    for sh in summary["shapes"]:
        log(f"shape {fmt_arch(sh)} (N = {sh['n_params_non_embedding']:,}, d/n_layer {sh['width_over_depth']:.1f}): "
            + " / ".join(f"{v:.4f}" for v in sh["best_val_loss"]) + f", mean {sh['mean']:.4f}, fit {sh['fit']:.4f}, "
            f"measured - fit {sh['residual']:+.4f} (seed spread {sh['seed_spread']:.4f})")
    trained += trained_shapes
    n_runs = len(sweep) + len(big) + len(shape_runs)
    log(f"trained {trained + trained_big} run(s) now, {n_runs - trained - trained_big} from the "
        f"cache in {cache}; {wall:.0f} s")

    results = {"experiment": NAME, "machine": machine_info(args.device, args.note), "corpus":
               {"source": corpus.source, "name": corpus.name, "chars": len(corpus.text), "sha256": corpus.sha256,
                "vocab_size": vocab_size},
               "settings": dict(s, tokens_per_run=tokens, min_lr=s["lr"] / 10, seeds=seeds, quick=q),
               "kaplan": {"alpha_N": KAPLAN_ALPHA_N, "N_c": KAPLAN_N_C},
               "sweep": sweep, "predicted_model": big, "shape_runs": shape_runs, "prediction_before_training": before["prediction"],
               **summary, "trained_now": trained + trained_big, "wall_seconds": wall}
    out, fig = output_paths(args, NAME)
    write_outputs(results, out, fig, lambda path: draw(sweep, big, summary, path), log)
    return results


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
