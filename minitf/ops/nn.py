"""Fused neural-network ops with analytic backward: softmax, log_softmax,
the fused cross-entropy kernel (its function is in :mod:`.loss`), embedding,
dropout. (layer_norm has its own module, :mod:`.layer_normalization`.)"""
from __future__ import annotations

import numpy as np

from ..errors import DimError
from .. import backend
from ..backend.fused import kernels_for
from ..autograd import Function
from ..generator import resolve
from ..tensor import Tensor
from ._util import cast_input, check_floating, check_index_range
from ._util import is_int
from .rows import row_sum


def _is_last(axis, ndim) -> bool:
    return axis == -1 or axis == ndim - 1


def _stable_exp(x, axis):
    """exp(x - max) along ``axis`` and its row sums: finite for any finite x."""
    xp = backend.get_array_module(x)
    if _is_last(axis, x.ndim):  # the usual case, with the CPU's faster row reductions
        shifted = x - x.max(axis=-1, keepdims=True)
        e = xp.exp(shifted)
        return shifted, e, row_sum(xp, e)
    shifted = x - x.max(axis=axis, keepdims=True)
    e = xp.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


class Softmax(Function):
    def forward(self, x, axis):
        _, e, s = _stable_exp(x, axis)
        self.y, self.axis = e / s, axis
        return self.y

    def backward(self, g):  # dx = y * (g - sum(g y))
        y = self.y
        gy = (row_sum(backend.get_array_module(g), g, y) if _is_last(self.axis, y.ndim)
              else (g * y).sum(axis=self.axis, keepdims=True))
        return (y * (g - gy),)


class LogSoftmax(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, axis):
        xp = backend.get_array_module(x)
        shifted, e, s = _stable_exp(x, axis)
        self.p, self.axis = e / s, axis
        return shifted - xp.log(s)

    def backward(self, g):  # dx = g - softmax(x) * sum(g)
        sg = (row_sum(backend.get_array_module(g), g) if _is_last(self.axis, g.ndim)
              else g.sum(axis=self.axis, keepdims=True))
        return (g - self.p * sg,)


class CrossEntropy(Function):
    """Mean over non-ignored targets of -log softmax(logits)[target]; logits (N, V), targets (N,)."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, logits, targets, ignore_index):
        xp = backend.get_array_module(logits)
        n = logits.shape[0]
        valid = targets != ignore_index
        safe_t = xp.where(valid, targets, 0)
        self.fused = kernels_for(xp, logits) if logits.shape[-1] else None
        if self.fused is not None:   # the GPU: one kernel (minitf/backend/fused.py)
            p, nll = self.fused.cross_entropy_rows(xp.ascontiguousarray(logits), safe_t)
            rows = None
        else:
            shifted, e, s = _stable_exp(logits, -1)
            rows = xp.arange(n)
            nll = xp.log(s[:, 0]) - shifted[rows, safe_t]
            p = e / s
        # the count stays on the device (no synchronisation); max(count, 1) so that zero valid
        # targets give 0 * (1/1) in backward: a zero gradient, as PyTorch
        count = valid.sum()
        self.scale = xp.maximum(count, 1).astype(logits.dtype)
        self.p, self.rows, self.t, self.valid = p, rows, safe_t, valid
        # a mean over zero valid targets is 0/0: NaN, as PyTorch gives
        return xp.where(count > 0, (nll * valid).sum() / self.scale, logits.dtype.type(np.nan))

    def backward(self, g):  # d loss / d logits = (softmax - onehot(target)) / count, per valid row
        if self.fused is not None:
            w = backend.get_array_module(g).where(self.valid, g / self.scale, g.dtype.type(0))
            return self.fused.cross_entropy_rows_backward(self.p, self.t, w), None
        grad = self.p.copy()  # not in place: with retain_graph=True backward runs again on self.p
        grad[self.rows, self.t] -= 1
        # ignored rows (all, if every target is) get 0, also for an inf or NaN g: an (N,) select
        grad *= backend.get_array_module(g).where(self.valid, g / self.scale, g.dtype.type(0))[:, None]
        return grad, None


class Embedding(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, weight, idx, padding_idx=None):
        self.idx, self.shape, self.padding_idx = idx, weight.shape, padding_idx
        return weight[idx]

    def backward(self, g):  # rows of the table receive the sum of the grads of their positions
        xp = backend.get_array_module(g)
        gw = xp.zeros(self.shape, dtype=g.dtype)
        backend.scatter_add(gw, self.idx.reshape(-1), g.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:   # the padding row is a constant: it learns nothing
            gw[self.padding_idx] = 0
        return (gw,)


class Dropout(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, keep):
        self.keep = keep
        return x * keep

    def backward(self, g):
        return (g * self.keep,)


def _implicit_dim(name: str, ndim: int) -> int:
    """torch's dim for a softmax called without one (0 for 0-, 1- and 3-d input, else 1), with
    its deprecation warning: the last dim only for 1-d and 2-d input, so name it."""
    import warnings
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  f"dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _one_axis(name: str, x: Tensor, axis, dim=None) -> int:
    """The one axis of a row-wise op, given as NumPy's ``axis`` or PyTorch's ``dim`` (not both)."""
    if dim is not None:
        if axis is not None and axis != -1 and axis != dim:
            raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r}; pass one of them")
        axis = dim
    axis = -1 if axis is None else axis
    if not is_int(axis) or not -x.ndim <= axis < max(x.ndim, 1):
        raise DimError(f"{name}: axis {axis!r} is out of range for a tensor of shape {x.shape}")
    axis = int(axis) % max(x.ndim, 1)
    if x.ndim == 0:
        raise ValueError(f"{name}: needs at least one dimension, got a 0-d tensor")
    return axis


def softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None, dtype=None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``axis`` (PyTorch: ``dim``), computed stably (max subtracted).

    x: any shape (..., n, ...) -> the same shape (empty where n = 0, as torch); each slice along ``axis`` sums to 1
    (a 0-d x is one slice of one element: 1, as torch). ``dtype``: x cast to it first, as torch.
    """
    x = cast_input(x, dtype)
    if axis is None and dim is None:
        axis = _implicit_dim("softmax", x.ndim)
    check_floating(x, "softmax")
    if x.ndim == 0:  # torch: a 0-d tensor is one row of one element (softmax 1, log_softmax 0)
        _one_axis("softmax", x.reshape(1), axis, dim)
        return softmax(x.reshape(1), 0).reshape(())
    axis = _one_axis("softmax", x, axis, dim)
    if x.data.size == 0:   # an empty dim (or another one) has no slice to normalise: an empty result, as torch
        return x * 0
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None, dtype=None) -> Tensor:
    """x_i - log sum_j exp(x_j) along ``axis`` (PyTorch: ``dim``), computed stably.

    x: any shape -> the same shape (empty where ``axis`` has size 0, as torch). ``dtype``: x cast to it first.
    """
    x = cast_input(x, dtype)
    if axis is None and dim is None:
        axis = _implicit_dim("log_softmax", x.ndim)
    check_floating(x, "log_softmax")
    if x.ndim == 0:
        _one_axis("log_softmax", x.reshape(1), axis, dim)
        return log_softmax(x.reshape(1), 0).reshape(())
    axis = _one_axis("log_softmax", x, axis, dim)
    if x.data.size == 0:   # as softmax
        return x * 0
    return LogSoftmax.apply(x, axis=axis)


