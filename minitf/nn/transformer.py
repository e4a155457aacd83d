"""PyTorch's transformer layers: nn.TransformerEncoderLayer / DecoderLayer, the stacks
nn.TransformerEncoder / Decoder, and nn.Transformer, with torch's names, state-dict keys and masks.

    post-norm (norm_first=False):  x = norm1(x + SA(x));        x = norm2(x + FF(x))
    pre-norm  (norm_first=True):   x = x + SA(norm1(x));        x = x + FF(norm2(x))
    FF(x) = dropout2(linear2(dropout(activation(linear1(x)))))   (dropout3 in the decoder layer)

(the decoder layer adds cross-attention MHA(x, memory) between the two, with norm2, and its
feed-forward uses norm3 / dropout3). Built on nn.MultiheadAttention, LayerNorm, Linear and
Dropout: these layers hold no numeric code of their own. ``device`` / ``dtype`` (torch's factory
arguments) reach every sub-layer they build: their parameters are made there (None: the default
device and dtype); a ``custom_encoder`` / ``custom_decoder`` is kept as it is, as torch's.

torch's inference fast paths (``torch._transformer_encoder_layer_fwd`` and nested tensors,
taken under ``no_grad`` in eval mode) are not a concept here: ``enable_nested_tensor`` and
``mask_check`` are accepted and ignored, and minitf always computes what torch's ordinary
(autograd) path computes. The two differ only where a query has every key masked: torch's
ordinary path, like minitf, gives that query an attention output of 0 (so a finite layer
output); its fast path gives NaN for the layer, and its nested-tensor encoder 0 at the padded
positions.
"""
from __future__ import annotations

import copy
import numbers

import numpy as np

import minitf as _mt

from .. import functional as F
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from . import init
from .dropout import Dropout
from .module import Module, ModuleList
from .multihead import MultiheadAttention
from .normalization import LayerNorm
from .linear import Linear


def _activation_fn(activation):
    """torch's legacy strings 'relu' / 'gelu' as the functions; a callable (a function or a Module,
    which is then registered as the sub-module ``activation``, as torch's) as it is."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ArgumentError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(f"activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _check_layer_args(name, d_model, nhead, dim_feedforward, dropout):
    for arg, v in (("d_model", d_model), ("nhead", nhead), ("dim_feedforward", dim_feedforward)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
            raise ArgumentError(f"{name}: {arg} must be a positive int, got {v!r}")
    if not (isinstance(dropout, numbers.Real) and 0.0 <= dropout <= 1.0):
        raise ArgumentError(f"{name}: dropout must be in [0, 1], got {dropout!r}")


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """The causal mask, (sz, sz): -inf above the diagonal (a query may not see later keys), 0 on and
    below it; float32 by default, as torch's."""
    if not isinstance(sz, numbers.Integral) or isinstance(sz, bool) or sz < 0:
        raise ArgumentError(f"generate_square_subsequent_mask: sz must be a non-negative int, got {sz!r}")
    full = _mt.full((int(sz), int(sz)), float("-inf"), dtype=dtype or "float32", device=device or "cpu")
    return _mt.triu(full, 1)


def _is_causal_mask(mask, size) -> bool:
    """Whether ``mask`` is exactly the (size, size) causal mask in either of torch's forms: float
    (-inf above the diagonal, 0 elsewhere) or boolean (True above the diagonal)."""
    if mask is None or tuple(mask.shape) != (size, size):
        return False
    m = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
    upper = np.triu(np.ones((size, size), dtype=bool), 1)
    if m.dtype.kind == "b":
        return bool((m == upper).all())
    return bool((np.where(upper, m == -np.inf, m == 0)).all())


def _detect_is_causal(mask, is_causal, size):
    """torch's rule: an explicit hint is kept; None means 'causal if the mask is the causal mask'."""
    if is_causal is not None:
        return bool(is_causal)
    return _is_causal_mask(mask, size) if size is not None else False


