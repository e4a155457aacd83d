"""Loss functions: cross_entropy (class indices or probabilities, weights, label
smoothing), nll_loss and mse_loss, with PyTorch's names, arguments and reductions.

The layout is PyTorch's: input (C,), (N, C) or (N, C, d1, ..., dk), the class
dim at index 1 (:mod:`minitf.ops.class_layout`, which moves it last for the
row-wise code below). A language model's (B, T, V) logits are flattened by the
caller: ``cross_entropy(logits.reshape(-1, V), targets.reshape(-1))``.

Every cross-entropy variant is one weighted sum over log-probabilities,

    loss_i = - sum_c A_ic log p_ic,        p_i = softmax(z_i),

with A_ic = (1 - eps) w_{y_i} [c = y_i] + (eps / C) w_c for a class index y_i
(A_i = 0 when y_i is ``ignore_index``) and A_ic = w_c ((1 - eps) t_ic + eps / C)
for probabilities t_i; w is 1 without ``weight``. Its gradient is

    d loss_i / d z_ic = p_ic sum_c' A_ic' - A_ic.

``reduction="mean"`` divides the sum by sum_i w_{y_i} over the non-ignored rows
(PyTorch's weighted mean) for class indices, by N for probabilities.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ..errors import DtypeError, DtypeNotImplemented
from ._util import as_tensor, check_index_range, differentiable
from .arithmetic import mul, sub
from .class_layout import check_has_class_dim, class_last, index_shape, index_target_shape, num_classes
from .reduction import mean, sum
from .nn import CrossEntropy, _stable_exp

_REDUCTIONS = ("mean", "sum", "none")


def _check_broadcast(name, input, target):
    """PyTorch's rule for the regression losses: shapes that only broadcast work, with a warning
    (usually a mistake: (N, 1) against (N,) gives (N, N)); shapes that do not broadcast are an error."""
    if target.shape == input.shape:
        return
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(f"{name}: input of shape {input.shape} and target of shape {target.shape} "
                         f"do not broadcast") from None
    warnings.warn(f"{name}: target shape {target.shape} differs from input shape {input.shape}; they are "
                  f"broadcast, which is likely not what you want", UserWarning, stacklevel=3)


def _check_reduction(name: str, reduction) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _reduce_backward(g, reduction, denom, n, valid=None):
    """The per-row upstream gradient (n,) of a reduced loss: g, g / denom, or g itself per row;
    0 at the rows ``valid`` (a bool (n,) or None) leaves out, ignore_index's, also for an inf or
    NaN g (a select: torch's kernels skip those rows).

    A mean over nothing (denom 0, every target ignored) has a NaN value but
    passes zero gradient, as PyTorch: an all-padding batch leaves the
    parameters alone."""
    xp = backend.get_array_module(g)
    if reduction == "none":
        gl = g.reshape(n)
    else:
        scale = g if reduction == "sum" else (g / denom if denom else g * 0)
        gl = xp.broadcast_to(xp.asarray(scale, dtype=g.dtype).reshape(1), (n,))
    return gl if valid is None else xp.where(valid, gl, g.dtype.type(0))   # (an (n,) select: cheap)


def _reduce_forward(xp, per_row, reduction, denom, lead):
    if reduction == "none":
        return per_row.reshape(lead)
    total = per_row.sum()
    if reduction == "sum":
        return total
    return total / denom if denom else xp.asarray(float("nan"), dtype=per_row.dtype)


class WeightedCrossEntropy(Function):
    """loss_i = -sum_c A_ic log softmax(z_i)_c, reduced; see the module docstring."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, logits, *soft, coef, reduction, denom, lead, smoothing, valid=None):
        xp = backend.get_array_module(logits)
        self.valid = valid   # the rows not ignored (class-index targets), or None
        shifted, e, s = _stable_exp(logits, -1)
        logp = shifted - xp.log(s)
        per_row = -(coef * logp).sum(axis=-1)
        self.p, self.coef, self.reduction, self.denom = e / s, coef, reduction, denom
        self.logp, self.w_soft = (logp, soft[1]) if len(soft) == 2 else (None, None)
        self.smoothing = smoothing
        return _reduce_forward(xp, per_row, reduction, denom, lead)

    def backward(self, g):  # dz_ic = gl_i (p_ic sum_c' A_ic' - A_ic)
        n = self.p.shape[0]
        gl = _reduce_backward(g, self.reduction, self.denom, n, self.valid)[:, None]
        dz = (self.p * self.coef.sum(axis=-1, keepdims=True) - self.coef) * gl
        if self.logp is None:
            return (dz,)
        # probability targets that require grad: d loss_i / d t_ic = -(1 - eps) w_c log p_ic
        return dz, -(1 - self.smoothing) * self.w_soft * self.logp * gl, None


def _host_or_tensor_array(name, x, like: Tensor):
    a = x.data if isinstance(x, Tensor) else x
    if isinstance(x, Tensor) and type(a) is not type(like.data):
        raise backend.DeviceError(f"{name}: input on {like.device}, targets on {x.device}")
    if not isinstance(x, Tensor):
        a = backend.to_device(np.asarray(a), like.device)
    return a


def _class_weight(name, weight, logits):
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else backend.to_device(np.asarray(weight), logits.device)
    if type(w) is not type(logits.data):
        raise backend.DeviceError(f"{name}: weight on {backend.device_of(w)}, input on {logits.device}")
    C = logits.shape[-1]
    if tuple(w.shape) != (C,):
        raise ValueError(f"{name}: weight must have shape ({C},) (one per class), got {tuple(w.shape)}")
    return w.astype(logits.dtype, copy=False)


def _check_indices(name, t, C, ignore_index, targets):
    check_index_range(name, "target", t, C, ignore=ignore_index,
                      source=targets if isinstance(targets, Tensor) else None)


def _soft_cross_entropy_weight_grad(flat, targets, weight, eps, reduction, lead):
    """Probability targets with a weight that requires grad: -sum_c w_c q_c log_softmax(x)_c per row,
    q = (1 - eps) t + eps / C, in recorded ops so that w (and t, and x) get their gradients, as torch."""
    from .nn import log_softmax
    C = flat.shape[-1]
    q = targets.reshape((-1, C)).to(dtype=flat.dtype) * (1 - float(eps)) + float(eps) / C
    per_row = -(weight.to(dtype=flat.dtype).reshape((1, C)) * q * log_softmax(flat, -1)).sum(-1)
    if reduction == "none":
        return per_row.reshape(lead)
    total = per_row.sum()
    return total if reduction == "sum" else total / flat.shape[0]   # mean: over rows, as torch for probabilities


def _smoothing_in_the_weight(flat, weight, valid, t1, nll, eps, reduction, lead):
    """Class indices, label smoothing and a weight with a tangent (forward AD): torch's composition
    (1 - eps) nll + eps / C smooth, where ``nll`` (the loss without smoothing) is not differentiable
    in the weight, as torch's, and smooth is: -sum_c w_c log_softmax(x)_c per row not ignored, its
    sum, or its mean over the targets' weights (sum_i w_{y_i}), which are differentiable in w."""
    from .nn import log_softmax
    xp = backend.get_array_module(flat.data)
    n, C = flat.shape
    w = weight.to(dtype=flat.dtype).reshape((1, C))
    keep = valid.astype(flat.dtype)
    rows = -(log_softmax(flat, -1) * w).sum(-1) * Tensor._make(keep, None)
    if reduction == "none":
        smooth = rows.reshape(lead)
    elif reduction == "sum":
        smooth = rows.sum()
    else:
        picked = xp.zeros((n, C), dtype=flat.dtype)   # row i: the one-hot of its target (0 where ignored)
        picked[xp.arange(n), xp.where(valid, t1, 0)] = keep
        smooth = rows.sum() / (w * Tensor._make(picked, None)).sum()
    return nll * (1 - float(eps)) + smooth * (float(eps) / C)


def cross_entropy(logits: Tensor, targets, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of ``targets`` under softmax(``logits``), as ``torch.nn.functional.cross_entropy``.

    logits: (C,), (N, C) or (N, C, d1, ..., dk), the class dim at index 1 (torch's layout; a
    (B, T, V) language-model output is flattened first: ``logits.reshape(-1, V)``).
    targets: integer class indices in [0, C) or ``ignore_index``, of shape () (or (1,)), (N,) or
    (N, d1, ..., dk); or float class probabilities of the logits' shape (no ``ignore_index``).
    weight: (C,) class weights or None. reduction: 'mean' (for class indices the weighted mean
    over non-ignored targets), 'sum', or 'none' (shape (), (N,) or (N, d1, ..., dk)).
    label_smoothing: eps in [0, 1], mixing the target with the uniform distribution:
    (1 - eps) target + eps / C.

    Fused log-softmax + NLL: finite for any finite logits. If every target is
    ignored the mean is NaN (0/0) and the gradient is exactly zero.
    """
    _check_reduction("cross_entropy", reduction)
    if getattr(logits, "_vmap_batched", False) or getattr(targets, "_vmap_batched", False):
        from ..func.batching_fns import cross_entropy as per_example   # inside vmap's batched run
        return per_example(logits, targets, weight, ignore_index, reduction, label_smoothing)
    check_has_class_dim("cross_entropy", logits)
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _host_or_tensor_array("cross_entropy", targets, logits)
    eps = logits.dtype.type(label_smoothing)
    if t.dtype.kind == "f" and tuple(t.shape) == logits.shape:  # probabilities, one row per position
        if ignore_index != -100:
            raise ValueError("cross_entropy: ignore_index is not supported for floating point target "
                             "(probabilities)")
        if isinstance(targets, Tensor):
            targets = class_last(targets)
        return _soft_cross_entropy(class_last(logits), class_last(t), targets, weight, eps, reduction)
    if tuple(t.shape) == logits.shape and t.dtype.kind in "iu":
        raise DtypeError(f"cross_entropy: Expected floating point type for target with class probabilities, "
                         f"got {t.dtype}: targets of the logits' shape {logits.shape} are probabilities; class "
                         f"indices have the shape {index_shape(logits.shape)}")
    lead = index_target_shape("cross_entropy", logits.shape, tuple(t.shape), soft=True)
    _check_index_dtype("cross_entropy", t, logits.shape)
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise RuntimeError("cross_entropy: weight requires grad, but with class-index targets the loss is not "
                           "differentiable in the weight (as PyTorch); pass weight.detach(), or probability targets")
    _check_indices("cross_entropy", t, num_classes(logits), ignore_index, targets)
    return _index_cross_entropy(class_last(logits), t.reshape(-1), weight, ignore_index, reduction, eps, lead)


def _check_index_dtype(name, t, shape):
    """Class-index targets are integers (torch: Long or Byte); cross_entropy's float targets are
    probabilities, of the input's shape."""
    if t.dtype.kind == "f":
        hint = (f"; float targets are class probabilities, of the input's shape {shape}"
                if name == "cross_entropy" else "")
        raise DtypeError(f"{name}: expected target dtype to be Long or Byte, but got {t.dtype}: targets of "
                         f"shape {tuple(t.shape)} must be integers (class indices){hint}")
    if t.dtype.kind not in "iu":
        raise DtypeError(f"{name}: targets must be integer class indices"
                         f"{' or float probabilities' if name == 'cross_entropy' else ''}, got {t.dtype}")


def _soft_cross_entropy(logits, t, targets, weight, eps, reduction):
    """Probability targets ``t`` (an array; ``targets`` the caller's, a Tensor or not) of the
    shape of ``logits`` (..., C), the class dim already last."""
    C, lead = logits.shape[-1], logits.shape[:-1]
    flat = logits if logits.ndim == 2 else logits.reshape((-1, C))
    w = _class_weight("cross_entropy", weight, logits)
    xp = backend.get_array_module(logits.data)
    if isinstance(weight, Tensor) and differentiable(weight):  # torch differentiates the weight here
        soft_t = targets if isinstance(targets, Tensor) else Tensor._make(t, None)
        return _soft_cross_entropy_weight_grad(flat, soft_t, weight, eps, reduction, lead)
    t2 = t.reshape(-1, C).astype(logits.dtype, copy=False)
    w_row = xp.ones((1, C), dtype=logits.dtype) if w is None else w.reshape(1, C)
    coef = w_row * (t2 * (1 - eps) + eps / C)
    soft = ()
    if isinstance(targets, Tensor) and differentiable(targets):
        soft = (targets if targets.ndim == 2 else targets.reshape((-1, C)), Tensor._make(w_row, None))
    return WeightedCrossEntropy.apply(flat, *soft, coef=coef, reduction=reduction,
                                      denom=flat.shape[0], lead=lead, smoothing=float(eps))


def _index_cross_entropy(logits, t1, weight, ignore_index, reduction, eps, lead):
    """Class indices ``t1`` (rows,) (checked) for ``logits`` (..., C), the class dim already last;
    'none' gives ``lead``."""
    C = logits.shape[-1]
    flat = logits if logits.ndim == 2 else logits.reshape((-1, C))
    w = _class_weight("cross_entropy", weight, logits)
    xp = backend.get_array_module(logits.data)
    if eps and isinstance(weight, Tensor) and differentiable(weight):   # (forward AD: a weight with a tangent)
        nll = _index_cross_entropy(flat, t1, weight.detach(), ignore_index, reduction, eps * 0, lead)
        return _smoothing_in_the_weight(flat, weight, t1 != ignore_index, t1, nll, eps, reduction, lead)
    if w is None and eps == 0 and reduction == "mean":  # the training loop's case: the fused fast path
        return CrossEntropy.apply(flat, Tensor._make(t1, None), ignore_index=ignore_index)
    n = t1.shape[0]
    valid = t1 != ignore_index
    safe = xp.where(valid, t1, 0)
    w_t = xp.ones(n, dtype=logits.dtype) if w is None else w[safe]
    w_t = w_t * valid
    coef = xp.zeros((n, C), dtype=logits.dtype)
    coef[xp.arange(n), safe] = (1 - eps) * w_t
    if eps:
        w_row = xp.ones((1, C), dtype=logits.dtype) if w is None else w.reshape(1, C)
        coef += (eps / C) * w_row * valid[:, None]
    denom = float(w_t.sum())
    return WeightedCrossEntropy.apply(flat, coef=coef, reduction=reduction, denom=denom, lead=lead,
                                      smoothing=float(eps), valid=valid)


class NLLLoss(Function):
    """loss_i = -w_{y_i} x_{i, y_i}, reduced; x: (N, C) log-probabilities."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, w_t, rows, t, reduction, denom, lead, valid=None):
        xp = backend.get_array_module(x)
        per_row = -w_t * x[rows, t]
        self.shape, self.w_t, self.rows, self.t, self.valid = x.shape, w_t, rows, t, valid
        self.reduction, self.denom = reduction, denom
        return _reduce_forward(xp, per_row, reduction, denom, lead)

    def backward(self, g):  # d loss_i / d x_ic = -w_{y_i} [c = y_i] gl_i
        xp = backend.get_array_module(g)
        gl = _reduce_backward(g, self.reduction, self.denom, self.shape[0], self.valid)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        dx[self.rows, self.t] = -self.w_t * gl
        return (dx,)


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities, as ``torch.nn.functional.nll_loss``.

    input: (C,), (N, C) or (N, C, d1, ..., dk) log-probabilities (e.g. from
    ``log_softmax(z, 1)``), the class dim at index 1, as torch; target: (), (N,) or
    (N, d1, ..., dk) integers in [0, C) or ``ignore_index``; weight: (C,) or None.
    reduction: 'mean' (divides by the sum of the targets' weights), 'sum' or 'none'
    (the target's shape). ``nll_loss(log_softmax(z, 1), t)`` equals ``cross_entropy(z, t)``.
    """
    _check_reduction("nll_loss", reduction)
    if getattr(input, "_vmap_batched", False) or getattr(target, "_vmap_batched", False):
        from ..func.batching_fns import nll_loss as per_example   # inside vmap's batched run
        return per_example(input, target, weight, ignore_index, reduction)
    check_has_class_dim("nll_loss", input)
    t = _host_or_tensor_array("nll_loss", target, input)
    lead = index_target_shape("nll_loss", input.shape, tuple(t.shape))
    _check_index_dtype("nll_loss", t, input.shape)
    _check_indices("nll_loss", t, num_classes(input), ignore_index, target)
    x = class_last(input)
    C = x.shape[-1]
    xp = backend.get_array_module(input.data)
    w = _class_weight("nll_loss", weight, x)
    t1 = t.reshape(-1)
    valid = t1 != ignore_index
    safe = xp.where(valid, t1, 0)
    w_t = (xp.ones(t1.shape[0], dtype=input.dtype) if w is None else w[safe]) * valid
    flat = x if x.ndim == 2 else x.reshape((-1, C))
    return NLLLoss.apply(flat, w_t=w_t, rows=xp.arange(t1.shape[0]), t=safe, reduction=reduction,
                         denom=float(w_t.sum()), lead=lead, valid=valid)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)^2, reduced ('mean', 'sum' or 'none'), as PyTorch's.

    input, target: the same shape (differentiable in both). Shapes that
    only broadcast are accepted with a warning, as PyTorch does, since they
    are usually a mistake ((N, 1) against (N,) gives an (N, N) result).
    """
    _check_reduction("mse_loss", reduction)
    target = as_tensor(target, input)
    if "c" in (input.data.dtype.kind, target.data.dtype.kind):   # (sub and mul take complex: refused here, as torch)
        raise DtypeNotImplemented("mse_loss: not implemented for complex tensors (as torch); compare "
                                  "view_as_real(input) with view_as_real(target)")
    _check_broadcast("mse_loss", input, target)
    d = sub(input, target)
    sq = mul(d, d)
    from ..grad_fn_names import named
    return named(sq if reduction == "none" else (mean(sq) if reduction == "mean" else sum(sq)), "MseLossBackward0",
                 input, target if isinstance(target, Tensor) else input)
