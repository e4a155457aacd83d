"""linear_cross_entropy: a linear head and cross-entropy in one op, chunked over the rows.

    loss = cross_entropy(linear(x, W, b), target)        x: (N, H), W: (C, H) -> logits (N, C)

A language model's head has C = the vocabulary (50257 for GPT-2) and N = B T rows:
the (N, C) logits, their softmax and their gradient are the largest arrays of a step.
The chunked op (``options=LinearCrossEntropyOptions(...)``) makes the logits of
``chunk`` rows at a time, uses them and drops them:

    forward, per chunk:  z = x_k W^T + b,  p = softmax(z),  loss_k,  dz = gl (p sum_c A - A)
                         dx_k = dz W,  dW += dz^T x_k,  db += sum dz

where A_ic is the weight of log p_ic in the loss (:mod:`minitf.ops.loss`'s notation:
targets, class weights, label smoothing, ignored rows). With a scalar reduction the
upstream gradient is one number, known up to that factor: dx, dW and db are made
during the forward (the same three products as linear + cross_entropy, no
recomputation) and backward only scales them, in place as torch's chunked op does (a
second backward then raises, unless ``allow_retain_graph=True``, which scales copies).
With ``reduction="none"`` each row has
its own factor: backward makes each chunk's logits again. Either way no (N, C) array
exists. ``create_graph=True`` differentiates the unchunked composition instead
(:func:`_reference`), which holds all the logits, as higher-order gradients need.

The K-dimensional form (torch's ``out_features``): W: (C, d_1, ..., d_K, H), logits
(N, C, d_1, ..., d_K), the softmax over C at each of the D = d_1 ... d_K positions of a
row; the target is (N, d_1, ..., d_K) class indices or (N, C, d_1, ..., d_K)
probabilities, as torch's. ``options=None`` is torch's reference path: that composition,
``cross_entropy(linear(x, W), target)``, the logits (N, C, D) in torch's layout.
"""
from __future__ import annotations

import math

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..tensor import Tensor
from ..errors import ShapeError
from ..tensor import _check_dtype
from ._util import check_same_dtype
from .loss import _check_indices, _check_reduction, _host_or_tensor_array, cross_entropy
from .rows import row_sum


def _logits_2d(xp, x, w, b, D):
    """Rows x (n, H) -> their logits as positions (n D, C): the class axis last."""
    z = x @ w.T
    if b is not None:
        z += b
    n, C = z.shape[0], z.shape[1] // D
    return z if D == 1 else xp.ascontiguousarray(z.reshape(n, C, D).transpose(0, 2, 1)).reshape(n * D, C)


def _rows_layout(dz, n, D):
    """(n D, C) position gradients -> the (n, C D) layout of the logits."""
    return dz if D == 1 else dz.reshape(n, D, -1).transpose(0, 2, 1).reshape(n, -1)


