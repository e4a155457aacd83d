"""Elementwise losses, as ``torch.nn.functional``'s: l1_loss, smooth_l1_loss, huber_loss,
binary_cross_entropy, binary_cross_entropy_with_logits, kl_div.

Each is one Function computing the unreduced loss l(x, t) elementwise with its
gradients to the input x and the target t beside it; weights multiply it and
``reduction`` ('mean', 'sum', 'none'; kl_div also 'batchmean') reduces it with
the differentiable :func:`mul`, :func:`sum` and :func:`mean` ops. With
d = x - t:

    l1:         |d|
    smooth_l1:  0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta   (beta = 0: |d|)
    huber:      0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)
    bce:        -(t max(log x, -100) + (1 - t) max(log(1 - x), -100))
    bce_logits: p t softplus(-x) + (1 - t) softplus(x),  p = pos_weight (1 without)
    kl_div:     t (log t - x)  (0 where t = 0);   log_target: exp(t) (t - x)
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor
from .activation import Softplus
from .arithmetic import div, mul
from .elementwise import PiecewiseConstantScale, exp, log, sigmoid
from .loss import _check_broadcast, _check_reduction
from .reduction import mean, sum
from .shape import Where


def _const(a) -> Tensor:
    return Tensor._make(a, None)


def _full(like: Tensor, value) -> Tensor:
    return _const(backend.get_array_module(like.data).full((), value, dtype=like.dtype))


def _operands(name, input, target, float_target=False):
    """input and target as tensors; a non-float target is cast to the input's dtype (as PyTorch
    promotes), except where the loss needs probabilities (``float_target``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got dtype {input.dtype}")
    target = as_tensor(np.asarray(target, dtype=input.dtype) if isinstance(target, (list, tuple)) else target,
                       input)
    if target.dtype.kind != "f":
        if float_target:
            raise TypeError(f"{name}: target must be floating point (probabilities), got dtype {target.dtype}")
        target = Tensor._make(target.data.astype(input.dtype), None)
    if type(target.data) is not type(input.data):
        raise backend.DeviceError(f"{name}: input on {input.device}, target on {target.device}")
    return input, target


def _same_shape(name, input, target):
    if target.shape != input.shape:
        raise ValueError(f"{name}: target of shape {target.shape} must have the input's shape {input.shape}")


def _weight(name, weight, input, same_size=False):
    if weight is None:
        return None
    w = as_tensor(np.asarray(weight, dtype=input.dtype) if isinstance(weight, (list, tuple)) else weight, input)
    if same_size and w.shape != input.shape:
        raise ValueError(f"{name}: weight of shape {w.shape} must have the input's shape {input.shape}")
    try:
        if np.broadcast_shapes(w.shape, input.shape) != input.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{name}: weight of shape {w.shape} does not broadcast to the input's shape "
                         f"{input.shape}") from None
    return w


