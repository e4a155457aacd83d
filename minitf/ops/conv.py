"""Convolutions: ``conv1d``/``2d``/``3d`` and their adjoints ``conv_transpose1d``/``2d``/``3d``, as torch's
(one implementation for every number of spatial dims; the public functions differ only in it).

With groups ``G``, input ``x: (N, C, *S)``, weight ``w: (O, C/G, *K)``, the output is

    y[n, g*O/G + o, p...] = sum_{c, k} xpad[n, g*C/G + c, p * s + k * dil ...] w[g*O/G + o, c, k...]  (+ b)

computed as the weight ``(G, O/G, C/G*KK)`` times im2col (:mod:`minitf.ops.windows`: a window
view, copied once into a ``(G, C/G*KK, N*P)`` matrix): one sgemm per group, over the whole batch.

The three bilinear maps below are each other's derivatives, so every backward is one of them
(and is recorded, for ``create_graph=True``):

* ``Conv(x, w)``          -- the convolution;
* ``ConvTranspose(u, w)`` -- its adjoint in x, d<u, Conv(x, w)>/dx: the matmul ``w^T u`` then
  col2im (this is ``conv_transpose``);
* ``ConvWeight(x, u)``    -- its adjoint in w, d<u, Conv(x, w)>/dw: ``u^T cols(x)``.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import as_result, check_same_dtype, is_int
from .windows import col2im, im2col, ntuple, out_size, pad_array, span


def _cols(x, kernel, stride, dilation, groups, pads, out):
    """im2col of ``x: (N, C, *S)`` as the matrix ``(G, C/G*KK, N*P)``: the window view copied once.
    Row (c, k) holds channel c at window element k over every (n, output position); the copy's
    inner dim runs along the image's rows (runs of contiguous reads at stride 1), which is why the
    matrix is this one and not its transpose (N*P, C/G*KK), whose inner dim of KK strided reads
    copies some 6x slower."""
    xp = backend.get_array_module(x)
    n, c, d = x.shape[0], x.shape[1], len(kernel)
    v = im2col(pad_array(x, pads), kernel, stride, dilation, out)              # (N, C, *Out, *K)
    v = v.reshape((n, groups, c // groups) + tuple(out) + tuple(kernel))
    v = v.transpose((1, 2) + tuple(range(3 + d, 3 + 2 * d)) + (0,) + tuple(range(3, 3 + d)))  # (G, C/G, *K, N, *Out)
    return xp.ascontiguousarray(v).reshape(groups, (c // groups) * math.prod(kernel), n * math.prod(out))


def _grad_matrix(u, groups):
    """``u: (N, O, *Out)`` as the C-ordered matrix ``(G, O/G, N*P)`` the matmuls take (a copy the
    size of u: a matmul of the transposed view would not be one BLAS call)."""
    xp = backend.get_array_module(u)
    n, o = u.shape[:2]
    p = math.prod(u.shape[2:])
    ut = xp.ascontiguousarray(u.reshape(n, o, p).transpose(1, 0, 2))
    return ut.reshape(groups, o // groups, n * p)


def _weight_matrix(w, groups):
    """``w: (O, C/G, *K)`` as ``(G, O/G, C/G*KK)`` (a view)."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


def conv_array(x, w, stride, dilation, groups, pads, out=None, cols=None):
    """y = Conv(x, w) on arrays: ``x: (N, C, *S), w: (O, C/G, *K) -> (N, O, *Out)``; also x's cols
    (or ``cols``, given: the matrix :func:`_cols` made of x before). One matmul
    ``(G, O/G, C/G*KK) @ (G, C/G*KK, N*P)``: one sgemm per group."""
    kernel = w.shape[2:]
    if out is None:
        out = out_size("conv", x.shape[2:], pads, kernel, stride, dilation)
    xp = backend.get_array_module(x)
    if cols is None:
        cols = _cols(x, kernel, stride, dilation, groups, pads, out)
    y = xp.matmul(_weight_matrix(w, groups), cols)                          # (G, O/G, N*P)
    o, n = w.shape[0], x.shape[0]
    y = y.reshape(o, n, math.prod(out)).transpose(1, 0, 2)                  # (N, O, P), a view
    return xp.ascontiguousarray(y).reshape((n, o) + tuple(out)), cols


def conv_transpose_array(u, w, stride, dilation, groups, pads, spatial, um=None):
    """dx = ConvTranspose(u, w): ``u: (N, O, *Out), w: (O, C/G, *K) -> (N, C, *spatial)``:
    dcols = w^T u (the gradient of every window element, one matmul), summed back by col2im
    (KK strided adds). At stride 1 with many channels it is a convolution instead (below). ``um``: u as
    :func:`_grad_matrix` made it, if at hand."""
    xp = backend.get_array_module(u)
    n, out, kernel = u.shape[0], u.shape[2:], w.shape[2:]
    o, cg = w.shape[:2]
    if all(st == 1 for st in stride) and cg >= 32:
        # measured (one thread): as a convolution it is 20-25% faster at 64 and 128 channels; below
        # 32 its matmul's few rows (C/G of them) run BLAS slowly, and col2im was 30% faster at 16
        return _conv_transpose_stride1(u, w, dilation, groups, pads, spatial)
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pads))
    if um is None:
        um = _grad_matrix(u, groups)
    dcols = xp.matmul(_weight_matrix(w, groups).transpose(0, 2, 1), um)              # (G, C/G*KK, N*P)
    dcols = dcols.reshape((groups * cg,) + tuple(kernel) + (n,) + tuple(out))        # (C, *K, N, *Out)
    acc = col2im(xp, lambda k: dcols[(slice(None),) + k], (groups * cg, n), padded, kernel, stride, dilation,
                 out, dcols.dtype)                                                  # (C, N, *padded)
    crop = tuple(slice(lo, lo + m) for m, (lo, _) in zip(spatial, pads))
    return xp.ascontiguousarray(acc[(slice(None), slice(None)) + crop].swapaxes(0, 1))