class LinearCrossEntropy(Function):
    """The chunked op; see the module docstring. Inputs x (N, H), W (C D, H), [b (C D,)], [soft t]."""
    saves_output = False   # backward never reads the output

    def saved_inputs(self, inputs):   # the precomputed gradients need no input again
        return () if self.grads is not None else range(len(inputs))

    def forward(self, x, w, *rest, has_bias, soft, t, cw, eps, ignore_index, reduction, chunk, D, lead,
                need, acc, retain):
        xp = backend.get_array_module(x)
        self.dtypes = [a.dtype for a in (x, w, *rest)]
        if acc is not None:
            x, w, rest = x.astype(acc, copy=False), w.astype(acc, copy=False), [a.astype(acc, copy=False)
                                                                                for a in rest]
        b = rest[0] if has_bias else None
        self.arrays, self.grads, self.need, self.has_bias, self.t_shape = (x, w, b), None, need, has_bias, t.shape
        self.retain = retain
        N, C = x.shape[0], w.shape[0] // D
        if soft:   # probabilities (N, C, D) as positions (N D, C); the mean is over positions
            t = t.astype(x.dtype, copy=False)
            self.t = t.reshape(N, C, D).transpose(0, 2, 1).reshape(N * D, C) if D > 1 else t.reshape(N, C)
            denom = xp.asarray(N * D, dtype=x.dtype)
        else:      # class indices (N D,); the mean divides by the valid positions' class weights
            self.t = t.reshape(-1)
            valid = self.t != ignore_index
            w_t = valid if cw is None else cw[xp.where(valid, self.t, 0)] * valid
            denom = w_t.sum(dtype=x.dtype)
        self.cw = None if cw is None else cw.astype(x.dtype, copy=False)
        self.eps, self.ignore_index, self.reduction, self.chunk, self.D, self.lead = (
            eps, ignore_index, reduction, chunk, D, lead)
        scale = 1 / xp.where(denom > 0, denom, 1) if reduction == "mean" else xp.ones((), dtype=x.dtype)
        if reduction != "none" and any(need) and autograd.is_grad_enabled():
            # the gradients for an upstream gradient of 1, made now (see the module docstring)
            losses, *grads = self._sweep(xp, need, lambda lo, hi: scale)
            self.grads, self.arrays = grads, None
        else:
            losses = self._sweep(xp, (False,) * 4, None)[0]
        per_row = xp.concatenate(losses) if losses else xp.zeros(0, dtype=x.dtype)
        if reduction == "none":
            return per_row.reshape(lead).astype(self.dtypes[0], copy=False)
        total = per_row.sum()
        if reduction == "mean":
            total = xp.where(denom > 0, total * scale, x.dtype.type(np.nan))
        return xp.asarray(total, dtype=self.dtypes[0])

    def _sweep(self, xp, need, gl_of):
        """One pass over the chunks: (per-position losses, dx, dW, db, dt) for the inputs in
        ``need`` (x, W, b, soft t), with gl_of(lo, hi) the upstream factor of rows lo..hi."""
        x, w, b = self.arrays
        N, D = x.shape[0], self.D
        dx = xp.empty_like(x) if need[0] else None
        dw = db = None   # the first chunk's products, then the later ones added in
        dt = xp.empty_like(self.t) if need[3] else None
        losses = []
        for lo in range(0, N, self.chunk):
            hi = min(lo + self.chunk, N)
            z = _logits_2d(xp, x[lo:hi], w, b, D)
            gl = None if gl_of is None else gl_of(lo, hi)
            loss, dz, dlogp = self._chunk(xp, z, lo * D, hi * D, gl, need[3])
            losses.append(loss)
            if dz is None:
                continue
            if dt is not None:
                dt[lo * D:hi * D] = dlogp
            dz = _rows_layout(dz, hi - lo, D)
            if dx is not None:
                xp.matmul(dz, w, out=dx[lo:hi])
            if need[1]:
                dw = dz.T @ x[lo:hi] if dw is None else xp.add(dw, dz.T @ x[lo:hi], out=dw)
            if need[2]:
                db = dz.sum(axis=0) if db is None else xp.add(db, dz.sum(axis=0), out=db)
        if N == 0:   # no chunk ran: zero gradients
            dw = xp.zeros_like(w) if need[1] else None
            db = xp.zeros_like(b) if need[2] else None
        return losses, dx, dw, db, dt

    def _chunk(self, xp, z, lo, hi, gl, need_t):
        """Positions lo..hi with logits z (m, C): their losses, dz = gl d loss / dz (or None
        without gl) and, for soft targets that need it, gl d loss / dt."""
        m, C = z.shape
        eps, cw = self.eps, self.cw
        shifted = z - z.max(axis=-1, keepdims=True)
        e = xp.exp(shifted)
        s = row_sum(xp, e)
        log_s = xp.log(s)
        if gl is not None:
            gl = xp.broadcast_to(xp.asarray(gl, dtype=z.dtype).reshape(-1), (m,))[:, None]
        if self.t.ndim == 2:   # probabilities: A = w ((1 - eps) t + eps / C)
            logp = shifted - log_s
            coef = self.t[lo:hi] * (1 - eps) + eps / C
            if cw is not None:
                coef = coef * cw
            loss = -row_sum(xp, coef, logp)[:, 0]
            if gl is None:
                return loss, None, None
            dz = (e / s * row_sum(xp, coef) - coef) * gl
            dt = None
            if need_t:
                dt = -(1 - eps) * logp * gl
                if cw is not None:
                    dt *= cw
            return loss, dz, dt
        t = self.t[lo:hi]   # class indices: A = (1 - eps) w_y [c = y] + (eps / C) w_c, 0 when ignored
        valid = t != self.ignore_index
        safe = xp.where(valid, t, 0)
        rows = xp.arange(m)
        a_y = (1 - eps) * valid.astype(z.dtype)
        if cw is not None:
            a_y = a_y * cw[safe]
        loss = a_y * (log_s[:, 0] - shifted[rows, safe])
        a_all = a_y
        if eps:
            u = (eps / C) * valid.astype(z.dtype)
            sum_logp = (shifted - log_s).sum(axis=-1) if cw is None else (shifted - log_s) @ cw
            loss = loss - u * sum_logp
            a_all = a_y + u * (C if cw is None else cw.sum())
        if gl is None:
            return loss, None, None
        dz = e   # (in place: e is not needed again) gl (p sum_c A - A)
        dz *= a_all[:, None] * gl / s
        dz[rows, safe] -= a_y * gl[:, 0]
        if eps:
            dz -= (u[:, None] * gl) * (1 if cw is None else cw)
        return loss, dz, None

    def backward(self, g):
        xp = backend.get_array_module(g)
        if self.grads is not None:
            if self.grads == "consumed":
                raise RuntimeError("linear_cross_entropy: a second backward through the chunked op, whose first "
                                   "backward consumed the gradients it made in the forward; pass "
                                   "LinearCrossEntropyOptions(allow_retain_graph=True) to keep them")
            if self.retain:
                dx, dw, db, dt = (None if d is None else d * g for d in self.grads)
            else:   # scaled in place, torch's default: no second gradient-sized copy
                dx, dw, db, dt = (None if d is None else xp.multiply(d, g, out=d) for d in self.grads)
                self.grads = "consumed"
        else:   # reduction "none": each position's factor is g's, the logits made again
            gl = g.reshape(-1).astype(self.arrays[0].dtype, copy=False)
            D = self.D
            dx, dw, db, dt = self._sweep(xp, self.need, lambda lo, hi: gl[lo * D:hi * D])[1:]
        if dt is not None:   # positions (N D, C) -> the target's layout (N, C, d_1, ...)
            C = dt.shape[1]
            dt = dt.reshape(-1, self.D, C).transpose(0, 2, 1).reshape(self.t_shape)
        grads = [dx, dw] + ([db] if self.has_bias else []) + ([dt] if self.need[3] else [])
        return tuple(None if d is None else d.astype(k, copy=False) for d, k in zip(grads, self.dtypes))

    def backward_graph(self, g):   # create_graph=True: the unchunked composition, recorded
        from .composed import vjp
        return vjp(_reference, self, g)