def _seq_len(x, batch_first):
    """The sequence length of (L, N, E) / (N, L, E) / unbatched (L, E)."""
    return x.shape[0] if x.ndim == 2 else x.shape[1 if batch_first else 0]


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: their sub-modules, built in torch's order
    (so the state-dict keys are torch's), the self-attention block and the feed-forward block."""

    def _build(self, attention, n_norms, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
               batch_first, norm_first, bias, device, dtype):
        _check_layer_args(type(self).__name__, d_model, nhead, dim_feedforward, dropout)
        factory = {"device": device, "dtype": dtype}
        for name in attention:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                   **factory))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = bool(norm_first)
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        for i in range(1, n_norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self._ff_dropout = f"dropout{n_norms}"
        self.activation = _activation_fn(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        out = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                             need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(out)

    def _ff_block(self, x):
        """dropout_last(linear2(dropout(activation(linear1(x))))): (..., d_model) -> (..., d_model)."""
        return getattr(self, self._ff_dropout)(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward network, each with a residual and a LayerNorm, as
    ``torch.nn.TransformerEncoderLayer`` (same sub-modules, so a torch state dict loads strict).

    Sub-modules: ``self_attn`` (MultiheadAttention(d_model, nhead, dropout, bias, batch_first)),
    ``linear1`` (d_model -> dim_feedforward), ``dropout``, ``linear2`` (dim_feedforward ->
    d_model), ``norm1``, ``norm2`` (LayerNorm(d_model, layer_norm_eps, bias)), ``dropout1``,
    ``dropout2``. ``activation``: 'relu', 'gelu' or a callable (a Module is registered).

    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False): src (S, N, E), or
    (N, S, E) with ``batch_first``, or unbatched (S, E); src_mask (S, S) or (N * nhead, S, S);
    src_key_padding_mask (N, S) / (S,). Masks as MultiheadAttention's (boolean True = NOT
    allowed, float added to the scores). ``is_causal``: torch's hint that src_mask is causal.
    Returns a tensor shaped as src.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self._build(("self_attn",), 2, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, norm_first, bias, device, dtype)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, cross-attention to ``memory``, then a feed-forward network, each with a
    residual and a LayerNorm, as ``torch.nn.TransformerDecoderLayer`` (same sub-modules and keys).

    Sub-modules: ``self_attn``, ``multihead_attn`` (MultiheadAttention(d_model, nhead, dropout,
    bias, batch_first)), ``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``norm3``,
    ``dropout1``, ``dropout2``, ``dropout3``.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False): tgt (T, N, E),
    memory (S, N, E) (batch first with ``batch_first``; unbatched (T, E), (S, E)); tgt_mask
    (T, T), memory_mask (T, S) (or with N * nhead in front); tgt_key_padding_mask (N, T),
    memory_key_padding_mask (N, S). Returns a tensor shaped as tgt.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self._build(("self_attn", "multihead_attn"), 3, d_model, nhead, dim_feedforward, dropout, activation,
                    layer_norm_eps, batch_first, norm_first, bias, device, dtype)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        out = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                  need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(out)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))


def _clones(layer, num_layers, owner):
    if not isinstance(num_layers, numbers.Integral) or isinstance(num_layers, bool) or num_layers < 0:
        raise ArgumentError(f"{owner}: num_layers must be a non-negative int, got {num_layers!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(int(num_layers))])


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` (``layers.0`` ...), then ``norm``
    if given, as ``torch.nn.TransformerEncoder``.

    ``enable_nested_tensor`` and ``mask_check`` are accepted and ignored (torch uses them for an
    inference fast path over nested tensors; minitf has neither, see the module docstring).

    forward(src, mask=None, src_key_padding_mask=None, is_causal=None): as the layer's;
    ``is_causal=None`` detects whether ``mask`` is the causal mask, as torch.
    """

    def __init__(self, encoder_layer, num_layers: int, norm=None, enable_nested_tensor: bool = True,
                 mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = bool(enable_nested_tensor)
        self.use_nested_tensor = False    # (torch's switch for its fast path: never taken here)
        self.mask_check = bool(mask_check)

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal=None) -> Tensor:
        if not self.layers:
            out = src
        else:
            batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False)
            is_causal = _detect_is_causal(mask, is_causal, _seq_len(src, batch_first))
            out = src
            for layer in self.layers:
                out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return out if self.norm is None else self.norm(out)


class TransformerDecoder(Module):
    """``num_layers`` independent copies of ``decoder_layer``, then ``norm`` if given, as
    ``torch.nn.TransformerDecoder``.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False): as the layer's;
    ``tgt_is_causal=None`` detects whether ``tgt_mask`` is the causal mask, as torch.
    """

    def __init__(self, decoder_layer, num_layers: int, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal: bool = False) -> Tensor:
        out = tgt
        if self.layers:
            batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False)
            tgt_is_causal = _detect_is_causal(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
            for layer in self.layers:
                out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """The encoder-decoder transformer of "Attention Is All You Need", as ``torch.nn.Transformer``:
    ``encoder`` (TransformerEncoder of ``num_encoder_layers`` layers with a final LayerNorm
    ``encoder.norm``) and ``decoder`` (likewise), or ``custom_encoder`` / ``custom_decoder``.
    Every parameter with more than one dim is re-drawn Xavier-uniform, as torch's.

    forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None,
    tgt_is_causal=None, memory_is_causal=False): src (S, N, E), tgt (T, N, E) (batch first with
    ``batch_first``; unbatched (S, E), (T, E)); src_mask (S, S), tgt_mask (T, T), memory_mask
    (T, S); key padding masks (N, S), (N, T), (N, S). Returns (T, N, E) (shaped as tgt).
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, custom_encoder=None, custom_decoder=None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                      norm_first, bias, device, dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device,
                                                        dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device,
                                                        dtype=dtype))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, bool(batch_first)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
                src_is_causal=None, tgt_is_causal=None, memory_is_causal: bool = False) -> Tensor:
        n_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[n_axis] != tgt.shape[n_axis]):
            raise ShapeError(f"Transformer: the batch number of src and tgt must be equal, got src {src.shape} "
                             f"and tgt {tgt.shape} (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature number of src and tgt must be equal to d_model="
                             f"{self.d_model}, got src {src.shape} and tgt {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
