"""All n conditionals p(x_i | x_<i) of one GPT, three ways: they agree, and one masked pass is fastest.

    python examples/parallel_conditionals.py           # the check, the timings, the no-mask case (a few minutes)
    python examples/parallel_conditionals.py --device gpu
    python examples/parallel_conditionals.py --quick   # tiny sizes, seconds (what the tests run)

An autoregressive model writes log p(x_1 .. x_n | x_0) = sum_i log p(x_i | x_<i).
The script computes every conditional of a GPT

* **prefixes**: n separate forward passes, pass i over the prefix x_0 .. x_{i-1}
  (n (n + 1) / 2 token positions in all);
* **cache**: incremental decoding, one token per pass, the keys and values of
  earlier tokens kept in the key/value cache (n sequential passes, n positions);
* **parallel**: one forward pass over x_0 .. x_{n-1} with the causal mask (one
  pass, n positions);

checks in float64 that the three give the same distributions (to 1e-10), times
them in float32 against the sequence length n and the batch size b (medians of
alternating rounds), and sets the measured speedup T_cache / T_parallel beside
the formula n / max(n / b, log2 n). Then the warning case: the same model with
the mask dropped. Its "conditionals" see the future: changing a later token
changes an earlier prediction, the "probabilities" of all sequences of length
n add up to more than 1, and trained on random tokens (whose entropy, log V per
token, no honest model can beat) it reaches an impossibly low loss.
"""
from __future__ import annotations

import argparse
import itertools
import math

import numpy as np

import minitf as mt
from minitf import functional as F, models, optim

from _common import (write_outputs, add_common_args, check_device_arg, machine_info, output_paths,
                     print_table, pyplot, save_figure, set_threads, time_alternating)

NAME = "parallel_conditionals"
METHODS = ("prefixes", "cache", "parallel")


# ------------------------------------------------------------------ the three ways
def by_prefixes(model, x):
    """x: (b, n + 1) -> log-probabilities (b, n, V): pass i sees x_0 .. x_{i-1} and predicts x_i."""
    n = x.shape[1] - 1
    return np.stack([F.log_softmax(model(x[:, :i])[:, -1], dim=-1).numpy() for i in range(1, n + 1)], axis=1)


def by_cache(model, x):
    """Incremental decoding: one token per pass, earlier keys and values from the cache."""
    cache = model.new_cache()
    n = x.shape[1] - 1
    return np.stack([F.log_softmax(model(x[:, i:i + 1], cache=cache)[:, -1], dim=-1).numpy() for i in range(n)], axis=1)


def in_parallel(model, x):
    """One masked pass over x_0 .. x_{n-1}: row i of the logits is p(x_{i+1} | x_0 .. x_i)."""
    return F.log_softmax(model(x[:, :-1]), dim=-1).numpy()


WAYS = {"prefixes": by_prefixes, "cache": by_cache, "parallel": in_parallel}


def unmasked(model, idx):
    """GPT's forward pass with the causal mask dropped (same weights): every position sees every other.

    Written with the model's own layers and ``F.multi_head_self_attention(..., causal=False)``;
    ``causal=True`` here gives exactly ``model(idx)``."""
    return _forward(model, idx, causal=False)


def _forward(model, idx, causal):
    tr, c = model.transformer, model.config
    if not isinstance(idx, mt.Tensor):
        idx = mt.tensor(idx, device=tr.wte.weight.device)
    x = tr.drop(tr.wte(idx) + tr.wpe(mt.arange(idx.shape[1], device=idx.device)))
    for block in tr.h:  # pre-norm: X' = X + Attn(LN_1(X)); H = X' + FFN(LN_2(X'))
        a = block.attn
        y = F.multi_head_self_attention(a.c_attn(block.ln_1(x)), c.n_head, causal=causal)
        x = x + a.resid_dropout(a.c_proj(y))
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(tr.ln_f(x))


def make_gpt(vocab, block_size, n_layer, n_head, d, device, dtype, seed=0):
    mt.manual_seed(seed)
    cfg = models.GPTConfig(vocab_size=vocab, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=d)
    return models.GPT(cfg).to(device=device, dtype=dtype).eval()


