"""nn.MultiheadAttention: PyTorch's layer, its parameter names, layouts, masks and options.

    Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v      (N, L|S, E)
    heads split E contiguously: head h owns channels h*hd .. (h+1)*hd        (N, H, L|S, hd)
    O_h = softmax(Q_h K_h^T / sqrt(hd) + mask) V_h;  out = concat_h O_h W_o^T + b_o

The forward is :func:`minitf.ops.multihead_forward.attention_forward` on the layer's parameters
(``F.multi_head_attention_forward``'s code, as torch's layer calls its functional form): the
layer holds no numeric code of its own.
"""
from __future__ import annotations

import numbers

from ..ops.multihead_forward import attention_forward
from ..tensor import Tensor
from . import init
from .linear import Linear
from .module import Module
from .parameter import empty_parameter


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under PyTorch's name for ``MultiheadAttention.out_proj`` (so the repr reads the same)."""


def _check_size(name, n):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"MultiheadAttention: {name} must be an int, got {type(n).__name__} {n!r}")
    if n <= 0:
        raise ValueError(f"MultiheadAttention: {name} must be greater than 0, got {n}")
    return int(n)


class MultiheadAttention(Module):
    """Multi-head attention as ``torch.nn.MultiheadAttention`` (a torch state dict loads, strict).

    Parameters, as PyTorch's: ``in_proj_weight`` (3E, E) when kdim == vdim == embed_dim,
    else ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    ``in_proj_bias`` (3E,) and ``out_proj.bias`` when ``bias``; ``out_proj.weight`` (E, E);
    ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv`` (a learned key/value appended to every
    sequence). ``add_zero_attn`` appends an all-zero key and value after them. Initialised as
    PyTorch: Xavier-uniform projections, zero biases, Xavier-normal bias_k / bias_v,
    ``out_proj.weight`` as a Linear's. ``device`` / ``dtype``: where and in what the parameters are
    made (None: the default device and dtype).

    forward(query, key, value): query (L, N, E), key (S, N, kdim), value (S, N, vdim), or
    (N, L, E) ... with ``batch_first=True``, or unbatched (L, E), (S, kdim), (S, vdim). Returns
    ``(attn_output, attn_weights)``: attn_output shaped as query; attn_weights (N, L, S')
    averaged over heads (``average_attn_weights``) or (N, num_heads, L, S'), unbatched without
    the N, with S' = S + add_bias_kv + add_zero_attn; None when ``need_weights=False``.

    Masks follow PyTorch's convention, the opposite of minitf's own: a boolean
    ``key_padding_mask`` (N, S) / (S,) or ``attn_mask`` (L, S) / (N * num_heads, L, S) is True
    where attention is NOT allowed; a float mask is added to the scores. Both may be given
    (they are added, booleans as 0 / -inf). ``is_causal=True`` is a hint that ``attn_mask`` is
    the causal mask, as PyTorch: it needs ``attn_mask``, and with no ``key_padding_mask`` and
    ``need_weights=False`` the mask is not used and the causal mask is applied instead.

    Dropout (``dropout``) drops attention probabilities in training only; with
    ``need_weights`` the weights returned are the dropped ones (as PyTorch's).

    A query whose keys are all masked attends to nothing: its attention output is 0 (so its
    layer output is ``out_proj.bias``) and its weights are 0. PyTorch gives the same output
    with ``need_weights=False``, but NaN output and weights with ``need_weights=True`` (and
    on its inference fast path); minitf gives 0 in every case.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        self.embed_dim = E = _check_size("embed_dim", embed_dim)
        self.num_heads = _check_size("num_heads", num_heads)
        self.kdim = E if kdim is None else _check_size("kdim", kdim)
        self.vdim = E if vdim is None else _check_size("vdim", vdim)
        if E % self.num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({E}) must be divisible by num_heads "
                             f"({self.num_heads})")
        if not (isinstance(dropout, numbers.Real) and 0.0 <= dropout <= 1.0):  # 1: all dropped, as torch
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout!r}")
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = E // self.num_heads
        self.add_zero_attn = bool(add_zero_attn)

        def empty(*shape):
            return empty_parameter(*shape, device=device, dtype=dtype)
        # registration order gives PyTorch's state-dict key order
        if self._qkv_same_embed_dim:
            self.in_proj_weight = init.xavier_uniform_(empty(3 * E, E))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = init.xavier_uniform_(empty(E, E))
            self.k_proj_weight = init.xavier_uniform_(empty(E, self.kdim))
            self.v_proj_weight = init.xavier_uniform_(empty(E, self.vdim))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = init.zeros_(empty(3 * E))
        else:
            self.register_parameter("in_proj_bias", None)
        if add_bias_kv:
            self.bias_k = init.xavier_normal_(empty(1, 1, E))
            self.bias_v = init.xavier_normal_(empty(1, 1, E))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, device=device, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        # the functional form on the layer's parameters, as torch's layer (out_proj's weights are
        # read, the Linear is not called: its hooks do not run, as in torch)
        return attention_forward(
            query, key, value, embed_dim=self.embed_dim, kdim=self.kdim, vdim=self.vdim, num_heads=self.num_heads,
            batch_first=self.batch_first, in_proj_weight=self.in_proj_weight if self._qkv_same_embed_dim else None,
            in_proj_bias=self.in_proj_bias, q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, bias_k=self.bias_k, bias_v=self.bias_v,
            add_zero_attn=self.add_zero_attn, dropout_p=self.dropout if self.training else 0.0,
            out_proj_weight=self.out_proj.weight, out_proj_bias=self.out_proj.bias,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
