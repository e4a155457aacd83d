"""torch's in-place ``_`` methods that are an out-of-place op written back: ``exp_``, ``lerp_``,
``index_add_``, ``scatter_``... and the shape-changing ones (``unsqueeze_``, ``t_``...).

One factory, :func:`from_op`, makes each from its out-of-place op with the rules of
:mod:`minitf.ops.inplace`: outside the graph the result is written into x's array; when a
gradient flows the change is recorded (x takes the op as its grad_fn, ops that saved x's old
value raise at backward through the version counter); a leaf that requires grad is refused
outside ``no_grad()``; the result must cast to x's dtype (``int_tensor.exp_()`` is an error,
as torch).
"""
from __future__ import annotations


from .. import autograd, debughooks
from ..tensor import Tensor
from .inplace import (_check_cast, _check_value, _check_writable, _needs_graph, _record, _tangent_flows,
                      _write_back)


def from_op(name: str, op):
    """``x.<name>(*args, **kwargs)``: ``op(x, *args, **kwargs)`` written into x, as torch."""
    def inplace(x: Tensor, *args, **kwargs) -> Tensor:
        _check_writable(x, name)
        tensors = [a for a in args if isinstance(a, Tensor)] + [a for a in kwargs.values() if isinstance(a, Tensor)]
        for t in tensors:
            _check_value(x, t, name)  # one device
        if _needs_graph(x, *tensors):
            # x itself among the arguments (x.atan2_(x)) is its old value there, as the first one
            a_args = lambda a: [a if t is x else t for t in args]  # noqa: E731
            a_kw = lambda a: {k: a if t is x else t for k, t in kwargs.items()}  # noqa: E731
            return _record(x, None, name, lambda a, _: _cast_checked(name, op(a, *a_args(a), **a_kw(a)), x),
                           reads=tensors)
        r = _cast_checked(name, op(x, *args, **kwargs), x)
        return _write_back(x, r.data, name)
    inplace.__name__ = name
    inplace.__doc__ = f"In place: PyTorch's ``Tensor.{name}``, the result of ``{name[:-1]}`` written into x."
    return inplace


def _cast_checked(name: str, r: Tensor, x: Tensor) -> Tensor:
    _check_cast(name, r.dtype, x)   # torch's can_cast rule, as every in-place op (errors.DtypeError)
    return r if r.dtype == x.dtype else r.to(dtype=x.dtype)


def reshaping(name: str, op):
    """``x.<name>(...)`` for a view op (unsqueeze_, squeeze_, t_, transpose_): x becomes
    ``op(x, ...)``'s view of its own storage (shape and strides change, the data does not),
    its version bumped as torch's; recorded when x is in a graph (a leaf that requires grad
    is refused, as torch)."""
    def inplace(x: Tensor, *args) -> Tensor:
        if autograd._tls.hooks:   # allow_mutation_on_saved_tensors: a saved x is cloned before its shape changes
            debughooks.before_write(x)
        if autograd._tls.grad_enabled and x._requires_grad:
            if x._fn is None:
                raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place "
                                   f"operation (change it under minitf.no_grad())")
            old = autograd.as_it_was(x)  # the tensor as ops recorded before saw it
            # the version first (ops that saved x before see the change, as torch's), then the
            # view op, recorded on the old tensor after it
            autograd.bump_version(x)
            res = op(old, *args)
            x._prev = (autograd._epoch, old)
            x.data, x._fn = res.data, res._fn
            x._fn._epoch = autograd._epoch
        else:
            x.data = op(x.detach(), *args).data  # a view of the same memory
            autograd.bump_version(x)
        if getattr(x, "_view_of", None) is not None:
            x._view_of = None  # the index it was taken with no longer names x's elements
        if autograd._tls.hooks and _tangent_flows(x):   # forward AD: the tangent takes the same view of itself
            from ..forward_inplace import reshape_tangent
            reshape_tangent(x, lambda t: op(t, *args))
        return x
    inplace.__name__ = name
    inplace.__doc__ = f"In place: PyTorch's ``Tensor.{name}`` (x's shape changes, its memory is kept)."
    return inplace



# the methods, one line each from their out-of-place ops (imported at the end: the ops import
# minitf.ops.inplace, which this module imports)
from . import arithmetic as _a, elementwise as _e, index_ops as _ix, indexing as _ig  # noqa: E402
from . import div_modes as _dm, shape as _s, unary as _u, views as _v  # noqa: E402
from .pointwise import abs as _abs  # noqa: E402

exp_, log_, sqrt_ = from_op("exp_", _e.exp), from_op("log_", _e.log), from_op("sqrt_", _e.sqrt)
sigmoid_, tanh_ = from_op("sigmoid_", _e.sigmoid), from_op("tanh_", _e.tanh)
_abs_written = from_op("abs_", _abs)


def abs_(x: Tensor) -> Tensor:
    """In place: |x| written into x; refused for a complex x, as torch (|z| is real)."""
    if x.data.dtype.kind == "c":
        from ..errors import DtypeError
        raise DtypeError("abs_: In-place abs is not supported for complex tensors (as torch); use abs(x)")
    return _abs_written(x)
pow_ = from_op("pow_", _a.pow)
floor_, ceil_, trunc_ = from_op("floor_", _u.floor), from_op("ceil_", _u.ceil), from_op("trunc_", _u.trunc)
round_, sign_ = from_op("round_", _u.round), from_op("sign_", _u.sign)
lerp_, addcmul_, addcdiv_ = from_op("lerp_", _u.lerp), from_op("addcmul_", _u.addcmul), from_op("addcdiv_", _u.addcdiv)
div_rounded_ = from_op("div_", _dm.div)  # div_(other, rounding_mode=...): plain div_ is ops.inplace's
index_add_, index_copy_ = from_op("index_add_", _ix.index_add), from_op("index_copy_", _ix.index_copy)
index_fill_ = from_op("index_fill_", _ix.index_fill)
scatter_, scatter_add_ = from_op("scatter_", _ig.scatter), from_op("scatter_add_", _ig.scatter_add)
unsqueeze_, squeeze_ = reshaping("unsqueeze_", _v.unsqueeze), reshaping("squeeze_", _v.squeeze)
t_, transpose_ = reshaping("t_", _v.t), reshaping("transpose_", _s.swapaxes)
# torch's math ops of minitf.ops.more_math, in place (a float result into an integer x is refused, as torch)
from . import more_math as _mm  # noqa: E402
log2_, log10_, exp2_ = from_op("log2_", _mm.log2), from_op("log10_", _mm.log10), from_op("exp2_", _mm.exp2)
sinh_, cosh_, tan_ = from_op("sinh_", _mm.sinh), from_op("cosh_", _mm.cosh), from_op("tan_", _mm.tan)
asin_, atan_, erf_ = from_op("asin_", _mm.asin), from_op("atan_", _mm.atan), from_op("erf_", _mm.erf)
logit_, atan2_, hypot_ = from_op("logit_", _mm.logit), from_op("atan2_", _mm.atan2), from_op("hypot_", _mm.hypot)
