"""Which ops take complex tensors, and the one error of those that do not.

minitf's ops were written for real tensors, and most of their backwards are wrong for complex
ones (torch's gradient of a complex input is the conjugate Wirtinger derivative: ``g * conj(b)``
for ``a * b``, not ``g * b``). Testing every op's inputs for a complex dtype would cost every real
program on every op, so the test is made only once a complex dtype has appeared: naming one
(``dtype=mt.complex64``, ``.to(mt.cdouble)``), building a complex tensor (``mt.tensor([1j])``,
``from_numpy`` of a complex array) or a complex op (``mt.complex``, ``mt.fft``) calls
:func:`arm`, which registers a debug hook (:mod:`minitf.debughooks`). From then on every
``Function.apply`` takes the hooked path, where :meth:`_Guard.route` looks at the inputs:

* no complex input: the op runs as always (a real-to-complex cast is sent to its complex form);
* a complex input to an op whose backward holds for complex numbers as written (add, sum,
  reshape, indexing, cat, and the other real-linear maps: diagonal, tril, scatter_add, pad ...): it
  runs as always;
* a complex input to an op with a complex form (mul, div, matmul, exp, pow, abs, casts; sqrt, log,
  sin, tanh, acos ..., prod, einsum, linear, lerp; var, std, the norms, logcumsumexp): that form runs
  (:mod:`minitf.ops.complex_backward`, :mod:`minitf.ops.complex_math`,
  :mod:`minitf.ops.complex_reductions`), the same forward with the conjugates in backward;
* a complex input to any other op: :class:`~minitf.errors.DtypeNotImplemented` naming the op,
  never a result with a silently wrong gradient.

Until then real programs pay nothing (the engine's test of an empty hook tuple); after, each op's
forward pays the route, about 0.6 us (a chain of 200 small real ops, forward and backward: 1.00 ms
unarmed, 1.13 ms armed, best of 40), and backward keeps its fast walk (the guard times and shows
nothing: ``watches = False``). Ops that compute outside the graph without a Function
(comparisons, sort, argmax, unique ...) are not seen by the guard: each calls :func:`refuse`
(through ``ops._util.refuse_complex``) behind a test of the engine's hook tuple, empty until this
guard is armed (one attribute read for real programs, and no import of this module), so that they
refuse complex input as torch does rather than give NumPy's lexicographic order; those that test
their input's dtype anyway (heaviside, signbit, isposinf, nansum, special's Bessel functions and
polynomials, whose float kernels would keep the real part) call it behind that test.
"""
from __future__ import annotations

from . import debughooks
from .errors import DtypeNotImplemented

_routes = None   # op class -> the class that runs it on complex input (itself when it needs no change)


def _load_routes() -> dict:
    from .ops import arithmetic, reduction, shape, views, backward_ops, joining, casting, complex_backward
    from .ops import _util, subscript, elementwise, pointwise, layout, selection, cumulative, padding
    same = [arithmetic.Add, arithmetic.Sub, arithmetic.Neg, reduction.Sum, reduction.Mean, shape.Reshape,
            shape.Permute, layout.Roll, layout.Flip, subscript.GetItem, joining.Concatenate, joining.Stack, views.Clone, views.Contiguous,
            views.Expand, views.Repeat, casting.ToDevice, _util.OpResult, backward_ops.BroadcastTo,
            backward_ops.Scatter, selection.Where, cumulative.Cumsum,
            padding.ConstantPad, padding.GatherPad]   # (copies: their backward scatter-adds, no conjugate)
    # linear maps with real coefficients (selections, masks, scatters, windows): their backwards (the
    # transposed maps) are the complex adjoints as written
    from .ops import more_shapes, inplace, indexing, index_reduce, strided, fold
    same += [more_shapes.Diagonal, more_shapes.DiagonalScatter, pointwise.TriMask, inplace.IndexPut,
             indexing.ScatterAdd, index_reduce.MaskedScatter, strided.Unfold, strided.Fold, fold.Unfold, fold.Fold]
    routes = {cls: cls for cls in same}
    cb = complex_backward
    routes.update({arithmetic.Mul: cb.Mul, arithmetic.Div: cb.Div, arithmetic.MatMul: cb.MatMul, arithmetic.Pow: cb.Pow,
                   elementwise.Exp: cb.Exp, pointwise.Abs: cb.Abs, casting.AsType: cb.AsType})
    from .ops import unary, statistics, binary_math, complex_math as cm
    routes.update({elementwise.Log: cm.Log, elementwise.Sqrt: cm.Sqrt, elementwise.Tanh: cm.Tanh,
                   elementwise.Sigmoid: cm.Sigmoid, unary.Sin: cm.Sin, unary.Cos: cm.Cos, unary.Square: cm.Square,
                   unary.Rsqrt: cm.Rsqrt, unary.Reciprocal: cm.Reciprocal, unary.Log1p: cm.Log1p,
                   unary.Expm1: cm.Expm1, pointwise.PowTensor: cm.PowTensor, cumulative.Prod: cm.Prod,
                   cumulative.Cumprod: cm.Cumprod, statistics.Norm2: cm.Norm2,
                   binary_math.LogAddExp: cm.LogAddExp})
    from .ops import scan, complex_reductions as cr
    routes.update({statistics.NormP: cr.NormP, reduction.Var: cr.Var, statistics.Std: cr.Std,
                   scan.LogCumSumExp: cr.LogCumSumExp})
    from .ops import more_math as mm, special as sp
    routes.update({f.function: cm.conjugated(f.function) for f in (mm.log2, mm.log10, mm.exp2, mm.sinh, mm.cosh,
                                                                   mm.tan, mm.asin, mm.atan, sp.acos, sp.asinh,
                                                                   sp.atanh, sp.sinc)})
    routes[sp.acosh.function] = cm.Acosh
    from .ops.einsum import Einsum
    routes[Einsum] = cm.conjugated(Einsum)   # (multilinear: g contracted with the others' conjugates)
    routes[unary.Lerp] = cm.conjugated(unary.Lerp)   # (linear in start and end, bilinear with weight)
    from .ops.linear import Linear
    routes[Linear] = cm.Linear
    from .ops import conv   # (the three bilinear maps, each the others' backward, written as formulas)
    routes.update({cls: cm.conjugated(cls) for cls in (conv.Conv, conv.ConvTranspose, conv.ConvWeight)})
    return routes


