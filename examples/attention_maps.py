"""Draw what every attention head of a trained character-level GPT looks at, for one prompt.

    python examples/train_charlm.py --out-dir out/charlm          # a checkpoint first
    python examples/attention_maps.py --out-dir out/charlm        # heatmaps + one line per head
    python examples/attention_maps.py --quick                     # trains a tiny model for itself

Each heatmap is one head's attention matrix P (query position down, key
position across): row i holds the weights softmax(q_i k_j / sqrt(hd)) that
query i gives the keys j <= i, so everything above the diagonal is 0 (the
causal triangle). The line beside each head is computed from its weights, not
guessed: the mean weight a query puts at offset -1 (the previous character),
at offset 0 (itself), on the first character, on the start of the current
word, and on spaces and punctuation, each against what uniform attention over
the visible keys would give. See docs/attention_maps.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_common_args, machine_info, output_paths, print_table, pyplot, require_device,  # noqa: E402
                     run_main, save_figure, write_outputs)

import minitf as mt  # noqa: E402
from minitf import train  # noqa: E402

NAME = "attention_maps"
PROMPT = "ROMEO:\nBut soft! what light through yonder window breaks?"
FIRST_QUERY = 2   # statistics skip queries 0 and 1, which can only see 1 and 2 keys


# ---------------------------------------------------------------- what a head attends to
def tick(ch: str) -> str:
    """A character as a label: newline and space made visible."""
    return {"\n": "\u21b5", " ": "\u2423"}.get(ch, ch)


def key_features(text: str) -> dict:
    """For each query i, a boolean (T, T) mask of the keys j of each kind (only j <= i matter).

    offset -1 / offset 0 / the first character / the last space or punctuation
    at or before i (the boundary of the word being read) / every space and
    punctuation character.
    """
    T = len(text)
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    nonletter = np.array([not (c.isalnum() or c == "'") for c in text])
    boundary = np.full(T, -1)
    last = -1
    for t in range(T):
        last = t if nonletter[t] else last
        boundary[t] = last                      # -1: no boundary yet (matches no key)
    return {"previous character": j == i - 1,
            "itself": j == i,
            "first character": np.broadcast_to(j == 0, (T, T)),
            "last space or punctuation": j == boundary[:, None],
            "spaces and punctuation": np.broadcast_to(nonletter[None, :], (T, T)) & (j <= i)}


KINDS = list(key_features("a"))


def head_stats(P: np.ndarray, text: str) -> dict:
    """Where one head's weights go, averaged over queries i >= 2.

    P: (T, T), rows summing to 1 over j <= i. For each kind of key: the mean
    weight on it ("weight") and what uniform attention over the i + 1 visible
    keys would put there ("uniform"). Also the mean distance back,
    sum_j P_ij (i - j), and the mean entropy of a row in bits.
    """
    T = P.shape[0]
    rows = np.arange(FIRST_QUERY, T)
    visible = np.tril(np.ones((T, T), dtype=bool))
    uniform = visible / visible.sum(1, keepdims=True)
    out = {}
    for name, mask in key_features(text).items():
        m = mask & visible
        out[name] = {"weight": float((P * m).sum(1)[rows].mean()), "uniform": float((uniform * m).sum(1)[rows].mean())}
    dist = (P * (np.arange(T)[:, None] - np.arange(T)[None, :]) * visible).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(P > 0, P * np.log2(np.where(P > 0, P, 1.0)), 0.0).sum(1)
    out["mean distance"] = float(dist[rows].mean())
    out["uniform distance"] = float((np.arange(T)[rows] / 2).mean())
    out["entropy_bits"] = float(ent[rows].mean())
    out["uniform_entropy_bits"] = float(np.log2(rows + 1).mean())
    # one fixed key that many queries look at (a column in the picture): the weight it gets, as a share
    # of all the weight of the queries from FIRST_QUERY on; key 0 is "first character" already
    col, col_u = P[rows].sum(0) / rows.size, uniform[rows].sum(0) / rows.size
    k = int(col[1:].argmax()) + 1 if T > 1 else 0
    out["one key"] = {"weight": float(col[k]), "uniform": float(col_u[k]), "position": k, "char": text[k]}
    return out


def describe(stats: dict, short: bool = False) -> str:
    """One line: the kind of key with the largest weight relative to uniform attention, if it holds a
    good share (>= 0.3) of the weight and at least 1.5 times uniform's; otherwise how spread out the head is.
    ``short``: a few words, for a picture's title."""
    kinds = KINDS + ["one key"]
    best = max(kinds, key=lambda k: (stats[k]["weight"] >= 0.3, stats[k]["weight"] / max(stats[k]["uniform"], 1e-12)))
    w, u = stats[best]["weight"], stats[best]["uniform"]
    if w >= 0.3 and w >= 1.5 * u:
        name = best
        if best == "one key":
            name = f"one key, '{tick(stats[best]['char'])}' at position {stats[best]['position']}"
        return f"{name}: {w:.2f}" if short else f"{name}: {w:.2f} of the weight (uniform: {u:.2f})"
    if short:
        return f"spread out: {stats['entropy_bits']:.1f} bits, {stats['mean distance']:.0f} back"
    return (f"spread out: {stats['entropy_bits']:.1f} bits (uniform: {stats['uniform_entropy_bits']:.1f}), "
            f"mean {stats['mean distance']:.1f} characters back (uniform: {stats['uniform distance']:.1f})")


