"""Batch, instance, group and local response normalisation layers, as ``torch.nn``'s, on inputs
with channels in dim 1: x: (N, C, *).

BatchNorm* keep ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
(int64, 0) as buffers, under torch's state-dict names, so a torch state dict loads as it is.
In training mode each call normalises with the batch's statistics and updates the running ones
(momentum 0.1; ``momentum=None``: the cumulative average, 1 / num_batches_tracked); in evaluation
mode (``eval()``) it normalises with the running ones.

Every layer here but LocalResponseNorm takes torch's ``device`` / ``dtype``: where the parameters and
buffers are made (None: the default device) and the dtype of the floating ones (None: the default
dtype; ``num_batches_tracked`` stays int64, as torch's). As torch's, a dtype that is not floating
point is refused for the affine parameters (a DtypeError, torch's RuntimeError: a parameter
learns) and accepted for the running statistics alone (``affine=False``: integer, bool or complex
buffers), whose forward then refuses the input (torch's NotImplementedError: no kernel for the
dtype). Kept difference: minitf's parameters are real, so ``affine=True`` with a complex dtype is
refused at construction (torch's is at forward).
"""
from __future__ import annotations

import warnings

from .. import functional as F
from ..creation import ones, tensor, zeros
from ..dtypes import _check_dtype
from . import init
from .module import Module
from .parameter import empty_parameter, parameter_dtype


def _positive_int(name, what, n):
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name}: {what} must be a positive int, got {n!r}")
    return n


class _NormBase(Module):
    """What BatchNorm* and InstanceNorm* share (torch's ``_NormBase``): the affine parameters
    weight (C,) = 1 and bias (C,) = 0, and the running statistics buffers."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        # (a Lazy* class builds itself with num_features=0, set at its first call: minitf/nn/lazy.py)
        lazy = num_features == 0 and getattr(self, "_lazy_zero_ok", False)
        self.num_features = 0 if lazy else _positive_int(name, "num_features", num_features)
        if not float(eps) >= 0:
            raise ValueError(f"{name}: eps must be a non-negative number, got {eps}")
        if momentum is not None and not 0 <= float(momentum) <= 1:
            raise ValueError(f"{name}: momentum must be None or in [0, 1], got {momentum}")
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if self.affine:
            self.weight = empty_parameter(num_features, device=device, dtype=dtype)
            if bias:
                self.bias = empty_parameter(num_features, device=device, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            # any dtype, as torch's buffers (a non-floating one refuses at forward, as torch's)
            stats = parameter_dtype(None) if dtype is None else _check_dtype(dtype)
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=stats))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=stats))
            self.register_buffer("num_batches_tracked", tensor(0, dtype="int64", device=device))
        else:
            for b in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(b, None)
        self.reset_parameters()

    # torch's version 2 added num_batches_tracked: a state dict of version 1 (or one without
    # metadata) that lacks it loads with the current count kept, as torch's _NormBase does
    _version = 2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                               else tensor(0, dtype="int64"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0 (in place)."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, and weight = 1, bias = 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _dims: tuple = ()

    def _check_input_dim(self, x):
        if x.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"expected {want} input (got {x.ndim}D input)")

    def forward(self, x):
        """x: (N, C, *) as the class says -> the same shape."""
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else float(self.momentum)
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:   # the cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of x: (N, C) or (N, C, L) per channel, as ``torch.nn.BatchNorm1d``:
    y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics over N (and L)."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of x: (N, C, H, W) per channel, as ``torch.nn.BatchNorm2d``."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of x: (N, C, D, H, W) per channel, as ``torch.nn.BatchNorm3d``."""

    _dims = (5,)


class _InstanceNorm(_NormBase):
    _dims: tuple = ()   # (unbatched, batched) number of dims

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, x):
        """x: (N, C, *) or unbatched (C, *) -> the same shape."""
        if x.ndim not in self._dims:
            raise ValueError(f"expected {self._dims[0]}D or {self._dims[1]}D input (got {x.ndim}D input)")
        unbatched = x.ndim == self._dims[0]
        feature_dim = 0 if unbatched else 1
        if x.shape[feature_dim] != self.num_features:
            msg = (f"expected input's size at dim={feature_dim} to match num_features ({self.num_features}), "
                   f"but got: {x.shape[feature_dim]}.")
            if self.affine:
                raise ValueError(msg)
            warnings.warn(f"{type(self).__name__}: {msg} num_features is not used because affine=False",
                          UserWarning, stacklevel=3)
        if unbatched:
            x = x.unsqueeze(0)
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else float(self.momentum), self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of x: (N, C, L) or (C, L), each sample's channel over L, as
    ``torch.nn.InstanceNorm1d`` (affine=False and track_running_stats=False by default)."""

    _dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of x: (N, C, H, W) or (C, H, W) over H and W, as ``torch.nn.InstanceNorm2d``."""

    _dims = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of x: (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.InstanceNorm3d``."""

    _dims = (4, 5)


class GroupNorm(Module):
    """Group normalisation, as ``torch.nn.GroupNorm``: x: (N, C, *) -> the same shape, the C =
    ``num_channels`` channels in ``num_groups`` groups, each sample's group normalised on its own;
    weight (C,) = 1 and bias (C,) = 0 with ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        _positive_int("GroupNorm", "num_groups", num_groups)
        _positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, float(eps), bool(affine)
        if self.affine:
            self.weight = init.ones_(empty_parameter(num_channels, device=device, dtype=dtype))
            if bias:
                self.bias = init.zeros_(empty_parameter(num_channels, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    """``F.local_response_norm(x, size, alpha, beta, k)`` across channels, as
    ``torch.nn.LocalResponseNorm``; x: (N, C, *) with at least 3 dims -> the same shape."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = _positive_int("LocalResponseNorm", "size", size)
        self.alpha, self.beta, self.k = float(alpha), float(beta), float(k)

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
