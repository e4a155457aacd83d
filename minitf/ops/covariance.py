"""Covariance and the products and distances torch keeps at its top level: cov, corrcoef,
dist, renorm, inner, chain_matmul (vdot and ger are aliases of dot and outer, in
minitf/__init__.py). All composed of differentiable ops, so their gradients (and second
derivatives) are those of the formulas below.
"""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DtypeError, ShapeError
from ..tensor import Tensor
from ._util import float_input, is_int, warn_at_user_line


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows, as torch.cov.

    input: (V, N) (V variables, N observations) -> (V, V); one variable ((N,) or (1, N))
    -> a 0-d variance, as torch. With w = fweights * aweights (either may be None: ones),

        mean_v = sum_n w_n x_vn / sum(w),   cov = (x - mean) (w * (x - mean))^H / f,
        f = sum(w) - correction * sum(w * aweights) / sum(w)  (without aweights: sum(w) - correction),

    f taken as 0 where it would be negative (an inf / NaN result, as torch). fweights: (N,)
    integral, aweights: (N,) floating, both non-negative. Integer inputs give the default float
    dtype; complex ones give the Hermitian (x - mean) (w (x - mean))^H / f, as torch. Differentiable
    in ``input`` and ``aweights``.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"cov(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim > 2:
        raise ShapeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                         f"{input.ndim} dimensions")
    if not is_int(correction):
        raise TypeError(f"cov(): argument 'correction' must be int, not {type(correction).__name__}")
    x = float_input(input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights("fweights", fweights, n, "iu")
        w = fweights
    if aweights is not None:
        _check_weights("aweights", aweights, n, "f")
        w = aweights if w is None else w * aweights
    if w is None:
        mean = x.mean(1, keepdim=True)
        f = n - correction
    else:
        if w.dtype.kind in "iu":   # fweights alone: x's float dtype (a complex x's weights stay real);
            w = w.to(dtype=np.finfo(x.dtype).dtype)   # aweights promote with x, as torch's (float64 ones: float64)
        w_sum = w.sum()
        if w_sum.item() == 0:   # (one device read, as torch's check)
            raise ArgumentError("cov(): weights sum to zero, can't be normalized")
        mean = (x * w).sum(1, keepdim=True) / w_sum
        if correction == 0:
            f = w_sum
        elif aweights is None:
            f = w_sum - correction
        else:
            f = w_sum - correction * (w * aweights).sum() / w_sum
    if isinstance(f, Tensor):
        f = f.clamp_min(0)
    elif f <= 0:   # torch's warning (its result is then inf or NaN)
        warn_at_user_line("cov(): degrees of freedom is <= 0. Correction should be strictly less than "
                          "the number of observations.")
        f = 0
    centred = x - mean
    wx = centred if w is None else centred * w
    # (x - mean) (w (x - mean))^H: a complex input's covariance conjugates the second factor, as torch's
    c = (centred @ (wx.T.conj() if x.dtype.kind == "c" else wx.T)) / f
    return c.reshape(()) if c.shape == (1, 1) else c   # one variable: 0-d, as torch's squeeze


def _check_weights(name: str, w, n: int, kinds: str) -> None:
    if not isinstance(w, Tensor):
        raise TypeError(f"cov(): argument '{name}' must be Tensor, not {type(w).__name__}")
    if w.ndim > 1:
        raise ShapeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                         f"{w.ndim} dimensions")
    if w.numel() != n:
        raise ShapeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                         f"input but got {w.numel()} != {n}")
    if w.dtype.kind not in kinds:
        what = "integral" if kinds == "iu" else "floating point"
        raise DtypeError(f"cov(): expected {name} to have {what} dtype but got {name} with {w.dtype} dtype")
    if w.numel() and bool((w < 0).any()):
        raise ArgumentError(f"cov(): {name} cannot be negative")


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in ``input``'s rows, as
    torch.corrcoef: cov(x)_ij / sqrt(cov_ii cov_jj), clipped to [-1, 1]. input: (V, N) ->
    (V, V); (N,) -> 0-d (1, or NaN for a constant). A constant variable gives NaN. Complex
    variables: cov's x x^H, each part of the result clipped."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = c.diagonal().sqrt()
    r = c / sd.reshape(-1, 1) / sd.reshape(1, -1)
    if r.dtype.kind == "c":   # each part clipped to [-1, 1], as torch's
        from .complex_parts import complex as _complex, imag, real
        return _complex(real(r).clamp(-1, 1), imag(r).clamp(-1, 1))
    return r.clamp(-1, 1)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast) over all elements, as torch.dist: a 0-d
    tensor. p: a number >= 0, inf or -inf (0 counts the differing elements)."""
    from .statistics import norm
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"dist(): argument 'p' must be a number, not {type(p).__name__}")
    return norm(input - other, p)


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """``input`` with each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled to
    norm ``maxnorm``, as torch.renorm (scale maxnorm / (norm + 1e-7)). input: (..., n, ...) ->
    the same shape; differentiable (also through the norm, as torch)."""
    from .statistics import norm
    from .shape import where
    from ._util import check_dim
    if input.dtype.kind not in "fc":   # (complex: the norms of |x|, real, as torch)
        raise DtypeError(f"renorm: expected a floating point input, got {input.dtype} (as torch)")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p <= 0:
        raise ArgumentError(f"renorm: non-positive-norm not supported (p = {p!r})")
    if float(maxnorm) < 0:
        raise ArgumentError(f"renorm: non-negative maxnorm expected, got {maxnorm}")
    if input.ndim <= 1:
        raise ShapeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    d = check_dim("renorm", dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = norm(input, p, others, keepdim=True)
    scale = where(norms > maxnorm, float(maxnorm) / (norms + 1e-7), 1.0)
    return input * scale.to(dtype=input.dtype)


def inner(input, other) -> Tensor:
    """The sum over the last dims of ``input`` and ``other``, as torch.inner: (..a, n), (..b, n)
    -> (..a, ..b); a 0-d operand multiplies the other."""
    from .more_shapes import tensordot
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("inner(): both arguments must be Tensors")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(f"inner() the last dimension must match on both input tensors but got shapes "
                         f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([-1], [-1]))


def chain_matmul(*matrices) -> Tensor:
    """The product of 2-D matrices in the cheapest order, as torch.chain_matmul (deprecated in
    torch 2.13, with the same warning here: use :func:`minitf.linalg.multi_dot`). matrices:
    (n0, n1), (n1, n2), ... -> (n0, nk); one matrix is returned as a copy."""
    from ..linalg.products import multi_dot
    warn_at_user_line("minitf.chain_matmul is deprecated (as torch.chain_matmul). Use minitf.linalg.multi_dot "
                      "instead, which accepts a list of two or more tensors rather than multiple parameters.")
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise ArgumentError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        if not isinstance(m, Tensor) or m.ndim != 2:
            raise ShapeError(f"chain_matmul(): Tensor {i} must be 2D (got a "
                             f"{getattr(m, 'ndim', type(m).__name__)}-dimensional argument)")
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


__all__ = ["cov", "corrcoef", "dist", "renorm", "inner", "chain_matmul"]
