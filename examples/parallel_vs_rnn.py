"""Time a transformer block against an RNN and an LSTM of the same size, as the sequence grows.

    python examples/parallel_vs_rnn.py                  # T = 16 .. 1024 on the CPU (about 10 s on 2 cores)
    python examples/parallel_vs_rnn.py --device gpu     # the same on a GPU (needs CuPy)
    python examples/parallel_vs_rnn.py --quick          # tiny sizes, seconds (what the tests run)

The claim examined: a transformer processes every position of a sequence at
once, while a recurrent net must walk it one step at a time. For each
sequence length T the script runs forward and backward (a random cotangent on
the output) through

* one pre-norm transformer block (masked self-attention and a 4d feed-forward
  block) of width d,
* a one-layer Elman RNN and a one-layer LSTM reading the same (B, T, d)
  input, their hidden sizes chosen so that each has as many parameters as the
  block,

and reports the sequential steps each needs (1 for the block: every position
is in the same matrix products; T for the recurrent nets: h_t needs h_{t-1}),
the FLOPs of forward and backward (2 per weight and token for each family,
plus attention's own 4 B T^2 d forward for the full T x T scores, all times 3
with the backward), the FLOPs the kernels actually perform (minitf's CPU
kernel skips the keys a causal query may not see once T >= 128: see
``attention_pairs``), the median time over alternating rounds and the time per
token, the time of the block's attention op alone (timed in the same rounds),
and the peak memory of one untimed run. The figure is time, time per token
and achieved GFLOP/s against T for the three.
"""
from __future__ import annotations

import argparse
import math

import numpy as np

import minitf as mt
from minitf import functional as F, nn

from _common import (write_outputs, add_common_args, check_device_arg, machine_info, output_paths,
                     peak_memory, print_table, pyplot, save_figure, set_threads, time_alternating)

NAME = "parallel_vs_rnn"
MODELS = ("transformer", "rnn", "lstm")


def matched_hidden(params: int, d: int, gates: int) -> int:
    """The hidden size h whose one-layer recurrent net on d inputs has about ``params`` parameters:
    gates (h d + h^2 + 2 h) = params (weight_ih, weight_hh, bias_ih, bias_hh)."""
    c = params / gates
    return max(1, round((-(d + 2) + math.sqrt((d + 2) ** 2 + 4 * c)) / 2))


def build(d: int, n_head: int, device: str, dtype: str) -> dict:
    """The three nets, the block first; the recurrent ones matched to its parameter count."""
    mt.manual_seed(0)
    block = nn.TransformerBlock(d, n_head)
    target = block.num_parameters()
    nets = {"transformer": block,
            "rnn": nn.RNN(d, matched_hidden(target, d, 1), batch_first=True),
            "lstm": nn.LSTM(d, matched_hidden(target, d, 4), batch_first=True)}
    return {k: m.to(device=device, dtype=dtype) for k, m in nets.items()}


# minitf's causal attention on the CPU takes its queries in chunks of this many from T = 4 chunks up;
# chunk [a, b) is multiplied with keys [0, b) only (minitf/ops/attention.py; a test checks the two agree)
QUERY_CHUNK = 32


def attention_pairs(T: int, device: str) -> int:
    """The (query, key) pairs whose score, and whose share of P V and of the four backward
    products, minitf computes for one head of one causal sequence of length T: all T^2 in one
    call on a GPU or for T < 4 chunks; on the CPU beyond that, each chunk of QUERY_CHUNK queries
    against the keys up to its last query, about T^2 / 2 + 16 T."""
    if device == "gpu" or T < 4 * QUERY_CHUNK:
        return T * T
    return sum((min(a + QUERY_CHUNK, T) - a) * min(a + QUERY_CHUNK, T) for a in range(0, T, QUERY_CHUNK))


def flops(kind: str, B: int, T: int, d: int, hidden: int, device: str = "cpu") -> dict:
    """Forward+backward FLOPs of the matrix products (backward = 2 x forward).

    transformer: 2 B T (12 d^2) for the weights + 4 B T^2 d for QK^T and PV over the full
    T x T scores ("attention", the textbook count), and 4 B d attention_pairs(T) for what the
    kernel computes ("attention_performed"); recurrent: 2 B T G (d h + h^2)."""
    if kind == "transformer":
        linear, attention = 2 * B * T * 12 * d * d, 4 * B * T * T * d
        performed = 4 * B * d * attention_pairs(T, device)
    else:
        G = 1 if kind == "rnn" else 4
        linear, attention, performed = 2 * B * T * G * (d * hidden + hidden * hidden), 0, 0
    return {"linear": 3 * linear, "attention": 3 * attention, "total": 3 * (linear + attention),
            "attention_performed": 3 * performed, "total_performed": 3 * (linear + performed)}


def step_fn(net, x, g):
    """One forward and backward pass; the loss is <output, g> for a fixed random cotangent g."""
    def step():
        net.zero_grad()
        out = net(x)
        out = out[0] if isinstance(out, tuple) else out
        (out * g).sum().backward()
    return step


