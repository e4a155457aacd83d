"""torch's ``out=`` keyword on the top-level functions: ``mt.exp(x, out=y)`` writes the result into ``y``.

    y = mt.empty(3)
    mt.add(a, b, out=y)          # y holds a + b; the call returns y itself
    v, i = mt.empty(0), mt.empty(0, dtype=mt.int64)
    mt.max(m, 1, out=(v, i))     # functions returning a tuple take a tuple of outputs

As torch's: the result is computed, then written into ``out`` (so ``mt.exp(x, out=x)`` is safe);
``out`` is resized to the result's shape (with torch's deprecation warning when it had elements
of another shape; an empty ``out`` is resized silently); the result's dtype must be castable to
``out``'s under "same kind" casting (float into int, or anything into bool, is refused), and index
results (argmax, the indices of max/sort/topk, ...) need an ``int64`` out exactly. Functions with
``out=`` do not record a graph: with grad mode on, an input or ``out`` that requires grad is
refused (torch's error).

Only the top-level ``minitf.<name>`` functions take ``out=`` (as torch's ``torch.<name>``); the
``minitf.functional`` forms and the Tensor methods do not, and neither do views (reshape, t, ...).
"""
from __future__ import annotations

import functools
import warnings

# the top-level functions given an `out=`: each one that torch.<name> accepts `out=` for
# (tests/test_out_arguments.py checks every name against torch)
OUT_NAMES = (
    "exp", "log", "sqrt", "tanh", "sigmoid", "matmul", "where", "cat", "concat", "concatenate", "stack",
    "abs", "absolute", "clamp", "clip", "clamp_min", "clamp_max", "amax", "amin", "argmax", "argmin", "std", "norm",
    "tril", "triu", "sum", "mean", "var", "pow", "max", "min", "maximum", "minimum", "log1p", "expm1",
    "sin", "cos", "square", "rsqrt", "reciprocal", "sign", "floor", "ceil", "round", "trunc", "fix",
    "nan_to_num", "lerp", "addcmul", "addcdiv", "logsumexp", "prod", "cumsum", "cumprod", "any", "all",
    "logical_and", "logical_or", "logical_xor", "logical_not", "eq", "ne", "lt", "le", "gt", "ge",
    "greater", "greater_equal", "less", "less_equal", "not_equal", "gather", "index_select",
    "masked_select", "nonzero", "sort", "topk", "diag", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger",
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg", "negative",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "floor_divide", "remainder", "fmod",
    "log2", "log10", "exp2", "sinh", "cosh", "tan", "asin", "atan", "arcsin", "arctan", "erf", "logit",
    "atan2", "arctan2", "hypot",
)
# the same for the top-level names imported on first use (minitf/__init__.py's lazy groups)
LAZY_OUT_NAMES = frozenset({
    "acos", "arccos", "acosh", "arccosh", "asinh", "arcsinh", "atanh", "arctanh", "erfc", "erfinv", "sgn",
    "signbit", "frac", "deg2rad", "rad2deg", "sinc", "xlogy", "logaddexp", "logaddexp2", "float_power",
    "copysign", "heaviside", "nextafter", "ldexp", "fmax", "fmin", "cummax", "cummin", "logcumsumexp", "kron",
    "addmm", "addmv", "addr", "baddbmm", "addbmm", "digamma", "polygamma", "i0", "igamma", "igammac",
    "nansum", "nanmean", "quantile", "nanquantile", "hstack", "vstack", "dstack", "column_stack", "diff",
    "tensordot", "take", "take_along_dim", "bucketize", "histc", "kthvalue", "mode", "aminmax", "msort",
    "inner", "gcd", "lcm", "isposinf", "isneginf", "searchsorted", "frexp", "median", "nanmedian",
})
# the functions whose (only) result is an index tensor: torch wants an int64 `out` exactly
_INDEX_RESULTS = frozenset({"argmax", "argmin", "nonzero"})