def _composed(x, w, b, target, weight, *, soft, ignore_index, reduction, eps, D, lead):
    """cross_entropy(linear(x, w, b), target) in recorded ops: x (N, H), w (C D, H), b (C D,);
    target (N, C, D) probabilities or (N, D) indices (a Tensor or an array)."""
    from .linear import linear
    N, C = x.shape[0], w.shape[0] // D
    z = linear(x, w, b)
    if D > 1:   # torch's K-dim layout, which cross_entropy takes: logits (N, C, D), the class dim 1
        z = z.reshape((N, C, D))
    target = target.reshape(((N, C) if soft else (N,)) + ((D,) if D > 1 else ()))
    out = cross_entropy(z, target, weight=weight, ignore_index=-100 if soft else ignore_index,
                        reduction=reduction, label_smoothing=eps)
    return out.reshape(lead) if reduction == "none" else out


def _reference(x, w, *rest, has_bias, soft, t, cw, eps, ignore_index, reduction, chunk, D, lead, need, acc,
               retain):
    """The chunked op's function, unchunked (its ``backward_graph``): the same inputs and parameters."""
    b = rest[0] if has_bias else None
    target = rest[-1] if need[3] else Tensor._make(t, None)
    weight = None if cw is None else Tensor._make(cw, None)
    return _composed(x, w, b, target, weight, soft=soft, ignore_index=ignore_index, reduction=reduction,
                     eps=eps, D=D, lead=lead)


