"""torch's top-level names for ops minitf has under ``minitf.functional`` or as Tensor methods,
with torch's top-level argument orders where they differ from F's (``torch.batch_norm(input,
weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)``,
``torch.embedding(weight, indices)``, the losses' integer ``reduction`` 0 / 1 / 2 for
'none' / 'mean' / 'sum'...). Each is a thin wrapper over the one op; where the signature is
F's, minitf/__init__.py names F's function itself (``mt.celu is F.celu``).

``mt.is_nonzero(x)`` and the other Tensor-method functions are the Tensor methods themselves.
"""
from __future__ import annotations

from ..errors import ArgumentError
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")   # at::Reduction: 0, 1, 2


def _reduction(name: str, reduction) -> str:
    if isinstance(reduction, str) and reduction in _REDUCTIONS:
        return reduction
    if isinstance(reduction, int) and not isinstance(reduction, bool) and 0 <= reduction <= 2:
        return _REDUCTIONS[reduction]
    raise ArgumentError(f"{name}: reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")


# ---------------------------------------------------------------- functions of a tensor: the Tensor methods
is_nonzero, is_same_size, is_signed, is_complex = (Tensor.is_nonzero, Tensor.is_same_size, Tensor.is_signed,
                                                   Tensor.is_complex)
is_inference, is_neg, is_conj, resolve_neg, resolve_conj = (Tensor.is_inference, Tensor.is_neg, Tensor.is_conj,
                                                            Tensor.resolve_neg, Tensor.resolve_conj)
get_device, select, adjoint = Tensor.get_device, Tensor.select, Tensor.adjoint
split_with_sizes = unsafe_split = unsafe_split_with_sizes = Tensor.split_with_sizes
unsafe_chunk, detach, detach_ = Tensor.unsafe_chunk, Tensor.detach, Tensor.detach_
masked_fill, index_put, index_put_ = Tensor.masked_fill, Tensor.index_put, Tensor.index_put_
fill_, zero_, clamp_, clip_, neg_, negative_ = (Tensor.fill_, Tensor.zero_, Tensor.clamp_, Tensor.clip_,
                                                Tensor.neg_, Tensor.negative_)
arccos_, arccosh_, arcsin_, arcsinh_, arctan_, arctanh_ = (Tensor.arccos_, Tensor.arccosh_, Tensor.arcsin_,
                                                           Tensor.arcsinh_, Tensor.arctan_, Tensor.arctanh_)
