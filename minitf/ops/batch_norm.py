"""Normalisation over the batch and channel dims, as ``torch.nn.functional``'s: batch_norm,
instance_norm, group_norm and local_response_norm (channels in dim 1: x: (N, C, *)).

All three statistic-based norms are one op, :class:`ChannelNorm`, on a view of the input
as x: (A, C', L), with statistics per c over the axes 0 and 2 (M = A L values each):

    batch_norm:     (N, C, L)         one statistic per channel, over the batch and space
    instance_norm:  (1, N C, L)       one per sample and channel, over space
    group_norm:     (1, N G, C/G L)   one per sample and group of channels

    xhat = (x - mu) r,  r = 1 / sqrt(var + eps)  (var biased, over the M values),  y = xhat w + b

and its closed-form backward (no graph through mean and var):

    dxhat = g w;   dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat));
    dw = sum(g xhat);   db = sum(g)          (means and sums over axes 0 and 2)

batch_norm's running statistics are updated in place, outside the graph, with the
unbiased variance var M / (M - 1), as PyTorch: running = (1 - momentum) running + momentum stat.
In evaluation (``training=False``) the running statistics are constants and the op is the
affine map x w r_run + (b - mu_run w r_run), in recorded ops.
"""
from __future__ import annotations

import math

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..errors import DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import check_same_dtype
from ._util import is_int
from ._util import as_result
from .elementwise import sqrt
from .reduction import mean


class ChannelNorm(Function):
    """y = (x - mu) r w + b for x: (A, C, L), statistics per c over the axes 0 and 2; w, b: (C, 1) or
    absent. The batch mean and biased variance (C,) are left in ``stats`` (a dict) for the running ones."""

    saves_inputs = saves_output = False   # keeps xhat, r and w itself

    def forward(self, x, *wb, eps, has_weight, has_bias, stats):
        xp = backend.get_array_module(x)
        C, M = x.shape[1], x.shape[0] * x.shape[2]
        if M:
            mu = xp.einsum("acl->c", x) / M
            xhat = x - mu[:, None]
            var = xp.einsum("acl,acl->c", xhat, xhat) / M     # one pass, no (x - mu)^2 temporary
        else:   # an empty batch: no statistics (the running ones are left alone)
            mu, var, xhat = xp.zeros(C, dtype=x.dtype), xp.ones(C, dtype=x.dtype), x.copy()
        rstd = (1 / xp.sqrt(var + x.dtype.type(eps)))[:, None]
        xhat *= rstd
        stats["mean"], stats["var"] = mu, var
        self.xhat, self.rstd, self.M = xhat, rstd, M
        self.w = wb[0] if has_weight else None
        self.has_weight, self.has_bias = has_weight, has_bias
        if self.w is None:
            return xhat + wb[-1] if has_bias else xhat.copy()   # (a copy: xhat is kept for backward)
        y = xhat * self.w
        if has_bias:
            y += wb[-1]
        return y

    def backward(self, g):
        # dxhat = g w;  dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat));  dw = sum g xhat; db = sum g
        # (means and sums over the axes 0 and 2). With w: mean(dxhat) = w db / M, mean(dxhat xhat) = w dw / M,
        # so dx = k (g - db / M - xhat dw / M) with k = r w, from two reductions and no (A, C, L) temporary
        # beyond dx and one product
        xp = backend.get_array_module(g)
        xhat, M = self.xhat, max(self.M, 1)
        db = xp.einsum("acl->c", g)[:, None]
        dw = xp.einsum("acl,acl->c", g, xhat)[:, None]
        k = self.rstd if self.w is None else self.rstd * self.w
        dx = g * k
        dx -= k * db / M
        dx -= xhat * (k * dw / M)
        grads = [dx]
        if self.has_weight:
            grads.append(dw)
        if self.has_bias:
            grads.append(db)
        return tuple(grads)

    def backward_graph(self, g):
        from .composed import vjp   # (composed imports most op modules: imported when first needed)
        return vjp(_channel_norm_composed, self, g)


def _channel_norm_composed(x, *wb, eps, has_weight, has_bias, stats):
    """The forward in primitive ops, the statistics recomputed (so differentiated) from x."""
    xc = x - _mean02(x)
    y = xc / sqrt(_mean02(xc * xc) + eps)
    if has_weight:
        y = y * wb[0]
    return y + wb[-1] if has_bias else y


def _mean02(x):
    return mean(mean(x, 2, keepdims=True), 0, keepdims=True)


