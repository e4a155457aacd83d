"""CharRNN: the recurrent baseline language model, embedding -> RNN/LSTM -> linear head."""
from __future__ import annotations

from dataclasses import dataclass


import minitf as _mt

from .. import functional as F
from .. import nn
from ..tensor import Tensor, no_grad
from ..ops._util import is_int


@dataclass
class CharRNNConfig:
    """vocab_size V, n_embd C (embedding and hidden width), n_layer, cell ("lstm" or "rnn"), dropout."""

    vocab_size: int
    n_embd: int
    n_layer: int = 1
    cell: str = "lstm"
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "n_embd", "n_layer"):
            v = getattr(self, name)
            if not is_int(v) or v < 1:
                raise ValueError(f"CharRNNConfig: {name} must be a positive int, got {v!r}")
        if self.cell not in ("lstm", "rnn"):
            raise ValueError(f"CharRNNConfig: cell must be 'lstm' or 'rnn', got {self.cell!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"CharRNNConfig: dropout must be in [0, 1), got {self.dropout}")


class CharRNN(nn.Module):
    """A recurrent language model. ``model(idx)`` -> logits (B, T, vocab_size).

    idx: (B, T) integer token ids, any T. With ``state`` (the previous chunk's
    final state, detached: :func:`minitf.nn.detach_state`) the sequence
    continues where that chunk stopped (truncated BPTT); ``return_state=True``
    returns (logits, final state). The state is an (n_layer, B, C) tensor for
    the RNN, an (h, c) pair of them for the LSTM. ``device`` / ``dtype`` (keywords): where and in
    what the parameters are made (None: the default device and dtype), as torch's layers.
    """

    def __init__(self, config: CharRNNConfig, *, device=None, dtype=None):
        super().__init__()
        if not isinstance(config, CharRNNConfig):
            raise TypeError(f"CharRNN expects a CharRNNConfig, got {type(config).__name__}")
        self.config = c = config
        factory = {"device": device, "dtype": dtype}
        self.wte = nn.Embedding(c.vocab_size, c.n_embd, **factory)
        rnn = nn.LSTM if c.cell == "lstm" else nn.RNN
        self.rnn = rnn(c.n_embd, c.n_embd, num_layers=c.n_layer, dropout=c.dropout, batch_first=True, **factory)
        self.drop = nn.Dropout(c.dropout)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, **factory)

    def _as_idx(self, idx) -> Tensor:
        if not isinstance(idx, Tensor):
            idx = _mt.tensor(idx, device=self.wte.weight.device)
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(f"CharRNN: idx must be integer token ids of shape (B, T), got {idx.dtype} {idx.shape}")
        return idx

    def forward(self, idx, state=None, return_state: bool = False):
        """idx: (B, T) -> logits (B, T, V), or (logits, final state) with ``return_state``."""
        out, state = self.rnn(self.wte(self._as_idx(idx)), state)
        logits = self.lm_head(self.drop(out))
        return (logits, state) if return_state else logits

    @no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
        """Append ``max_new_tokens`` sampled tokens to idx (B, T); returns (B, T + max_new_tokens).

        The prompt is read once; then each new token goes in alone with the
        carried state (the recurrent state is the whole memory: no context limit).
        """
        out = self._as_idx(idx)
        if out.shape[1] == 0:
            raise ValueError("CharRNN.generate: idx needs at least one token to condition on")
        logits, state = self(out, return_state=True)
        for i in range(int(max_new_tokens)):
            nxt = F.sample_logits(logits[:, -1], temperature, top_k).reshape(-1, 1)
            out = F.cat([out, nxt], axis=1)
            if i + 1 < max_new_tokens:
                logits, state = self(nxt, state, return_state=True)
        return out
