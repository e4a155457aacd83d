"""torch's one-dtype rule for its matrix products, with its messages string for string.

torch's matmul, mm, bmm, mv, dot (and vdot, inner, tensordot, addmm, addmv, addbmm, baddbmm)
never promote: two operands of different dtypes -- float32 with float64, a real tensor with a
complex one, an integer tensor with a float one -- are a RuntimeError from the kernel that
refuses them. Each kernel words it in its own way and names the dtypes in its own spelling
(C++'s ``c10::complex<float>`` in mm's, the ScalarType ``ComplexFloat`` in bmm's), and
``matmul`` raises the message of the kernel it dispatches to for the operands' ranks (and, as
torch folds a batch into one mm when it can, their layout and ``requires_grad``).

Every check returns at once for operands of one dtype: the products pay one comparison.
"""
from __future__ import annotations

import numpy as np

from ..errors import DtypeError

# torch's ScalarType names ("expected scalar type Float but found Double") and the C++ type
# names its mm spells ("float != c10::complex<float>")
_SCALAR_TYPE = {"float16": "Half", "float32": "Float", "float64": "Double", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble", "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64"}
_CPP_TYPE = {"float16": "c10::Half", "float32": "float", "float64": "double", "complex64": "c10::complex<float>",
             "complex128": "c10::complex<double>", "int64": "long int", "int32": "int", "int16": "short int",
             "int8": "signed char", "uint8": "unsigned char", "bool": "bool", "uint16": "short unsigned int",
             "uint32": "unsigned int", "uint64": "long unsigned int"}


def scalar_type_name(dtype) -> str:
    """torch's ScalarType name of ``dtype``: Float, Double, ComplexFloat, Long ..."""
    name = np.dtype(dtype).name
    return _SCALAR_TYPE.get(name, name)


def cpp_type_name(dtype) -> str:
    """The C++ type torch's messages name for ``dtype``: float, double, c10::complex<float>, long int ..."""
    name = np.dtype(dtype).name
    return _CPP_TYPE.get(name, name)


def check_mm(m1, m2) -> None:
    """torch.mm's refusal (also of addmm's, linear's and matmul's folded products)."""
    if m1.dtype != m2.dtype:
        raise DtypeError(f"expected m1 and m2 to have the same dtype, but got: {cpp_type_name(m1.dtype)} != "
                         f"{cpp_type_name(m2.dtype)}")


def check_bmm(b1, b2) -> None:
    """torch.bmm's refusal (also baddbmm's, and matmul's batched products)."""
    if b1.dtype != b2.dtype:
        raise DtypeError(f"expected scalar type {scalar_type_name(b1.dtype)} but found {scalar_type_name(b2.dtype)}")


def check_dot(a, b) -> None:
    """torch.dot's (and vdot's) refusal."""
    if a.dtype != b.dtype:
        raise DtypeError(f"dot : expected both vectors to have same dtype, but found {scalar_type_name(a.dtype)} "
                         f"and {scalar_type_name(b.dtype)}")


def check_addmv(input, mat, vec) -> None:
    """torch.addmv's refusal; torch.mv passes the result, of vec's dtype, as ``input``."""
    if not input.dtype == mat.dtype == vec.dtype:
        names = [scalar_type_name(t.dtype) for t in (input, mat, vec)]
        raise DtypeError(f"addmv input tensors must have the same dtype, but got {names[0]}, {names[1]}, and "
                         f"{names[2]}")


def check_addmm(input, mat1, mat2) -> None:
    """torch.addmm's (and addbmm's) refusal: input against mat2 first, then mat1 against mat2."""
    for k, t in (("self", input), ("mat1", mat1)):
        if t.dtype != mat2.dtype:
            raise DtypeError(f"{k} and mat2 must have the same dtype, but got {scalar_type_name(t.dtype)} and "
                             f"{scalar_type_name(mat2.dtype)}")


def check_baddbmm(input, batch1, batch2) -> None:
    """torch.baddbmm's refusal: input against batch1 (naming the three), then bmm's."""
    if input.dtype != batch1.dtype:
        raise DtypeError(f"Input dtypes must be the same, got: input {cpp_type_name(input.dtype)}, batch1: "
                         f"{cpp_type_name(batch1.dtype)}, batch2: {cpp_type_name(batch2.dtype)}")
    check_bmm(batch1, batch2)


def check_tensordot(a, b) -> None:
    """torch.tensordot's (and inner's) refusal."""
    if a.dtype != b.dtype:
        raise DtypeError("both inputs should have same dtype")


def check_matmul(a, b) -> None:
    """torch.matmul's refusal, worded by the kernel torch's matmul takes for these operands:
    dot for two vectors, mv for (..., n, k) @ (k,), mm for (..., n, k) @ (k, m) (a batch folded
    into the rows), bmm for the rest, except that a 1-D or 2-D ``a`` that requires grad (or a
    batch that cannot be folded without a copy) goes to the folded transposed product."""
    if a.dtype == b.dtype:
        return
    if a.ndim == 1 and b.ndim == 1:
        return check_dot(a, b)
    if a.ndim <= 2 and b.ndim <= 2:   # (n, k) @ (k,) is mv; a 1-D a is a row to mm
        return check_addmv(b, a, b) if b.ndim == 1 else check_mm(a, b)
    if _folds(a, b):
        if a.ndim >= b.ndim:   # (a's batch and rows, k) @ b
            return check_addmv(b, a, b) if b.ndim == 1 else check_mm(a, b)
        return check_addmv(a, b, a) if a.ndim == 1 else check_mm(b, a)   # (b^T folded) @ a^T
    return check_bmm(a, b)


def _folds(a, b) -> bool:
    """torch's ``should_fold``: whether matmul makes the larger operand (b transposed when b is
    the larger) one matrix and calls mm or mv, rather than broadcasting to bmm."""
    larger_a = a.ndim >= b.ndim
    big, small = (a, b) if larger_a else (b, a)
    if not (big.ndim >= 3 and small.ndim <= 2):
        return False
    if small.requires_grad:   # (torch folds then, copying if it must, to keep the backward small)
        return True
    if a.ndim == 2:
        return False
    if big.numel() == 0:
        return True
    shape, strides = list(big.shape), list(big.stride())
    if not larger_a:   # big is b.mT
        shape[-2:], strides[-2:] = shape[:-3:-1], strides[:-3:-1]
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


__all__ = ["scalar_type_name", "cpp_type_name", "check_mm", "check_bmm", "check_dot", "check_addmv", "check_addmm",
           "check_baddbmm", "check_tensordot", "check_matmul"]
