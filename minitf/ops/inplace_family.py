"""torch's in-place ``_`` forms of ops minitf already has out of place (``cos_``, ``rsqrt_``,
``eq_``, ``logical_and_``, ``clamp_min_``, ``tril_``, ``cumsum_``...), made from one table by
:func:`minitf.ops.inplace_methods.from_op`, so each has the rules of every in-place op
(:mod:`minitf.ops.inplace`): a leaf that requires grad is refused outside ``no_grad()``, a view
of one too, the version counter makes a backward that saved the old value raise, and a result
type that can't be cast to x's dtype is refused (``int_tensor.cos_()``), as torch.

The Tensor methods of the same names (:mod:`minitf.tensor_api`) are these functions.
"""
from __future__ import annotations

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from . import bitwise as _bw, covariance as _cov, cumulative as _c, index_ops as _ix, logical as _l
from . import number_parts as _n, pointwise as _p, unary as _u
from .inplace_methods import from_op
from .selection import where

# name of the out-of-place op -> its module: x.<name>_(...) is <name>(x, ...) written into x
_TABLE = {
    _u: ("log1p", "expm1", "sin", "cos", "square", "rsqrt", "reciprocal", "nan_to_num", "clamp_min", "clamp_max"),
    _p: ("tril", "triu"),
    _c: ("cumsum", "cumprod"),
    _bw: ("bitwise_not",),
    _ix: ("scatter_reduce",),
    _n: ("gcd", "lcm"),   # (the review of round 3: torch's Tensor.gcd_ / lcm_ / renorm_)
    _cov: ("renorm",),
}
# comparisons: their bool result is written as x's dtype (1 / 0 in a float x), recorded with a zero gradient
_PREDICATES = {_l: ("eq", "ne", "lt", "le", "gt", "ge")}
# the logical ops: written as the comparisons, but never recorded (torch's logical_and_... have no
# autograd formula: x keeps its grad_fn, a leaf that requires grad is not refused; the version is bumped)
_UNRECORDED = {_l: ("logical_and", "logical_or", "logical_xor", "logical_not")}


def _with_zero_grad(op):
    """``op``'s result, linked to x with gradient 0 (torch's EqBackward, LogicalAndBackward...):
    x stays in the graph after ``x.eq_(y)``, as torch's, where a bool result would cut it."""
    def linked(x: Tensor, *args):
        r = op(x, *args)
        if not x.requires_grad:
            return r
        nowhere = Tensor._make(backend.get_array_module(x.data).zeros(x.shape, dtype=bool), None)
        return where(nowhere, x, r.to(dtype=x.dtype))   # the values of r, d/dx = 0
    linked.__name__ = op.__name__
    return linked


def _unrecorded(inplace):
    def write(x: Tensor, *args):
        with no_grad():
            return inplace(x, *args)
    write.__name__, write.__doc__ = inplace.__name__, inplace.__doc__ + " Not recorded, as torch's."
    return write


FUNCTIONS = {}
for _module, _names in _TABLE.items():
    FUNCTIONS.update({n + "_": from_op(n + "_", getattr(_module, n)) for n in _names})
for _module, _names in _PREDICATES.items():
    FUNCTIONS.update({n + "_": from_op(n + "_", _with_zero_grad(getattr(_module, n))) for n in _names})
for _module, _names in _UNRECORDED.items():
    FUNCTIONS.update({n + "_": _unrecorded(from_op(n + "_", getattr(_module, n))) for n in _names})
globals().update(FUNCTIONS)   # minitf.ops.inplace_family.cos_ ... (mt.cos_ through minitf/_lazy.py)
del _module, _names