def legacy_reduction(name, size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average`` / ``reduce`` pair as a ``reduction`` (either given
    overrides it, with PyTorch's warning): reduce=False -> 'none', else size_average -> 'mean' / 'sum'."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(f"{name}: size_average and reduce are deprecated, use reduction= instead", UserWarning,
                  stacklevel=3)
    if reduce is not None and not reduce:
        return "none"
    return "mean" if size_average is None or size_average else "sum"


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return sum(loss) if reduction == "sum" else mean(loss)


class L1(Function):
    saves_inputs = saves_output = False

    def forward(self, x, t):
        d = x - t
        self.sign = sign = backend.get_array_module(d).sign(d)
        sign[d != d] = 0   # NaN: gradient 0, as torch's sgn (the loss is NaN either way)
        return backend.get_array_module(d).abs(d)   # (|-0| = +0, as torch's; d * sign(d) kept the -0)

    def backward(self, g):  # dl/dx = sign(d) (0 at d = 0), dl/dt = -sign(d)
        gx = g * self.sign
        return gx, -gx

    def backward_graph(self, g):  # sign(d) is piecewise constant: l1'' = 0, recorded on x and t (torch's)
        gx = PiecewiseConstantScale.apply(g, *self.inputs, m=self.sign)
        return gx, -gx


class SmoothL1(Function):
    """Huber with the quadratic part scaled by 1/beta: huber(d, delta) = delta smooth_l1(d, beta=delta)."""

    saves_inputs = saves_output = False

    def forward(self, x, t, beta, scaled):
        xp = backend.get_array_module(x)
        d = x - t
        ad = xp.abs(d)
        beta = d.dtype.type(beta)
        quad = ad < beta
        self.quad, self.beta, self.scaled = quad, beta, scaled
        if scaled:   # smooth_l1: 0.5 d^2 / beta, |d| - 0.5 beta
            self.dl = xp.where(quad, d / beta if beta else d, xp.sign(d))
            return xp.where(quad, 0.5 * d * d / (beta if beta else 1), ad - 0.5 * beta)
        self.dl = xp.clip(d, -beta, beta)  # huber: 0.5 d^2, delta (|d| - 0.5 delta)
        return xp.where(quad, 0.5 * d * d, beta * (ad - 0.5 * beta))

    def backward(self, g):  # smooth_l1: d / beta inside, sign(d) outside; huber: clip(d, -delta, delta)
        gx = g * self.dl
        return gx, -gx

    def backward_graph(self, g):  # d (or d / beta) inside |d| < beta, the constant outside
        x, t = self.inputs
        d = x - t
        inside = d / self.beta if self.scaled and self.beta else d
        gx = g * Where.apply(inside, _const(self.dl), cond=self.quad)
        return gx, -gx


class BinaryCrossEntropy(Function):
    saves_output = False

    def forward(self, x, t):
        xp = backend.get_array_module(x)
        with np.errstate(divide="ignore"):   # log(0) = -inf is clamped to -100, as PyTorch
            self.log_x = xp.maximum(xp.log(x), -100)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.x, self.t = x, t
        return -(t * self.log_x + (1 - t) * self.log_1mx)

    def backward(self, g):
        # dl/dx = (x - t) / max(x (1 - x), 1e-12)  (PyTorch's guard at 0 and 1);
        # dl/dt = max(log(1 - x), -100) - max(log x, -100): the derivative of the clamped loss that
        # forward returns, so +-100 at x = 0 or 1. This differs from PyTorch on purpose: it
        # differentiates the unclamped logs and gives +-inf there, which turns a target's
        # upstream gradients to inf/NaN; minitf's is finite and matches the loss's values
        xp = backend.get_array_module(g)
        x, t = self.x, self.t
        # (PyTorch's guard is the C float 1e-12, i.e. 9.9999998e-13: the same value here)
        gx = g * (x - t) / xp.maximum(x * (1 - x), x.dtype.type(np.float32(1e-12)))
        return gx, g * (self.log_1mx - self.log_x)

    def backward_graph(self, g):  # the same in Tensor ops; clamped logs and the guard are constants
        x, t = self.inputs
        guard = self.x * (1 - self.x) > np.float32(1e-12)
        den = Where.apply(x * (1 - x), _full(x, np.float32(1e-12)), cond=guard)
        return g * (x - t) / den, g * (self._clamped_log(1 - x, self.log_1mx) - self._clamped_log(x, self.log_x))

    @staticmethod
    def _clamped_log(v: Tensor, value) -> Tensor:
        """max(log v, -100) with ``value`` its forward result: where it is clamped, log is taken of 1
        (a constant branch), so log(0) never enters the graph."""
        ok = value > -100
        return Where.apply(log(Where.apply(v, _full(v, 1.0), cond=ok)), _full(v, -100.0), cond=ok)


class BinaryCrossEntropyWithLogits(Function):
    saves_output = False

    def forward(self, x, t, pos_weight):
        xp = backend.get_array_module(x)
        with backend.quiet_underflow(xp):
            e = xp.exp(-xp.abs(x))           # softplus and sigmoid from exp(-|x|): never overflow
        l1p = xp.log1p(e)
        sp = xp.maximum(x, 0) + l1p          # softplus(x) = -log(1 - sigma(x))
        self.sig = xp.maximum(x >= 0, e) / (1 + e)   # numerator 1 or e (bool max float: the float's dtype)
        # softplus(-x) = -log sigma(x), on its own: softplus(x) - x would cancel to 0 for x >> 0
        self.sp, self.sp_neg = sp, xp.maximum(-x, 0) + l1p
        self.t = t
        self.p = 1 if pos_weight is None else pos_weight.astype(x.dtype, copy=False)
        return self.p * t * self.sp_neg + (1 - t) * sp

    def backward(self, g):
        # dl/dx = (1 - t) sigma(x) - p t (1 - sigma(x));  dl/dt = p softplus(-x) - softplus(x)
        t, s, p = self.t, self.sig, self.p
        return g * ((1 - t) * s - p * t * (1 - s)), g * (p * self.sp_neg - self.sp)

    def backward_graph(self, g):
        x, t = self.inputs
        p = self.p if isinstance(self.p, int) else _const(self.p)
        s = sigmoid(x)
        inf = float("inf")
        sp, sp_neg = Softplus.apply(x, beta=1.0, threshold=inf), Softplus.apply(-x, beta=1.0, threshold=inf)
        return g * ((1 - t) * s - p * t * (1 - s)), g * (p * sp_neg - sp)


class KLDiv(Function):
    saves_output = False

    def forward(self, x, t, log_target):
        xp = backend.get_array_module(x)
        self.x, self.t, self.log_target = x, t, log_target
        if log_target:
            self.et = xp.exp(t)
            return self.et * (t - x)
        self.zero = t == 0
        self.log_t = xp.log(xp.where(self.zero, 1, t).astype(t.dtype, copy=False))   # xlogy: 0 log 0 = 0
        return t * self.log_t - t * x

    def backward(self, g):
        if self.log_target:  # dl/dx = -exp(t), dl/dt = exp(t) (t - x + 1)
            return -g * self.et, g * self.et * (self.t - self.x + 1)
        # dl/dx = -t;  dl/dt = log t + 1 - x, set to 0 where t = 0. This differs from PyTorch on
        # purpose: its xlogy backward gives NaN there (the true one-sided derivative is -inf),
        # and one zero probability in a target that requires grad (a teacher's or a learned
        # distribution) would make every upstream gradient NaN; 0 leaves them usable
        xp = backend.get_array_module(g)
        gt = xp.where(self.zero, 0, g * (self.log_t + 1 - self.x)).astype(g.dtype, copy=False)
        return -g * self.t, gt

    def backward_graph(self, g):
        x, t = self.inputs
        if self.log_target:
            et = exp(t)
            return -g * et, g * et * (t - x + 1)
        log_t = log(Where.apply(_full(t, 1.0), t, cond=self.zero))   # t = 0 never reaches log
        return -g * t, Where.apply(_full(g, 0.0), g * (log_t + 1 - x), cond=self.zero)


def l1_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
            weight=None) -> Tensor:
    """Absolute error |input - target|, as ``torch.nn.functional.l1_loss`` (complex tensors too: a
    real loss, as torch's).

    input, target: the same shape (shapes that only broadcast warn, as PyTorch); differentiable
    in both. weight: None or the input's shape; with it 'mean' is sum(w |d|) / sum(w) (PyTorch's).
    reduction: 'mean', 'sum' or 'none' (the elementwise loss).
    """
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    _check_reduction("l1_loss", reduction)
    if isinstance(input, Tensor) and input.dtype.kind == "c":
        # complex: |input - target| (real), by abs's complex form: gradient g sgn(d), which (unlike the
        # real sign) varies with d, so the second derivative is abs's, not L1's piecewise 0
        target = as_tensor(target, input)
        _check_broadcast("l1_loss", input, target)
        w = _weight("l1_loss", weight, input, same_size=True)
        from .pointwise import abs as _abs
        loss = _abs(input - target)
    else:
        input, target = _operands("l1_loss", input, target)
        _check_broadcast("l1_loss", input, target)
        w = _weight("l1_loss", weight, input, same_size=True)
        loss = L1.apply(input, target)
    if w is None:
        return _reduce(loss, reduction)
    loss = mul(loss, w)
    return div(sum(loss), sum(w)) if reduction == "mean" else _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target), as
    ``torch.nn.functional.smooth_l1_loss``; beta = 0 gives the L1 loss. Shapes as :func:`l1_loss`.
    """
    reduction = legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    _check_reduction("smooth_l1_loss", reduction)
    if not float(beta) >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    input, target = _operands("smooth_l1_loss", input, target)
    _check_broadcast("smooth_l1_loss", input, target)
    return _reduce(SmoothL1.apply(input, target, beta=float(beta), scaled=True), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target), as
    ``torch.nn.functional.huber_loss``. weight: None or the input's shape; with it 'mean' is
    mean(w l) (PyTorch's). Shapes as :func:`l1_loss`.
    """
    _check_reduction("huber_loss", reduction)
    if not float(delta) > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    input, target = _operands("huber_loss", input, target)
    _check_broadcast("huber_loss", input, target)
    w = _weight("huber_loss", weight, input, same_size=True)
    loss = SmoothL1.apply(input, target, beta=float(delta), scaled=False)
    return _reduce(loss if w is None else mul(loss, w), reduction)


