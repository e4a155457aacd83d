"""torch's top-level Householder names: ``geqrf`` (QR in LAPACK's compact form), ``orgqr`` (its Q:
:func:`minitf.linalg.householder_product`) and ``ormqr`` (Q, or Q^H, times a matrix without forming
it in torch; here formed, m x m, from the reflectors).

geqrf(A) = (a, tau): R on and above a's diagonal, the Householder vectors v_i below it (v_i[i] = 1
implied), A = H_1 ... H_k R with H_i = I - tau_i v_i v_i^H, k = min(m, n), as LAPACK's geqrf
(NumPy's and CuPy's ``qr(mode='raw')`` give a transposed). No gradient, as torch's.
"""
from __future__ import annotations

from .. import backend
from ..errors import DtypeError, ShapeError
from ..tensor import Tensor
from ._common import _no_derivative, check_float, const
from .decompositions import _Pair
from .extras import householder_product


class _Geqrf(_Pair):
    names = ("a", "tau")


def geqrf(input: Tensor):
    """(a, tau), as torch.geqrf: input (..., m, n) float or complex -> a (..., m, n), tau (...,
    min(m, n)) (the module docstring). No gradient: backward raises torch's NotImplementedError."""
    if not isinstance(input, Tensor):
        raise TypeError(f"geqrf: expected a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ShapeError("torch.geqrf: input must have at least 2 dimensions.")
    check_float("geqrf", input, complex_ok=True)
    xp = backend.get_array_module(input.data)
    h, tau = backend.linalg_op("qr", input.data, mode="raw")
    a, tau = const(xp.ascontiguousarray(xp.swapaxes(h, -1, -2))), const(xp.ascontiguousarray(tau))
    return _Geqrf(_no_derivative("geqrf", (a, tau), input, error=NotImplementedError,
                                 message="the derivative for 'geqrf' is not implemented."))


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """torch.orgqr: :func:`minitf.linalg.householder_product` (input (..., m, n), m >= n; tau (..., k))."""
    return householder_product(input, tau)


def _check_ormqr(input, tau, other, left):
    for name, t in (("input", input), ("tau", tau), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"ormqr: {name} must be a Tensor, got {type(t).__name__}")
    for name, t in (("input", input), ("other", other)):
        if t.ndim < 2:
            raise ShapeError(f"torch.ormqr: {name} must have at least 2 dimensions.")
    if tau.ndim != input.ndim - 1:
        raise ShapeError(f"torch.ormqr: Expected tau to have one dimension less than input, but got tau.ndim "
                         f"equal to {tau.ndim} and input.ndim is equal to {input.ndim}")
    if other.ndim != input.ndim:
        raise ShapeError(f"torch.ormqr: Expected other to have the same number of dimensions as input, but got "
                         f"other.ndim equal to {other.ndim} and input.ndim is equal to {input.ndim}")
    for name, t, batch in (("tau", tau, tau.shape[:-1]), ("other", other, other.shape[:-2])):
        if tuple(batch) != tuple(input.shape[:-2]):
            raise ShapeError(f"torch.ormqr: Expected batch dimensions of {name} to be equal to input.shape[:-2], "
                             f"but got {list(batch)}")
    side = -2 if left else -1
    if other.shape[side] != input.shape[-2]:
        raise ShapeError(f"torch.ormqr: other.shape[{side}] must be equal to input.shape[-2]")
    if tau.shape[-1] != min(other.shape[side], input.shape[-1]):
        raise ShapeError(f"torch.ormqr: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    for name, t in (("tau", tau), ("other", other)):
        if t.dtype != input.dtype:
            raise DtypeError(f"torch.ormqr: Expected input and {name} to have the same dtype, but input has dtype "
                             f"{input.dtype} and {name} has dtype {t.dtype}")
    check_float("ormqr", input, complex_ok=True)


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False) -> Tensor:
    """op(Q) @ other (``left``) or other @ op(Q), op(Q) = Q^H with ``transpose``, as torch.ormqr: Q
    (m x m) = H_1 ... H_k from geqrf's (input, tau). input (..., m, n); tau (..., min(m, n));
    other (..., m, p) (left) or (..., p, m) -> other's shape. Differentiable in all three (Q is
    householder_product of the reflectors padded to m x m with tau 0: identity reflectors)."""
    _check_ormqr(input, tau, other, left)
    from ..ops import cat
    from ..creation import zeros
    m, k = input.shape[-2], tau.shape[-1]
    V = input[..., :, :k]
    if k < m:   # the missing reflectors as identities (tau 0)
        V = cat([V, zeros(*V.shape[:-1], m - k, dtype=V.dtype, device=V.device)], dim=-1)
        tau = cat([tau, zeros(*tau.shape[:-1], m - k, dtype=tau.dtype, device=tau.device)], dim=-1)
    Q = householder_product(V, tau)
    if transpose:
        Q = Q.mH
    return Q @ other if left else other @ Q


__all__ = ["geqrf", "orgqr", "ormqr"]
