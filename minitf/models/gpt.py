"""GPT: a decoder-only transformer language model, laid out as GPT-2 / nanoGPT.

    logits = lm_head(ln_f(h_{L-1}(... h_0(drop(wte[idx] + wpe[0..T-1])))))      (B, T, vocab_size)

with pre-norm :class:`~minitf.nn.TransformerBlock` s and the head tied to the
token embedding. State-dict names and shapes are nanoGPT's: a nanoGPT
checkpoint loads with :meth:`GPT.from_nanogpt` (or
:meth:`GPT.load_nanogpt_state_dict`), which undo what nanoGPT's training script
adds to the keys. The model holds no numeric code of its own: everything is a
layer of :mod:`minitf.nn`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


import minitf as _mt

from .. import functional as F
from .. import nn
from ..tensor import Tensor, no_grad
from ..ops._util import is_int


@dataclass
class GPTConfig:
    """vocab_size V, block_size (the longest context), n_layer, n_head, n_embd C,
    dropout, bias (biases of every Linear and LayerNorm, on or off together),
    and gelu_approximate, the MLP's GELU: "tanh" (GPT-2's approximation, the
    default, which every model trained so far used) or "none" (the exact erf
    form of ``nn.GELU()``, which nanoGPT uses: :meth:`GPT.from_nanogpt`
    chooses it so that a nanoGPT checkpoint gives nanoGPT's logits).

    ``checkpoint_blocks=True`` keeps only each block's input while training and
    recomputes the block's activations during backward (:func:`minitf.recompute`):
    less memory, one more forward pass per step, the same gradients."""

    vocab_size: int
    block_size: int
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.0
    bias: bool = True
    gelu_approximate: str = "tanh"
    checkpoint_blocks: bool = False

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            v = getattr(self, name)
            if not is_int(v) or v < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {v!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.gelu_approximate not in ("tanh", "none"):
            raise ValueError(f"GPTConfig: gelu_approximate must be 'tanh' or 'none', got {self.gelu_approximate!r}")


def gpt_param_count(config: GPTConfig, exclude_embeddings: bool = True) -> int:
    """The number of parameters of ``GPT(config)``, in closed form (see docs/param_count.md).

    Per block, with C = n_embd and b = 1 if config.bias else 0:
    c_attn 3C^2 + 3bC, c_proj C^2 + bC, c_fc 4C^2 + 4bC, mlp c_proj 4C^2 + bC,
    two LayerNorms 2(C + bC): 12 C^2 + (2 + 11 b) C. Plus the final LayerNorm
    C + bC. The embeddings add (V + block_size) C; the head is tied to wte and
    adds nothing. ``exclude_embeddings=True`` leaves the embeddings out.
    """
    C, b = config.n_embd, int(bool(config.bias))
    n = config.n_layer * (12 * C * C + (2 + 11 * b) * C) + (1 + b) * C
    return n if exclude_embeddings else n + (config.vocab_size + config.block_size) * C


class GPT(nn.Module):
    """A GPT-2 style language model. ``model(idx)`` -> logits (B, T, vocab_size).

    idx: (B, T) integer token ids, T <= block_size. The loss is :meth:`loss`,
    ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))`` (torch's (N, C)
    layout). Initialised as GPT-2: weights N(0, 0.02), residual projections (``attn.c_proj``, ``mlp.c_proj``)
    N(0, 0.02 / sqrt(2 n_layer)), biases 0, LayerNorms 1 and 0; drawn from
    minitf's seeded generator (``minitf.manual_seed``). ``device`` / ``dtype`` (keywords): where
    and in what the parameters are made (None: the default device and dtype), as torch's layers.
    """

    def __init__(self, config: GPTConfig, *, device=None, dtype=None):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT expects a GPTConfig, got {type(config).__name__}")
        self.config = c = config
        factory = {"device": device, "dtype": dtype}
        self.transformer = nn.ModuleDict(
            wte=nn.Embedding(c.vocab_size, c.n_embd, **factory),
            wpe=nn.Embedding(c.block_size, c.n_embd, **factory),
            drop=nn.Dropout(c.dropout),
            h=nn.ModuleList(nn.TransformerBlock(c.n_embd, c.n_head, dropout=c.dropout, bias=c.bias,
                                                gelu_approximate=c.gelu_approximate, **factory)
                            for _ in range(c.n_layer)),
            ln_f=nn.LayerNorm(c.n_embd, bias=c.bias, **factory),
        )
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False, **factory)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying: one Parameter, two names
        self._init_weights()

    def _init_weights(self):
        std_resid = 0.02 / math.sqrt(2 * self.config.n_layer)
        norms = {id(p) for m in self.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
        for name, p in self.named_parameters():
            if id(p) in norms:
                continue                       # LayerNorm: weight 1, bias 0 already
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            else:
                nn.init.normal_(p, 0.0, std_resid if name.endswith("c_proj.weight") else 0.02)

    # ------------------------------------------------------------ nanoGPT checkpoints
    COMPILE_PREFIX = "_orig_mod."   # torch.compile's wrapper puts the model under this attribute

    def load_nanogpt_state_dict(self, state_dict, strict: bool = True) -> nn.IncompatibleKeys:
        """Load the weights of a nanoGPT checkpoint: ``torch.load("ckpt.pt")["model"]``.

        nanoGPT's ``train.py`` saves the state dict of the ``torch.compile``'d
        model, whose keys all start with ``_orig_mod.``: the prefix is removed,
        as nanoGPT itself does on resume. The causal-mask buffers
        ``transformer.h.{i}.attn.bias`` that nanoGPT registers when PyTorch has
        no flash attention are not weights and are dropped. The tied
        ``lm_head.weight`` and ``transformer.wte.weight`` (both in nanoGPT's
        state dict, one tensor) may be given once or twice. Values may be
        PyTorch tensors on any device (see :meth:`Module.load_state_dict`);
        everything else is checked as there (``strict``: no missing or
        unexpected keys).
        """
        own = dict(self._all_named_parameters())
        sd = {}
        for k, v in state_dict.items():
            while k.startswith(self.COMPILE_PREFIX):
                k = k[len(self.COMPILE_PREFIX):]
            if k not in own and k.endswith((".attn.bias", ".attn.masked_bias")):
                continue
            sd[k] = v
        tied = ("lm_head.weight", "transformer.wte.weight")
        for a, b in (tied, tied[::-1]):
            if a not in sd and b in sd:
                sd[a] = sd[b]
        return self.load_state_dict(sd, strict=strict)

    @classmethod
    def from_nanogpt(cls, checkpoint, device: str = "cpu", dtype="float32") -> "GPT":
        """A GPT with a nanoGPT checkpoint's config and weights.

        ``checkpoint`` is the dict nanoGPT's ``train.py`` saves
        (``torch.load("out/ckpt.pt", map_location="cpu")``): its ``model_args``
        (n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout) make
        the :class:`GPTConfig`, with ``gelu_approximate="none"`` (nanoGPT's
        exact GELU), and its ``model`` entry is loaded with
        :meth:`load_nanogpt_state_dict`. The model is made on ``device`` in
        ``dtype`` before the weights are copied in; it is in training mode, as
        a new one is: call ``.eval()`` before sampling.
        """
        try:
            args, state = checkpoint["model_args"], checkpoint["model"]
        except (KeyError, TypeError):
            raise ValueError("GPT.from_nanogpt expects nanoGPT's checkpoint dict, with 'model_args' and "
                             "'model' entries (for a bare state dict, build the GPT and call "
                             "load_nanogpt_state_dict)") from None
        names = {f.name for f in dataclasses.fields(GPTConfig)}
        # nanoGPT's MLP is nn.GELU(): the exact erf form, unless the checkpoint says otherwise
        config = {"gelu_approximate": "none", **{k: v for k, v in args.items() if k in names}}
        model = cls(GPTConfig(**config), device=device, dtype=dtype)
        model.load_nanogpt_state_dict(state)
        return model

    def new_cache(self) -> list:
        """An empty key/value cache: one :class:`~minitf.nn.KVCache` per block."""
        return [block.new_cache(self.config.block_size) for block in self.transformer.h]

    def _as_idx(self, idx) -> Tensor:
        device = self.transformer.wte.weight.device
        if not isinstance(idx, Tensor):
            idx = _mt.tensor(idx, device=device)
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(f"GPT: idx must be integer token ids of shape (B, T), got {idx.dtype} {idx.shape}")
        return idx

    def forward(self, idx, cache: list | None = None) -> Tensor:
        """idx: (B, T) -> logits (B, T, vocab_size).

        With ``cache`` (from :meth:`new_cache`) idx holds only the new tokens;
        they are placed after the cached ones and their keys/values appended.
        """
        return self.lm_head(self.features(idx, cache))

    def loss(self, idx, targets, options=None) -> Tensor:
        """The mean cross-entropy of targets (B, T) given idx (B, T): a 0-d tensor.

        ``options=None``: ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))``, the
        training loop's loss (logits (B T, V): torch's class dim is dim 1).
        A :class:`~minitf.nn.LinearCrossEntropyOptions`: the head and the loss as one chunked
        op (:func:`~minitf.functional.linear_cross_entropy`), which never holds the (B T, V)
        logits nor their gradient; the same value and gradients to rounding. It reads
        ``lm_head.weight`` directly: hooks on ``lm_head`` do not run on that path.
        """
        t = targets if isinstance(targets, Tensor) else _mt.tensor(targets, device=self.lm_head.weight.device)
        if options is None:
            logits = self(idx)
            return F.cross_entropy(logits.reshape((-1, logits.shape[-1])), t.reshape(-1))
        h = self.features(idx)
        return F.linear_cross_entropy(h.reshape((-1, h.shape[-1])), self.lm_head.weight, t.reshape(-1),
                                      options=options)

    def features(self, idx, cache: list | None = None) -> Tensor:
        """idx: (B, T) -> the final LayerNorm's output (B, T, n_embd), what ``lm_head`` maps to logits."""
        idx = self._as_idx(idx)
        T = idx.shape[1]
        start = 0 if cache is None else cache[0].pos
        if start + T > self.config.block_size:
            cached = f" after {start} cached tokens" if start else ""
            raise ValueError(f"GPT: cannot forward a sequence of length {T}{cached}: "
                             f"block_size is only {self.config.block_size}")
        tr = self.transformer
        # the rows start..start+T-1 of the position table: a slice, the same values and gradient as
        # wpe(arange(start, start + T)) without a gather, nor an index check (a host sync on a GPU)
        x = tr.drop(tr.wte(idx) + tr.wpe.weight[start:start + T])
        if cache is None:
            for block in tr.h:
                x = _mt.recompute(block, x) if self.config.checkpoint_blocks else block(x)
        else:
            for block, c in zip(tr.h, cache):
                x = block(x, cache=c)
        return tr.ln_f(x)

    @no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 use_cache: bool = True) -> Tensor:
        """Append ``max_new_tokens`` sampled tokens to idx (B, T); returns (B, T + max_new_tokens).

        Each token is drawn from softmax(logits / temperature) of the last
        position of the last block_size tokens, restricted to the ``top_k``
        most likely (``temperature=0``: argmax). While the context fits in
        block_size, only the new token goes through the model, with the
        key/value cache. Beyond that, every position shifts by one each step
        and the learned position embeddings of all cached keys change, so a
        sliding cache would be wrong: the last block_size tokens are
        recomputed (the cached and uncached paths give the same tokens).
        Uses the mode the model is in (call ``eval()`` to switch dropout off).

        With the cache, in eval mode (or without dropout) and with no hook on a block's
        sub-modules, each block's step is one op (:func:`~minitf.functional.transformer_block_step`,
        see :class:`~minitf.nn.TransformerBlock`), and the sampled tokens are joined once at
        the end rather than concatenated onto the sequence at every step.
        """
        out = self._as_idx(idx)
        if out.shape[1] == 0:
            raise ValueError("GPT.generate: idx needs at least one token to condition on")
        bs = self.config.block_size
        cache = self.new_cache() if use_cache else None
        new, step_in = [], out   # tokens sampled since `out` was last joined; what the cache sees next
        for _ in range(int(max_new_tokens)):
            if cache is not None and out.shape[1] + len(new) <= bs:
                logits = self(step_in, cache=cache)          # the prompt, then only the newest token
            else:
                if new:
                    out, new = F.cat([out] + new, axis=1), []
                logits = self(out[:, -bs:])
            step_in = F.sample_logits(logits[:, -1], temperature, top_k).reshape(-1, 1)
            new.append(step_in)
        return F.cat([out] + new, axis=1) if new else out