def binary_cross_entropy(input: Tensor, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) for probabilities x = ``input`` in [0, 1], as
    ``torch.nn.functional.binary_cross_entropy``; each log is clamped at -100 (as PyTorch), so
    x = 0 or 1 gives a finite loss, and a finite target gradient +-100 there (PyTorch's is
    +-inf: it differentiates the unclamped logs; see :class:`BinaryCrossEntropy`).

    input, target: the same shape (differentiable in both); weight: broadcastable to it.
    An input or target outside [0, 1] is an error (checking both reads the device once, as PyTorch's
    CPU check).
    Prefer :func:`binary_cross_entropy_with_logits` on logits: it is stable where this saturates.
    """
    reduction = legacy_reduction("binary_cross_entropy", size_average, reduce, reduction)
    _check_reduction("binary_cross_entropy", reduction)
    input, target = _operands("binary_cross_entropy", input, target, float_target=True)
    _same_shape("binary_cross_entropy", input, target)
    w = _weight("binary_cross_entropy", weight, input)
    if input.data.size:   # both ranges in one device read (PyTorch checks input, then target)
        xp = backend.get_array_module(input.data)
        x_ok, t_ok = (bool(v) for v in backend.to_numpy(xp.stack(
            [xp.all((a >= 0) & (a <= 1)) for a in (input.data, target.data)])))
        if not x_ok:
            raise ValueError("binary_cross_entropy: every element of input must be a probability in [0, 1] "
                             "(pass logits to binary_cross_entropy_with_logits instead)")
        if not t_ok:
            raise ValueError("binary_cross_entropy: every element of target must be in [0, 1] (as PyTorch)")
    loss = BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if w is None else mul(loss, w), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """Binary cross-entropy of ``target`` under sigmoid(``input``), as
    ``torch.nn.functional.binary_cross_entropy_with_logits``:
    w (p t softplus(-x) + (1 - t) softplus(x)), stable for every finite logit.

    input: (..., C) logits; target: the same shape, probabilities (differentiable too);
    weight: broadcastable to the input; pos_weight: broadcastable to it too, typically (C,)
    per class, weighting the positive term (a constant here, as in PyTorch).
    """
    reduction = legacy_reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    name = "binary_cross_entropy_with_logits"
    input, target = _operands(name, input, target, float_target=True)
    _same_shape(name, input, target)
    w = _weight(name, weight, input)
    p = _weight(name + " (pos_weight)", pos_weight, input)
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=None if p is None else p.data)
    return _reduce(loss if w is None else mul(loss, w), reduction)


def kl_div(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence sum t (log t - x), as ``torch.nn.functional.kl_div``, with
    ``input`` x the *log*-probabilities of the model and ``target`` t probabilities (or
    log-probabilities with ``log_target=True``, then exp(t) (t - x)).

    The gradient to ``target`` where t = 0 is 0, where PyTorch's is NaN (see :class:`KLDiv`).

    input, target: broadcastable (differentiable in both). reduction: 'batchmean' (the sum divided
    by input.shape[0]: the true KL divergence per sample), 'sum', 'none', or 'mean' (divides by
    every element; PyTorch warns about it, and so does minitf).
    """
    reduction = legacy_reduction("kl_div", size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    input, target = _operands("kl_div", input, target, float_target=True)
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(f"kl_div: input of shape {input.shape} and target of shape {target.shape} "
                         f"do not broadcast") from None
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides by the batch size only, the KL divergence's definition",
                      UserWarning, stacklevel=2)
    loss = KLDiv.apply(input, target, log_target=bool(log_target))
    if reduction == "batchmean":
        total = sum(loss)
        return div(total, input.shape[0]) if input.ndim else total
    return _reduce(loss, reduction)