def embedding(idx, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (V, C) at integer ``idx`` (...): output (..., C).

    The backward scatter-adds into the table, so repeated indices accumulate.
    ``padding_idx`` (in [-V, V), negative counts from the end), as PyTorch's:
    that row receives no gradient.
    """
    if getattr(idx, "_vmap_batched", False) or getattr(weight, "_vmap_batched", False):   # inside vmap
        from ..func.batching_fns import embedding as batched
        return batched(idx, weight, padding_idx)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a (V, C) table, got shape {weight.shape}")
    i = idx.data if isinstance(idx, Tensor) else idx
    if isinstance(idx, Tensor) and type(i) is not type(weight.data):
        raise backend.DeviceError(f"embedding: indices on {idx.device}, weight on {weight.device}")
    if not isinstance(idx, Tensor):  # host indices (list, ndarray) move to the weight's device, as in cross_entropy
        i = backend.to_device(idx if hasattr(idx, "shape") else np.asarray(idx), weight.device)
    if not hasattr(i, "dtype") or i.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {getattr(i, 'dtype', type(i))}")
    V = weight.shape[0]
    check_index_range("embedding", "index", i, V, source=idx if isinstance(idx, Tensor) else None)
    if padding_idx is not None:
        padding_idx = _padding_index("embedding", padding_idx, V)
    return Embedding.apply(weight, idx=i, padding_idx=padding_idx)


def _padding_index(name: str, padding_idx, V: int) -> int:
    """``padding_idx`` in [-V, V) as a row number in [0, V)."""
    if not is_int(padding_idx):
        raise TypeError(f"{name}: padding_idx must be an int or None, got {type(padding_idx).__name__}")
    if not -V <= padding_idx < V:
        raise ValueError(f"{name}: padding_idx {padding_idx} is out of range for {V} embeddings "
                         f"(expected -{V} <= padding_idx < {V})")
    return int(padding_idx) % V


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    Identity when ``training`` is False or ``p`` is 0. Draws from ``generator``
    or the device's default one (``minitf.manual_seed`` makes it reproducible).
    ``p = 1`` zeroes everything (and the gradient), as PyTorch does, with no 1/(1-p).
    ``inplace=True`` (torch's fourth argument) writes the result into ``x``, the same draws.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if inplace:
        from .activation import in_place
        return in_place("dropout_", lambda a: dropout(a, p, training, generator=generator))(x)
    if x._vmap_batched and generator is None:   # inside vmap: by its randomness argument
        from ..func.batching_fns import dropout as batched
        return batched(x, p)
    if p == 1.0:
        return Dropout.apply(x, keep=backend.get_array_module(x.data).zeros(x.shape, dtype=x.dtype))
    gen = resolve(generator, x.device, "dropout")
    keep = (gen.random(x.shape, dtype=x.dtype) >= p) * x.dtype.type(1.0 / (1.0 - p))
    return Dropout.apply(x, keep=keep)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """One-hot encoding of integer class indices, as ``torch.nn.functional.one_hot``.

    tensor: (...) non-negative integers; ``num_classes=-1`` means
    max(tensor) + 1. Returns an int64 tensor (..., num_classes) with a 1 at
    each index, on the input's device. Not differentiable (indices have no
    gradient).
    """
    t = tensor.data if isinstance(tensor, Tensor) else backend.to_device(np.asarray(tensor), "cpu")
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class indices must be integers, got {t.dtype}")
    if not is_int(num_classes) or num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be a non-negative int or -1, got {num_classes!r}")
    xp = backend.get_array_module(t)
    lo, hi = (int(t.min()), int(t.max())) if t.size else (0, -1)
    if lo < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {lo}")
    if num_classes == -1:
        if not t.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor: pass num_classes")
        num_classes = hi + 1
    elif hi >= num_classes:
        raise ValueError(f"one_hot: class value {hi} is out of range for num_classes={num_classes}")
    out = (t[..., None] == xp.arange(int(num_classes))).astype(np.int64)
    return Tensor._make(out, None)
