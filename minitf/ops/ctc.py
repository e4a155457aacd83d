"""The connectionist temporal classification loss (Graves et al. 2006), as torch's F.ctc_loss.

For one sequence: log-probabilities lp (T, C), a target l of length S, the extended target
l' = (blank, l_1, blank, l_2, ..., l_S, blank) of length 2S + 1, and y_t(s) = lp[t, l'_s].
In log space (logsumexp written lse):

    alpha_0(0) = y_0(0),  alpha_0(1) = y_0(1)
    alpha_t(s) = y_t(s) + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2)])
    beta_{T-1}(2S) = y_{T-1}(2S),  beta_{T-1}(2S-1) = y_{T-1}(2S-1)
    beta_t(s)  = y_t(s) + lse(beta_{t+1}(s), beta_{t+1}(s+1), [beta_{t+1}(s+2)])
    loss = -log p = -lse(alpha_{T-1}(2S), alpha_{T-1}(2S-1))

where the bracketed skip is allowed into an odd (label) position s >= 3 whose label differs
from the one before (torch's rule, by position: a label equal to ``blank`` is treated as a
label). Since alpha_t(s) beta_t(s) / exp(y_t(s)) sums, over s, to p at every t < T:

    d loss / d lp[t, c] = -sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) - y_t(s) + loss)

The recursions run as a Python loop over time; each step is vectorised over the batch and the
2S + 1 positions (sequences of different lengths are frozen / masked, never looped over).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _lse3(xp, a, b, c):
    return xp.logaddexp(xp.logaddexp(a, b), c)


def _shift(xp, a, k, fill):
    """a shifted by k positions along the last axis (k > 0: towards higher s), filled with ``fill``."""
    if abs(k) >= a.shape[-1]:   # (L = 1: every target empty) nothing of a is left
        return xp.full(a.shape, fill, dtype=a.dtype)
    pad = xp.full(a.shape[:-1] + (abs(k),), fill, dtype=a.dtype)
    return xp.concatenate([pad, a[..., :-k]], -1) if k > 0 else xp.concatenate([a[..., -k:], pad], -1)


class CTC(Function):
    """(T, N, C) log-probabilities -> (N,) negative log-likelihoods; params: ext (N, L) extended
    targets, il (N,) / tl (N,) host lengths, zero_infinity."""
    saves_output = False

    def forward(self, lp, ext, il, tl, zero_infinity):
        xp = backend.get_array_module(lp)
        T, N, _ = lp.shape
        L = ext.shape[1]
        rows = xp.arange(N)[:, None]
        y = lp[:, rows, ext]                                                   # (T, N, L): y_t(s)
        odd = np.arange(L) % 2 == 1
        skip = xp.asarray(odd & (np.arange(L) >= 3))[None, :] & (ext != _shift(xp, ext, 2, -1))
        il_d = xp.asarray(il)
        neg = -np.inf
        alpha = xp.full((T, N, L), neg, dtype=lp.dtype)
        a = xp.full((N, L), neg, dtype=lp.dtype)
        if T:
            a[:, :2] = y[0, :, :2]
            alpha[0] = a
        for t in range(1, T):
            new = y[t] + _lse3(xp, a, _shift(xp, a, 1, neg), xp.where(skip, _shift(xp, a, 2, neg), neg))
            a = xp.where((t < il_d)[:, None], new, a)                        # finished sequences stay
            alpha[t] = a
        end = xp.asarray(2 * tl)
        last = a[xp.arange(N), end]
        before = xp.where(end > 0, a[xp.arange(N), xp.maximum(end - 1, 0)], neg)
        nll = -xp.logaddexp(last, before)
        # no input frames: p = 1 for an empty target, 0 otherwise
        nll = xp.where(il_d == 0, xp.where(xp.asarray(tl) == 0, 0.0, np.inf), nll).astype(lp.dtype)
        self.y, self.alpha, self.skip, self.ext, self.nll = y, alpha, skip, ext, nll
        self.num_classes = lp.shape[2]
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0.0, nll).astype(lp.dtype)
        return nll

    def backward(self, g):
        # d loss_n / d lp[t, n, c] = -sum_{s: l'_s = c} exp(alpha + beta - y + loss_n), t < T_n
        y, alpha, skip, ext, nll = self.y, self.alpha, self.skip, self.ext, self.nll
        il, tl = self.params["il"], self.params["tl"]
        xp = backend.get_array_module(y)
        T, N, L = y.shape
        neg = -np.inf
        il_d, end = xp.asarray(il), xp.asarray(2 * tl)
        pos = xp.arange(L)[None, :]
        is_end = (pos == end[:, None]) | ((pos == end[:, None] - 1) & (end[:, None] > 0))
        skip_next = _shift(xp, skip, -2, False)              # s -> s + 2 allowed iff skip[s + 2]
        b = xp.full((N, L), neg, dtype=y.dtype)
        logw = xp.full((T, N, L), neg, dtype=y.dtype)
        for t in range(T - 1, -1, -1):
            rec = y[t] + _lse3(xp, b, _shift(xp, b, -1, neg), xp.where(skip_next, _shift(xp, b, -2, neg), neg))
            init = xp.where(is_end, y[t], neg)
            tt = (t - il_d + 1)[:, None]                     # 0 at the last frame of each sequence
            b = xp.where(tt == 0, init, xp.where(tt < 0, rec, neg))
            logw[t] = alpha[t] + b - y[t]
        w = -xp.exp(logw + nll[None, :, None])               # (T, N, L)
        scale = g
        if self.params["zero_infinity"]:
            scale = xp.where(xp.isinf(nll), 0.0, g)
        active = xp.arange(T)[:, None] < il_d[None, :]        # (T, N): frames inside each sequence
        w = xp.where(active[:, :, None] & (scale[None, :, None] != 0), w * scale[None, :, None], 0.0)
        onehot = (ext[:, :, None] == xp.arange(self.num_classes)[None, None, :]).astype(y.dtype)   # (N, L, C)
        grad = xp.matmul(w.transpose(1, 0, 2), onehot).transpose(1, 0, 2)                           # (T, N, C)
        return (grad.astype(y.dtype, copy=False),)


def _lengths(name, value, n, batched):
    """Host int64 (n,) lengths from an int, a sequence or an integer Tensor."""
    if isinstance(value, Tensor):
        if np.dtype(value.dtype).kind not in "iu":
            raise DtypeError(f"ctc_loss: {name} must be integers, got {value.dtype}")
        arr = value.numpy().astype(np.int64).reshape(-1)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        arr = np.array([int(value)], dtype=np.int64)
    else:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu":
            raise DtypeError(f"ctc_loss: {name} must be integers, got {value!r}")
        arr = arr.astype(np.int64).reshape(-1)
    if arr.shape != (n,):
        raise ShapeError(f"ctc_loss: {name} must have one length per batch element ({n}), got {arr.size}"
                         + ("" if batched else " (unbatched input: one length)"))
    if (arr < 0).any():
        raise ArgumentError(f"ctc_loss: expected {name} to have value at least 0, but got value {arr.min()}")
    return arr


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss, as ``torch.nn.functional.ctc_loss``.

    log_probs: (T, N, C) log-probabilities (e.g. ``log_softmax(x, -1)``), or unbatched (T, C).
    targets: (N, S) padded, or 1-D concatenated (sum(target_lengths),), or unbatched (S,); integer
    class indices in [0, C) (a label equal to ``blank`` is allowed, as torch).
    input_lengths, target_lengths: (N,) ints (a sequence or an integer Tensor; one int unbatched),
    input_lengths <= T. reduction: 'none' -> (N,) (0-d unbatched), 'sum', or 'mean' (each loss
    divided by its target length, at least 1, then the batch mean, as torch). zero_infinity:
    infinite losses (no alignment fits in the input) and their gradients become 0.

    The gradient is the derivative of the loss with respect to ``log_probs``. torch's adds
    exp(log_probs) to it on each sequence's frames, which makes no difference after a
    ``log_softmax`` (its backward removes it), the way CTC is used.
    """
    if not isinstance(log_probs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError("ctc_loss: log_probs and targets must be Tensors")
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"ctc_loss: {reduction!r} is not a valid value for reduction "
                            f"(expected one of {', '.join(_REDUCTIONS)})")
    if np.dtype(log_probs.dtype).kind != "f":
        raise DtypeError(f"ctc_loss: log_probs must be floating point, got {log_probs.dtype}")
    if np.dtype(targets.dtype).kind not in "iu":
        raise DtypeError(f"ctc_loss: targets must be integer class indices, got {targets.dtype}")
    if log_probs.ndim not in (2, 3):
        raise ShapeError(f"ctc_loss: log_probs must be (T, N, C) or unbatched (T, C), got shape {log_probs.shape}")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    T, N, C = lp.shape
    if lp.numel() == 0:
        raise ArgumentError(f"ctc_loss: log_probs tensor must not be empty, got shape {log_probs.shape}")
    if not (isinstance(blank, numbers.Integral) and 0 <= blank < C):
        raise ArgumentError(f"ctc_loss: blank must be in label range [0, {C}), got {blank!r}")
    il = _lengths("input_lengths", input_lengths, N, batched)
    tl = _lengths("target_lengths", target_lengths, N, batched)
    if (il > T).any():
        raise ArgumentError(f"ctc_loss: expected input_lengths to have value at most {T}, but got value {il.max()}")
    xp = backend.get_array_module(lp.data)
    S = int(tl.max()) if N else 0
    tgt = targets.data
    if batched and targets.ndim == 2:
        if targets.shape[0] != N or targets.shape[1] < S:
            raise ShapeError(f"ctc_loss: padded targets must be (N, S) with N = {N} and S >= the largest target "
                             f"length ({S}), got shape {targets.shape}")
        padded = tgt[:, :S]
    elif targets.ndim == 1:
        if batched and targets.shape[0] != int(tl.sum()):
            raise ShapeError(f"ctc_loss: 1-D targets must hold sum(target_lengths) = {int(tl.sum())} labels, "
                             f"got {targets.shape[0]}")
        if not batched and targets.shape[0] < S:
            raise ShapeError(f"ctc_loss: unbatched targets (S,) must hold at least target_lengths = {S} labels, "
                             f"got {targets.shape[0]}")
        if batched:   # concatenated -> padded (N, S), one gather
            offsets = np.concatenate([[0], np.cumsum(tl)[:-1]])
            # (the positions past a row's length read some label; they are replaced by blank below)
            idx = np.minimum(offsets[:, None] + np.arange(S)[None, :], max(targets.shape[0] - 1, 0))
            padded = tgt[xp.asarray(idx)] if tgt.size else xp.zeros((N, S), dtype=tgt.dtype)
        else:
            padded = tgt[None, :S]
    else:
        raise ShapeError(f"ctc_loss: targets must be (N, S) padded or 1-D concatenated"
                         f"{'' if batched else ' (unbatched: (S,))'}, got shape {targets.shape}")
    valid = np.arange(S)[None, :] < tl[:, None]                       # the real labels of each row
    padded = xp.where(xp.asarray(valid), padded, blank).astype(np.int64)
    if S and (float(padded.min()) < 0 or float(padded.max()) >= C):
        raise IndexRangeError(f"ctc_loss: target labels must be in [0, {C}), got values in "
                              f"[{int(padded.min())}, {int(padded.max())}]")
    ext = xp.full((N, 2 * S + 1), blank, dtype=np.int64)
    ext[:, 1::2] = padded
    nll = CTC.apply(lp, ext=ext, il=il, tl=tl, zero_infinity=bool(zero_infinity))
    if reduction == "sum":
        return nll.sum()
    if reduction == "mean":
        denom = Tensor._make(xp.asarray(np.maximum(tl, 1).astype(nll.dtype)), None)
        return (nll / denom).mean()
    return nll if batched else nll.squeeze(0)
