"""Count a GPT's parameters and training compute exactly, and set the rules of thumb beside them.

    python examples/param_count.py            # the table, docs/figures/param_count.png, docs/results/param_count.json
    python examples/param_count.py --quick    # small configurations only, also built and counted tensor by tensor

The claim examined: the non-embedding parameters of a transformer are

    N ~ 2 d n_layer (2 d_attn + d_ff)  =  12 n_layer d^2      (d_attn = d, d_ff = 4 d)

and training costs C ~ 6 N D floating-point operations for D tokens. For each
configuration the script lists the exact count of every tensor of minitf's
GPT (from the shapes alone: no weight is allocated, so GPT-2 XL's 1.5 billion
parameters count instantly), the two formulas and the relative gap, and splits
the gap into what the formula leaves out: biases and LayerNorms. Configurations
small enough to build are also built, and their exact count is checked against
``GPT(config).num_parameters(exclude_embeddings=True)``.

Compute per trained token: 6 N counts the matrix products of the weights
(2 FLOPs per weight and token forward, twice that backward). Attention adds
its own products, QK^T and PV, which have no weights: per layer and token
4 T d forward (T keys of width d, twice), so 12 n_layer T d for training when
the whole T x T score matrix is computed, as minitf does (6 n_layer T d if the
masked half is skipped). The share of that term, 12 T d / (72 d^2 + 12 T d) =
T / (6 d + T), depends only on the context T against the width d.
"""
from __future__ import annotations

import argparse
import sys

import minitf as mt
from minitf import models

from _common import (write_outputs, add_common_args, machine_info, output_paths, print_table, pyplot,
                     save_figure, set_threads)

NAME = "param_count"

# (name, n_layer, n_head, n_embd, block_size, vocab_size, bias)
CONFIGS = [
    ("tiny (tests)", 2, 4, 64, 64, 65, True),
    ("preset baby", 4, 4, 128, 64, 65, False),
    ("preset small", 6, 6, 384, 256, 65, False),
    ("d=512, 6 layers", 6, 8, 512, 1024, 50257, True),      # worked examples of the rule of thumb
    ("d=768, 24 layers", 24, 12, 768, 1024, 50257, True),   # (d=768 with 12 layers is GPT-2 small)
    ("d=1536, 12 layers", 12, 16, 1536, 1024, 50257, True),
    ("GPT-2 small", 12, 12, 768, 1024, 50257, True),
    ("GPT-2 medium", 24, 16, 1024, 1024, 50257, True),
    ("GPT-2 large", 36, 20, 1280, 1024, 50257, True),
    ("GPT-2 XL", 48, 25, 1600, 1024, 50257, True),
]
QUICK_CONFIGS = [
    ("q1", 1, 2, 8, 16, 11, True),
    ("q2", 2, 2, 16, 32, 13, False),
    ("q3", 3, 4, 32, 8, 7, True),
]
BUILD_LIMIT = 2_000_000  # configurations with fewer parameters are also built and counted tensor by tensor


def tensor_shapes(cfg: models.GPTConfig) -> dict:
    """Every parameter tensor of ``GPT(cfg)`` with its shape, named as in its state dict.

    The layout (nanoGPT's): per block ln_1, attn.c_attn (3d, d), attn.c_proj (d, d),
    ln_2, mlp.c_fc (4d, d), mlp.c_proj (d, 4d), biases and LayerNorm shifts only with
    ``bias``; then ln_f; the embeddings wte (V, d) and wpe (T, d); lm_head is wte (tied)."""
    d, V, T = cfg.n_embd, cfg.vocab_size, cfg.block_size
    shapes = {"transformer.wte.weight": (V, d), "transformer.wpe.weight": (T, d)}
    for i in range(cfg.n_layer):
        p = f"transformer.h.{i}."
        layers = [("ln_1", None), ("attn.c_attn", (3 * d, d)), ("attn.c_proj", (d, d)),
                  ("ln_2", None), ("mlp.c_fc", (4 * d, d)), ("mlp.c_proj", (d, 4 * d))]
        for name, w in layers:
            shapes[p + name + ".weight"] = (d,) if w is None else w
            if cfg.bias:
                shapes[p + name + ".bias"] = (d,) if w is None else (w[0],)
    shapes["transformer.ln_f.weight"] = (d,)
    if cfg.bias:
        shapes["transformer.ln_f.bias"] = (d,)
    return shapes


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def breakdown(cfg: models.GPTConfig) -> dict:
    """The exact count, split into what 12 n_layer d^2 counts and what it leaves out."""
    parts = {"matrices": 0, "linear_biases": 0, "layernorm": 0, "embeddings": 0}
    for name, shape in tensor_shapes(cfg).items():
        if ".wte." in name or ".wpe." in name:
            parts["embeddings"] += _size(shape)
        elif ".ln_" in name:
            parts["layernorm"] += _size(shape)
        elif name.endswith(".bias"):
            parts["linear_biases"] += _size(shape)
        else:
            parts["matrices"] += _size(shape)
    parts["non_embedding"] = parts["matrices"] + parts["linear_biases"] + parts["layernorm"]
    parts["total"] = parts["non_embedding"] + parts["embeddings"]
    return parts


