"""The training loop for character-level language models: batches, eval, progress, logs, checkpoints.

    from minitf import train
    cfg = train.make_config("baby", model="gpt", max_iters=500)
    result = train.Trainer(cfg).run()
    result["final_val_loss"]

The recipe is nanoGPT's: AdamW (matrices decayed, biases and gains not),
linear warmup then cosine decay of the learning rate, gradient clipping, and
an estimate of the train and val losses over ``eval_iters`` random batches
every ``eval_interval`` iterations. Each eval appends a line to
``<out_dir>/log.jsonl`` and writes the checkpoint ``<out_dir>/ckpt.npz``
atomically; the end adds the exact loss over the whole validation split and
``samples.txt``. (``examples/train_charlm.py`` draws ``loss.png`` from the log.)

Resuming (``Trainer(resume_config(out_dir), resume=True)``) restores model,
optimizer, iteration and both random generators (batch sampler, dropout), so
an interrupted run continues exactly as the uninterrupted one would have.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import backend, checkpoint, data, optim
from . import random as mt_random
from .ops import cross_entropy
from .tensor import Tensor, no_grad

__all__ = ["TrainConfig", "ConfigError", "PRESETS", "RNN_ARCH", "make_config", "resume_config",
           "build_model", "load_model", "generate_text", "Trainer", "CHECKPOINT_NAME", "LOG_NAME"]

CHECKPOINT_NAME = "ckpt.npz"
LOG_NAME = "log.jsonl"

PRESETS = {
    # nanoGPT's CPU recipe for shakespeare_char ("baby GPT")
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_iters=2000, lr=1e-3,
                 min_lr=1e-4, warmup_iters=100, lr_decay_iters=2000, weight_decay=0.1, beta2=0.99,
                 grad_clip=1.0, dropout=0.0, eval_interval=250, eval_iters=20),
    # nanoGPT's config/train_shakespeare_char.py (for a GPU)
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, max_iters=5000, lr=1e-3,
                  min_lr=1e-4, warmup_iters=100, lr_decay_iters=5000, weight_decay=0.1, beta2=0.99,
                  grad_clip=1.0, dropout=0.2, eval_interval=250, eval_iters=200),
}
# --model rnn / lstm: n_embd is the hidden size (also the embedding size), n_layer the depth
RNN_ARCH = {"baby": dict(n_layer=2, n_embd=256), "small": dict(n_layer=3, n_embd=512)}
ARCH_FIELDS = ("model", "n_layer", "n_head", "n_embd", "block_size", "bias", "dtype")


class ConfigError(ValueError):
    """A training configuration that cannot work (the message names the field)."""


@dataclass
class TrainConfig:
    """Every setting of a run. Build one with :func:`make_config`."""
    model: str = "gpt"
    preset: str = "baby"
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    dropout: float = 0.0
    bias: bool = False
    eval_interval: int = 250
    eval_iters: int = 20
    seed: int = 1337
    dtype: str = "float32"
    device: str = "cpu"
    out_dir: str = "out/charlm"
    data: str | None = None
    progress: bool = True
    log_interval: int = 0          # plain progress line every N iters (0: eval_interval // 5)
    sample_chars: int = 500
    sample_temperature: float = 0.8
    sample_top_k: int | None = 200
    extra: dict = field(default_factory=dict)

    def validate(self) -> "TrainConfig":
        if self.model not in ("gpt", "rnn", "lstm"):
            raise ConfigError(f"model must be 'gpt', 'rnn' or 'lstm', got {self.model!r}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        try:
            self.device = backend.check_device(self.device)
        except backend.DeviceError as e:
            raise ConfigError(str(e)) from None
        for name in ("n_layer", "n_embd", "block_size", "batch_size", "eval_interval", "eval_iters"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_iters", "warmup_iters", "lr_decay_iters"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.model == "gpt" and (self.n_head < 1 or self.n_embd % self.n_head):
            raise ConfigError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (self.lr > 0 and self.min_lr >= 0):
            raise ConfigError(f"lr must be > 0 and min_lr >= 0, got lr {self.lr}, min_lr {self.min_lr}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"beta1 and beta2 must be in [0, 1), got {self.beta1}, {self.beta2}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("weight_decay and grad_clip must be >= 0 (grad_clip 0 turns clipping off)")
        return self


def make_config(preset: str | None = None, model: str = "gpt", device: str = "cpu", **overrides) -> TrainConfig:
    """A validated config: the preset's values (``baby`` on cpu, ``small`` on gpu), then ``overrides``.

    For rnn/lstm models the preset's architecture is :data:`RNN_ARCH`. When
    ``max_iters`` is overridden and ``lr_decay_iters`` is not, the decay
    follows ``max_iters`` (as in nanoGPT's recipes, where they are equal).
    """
    dev = device if device not in ("gpu", "cuda") else "gpu"
    preset = preset or ("small" if dev == "gpu" else "baby")
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
    values = dict(PRESETS[preset])
    if model in ("rnn", "lstm"):
        values.update(RNN_ARCH[preset])
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "max_iters" in overrides and "lr_decay_iters" not in overrides:
        values["lr_decay_iters"] = overrides["max_iters"]
    values.update(overrides)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown setting(s): {sorted(unknown)}")
    return TrainConfig(model=model, preset=preset, device=device, **values).validate()


def resume_config(out_dir, **overrides) -> TrainConfig:
    """The config saved in ``out_dir``'s checkpoint, with ``overrides`` applied.

    Architecture settings (model, n_layer, n_head, n_embd, block_size, bias,
    dtype) cannot change, nor can ``seed`` (the saved states of the random
    generators are restored instead); an override that differs is a
    :class:`ConfigError`. The learning-rate schedule is part of the saved run:
    ``lr_decay_iters`` keeps its saved value unless overridden, even when
    ``max_iters`` is (unlike :func:`make_config`, where the decay follows
    ``max_iters``), so past it the learning rate stays at ``min_lr``.
    """
    path = Path(out_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise checkpoint.CheckpointError(f"--resume: no checkpoint to resume from at {path} "
                                         f"(run without --resume to start training)")
    _, meta = checkpoint.load(path)
    saved = meta.get("config")
    if not isinstance(saved, dict):
        raise checkpoint.CheckpointError(f"checkpoint {path} holds no training config")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    for k in ARCH_FIELDS:
        if k in overrides and overrides[k] != saved.get(k):
            raise ConfigError(f"cannot resume with {k} = {overrides[k]!r}: the checkpoint in {out_dir} was "
                              f"trained with {k} = {saved.get(k)!r} (use another --out-dir to start afresh)")
    if "seed" in overrides and overrides["seed"] != saved.get("seed"):
        raise ConfigError(f"cannot resume with seed = {overrides['seed']!r}: a resumed run restores the saved "
                          f"states of its random generators (the run in {out_dir} was seeded with "
                          f"{saved.get('seed')!r}); a seed only starts a new run")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in saved.items() if k in known}
    values.update(overrides)
    values["out_dir"] = str(out_dir)
    return TrainConfig(**values).validate()


def build_model(cfg: TrainConfig, vocab_size: int):
    """The model a config describes (GPT or CharRNN), on ``cfg.device`` in ``cfg.dtype``."""
    from . import models
    if cfg.model == "gpt":
        model = models.GPT(models.GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                                            n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=cfg.dropout,
                                            bias=cfg.bias))
    else:
        model = models.CharRNN(models.CharRNNConfig(vocab_size=vocab_size, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
                                                    cell=cfg.model, dropout=cfg.dropout))
    return model.to(device=cfg.device, dtype=cfg.dtype)


def _config_dict(obj) -> dict:
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


class Trainer:
    """One training run: ``Trainer(cfg).run()`` returns a summary dict.

    Parameters
    ----------
    cfg : TrainConfig
    resume : bool
        Continue from ``<out_dir>/ckpt.npz`` (see :func:`resume_config`).
    log : callable
        Receives every line of text output (default ``print``).
    corpus : data.Corpus, optional
        Use this text instead of looking one up from ``cfg.data``.
    callbacks : list of callables
        Each called as ``cb(trainer, record)`` after every eval's checkpoint.
    overwrite : bool
        Start afresh even if ``out_dir`` holds a checkpoint (otherwise an error).
    """

    def __init__(self, cfg: TrainConfig, *, resume: bool = False, log=print, corpus: data.Corpus | None = None,
                 callbacks=(), overwrite: bool = False):
        self.cfg = cfg.validate()
        self.log = log
        self.callbacks = list(callbacks)
        if cfg.device == "gpu":
            reason = backend.gpu_unavailable_reason()
            if reason:
                raise backend.DeviceError(f"--device gpu is unavailable: {reason}")
        self.out_dir = Path(cfg.out_dir)
        self.ckpt_path = self.out_dir / CHECKPOINT_NAME
        self.log_path = self.out_dir / LOG_NAME
        if not resume and self.ckpt_path.exists() and not overwrite:
            raise ConfigError(f"{self.out_dir} already holds a checkpoint: pass --resume to continue it, "
                              f"--overwrite to start afresh over it, or another --out-dir")
        ckpt = checkpoint.load_training(self.ckpt_path) if resume else None

        self.corpus = corpus or data.load_corpus(cfg.data, progress=cfg.progress, log=log)
        self.vocab = data.CharVocab.from_text(self.corpus.text)
        if ckpt is not None:
            self._check_compatible(ckpt)
        ids = self.vocab.encode(self.corpus.text)
        train_ids, val_ids = data.split_ids(ids, 0.9)
        self.sampler = data.BatchSampler(train_ids, val_ids, cfg.block_size, cfg.batch_size, cfg.device, cfg.seed)

        mt_random.manual_seed(cfg.seed)
        self.model = build_model(cfg, len(self.vocab))
        groups = optim.param_groups_for_weight_decay(self.model.named_parameters(), cfg.weight_decay)
        self.optimizer = optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.iter, self.elapsed_s, self.records = 0, 0.0, []
        self.last_checkpoint_iter = None
        if ckpt is not None:
            self._restore(ckpt)
        else:
            self._write_log_atomic([])
        self._resumed_at = self.iter if ckpt is not None else None

    # ------------------------------------------------------------ resume
    def _check_compatible(self, ckpt) -> None:
        meta = ckpt.meta
        saved = meta.get("vocab")
        if saved != self.vocab.chars:
            extra = sorted(set(self.vocab.chars) - set(saved or []))
            lost = sorted(set(saved or []) - set(self.vocab.chars))
            raise checkpoint.CheckpointError(
                f"checkpoint {self.ckpt_path} is incompatible with this corpus ({self.corpus.source}): its "
                f"vocabulary has {len(saved or [])} characters, the corpus has {len(self.vocab)}"
                + (f"; new: {''.join(extra)[:20]!r}" if extra else "")
                + (f"; missing: {''.join(lost)[:20]!r}" if lost else "")
                + ". Resume with the same --data.")
        for k in ARCH_FIELDS:
            if meta["config"].get(k) != getattr(self.cfg, k):
                raise checkpoint.CheckpointError(f"checkpoint {self.ckpt_path} is incompatible: it has {k} = "
                                                 f"{meta['config'].get(k)!r}, this run has {getattr(self.cfg, k)!r}")
        if meta.get("corpus", {}).get("sha256") not in (None, self.corpus.sha256):
            self.log(f"note: the corpus ({self.corpus.source}) differs from the one the checkpoint was trained on "
                     f"(same vocabulary), continuing")

    def _restore(self, ckpt) -> None:
        from .nn import StateDictError
        try:
            self.model.load_state_dict(ckpt.model_state, strict=True)
        except (StateDictError, ValueError, TypeError) as e:
            raise checkpoint.CheckpointError(f"checkpoint {self.ckpt_path} does not fit the model: {e}") from None
        try:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, KeyError, TypeError) as e:
            raise checkpoint.CheckpointError(f"checkpoint {self.ckpt_path}: optimizer state does not fit: {e}") from None
        meta = ckpt.meta
        self.iter, self.elapsed_s = int(meta["iter"]), float(meta.get("elapsed_s", 0.0))
        self.sampler.set_state(meta["rng"]["batch"])
        if meta["rng"].get("minitf") is not None and meta["config"].get("device") == self.cfg.device:
            mt_random.set_rng_state(meta["rng"]["minitf"], self.cfg.device)
        self.last_checkpoint_iter = self.iter
        # the log keeps the evals up to the checkpoint; later lines (written before a crash) go
        self.records = [r for r in self._read_log() if r.get("iter", 0) <= self.iter]
        self._write_log_atomic(self.records)

    # ------------------------------------------------------------ the run
    def lr_at(self, it: int) -> float:
        c = self.cfg
        return optim.cosine_with_warmup(it, c.lr, c.min_lr, c.warmup_iters, c.lr_decay_iters)

    def run(self) -> dict:
        cfg, model, opt = self.cfg, self.model, self.optimizer
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._print_header()
        tokens_per_iter = cfg.batch_size * cfg.block_size
        if self._resumed_at is not None and self.iter >= cfg.max_iters:
            self.log(f"the checkpoint is at iter {self.iter}, already at max_iters {cfg.max_iters}: "
                     f"nothing to train (pass a larger --max-iters to train further)")
            return self._finish(None)
        progress = _Progress(cfg, self.iter, self.log)
        window_tokens, window_time = 0, 0.0
        record = None
        model.train()
        try:
            while True:
                it = self.iter
                if (it % cfg.eval_interval == 0 or it >= cfg.max_iters) and it != self._resumed_at:
                    t_sync = time.perf_counter()
                    backend.synchronize(cfg.device)  # queued GPU work belongs to the training window
                    window_time += time.perf_counter() - t_sync
                    # no training since the start (iteration 0): no throughput to report, None
                    tps = window_tokens / window_time if window_tokens and window_time > 0 else None
                    record = self._eval(it, tps, final=it >= cfg.max_iters)
                    progress.write(self._eval_line(record))
                    window_tokens, window_time = 0, 0.0
                if it >= cfg.max_iters:
                    break
                t0 = time.perf_counter()
                lr = self.lr_at(it)
                for g in opt.param_groups:
                    g["lr"] = lr
                x, y = self.sampler.get_batch("train")
                logits = model(x)
                loss = cross_entropy(logits, y)
                loss.backward()
                if cfg.grad_clip > 0:
                    optim.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                opt.zero_grad()
                self.iter += 1
                dt = time.perf_counter() - t0
                self.elapsed_s += dt
                window_tokens += tokens_per_iter
                window_time += dt
                progress.update(self.iter, loss, lr, tokens_per_iter / dt if dt > 0 else 0.0)
        finally:
            progress.close()
        return self._finish(record)

    def _eval(self, it: int, tokens_per_s, final: bool) -> dict:
        t0 = time.perf_counter()
        losses = self.estimate_loss()
        rec = {"iter": it, "train_loss": losses["train"], "val_loss": losses["val"],
               "val_bpc": losses["val"] / math.log(2), "lr": self.lr_at(it),
               "tokens_per_s": tokens_per_s, "elapsed_s": None}
        if final:
            exact, n = self.exact_val_loss()
            rec.update(final_val_loss=exact, final_val_bpc=exact / math.log(2), final_val_tokens=n)
        self.elapsed_s += time.perf_counter() - t0
        rec["elapsed_s"] = round(self.elapsed_s, 3)
        self.records.append(rec)
        self._append_log(rec)
        self.save_checkpoint(rec)
        for cb in self.callbacks:
            cb(self, rec)
        return rec

    @no_grad()
    def estimate_loss(self) -> dict:
        """Mean loss over ``eval_iters`` random batches of each split (nanoGPT's estimate)."""
        self.model.eval()
        out = {}
        for split in ("train", "val"):
            total = 0.0
            for _ in range(self.cfg.eval_iters):
                x, y = self.sampler.get_batch(split)
                total += float(cross_entropy(self.model(x), y).item())
            out[split] = total / self.cfg.eval_iters
        self.model.train()
        return out

    @no_grad()
    def exact_val_loss(self) -> tuple[float, int]:
        """Mean loss over every target of the validation split (non-overlapping blocks): (loss, count)."""
        self.model.eval()
        total, count = 0.0, 0
        for x, y in self.sampler.blocks("val", batch_size=max(self.cfg.batch_size, 16)):
            n = y.numel()
            total += float(cross_entropy(self.model(x), y).item()) * n
            count += n
        self.model.train()
        return total / count, count

    # ------------------------------------------------------------ outputs
    def save_checkpoint(self, record: dict | None = None) -> Path:
        cfg = self.cfg
        try:
            minitf_rng = mt_random.get_rng_state(cfg.device)
        except Exception:  # a GPU generator without a serialisable state: resume is then not bit-exact
            minitf_rng = None
        meta = {"iter": self.iter, "elapsed_s": self.elapsed_s, "config": dataclasses.asdict(cfg),
                "model_config": _config_dict(self.model.config), "vocab": self.vocab.to_json(),
                "corpus": {"name": self.corpus.name, "source": self.corpus.source, "sha256": self.corpus.sha256,
                           "chars": len(self.corpus.text)},
                "rng": {"batch": self.sampler.state(), "minitf": minitf_rng},
                "last_eval": record}
        state = {k: v for k, v in self.model.state_dict().items()}
        checkpoint.save_training(self.ckpt_path, state, self.optimizer.state_dict(), meta)
        self.last_checkpoint_iter = self.iter
        return self.ckpt_path

    def _append_log(self, rec: dict) -> None:
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _read_log(self) -> list:
        if not self.log_path.is_file():
            return []
        out = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash
                continue
        return out

    def _write_log_atomic(self, records) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.log_path.with_suffix(".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.log_path)

    def _eval_line(self, r: dict) -> str:
        line = (f"iter {r['iter']}: train loss {r['train_loss']:.4f}, val loss {r['val_loss']:.4f}, "
                f"val bpc {r['val_bpc']:.3f}, lr {r['lr']:.2e}")
        if r.get("tokens_per_s"):
            line += f", {r['tokens_per_s']:,.0f} tok/s"
        line += f", {_fmt_time(r['elapsed_s'])} elapsed"
        if "final_val_loss" in r:
            line += (f"\nfinal val loss (exact, all {r['final_val_tokens']:,} validation targets): "
                     f"{r['final_val_loss']:.4f}, bpc {r['final_val_bpc']:.3f}")
        return line

    def _print_header(self) -> None:
        c = self.cfg
        n_train, n_val = len(self.sampler.data["train"]), len(self.sampler.data["val"])
        arch = (f"GPT n_layer {c.n_layer}, n_head {c.n_head}, n_embd {c.n_embd}" if c.model == "gpt"
                else f"{c.model.upper()} n_layer {c.n_layer}, hidden {c.n_embd}")
        self.log(f"corpus: {self.corpus.source}: {len(self.corpus.text):,} characters, vocabulary {len(self.vocab)}, "
                 f"train {n_train:,} / val {n_val:,}")
        self.log(f"model: {arch}, block {c.block_size}, bias {c.bias}, dropout {c.dropout}: "
                 f"{self.model.num_parameters():,} parameters, {c.dtype} on {c.device}")
        start = f"resuming at iter {self.iter}" if self._resumed_at is not None else "training"
        self.log(f"{start} to iter {c.max_iters}: batch {c.batch_size}, lr {c.lr:g} -> {c.min_lr:g} "
                 f"(warmup {c.warmup_iters}, decay to {c.lr_decay_iters}), weight decay {c.weight_decay}, "
                 f"grad clip {c.grad_clip}; eval every {c.eval_interval} over {c.eval_iters} batches; "
                 f"writing to {self.out_dir}")

    def sample(self, num_chars: int, temperature: float = 1.0, top_k: int | None = None, start: str = "\n") -> str:
        """``start`` followed by ``num_chars`` generated characters."""
        return generate_text(self.model, self.vocab, num_chars, temperature, top_k, start, self.cfg.device)

    def _finish(self, record) -> dict:
        cfg = self.cfg
        sample = None
        if cfg.sample_chars > 0:
            start = "\n" if "\n" in self.vocab.stoi else self.corpus.text[0]
            sample = self.sample(cfg.sample_chars, cfg.sample_temperature, cfg.sample_top_k, start)
            (self.out_dir / "samples.txt").write_text(sample, encoding="utf-8")
            self.log(f"sample ({cfg.sample_chars} characters, temperature {cfg.sample_temperature}, "
                     f"top_k {cfg.sample_top_k}), also in {self.out_dir / 'samples.txt'}:\n{sample}")
        final = next((r for r in reversed(self.records) if "final_val_loss" in r), None)
        return {"iter": self.iter, "records": list(self.records), "sample": sample,
                "final_val_loss": final["final_val_loss"] if final else None,
                "elapsed_s": self.elapsed_s, "checkpoint": str(self.ckpt_path)}


# ---------------------------------------------------------------- helpers
def load_model(out_dir, device: str | None = None):
    """The model saved in ``out_dir``'s checkpoint, ready to sample: ``(model, vocab, meta)``."""
    ck = checkpoint.load_training(Path(out_dir) / CHECKPOINT_NAME)
    try:
        values = {k: v for k, v in ck.meta["config"].items() if k in {f.name for f in dataclasses.fields(TrainConfig)}}
        cfg = TrainConfig(**values)
        vocab = data.CharVocab.from_json(ck.meta["vocab"])
    except (KeyError, TypeError, ValueError) as e:
        raise checkpoint.CheckpointError(f"checkpoint in {out_dir} lacks a usable config or vocabulary ({e})") from None
    if device is not None:
        cfg.device = device
    cfg.validate()
    if cfg.device == "gpu" and backend.gpu_unavailable_reason():
        raise backend.DeviceError(f"--device gpu is unavailable: {backend.gpu_unavailable_reason()}")
    model = build_model(cfg, len(vocab))
    from .nn import StateDictError
    try:
        model.load_state_dict(ck.model_state, strict=True)
    except (StateDictError, ValueError, TypeError) as e:
        raise checkpoint.CheckpointError(f"checkpoint in {out_dir} does not fit its model: {e}") from None
    model.eval()
    return model, vocab, ck.meta


def generate_text(model, vocab: data.CharVocab, num_chars: int, temperature=1.0, top_k=None, start="\n",
                  device="cpu") -> str:
    """Sample ``num_chars`` characters after ``start`` from ``model`` (eval mode, no graph)."""
    if not start:
        raise ValueError("the start text must have at least one character")
    try:
        ids = vocab.encode(start)
    except ValueError as e:
        raise ValueError(f"start text: {e}") from None
    idx = Tensor(backend.to_device(ids[None, :], device))
    was_training = getattr(model, "training", True)
    model.eval()
    with no_grad():
        out = model.generate(idx, num_chars, temperature=temperature, top_k=top_k)
    model.train(was_training)
    return vocab.decode(out.numpy()[0])


def _fmt_time(seconds) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class _Progress:
    """A tqdm bar on a terminal (iteration, loss, tokens/s, ETA), else a plain line now and then."""

    def __init__(self, cfg: TrainConfig, start: int, log):
        self.total, self.log = cfg.max_iters, log
        self.every = cfg.log_interval or max(1, cfg.eval_interval // 5)
        self.bar = None
        self.t_start, self.i_start = time.perf_counter(), start
        if cfg.progress and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=cfg.max_iters, initial=start, unit="it", dynamic_ncols=True,
                                file=sys.stderr, leave=False)
            except ImportError:
                pass

    def update(self, it: int, loss, lr: float, tokens_per_s: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if it % 10 == 0 or it == self.total:
                self.bar.set_postfix_str(f"loss {loss.item():.4f}, {tokens_per_s:,.0f} tok/s", refresh=False)
        elif it % self.every == 0:
            done = it - self.i_start
            rate = done / (time.perf_counter() - self.t_start)
            eta = (self.total - it) / rate if rate > 0 else None
            self.log(f"iter {it}/{self.total}: loss {loss.item():.4f}, lr {lr:.2e}, "
                     f"{tokens_per_s:,.0f} tok/s, ETA {_fmt_time(eta)}")

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            self.log(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
