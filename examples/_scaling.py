"""What the scaling experiments share (examples/scaling_laws.py, L(N) and shapes of equal N;
examples/data_scaling.py, L(D); examples/compute_frontier.py, L(C)): the power-law fit in log-log
space and its bootstrap, the counting baselines their losses are read against, the reading of
other shapes against the fit, and their flags for the architecture and the training settings."""
from __future__ import annotations

import argparse

import numpy as np

from minitf import data, train


def fit_power_law(n, loss) -> tuple[float, float]:
    """Least squares of log L = alpha log N_c - alpha log N: returns (alpha_N, N_c).

    n, loss: (P,) positive. The fit is a straight line through (log N, log L);
    its slope is -alpha_N and its intercept alpha_N log N_c. (N_c is inf when
    the points show no trend, alpha_N = 0: use :func:`fit_and_predict` to
    evaluate a fit, which never goes through N_c.)
    """
    slope, intercept = _fit_line(n, loss)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        n_c = float(np.exp(intercept / -slope)) if slope != 0 else float("inf")
    return float(-slope), n_c


def _fit_line(n, loss):
    x, y = np.log(np.asarray(n, dtype=np.float64)), np.log(np.asarray(loss, dtype=np.float64))
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError("fit_power_law needs at least two different sizes")
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def fit_and_predict(n, loss, n_new):
    """(alpha_N, L at each of ``n_new``) of the log-log least-squares fit: L = exp(intercept) N^-alpha_N."""
    slope, intercept = _fit_line(n, loss)
    return -slope, np.exp(intercept + slope * np.log(np.asarray(n_new, dtype=np.float64)))


def bootstrap_fit(n, loss, n_predict: float, resamples: int = 2000, seed: int = 0) -> dict:
    """Refit on ``resamples`` resamplings of the points (with replacement): spread of alpha and of L(n_predict).

    Resamplings with fewer than two distinct sizes are drawn again. Returns the
    standard deviation and the 2.5/97.5 percentiles of both.
    """
    n, loss = np.asarray(n, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    rng = np.random.default_rng(seed)
    alphas, preds = [], []
    while len(alphas) < resamples:
        idx = rng.integers(0, n.size, n.size)
        if np.unique(n[idx]).size < 2:
            continue
        a, pred = fit_and_predict(n[idx], loss[idx], n_predict)
        alphas.append(a)
        preds.append(float(pred))
    alphas, preds = np.array(alphas), np.array(preds)
    return {"resamples": resamples, "alpha_std": float(alphas.std(ddof=1)),
            "alpha_95": [float(v) for v in np.percentile(alphas, [2.5, 97.5])],
            "predict_std": float(preds.std(ddof=1)),
            "predict_95": [float(v) for v in np.percentile(preds, [2.5, 97.5])]}


def ngram_baselines(text: str, val_chars: int) -> dict:
    """Losses (nats per character) of counting models on the validation characters the runs are scored on.

    unigram: p(x) from the training split's character counts; bigram: p(x_t | x_{t-1})
    from its pair counts; both with add-one smoothing, scored on the first
    ``val_chars`` targets of the validation split (the piece every eval uses).
    A GPT that only learned which character follows which would score the bigram's loss.
    """
    vocab = data.CharVocab.from_text(text)
    train_ids, val_ids = data.split_ids(vocab.encode(text), 0.9)
    V, val = len(vocab), val_ids[: val_chars + 1]
    uni = np.bincount(train_ids, minlength=V) + 1.0
    pairs = np.ones((V, V))
    np.add.at(pairs, (train_ids[:-1], train_ids[1:]), 1.0)
    return {"unigram": float(-np.log(uni[val[1:]] / uni.sum()).mean()),
            "bigram": float(-np.log(pairs[val[:-1], val[1:]] / pairs[val[:-1]].sum(1)).mean()),
            "val_targets": int(val.size - 1)}



# ---------------------------------------------------------------- the settings flags
def add_settings(p: argparse.ArgumentParser, settings) -> None:
    """One flag per (name, type, default, quick default, help) of ``settings``, in their own group."""
    g = p.add_argument_group("training settings (the same for every run)")
    for name, typ, default, quick, text in settings:
        g.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None,
                       metavar="N" if typ is int else "X", help=f"{text} (default {default}; --quick: {quick})")


