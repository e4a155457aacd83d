"""torch's fused products: addmm, addmv, addr, baddbmm, addbmm (beta * input + alpha * product)
and kron, built from minitf's differentiable mm / mv / outer / bmm, so their gradients are
those ops' (as torch's, which are the same products transposed).

As torch (and BLAS): a ``beta`` of 0 ignores ``input`` (NaN and inf in it do not reach the
result; its gradient is 0), and an ``alpha`` of 0 ignores the product likewise in addmm, addmv
and addbmm (torch's addr and baddbmm multiply it by 0, so an inf there gives NaN: as torch). Every tensor
of addmm, addmv, baddbmm, addbmm must have one dtype (torch's rule: no promotion, and torch's
messages: :mod:`minitf.ops.product_dtypes`); addr, elementwise in torch, promotes the three as
``+`` does. For integer tensors a float alpha or beta is cast to the integer type first, as
torch's kernel does (addr refuses it, as torch's); bool tensors only in addr (torch's
BLAS-backed kernels have none).
"""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import broadcasts_to, scalar_tensor
from .matrix import bmm, mm, mv, outer
from .product_dtypes import check_addmm, check_addmv, check_baddbmm
from .promotion import result_type


def _scalar(name, arg, value, dtype):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}(): argument '{arg}' must be a number, got {type(value).__name__}")
    return int(value) if np.dtype(dtype).kind in "iub" else float(value)


def _scaled(t: Tensor, c):
    """c * t; exactly 0 (not 0 * NaN, and a zero gradient) for c == 0, as BLAS's beta = 0."""
    if c == 0:
        from .shape import where
        return where(scalar_tensor(True, np.bool_, t), 0, t)
    return t if c == 1 else t * c


def _tensors(name, check=None, **named):
    """Refuse a non-Tensor argument, then (``check``: the op's rule from product_dtypes) a mix of dtypes,
    then bool tensors (for all but addr, which passes no ``check``)."""
    for k, t in named.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{k}' must be Tensor, not {type(t).__name__}")
    if check is not None:
        check(*named.values())
        if next(iter(named.values())).dtype == np.bool_:   # torch's BLAS-backed kernels have no bool version
            raise DtypeNotImplemented(f"{name}: not implemented for bool tensors (as torch); convert with .int() "
                                      f"first")


def _combine(name, input: Tensor, prod: Tensor, beta, alpha, blas_alpha: bool = True) -> Tensor:
    beta = _scalar(name, "beta", beta, input.dtype)
    alpha = _scalar(name, "alpha", alpha, input.dtype)
    if not broadcasts_to(input.shape, prod.shape):
        raise ShapeError(f"{name}: input of shape {input.shape} does not broadcast to the product's shape "
                         f"{prod.shape}")
    # alpha = 0 drops the product in torch's BLAS-backed addmm, addmv, addbmm, not in addr, baddbmm
    return _scaled(input, beta) + (_scaled(prod, alpha) if blas_alpha or alpha != 0 else prod * alpha)