# ------------------------------------------------------------------ 1. agreement
def check_agreement(arch, n, b, device) -> dict:
    model = make_gpt(block_size=n + 1, device=device, dtype="float64", **arch)
    x = mt.tensor(np.random.default_rng(1).integers(0, arch["vocab"], (b, n + 1)), device=device)
    with mt.no_grad():
        lp = {k: WAYS[k](model, x) for k in METHODS}
        same_forward = float(np.abs(_forward(model, x[:, :-1], causal=True).numpy()
                                    - model(x[:, :-1]).numpy()).max())
    tgt = x.numpy()[:, 1:]
    loglik = {k: float(np.take_along_axis(lp[k], tgt[..., None], -1).sum()) for k in METHODS}
    diff = {f"{a}_vs_{c}": float(np.abs(lp[a] - lp[c]).max()) for a, c in itertools.combinations(METHODS, 2)}
    return {"n": n, "b": b, "dtype": "float64", "max_abs_diff_logprob": diff, "log_likelihood": loglik,
            "replica_forward_max_diff": same_forward, "agree_1e-10": max(diff.values()) <= 1e-10}


# ------------------------------------------------------------------ 2. timings
def position_counts(n, arch, d_model):
    """Token positions through the model, and matrix-product FLOPs of each way (forward only)."""
    N = arch["n_layer"] * 12 * d_model * d_model
    L = arch["n_layer"]
    return {"prefixes": {"passes": n, "positions": n * (n + 1) // 2,
                         "flops": sum(2 * N * i + 4 * L * i * i * d_model for i in range(1, n + 1))},
            "cache": {"passes": n, "positions": n,
                      "flops": sum(2 * N + 4 * L * i * d_model for i in range(1, n + 1))},
            "parallel": {"passes": 1, "positions": n, "flops": 2 * N * n + 4 * L * n * n * d_model}}


def formula(n, b):
    """n f(d) / max(n f(d) / b, log2(n) f(d)) = n / max(n / b, log2 n)."""
    return n / max(n / b, math.log2(max(n, 2)))


def time_ways(arch, ns, bs, repeats, device, min_time: float = 0.0, clock: str = "wall") -> list[dict]:
    rows = []
    model = make_gpt(block_size=max(n for n, _ in ns + bs) + 1, device=device, dtype="float32", **arch)
    rng = np.random.default_rng(2)
    for n, b in ns + [p for p in bs if p not in ns]:
        x = mt.tensor(rng.integers(0, arch["vocab"], (b, n + 1)), device=device)
        fns = {k: (lambda f=WAYS[k]: f(model, x)) for k in METHODS}
        with mt.no_grad():
            t = time_alternating(fns, repeats, device=device, warmup=1, min_time_s=min_time, clock=clock)
        counts = position_counts(n, arch, arch["d"])
        row = {"n": n, "b": b, "formula_speedup": formula(n, b),
               "speedup_cache_over_parallel": t["cache"]["median_s"] / t["parallel"]["median_s"],
               "speedup_prefixes_over_parallel": t["prefixes"]["median_s"] / t["parallel"]["median_s"]}
        for k in METHODS:
            row[k] = {**t[k], **counts[k]}
        rows.append(row)
        print(f"  n={n:4d} b={b:3d}  " + "  ".join(f"{k} {1e3 * t[k]['median_s']:9.2f} ms" for k in METHODS),
              flush=True)
    return rows


# ------------------------------------------------------------------ 3. without the mask
def future_leak(arch, n, device) -> dict:
    """Change the last token; how much do the predictions at earlier positions move?"""
    model = make_gpt(block_size=n, device=device, dtype="float64", **arch)
    x = np.random.default_rng(3).integers(0, arch["vocab"], (1, n))
    y = x.copy()
    y[0, -1] = (x[0, -1] + 1) % arch["vocab"]
    with mt.no_grad():
        out = {}
        for name, fwd in (("masked", lambda i: model(i)), ("unmasked", lambda i: unmasked(model, i))):
            a, c = fwd(mt.tensor(x, device=device)).numpy(), fwd(mt.tensor(y, device=device)).numpy()
            out[name] = float(np.abs(a[0, :-1] - c[0, :-1]).max())  # every position before the change
    return {"n": n, "changed_position": n - 1, "max_change_of_earlier_logits": out}