def attention_step_fn(B, T, d, n_head, device, dtype, rng):
    """Forward and backward of the block's attention op alone (the masked softmax(Q K^T) V of
    its heads, on a packed (B, T, 3d) q/k/v input), timed in the same rounds as the nets: what
    part of the block's time the attention kernel takes."""
    qkv = mt.tensor(rng.standard_normal((B, T, 3 * d)), dtype=dtype, device=device, requires_grad=True)
    g = mt.tensor(rng.standard_normal((B, T, d)), dtype=dtype, device=device)

    def step():
        qkv.grad = None
        (F.multi_head_self_attention(qkv, n_head, causal=True) * g).sum().backward()
    return step


def run(lengths, B, d, n_head, repeats, device, dtype="float32", measure_memory=True,
        min_time: float = 0.0, clock: str = "wall") -> dict:
    nets = build(d, n_head, device, dtype)
    hidden = {k: (d if k == "transformer" else nets[k].hidden_size) for k in MODELS}
    params = {k: nets[k].num_parameters() for k in MODELS}
    rng = np.random.default_rng(0)
    rows = []
    for T in lengths:
        x = mt.tensor(rng.standard_normal((B, T, d)), dtype=dtype, device=device)
        fns = {k: step_fn(nets[k], x, mt.tensor(rng.standard_normal((B, T, hidden[k])), dtype=dtype,
                                                device=device)) for k in MODELS}
        fns["attention_op"] = attention_step_fn(B, T, d, n_head, device, dtype, rng)
        times = time_alternating(fns, repeats, device=device, warmup=1, min_time_s=min_time, clock=clock)
        for k in MODELS:
            t = times[k]["median_s"]
            f = flops(k, B, T, d, hidden[k], device)
            rows.append({"model": k, "T": T, "B": B, "sequential_steps": 1 if k == "transformer" else T,
                         "flops": f, "gflop_per_s_performed": f["total_performed"] / t / 1e9,
                         "median_s": t, "min_s": times[k]["min_s"],
                         "wall_median_s": times[k]["wall_median_s"], "cpu_median_s": times[k]["cpu_median_s"],
                         "times_s": times[k]["times_s"], "cpu_times_s": times[k]["cpu_times_s"],
                         "us_per_token": 1e6 * t / (B * T),
                         "peak_bytes": peak_memory(fns[k], device) if measure_memory else None})
            if k == "transformer":  # the part of it that is the attention kernel, and that kernel's rate
                a = times["attention_op"]
                rows[-1]["attention_op"] = {"median_s": a["median_s"], "wall_median_s": a["wall_median_s"],
                                            "cpu_median_s": a["cpu_median_s"],
                                            "gflop_per_s_performed": f["attention_performed"] / a["median_s"] / 1e9}
        print(f"  T={T:5d}  " + "  ".join(f"{k} {1e3 * times[k]['median_s']:8.2f} ms" for k in fns), flush=True)
    return {"d": d, "n_head": n_head, "B": B, "dtype": dtype, "min_repeats": repeats, "min_time_s": min_time, "clock": clock,
            "hidden": hidden,
            "params": params, "rows": rows, "crossings": crossings(rows)}


def crossings(rows) -> dict:
    """For each recurrent net: every T where its time curve meets the block's (log-log
    interpolation between measured lengths), and which is faster at each end of the range."""
    out = {}
    tr = {r["T"]: r["median_s"] for r in rows if r["model"] == "transformer"}
    Ts = sorted(tr)
    for k in ("rnn", "lstm"):
        rec = {r["T"]: r["median_s"] for r in rows if r["model"] == k}
        diff = [math.log(tr[n] / rec[n]) for n in Ts]  # > 0: the block is slower
        cross = []
        for i in range(len(Ts) - 1):
            if diff[i] * diff[i + 1] < 0:
                a, b = math.log(Ts[i]), math.log(Ts[i + 1])
                cross.append(math.exp(a + diff[i] / (diff[i] - diff[i + 1]) * (b - a)))
        out[k] = {"crossing_T": cross, "faster_at_shortest": "transformer" if diff[0] < 0 else k,
                  "faster_at_longest": "transformer" if diff[-1] < 0 else k,
                  "lengths_where_transformer_faster": [n for n, x in zip(Ts, diff) if x < 0]}
    return out


