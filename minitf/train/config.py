"""Training settings: presets, :class:`TrainConfig`, its validation, and the model a config describes."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .. import backend, checkpoint

__all__ = ["TrainConfig", "ConfigError", "PRESETS", "RNN_ARCH", "ARCH_FIELDS", "make_config", "resume_config",
           "build_model", "CHECKPOINT_NAME", "LOG_NAME"]

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
    checkpoint_blocks: bool = False   # GPT: recompute each block's activations in backward (less memory)
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
    from .. import models
    if cfg.model == "gpt":
        model = models.GPT(models.GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                                            n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=cfg.dropout,
                                            bias=cfg.bias, checkpoint_blocks=bool(cfg.checkpoint_blocks)))
    else:
        model = models.CharRNN(models.CharRNNConfig(vocab_size=vocab_size, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
                                                    cell=cfg.model, dropout=cfg.dropout))
    return model.to(device=cfg.device, dtype=cfg.dtype)


def config_dict(obj) -> dict:
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}