def add_out_keyword(namespace: dict, names) -> None:
    """Give the functions ``namespace[name]`` for ``names`` torch's ``out=`` (in place, in the
    namespace), and every other name of the namespace bound to one of them (an alias: mt.argwhere is
    mt.nonzero) the same wrapper, so that aliases stay one object."""
    for name in names:
        namespace[name] = with_out(namespace[name], name)
    for name, value in list(namespace.items()):
        known = _WRAPPERS.get(id(value))
        if known is not None and known[0] is value:
            namespace[name] = known[1]


def with_out_if_torchs(name: str, fn):
    """``fn`` with ``out=`` when torch's ``name`` takes one (the lazily imported top-level names), else ``fn``."""
    return with_out(fn, name) if name in LAZY_OUT_NAMES else fn


_WRAPPERS = {}   # id(fn) -> (fn, its wrapper): one wrapper per function, so aliases stay one object


def with_out(fn, name: str):
    """``fn`` with torch's ``out=`` keyword (see the module's docstring); ``out=None`` is ``fn`` itself.
    ``name``: the function's name in messages (the first name it was wrapped under)."""
    known = _WRAPPERS.get(id(fn))
    if known is not None and known[0] is fn:
        return known[1]

    @functools.wraps(fn)
    def taking_out(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        _refuse_graph(name, out, args, kwargs)
        result = fn(*args, **kwargs)
        if isinstance(result, tuple):
            return _write_tuple(name, result, out)
        if isinstance(out, (tuple, list)):
            raise TypeError(f"{name}(): argument 'out' must be a Tensor, not {type(out).__name__}")
        return write_out(name, result, out, exact=name in _INDEX_RESULTS)
    _WRAPPERS[id(fn)] = (fn, taking_out)
    return taking_out


def _refuse_graph(name: str, out, args, kwargs) -> None:
    from .autograd import is_grad_enabled
    if not is_grad_enabled():
        return
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if any(getattr(t, "requires_grad", False) for t in (*outs, *_tensors(args), *_tensors(kwargs.values()))):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")


def _tensors(values):
    # the tensors among a call's arguments, one level into lists and tuples (cat's, stack's sequences)
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from v
        else:
            yield v


def _write_tuple(name: str, result: tuple, out):
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise TypeError(f"{name}(): 'out' must be a tuple of {len(result)} Tensors for this call, "
                        f"got {type(out).__name__}" + (f" of {len(out)}" if isinstance(out, (tuple, list)) else ""))
    fields = getattr(result, "_fields", ())   # (values, indices) of max, sort, topk...: indices are int64 exactly
    written = [write_out(name, r, o, exact=i < len(fields) and fields[i] == "indices")
               for i, (r, o) in enumerate(zip(result, out))]
    return type(result)(*written) if fields else tuple(written)


def write_out(name: str, result, out, *, exact: bool = False):
    """Write ``result`` into ``out`` as torch's ``out=`` does, and return ``out``.

    ``exact``: ``out`` must have ``result``'s dtype (index results); otherwise the dtype must be
    castable to ``out``'s under same-kind casting."""
    from .tensor import Tensor
    from .ops.promotion import can_cast
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    if exact and out.dtype != result.dtype:
        raise RuntimeError(f"{name}(): expected out tensor to have dtype {result.dtype}, but got {out.dtype} instead")
    if not can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the desired output type "
                           f"{out.dtype}")
    if out.device != result.device:
        raise RuntimeError(f"{name}(): expected out tensor to be on {result.device}, but got {out.device} instead")
    if tuple(out.shape) != tuple(result.shape):
        if out.numel() != 0:
            warnings.warn(f"{name}(): an output with one or more elements was resized since it had shape "
                          f"{list(out.shape)}, which does not match the required output shape "
                          f"{list(result.shape)}. This behavior is deprecated, as in torch; resize the output "
                          "to zero elements first (out.resize_(0)) to reuse it", UserWarning, stacklevel=3)
        out.resize_(*result.shape)
    from .autograd import no_grad
    with no_grad():
        out.copy_(result)
    return out