def resolve_settings(args, settings) -> dict:
    """Each setting's value: the flag if given, else its --quick or its normal default. A count below its
    least meaningful value (0 iterations, 0 validation characters...) is a ConfigError naming the flag."""
    s = {name: (getattr(args, name) if getattr(args, name) is not None else (quick if args.quick else default))
         for name, _, default, quick, _ in settings}
    for name, typ, *_ in settings:
        least = 0 if name == "warmup_iters" else 1   # no warmup is a schedule; no training is no experiment
        if typ is int and s[name] < least:
            raise train.ConfigError(f"--{name.replace('_', '-')} must be at least {least}, got {s[name]}")
    return s


# ---------------------------------------------------------------- shapes of equal N
def compare_shapes(shapes, sweep) -> list[dict]:
    """Each extra shape's best losses (one per seed) against the sweep's fit at its own N.

    The fit's value at a shape's N takes out the small differences of N between
    shapes of "equal" size; what is left (measured minus fit) is what the shape
    itself adds or removes, to be read against the seed-to-seed spread."""
    n, loss = [r["n_params_non_embedding"] for r in sweep], [r["best_val_loss"] for r in sweep]
    out = []
    for arch in dict.fromkeys((r["n_layer"], r["n_head"], r["n_embd"]) for r in shapes):
        runs = [r for r in shapes if (r["n_layer"], r["n_head"], r["n_embd"]) == arch]
        fitted = float(fit_and_predict(n, loss, runs[0]["n_params_non_embedding"])[1])
        measured = [r["best_val_loss"] for r in runs]
        out.append({"n_layer": arch[0], "n_head": arch[1], "n_embd": arch[2],
                    "n_params_non_embedding": runs[0]["n_params_non_embedding"], "width_over_depth": arch[2] / arch[0],
                    "seeds": [r["seed"] for r in runs], "best_val_loss": measured, "mean": float(np.mean(measured)),
                    "seed_spread": float(np.ptp(measured)), "fit": fitted,
                    "residual": float(np.mean(measured)) - fitted})
    return out


def draw_shapes(ax, shapes) -> None:
    """Each shape's best losses against its width over depth, with the fit's value at its N."""
    for i, sh in enumerate(shapes):
        x = sh["width_over_depth"]
        ax.scatter([x] * len(sh["best_val_loss"]), sh["best_val_loss"], color=f"C{i}", zorder=3,
                   label=f"{sh['n_layer']}/{sh['n_head']}/{sh['n_embd']}: N = {sh['n_params_non_embedding']:,}")
        ax.plot([x / 1.15, x * 1.15], [sh["fit"]] * 2, color="k", lw=2)
    ax.plot([], [], color="k", lw=2, label="the L(N) fit at each one's N")
    ax.set_xscale("log")
    ax.set_xlabel("width over depth, n_embd / n_layer")
    ax.set_ylabel("best validation loss (each seed)")
    ax.set_title("other shapes against the fit at their N, the sweep's settings")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower left")


# ---------------------------------------------------------------- the architecture flags
def log_log_axes(ax, xlabel: str, title: str) -> None:
    """The scaling figures' axes: log-log, the loss ticks as plain numbers (1.90, not 1.9 x 10^0),
    labels, a grid on the minor ticks too, and the legend."""
    from matplotlib.ticker import FormatStrFormatter
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("best validation loss (nats per character)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)


def parse_arch(text: str):
    try:
        parts = tuple(int(v) for v in text.split(":"))
        if len(parts) != 3 or min(parts) < 1 or parts[2] % parts[1]:
            raise ValueError
        return parts
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not n_layer:n_head:n_embd with n_embd a multiple "
                                         f"of n_head (e.g. 2:4:64)") from None


def parse_archs(text: str, least: int = 2, flag: str = "--sizes"):
    archs = [parse_arch(t) for t in text.split(",") if t.strip()]
    if len(archs) < least:
        raise argparse.ArgumentTypeError(f"{flag} needs at least {least} size(s), e.g. 1:4:32,2:4:64")
    return archs


def parse_shapes(text: str):
    return parse_archs(text, least=1, flag="--shapes")