# ---------------------------------------------------------------- the model
def attention_weights(model, vocab, prompt: str, device: str) -> np.ndarray:
    """(n_layer, n_head, T, T): every head's attention probabilities for ``prompt``."""
    blocks = model.transformer.h
    for b in blocks:
        b.attn.keep_attention = True
    model.eval()
    try:
        with mt.no_grad():
            model(mt.tensor(vocab.encode(prompt)[None], device=device))
        return np.stack([b.attn.attention.numpy()[0] for b in blocks])
    finally:
        for b in blocks:
            b.attn.keep_attention, b.attn.attention = False, None


def quick_checkpoint(out_dir: Path, data_path, device: str, max_iters: int = 150) -> Path:
    """--quick: a tiny GPT (2 layers, 2 heads, width 32) trained for ``max_iters`` iterations, in ``out_dir``."""
    cfg = train.make_config("baby", device=device, n_layer=2, n_head=2, n_embd=32, block_size=64, batch_size=16,
                            max_iters=max_iters, warmup_iters=min(10, max_iters), lr=3e-3, min_lr=3e-4,
                            eval_interval=max(1, max_iters), eval_iters=2,
                            data=data_path, out_dir=str(out_dir), progress=False, sample_chars=0)
    train.Trainer(cfg, log=lambda line: None, overwrite=True).run()
    return out_dir


def draw(P: np.ndarray, prompt: str, lines, path):
    plt = pyplot()
    if plt is None:
        return None
    L, H, T, _ = P.shape
    fig, axes = plt.subplots(L, H, figsize=(3.2 * H, 3.45 * L), squeeze=False)
    labels = [tick(c) for c in prompt]
    for l in range(L):
        for h in range(H):
            ax = axes[l][h]
            ax.imshow(P[l, h], cmap="magma", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks(range(T))
            ax.set_yticks(range(T))
            ax.set_xticklabels(labels, fontsize=4, family="monospace")
            ax.set_yticklabels(labels, fontsize=4, family="monospace")
            ax.tick_params(length=0, pad=1)
            ax.set_title(f"layer {l}, head {h}\n{lines[l][h]}", fontsize=6)
    fig.suptitle(f"attention weights (row: query, column: key) for {prompt!r}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=150)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="The checkpoint is one written by examples/train_charlm.py.")
    add_common_args(p, NAME)
    p.add_argument("--out-dir", default="out/charlm", metavar="DIR",
                   help="the training run whose checkpoint to load (default: out/charlm)")
    p.add_argument("--prompt", default=PROMPT,
                   help="the text whose attention is drawn (default: two lines of Romeo and Juliet; "
                        "at most block_size characters of the model's vocabulary)")
    p.add_argument("--data", metavar="FILE", default=None, help="--quick: the text to train the tiny model on")
    p.add_argument("--max-iters", type=int, default=150, metavar="N", help="--quick: training iterations (default 150)")
    return p


def run(args, log=print) -> dict:
    require_device(args.device)   # no GPU (or no CuPy): one line saying why, before any work
    tmp = None
    if args.quick:
        tmp = tempfile.TemporaryDirectory()
        log(f"--quick: training a tiny GPT (2 layers x 2 heads, width 32, {args.max_iters} iterations) for the picture")
        out_dir = quick_checkpoint(Path(tmp.name), args.data, args.device, args.max_iters)
    else:
        out_dir = Path(args.out_dir)
    try:
        model, vocab, meta = train.load_model(out_dir, device=args.device)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if meta["config"].get("model") != "gpt":
        raise train.ConfigError(f"{out_dir} holds a {meta['config'].get('model')} model: attention maps need a GPT")
    prompt = args.prompt
    if not prompt or len(prompt) > model.config.block_size:
        raise train.ConfigError(f"--prompt must have 1 to {model.config.block_size} characters (the model's "
                                f"block_size), got {len(prompt)}")
    try:
        vocab.encode(prompt)
    except ValueError as e:
        raise train.ConfigError(f"--prompt: {e}") from None
    P = attention_weights(model, vocab, prompt, args.device)
    L, H = P.shape[:2]
    stats = [[head_stats(P[l, h], prompt) for h in range(H)] for l in range(L)]
    lines = [[describe(s) for s in row] for row in stats]
    titles = [[describe(s, short=True) for s in row] for row in stats]
    rows = [[l, h] + [f"{stats[l][h][k]['weight']:.2f}" for k in KINDS + ["one key"]]
            + [f"{stats[l][h]['mean distance']:.1f}", lines[l][h]] for l in range(L) for h in range(H)]
    log(f"checkpoint: {out_dir} (iteration {meta.get('iter')}, GPT {L} layers x {H} heads); prompt {prompt!r}, "
        f"{len(prompt)} characters; mean weight per kind of key over queries {FIRST_QUERY}..{len(prompt) - 1}:")
    print_table(["layer", "head", "prev", "self", "first", "last space", "spaces", "one key", "distance",
                 "what it attends to"],
                rows)
    results = {"experiment": NAME, "machine": machine_info(args.device, args.note),
               "checkpoint": {"out_dir": str(out_dir), "iter": meta.get("iter"),
                              "model_config": meta.get("model_config"),
                              "last_eval": meta.get("last_eval"), "quick": bool(args.quick)},
               "prompt": prompt, "first_query": FIRST_QUERY,
               "heads": [{"layer": l, "head": h, "stats": stats[l][h], "description": lines[l][h]}
                         for l in range(L) for h in range(H)],
               "row_sums_max_error": float(np.abs(P.sum(-1) - 1).max()),
               "above_diagonal_max": float(np.triu(P, 1).max())}
    out, fig = output_paths(args, NAME)
    write_outputs(results, out, fig, lambda path: draw(P, prompt, titles, path), log)
    results["weights"] = P
    return results


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
