"""``nn.grad``: the gradients of a convolution with respect to its input and its weight, as
``torch.nn.grad``'s functions.

    dx = nn.grad.conv2d_input(x.shape, w, g, stride=2)       # = d <g, conv2d(x, w)> / dx
    dw = nn.grad.conv2d_weight(x, w.shape, g, stride=2)      # = d <g, conv2d(x, w)> / dw

A convolution is linear in each of its two arguments, so each gradient is the
vector-Jacobian product of the convolution at any value of the other one: these run
minitf's convolution and its recorded backward (the conv ops' own), on a zero input of
``input_size`` or a zero weight of ``weight_size``. ``input_size`` settles the output
padding a strided convolution leaves ambiguous. The result is differentiable in the tensors
given (weight or input, and grad_output) where they require grad.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import is_grad_enabled
from ..backprop import grad as _grad
from ..creation import zeros
from ..grad_modes import enable_grad

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _vjp(conv, x, w, grad_output, wrt, kw):
    # recorded only where the caller records (and something given requires grad); the
    # convolution itself is always recorded, even under no_grad, to be differentiated once
    create = is_grad_enabled() and any(t.requires_grad for t in (x, w, grad_output) if t is not wrt)
    with enable_grad():
        out = conv(x, w, None, **kw)
        if tuple(out.shape) != tuple(grad_output.shape):
            raise ValueError(f"{conv.__name__}: grad_output has shape {tuple(grad_output.shape)}, but the "
                             f"convolution gives {tuple(out.shape)}")
        (g,) = _grad(out, [wrt], grad_output, create_graph=create)
    return g


_SHAPES = {1: ("L", "k"), 2: ("H, W", "kH, kW"), 3: ("D, H, W", "kD, kH, kW")}


def _pair(dim: int):
    """conv{dim}d_input and conv{dim}d_weight, on F.conv{dim}d."""
    conv = getattr(F, f"conv{dim}d")
    spatial, kernel = _SHAPES[dim]

    def conv_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
        x = zeros(tuple(input_size), dtype=weight.dtype, device=weight.device, requires_grad=True)
        return _vjp(conv, x, weight, grad_output, x,
                    dict(stride=stride, padding=padding, dilation=dilation, groups=groups))

    def conv_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
        w = zeros(tuple(weight_size), dtype=input.dtype, device=input.device, requires_grad=True)
        return _vjp(conv, input, w, grad_output, w,
                    dict(stride=stride, padding=padding, dilation=dilation, groups=groups))

    conv_input.__name__ = conv_input.__qualname__ = f"conv{dim}d_input"
    conv_input.__doc__ = (f"d <grad_output, conv{dim}d(x, weight)> / dx for x of ``input_size`` "
                          f"(N, C_in, {spatial}): that shape, as ``torch.nn.grad.conv{dim}d_input``.")
    conv_weight.__name__ = conv_weight.__qualname__ = f"conv{dim}d_weight"
    conv_weight.__doc__ = (f"d <grad_output, conv{dim}d(input, w)> / dw for w of ``weight_size`` "
                           f"(C_out, C_in / groups, {kernel}), as ``torch.nn.grad.conv{dim}d_weight``.")
    return conv_input, conv_weight


conv1d_input, conv1d_weight = _pair(1)
conv2d_input, conv2d_weight = _pair(2)
conv3d_input, conv3d_weight = _pair(3)