def _conv_transpose_stride1(u, w, dilation, groups, pads, spatial):
    """ConvTranspose at stride 1: u, zero-padded by span - 1 less the forward's padding on each side,
    correlated with the flipped kernel, channels swapped within each group: an im2col copy and a
    matmul, as the forward (the KK adds of col2im run along rows only W long, each a separate
    inner loop of NumPy's: some 5x slower than this copy). A pad below 0 (padding > span - 1:
    windows that read nothing but padding) is a crop of the result."""
    o, cg = w.shape[:2]
    kernel = w.shape[2:]
    wt = w.reshape((groups, o // groups, cg) + kernel).swapaxes(1, 2)
    wt = wt[(Ellipsis,) + (slice(None, None, -1),) * len(kernel)].reshape((groups * cg, o // groups) + kernel)
    left = tuple(w_ - 1 - lo for w_, (lo, _) in zip(span(kernel, dilation), pads))
    # the right pad that makes the output max(0, -left) + spatial long (output_padding included)
    right = tuple(m + w_ - 1 - n - lft for m, w_, n, lft in zip(spatial, span(kernel, dilation), u.shape[2:], left))
    ones = (1,) * len(kernel)
    dx = conv_array(u, wt, ones, dilation, groups, tuple((max(lft, 0), max(r, 0)) for lft, r in zip(left, right)))[0]
    if any(lft < 0 or r < 0 for lft, r in zip(left, right)):
        xp = backend.get_array_module(dx)
        dx = xp.ascontiguousarray(dx[(Ellipsis,) + tuple(slice(max(-lft, 0), max(-lft, 0) + m)
                                                          for lft, m in zip(left, spatial))])
    return dx


def conv_weight_array(cols, u, groups, weight_shape, um=None):
    """dw = ConvWeight(x, u) from x's cols ``(G, C/G*KK, N*P)`` and ``u: (N, O, *Out)``: u cols^T, one
    matmul (BLAS takes the transposed cols as they are). ``um``: u as :func:`_grad_matrix` made it."""
    xp = backend.get_array_module(cols)
    if um is None:
        um = _grad_matrix(u, groups)
    return xp.matmul(um, cols.transpose(0, 2, 1)).reshape(weight_shape)


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
        gm = _grad_matrix(g, p["groups"])   # shared by both products
        dx = conv_transpose_array(g, self.w, p["stride"], p["dilation"], p["groups"], p["pads"],
                                  self.spatial, um=gm) if _wants(self, 0) else None
        dw = conv_weight_array(self.cols, g, p["groups"], self.w.shape, um=gm) if _wants(self, 1) else None
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
        du = conv_array(self.x, gw, *args, self.u.shape[2:], cols=self.cols)[0] if _wants(self, 1) else None
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
    if x.dtype.kind not in "fc":   # (complex: the bilinear maps with conjugates in backward, complex_guard)
        # (torch 2.13's CPU convolves int64 tensors; its CUDA kernels do not, nor does minitf)
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input in minitf (torch's CPU takes "
                                  f"integers, its GPU does not); take x.float() or x.double() first")
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


def _check_sizes(op, x, weight, groups):
    """torch's: at least ``groups`` filters, and no empty spatial dim unless the batch or channels are."""
    if weight.shape[0] < groups:
        raise ShapeError(f"{op}: given groups={groups}, expected weight to be at least {groups} at dimension 0, "
                         f"but got weight of size {_shape(weight)} instead")
    if x.shape[0] and x.shape[1] and 0 in x.shape[2:]:
        raise ShapeError(f"{op}: only zero batch or zero channel inputs are supported, but got input of size "
                         f"{_shape(x)}")


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
    _check_sizes(op, x if x.ndim == d + 2 else x.reshape((1,) + x.shape), weight, groups)
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
    return as_result(y, y.shape[1:]) if unbatched else y


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


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation, as ``torch.nn.functional.conv3d``.

    input: (N, C_in, D, H, W) or unbatched (C_in, D, H, W); weight: (C_out, C_in / groups, kD, kH, kW);
    bias: (C_out,) -> (N, C_out, D_out, H_out, W_out), per dim as :func:`conv2d`. stride, padding,
    dilation: an int or a triple; padding also 'valid' or 'same' (stride 1).
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


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
    _check_sizes(op, x, weight, groups)
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
    return as_result(y, y.shape[1:]) if unbatched else y


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


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution (the gradient of conv3d in its input), as torch's.

    input: (N, C_in, D, H, W) or (C_in, D, H, W); weight: (C_in, C_out / groups, kD, kH, kW);
    bias: (C_out,) -> (N, C_out, D_out, H_out, W_out), per dim as :func:`conv_transpose2d`.
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)