def _check_ndim(name, what, t, n):
    if t.ndim != n:
        kind = {1: "a vector", 2: "a matrix", 3: "a 3-D batch of matrices"}[n]
        raise ShapeError(f"{name}: {what} must be {kind}, got a {t.ndim}-D tensor of shape {t.shape}")


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), as torch.addmm. mat1: (n, m), mat2: (m, p),
    input: broadcastable to (n, p) -> (n, p). Differentiable in the three."""
    _tensors("addmm", check_addmm, input=input, mat1=mat1, mat2=mat2)
    _check_ndim("addmm", "mat1", mat1, 2)
    _check_ndim("addmm", "mat2", mat2, 2)
    if mat1.shape[1] != mat2.shape[0]:
        raise ShapeError(f"addmm: mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                         f"{mat2.shape[0]}x{mat2.shape[1]})")
    return _combine("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec), as torch.addmv. mat: (n, m), vec: (m,), input:
    broadcastable to (n,) -> (n,). Differentiable in the three."""
    _tensors("addmv", check_addmv, input=input, mat=mat, vec=vec)
    _check_ndim("addmv", "mat", mat, 2)
    _check_ndim("addmv", "vec", vec, 1)
    if mat.shape[1] != vec.shape[0]:
        raise ShapeError(f"addmv: size mismatch, got input {input.shape}, mat {mat.shape}, vec {vec.shape}")
    return _combine("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2), as torch.addr. vec1: (n,), vec2: (m,), input:
    broadcastable to (n, m) -> (n, m); the three promote to one dtype, as torch's. Differentiable in the three."""
    _tensors("addr", input=input, vec1=vec1, vec2=vec2)
    dtype = result_type(input, vec1, vec2)   # (torch's addr is elementwise: it promotes)
    input, vec1, vec2 = (t if t.dtype == dtype else t.to(dtype=dtype) for t in (input, vec1, vec2))
    if dtype.kind in "iub":   # torch's addr refuses to cast a float scale (addmm casts it)
        for k, c in (("beta", beta), ("alpha", alpha)):
            if isinstance(c, (float, np.floating)):
                raise ArgumentError(f"addr: For integral input tensors, argument {k} must not be a floating point "
                                    f"number.")
    _check_ndim("addr", "vec1", vec1, 1)
    _check_ndim("addr", "vec2", vec2, 1)
    return _combine("addr", input, outer(vec1, vec2), beta, alpha, blas_alpha=False)


def _check_batches(name, b1, b2):
    _check_ndim(name, "batch1", b1, 3)
    _check_ndim(name, "batch2", b2, 3)
    if b1.shape[0] != b2.shape[0] or b1.shape[2] != b2.shape[1]:
        raise ShapeError(f"{name}: batch1 {b1.shape} and batch2 {b2.shape} cannot be multiplied (they need "
                         f"(b, n, m) and (b, m, p))")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2) per batch, as torch.baddbmm. batch1: (b, n, m),
    batch2: (b, m, p), input: broadcastable to (b, n, p) -> (b, n, p). Differentiable in the three."""
    _tensors("baddbmm", check_baddbmm, input=input, batch1=batch1, batch2=batch2)
    _check_batches("baddbmm", batch1, batch2)
    return _combine("baddbmm", input, bmm(batch1, batch2), beta, alpha, blas_alpha=False)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * sum_i batch1[i] @ batch2[i], as torch.addbmm. batch1: (b, n, m),
    batch2: (b, m, p), input: broadcastable to (n, p) -> (n, p). Differentiable in the three.

    The sum of products is one (n, b m) @ (b m, p) product (the batches side by side)."""
    _tensors("addbmm", check_addmm, input=input, batch1=batch1, batch2=batch2)
    _check_batches("addbmm", batch1, batch2)
    b, n, m = batch1.shape
    p = batch2.shape[2]
    prod = mm(batch1.permute(1, 0, 2).reshape(n, b * m), batch2.reshape(b * m, p))
    return _combine("addbmm", input, prod, beta, alpha)


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product, as torch.kron: the shorter shape padded with leading 1s, then
    a: (a_0, ..., a_k), b: (b_0, ..., b_k) -> (a_0 b_0, ..., a_k b_k), out[i * b.shape + j] =
    a[i] * b[j] in every dim. dtypes promote as ``*``. Differentiable in both."""
    for k, t in (("input", a), ("other", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"kron(): argument '{k}' must be Tensor, not {type(t).__name__}")
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    # a's dim i at position 2i, b's at 2i + 1: the product's (a_i, b_i) pairs merge into a_i b_i
    a2 = a.reshape(tuple(v for n in sa for v in (n, 1)))
    b2 = b.reshape(tuple(v for n in sb for v in (1, n)))
    return (a2 * b2).reshape(tuple(x * y for x, y in zip(sa, sb)))


__all__ = ["addmm", "addmv", "addr", "baddbmm", "addbmm", "kron"]