def kaplan_formula(n_layer: int, d: int, d_attn: int | None = None, d_ff: int | None = None) -> int:
    """2 d n_layer (2 d_attn + d_ff): the weight matrices of attention and feed-forward."""
    d_attn = d if d_attn is None else d_attn
    d_ff = 4 * d if d_ff is None else d_ff
    return 2 * d * n_layer * (2 * d_attn + d_ff)


def compute_per_token(n_params: int, n_layer: int, T: int, d: int) -> dict:
    """Training FLOPs per token: 6 N, and 6 N + 12 n_layer T d with attention's own products."""
    six_n = 6 * n_params
    attn = 12 * n_layer * T * d
    return {"six_N": six_n, "attention_term": attn, "with_attention": six_n + attn,
            "attention_share": attn / (six_n + attn)}


def run(configs, build_limit: int = BUILD_LIMIT) -> list[dict]:
    rows = []
    for name, n_layer, n_head, d, T, V, bias in configs:
        cfg = models.GPTConfig(vocab_size=V, block_size=T, n_layer=n_layer, n_head=n_head, n_embd=d, bias=bias)
        parts = breakdown(cfg)
        exact = parts["non_embedding"]
        approx = 12 * n_layer * d * d
        row = {"name": name, "n_layer": n_layer, "n_head": n_head, "d": d, "block_size": T, "vocab_size": V,
               "bias": bias, "exact_non_embedding": exact, "formula_2d_nlayer_2dattn_dff": kaplan_formula(n_layer, d),
               "formula_12_nlayer_d2": approx, "relative_gap": exact / approx - 1,
               "breakdown": parts, "closed_form": models.gpt_param_count(cfg),
               "compute_per_token": compute_per_token(exact, n_layer, T, d)}
        if parts["total"] <= build_limit:
            mt.manual_seed(0)
            model = models.GPT(cfg)
            row["built_non_embedding"] = model.num_parameters(exclude_embeddings=True)
            row["built_total"] = model.num_parameters()
        rows.append(row)
    return rows