def _normalize(x3: Tensor, weight, bias, eps: float) -> tuple[Tensor, object, object]:
    """ChannelNorm of x3: (A, C, L) with its own statistics; returns y and the (C,) mean and biased var."""
    wb = [p.reshape((-1, 1)) for p in (weight, bias) if p is not None]
    stats = {}
    y = ChannelNorm.apply(x3, *wb, eps=float(eps), has_weight=weight is not None, has_bias=bias is not None,
                          stats=stats)
    return y, stats["mean"], stats["var"]


def _affine_eval(x3: Tensor, running_mean: Tensor, running_var: Tensor, weight, bias, eps) -> Tensor:
    """(x - mu_run) r_run w + b on x3: (N, C, L), the running statistics constants: x s + t in recorded ops,
    s = w r_run and t = b - mu_run s, (C, 1) each."""
    xp = backend.get_array_module(x3.data)
    rstd = Tensor._make((1 / xp.sqrt(running_var.data + x3.dtype.type(eps))).reshape(-1, 1), None)
    rm = Tensor._make(running_mean.data.reshape(-1, 1), None)
    s = rstd if weight is None else weight.reshape((-1, 1)) * rstd
    t = -rm * s
    if bias is not None:
        t = t + bias.reshape((-1, 1))
    return x3 * s + t


def _update_running(running: Tensor, stat, momentum: float) -> None:
    """running = (1 - momentum) running + momentum stat, in place and outside the graph (PyTorch's)."""
    r = running.data
    r *= r.dtype.type(1 - momentum)
    r += (r.dtype.type(momentum) * stat).astype(r.dtype, copy=False)
    autograd.bump_version(running)


def _check_number(name, what, v, lo=0.0):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not (
            math.isfinite(v) and v >= lo):
        raise ValueError(f"{name}: {what} must be a finite number >= {lo:g}, got {v!r}")


def _check_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":   # torch: NotImplementedError ('"batch_norm" not implemented for 'Int'')
        raise DtypeNotImplemented(f"{name}: not implemented for {input.dtype} inputs: the input must be floating "
                                  f"point (as torch)")


def _check_vector(name, what, t, C, input):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
    if t.numel() != C:
        raise ShapeError(f"{name}: {what} should contain {C} elements (one per channel), not {t.numel()}")
    if type(t.data) is not type(input.data):
        raise backend.DeviceError(f"{name}: input on {input.device}, {what} on {t.device}")


def _as_ncl(input: Tensor) -> Tensor:
    """x: (N, C, *) as (N, C, L), L the product of the spatial dims (1 for (N, C))."""
    N, C = input.shape[:2]
    return input.reshape((N, C, math.prod(input.shape[2:])))


def _check_stats_arguments(name, input, running_mean, running_var, weight, bias, eps, momentum) -> None:
    """batch_norm's and instance_norm's checks of their (C,) vectors, dtypes and numbers."""
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{name}: running_mean and running_var must either both be None or neither be None")
    C = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_vector(name, what, t, C, input)
    check_same_dtype(name, input=input, running_mean=running_mean, running_var=running_var, weight=weight,
                     bias=bias)
    _check_number(name, "eps", eps)
    _check_number(name, "momentum", momentum)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over the batch and spatial dims, per channel, as
    ``torch.nn.functional.batch_norm``.

    input: (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *)) -> the same shape.
    running_mean, running_var: (C,) or None (both or neither). weight, bias: (C,) or None.
    ``training=True``: normalise with the batch's mean and biased variance, and update the running
    statistics in place (if given): running = (1 - momentum) running + momentum stat, the variance's
    stat unbiased (M / (M - 1), M = N * L values per channel); no gradient flows into them.
    ``training=False``: normalise with the running statistics (they must be given).
    """
    name = "batch_norm"
    _check_input(name, input)
    if input.ndim < 2:
        raise ShapeError(f"{name}: input must be (N, C, *) with at least 2 dims, got shape {input.shape}")
    _check_stats_arguments(name, input, running_mean, running_var, weight, bias, eps, momentum)
    x3 = _as_ncl(input)
    if not training:
        if running_mean is None:
            raise ValueError(f"{name}: running_mean and running_var must be given in evaluation mode "
                             f"(training=False)")
        return as_result(_affine_eval(x3, running_mean, running_var, weight, bias, eps), input.shape)
    M = x3.shape[0] * x3.shape[2]
    if M == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    y, mu, var = _normalize(x3, weight, bias, eps)
    if running_mean is not None and M:
        _update_running(running_mean, mu, momentum)
        _update_running(running_var, var * (M / (M - 1)), momentum)
    return as_result(y, input.shape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight=None, bias=None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation: each sample's channel over its spatial dims, as
    ``torch.nn.functional.instance_norm``.

    input: (N, C, *) with at least one spatial dim -> the same shape. weight, bias: (C,) or None.
    running_mean, running_var: (C,) or None; with ``use_input_stats`` they are updated in place with
    the batch average of the per-instance statistics (the variance unbiased over the L spatial
    values); ``use_input_stats=False`` normalises with them instead (they must be given).
    """
    name = "instance_norm"
    _check_input(name, input)
    if input.ndim < 3:
        raise ShapeError(f"{name}: input must be (N, C, *) with at least one spatial dim, got shape "
                         f"{input.shape}")
    _check_stats_arguments(name, input, running_mean, running_var, weight, bias, eps, momentum)
    N, C = input.shape[:2]
    x3 = _as_ncl(input)
    L = x3.shape[2]
    if not use_input_stats:
        if running_mean is None:
            raise ValueError(f"{name}: running_mean and running_var must be given with use_input_stats=False")
        return as_result(_affine_eval(x3, running_mean, running_var, weight, bias, eps), input.shape)
    if L == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    y, mu, var = _normalize(x3.reshape((1, N * C, L)), None, None, eps)
    y = _affine(y.reshape((N, C, L)), weight, bias)
    if running_mean is not None and N:
        _update_running(running_mean, mu.reshape(N, C).mean(axis=0), momentum)
        _update_running(running_var, (var * (L / (L - 1))).reshape(N, C).mean(axis=0), momentum)
    return as_result(y, input.shape)