fix_ = Tensor.fix_


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of input's shape, dtype and device, every element ``value`` (a number or a 0-d
    tensor), as ``torch.fill``: the gradient reaches ``value``, and input gets 0 (torch's FillBackward)."""
    from .. import backend
    from .selection import where
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ArgumentError(f"fill only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
    nowhere = Tensor._make(backend.get_array_module(input.data).zeros(input.shape, dtype=bool), None)
    out = where(nowhere, input, value)
    return out if out.dtype == input.dtype else out.to(dtype=input.dtype)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``, as ``torch.rsub`` (``sub`` with its operands swapped)."""
    from .arithmetic import sub
    return sub(other, input, alpha=alpha)


def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    """``F.pad(input, pad, 'constant', value)``, as ``torch.constant_pad_nd``."""
    from .padding import pad as _pad
    return _pad(input, list(pad), "constant", value)


# ---------------------------------------------------------------- torch's *_copy functions: the view, copied
def _copy_of(name: str, view):
    def copy(input: Tensor, *args, **kwargs):
        out = view(input, *args, **kwargs)
        return type(out)(o.clone() for o in out) if isinstance(out, (tuple, list)) else out.clone()
    copy.__name__ = name
    copy.__doc__ = (f"``torch.{name}``: what ``Tensor.{name[:-5]}`` gives, in memory of its own "
                    f"(a differentiable copy, never a view).")
    return copy


_VIEWS = {"alias": lambda x: x, "detach": Tensor.detach, "diagonal": Tensor.diagonal, "expand": Tensor.expand,
          "permute": Tensor.permute, "select": Tensor.select, "split": Tensor.split,
          "split_with_sizes": Tensor.split, "squeeze": Tensor.squeeze, "t": Tensor.t, "transpose": Tensor.transpose,
          "unbind": Tensor.unbind, "unfold": Tensor.unfold, "unsqueeze": Tensor.unsqueeze, "view": Tensor.view}


def _slice(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    # torch.slice's view (behind slice_copy): input[..., start:end:step, ...] along dim
    from ._util import normalize_axis
    (dim,) = normalize_axis(dim, input.ndim, "slice_copy") or (0,)   # a dim out of range: torch's error
    return input[(slice(None),) * dim + (slice(start, end, step),)]


def _view_of_group(module: str, name: str):
    # a view of a group imported on first use (as_strided, view_as_real...): imported on the call
    def view(*args, **kwargs):
        import importlib
        return getattr(importlib.import_module(module, __package__), name)(*args, **kwargs)
    return view


_VIEWS.update({"slice": _slice, "as_strided": _view_of_group(".as_strided", "as_strided"),
               "view_as_real": _view_of_group(".complex_parts", "view_as_real"),
               "view_as_complex": _view_of_group(".complex_parts", "view_as_complex")})
COPIES = {name + "_copy": _copy_of(name + "_copy", view) for name, view in _VIEWS.items()}
globals().update(COPIES)   # alias_copy ... view_copy


# ---------------------------------------------------------------- norms and dropout, torch's argument orders
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True):
    """``torch.batch_norm``: F.batch_norm with torch's top-level order (weight and bias first).
    input: (N, C, ...) -> the same shape."""
    from .batch_norm import batch_norm as bn
    return bn(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled=True):
    """``torch.instance_norm``: F.instance_norm with torch's top-level order. input: (N, C, ...)."""
    from .batch_norm import instance_norm as inorm
    return inorm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def embedding(weight: Tensor, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``torch.embedding(weight, indices)``: F.embedding's arguments swapped; a negative
    ``padding_idx`` is none (aten's). weight: (V, C), indices: (...) -> (..., C)."""
    from .nn import embedding as emb
    if scale_grad_by_freq or sparse:
        raise ArgumentError("embedding: scale_grad_by_freq and sparse gradients are not supported")
    return emb(indices, weight, None if padding_idx is None or padding_idx < 0 else padding_idx)


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout(input, p, train)`` (every argument required, as torch's)."""
    from .nn import dropout as drop
    return drop(input, p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In place: ``torch.dropout_(input, p, train)``."""
    from .nn import dropout as drop
    return drop(input, p, train, inplace=True)


# ---------------------------------------------------------------- losses: the integer reduction
def kl_div(input, target, reduction=1, *, log_target=False):
    """``torch.kl_div``: reduction 1 is the elementwise mean ('mean', not 'batchmean'), without
    F.kl_div's warning about it (torch.kl_div gives none)."""
    from .pointwise_loss import kl_div as f
    reduction = _reduction("kl_div", reduction)
    loss = f(input, target, reduction="none" if reduction == "mean" else reduction, log_target=log_target)
    return loss.mean() if reduction == "mean" else loss


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    from .pointwise_loss import binary_cross_entropy_with_logits as f
    return f(input, target, weight, reduction=_reduction("binary_cross_entropy_with_logits", reduction),
             pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    from .margin_loss import cosine_embedding_loss as f
    return f(input1, input2, target, margin, reduction=_reduction("cosine_embedding_loss", reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    from .margin_loss import hinge_embedding_loss as f
    return f(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    from .margin_loss import margin_ranking_loss as f
    return f(input1, input2, target, margin, reduction=_reduction("margin_ranking_loss", reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=1):
    from .margin_loss import triplet_margin_loss as f
    return f(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction("triplet_margin_loss", reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """``torch.poisson_nll_loss(input, target, log_input, full, eps, reduction)`` (all required, as torch's)."""
    from .likelihood_loss import poisson_nll_loss as f
    return f(input, target, log_input, full, eps=eps, reduction=_reduction("poisson_nll_loss", reduction))


# ---------------------------------------------------------------- one recurrent step from the raw weights
def _input_projection(input, w_ih, b_ih, b_hh=None):
    from .linear import linear
    xw = linear(input, w_ih, b_ih)
    return xw if b_hh is None else xw + b_hh


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). input: (B, I), hx: (B, H), w_ih: (H, I), w_hh: (H, H)."""
    from .recurrent import rnn_cell
    return rnn_cell(_input_projection(input, w_ih, b_ih, b_hh), hx, w_hh, "tanh")


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh), shapes as :func:`rnn_tanh_cell`."""
    from .recurrent import rnn_cell
    return rnn_cell(_input_projection(input, w_ih, b_ih, b_hh), hx, w_hh, "relu")


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step, torch's gate order (i, f, g, o). input: (B, I), hx: (h, c) each (B, H),
    w_ih: (4H, I), w_hh: (4H, H) -> (h', c')."""
    from .recurrent import lstm_cell as cell
    from .shape import stack
    h, c = hx
    state = cell(_input_projection(input, w_ih, b_ih, b_hh), stack([h, c]), w_hh)
    return state[0], state[1]


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step, torch's gate order (r, z, n). input: (B, I), hx: (B, H), w_ih: (3H, I), w_hh: (3H, H)."""
    from .gru import gru_cell as cell
    return cell(_input_projection(input, w_ih, b_ih), hx, w_hh, b_hh)
