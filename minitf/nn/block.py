"""The transformer block, in both arrangements of its residuals and LayerNorms."""
from __future__ import annotations

from .. import autograd
from .. import functional as F
from .activation import GELU
from .attention import CausalSelfAttention, KVCache
from .dropout import Dropout
from .feedforward import FeedForward
from .linear import Linear
from . import module_hooks as _global_hooks
from .module import Module
from .normalization import LayerNorm


# the sub-modules' types (ln_1, attn, its c_attn, c_proj, resid_dropout, ln_2, mlp, its c_fc, gelu,
# c_proj, dropout) whose computation the fused step reproduces; a subclass may compute otherwise
_FUSED_TYPES = (LayerNorm, CausalSelfAttention, Linear, Linear, Dropout, LayerNorm, FeedForward, Linear, GELU,
                Linear, Dropout)


def _no_hooks(m) -> bool:
    d = m.__dict__
    return not (d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"]
                or d["_backward_pre_hooks"] or _global_hooks.ACTIVE)


class TransformerBlock(Module):
    """Masked self-attention and a feed-forward block, each with a residual connection.

    ``norm_first=True`` (pre-norm, GPT-2, the language model's default):
        X' = X + SelfAttention(LayerNorm_1(X));   H = X' + FFN(LayerNorm_2(X'))
    ``norm_first=False`` (post-norm, as the original transformer):
        O = LayerNorm_1(X + SelfAttention(X));    H = LayerNorm_2(O + FFN(O))

    x: (B, T, C) -> (B, T, C). ``bias`` switches the biases of every Linear and
    LayerNorm together; ``gelu_approximate`` picks the FFN's GELU ("tanh" or
    "none", see :class:`FeedForward`). Names as nanoGPT: ``ln_1``, ``attn``, ``ln_2``, ``mlp``.
    ``device`` / ``dtype`` (keywords): where and in what the parameters are made, as torch's layers.

    With a ``cache`` and grad disabled, a pre-norm block runs its step as one op,
    :func:`~minitf.functional.transformer_block_step` (the same arithmetic, about ten op and
    module calls fewer per block and token, each with its checks and bookkeeping). Only
    then: with grad enabled the layers' ops record the graph the step needs to be
    differentiated; with a hook on any of the block's sub-modules, that hook must see its
    module called; with dropout active (training mode, p > 0) the layers draw the masks;
    with a debug tool on (``detect_anomaly``, ``profile``), every op must pass through it; and
    with a window, padding, ``keep_attention``, the post-norm arrangement or a sub-module
    replaced by another type the fused op does not compute that. In those cases the block
    runs layer by layer, as without a cache. Hooks on the block itself still run: they wrap
    this forward, whichever path it takes.
    """

    def __init__(self, n_embd: int, n_head: int, d_ff: int | None = None, dropout: float = 0.0,
                 bias: bool = True, norm_first: bool = True, window: int | None = None, eps: float = 1e-5,
                 gelu_approximate: str = "tanh", *, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.norm_first = bool(norm_first)
        self.ln_1 = LayerNorm(n_embd, eps=eps, bias=bias, **factory)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout=dropout, bias=bias, window=window, **factory)
        self.ln_2 = LayerNorm(n_embd, eps=eps, bias=bias, **factory)
        self.mlp = FeedForward(n_embd, d_ff, dropout=dropout, bias=bias, gelu_approximate=gelu_approximate,
                               **factory)

    def new_cache(self, capacity: int | None = None) -> KVCache:
        return self.attn.new_cache(capacity)

    def forward(self, x, padding_mask=None, cache: KVCache | None = None):
        if cache is not None and padding_mask is None and self._steps_fused(x, cache):
            return self._fused_step(x, cache)
        if self.norm_first:
            x = x + self.attn(self.ln_1(x), padding_mask, cache)
            return x + self.mlp(self.ln_2(x))
        o = self.ln_1(x + self.attn(x, padding_mask, cache))
        return self.ln_2(o + self.mlp(o))

    def _steps_fused(self, x, cache) -> bool:
        """Whether this cached forward may run as one ``F.transformer_block_step`` (see the class)."""
        # a hook (anomaly mode, the profiler, forward AD, vmap, ...) sees the layers run one by one, but
        # the complex guard leaves real ops as they are: on for good once any complex tensor was made,
        # it left every later generation on the slow path
        hooks = autograd._tls.hooks
        if autograd.is_grad_enabled() or not self.norm_first or x.dtype.kind != "f" or (
                hooks and not all(getattr(h, "real_ops_unchanged", False) for h in hooks)):
            return False
        ln_1, attn, ln_2, mlp = self.ln_1, self.attn, self.ln_2, self.mlp
        if type(ln_1) is not LayerNorm or type(ln_2) is not LayerNorm or type(attn) is not CausalSelfAttention \
                or type(mlp) is not FeedForward:
            return False
        mods = (ln_1, attn, attn.c_attn, attn.c_proj, attn.resid_dropout, ln_2, mlp, mlp.c_fc, mlp.gelu,
                mlp.c_proj, mlp.dropout)
        if tuple(map(type, mods)) != _FUSED_TYPES or not all(map(_no_hooks, mods)):
            return False
        if self.training and (attn.dropout > 0 or attn.resid_dropout.p > 0 or mlp.dropout.p > 0):
            return False
        return (len(ln_1.normalized_shape) == 1 and len(ln_2.normalized_shape) == 1 and attn.window is None
                and not attn.keep_attention and x.ndim == 3 and x.shape[-1] == attn.n_embd
                and x.dtype == attn.c_attn.weight.dtype      # else the layers' own dtype error
                and cache.writes_in_place(x.requires_grad, None))

    def _fused_step(self, x, cache):
        attn, mlp = self.attn, self.mlp
        B, T, C = x.shape
        H = attn.n_head
        k, v = cache.reserve_tensors((B, H, T, C // H), x)
        y = F.transformer_block_step(
            x, k, v, len(cache), H,
            (self.ln_1.weight, self.ln_1.bias, attn.c_attn.weight, attn.c_attn.bias, attn.c_proj.weight,
             attn.c_proj.bias, self.ln_2.weight, self.ln_2.bias, mlp.c_fc.weight, mlp.c_fc.bias,
             mlp.c_proj.weight, mlp.c_proj.bias),
            (self.ln_1.eps, self.ln_2.eps), mlp.gelu.approximate)
        cache.advance(T)
        return y

    def extra_repr(self):
        return f"norm_first={self.norm_first}"
