"""torch.gradient: the derivative of sampled values by finite differences, along one or more dims.

Central differences inside, one-sided ones of first or second order at the two ends (``edge_order``),
with uniform spacing (a number per dim) or at given coordinates (a 1-d tensor per dim), as
torch.gradient and numpy.gradient. Built from differentiable Tensor ops (narrow, arithmetic, cat),
so the result has gradients to the input and to coordinate tensors, as torch's.
"""
from __future__ import annotations

import numbers

from ..errors import ArgumentError, ArgumentTypeError, DtypeError, ShapeError
from ..tensor import Tensor
from ._util import check_dim, float_input


def _part(f, d, start, stop):
    """f[start:stop] along d, Python's slice rules (stop 0: to the end)."""
    from .layout import narrow
    r = range(f.shape[d])[start:None if stop == 0 else stop]
    return narrow(f, d, r.start, len(r))


def _uniform(f, d, h, edge_order):
    """df/dx along d for samples h apart."""
    inner = (_part(f, d, 2, 0) - _part(f, d, 0, -2)) / (2 * h)
    if edge_order == 1:
        first = (_part(f, d, 1, 2) - _part(f, d, 0, 1)) / h
        last = (_part(f, d, -1, 0) - _part(f, d, -2, -1)) / h
    else:   # the parabola through the first (last) three samples, differentiated at the end
        first = (-1.5 * _part(f, d, 0, 1) + 2 * _part(f, d, 1, 2) - 0.5 * _part(f, d, 2, 3)) / h
        last = (0.5 * _part(f, d, -3, -2) - 2 * _part(f, d, -2, -1) + 1.5 * _part(f, d, -1, 0)) / h
    return first, inner, last


def _coordinates(f, d, c, edge_order):
    """df/dx along d for samples at the coordinates c: (n,); the non-uniform three-point formulas."""
    shape = [1] * f.ndim
    shape[d] = c.shape[0]
    c = c.reshape(shape)
    dx = _part(c, d, 1, 0) - _part(c, d, 0, -1)                  # (n - 1) steps
    if c.shape[d] > 2:
        hl, hr = _part(dx, d, 0, -1), _part(dx, d, 1, 0)
        # torch's coefficients of f_(i-1), f_i, f_(i+1) (so a repeated coordinate gives its NaN, not inf)
        inner = (-hr / (hl * (hl + hr)) * _part(f, d, 0, -2) + (hr - hl) / (hl * hr) * _part(f, d, 1, -1)
                 + hl / (hr * (hl + hr)) * _part(f, d, 2, 0))
    else:
        inner = _part(f, d, 1, 1) * 0.0                          # (no interior: an empty slice)
    if edge_order == 1:
        first = (_part(f, d, 1, 2) - _part(f, d, 0, 1)) / _part(dx, d, 0, 1)
        last = (_part(f, d, -1, 0) - _part(f, d, -2, -1)) / _part(dx, d, -1, 0)
    else:
        a, b = _part(dx, d, 0, 1), _part(dx, d, 1, 2)            # the first two steps
        first = (-(2 * a + b) / (a * (a + b)) * _part(f, d, 0, 1) + (a + b) / (a * b) * _part(f, d, 1, 2)
                 - a / (b * (a + b)) * _part(f, d, 2, 3))
        a, b = _part(dx, d, -2, -1), _part(dx, d, -1, 0)         # the last two steps
        last = (b / (a * (a + b)) * _part(f, d, -3, -2) - (a + b) / (a * b) * _part(f, d, -2, -1)
                + (2 * b + a) / (b * (a + b)) * _part(f, d, -1, 0))
    return first, inner, last


def _spacings(spacing, dims, ndim, given_dim):
    """One spacing per dim: a number, or a 1-d coordinate Tensor."""
    if spacing is None:
        return [1.0] * len(dims)
    if isinstance(spacing, Tensor):
        raise ArgumentTypeError("gradient(): spacing must be a number or a list/tuple of numbers or of 1-d "
                                "Tensors, not a Tensor (torch's signature)")
    if isinstance(spacing, numbers.Number) and not isinstance(spacing, bool):
        return [spacing] * len(dims)
    if not isinstance(spacing, (list, tuple)):
        raise ArgumentTypeError(f"gradient(): spacing must be a number or a list/tuple, got {type(spacing).__name__}")
    spacing = list(spacing)
    if len(spacing) != len(dims):
        if given_dim:
            raise ArgumentError("torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
                                f"dim arguments to have the same length, but got a spacing argument of length "
                                f"{len(spacing)} and a dim argument of length {len(dims)}.")
        raise ArgumentError("torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                            f"equal to 'self.dim() = {ndim}', since dim argument was not given, but got a list "
                            f"of length {len(spacing)}")
    tensors = [isinstance(s, Tensor) for s in spacing]
    if any(tensors) and not all(tensors):
        raise ArgumentTypeError("gradient(): spacing must hold only numbers or only Tensors (torch's signature)")
    for s in spacing:
        if isinstance(s, Tensor) and s.ndim != 1:
            raise ArgumentError("torch.gradient expected each element of spacing to have one dimension, but got "
                                f"an element with {s.ndim} dimensions!")
    return spacing


def gradient(input: Tensor, *, spacing=None, dim=None, edge_order: int = 1):
    """The gradient of the samples ``input`` along ``dim`` (every dim by default), as torch.gradient.

    input: any shape with each differentiated dim of size >= edge_order + 1.
    spacing: None (1 apart), a number (the same for every dim), or a list/tuple with one entry per
        differentiated dim: numbers (the spacing along that dim) or 1-d tensors of the sample
        coordinates, coords: (input.shape[dim],).
    dim: an int or a list/tuple of ints (None: all).  edge_order: 1 or 2, the accuracy order of the
        one-sided differences at the ends (inside it is always the second-order central one).
    Returns a tuple of tensors of input's shape, one per dim (integers give the default float
    dtype), differentiable with respect to ``input`` and coordinate tensors.
    """
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"gradient(): input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind == "b":   # torch refuses too (its differences subtract bool tensors)
        raise DtypeError("gradient(): bool input is not supported (torch refuses subtracting bool tensors); "
                         "convert it first, e.g. input.float()")
    if edge_order not in (1, 2) or isinstance(edge_order, bool):
        raise ArgumentError("torch.gradient only supports edge_order=1 and edge_order=2.")
    given_dim = dim is not None
    if dim is None:
        dims = list(range(input.ndim))
    else:
        raw = list(dim) if isinstance(dim, (list, tuple)) else [dim]
        dims = [check_dim("gradient", d, input.ndim) for d in raw]
        for d in dims:
            if dims.count(d) > 1:
                raise ArgumentError(f"dim {d} appears multiple times in the list of dims")
    spacings = _spacings(spacing, dims, input.ndim, given_dim)
    f = float_input(input)
    out = []
    from .joining import cat
    for d, s in zip(dims, spacings):
        n = f.shape[d]
        if n < edge_order + 1:
            raise ShapeError("torch.gradient expected each dimension size to be at least edge_order+1")
        if isinstance(s, Tensor):
            if s.shape[0] != n:
                raise ShapeError(f"gradient: the coordinates along dim {d} have {s.shape[0]} entries, the input "
                                 f"{n} (torch silently computes something else)")
            parts = _coordinates(f, d, float_input(s), edge_order)
        else:
            parts = _uniform(f, d, s, edge_order)
        out.append(cat(list(parts), axis=d))
    return tuple(out)


__all__ = ["gradient"]
