"""Folding an evaluation-mode BatchNorm into the convolution or linear layer before it, as
``torch.nn.utils.fusion``: one layer that computes ``bn(conv(x))`` (``bn(linear(x))``) with
the running statistics, for inference.

With s = bn.weight / sqrt(running_var + eps) (per output channel):

    W' = W * s   (along the output-channel dim: dim 0, or dim 1 for a transposed conv's weight)
    b' = (b - running_mean) * s + bn.bias
"""
from __future__ import annotations

import copy

from ...grad_modes import no_grad
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _check_eval(layer, bn, what: str) -> None:
    if layer.training or bn.training:
        raise RuntimeError(f"{what}: fusion only for eval! (call .eval() on both modules first)")
    if bn.running_mean is None or bn.running_var is None:
        raise RuntimeError(f"{what}: the batch norm must track running statistics (track_running_stats=True)")


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A copy of ``conv`` whose weight and bias fold in ``bn`` (both in eval mode):
    ``fused(x) == bn(conv(x))``. ``transpose``: ``conv`` is a ConvTranspose (its weight's
    output channels are dim 1). x: (N, C_in, *S)."""
    _check_eval(conv, bn, "fuse_conv_bn_eval")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose: bool = False):
    """The fused (weight, bias) as two new Parameters, torch's formula (see the module docstring).

    conv_w: (C_out, C_in / groups, *K) (transposed: (C_in, C_out / groups, *K)); conv_b, bn_rm,
    bn_rv, bn_w, bn_b: (C_out,), each of conv_b, bn_w, bn_b may be None (0, 1, 0). The weight
    keeps conv_w's dtype and requires_grad, the bias conv_b's (a missing conv_b: conv_w's dtype,
    and no grad, as torch's).
    """
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    with no_grad():
        if conv_b is None:
            conv_b = bn_rm.new_zeros(bn_rm.shape)
        bn_w = bn_rm.new_ones(bn_rm.shape) if bn_w is None else bn_w
        bn_b = bn_rm.new_zeros(bn_rm.shape) if bn_b is None else bn_b
        rsqrt = (bn_rv + bn_eps).rsqrt()
        shape = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.ndim - 2)
        w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(dtype=w_dtype)
        b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` whose weight and bias fold in ``bn`` (a BatchNorm1d over the linear's
    outputs, both in eval mode): ``fused(x) == bn(linear(x))``; x: (N, in_features). The batch
    norm has ``linear.out_features`` features, or 1."""
    _check_eval(linear, bn, "fuse_linear_bn_eval")
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise ValueError(f"fuse_linear_bn_eval: to fuse, linear.out_features ({linear.out_features}) must equal "
                         f"bn.num_features ({bn.num_features}), or bn.num_features must be 1")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused (weight, bias) as two new Parameters: linear_w: (out, in), linear_b (None: 0),
    bn_*: (out,) or (1,); W' = W * s[:, None], b' = (b - running_mean) * s + bn_b (dtype and
    requires_grad as :func:`fuse_conv_bn_weights`)."""
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    with no_grad():
        if linear_b is None:
            linear_b = bn_rm.new_zeros(bn_rm.shape)
        bn_w = bn_rm.new_ones(bn_rm.shape) if bn_w is None else bn_w   # (torch's fails on an affine=False bn)
        bn_b = bn_rm.new_zeros(bn_rm.shape) if bn_b is None else bn_b
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
        b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)
