"""The transformer block, in both arrangements of its residuals and LayerNorms."""
from __future__ import annotations

from .attention import CausalSelfAttention, KVCache
from .feedforward import FeedForward
from .module import Module
from .normalization import LayerNorm


class TransformerBlock(Module):
    """Masked self-attention and a feed-forward block, each with a residual connection.

    ``norm_first=True`` (pre-norm, GPT-2, the language model's default):
        X' = X + SelfAttention(LayerNorm_1(X));   H = X' + FFN(LayerNorm_2(X'))
    ``norm_first=False`` (post-norm, as the original transformer):
        O = LayerNorm_1(X + SelfAttention(X));    H = LayerNorm_2(O + FFN(O))

    x: (B, T, C) -> (B, T, C). ``bias`` switches the biases of every Linear and
    LayerNorm together; ``gelu_approximate`` picks the FFN's GELU ("tanh" or
    "none", see :class:`FeedForward`). Names as nanoGPT: ``ln_1``, ``attn``, ``ln_2``, ``mlp``.
    """

    def __init__(self, n_embd: int, n_head: int, d_ff: int | None = None, dropout: float = 0.0,
                 bias: bool = True, norm_first: bool = True, window: int | None = None, eps: float = 1e-5,
                 gelu_approximate: str = "tanh"):
        super().__init__()
        self.norm_first = bool(norm_first)
        self.ln_1 = LayerNorm(n_embd, eps=eps, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout=dropout, bias=bias, window=window)
        self.ln_2 = LayerNorm(n_embd, eps=eps, bias=bias)
        self.mlp = FeedForward(n_embd, d_ff, dropout=dropout, bias=bias, gelu_approximate=gelu_approximate)

    def new_cache(self, capacity: int | None = None) -> KVCache:
        return self.attn.new_cache(capacity)

    def forward(self, x, padding_mask=None, cache: KVCache | None = None):
        if self.norm_first:
            x = x + self.attn(self.ln_1(x), padding_mask, cache)
            return x + self.mlp(self.ln_2(x))
        o = self.ln_1(x + self.attn(x, padding_mask, cache))
        return self.ln_2(o + self.mlp(o))

    def extra_repr(self):
        return f"norm_first={self.norm_first}"