def draw(res, path, machine):
    plt = pyplot()
    if plt is None:
        return None
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    style = {"transformer": "o-", "rnn": "s-", "lstm": "^-"}
    for k in MODELS:
        rs = [r for r in res["rows"] if r["model"] == k]
        Ts = [r["T"] for r in rs]
        label = f"{k} ({res['params'][k]:,} params" + ("" if k == "transformer" else f", h={res['hidden'][k]}") + ")"
        line, = a1.plot(Ts, [1e3 * r["median_s"] for r in rs], style[k], label=label)
        a1.plot(Ts, [1e3 * r["min_s"] for r in rs], ":", color=line.get_color(), alpha=0.6, lw=1)
        a2.plot(Ts, [r["us_per_token"] for r in rs], style[k], label=k)
        a3.plot(Ts, [r["gflop_per_s_performed"] for r in rs], style[k], label=k)
        if k == "transformer":
            a1.plot(Ts, [1e3 * r["attention_op"]["median_s"] for r in rs], "x--", color=line.get_color(),
                    label="of which the attention op")
            a3.plot(Ts, [r["attention_op"]["gflop_per_s_performed"] for r in rs], "x--", color=line.get_color(),
                    label="the block's attention op")
    for a in (a1, a2, a3):
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_xlabel("sequence length T")
        a.grid(True, which="both", alpha=0.3)
    a1.set_ylabel(f"forward + backward, median ms of {res['clock']} time (dotted: fastest round)", fontsize=8)
    a2.set_ylabel("microseconds per token")
    a3.set_ylabel("GFLOP/s of the products the kernels compute")
    a3.set_yscale("linear")
    a3.set_ylim(bottom=0)
    a3.legend(fontsize=8)
    a1.set_title(f"batch {res['B']}, d={res['d']}, {res['dtype']}")
    where = machine.get("gpu", {}).get("name") if machine["device"] == "gpu" else \
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['minitf_threads']} thread(s)"
    a2.set_title(f"{machine['device']}: {where}", fontsize=9)
    a3.set_title("rate: FLOPs computed / median time", fontsize=9)
    a1.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, NAME)
    p.add_argument("--lengths", type=int, nargs="+", default=None, metavar="T",
                   help="sequence lengths (default: 16 32 ... 1024; --quick: 8 16 32)")
    p.add_argument("--batch", type=int, default=None, help="sequences per batch (default: 8; --quick: 2)")
    p.add_argument("--d", type=int, default=None, help="width of the block (default: 64; --quick: 16)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default: 4)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per length (default: 7; --quick: 3)")
    p.add_argument("--min-time", type=float, default=None, metavar="S",
                   help="more rounds for quick lengths, up to this many seconds per length "
                        "(default: 1; --quick: 0)")
    p.add_argument("--no-memory", action="store_true", help="skip the (untimed) peak-memory runs")
    args = p.parse_args(argv)
    q = args.quick
    # `is None`, not `or`: a 0 given (--batch 0) is refused below rather than taken for the default
    lengths = args.lengths if args.lengths is not None else ([8, 16, 32] if q else [16, 32, 64, 128, 256, 512, 1024])
    B = args.batch if args.batch is not None else (2 if q else 8)
    d = args.d if args.d is not None else (16 if q else 64)
    repeats = args.repeats if args.repeats is not None else (3 if q else 7)
    for name, v in (("--batch", B), ("--d", d), ("--repeats", repeats), ("--heads", args.heads)):
        if v < 1:
            p.error(f"{name} must be positive, got {v}")
    if min(lengths) < 1:
        p.error("--lengths must be positive")
    if d % args.heads:
        p.error(f"--d {d} is not divisible by --heads {args.heads}")
    check_device_arg(args.device, args.clock)
    set_threads(args.threads)
    json_path, fig_path = output_paths(args, NAME)
    machine = machine_info(args.device, args.note)

    print(f"forward + backward, batch {B}, d {d}, {args.device}; median {args.clock} time of at least {repeats} "
          f"alternating rounds")
    min_time = args.min_time if args.min_time is not None else (0.0 if q else 1.0)
    res = run(lengths, B, d, args.heads, repeats, args.device, measure_memory=not args.no_memory,
              min_time=min_time, clock=args.clock)
    print()
    print_table(["T", "model", "seq. steps", "GFLOP (full T x T)", "GFLOP done", "attention % done", "median ms",
                 "attention op ms", "GFLOP/s done", "us/token", "peak MB"],
                [[r["T"], r["model"], r["sequential_steps"], r["flops"]["total"] / 1e9,
                  r["flops"]["total_performed"] / 1e9,
                  100 * r["flops"]["attention_performed"] / r["flops"]["total_performed"], 1e3 * r["median_s"],
                  1e3 * r["attention_op"]["median_s"] if "attention_op" in r else "-", r["gflop_per_s_performed"], r["us_per_token"],
                  "-" if r["peak_bytes"] is None else r["peak_bytes"] / 2 ** 20] for r in res["rows"]])
    print("\nparameters: " + ", ".join(f"{k} {res['params'][k]:,}" for k in MODELS)
          + f" (hidden sizes: rnn {res['hidden']['rnn']}, lstm {res['hidden']['lstm']})")
    for k, c in res["crossings"].items():
        if not c["crossing_T"]:
            print(f"{k}: the curves do not cross in this range; faster throughout: {c['faster_at_shortest']}")
        else:
            print(f"{k}: the curves cross near T = " + ", ".join(f"{x:.0f}" for x in c["crossing_T"])
                  + f"; faster at the shortest T: {c['faster_at_shortest']}, at the longest: "
                  f"{c['faster_at_longest']}; the block is faster at T = {c['lengths_where_transformer_faster']}")
    results = {"experiment": NAME, "machine": machine, **res}
    write_outputs(results, json_path, fig_path, lambda path: draw(res, path, machine))
    return results


if __name__ == "__main__":
    main()