def _affine(y3: Tensor, weight, bias) -> Tensor:
    """y w + b per channel on y3: (N, C, L)."""
    if weight is not None:
        y3 = y3 * weight.reshape((-1, 1))
    return y3 if bias is None else y3 + bias.reshape((-1, 1))


def group_norm(input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Group normalisation, as ``torch.nn.functional.group_norm``: the C channels split into
    ``num_groups`` groups of C / G, each sample's group normalised over its channels and spatial dims,
    then w and b per channel.

    input: (N, C, *) -> the same shape; C divisible by num_groups. weight, bias: (C,) or None.
    """
    name = "group_norm"
    _check_input(name, input)
    if input.ndim < 2:
        raise ShapeError(f"{name}: input must be (N, C, *) with at least 2 dims, got shape {input.shape}")
    if not is_int(num_groups) or num_groups < 1:
        raise ValueError(f"{name}: num_groups must be a positive int, got {num_groups!r}")
    N, C = input.shape[:2]
    if C % num_groups:
        raise ShapeError(f"{name}: expected the number of channels to be divisible by num_groups, but got "
                         f"input of shape {input.shape} and num_groups={num_groups}")
    if (N * C // num_groups) * math.prod(input.shape[2:]) == 1:   # torch's F.group_norm (_verify_batch_size)
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{[N * C // num_groups, int(num_groups)] + list(input.shape[2:])}")
    for what, t in (("weight", weight), ("bias", bias)):
        _check_vector(name, what, t, C, input)
    check_same_dtype(name, input=input, weight=weight, bias=bias)
    _check_number(name, "eps", eps)
    G = int(num_groups)
    x3 = input.reshape((1, N * G, (C // G) * math.prod(input.shape[2:])))
    y, _, _ = _normalize(x3, None, None, eps)
    return as_result(_affine(_as_ncl(y.reshape(input.shape)), weight, bias), input.shape)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels, as ``torch.nn.functional.local_response_norm``:

        y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_c'^2) ** beta,

    the window the ``size`` channels c - size // 2 .. c + (size - 1) // 2 (zeros outside).
    input: (N, C, *) with at least 3 dims -> the same shape. In recorded ops (a sum of ``size``
    shifted slices), so differentiable to any order.
    """
    from .padding import pad
    name = "local_response_norm"
    _check_input(name, input)
    if input.ndim < 3:
        raise ShapeError(f"{name}: expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if not is_int(size) or size < 1:
        raise ValueError(f"{name}: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input * 1
    C = input.shape[1]
    sq = input * input
    before, after = size // 2, (size - 1) // 2
    padded = pad(sq, [0, 0] * (input.ndim - 2) + [before, after])
    window = padded[:, 0:C]
    for j in range(1, size):   # a loop over the window's offsets (size is small), not over the data
        window = window + padded[:, j:j + C]
    return input / (window * (float(alpha) / size) + float(k)) ** float(beta)