class _Guard:
    """The debug hook that checks complex inputs (see the module docstring); it times nothing."""

    watches = False   # (debughooks: route only, no timing, backward keeps its fast walk)
    real_ops_unchanged = True   # real inputs run as without it (the fused decode step may run: nn/block.py)

    def route(self, cls, inputs, params):
        """The class to run ``cls.apply(*inputs, **params)`` with, or the error for complex input."""
        global _routes
        for t in inputs:
            if t.data.dtype.kind == "c":
                break
        else:
            if params.get("dtype") is not None and getattr(params["dtype"], "kind", "") == "c":
                if _routes is None:
                    _routes = _load_routes()
                return _routes.get(cls, cls)   # a real tensor cast to complex: its gradient is the real part
            return cls
        if getattr(cls, "takes_complex", False):   # the complex ops' own Functions (complex_parts, fft)
            return cls
        if _routes is None:
            _routes = _load_routes()
        target = _routes.get(cls)
        if target is None and any(c.__name__ in ("_UserNode", "_Unpack") for c in cls.__mro__[1:]):
            raise DtypeNotImplemented(
                f"{_op_name(cls)}: complex input to a custom autograd.Function: set takes_complex = True on the "
                f"class once its backward gives torch's gradient (the conjugate Wirtinger derivative: "
                f"docs/autograd.md, 'Complex gradients')")
        if target is None:
            raise unsupported(_op_name(cls))
        return target


def unsupported(name: str) -> DtypeNotImplemented:
    """The error of an op that minitf does not run on complex tensors (whether or not torch does)."""
    return DtypeNotImplemented(
        f"{name}: complex tensors are not supported by this op in minitf (complex support "
        f"covers arithmetic, matmul, einsum, linear, exp, log, sqrt, the trigonometric and hyperbolic "
        f"functions and their inverses, abs, angle, sum/mean/prod/cumsum, var/std, the norms, linalg, "
        f"shapes, indexing, where, cat/stack and torch.fft: "
        f"see docs/api.md, 'Complex numbers')")



def refuse(name: str, *tensors, why: str = "complex numbers have no order") -> None:
    """Raise torch's refusal if any of ``tensors`` (Tensors or arrays) is complex: for the ops
    outside the graph (``<``, sort, argmax ...). Callers test ``armed`` first."""
    for t in tensors:
        if getattr(getattr(t, "dtype", None), "kind", "") == "c":
            raise DtypeNotImplemented(f"{name}: not implemented for complex tensors ({why}), as torch")


def _op_name(cls) -> str:
    name = getattr(cls, "__name__", "op")
    return name[:-8] if name.endswith("Backward") else name.lower()


_GUARD = _Guard()
armed = False


def arm() -> None:
    """Make every op check its inputs for complex dtypes from now on (idempotent)."""
    global armed
    if not armed:
        armed = True
        debughooks.push(_GUARD)


def disarm() -> None:
    """Stop checking (the tests' isolation: a program that made a complex tensor stays armed)."""
    global armed
    armed = False
    debughooks.pop(_GUARD)
