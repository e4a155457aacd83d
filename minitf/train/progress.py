"""What a run prints: the header, notes on short runs, one line per eval, and progress (a tqdm bar, or plain lines)."""
from __future__ import annotations

import sys
import time

from .. import optim
from .steplog import log_every

__all__ = ["Progress", "fmt_time", "eval_line", "header_lines", "short_run_notes"]


def fmt_time(seconds) -> str:
    """``1h02m03s``, ``2m03s`` or ``3s``; ``?`` for None."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def eval_line(r: dict) -> str:
    """The text of one eval record (two lines for the final one, which has the exact val loss)."""
    line = (f"iter {r['iter']}: train loss {r['train_loss']:.4f}, val loss {r['val_loss']:.4f}, "
            f"val bpc {r['val_bpc']:.3f}, lr {r['lr']:.2e}")
    if r.get("tokens_per_s"):
        line += f", {r['tokens_per_s']:,.0f} tok/s"
    line += f", {fmt_time(r['elapsed_s'])} elapsed"
    if "final_val_loss" in r:
        line += (f"\nfinal val loss (exact, all {r['final_val_tokens']:,} validation targets): "
                 f"{r['final_val_loss']:.4f}, bpc {r['final_val_bpc']:.3f}")
    return line


def header_lines(cfg, corpus, vocab, sampler, model, out_dir, resumed_at) -> list[str]:
    """Three lines: the corpus, the model, and what the run will do."""
    c = cfg
    n_train, n_val = len(sampler.data["train"]), len(sampler.data["val"])
    arch = (f"GPT n_layer {c.n_layer}, n_head {c.n_head}, n_embd {c.n_embd}" if c.model == "gpt"
            else f"{c.model.upper()} n_layer {c.n_layer}, hidden {c.n_embd}")
    bias = f"bias {c.bias}" if c.model == "gpt" else "biases in every layer"
    start = f"resuming at iter {resumed_at}" if resumed_at is not None else "training"
    if resumed_at is not None and resumed_at >= c.max_iters:   # not "resuming at iter 8 to iter 2"
        plan = f"{start}, at or past --max-iters {c.max_iters}: nothing left to train; writing to {out_dir}"
    else:
        plan = (f"{start} to iter {c.max_iters}: batch {c.batch_size}, lr {c.lr:g} -> {c.min_lr:g} "
                f"(warmup {c.warmup_iters}, decay to {c.lr_decay_iters}), weight decay {c.weight_decay}, "
                f"grad clip {c.grad_clip}; eval every {c.eval_interval} over {c.eval_iters} batches; "
                f"writing to {out_dir}")
    return [f"corpus: {corpus.source}: {len(corpus.text):,} characters, vocabulary {len(vocab)}, "
            f"train {n_train:,} / val {n_val:,}",
            f"model: {arch}, block {c.block_size}, {bias}, dropout {c.dropout}: "
            f"{model.num_parameters():,} parameters, {c.dtype} on {c.device}",
            plan]


def short_run_notes(cfg, start: int) -> list[str]:
    """One-line notes for a run shorter than its warmup or its eval interval (nothing to say: [])."""
    notes = []
    if cfg.max_iters < cfg.warmup_iters:
        peak = optim.cosine_with_warmup(max(cfg.max_iters - 1, 0), cfg.lr, cfg.min_lr, cfg.warmup_iters,
                                        cfg.lr_decay_iters)
        notes.append(f"note: the run ({cfg.max_iters} iterations) is shorter than its warmup ({cfg.warmup_iters}): "
                     f"the learning rate rises only to {peak:.3g} of --lr {cfg.lr:g}; a smaller --warmup-iters "
                     f"reaches it")
    if cfg.max_iters - start < cfg.eval_interval:
        notes.append(f"note: the run is shorter than its eval interval ({cfg.eval_interval}): it evaluates and "
                     f"checkpoints only at its start and its end; a smaller --eval-interval does so more often")
    return notes


class Progress:
    """A tqdm bar on a terminal (iteration, loss, tokens/s, ETA), else a plain line now and then."""

    def __init__(self, cfg, start: int, log):
        self.total, self.log = cfg.max_iters, log
        self.every = log_every(cfg)
        self.bar = None
        self.t_start, self.i_start = time.perf_counter(), start
        self._postfix_at = start
        if cfg.progress and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=cfg.max_iters, initial=start, unit="it", dynamic_ncols=True,
                                file=sys.stderr, leave=False)
            except ImportError:
                pass

    def update(self, it: int, loss: float | None, lr: float, tokens_per_s: float | None) -> None:
        """Iteration ``it`` is done; ``loss`` and ``tokens_per_s`` are None when not read at this step
        (on a device the values are read at log points only: see :mod:`minitf.train.steplog`)."""
        if self.bar is not None:
            self.bar.update(1)
            if loss is not None and (it - self._postfix_at >= 10 or it == self.total):
                self._postfix_at = it
                self.bar.set_postfix_str(f"loss {loss:.4f}, {tokens_per_s:,.0f} tok/s", refresh=False)
        elif it % self.every == 0 and loss is not None:
            done = it - self.i_start
            rate = done / (time.perf_counter() - self.t_start)
            eta = (self.total - it) / rate if rate > 0 else None
            self.log(f"iter {it}/{self.total}: loss {loss:.4f}, lr {lr:.2e}, "
                     f"{tokens_per_s:,.0f} tok/s, ETA {fmt_time(eta)}")

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            self.log(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
