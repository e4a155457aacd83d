"""Training settings: presets, :class:`TrainConfig`, its validation, and the model a config describes."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from .. import backend

__all__ = ["TrainConfig", "ConfigError", "PRESETS", "RNN_ARCH", "ARCH_FIELDS", "make_config", "resume_config",
           "build_model", "CHECKPOINT_NAME", "BEST_NAME", "LOG_NAME"]

CHECKPOINT_NAME = "ckpt.npz"   # the latest state: what --resume continues, exactly
BEST_NAME = "best.npz"         # the state of the eval with the lowest val loss so far: what sample.py reads
LOG_NAME = "log.jsonl"
MAX_SAMPLE_CHARS = 10_000_000   # hours of generation on a CPU: more is a typo, not a sample

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
    log_interval: int = 0          # progress line (and, on a device, loss read-back) every N iters (0: eval_interval // 5)
    sample_chars: int = 500
    sample_temperature: float = 0.8
    sample_top_k: int | None = 200
    extra: dict = field(default_factory=dict)

    def validate(self) -> "TrainConfig":
        """Check every setting (types, ranges, finiteness); raises :class:`ConfigError` naming the first bad one."""
        self._check_types()
        if self.model not in ("gpt", "rnn", "lstm"):
            raise ConfigError(f"model must be 'gpt', 'rnn' or 'lstm', got {self.model!r}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        try:
            self.device = backend.check_device(self.device)
        except backend.DeviceError as e:
            raise ConfigError(str(e)) from None
        for name in ("n_layer", "n_embd", "block_size", "batch_size", "eval_interval", "eval_iters"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_iters", "warmup_iters", "lr_decay_iters", "log_interval", "sample_chars"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.sample_chars > MAX_SAMPLE_CHARS:   # found before training, not after it
            raise ConfigError(f"sample_chars must be at most {MAX_SAMPLE_CHARS:,}, got {self.sample_chars:,} (characters "
                              f"are generated one at a time at the end of the run)")
        if not 0 <= self.seed < 2 ** 63:
            raise ConfigError(f"seed must be in [0, 2**63), got {self.seed}")
        if not str(self.out_dir).strip():   # `--out-dir "$UNSET"`: Path("") is the current directory
            raise ConfigError("out_dir is empty: an empty --out-dir would write into the current directory "
                              "(pass --out-dir . for that)")
        if self.model == "gpt":
            if self.n_head < 1:
                raise ConfigError(f"n_head must be at least 1, got {self.n_head}")
            if self.n_embd % self.n_head:
                raise ConfigError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        elif self.bias:
            raise ConfigError(f"bias is a GPT setting: the recurrent layers of --model {self.model} always have "
                              f"biases (leave --bias off)")
        for name in ("lr", "min_lr", "weight_decay", "beta1", "beta2", "grad_clip", "dropout", "sample_temperature"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name} must be a finite number, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (self.lr > 0 and self.min_lr >= 0):
            raise ConfigError(f"lr must be > 0 and min_lr >= 0, got lr {self.lr}, min_lr {self.min_lr}")
        if self.min_lr > self.lr:
            raise ConfigError(f"min_lr ({self.min_lr:g}) must not exceed lr ({self.lr:g}): the schedule decays "
                              f"from lr down to min_lr")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"beta1 and beta2 must be in [0, 1), got {self.beta1}, {self.beta2}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("weight_decay and grad_clip must be >= 0 (grad_clip 0 turns clipping off)")
        if self.sample_temperature < 0:
            raise ConfigError(f"sample_temperature must be >= 0 (0: greedy), got {self.sample_temperature}")
        if self.sample_top_k is not None and self.sample_top_k < 1:
            raise ConfigError(f"sample_top_k must be at least 1 or None, got {self.sample_top_k}")
        return self

    def _check_types(self) -> None:
        # a config also comes from a checkpoint's JSON, where any value can be of any type
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            kinds = [k.strip() for k in str(f.type).split("|")]
            if v is None and "None" in kinds:
                continue
            ok = any(_TYPE_CHECKS[k](v) for k in kinds if k in _TYPE_CHECKS)
            if not ok:
                raise ConfigError(f"{f.name} must be {' or '.join(_TYPE_NAMES[k] for k in kinds)}, got {v!r}"[:200])


_TYPE_CHECKS = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
                "dict": lambda v: isinstance(v, dict), "None": lambda v: v is None}
_TYPE_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
               "dict": "a mapping", "None": "None"}


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
    from .resume import load_to_resume
    from .rundir import RunDir
    saved = load_to_resume(RunDir(out_dir)).meta["config"]  # checked: a mapping of valid settings
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



def parameter_count(cfg: TrainConfig, vocab_size: int) -> int:
    """The number of parameters of ``build_model(cfg, vocab_size)``, computed without building it.

    GPT (embedding tied to the head): V C + T C + L (12 C^2 + 2 C) + C, plus
    L 11 C + C with biases; CharRNN: V C + L g 2 (C^2 + C) + C V + V
    with g = 4 gates for the LSTM, 1 for the RNN.
    """
    V, C, L, T = int(vocab_size), cfg.n_embd, cfg.n_layer, cfg.block_size
    if cfg.model == "gpt":
        n = V * C + T * C + L * (12 * C * C + 2 * C) + C
        if cfg.bias:
            n += L * 11 * C + C
        return n
    gates = 4 if cfg.model == "lstm" else 1
    return V * C + L * gates * 2 * (C * C + C) + C * V + V


# what a training process holds before its model and batches (the interpreter, NumPy, minitf, the
# imports of the example): 82 MiB of peak RSS for a run of a model of 8 parameters (measured; see
# memory_estimate). Already resident when the memory check runs, so that it does not count it.
BASELINE_BYTES = 82 * 2**20

# (B, T, C) arrays that one block keeps for backward, and B H T^2 arrays of its attention, measured
# (peak RSS at --max-iters 2 minus the baseline; the table in docs/training.md): the fused attention
# keeps its probabilities, its backward one more at a time; dropout adds its masks and masked copies
GPT_KEPT, GPT_KEPT_DROPOUT = 24, 2
GPT_SCORES, GPT_SCORES_DROPOUT = 1.5, 1.0
# with checkpoint_blocks: the block recomputed in backward holds its activations and its gradients'
# temporaries, 16 (B, T, C) arrays more than it keeps in an ordinary forward (measured, small preset)
RECOMPUTE_EXTRA = 16
RNN_KEPT = {"lstm": 16, "rnn": 6}   # (B, T, C) arrays per recurrent layer (measured; the RNN has 1 gate, not 4)
LOGITS_KEPT = 4    # (B, T, V): the logits, their log-softmax, its gradient and the gradient of the logits


def memory_estimate(cfg: TrainConfig, vocab_size: int, corpus_chars: int = 0) -> dict:
    """Bytes a training run needs, by cause: ``{"baseline", "model", "activations", "logits", "attention",
    "data"}``.

    baseline: the interpreter and the libraries (:data:`BASELINE_BYTES`); model: parameters, gradients
    and AdamW's two buffers (4 x params, exact); activations: the (B, T, C) arrays the forward pass of
    one batch keeps for backward, :data:`GPT_KEPT` per GPT block (+ :data:`GPT_KEPT_DROPOUT` with
    dropout), :data:`RNN_KEPT` per recurrent layer; logits: :data:`LOGITS_KEPT` (B, T, V) arrays;
    attention: :data:`GPT_SCORES` B H T^2 arrays per block (+ :data:`GPT_SCORES_DROPOUT` with dropout);
    data: the corpus as text and as int64 ids. With ``checkpoint_blocks`` a GPT keeps one (B, T, C)
    input per block, and one block's activations (plus :data:`RECOMPUTE_EXTRA`) and scores at a time.

    The constants are measured (peak RSS of ``--max-iters 2`` runs, float32 and float64, with and
    without dropout and checkpointing: docs/training.md has the table); the estimate is within about
    15% of those, and meant to err high rather than low.
    """
    item = 4 if cfg.dtype == "float32" else 8
    B, T, C, L, V = cfg.batch_size, cfg.block_size, cfg.n_embd, cfg.n_layer, int(vocab_size)
    gpt = cfg.model == "gpt"
    dropout = cfg.dropout > 0
    per_layer = GPT_KEPT + GPT_KEPT_DROPOUT * dropout if gpt else RNN_KEPT.get(cfg.model, RNN_KEPT["lstm"])
    scores = GPT_SCORES + GPT_SCORES_DROPOUT * dropout
    if gpt and cfg.checkpoint_blocks:
        kept, scored = L + per_layer + RECOMPUTE_EXTRA, 1   # (B, T, C) arrays held at once; blocks' scores
    else:
        kept, scored = per_layer * L, L
    return {"baseline": BASELINE_BYTES,
            "model": 4 * parameter_count(cfg, V) * item,
            "activations": kept * B * T * C * item,
            "logits": LOGITS_KEPT * B * T * V * item,
            "attention": int(scores * scored * B * cfg.n_head * T * T * item) if gpt else 0,
            "data": 9 * int(corpus_chars)}


# the exact validation pass evaluates this many blocks per call at most: fewer, larger calls are faster
EVAL_BATCH_MAX = 16
# a pass of batches under this size is never cut down: it is within the slack of the interpreter's
# baseline (what a run holds before its model, measured at 82 MiB), and tiny models keep their speed
EVAL_BATCH_FREE_BYTES = 16 * 2**20


def eval_batch_size(cfg: TrainConfig, vocab_size: int) -> int:
    """Blocks per batch of the exact validation pass (no gradients): up to :data:`EVAL_BATCH_MAX`, but
    never more than fit in what :func:`memory_estimate` counts for a training batch (its activations and
    attention scores, or :data:`EVAL_BATCH_FREE_BYTES` if more), so that the pass at the end of a run
    needs no memory the check did not count.

    A no-grad forward holds one layer's arrays at a time: per block about 8 (T, C) arrays, the scores
    and probabilities of one layer (2 H T^2, GPT) and 3 (T, V) arrays of the logits and their softmax.
    """
    item = 4 if cfg.dtype == "float32" else 8
    T, C, V = cfg.block_size, cfg.n_embd, int(vocab_size)
    per_block = (8 * T * C + 3 * T * V + (2 * cfg.n_head * T * T if cfg.model == "gpt" else 0)) * item
    parts = memory_estimate(cfg, V)
    room = max(parts["activations"] + parts["logits"] + parts["attention"], EVAL_BATCH_FREE_BYTES)
    return max(cfg.batch_size, min(EVAL_BATCH_MAX, room // per_block))
