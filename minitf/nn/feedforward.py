"""The position-wise feed-forward block of a transformer."""
from __future__ import annotations

import numbers

from .activation import GELU
from .dropout import Dropout
from .linear import Linear
from .module import Module


class FeedForward(Module):
    """FFN(x) = dropout(GELU(x W_fc^T + b_fc) W_proj^T + b_proj), applied to every position alone.

    x: (..., C) -> (..., C), through a hidden width ``d_ff`` (4C by default).
    Names as nanoGPT's MLP: ``c_fc`` (d_ff, C), ``c_proj`` (C, d_ff).
    ``gelu_approximate``: "tanh" (GPT-2's approximation, the default here) or
    "none" (the exact erf GELU, nanoGPT's ``nn.GELU()``). ``device`` / ``dtype`` (keywords): where
    and in what the parameters are made, as torch's layers.
    """

    def __init__(self, n_embd: int, d_ff: int | None = None, dropout: float = 0.0, bias: bool = True,
                 gelu_approximate: str = "tanh", *, device=None, dtype=None):
        super().__init__()
        for name, n in (("n_embd", n_embd), ("d_ff", 4 if d_ff is None else d_ff)):
            if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
                raise ValueError(f"FeedForward: {name} must be an int >= 1, got {n!r}")
        self.d_ff = 4 * n_embd if d_ff is None else int(d_ff)
        self.c_fc = Linear(n_embd, self.d_ff, bias=bias, device=device, dtype=dtype)
        self.gelu = GELU(approximate=gelu_approximate)
        self.c_proj = Linear(self.d_ff, n_embd, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