def _label(ax, points, column, crowded, fontsize=7):
    """Name scattered points without overlapping labels. Points that fall on one spot (within 3%
    in x and y) share one label. The ``crowded(x, y)`` ones are named in a column at axes
    fraction ``column`` = (x, top y, bottom y), in the order of their heights, each joined to its
    point by a thin line; the others get their name beside them."""
    groups = []
    for x, y, name in sorted(points):
        for g in groups:
            if abs(x / g[0] - 1) < 0.03 and abs(y / g[1] - 1) < 0.03:
                g[2].append(name)
                break
        else:
            groups.append([x, y, [name]])
    listed = sorted((g for g in groups if crowded(g[0], g[1])), key=lambda g: -g[1])
    cx, top, bottom = column
    for k, (x, y, names) in enumerate(listed):
        ty = top - (top - bottom) * (k / max(1, len(listed) - 1))
        ax.annotate(" / ".join(names), (x, y), xytext=(cx, ty), textcoords="axes fraction", fontsize=fontsize,
                    va="center", arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5"})
    for x, y, names in groups:
        if not crowded(x, y):
            ax.annotate(" / ".join(names), (x, y), fontsize=fontsize, textcoords="offset points", xytext=(5, -3))


def draw(rows, path):
    plt = pyplot()
    if plt is None:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for bias, marker in ((True, "o"), (False, "s")):
        sel = [r for r in rows if r["bias"] == bias]
        a1.scatter([r["d"] for r in sel], [100 * r["relative_gap"] for r in sel], marker=marker,
                   label=f"bias={bias}")
    ds = [2 ** (k / 4) for k in range(20, 46)]
    a1.plot(ds, [100 * 13 / (12 * d) for d in ds], "k:", lw=1, label="13 / (12 d): biases and LayerNorms")
    a1.plot(ds, [100 * 2 / (12 * d) for d in ds], "k--", lw=1, label="2 / (12 d): LayerNorm weights only")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlim(right=20000)
    _label(a1, [(r["d"], 100 * r["relative_gap"], r["name"]) for r in rows], column=(0.6, 0.92, 0.62),
           crowded=lambda x, y: x >= 400)
    a1.set_xlabel("width d")
    a1.set_ylabel("exact / (12 n_layer d^2) - 1   (%)")
    a1.set_title("Non-embedding parameters against 12 n_layer d^2")
    a1.legend(fontsize=8, loc="lower left")
    ratios = [2 ** (k / 2) for k in range(-12, 11)]   # T / d from 1/64 to 32
    a2.plot(ratios, [100 * r / (6 + r) for r in ratios], "k-", lw=1, label="T / (6 d + T)")
    a2.scatter([r["block_size"] / r["d"] for r in rows], [100 * r["compute_per_token"]["attention_share"] for r in rows])
    a2.set_xscale("log")
    # chapter 4's block: d = 64 reading T = 1024 tokens, T / d = 16
    a2.scatter([16], [100 * 16 / 22], marker="*", s=90, color="C3", zorder=3,
               label="d = 64, T = 1024 (chapter 4's block)")
    a2.annotate(f"T/d = 16: {100 * 16 / 22:.0f}%", (16, 100 * 16 / 22), fontsize=7, textcoords="offset points",
                xytext=(-6, 4), ha="right")
    _label(a2, [(r["block_size"] / r["d"], 100 * r["compute_per_token"]["attention_share"], r["name"])
                for r in rows], column=(0.03, 0.82, 0.45), crowded=lambda x, y: True)
    a2.set_xlabel("context / width   T / d")
    a2.set_ylabel("attention's share of training FLOPs (%)")
    a2.set_title("6 N + 12 n_layer T d: the share of the attention term")
    a2.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Counting is arithmetic on shapes: the small configurations are "
                                       "built on the CPU whatever --device says.")
    add_common_args(p, NAME)
    args = p.parse_args(argv)
    set_threads(args.threads)
    json_path, fig_path = output_paths(args, NAME)
    rows = run(QUICK_CONFIGS if args.quick else CONFIGS)

    print("Non-embedding parameters: exact count against the formulas")
    print_table(["config", "n_layer", "d", "bias", "exact N", "12 n_layer d^2", "gap %", "matrices",
                 "biases", "LayerNorm", "built"],
                [[r["name"], r["n_layer"], r["d"], r["bias"], f"{r['exact_non_embedding']:,}",
                  f"{r['formula_12_nlayer_d2']:,}", f"{100 * r['relative_gap']:.3f}",
                  f"{r['breakdown']['matrices']:,}", f"{r['breakdown']['linear_biases']:,}",
                  f"{r['breakdown']['layernorm']:,}",
                  "same" if r.get("built_non_embedding") == r["exact_non_embedding"]
                  else ("-" if "built_non_embedding" not in r else "DIFFERS")] for r in rows])
    print("\nTraining FLOPs per token: 6 N against 6 N + 12 n_layer T d (T = block_size)")
    print_table(["config", "T", "T/d", "6 N", "12 n_layer T d", "attention share %", "total params"],
                [[r["name"], r["block_size"], f"{r['block_size'] / r['d']:.3g}",
                  f"{r['compute_per_token']['six_N']:.3e}", f"{r['compute_per_token']['attention_term']:.3e}",
                  f"{100 * r['compute_per_token']['attention_share']:.1f}", f"{r['breakdown']['total']:,}"]
                 for r in rows])
    bad = [r["name"] for r in rows if r.get("built_non_embedding", r["exact_non_embedding"]) != r["exact_non_embedding"]
           or r["closed_form"] != r["exact_non_embedding"]]
    results = {"experiment": NAME, "machine": machine_info(args.device, args.note), "rows": rows}
    print()
    write_outputs(results, json_path, fig_path, lambda path: draw(rows, path))
    if bad:  # the count of tensors and the closed form disagree: a bug, not a result
        sys.exit(f"error: exact counts disagree for {', '.join(bad)}")
    return results


if __name__ == "__main__":
    main()
