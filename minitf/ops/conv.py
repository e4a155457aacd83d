"""Convolutions: ``conv1d``, ``conv2d`` and their adjoints ``conv_transpose1d``/``2d``, as torch's.

With groups ``G``, input ``x: (N, C, *S)``, weight ``w: (O, C/G, *K)``, the output is

    y[n, g*O/G + o, p...] = sum_{c, k} xpad[n, g*C/G + c, p * s + k * dil ...] w[g*O/G + o, c, k...]  (+ b)

computed as im2col (:mod:`minitf.ops.windows`: a window view, copied once into a
``(G, N*P, C/G*KK)`` matrix) times the weight ``(G, C/G*KK, O/G)``: one batched matmul per call.

The three bilinear maps below are each other's derivatives, so every backward is one of them
(and is recorded, for ``create_graph=True``):

* ``Conv(x, w)``          -- the convolution;
* ``ConvTranspose(u, w)`` -- its adjoint in x, d<u, Conv(x, w)>/dx: the matmul ``u w`` then
  col2im (this is ``conv_transpose``);
* ``ConvWeight(x, u)``    -- its adjoint in w, d<u, Conv(x, w)>/dw: ``u^T cols(x)``.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import check_same_dtype, is_int
from .windows import col2im, crop_array, im2col, ntuple, out_size, pad_array, span


def _cols(x, kernel, stride, dilation, groups, pads, out):
    """im2col of ``x: (N, C, *S)`` as the matrix ``(G, N*P, C/G*KK)`` (a copy)."""
    n, c, d = x.shape[0], x.shape[1], len(kernel)
    v = im2col(pad_array(x, pads), kernel, stride, dilation, out)              # (N, C, *Out, *K)
    v = v.reshape((n, groups, c // groups) + tuple(out) + tuple(kernel))
    v = v.transpose((1, 0) + tuple(range(3, 3 + d)) + (2,) + tuple(range(3 + d, 3 + 2 * d)))
    return v.reshape(groups, n * math.prod(out), (c // groups) * math.prod(kernel))


def _grad_matrix(u, groups):
    """``u: (N, O, *Out)`` as the matrix ``(G, N*P, O/G)`` the matmuls take."""
    n, o = u.shape[:2]
    p = math.prod(u.shape[2:])
    return u.reshape(n, groups, o // groups, p).transpose(1, 0, 3, 2).reshape(groups, n * p, o // groups)


def conv_array(x, w, stride, dilation, groups, pads, out=None):
    """y = Conv(x, w) on arrays: ``x: (N, C, *S), w: (O, C/G, *K) -> (N, O, *Out)``; also the cols."""
    kernel, d = w.shape[2:], w.ndim - 2
    if out is None:
        out = out_size("conv", x.shape[2:], pads, kernel, stride, dilation)
    xp = backend.get_array_module(x)
    cols = _cols(x, kernel, stride, dilation, groups, pads, out)
    o = w.shape[0]
    y = xp.matmul(cols, w.reshape(groups, o // groups, -1).transpose(0, 2, 1))  # (G, N*P, O/G)
    y = y.reshape((groups, x.shape[0]) + tuple(out) + (o // groups,))
    y = y.transpose((1, 0, 2 + d) + tuple(range(2, 2 + d)))
    return xp.ascontiguousarray(y).reshape((x.shape[0], o) + tuple(out)), cols


def conv_transpose_array(u, w, stride, dilation, groups, pads, spatial):
    """dx = ConvTranspose(u, w): ``u: (N, O, *Out), w: (O, C/G, *K) -> (N, C, *spatial)``:
    dcols = u w (the gradient of every window element), summed back by col2im."""
    xp = backend.get_array_module(u)
    n, out, kernel = u.shape[0], u.shape[2:], w.shape[2:]
    o, cg = w.shape[:2]
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pads))
    if all(st == 1 for st in stride):
        # stride 1: dx is u (padded by span - 1) correlated with the flipped kernel, channels swapped
        # within each group: an im2col and a matmul again, no scatter-add
        spans = span(kernel, dilation)
        wt = w.reshape((groups, o // groups, cg) + kernel).swapaxes(1, 2)
        wt = wt[(Ellipsis,) + (slice(None, None, -1),) * len(kernel)].reshape((groups * cg, o // groups) + kernel)
        dx = conv_array(u, wt, stride, dilation, groups, tuple((w_ - 1, w_ - 1) for w_ in spans))[0]
        if dx.shape[2:] != padded:   # output_padding (below the dilation): rows no window reads
            dx = pad_array(dx, tuple((0, m - r) for m, r in zip(padded, dx.shape[2:])))
        return crop_array(dx, pads, spatial)
    dcols = xp.matmul(_grad_matrix(u, groups), w.reshape(groups, o // groups, -1))  # (G, N*P, C/G*KK)
    vals = dcols.reshape(groups, n, math.prod(out), cg, math.prod(kernel)).transpose(2, 4, 1, 0, 3)
    dx = col2im(vals, n, groups * cg, padded, kernel, stride, dilation, out)
    return crop_array(dx, pads, spatial)


def conv_weight_array(cols, u, groups, weight_shape):
    """dw = ConvWeight(x, u) from x's cols ``(G, N*P, C/G*KK)`` and ``u: (N, O, *Out)``: u^T cols."""
    xp = backend.get_array_module(u)
    n, o = u.shape[:2]
    p = math.prod(u.shape[2:])
    # u as a C-ordered (G, O/G, N*P): NumPy's batched matmul of a transposed view skips BLAS (50x slower)
    ut = u.reshape(n, groups, o // groups, p).transpose(1, 2, 0, 3).reshape(groups, o // groups, n * p)
    return xp.matmul(ut, cols).reshape(weight_shape)


def _bias_grad(g):
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


def _add_bias(y, b):
    y += b.reshape((-1,) + (1,) * (y.ndim - 2))
    return y


def _wants(fn, k):
    return len(fn.inputs) > k and fn.inputs[k].requires_grad


class Conv(Function):
    saves_output = False   # backward never reads the output

    def forward(self, x, w, *b, stride, dilation, groups, pads):
        y, self.cols = conv_array(x, w, stride, dilation, groups, pads)
        self.w, self.spatial = w, x.shape[2:]
        return _add_bias(y, b[0]) if b else y

    def backward(self, g):  # dx = ConvTranspose(g, w); dw = ConvWeight(x, g); db = sum of g over (N, *Out)
        p = self.params
        dx = conv_transpose_array(g, self.w, p["stride"], p["dilation"], p["groups"], p["pads"],
                                  self.spatial) if _wants(self, 0) else None
        dw = conv_weight_array(self.cols, g, p["groups"], self.w.shape) if _wants(self, 1) else None
        return (dx, dw, _bias_grad(g)) if len(self.inputs) == 3 else (dx, dw)

    def backward_graph(self, g):
        x, w = self.inputs[:2]
        p = dict(self.params)
        dx = ConvTranspose.apply(g, w, spatial=x.shape[2:], **p) if x.requires_grad else None
        dw = ConvWeight.apply(x, g, kernel=w.shape[2:], **p) if w.requires_grad else None
        return (dx, dw, _bias_grad(g)) if len(self.inputs) == 3 else (dx, dw)


class ConvTranspose(Function):
    saves_output = False

    def forward(self, u, w, *b, stride, dilation, groups, pads, spatial):
        self.u, self.w = u, w
        y = conv_transpose_array(u, w, stride, dilation, groups, pads, spatial)
        return _add_bias(y, b[0]) if b else y

    def backward(self, gy):  # y = ConvT(u, w): du = Conv(gy, w); dw = ConvWeight(gy, u); db = sum of gy
        p = self.params
        du, cols = conv_array(gy, self.w, p["stride"], p["dilation"], p["groups"], p["pads"], self.u.shape[2:])
        dw = conv_weight_array(cols, self.u, p["groups"], self.w.shape) if _wants(self, 1) else None
        return (du if _wants(self, 0) else None, dw) + ((_bias_grad(gy),) if len(self.inputs) == 3 else ())

    def backward_graph(self, gy):
        u, w = self.inputs[:2]
        p = {k: v for k, v in self.params.items() if k != "spatial"}
        du = Conv.apply(gy, w, **p) if u.requires_grad else None
        dw = ConvWeight.apply(gy, u, kernel=w.shape[2:], **p) if w.requires_grad else None
        return (du, dw) + ((_bias_grad(gy),) if len(self.inputs) == 3 else ())


class ConvWeight(Function):
    saves_output = False

    def forward(self, x, u, stride, dilation, groups, pads, kernel):
        self.x, self.u = x, u
        self.cols = _cols(x, kernel, stride, dilation, groups, pads, u.shape[2:])
        return conv_weight_array(self.cols, u, groups, (u.shape[1], x.shape[1] // groups) + tuple(kernel))

    def backward(self, gw):  # dw = ConvWeight(x, u): dx = ConvTranspose(u, gw); du = Conv(x, gw)
        p = self.params
        args = (p["stride"], p["dilation"], p["groups"], p["pads"])
        dx = conv_transpose_array(self.u, gw, *args, self.x.shape[2:]) if _wants(self, 0) else None
        du = conv_array(self.x, gw, *args, self.u.shape[2:])[0] if _wants(self, 1) else None
        return dx, du

    def backward_graph(self, gw):
        x, u = self.inputs
        p = {k: v for k, v in self.params.items() if k != "kernel"}
        dx = ConvTranspose.apply(u, gw, spatial=x.shape[2:], **p) if x.requires_grad else None
        du = Conv.apply(x, gw, **p) if u.requires_grad else None
        return dx, du


# --- the public functions: argument checks with torch's meaning, then one of the Functions

def _shape(t) -> str:
    return "[" + ", ".join(map(str, t.shape)) + "]"


def _check_tensors(op, d, x, weight, bias, transposed=False):
    for name, t in (("input", x), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input (as torch); take x.float() or "
                                  f"x.double() first")
    check_same_dtype(op, input=x, weight=weight, bias=bias)
    if weight.ndim != d + 2:
        raise ShapeError(f"{op}: expected a {d + 2}-dimensional weight, got weight of size {_shape(weight)}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected {d + 1}D (unbatched) or {d + 2}D (batched) input, but got input of "
                         f"size: {_shape(x)}")


def _check_groups(op, groups):
    if not is_int(groups) or groups < 1:
        raise ArgumentError(f"{op}: non-positive groups is not supported, got {groups!r}")
    return int(groups)


def _conv(op, d, x, weight, bias, stride, padding, dilation, groups):
    _check_tensors(op, d, x, weight, bias)
    stride = ntuple(stride, d, op, "stride", 1)
    dilation = ntuple(dilation, d, op, "dilation", 1)
    groups = _check_groups(op, groups)
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * d
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"{op}: padding='same' is not supported for strided convolutions")
            # torch's: the total dil*(k-1), the odd one on the right
            pads = tuple(((w - 1) // 2, (w - 1) - (w - 1) // 2) for w in span(kernel, dilation))
        else:
            raise ArgumentError(f"{op}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
    else:
        pads = tuple((p, p) for p in ntuple(padding, d, op, "padding", 0))
    o, cg = weight.shape[:2]
    if o % groups:
        raise ShapeError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {_shape(weight)} instead")
    unbatched = x.ndim == d + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.shape[1] != cg * groups:
        raise ShapeError(f"{op}: given groups={groups}, weight of size {_shape(weight)}, expected input"
                         f"{_shape(x)} to have {cg * groups} channels, but got {x.shape[1]} channels instead")
    if bias is not None and bias.shape != (o,):
        raise ShapeError(f"{op}: given weight of size {_shape(weight)}, expected bias to be 1-dimensional with "
                         f"{o} elements, but got bias of size {_shape(bias)} instead")
    out_size(op, x.shape[2:], pads, kernel, stride, dilation)  # the kernel must fit the padded input
    args = (x, weight) if bias is None else (x, weight, bias)
    y = Conv.apply(*args, stride=stride, dilation=dilation, groups=groups, pads=pads)
    return y.reshape(y.shape[1:]) if unbatched else y


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    input: (N, C_in, L) or unbatched (C_in, L); weight: (C_out, C_in / groups, K); bias: (C_out,)
    -> (N, C_out, L_out), L_out = (L + 2 padding - dilation (K - 1) - 1) // stride + 1.
    padding: an int, a 1-tuple, 'valid' (0) or 'same' (output as long as the input; stride 1).
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    input: (N, C_in, H, W) or unbatched (C_in, H, W); weight: (C_out, C_in / groups, kH, kW);
    bias: (C_out,) -> (N, C_out, H_out, W_out), per dim
    H_out = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1. stride, padding, dilation:
    an int or a pair; padding also 'valid' or 'same' (stride 1).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, d, x, weight, bias, stride, padding, output_padding, groups, dilation):
    _check_tensors(op, d, x, weight, bias)
    stride = ntuple(stride, d, op, "stride", 1)
    dilation = ntuple(dilation, d, op, "dilation", 1)
    padding = ntuple(padding, d, op, "padding", 0)
    output_padding = ntuple(output_padding, d, op, "output_padding", 0)
    groups = _check_groups(op, groups)
    if any(op_ >= max(s, dl) for op_, s, dl in zip(output_padding, stride, dilation)):
        raise ArgumentError(f"{op}: output padding must be smaller than either stride or dilation, got "
                            f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    c_in, c_out_g = weight.shape[:2]
    unbatched = x.ndim == d + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    if x.shape[1] != c_in:
        raise ShapeError(f"{op}: given transposed=1, weight of size {_shape(weight)}, expected input{_shape(x)} "
                         f"to have {c_in} channels, but got {x.shape[1]} channels instead")
    if c_in % groups:
        raise ShapeError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {_shape(weight)} instead")
    if bias is not None and bias.shape != (c_out_g * groups,):
        raise ShapeError(f"{op}: expected bias of size [{c_out_g * groups}], got {_shape(bias)}")
    spatial = tuple((n - 1) * s - 2 * p + w + q for n, s, p, w, q in
                    zip(x.shape[2:], stride, padding, span(weight.shape[2:], dilation), output_padding))
    if any(n <= 0 for n in spatial):
        raise ShapeError(f"{op}: given input size per channel {tuple(x.shape[2:])}, the calculated output size "
                         f"{spatial} is too small")
    args = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose.apply(*args, stride=stride, dilation=dilation, groups=groups,
                            pads=tuple((p, p) for p in padding), spatial=spatial)
    return y.reshape(y.shape[1:]) if unbatched else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution (the gradient of conv1d in its input), as torch's.

    input: (N, C_in, L) or (C_in, L); weight: (C_in, C_out / groups, K); bias: (C_out,)
    -> (N, C_out, L_out), L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d in its input), as torch's.

    input: (N, C_in, H, W) or (C_in, H, W); weight: (C_in, C_out / groups, kH, kW); bias: (C_out,)
    -> (N, C_out, H_out, W_out), per dim
    H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)
