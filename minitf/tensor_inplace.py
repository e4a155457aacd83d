"""The in-place operators (``x += y`` ...) and torch's in-place ``_`` methods of
:class:`minitf.tensor.Tensor`, one line each, delegating to :mod:`minitf.ops.inplace` (the rules)
and :mod:`minitf.ops.inplace_methods`.

A mixin of :class:`minitf.tensor_methods.TensorMethods`, so that module stays one screenful
per concept; ``_m`` is bound on first use (the ops need Tensor, defined after this module).
"""
from __future__ import annotations


_ops = None  # minitf.ops, bound by minitf/tensor.py at the end of its import (as tensor_methods')


def _m():
    from .ops import inplace_methods
    return inplace_methods


def _activation():
    from .ops import activation
    return activation


def _mi():
    from .ops import inplace_math
    return inplace_math


class InPlaceMethods:
    """Elementwise, index and shape-changing in-place methods (no state of their own)."""

    __slots__ = ()

    # ------------------------------------------------------------ in place (minitf.ops.inplace: the rules)
    def __iadd__(self, o): return _ops.add_(self, o)
    def __isub__(self, o): return _ops.sub_(self, o)
    def __imul__(self, o): return _ops.mul_(self, o)
    def __itruediv__(self, o): return _ops.div_(self, o)
    def __ifloordiv__(self, o): return _ops.floor_divide_(self, o)
    def __imod__(self, o): return _ops.remainder_(self, o)
    def __iand__(self, o): return _ops.bitwise_and_(self, o)
    def __ior__(self, o): return _ops.bitwise_or_(self, o)
    def __ixor__(self, o): return _ops.bitwise_xor_(self, o)
    def __ipow__(self, o): return _m().pow_(self, o)  # x **= y changes x in place, as torch's (not x = x ** y)
    def floor_divide_(self, o): return _ops.floor_divide_(self, o)
    def remainder_(self, o): return _ops.remainder_(self, o)
    def fmod_(self, o): return _ops.fmod_(self, o)
    def bitwise_and_(self, o): return _ops.bitwise_and_(self, o)
    def bitwise_or_(self, o): return _ops.bitwise_or_(self, o)
    def bitwise_xor_(self, o): return _ops.bitwise_xor_(self, o)
    def add_(self, o, *, alpha=1): return _ops.add_(self, o, alpha)
    def sub_(self, o, *, alpha=1): return _ops.sub_(self, o, alpha)
    def mul_(self, o): return _ops.mul_(self, o)
    def div_(self, o, *, rounding_mode=None):
        return _ops.div_(self, o) if rounding_mode is None else _ops.inplace_methods.div_rounded_(self, o, rounding_mode=rounding_mode)
    def neg_(self): return _ops.neg_(self)
    def zero_(self): return _ops.zero_(self)
    def fill_(self, value): return _ops.fill_(self, value)
    def copy_(self, src): return _ops.copy_(self, src)
    def clamp_(self, min=None, max=None): return _ops.clamp_(self, min, max)
    def masked_fill_(self, mask, value): return _ops.masked_fill_(self, mask, value)

    # ------------------------------------------------------------ more in place (minitf.ops.inplace_methods)

    def exp_(self): return _m().exp_(self)
    def log_(self): return _m().log_(self)
    def sqrt_(self): return _m().sqrt_(self)
    def abs_(self): return _m().abs_(self)
    def sigmoid_(self): return _m().sigmoid_(self)
    def tanh_(self): return _m().tanh_(self)
    def pow_(self, exponent): return _m().pow_(self, exponent)
    def floor_(self): return _m().floor_(self)
    def ceil_(self): return _m().ceil_(self)
    def round_(self, *, decimals=0): return _m().round_(self, decimals=decimals)
    def trunc_(self): return _m().trunc_(self)
    def sign_(self): return _m().sign_(self)
    def lerp_(self, end, weight): return _m().lerp_(self, end, weight)
    def addcmul_(self, tensor1, tensor2, *, value=1): return _m().addcmul_(self, tensor1, tensor2, value=value)
    def addcdiv_(self, tensor1, tensor2, *, value=1): return _m().addcdiv_(self, tensor1, tensor2, value=value)
    def log2_(self): return _m().log2_(self)
    def log10_(self): return _m().log10_(self)
    def exp2_(self): return _m().exp2_(self)
    def sinh_(self): return _m().sinh_(self)
    def cosh_(self): return _m().cosh_(self)
    def tan_(self): return _m().tan_(self)
    def asin_(self): return _m().asin_(self)
    def atan_(self): return _m().atan_(self)
    def erf_(self): return _m().erf_(self)
    def logit_(self, eps=None): return _m().logit_(self, eps)
    def atan2_(self, other): return _m().atan2_(self, other)
    def hypot_(self, other): return _m().hypot_(self, other)
    arcsin_, arctan_, arctan2_ = asin_, atan_, atan2_
    def unsqueeze_(self, dim): return _m().unsqueeze_(self, dim)
    def squeeze_(self, dim=None): return _m().squeeze_(self, dim)
    def t_(self): return _m().t_(self)
    def transpose_(self, dim0, dim1): return _m().transpose_(self, dim0, dim1)
    # torch's Tensor.relu_ (minitf.relu_ had no method; found porting a CNN tutorial)
    def relu_(self): return _activation().relu_(self)

    # ------------------------------------------------------------ index writes (minitf.ops.index_ops)
    def index_add_(self, dim, index, source, *, alpha=1): return _m().index_add_(self, dim, index, source, alpha=alpha)
    def index_copy_(self, dim, index, source): return _m().index_copy_(self, dim, index, source)
    def index_fill_(self, dim, index, value): return _m().index_fill_(self, dim, index, value)
    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return _m().scatter_(self, dim, index, value if src is None else src, reduce=reduce)
    def scatter_add_(self, dim, index, src): return _m().scatter_add_(self, dim, index, src)

    # math ops in place (minitf/ops/inplace_math.py)
    def acos_(self): return _mi().acos_(self)
    def acosh_(self): return _mi().acosh_(self)
    def asinh_(self): return _mi().asinh_(self)
    def atanh_(self): return _mi().atanh_(self)
    arccos_, arccosh_, arcsinh_, arctanh_ = acos_, acosh_, asinh_, atanh_
    def erfc_(self): return _mi().erfc_(self)
    def erfinv_(self): return _mi().erfinv_(self)
    def sgn_(self): return _mi().sgn_(self)
    def frac_(self): return _mi().frac_(self)
    def deg2rad_(self): return _mi().deg2rad_(self)
    def rad2deg_(self): return _mi().rad2deg_(self)
    def sinc_(self): return _mi().sinc_(self)
    def xlogy_(self, other): return _mi().xlogy_(self, other)
    def float_power_(self, exponent): return _mi().float_power_(self, exponent)
    def copysign_(self, other): return _mi().copysign_(self, other)
    def heaviside_(self, values): return _mi().heaviside_(self, values)
    def nextafter_(self, other): return _mi().nextafter_(self, other)
    def ldexp_(self, other): return _mi().ldexp_(self, other)
    def addmm_(self, mat1, mat2, *, beta=1, alpha=1): return _mi().addmm_(self, mat1, mat2, beta=beta, alpha=alpha)
    def addmv_(self, mat, vec, *, beta=1, alpha=1): return _mi().addmv_(self, mat, vec, beta=beta, alpha=alpha)
    def addr_(self, vec1, vec2, *, beta=1, alpha=1): return _mi().addr_(self, vec1, vec2, beta=beta, alpha=alpha)
    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return _mi().baddbmm_(self, batch1, batch2, beta=beta, alpha=alpha)
    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return _mi().addbmm_(self, batch1, batch2, beta=beta, alpha=alpha)

    # out of place, with the in-place ones' arguments
    def index_add(self, dim, index, source, *, alpha=1):
        return _m()._ix.index_add(self, dim, index, source, alpha=alpha)
    def index_copy(self, dim, index, source): return _m()._ix.index_copy(self, dim, index, source)
    def index_fill(self, dim, index, value): return _m()._ix.index_fill(self, dim, index, value)
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return _m()._ix.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)
    def addcdiv(self, tensor1, tensor2, *, value=1): return _m()._u.addcdiv(self, tensor1, tensor2, value=value)