def train_on_random_tokens(arch, causal, iters, block, batch, device, seed=0, lr=1e-2):
    """Train on i.i.d. uniform tokens: the best any honest model can do is log V per token."""
    model = make_gpt(block_size=block, device=device, dtype="float32", seed=seed, **arch).train()
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed + 10)
    V = arch["vocab"]
    for _ in range(iters):
        x = mt.tensor(rng.integers(0, V, (batch, block + 1)), device=device)
        loss = F.cross_entropy(_forward(model, x[:, :-1], causal).reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    held_out = mt.tensor(np.random.default_rng(seed + 99).integers(0, V, (64, block + 1)), device=device)
    with mt.no_grad():
        val = float(F.cross_entropy(_forward(model, held_out[:, :-1], causal).reshape(-1, V),
                                    held_out[:, 1:].reshape(-1)).item())
    return model, val


def total_probability(model, causal, V, n, device) -> float:
    """sum over all V^n continuations x_1 .. x_n of prod_i q(x_i | ...), x_0 = 0 (float64).

    For a true autoregressive model this is exactly 1."""
    model = model.to(dtype="float64")
    seqs = np.array(list(itertools.product(range(V), repeat=n)))                 # (V^n, n)
    x = np.concatenate([np.zeros((len(seqs), 1), seqs.dtype), seqs], axis=1)   # x_0 = 0
    with mt.no_grad():
        lp = F.log_softmax(_forward(model, mt.tensor(x[:, :-1], device=device), causal), dim=-1).numpy()
    model.to(dtype="float32")
    return float(np.exp(np.take_along_axis(lp, seqs[..., None], -1)[..., 0].sum(1)).sum())


def no_mask_case(arch, iters, block, batch, n_total, device) -> dict:
    res = {"vocab": arch["vocab"], "entropy_bound_nats": math.log(arch["vocab"]), "train_iters": iters,
           "block": block, "batch": batch, "total_probability_n": n_total}
    for name, causal in (("masked", True), ("unmasked", False)):
        model, val = train_on_random_tokens(arch, causal, iters, block, batch, device)
        res[name] = {"held_out_loss_nats": val, "total_probability": total_probability(model, causal, arch["vocab"],
                                                                                       n_total, device)}
        print(f"  {name:8s} held-out loss {val:.4f} nats (entropy of the data: {math.log(arch['vocab']):.4f}); "
              f"total probability of all {arch['vocab']}^{n_total} sequences {res[name]['total_probability']:.6g}",
              flush=True)
    return res


# ------------------------------------------------------------------ figure
def draw(res, path, machine):
    plt = pyplot()
    if plt is None:
        return None
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    b0 = res["config"]["b_for_n_sweep"]
    rows_n = [r for r in res["timings"] if r["b"] == b0]
    rows_n.sort(key=lambda r: r["n"])
    for k, s in zip(METHODS, ("s-", "^-", "o-")):
        a1.plot([r["n"] for r in rows_n], [1e3 * r[k]["median_s"] for r in rows_n], s, label=k)
    a1.set_xscale("log", base=2)
    a1.set_yscale("log")
    a1.set_xlabel("sequence length n")
    a1.set_ylabel(f"all n conditionals, median ms of {res['config']['clock']} time")
    a1.set_title(f"batch b = {b0}, float32")
    a1.legend()
    n0 = res["config"]["n_for_b_sweep"]
    rows_b = sorted([r for r in res["timings"] if r["n"] == n0], key=lambda r: r["b"])
    for rows, ax, key, lab in ((rows_n, a2, "n", "sequence length n"), (rows_b, a3, "b", "batch size b")):
        xs = [r[key] for r in rows]
        ax.plot(xs, [r["speedup_cache_over_parallel"] for r in rows], "^-", label="measured T_cache / T_parallel")
        ax.plot(xs, [r["speedup_prefixes_over_parallel"] for r in rows], "s-",
                label="measured T_prefixes / T_parallel")
        ax.plot(xs, [r["formula_speedup"] for r in rows], "k--", label="n / max(n / b, log2 n)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(lab)
        ax.set_ylabel("speedup of the masked pass")
        ax.grid(True, which="both", alpha=0.3)
    a2.set_title(f"against n (b = {b0})")
    a3.set_title(f"against b (n = {n0}); {machine['device']}, {machine.get('usable_cores')} cores, "
                 f"{machine['minitf_threads']} thread(s)", fontsize=9)
    a2.legend(fontsize=8)
    return save_figure(fig, path)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, NAME)
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per point (at least; default: 5; "
                                                             "--quick: 2)")
    p.add_argument("--min-time", type=float, default=None, metavar="S",
                   help="more rounds for quick points, up to this many seconds per point (default: 1; --quick: 0)")
    args = p.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        p.error(f"--repeats must be positive, got {args.repeats}")
    check_device_arg(args.device, args.clock)
    set_threads(args.threads)
    q = args.quick
    arch = dict(vocab=65, n_layer=2, n_head=4, d=64) if not q else dict(vocab=11, n_layer=2, n_head=2, d=16)
    lengths = [8, 16] if q else [16, 32, 64, 128, 256]
    batches = [1, 4] if q else [1, 4, 16, 64]
    b0, n0 = 1, (16 if q else 64)
    repeats = args.repeats or (2 if q else 5)
    leak_arch = dict(vocab=8, n_layer=1 if q else 2, n_head=2, d=32)
    json_path, fig_path = output_paths(args, NAME)
    machine = machine_info(args.device, args.note)
    gpt_arch = {"vocab": arch["vocab"], "n_layer": arch["n_layer"], "n_head": arch["n_head"], "d": arch["d"]}

    print("1. the three ways agree (float64)")
    agree = [check_agreement(gpt_arch, n, b, args.device) for n, b in ((lengths[-1], 2), (5, 3))]
    for a in agree:
        print(f"  n={a['n']} b={a['b']}: max |difference| of log-probabilities "
              + ", ".join(f"{k} {v:.1e}" for k, v in a["max_abs_diff_logprob"].items())
              + "; log-likelihoods " + ", ".join(f"{v:.10f}" for v in a["log_likelihood"].values()))

    print(f"\n2. timings (float32, median {args.clock} time of at least {repeats} alternating rounds)")
    min_time = args.min_time if args.min_time is not None else (0.0 if q else 1.0)
    timings = time_ways(gpt_arch, [(n, b0) for n in lengths], [(n0, b) for b in batches], repeats, args.device,
                        min_time, args.clock)
    print()
    print_table(["n", "b", "prefixes ms", "cache ms", "parallel ms", "T_cache/T_par", "T_prefix/T_par",
                 "n/max(n/b, log2 n)", "positions (prefix/cache/par)"],
                [[r["n"], r["b"], 1e3 * r["prefixes"]["median_s"], 1e3 * r["cache"]["median_s"],
                  1e3 * r["parallel"]["median_s"], r["speedup_cache_over_parallel"],
                  r["speedup_prefixes_over_parallel"], r["formula_speedup"],
                  f"{r['prefixes']['positions']}/{r['cache']['positions']}/{r['parallel']['positions']}"]
                 for r in timings])

    print("\n3. the mask dropped")
    leak = future_leak(leak_arch, 12, args.device)
    print(f"  changing token {leak['changed_position']} moves the logits of positions 0..{leak['changed_position'] - 1} "
          f"by up to: masked {leak['max_change_of_earlier_logits']['masked']:.3g}, "
          f"unmasked {leak['max_change_of_earlier_logits']['unmasked']:.3g}")
    nomask = no_mask_case(leak_arch, 30 if q else 300, 8 if q else 16, 16 if q else 32, 3, args.device)

    results = {"experiment": NAME, "machine": machine,
               "config": {"gpt": gpt_arch, "lengths": lengths, "batches": batches, "b_for_n_sweep": b0,
                          "n_for_b_sweep": n0, "min_repeats": repeats, "min_time_s": min_time, "clock": args.clock, "no_mask_gpt": leak_arch},
               "agreement": agree, "timings": timings, "future_leak": leak, "no_mask": nomask}
    print()
    write_outputs(results, json_path, fig_path, lambda path: draw(results, path, machine))
    return results


if __name__ == "__main__":
    main()