def _class_weight_array(weight, like: Tensor, C: int):
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else backend.to_device(np.asarray(weight), like.device)
    if type(w) is not type(like.data):
        raise backend.DeviceError(f"linear_cross_entropy: weight on {backend.device_of(w)}, input on {like.device}")
    if tuple(w.shape) != (C,):
        raise ShapeError(f"linear_cross_entropy: weight must have shape ({C},) (one per class), "
                         f"got {tuple(w.shape)}")
    return w


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target, *, linear_bias: Tensor | None = None,
                         weight=None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, as torch 2.13's
    ``torch.nn.functional.linear_cross_entropy``; chunked over the rows with ``options``.

    input: (N, H) or (H,). linear_weight: (C, H), or (C, d_1, ..., d_K, H) for the
    K-dimensional loss (logits (N, C, d_1, ..., d_K), batched input only).
    linear_bias: (C,) or (C, d_1, ..., d_K). target: class indices (N,) / () /
    (N, d_1, ..., d_K), or probabilities of the logits' shape (N, C, d_1, ..., d_K) / (C,).
    weight: (C,) class weights. reduction: 'mean', 'sum' or 'none' (the output then has
    the target's shape without C). ignore_index: None (means -100; refused for
    probabilities), label_smoothing in [0, 1]: as :func:`~minitf.functional.cross_entropy`.

    options: None computes the logits and calls cross_entropy (torch's reference path); a
    :class:`~minitf.nn.LinearCrossEntropyOptions` runs the chunked op, which never holds the
    (N, C) logits or their gradient (see :mod:`minitf.ops.linear_cross_entropy`). Both give
    the same values and gradients (to rounding), for every argument combination; a class
    ``weight`` that requires grad takes the reference path (torch's differentiates it).
    """
    name = "linear_cross_entropy"
    _check_reduction(name, reduction)
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim not in (1, 2):
        raise ShapeError(f"{name}: expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise ShapeError(f"{name}: expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    H = input.shape[-1]
    if linear_weight.shape[-1] != H:
        raise ShapeError(f"{name}: expected equal input and linear_weight last dimensions (in_features), "
                         f"got {H} and {linear_weight.shape[-1]}")
    C, out = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    D = math.prod(out)
    if linear_bias is not None and tuple(linear_bias.shape) != (C, *out):
        raise ShapeError(f"{name}: expected linear_bias shape {(C, *out)}, got {tuple(linear_bias.shape)}")
    if out and input.ndim == 1:
        raise ShapeError(f"{name}: K-dimensional loss (linear_weight of shape {linear_weight.shape}) needs "
                         f"batched input (N, {H}), got shape {input.shape}")
    check_same_dtype(name, input=input, linear_weight=linear_weight, linear_bias=linear_bias)
    batch = input.shape[:-1]
    logits_shape, lead = (*batch, C, *out), (*batch, *out)
    t = _host_or_tensor_array(name, target, input)
    soft = tuple(t.shape) == logits_shape   # torch's rule: the logits' shape means probabilities
    if soft:
        if ignore_index is not None:
            raise ShapeError(f"{name}: ignore_index cannot be specified when target contains probabilities")
        if t.dtype.kind != "f":
            raise TypeError(f"{name}: target of the logits' shape {logits_shape} holds probabilities and must "
                            f"be floating point, got {t.dtype}")
    else:
        if t.dtype.kind not in "iu":
            raise TypeError(f"{name}: target must be integer class indices of shape {lead} or probabilities "
                            f"of shape {logits_shape}, got {t.dtype} of shape {tuple(t.shape)}")
        if tuple(t.shape) != lead:
            raise ShapeError(f"{name}: logits of shape {logits_shape} need target of shape {lead} (class "
                             f"indices) or {logits_shape} (probabilities), got {tuple(t.shape)}")
    ii = -100 if ignore_index is None else int(ignore_index)
    if not soft:
        _check_indices(name, t, C, ii, target)
    cw = _class_weight_array(weight, input, C)
    eps = float(label_smoothing)
    N = input.shape[0] if batch else 1
    x2 = input if batch else input.reshape((1, H))
    w2 = linear_weight if not out else linear_weight.reshape((C * D, H))
    b2 = linear_bias if linear_bias is None or not out else linear_bias.reshape((C * D,))
    if options is None or (isinstance(weight, Tensor) and weight.requires_grad):
        tt = target if isinstance(target, Tensor) else Tensor._make(t, None)
        return _composed(x2, w2, b2, tt, weight, soft=soft, ignore_index=ii, reduction=reduction, eps=eps,
                         D=D, lead=lead)
    from ..nn.linear_cross_entropy_options import LinearCrossEntropyOptions
    if not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(f"{name}: options must be a LinearCrossEntropyOptions or None, got {type(options).__name__}")
    acc = None if options.acc_dtype is None else _check_dtype(options.acc_dtype)
    soft_t = soft and isinstance(target, Tensor) and target.requires_grad
    need = (input.requires_grad, linear_weight.requires_grad,
            linear_bias is not None and linear_bias.requires_grad, soft_t)
    inputs = (x2, w2) + ((b2,) if b2 is not None else ()) + ((target,) if soft_t else ())
    return LinearCrossEntropy.apply(*inputs, has_bias=b2 is not None, soft=soft, t=t, cw=cw, eps=eps,
                                    ignore_index=ii, reduction=reduction,
                                    chunk=options.chunk_rows(N, H, C * D), D=D, lead=lead, need=need,
                                    acc=None if acc == input.dtype else acc, retain=options.allow_retain_graph)
