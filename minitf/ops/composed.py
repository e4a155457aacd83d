"""The fused ops written again in primitive ops: their differentiable backward.

A fused op (softmax, layer_norm, attention, an LSTM step, ...) computes its forward
and backward on arrays in one pass each, which is fast but cannot be recorded. For
``create_graph=True`` each fused Function's ``backward_graph`` is the vector-Jacobian
product of the function below, the same mathematics in primitive ops (add, mul, exp,
matmul, getitem, ...), each of which has a recorded backward of its own:

    backward_graph(g) = d <g, composed(*inputs)> / d inputs     (inputs as independent variables)

so the gradient can be differentiated again. The tests check every composed forward
and backward against the fused one: two independent derivations that must agree.
Constants of a forward (masks, dropout keeps, the max subtracted before exp) enter
as tensors outside the graph; the max shift does not change the value, so leaving it
undifferentiated is exact.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..backprop import _backward
from ..tensor import Tensor
from . import attention, elementwise, layer_normalization as _layer_norm, loss, multihead, nn, recurrent, reduction
from .backward_ops import normal_cdf
from .linear import Linear
from .elementwise import exp, log, relu, sigmoid as _sigmoid, tanh
from .shape import GetItem, Reshape, Where, stack


def _const(a) -> Tensor:
    return Tensor._make(a, None)


def _rows(valid, per_row: Tensor) -> Tensor:
    """``per_row`` (N,) where ``valid`` (a bool (N,): the rows not ignored, or None for all), +0 elsewhere:
    a select, so an ignored row's gradient is 0 also for an inf or NaN g (torch's kernels skip those
    rows; a multiply by their zero weight gives inf * 0 = NaN)."""
    if valid is None:
        return per_row
    return Where.apply(per_row, _const(backend.get_array_module(per_row.data).zeros((), dtype=per_row.dtype)),
                       cond=valid)


def _masked(allowed, s: Tensor) -> Tensor:
    """``s`` where ``allowed``, else -inf (a constant)."""
    return Where.apply(s, _const(backend.get_array_module(s.data).asarray(-np.inf, dtype=s.dtype)),
                       cond=allowed)


def gelu(x):
    c, a = elementwise._GELU_C, elementwise._GELU_A
    return 0.5 * x * (1 + tanh(c * (x + a * (x * x * x))))


def gelu_erf(x):
    return x * normal_cdf(x)                                  # x Phi(x)


def sigmoid(x):
    # the fused op's stable form: with e = exp(-|x|), 1/(1+e) for x >= 0 and e/(1+e) below; -|x|
    # is written as a where() on the sign (constant), so the derivative is exact at 0 too
    xp = backend.get_array_module(x.data)
    pos = x.data >= 0
    e = exp(Where.apply(-x, x, cond=pos))
    return Where.apply(_const(xp.ones((), dtype=x.dtype)), e, cond=pos) / (1 + e)


def silu(x):
    return x * sigmoid(x)


def _shift(x, axis):
    """x - max(x) along ``axis``, the max held constant (finite, for a fully masked row: 0)."""
    xp = backend.get_array_module(x.data)
    m = x.data.max(axis=axis, keepdims=True)
    return x - _const(xp.where(xp.isfinite(m), m, m.dtype.type(0)))


def softmax(x, axis):
    e = exp(_shift(x, axis))
    return e / reduction.sum(e, axis, keepdims=True)


def log_softmax(x, axis):
    s = _shift(x, axis)
    return s - log(reduction.sum(exp(s), axis, keepdims=True))


def _nan_if(empty: bool, y):
    """``y``, or NaN with a zero gradient (a mean over no rows, as the fused losses give)."""
    if not empty:
        return y
    return y * 0 + _const(backend.get_array_module(y.data).asarray(np.nan, dtype=y.dtype))


def cross_entropy(logits, targets, ignore_index):
    xp = backend.get_array_module(logits.data)
    t = targets.data
    valid = t != ignore_index
    rows = xp.arange(logits.shape[0])
    picked = GetItem.apply(log_softmax(logits, -1), index=(rows, xp.where(valid, t, 0)), advanced=True)
    count = int(valid.sum())
    return _nan_if(count == 0, -reduction.sum(_rows(valid, picked)) / max(count, 1))


def _reduce(per_row, reduction_, denom, lead):
    if reduction_ == "none":
        return per_row.reshape(lead)
    total = reduction.sum(per_row)
    if reduction_ == "sum":
        return total
    return _nan_if(not denom, total / (denom or 1))


def weighted_cross_entropy(logits, *soft, coef, reduction, denom, lead, smoothing, valid=None):
    # (valid: the rows not ignored, selected; their coefficients are 0 too, which a multiply alone would pass as NaN)
    if soft:  # probability targets that require grad: A = w ((1 - eps) t + eps / C), t in the graph
        t, w_row = soft
        coef = w_row * (t * (1 - smoothing) + smoothing / logits.shape[-1])
    else:
        coef = _const(coef)
    per_row = -_sum_last(coef * log_softmax(logits, -1))  # loss_i = -sum_c A_ic log p_ic
    return _reduce(_rows(valid, per_row), reduction, denom, lead)


def _sum_last(y):
    return reduction.sum(y, (y.ndim - 1,))


def nll_loss(x, w_t, rows, t, reduction, denom, lead, valid=None):   # (valid: as weighted_cross_entropy's)
    per_row = GetItem.apply(x, index=(rows, t), advanced=True) * _const(-w_t)
    return _reduce(_rows(valid, per_row), reduction, denom, lead)


def layer_norm(x, *wb, eps, has_weight, has_bias):
    xc = x - reduction.mean(x, -1, keepdims=True)
    y = xc * (reduction.mean(xc * xc, -1, keepdims=True) + eps) ** -0.5
    if has_weight:
        y = y * wb[0]
    return y + wb[-1] if has_bias else y


def linear_(x, w, *b):
    y = x @ w.transpose(-1, -2)
    return y + b[0] if b else y


def embedding(weight, idx, padding_idx=None):
    if padding_idx is not None:  # the padding row is a constant: its value, but no gradient
        xp = backend.get_array_module(weight.data)
        is_pad = (xp.arange(weight.shape[0]) == padding_idx)[:, None]
        weight = Where.apply(_const(weight.data), weight, cond=is_pad)
    return GetItem.apply(weight, index=idx, advanced=True)


def dropout(x, keep):
    return x * _const(keep)


def attention_probs(q, k, *add_in, mask, causal, scale, add=None, top_left=False):
    """P = softmax(Q K^T scale + a float mask, masked) of attention, before dropout."""
    xp = backend.get_array_module(q.data)
    s = (q @ k.transpose(-1, -2)) * scale                      # S = Q K^T / sqrt(d_k)
    if add_in or add is not None:                              # S + a float mask (a tensor in the graph, or not)
        s = s + (add_in[0] if add_in else _const(add))
    allowed = attention._causal_allowed(xp, q.shape[-2], k.shape[-2], top_left) if causal else None
    if mask is not None:
        allowed = mask if allowed is None else allowed & mask
    if allowed is not None:
        s = _masked(allowed, s)
    e = exp(_shift(s, -1))
    z = reduction.sum(e, -1, keepdims=True)
    if allowed is not None or add_in or add is not None:  # a fully masked row: z = 0, P = 0 (not 0/0)
        z = Where.apply(_const(xp.ones((), dtype=z.dtype)), z, cond=z.data == 0)
    return e / z                                               # P = softmax(S + mask)


def scaled_dot_product_attention(q, k, v, *add_in, mask, causal, scale, keep, add=None, top_left=False):
    p = attention_probs(q, k, *add_in, mask=mask, causal=causal, scale=scale, add=add, top_left=top_left)
    if keep is not None:
        p = p * _const(keep)
    return p @ v                                               # O = P V


def multi_head_self_attention(qkv, n_head, mask, causal, scale, keep):
    B, T, C3 = qkv.shape
    hd = C3 // (3 * n_head)
    heads = qkv.reshape(B, T, 3, n_head, hd).permute(2, 0, 3, 1, 4)
    o = scaled_dot_product_attention(heads[0], heads[1], heads[2], mask=mask, causal=causal, scale=scale, keep=keep)
    return o.permute(0, 2, 1, 3).reshape(B, T, n_head * hd)


def rnn_cell(xw, h, w, t, seq):
    return tanh((xw if t is None else xw[:, t]) + h @ w.transpose(-1, -2))


def relu_rnn_cell(xw, h, w, t, seq):
    return relu((xw if t is None else xw[:, t]) + h @ w.transpose(-1, -2))


def lstm_cell(xw, s, w, t, seq):
    h, c = s[0], s[1]
    H = h.shape[-1]
    z = (xw if t is None else xw[:, t]) + h @ w.transpose(-1, -2)
    i, f = _sigmoid(z[:, :H]), _sigmoid(z[:, H:2 * H])
    g, o = tanh(z[:, 2 * H:3 * H]), _sigmoid(z[:, 3 * H:])
    c2 = f * c + i * g
    return stack([o * tanh(c2), c2])


def vjp(forward, fn, g: Tensor):
    """The recorded gradients of <g, forward(*fn.inputs, **fn.params)> for each input.

    Each input enters through an identity node of its own, so an input passed twice
    (``attention(x, x, x)``) gets one gradient per position, as a fused backward gives.
    """
    aliases = [Reshape.apply(t, shape=t.shape) if t.requires_grad else t for t in fn.inputs]
    out = forward(*aliases, **fn.params)
    targets = [a for a in aliases if a.requires_grad]
    got = _backward([out], [g], targets=targets, stop_at_targets=True, create_graph=True,
                    retain_graph=True)
    return tuple(got.get(id(a)) if a.requires_grad else None for a in aliases)


def _backward_graph(forward):
    def backward_graph(self, g):
        return vjp(forward, self, g)
    backward_graph.__doc__ = f"The vector-Jacobian product of :func:`minitf.ops.composed.{forward.__name__}`."
    return backward_graph


# fused Function -> its composition in primitive ops
COMPOSED = {
    elementwise.GELU: gelu,
    elementwise.GELUErf: gelu_erf,
    elementwise.Sigmoid: sigmoid,
    elementwise.SiLU: silu,
    nn.Softmax: softmax,
    nn.LogSoftmax: log_softmax,
    nn.CrossEntropy: cross_entropy,
    loss.WeightedCrossEntropy: weighted_cross_entropy,
    loss.NLLLoss: nll_loss,
    _layer_norm.LayerNorm: layer_norm,
    nn.Embedding: embedding,
    nn.Dropout: dropout,
    Linear: linear_,
    attention.ScaledDotProductAttention: scaled_dot_product_attention,
    multihead.MultiHeadSelfAttention: multi_head_self_attention,
    recurrent.RNNCell: rnn_cell,
    recurrent.ReLURNNCell: relu_rnn_cell,
    recurrent.LSTMCell: lstm_cell,
}
for _cls, _forward in COMPOSED.items():
    if _cls.backward_graph is None:  # an op that writes its own keeps it
        _cls.backward_graph = _backward_graph(_forward)
        _cls.composed = staticmethod(_forward)
del _cls, _forward


def _nll_loss_backward_graph(self, g):
    """nll_loss is linear in x, so its recorded backward does not read x; torch records it as
    depending on x with slope zero (NllLossBackwardBackward0), so a second derivative gives zeros."""
    from .backward_ops import with_zero_slope_on
    (gx,) = vjp(nll_loss, self, g)
    return (with_zero_slope_on(gx, self.inputs[0]),)


loss.NLLLoss.backward_graph = _nll_loss_backward_graph
