"""The inverse and the power-average of max pooling, as torch's: ``max_unpool1d``/``2d``/``3d``,
``lp_pool1d``/``2d``/``3d``
(torch's ``max_pool*d_with_indices`` names are in :mod:`minitf.ops.pooling`).

Max unpooling puts each input value at its index into a zero output of the pooled input's size:
``out[n, c, indices[n, c, p]] = input[n, c, p]`` over the flattened spatial dims. Its backward
reads the output's gradient back at the same indices (``dx = g[indices]``, torch's: a position
named twice gets the gradient at that position twice, not a share of it), and that gather's
backward adds its gradient into a zero output at the indices: the pair are each other's adjoints,
so both orders of derivative are recorded ops.

LP pooling is torch's formula, composed of differentiable ops:
``(sign(s) relu(|s|) K)^(1/p)`` with ``s = avg_pool(x^p)`` over windows of K elements; for an odd
``p`` a negative sum gives NaN (as torch's), and a zero sum a zero gradient (relu's at 0).
``p = inf`` is the max of |x|, ``p = -inf`` the min of |x|.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented, IndexRangeError, ShapeError
from ..tensor import Tensor
from . import avg_pooling, pooling
from .selection import where
from .windows import ntuple


def _flat_index(xp, idx, size: int):
    """(R, P) indices into R rows of ``size`` -> flat indices into the (R * size,) raveled output."""
    return (xp.arange(idx.shape[0]).reshape(-1, 1) * size + idx).reshape(-1)


def _scatter(x, flat, rows: int, size: int, add: bool):
    """x: (R, P) put into a zero (R, size) at the flat indices: summed (``add``) or written."""
    xp = backend.get_array_module(x)
    out = xp.zeros(rows * size, dtype=x.dtype)
    if add:
        backend.scatter_add(out, flat, x.reshape(-1))
    else:
        out[flat] = x.reshape(-1)
    return out.reshape(rows, size)


class _Scatter(Function):
    """x: (R, P) -> (R, size), x put at columns ``idx`` (``add``: summed there, else written)."""
    saves_inputs = saves_output = False

    def forward(self, x, flat, rows, size, add):
        self.shape = x.shape
        return _scatter(x, flat, rows, size, add)

    def backward(self, g):  # dx[r, p] = g[r, idx[r, p]]
        return (g.reshape(-1)[self.params["flat"]].reshape(self.shape),)

    def backward_graph(self, g):
        return (_Gather.apply(g, flat=self.params["flat"], shape=self.shape),)


class _Gather(Function):
    """g: (R, size) -> (R, P), g read at columns ``idx`` (max unpooling's backward)."""
    saves_inputs = saves_output = False

    def forward(self, g, flat, shape):
        self.rows, self.size = g.shape
        return g.reshape(-1)[flat].reshape(shape)

    def backward(self, gg):  # the adjoint: add gg into a zero (R, size) at the indices
        return (_scatter(gg, self.params["flat"], self.rows, self.size, True),)

    def backward_graph(self, gg):
        return (_Scatter.apply(gg, flat=self.params["flat"], rows=self.rows, size=self.size, add=True),)


def _unpool_size(op, d, in_spatial, kernel, stride, padding, output_size):
    """torch's ``_unpool_output_size``: (in - 1) stride + kernel - 2 padding per dim, or ``output_size``
    (its last d entries, d or d + 2 of them) strictly within stride of that."""
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in zip(in_spatial, kernel, stride, padding)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == d + 2:
            size = size[2:]
        if len(size) != d:
            raise ArgumentError(f"{op}: output_size should be a sequence containing {d} or {d + 2} elements, "
                                f"but it has a length of '{len(size)}'")
        for i in range(d):
            lo, hi = default[i] - stride[i], default[i] + stride[i]
            if not lo < size[i] < hi:
                raise ArgumentError(f'{op}: invalid output_size "{tuple(output_size)}" (dim {i} must be between '
                                    f'{lo} and {hi})')
    if any(n < 0 for n in size):
        raise ArgumentError(f"{op}: output_size must contain non-negative spatial dimensions, but got {tuple(size)}")
    return tuple(int(n) for n in size)


def _max_unpool(op, d, x, indices, kernel_size, stride, padding, output_size):
    for name, t in (("input", x), ("indices", indices)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected a {d + 1}d or {d + 2}d input, but got a tensor with {x.ndim} dimensions")
    if indices.dtype.kind not in "iu":
        raise DtypeError(f"{op}: elements in indices should be an integer type (torch: int64), but got {indices.dtype}")
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input (as torch's); take x.float() first")
    if indices.shape != x.shape:
        raise ShapeError(f"{op}: Expected shape of indices to be same as that of the input tensor "
                         f"({list(x.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    if indices.device != x.device:
        raise backend.DeviceError(f"{op}: input on {x.device}, indices on {indices.device}")
    kernel = ntuple(kernel_size, d, op, "kernel_size", 1)
    stride = kernel if stride is None else ntuple(stride, d, op, "stride", 1)
    padding = ntuple(padding, d, op, "padding", 0)
    if output_size is not None and not (isinstance(output_size, (tuple, list)) or hasattr(output_size, "__len__")):
        raise ArgumentError(f"{op}: output_size must be a sequence of ints, got {output_size!r}")
    spatial = x.shape[-d:]
    out = _unpool_size(op, d, spatial, kernel, stride, padding, output_size)
    size = math.prod(out)
    lead = x.shape[:-d]
    idx = indices.data.reshape(-1, math.prod(spatial))
    if idx.size:   # one host read of the extremes (torch's check, which also stops on the first bad one)
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:   # torch names the first bad one
            bad = ((idx < 0) | (idx >= size)).reshape(-1)
            first = int(idx.reshape(-1)[int(bad.argmax())])
            raise IndexRangeError(f"{op}: Found an invalid max index: {first} (output volumes "
                                  f"are of size {'x'.join(map(str, out))})")
    xp = backend.get_array_module(x.data)
    flat = _flat_index(xp, idx, size)
    y = _Scatter.apply(x.reshape(-1, math.prod(spatial)), flat=flat, rows=idx.shape[0], size=size, add=False)
    return y.reshape(tuple(lead) + out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool1d`, as ``torch.nn.functional.max_unpool1d``.

    input, indices: (N, C, L) or (C, L), indices into L_out (``max_pool1d(..., return_indices=True)``'s)
    -> (N, C, L_out), zero except at the indices; L_out = (L - 1) stride - 2 padding + kernel_size,
    or ``output_size`` (L_out, or (N, C, L_out)) within stride of that.
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``.

    input, indices: (N, C, H, W) or (C, H, W), flat indices h W_out + w into (H_out, W_out) ->
    (N, C, H_out, W_out), per dim as :func:`max_unpool1d`.
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool3d`, as ``torch.nn.functional.max_unpool3d``.

    input, indices: (N, C, D, H, W) or (C, D, H, W), flat indices (d H_out + h) W_out + w into
    (D_out, H_out, W_out) -> (N, C, D_out, H_out, W_out), per dim as :func:`max_unpool1d`.
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def _lp_pool(op, d, x, norm_type, kernel_size, stride, ceil_mode):
    if not isinstance(norm_type, (int, float)) or isinstance(norm_type, bool):
        raise ArgumentError(f"{op}: norm_type must be a number, got {norm_type!r}")
    if norm_type == 0:
        raise ArgumentError(f"{op}: norm_type must be nonzero (the result is a 1/norm_type power)")
    pool = (pooling.max_pool1d, pooling.max_pool2d, pooling.max_pool3d)[d - 1]
    if norm_type == math.inf:
        return pool(x.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -pool(-x.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kernel = ntuple(kernel_size, d, op, "kernel_size", 1)
    avg = (avg_pooling.avg_pool1d, avg_pooling.avg_pool2d, avg_pooling.avg_pool3d)[d - 1]
    s = avg(x.pow(norm_type), kernel, stride, 0, ceil_mode)
    # sign(s) relu(|s|) is s, but with relu's zero gradient where s = 0: torch's formula, kept whole.
    # relu as a where: torch's relu backward gives 0 at 0 even for the infinite cotangent that
    # (0)^(1/p - 1) sends there; minitf's relu backward multiplies by its mask (inf * 0 = NaN)
    a = s.abs()
    # (a != 0, not a > 0: a NaN from a negative x^p passes, as relu(NaN) is NaN)
    return (s.sign() * where(a != 0, a, 0.0) * math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling, as ``torch.nn.functional.lp_pool1d``: (sum over a window of x^p)^(1/p).

    input: (N, C, L) or (C, L) -> (N, C, L_out), L_out = (L - k) // stride + 1 (stride defaults to
    kernel_size; no padding). p = norm_type (inf: the max of |x|). Negative x with a fractional p
    gives NaN, as x^p does.
    """
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling, as ``torch.nn.functional.lp_pool2d``.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), per dim as :func:`lp_pool1d`.
    """
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling, as ``torch.nn.functional.lp_pool3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out), per dim as :func:`lp_pool1d`.
    """
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)
