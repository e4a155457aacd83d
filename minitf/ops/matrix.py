"""torch's fixed-rank matrix products: mm, bmm, mv, dot, outer. Each checks the ranks torch
requires (no broadcasting) and then is :func:`~minitf.ops.arithmetic.matmul` or a product,
so the gradients are those ops'."""
from __future__ import annotations

from ..errors import ShapeError
from ..tensor import Tensor
from .arithmetic import matmul
from .product_dtypes import check_dot


def _ranks(name: str, a, b, ra: int, rb: int) -> None:
    for which, t, r in (("first", a, ra), ("second", b, rb)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected tensors, got {type(t).__name__}")
        if t.ndim != r:
            raise ValueError(f"{name}: the {which} operand must be {r}-D, got shape {t.shape}")


def mm(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product: a (n, k), b (k, m) -> (n, m), as torch.mm."""
    _ranks("mm", a, b, 2, 2)
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched matrix product without broadcasting: a (B, n, k), b (B, k, m) -> (B, n, m)."""
    _ranks("bmm", a, b, 3, 3)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: shapes {a.shape} and {b.shape}")
    from ..grad_fn_names import named
    return named(matmul(a, b), "BmmBackward0", a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    """Matrix-vector product: a (n, k), v (k,) -> (n,), as torch.mv."""
    _ranks("mv", a, v, 2, 1)
    return matmul(a, v)


def dot(a: Tensor, b: Tensor) -> Tensor:
    """The inner product of two 1-D tensors of one length: a 0-d tensor, as torch.dot."""
    _ranks("dot", a, b, 1, 1)
    check_dot(a, b)   # (before the lengths, as torch)
    if a.shape != b.shape:
        raise ShapeError(f"dot: the vectors have different lengths: {a.shape[0]} and {b.shape[0]}")
    return matmul(a, b)


def vdot(a: Tensor, b: Tensor) -> Tensor:
    """sum(conj(a) * b) of two 1-D tensors of one length: a 0-d tensor, as torch.vdot (``dot`` for real ones)."""
    from .complex_parts import conj
    return dot(conj(a), b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    """The outer product of two 1-D tensors: a (n,), b (m,) -> (n, m), out[i, j] = a[i] b[j]."""
    _ranks("outer", a, b, 1, 1)
    if (a.dtype.kind in "fc") != (b.dtype.kind in "fc"):  # integers meeting floats take the float dtype, as torch
        a, b = (t if t.dtype.kind in "fc" else t.to(dtype=(b if t is a else a).dtype) for t in (a, b))
    return a.reshape(-1, 1) * b.reshape(1, -1)
