"""One table of minitf's speed, against PyTorch eager where it is installed.

    python benchmarks/benchmark.py                        # baby and small, generation, GEMM ceiling
    python benchmarks/benchmark.py --preset baby --no-torch
    python benchmarks/benchmark.py --small-steps 2 --json out.json

Each library runs in its own worker process (so neither's allocator, thread
pool or spinning BLAS threads touch the other's figures); the parent sends
both the same commands and alternates them in rounds. Both train the same
model from the same weights (minitf's, saved by its worker and loaded by
PyTorch's) on the same batches, the step of ``race_pytorch.py``: forward,
cross-entropy, backward, clipping at 1.0, AdamW.

Rows, per library and the ratio minitf / PyTorch (times; tokens/s inverted):

* training step: median wall ms, tokens/s, achieved GFLOP/s. FLOPs per token:
  6 N + 12 L C T (PaLM's count, nanoGPT's estimate_mfu), N = the parameters
  in matrix products, 12 L C^2 + V C (the tied head is a product too); the
  12 L C T is attention's Q K^T and P V, forward and backward, without
  halving for the causal mask.
* step memory: the growth of the peak resident set (ru_maxrss) over the
  resident set before the first step, in MiB; and minor page faults per step.
* GEMM ceiling: each library's sgemm GFLOP/s over the products of one step at
  that preset's shapes (forward and both backward products of every linear),
  timed alone: what the step's matrix products would reach with nothing else
  to do. "% of ceiling" divides the step's achieved GFLOP/s by it.
* generation: tokens/s for 255 new tokens from a 1-token prompt at block 256,
  the small preset's width (6 layers, 6 heads, 384), batch 1, with and
  without the key/value cache, and the cache's speed-up.

The BLAS libraries, their architecture and thread counts are printed (they need
threadpoolctl, in the ``bench`` extra: without it they are "unknown" and only the
thread environment variables set for each worker limit BLAS); ``--json`` writes
every raw figure.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from race_pytorch import PRESETS, VOCAB, decay_groups, minitf_gpt, torch_gpt  # noqa: E402

GEN = dict(n_layer=6, n_head=6, n_embd=384, block_size=256)   # the small preset's width, block 256
GEN_TOKENS = 255


def matmul_params(cfg) -> int:
    C, L = cfg["n_embd"], cfg["n_layer"]
    return 12 * L * C * C + VOCAB * C


def flops_per_token(cfg) -> float:
    return 6 * matmul_params(cfg) + 12 * cfg["n_layer"] * cfg["n_embd"] * cfg["block_size"]


def gemm_shapes(cfg):
    """(M, K, N) of every product in one training step: forward, dX and dW of each linear."""
    BT, C = cfg["batch_size"] * cfg["block_size"], cfg["n_embd"]
    linears = [(C, 3 * C), (C, C), (C, 4 * C), (4 * C, C)] * cfg["n_layer"] + [(C, VOCAB)]
    shapes = []
    for k, n in linears:
        shapes += [(BT, k, n), (BT, n, k), (k, BT, n)]   # Y = X W^T, dX = G W, dW = G^T X
    return shapes


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


NO_THREADPOOLCTL = "threadpoolctl not installed (pip install -e \".[bench]\")"


def blas_pools() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS and OpenMP pools; without threadpoolctl one entry
    saying their library and threads are unknown (the --threads environment variables still apply)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"internal_api": "unknown", "version": None, "architecture": None, "num_threads": None,
                 "threading_layer": None, "note": NO_THREADPOOLCTL}]
    return threadpool_info()


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux


# ------------------------------------------------------------------ the two workers
class MinitfWorker:
    name = "minitf"

    def __init__(self, threads):
        import minitf as mt
        self.mt = mt
        mt.set_num_threads(threads)

    def info(self):
        try:
            from minitf.allocator import tune_host_allocator
            alloc = tune_host_allocator()   # what the first Module would do anyway
        except ImportError:                 # an older minitf
            alloc = "absent"
        return dict(blas=[{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                                 "threading_layer")} for d in blas_pools()],
                    numpy=np.__version__, minitf_threads=self.mt.num_threads(), allocator=alloc)

    def setup(self, preset, weights):
        mt = self.mt
        from minitf import functional as F
        from minitf import optim
        model = minitf_gpt(PRESETS[preset])
        np.savez(weights, **{k: v.numpy() for k, v in model.state_dict().items()})
        opt = optim.AdamW(decay_groups(list(model.named_parameters()), 0.1), lr=1e-3, betas=(0.9, 0.99), eps=1e-8)

        def step(x, y):
            loss = F.cross_entropy(model(mt.tensor(x)).reshape(-1, VOCAB), mt.tensor(y).reshape(-1))
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss.item()
        self.step = step

    def gemm(self, shapes, reps):
        return _time_gemms(lambda a, b: a @ b, lambda m, k: np.random.default_rng(0).random((m, k), np.float32),
                           shapes, reps)

    def setup_gen(self):
        mt = self.mt
        from minitf.models import GPT, GPTConfig
        mt.manual_seed(0)
        self.gen_model = GPT(GPTConfig(vocab_size=VOCAB, dropout=0.0, bias=False, **GEN)).eval()

    def generate(self, use_cache):
        mt = self.mt
        mt.manual_seed(1)
        out = self.gen_model.generate(mt.tensor([[0]]), GEN_TOKENS, use_cache=use_cache)
        assert out.shape == (1, GEN_TOKENS + 1)


class TorchWorker:
    name = "pytorch"

    def __init__(self, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)

    def info(self):
        t = self.torch
        cfg = t.__config__.show()
        blas = [w.strip(",") for w in cfg.split() if w.startswith(("BLAS_INFO=", "LAPACK_INFO="))]
        blas += [line.strip(" -") for line in cfg.splitlines() if "MKL-DNN" in line or "oneDNN" in line][:1]
        return dict(torch=t.__version__, threads=t.get_num_threads(), config=blas,
                    threadpools=[{k: d.get(k) for k in ("internal_api", "version", "num_threads")}
                                 for d in blas_pools()])

    def setup(self, preset, weights):
        torch = self.torch
        cfg = PRESETS[preset]
        model = torch_gpt(torch, cfg)
        with np.load(weights) as w:
            model.load_state_dict({k: torch.from_numpy(w[k].copy()) for k in w.files})
        opt = torch.optim.AdamW(decay_groups(list(model.named_parameters()), 0.1), foreach=False,
                                lr=1e-3, betas=(0.9, 0.99), eps=1e-8)

        def step(x, y):
            logits = model(torch.from_numpy(x))
            loss = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), torch.from_numpy(y).view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=False)
            opt.step()
            return loss.item()
        self.step = step

    def gemm(self, shapes, reps):
        torch = self.torch
        with torch.no_grad():
            return _time_gemms(torch.matmul, lambda m, k: torch.rand(m, k), shapes, reps)

    def setup_gen(self):
        torch = self.torch
        torch.manual_seed(0)
        self.gen_model = torch_gpt(torch, dict(GEN, batch_size=1)).eval()

    def generate(self, use_cache):
        """Sampling at temperature 1, with the same model layout and the cache as minitf's."""
        torch = self.torch
        F = torch.nn.functional
        m, C, H = self.gen_model, GEN["n_embd"], GEN["n_head"]
        t = m.transformer
        torch.manual_seed(1)
        idx = torch.zeros(1, 1, dtype=torch.long)
        caches = [None] * GEN["n_layer"]
        with torch.no_grad():
            for _ in range(GEN_TOKENS):
                start = caches[0][0].shape[2] if use_cache and caches[0] is not None else 0
                x_idx = idx[:, start:] if use_cache else idx
                T = x_idx.shape[1]
                x = t.wte(x_idx) + t.wpe(torch.arange(start, start + T))
                for i, b in enumerate(t.h):
                    q, k, v = b.attn.c_attn(b.ln_1(x)).split(C, dim=2)
                    q, k, v = (z.view(1, T, H, C // H).transpose(1, 2) for z in (q, k, v))
                    if use_cache:
                        if caches[i] is not None:
                            k, v = torch.cat([caches[i][0], k], 2), torch.cat([caches[i][1], v], 2)
                        caches[i] = (k, v)
                    y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
                    x = x + b.attn.c_proj(y.transpose(1, 2).contiguous().view(1, T, C))
                    x = x + b.mlp.c_proj(F.gelu(b.mlp.c_fc(b.ln_2(x)), approximate="tanh"))
                logits = m.lm_head(t.ln_f(x[:, -1]))
                nxt = torch.multinomial(F.softmax(logits, dim=-1), 1)
                idx = torch.cat([idx, nxt], dim=1)


def _time_gemms(matmul, rand, shapes, reps):
    """GFLOP/s of the shapes' products: each timed back to back (as in a step, so BLAS threads
    stay awake) over >= 20 ms, the best of ``reps`` such runs; total FLOPs / total time."""
    total_flops, total_s = 0.0, 0.0
    for m, k, n in set(map(tuple, shapes)):
        a, b = rand(m, k), rand(k, n)
        matmul(a, b)
        count = shapes.count([m, k, n]) + shapes.count((m, k, n))
        n_calls = max(3, int(0.02 / max(_timed(matmul, a, b), 1e-6)))
        best = min(_timed_loop(matmul, a, b, n_calls) for _ in range(reps)) / n_calls
        total_flops += 2.0 * m * k * n * count
        total_s += best * count
    return total_flops / total_s / 1e9


def _timed(f, *args):
    t0 = time.perf_counter()
    f(*args)
    return time.perf_counter() - t0


def _timed_loop(f, a, b, n):
    t0 = time.perf_counter()
    for _ in range(n):
        f(a, b)
    return time.perf_counter() - t0


def worker_main(lib, threads):
    """Answer one JSON command per line on stdin with one JSON line on stdout."""
    w = (MinitfWorker if lib == "minitf" else TorchWorker)(threads)
    out = sys.stdout
    sys.stdout = sys.stderr   # nothing else may write to the answer channel
    batches = []
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "info":
            ans = w.info()
        elif op == "setup":
            w.setup(cmd["preset"], cmd["weights"])
            cfg = PRESETS[cmd["preset"]]
            rng = np.random.default_rng(0)
            B, T = cfg["batch_size"], cfg["block_size"]
            batches = [(rng.integers(0, VOCAB, (B, T)), rng.integers(0, VOCAB, (B, T)))
                       for _ in range(cmd["n_batches"])]
            ans = dict(rss_before=rss_bytes())
        elif op == "steps":
            times, losses, faults = [], [], []
            for i in cmd["batches"]:
                x, y = batches[i]
                f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                t0 = time.perf_counter()
                losses.append(w.step(x, y))
                times.append(time.perf_counter() - t0)
                faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
            ans = dict(times=times, losses=losses, faults=faults, maxrss=maxrss_bytes())
        elif op == "gemm":
            ans = dict(gflops=w.gemm(cmd["shapes"], cmd["reps"]))
        elif op == "setup_gen":
            w.setup_gen()
            w.generate(True)   # warm-up
            ans = {}
        elif op == "generate":
            t0 = time.perf_counter()
            w.generate(cmd["use_cache"])
            ans = dict(seconds=time.perf_counter() - t0)
        else:
            ans = dict(error=f"unknown op {op}")
        out.write(json.dumps(ans) + "\n")
        out.flush()


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, lib, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), MINITF_NUM_THREADS=str(threads),
                   PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
        self.lib = lib
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", lib,
                                   "--threads", str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=env, text=True)

    def __call__(self, op, **kw):
        self.p.stdin.write(json.dumps(dict(op=op, **kw)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.lib} worker died (see its messages above)")
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def bench_preset(preset, libs, steps, warmup, rounds, threads, gemm_reps, tmp):
    cfg = PRESETS[preset]
    weights = os.path.join(tmp, f"{preset}.npz")
    workers = {lib: Worker(lib, threads) for lib in libs}   # minitf first: it writes the weights
    res = {lib: dict(times=[], losses=[], faults=[]) for lib in libs}
    try:
        for lib in libs:
            res[lib]["rss_before"] = workers[lib]("setup", preset=preset, weights=weights,
                                                  n_batches=warmup + steps)["rss_before"]
        for lib in libs:                                    # warm-up: first steps allocate the state
            workers[lib]("steps", batches=list(range(warmup)))
        per = -(-steps // rounds)
        for r in range(rounds):
            idx = list(range(warmup + r * per, warmup + min((r + 1) * per, steps)))
            for lib in (libs if r % 2 == 0 else libs[::-1]):
                a = workers[lib]("steps", batches=idx)
                for k in ("times", "losses", "faults"):
                    res[lib][k] += a[k]
                res[lib]["maxrss"] = a["maxrss"]
        shapes = gemm_shapes(cfg)
        for lib in libs:
            res[lib]["gemm_gflops"] = workers[lib]("gemm", shapes=shapes, reps=gemm_reps)["gflops"]
    finally:
        for w in workers.values():
            w.close()
    B, T = cfg["batch_size"], cfg["block_size"]
    for lib, r in res.items():
        med = statistics.median(r["times"])
        r.update(step_ms=med * 1e3, tok_s=B * T / med, gflops=B * T * flops_per_token(cfg) / med / 1e9,
                 peak_mib=(r["maxrss"] - r["rss_before"]) / 2 ** 20,
                 faults_per_step=statistics.median(r["faults"]))
        r["pct_ceiling"] = 100 * r["gflops"] / r["gemm_gflops"]
    if len(libs) == 2:
        res["max_loss_diff"] = max(abs(a - b) for a, b in zip(res["minitf"]["losses"], res["pytorch"]["losses"]))
    res["flops_per_token"] = flops_per_token(cfg)
    return res


def bench_generation(libs, rounds, threads):
    workers = {lib: Worker(lib, threads) for lib in libs}
    res = {lib: {"cache": [], "nocache": []} for lib in libs}
    try:
        for lib in libs:
            workers[lib]("setup_gen")
        for r in range(rounds):
            for use_cache in (True, False):
                for lib in (libs if r % 2 == 0 else libs[::-1]):
                    s = workers[lib]("generate", use_cache=use_cache)["seconds"]
                    res[lib]["cache" if use_cache else "nocache"].append(s)
    finally:
        for w in workers.values():
            w.close()
    for lib, r in res.items():
        c, n = statistics.median(r["cache"]), statistics.median(r["nocache"])
        r.update(cache_tok_s=GEN_TOKENS / c, nocache_tok_s=GEN_TOKENS / n, speedup=n / c)
    return res


def print_table(rows, libs):
    both = len(libs) == 2
    head = f"{'':<34}{'minitf':>12}" + (f"{'pytorch':>12}{'ratio':>8}" if both else "")
    print(head)
    print("-" * len(head))
    for label, vals, ratio_kind, fmt in rows:
        line = f"{label:<34}" + "".join(f"{vals.get(lib, float('nan')):>12{fmt}}" for lib in libs)
        if both and ratio_kind:
            a, b = vals["minitf"], vals["pytorch"]
            line += f"{(a / b if ratio_kind == 'time' else b / a):>8.2f}"
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), action="append", help="default: baby and small")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per library at baby (default 30)")
    ap.add_argument("--small-steps", type=int, default=4, help="timed steps per library at small (default 4)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--gen-rounds", type=int, default=2, help="alternating generation rounds (default 2)")
    ap.add_argument("--no-generation", action="store_true", help="skip the generation rows")
    ap.add_argument("--no-torch", action="store_true", help="minitf alone, even if PyTorch is installed")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads of every library (default: the usable cores)")
    ap.add_argument("--gemm-reps", type=int, default=3, help="timings of each GEMM shape, the best kept (default 3)")
    ap.add_argument("--json", help="write every raw figure here")
    ap.add_argument("--worker", choices=["minitf", "pytorch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main(args.worker, args.threads)
    for name in ("steps", "small_steps", "rounds", "threads", "gemm_reps", "gen_rounds"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    libs = ["minitf"]
    if not args.no_torch:
        try:
            import importlib.util
            if importlib.util.find_spec("torch") is not None:
                libs.append("pytorch")
        except (ImportError, ValueError):
            pass
    info = {}
    for lib in libs:
        w = Worker(lib, args.threads)
        info[lib] = w("info")
        w.close()
    load = os.getloadavg()
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or None
    except OSError:
        commit = None
    print(f"minitf commit {commit}, host allocator: {info['minitf']['allocator']}")
    print(f"machine: {os.uname().machine}, {len(os.sched_getaffinity(0))} usable cores, "
          f"load average {load[0]:.1f} (1 min), threads per library {args.threads}")
    for d in info["minitf"]["blas"]:
        if d["internal_api"] == "unknown":
            print(f"minitf BLAS: unknown, threads not controlled beyond OPENBLAS/OMP/MKL_NUM_THREADS="
                  f"{args.threads}: {NO_THREADPOOLCTL}; numpy {info['minitf']['numpy']}")
            continue
        print(f"minitf BLAS: {d['internal_api']} {d['version']} ({d.get('architecture')}), "
              f"{d['num_threads']} threads, {d.get('threading_layer')}; numpy {info['minitf']['numpy']}")
    if "pytorch" in info:
        print(f"pytorch {info['pytorch']['torch']}, {info['pytorch']['threads']} threads; "
              + "; ".join(info["pytorch"]["config"]))
    results = dict(info=info, commit=commit, load_before=load, threads=args.threads, presets={})
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.preset or ["baby", "small"]:
            steps = args.small_steps if preset == "small" else args.steps
            results["presets"][preset] = bench_preset(preset, libs, steps, args.warmup, min(args.rounds, steps),
                                                      args.threads, args.gemm_reps, tmp)
    if not args.no_generation:
        results["generation"] = bench_generation(libs, args.gen_rounds, args.threads)
    results["load_after"] = os.getloadavg()

    rows = []
    for preset, r in results["presets"].items():
        pick = lambda key: {lib: r[lib][key] for lib in libs}   # noqa: E731
        rows += [(f"{preset}: step ms (median of {len(r['minitf']['times'])})", pick("step_ms"), "time", ".1f"),
                 (f"{preset}: tokens/s", pick("tok_s"), "rate", ".0f"),
                 (f"{preset}: achieved GFLOP/s", pick("gflops"), "rate", ".1f"),
                 (f"{preset}: sgemm ceiling GFLOP/s", pick("gemm_gflops"), "rate", ".1f"),
                 (f"{preset}: % of own ceiling", pick("pct_ceiling"), None, ".0f"),
                 (f"{preset}: step peak memory MiB", pick("peak_mib"), "time", ".0f"),
                 (f"{preset}: minor page faults/step", pick("faults_per_step"), None, ".0f")]
    if "generation" in results:
        g = results["generation"]
        pick = lambda key: {lib: g[lib][key] for lib in libs}   # noqa: E731
        rows += [("generate 255 @256, cache: tok/s", pick("cache_tok_s"), "rate", ".1f"),
                 ("generate 255 @256, no cache: tok/s", pick("nocache_tok_s"), "rate", ".1f"),
                 ("generate: cache speed-up (x)", pick("speedup"), None, ".1f")]
    print()
    print_table(rows, libs)
    print("ratio: minitf / pytorch for times and memory, pytorch / minitf for rates (> 1: minitf slower)")
    print("FLOPs per token: 6 N + 12 L C T, N = 12 L C^2 + V C (" + ", ".join(
        f"{p}: {r['flops_per_token'] / 1e6:.1f} MFLOP" for p, r in results["presets"].items()) + ")")
    for preset, r in results["presets"].items():
        if "max_loss_diff" in r:
            print(f"{preset}: largest |loss difference| minitf vs pytorch over the timed steps: "
                  f"{r['max_loss_diff']:.2e}")
    print(f"load average after: {results['load_after'][0]:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
