"""What the linalg modules share: argument checks with torch's messages, constants, the
kernel call that turns a failed factorisation into torch's error, and small Tensor helpers."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError, DtypeNotImplemented, LinAlgError, ShapeError
from ..tensor import Tensor


def check_matrix(name: str, A, square: bool = True, what: str = "A", floating: bool = True,
                 complex_ok: bool = False) -> None:
    """A float or complex tensor (any dtype unless ``floating``; not complex unless ``complex_ok``)
    of at least 2 dims (square ones if ``square``), or torch's error."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.{name}: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ShapeError(f"linalg.{name}: The input tensor {what} must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.{name}: {what} must be batches of square matrices, but they are "
                         f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if floating:
        check_float(name, A, complex_ok)


def check_float(name: str, A, complex_ok: bool = False) -> None:
    """A float or complex tensor (complex only if ``complex_ok``), or torch's error."""
    if A.dtype.kind == "c" and not complex_ok:
        raise DtypeNotImplemented(f"linalg.{name}: complex tensors are not supported by this op in minitf")
    if A.dtype.kind not in "fc":
        raise DtypeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got {A.dtype}")


def first_failure(info):
    """(prefix, k) for the first non-zero entry k of a LAPACK ``info`` array (...), prefix naming
    its batch element for a batch ("(Batch element 3): ", torch's), or None where all are 0."""
    flat = backend.to_numpy(info).reshape(-1)
    bad = np.flatnonzero(flat)
    if not bad.size:
        return None
    return (f"(Batch element {bad[0]}): " if info.ndim else ""), int(flat[bad[0]])


def const(a) -> Tensor:
    """An array as a Tensor outside the graph."""
    return Tensor._make(a, None)


def eye(n: int, like: Tensor) -> Tensor:
    xp = backend.get_array_module(like.data)
    return const(xp.eye(n, dtype=like.dtype))


def is_complex(A) -> bool:
    return A.dtype.kind == "c"


def diag_embed(v: Tensor) -> Tensor:
    """v: (..., n) -> (..., n, n) with v on the diagonal (differentiable)."""
    return v.unsqueeze(-1) * eye(v.shape[-1], v)


def call(name: str, op: str, *arrays, **kwargs):
    """``xp.linalg.<op>`` on the arrays; a singular or non-positive-definite matrix raises
    :class:`~minitf.errors.LinAlgError` with torch's message (which matrix of the batch, which
    diagonal element or leading minor), found again on the host: the error path only."""
    try:
        return backend.linalg_op(op, *arrays, checked=True, **kwargs)
    except np.linalg.LinAlgError:
        pass
    a = backend.to_numpy(arrays[0])
    flat = a.reshape((-1,) + a.shape[-2:])
    prefix = ""
    for b, m in enumerate(flat):
        try:
            (np.linalg.cholesky if op == "cholesky" else np.linalg.inv)(m)
        except np.linalg.LinAlgError:
            prefix = f"(Batch element {b}): " if a.ndim > 2 else ""
            break
    else:
        m = flat[0]
    n = m.shape[-1]
    if op == "cholesky":   # potrf stops at the first leading minor that is not positive
        k = next((k for k in range(1, n + 1) if not _factors(m[:k, :k])), n)
        raise LinAlgError(f"{name}: {prefix}The factorization could not be completed because the input is not "
                          f"positive-definite (the leading minor of order {k} is not positive-definite).") from None
    if op == "solve":
        raise LinAlgError(f"torch.{name}: {prefix}The solver failed because the input matrix is singular.") from None
    # getrf's first zero pivot: the first column in the span of the ones before it
    k = next((k for k in range(1, n + 1) if np.linalg.matrix_rank(m[:, :k]) < k), n)
    raise LinAlgError(f"{name}: {prefix}The diagonal element {k} is zero, the inversion could not be completed "
                      f"because the input matrix is singular.") from None


def _factors(m) -> bool:
    try:
        np.linalg.cholesky(m)
        return True
    except np.linalg.LinAlgError:
        return False


class _NoDerivative(Function):
    """An op without a gradient, as torch's: its outputs are recorded, and backward raises torch's error."""

    takes_complex = True

    @staticmethod
    def forward(ctx, op, outputs, error, message, *inputs):
        ctx.error, ctx.message = error, message or f"derivative for aten::{op} is not implemented"
        return outputs if len(outputs) > 1 else outputs[0]

    @staticmethod
    def backward(ctx, *grads):
        raise ctx.error(ctx.message)


def _no_derivative(op: str, outputs: tuple, *inputs, error=RuntimeError, message=None):
    """The outputs, recorded (as torch's) as an op whose backward raises ``error(message)`` (torch's
    for the op: by default "derivative for aten::<op> is not implemented"), when an input needs a gradient."""
    if any(t.requires_grad for t in inputs):
        return _NoDerivative.apply(op, outputs, error, message, *inputs)
    return outputs if len(outputs) > 1 else outputs[0]
