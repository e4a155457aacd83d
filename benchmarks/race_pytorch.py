"""Race minitf against PyTorch eager on the CPU: one GPT training iteration, same model.

    python benchmarks/race_pytorch.py                 # baby and small presets
    python benchmarks/race_pytorch.py --preset baby --iters 30
    python benchmarks/race_pytorch.py --device gpu     # minitf on CuPy against PyTorch on CUDA

Both frameworks run the same nanoGPT-layout model (no biases, as the presets),
start from the same weights (minitf's state dict copied into PyTorch), see the
same batches and take the same step: forward, cross-entropy, backward, gradient
clipping at 1.0 and AdamW, each library's AdamW and clipping at its defaults
(AdamW: ``foreach`` on a GPU, a loop over the tensors on the CPU, in both; torch's
clipping: its foreach kernels on both; the same numbers either way), or both
with ``--foreach``. The table gives the median wall time per iteration
over ``--iters`` timed iterations (after warm-up), both measured in this one
run with the same number of threads, and the ratio minitf / PyTorch. The two
alternate in rounds of several iterations, and see the same batches.
Also printed: the largest |loss difference| over the timed iterations, which
shows the two are doing the same arithmetic.

PyTorch is never a dependency of minitf: install it only to run this script
(``pip install torch``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

PRESETS = {  # the training presets of examples/train_charlm.py
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12),
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64),
}
VOCAB = 65  # Tiny Shakespeare's character vocabulary


def minitf_gpt(cfg, device="cpu"):
    """The presets' minitf GPT (no dropout, no biases) of ``cfg`` (a PRESETS entry) on ``device``,
    made after ``mt.manual_seed(0)``: the same weights in every benchmark."""
    import minitf as mt
    from minitf.models import GPT, GPTConfig
    mt.manual_seed(0)
    return GPT(GPTConfig(vocab_size=VOCAB, block_size=cfg["block_size"], n_layer=cfg["n_layer"],
                         n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=0.0, bias=False)).to(device)


def torch_gpt(torch, cfg, device="cpu"):
    """A nanoGPT transcription in PyTorch (pre-norm, tied head, no biases)."""
    nn, F = torch.nn, torch.nn.functional
    C, H = cfg["n_embd"], cfg["n_head"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(C, bias=False)
            self.attn = nn.Module()
            self.attn.c_attn = nn.Linear(C, 3 * C, bias=False)
            self.attn.c_proj = nn.Linear(C, C, bias=False)
            self.ln_2 = nn.LayerNorm(C, bias=False)
            self.mlp = nn.Module()
            self.mlp.c_fc = nn.Linear(C, 4 * C, bias=False)
            self.mlp.c_proj = nn.Linear(4 * C, C, bias=False)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(VOCAB, C), wpe=nn.Embedding(cfg["block_size"], C),
                h=nn.ModuleList(Block() for _ in range(cfg["n_layer"])), ln_f=nn.LayerNorm(C, bias=False)))
            self.lm_head = nn.Linear(C, VOCAB, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx):
            t = self.transformer
            x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1], device=idx.device))
            for block in t.h:
                x = block(x)
            return self.lm_head(t.ln_f(x))

    return GPT().to(device)


def decay_groups(named, weight_decay):
    decay = [p for _, p in named if p.ndim >= 2]
    no_decay = [p for _, p in named if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def race(preset: str, iters: int, warmup: int, threads: int, device: str = "cpu", foreach=None, shape=None):
    """Median time of one training iteration of each library on ``device`` ("cpu" or "gpu");
    ``foreach`` goes to both libraries' AdamW and clipping (None: each one's default); ``shape``
    overrides entries of the preset (n_embd, block_size, batch_size)."""
    import torch

    import minitf as mt
    from minitf import functional as F
    from minitf import optim

    torch.set_num_threads(threads)
    cfg = {**PRESETS[preset], **(shape or {})}
    model = minitf_gpt(cfg)
    tdev = "cuda" if device == "gpu" else "cpu"
    tmodel = torch_gpt(torch, cfg, tdev)
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    model.to(device)

    hyper = dict(lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    opt = optim.AdamW(decay_groups(list(model.named_parameters()), 0.1), foreach=foreach, **hyper)
    topt = torch.optim.AdamW(decay_groups(list(tmodel.named_parameters()), 0.1), foreach=foreach, **hyper)

    rng = np.random.default_rng(0)
    B, T = cfg["batch_size"], cfg["block_size"]
    batches = [(rng.integers(0, VOCAB, (B, T)), rng.integers(0, VOCAB, (B, T))) for _ in range(warmup + iters)]

    def step_minitf(x, y):
        logits = model(mt.tensor(x, device=device))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), mt.tensor(y, device=device).reshape(-1))
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    def step_torch(x, y):
        logits = tmodel(torch.from_numpy(x).to(tdev))
        loss = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), torch.from_numpy(y).to(tdev).view(-1))
        topt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 1.0, foreach=foreach)
        topt.step()
        return loss.item()  # the host copy also waits for the device: the timings include all the work

    times = {"minitf": [], "pytorch": []}
    losses = {"minitf": [], "pytorch": []}
    # alternate in rounds of several iterations: close enough in time that machine noise hits
    # both alike, far enough apart that one library's idle spinning threads (OpenBLAS, OpenMP)
    # do not steal the cores from the other's first iterations
    rounds = 3
    per_round = -(-iters // rounds)
    for r in range(rounds):
        for name, step in (("minitf", step_minitf), ("pytorch", step_torch)):
            for i in range(r * per_round, min((r + 1) * per_round, iters)):
                x, y = batches[warmup + i]
                if r == 0 and i == 0:
                    for wx, wy in batches[:warmup]:
                        step(wx, wy)
                t0 = time.perf_counter()
                loss = step(x, y)
                times[name].append(time.perf_counter() - t0)
                losses[name].append(loss)
    tm, tt = statistics.median(times["minitf"]), statistics.median(times["pytorch"])
    dloss = max(abs(a - b) for a, b in zip(losses["minitf"], losses["pytorch"]))
    tokens = B * T
    return dict(preset=preset, device=device, foreach=foreach, shape=dict(shape or {}), minitf_ms=tm * 1e3, torch_ms=tt * 1e3, ratio=tm / tt,
                minitf_tok_s=tokens / tm, torch_tok_s=tokens / tt, max_loss_diff=dloss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), action="append",
                    help="preset(s) to race (default: baby and small)")
    ap.add_argument("--iters", type=int, default=20, help="timed iterations per preset (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed iterations first (default 3)")
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                    help="cpu (default), or gpu: minitf on CuPy against PyTorch on CUDA")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="PyTorch intra-op threads (default: all cores, as NumPy's BLAS uses)")
    ap.add_argument("--foreach", choices=["default", "0", "1"], default="default",
                    help="both libraries' AdamW and clipping: default (each one's: flat on a GPU, a loop "
                         "on the CPU), 0 (a loop over the tensors) or 1 (flat)")
    ap.add_argument("--n-embd", type=int, metavar="N", help="override the preset's width (a multiple of its "
                    "heads): e.g. --preset small --n-embd 48 --block-size 8 --batch-size 1 keeps the small "
                    "model's op count with tiny arrays, so the step times the frameworks' per-op overhead")
    ap.add_argument("--block-size", type=int, metavar="N", help="override the preset's block (context) length")
    ap.add_argument("--batch-size", type=int, metavar="N", help="override the preset's batch size")
    args = ap.parse_args()
    foreach = {"default": None, "0": False, "1": True}[args.foreach]
    shape = {k: v for k, v in (("n_embd", args.n_embd), ("block_size", args.block_size),
                               ("batch_size", args.batch_size)) if v is not None}
    for k, v in shape.items():
        if v < 1:
            ap.error(f"--{k.replace('_', '-')} must be at least 1, got {v}")
    for p in args.preset or ["baby", "small"]:
        heads = PRESETS[p]["n_head"]
        if shape.get("n_embd", heads) % heads:
            ap.error(f"--n-embd ({shape['n_embd']}) must be a multiple of the {p} preset's {heads} heads")
    try:
        import torch
    except ImportError:
        raise SystemExit("this benchmark needs PyTorch: pip install torch")
    if args.device == "gpu":
        import minitf as mt
        if not mt.gpu_available():
            from minitf import backend
            raise SystemExit(f"--device gpu: {backend.gpu_unavailable_reason()}")
        if not torch.cuda.is_available():
            raise SystemExit("--device gpu: this PyTorch has no usable CUDA device")
    rows = [race(p, args.iters, args.warmup, args.threads, args.device, foreach, shape)
            for p in (args.preset or ["baby", "small"])]
    if shape:
        print("the presets with " + ", ".join(f"{k}={v}" for k, v in shape.items()))
    print(f"{'preset':<8}{'minitf ms/iter':>16}{'pytorch ms/iter':>17}{'ratio':>8}"
          f"{'minitf tok/s':>14}{'pytorch tok/s':>15}{'max |dloss|':>13}")
    for r in rows:
        print(f"{r['preset']:<8}{r['minitf_ms']:>16.1f}{r['torch_ms']:>17.1f}{r['ratio']:>8.2f}"
              f"{r['minitf_tok_s']:>14.0f}{r['torch_tok_s']:>15.0f}{r['max_loss_diff']:>13.2e}")


if __name__ == "__main__":
    main()
