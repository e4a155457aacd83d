"""Arithmetic: add, sub, mul, div, neg, pow, matmul (forward and backward side by side).

Broadcasting follows NumPy; each backward returns gradients of the broadcast
shape and the engine sums them back to each input's shape (``tensor.sum_to``).
"""
from __future__ import annotations

from math import prod

import numpy as np

from .. import autograd as _engine, backend
from ..autograd import Function, keeps_no_tensor
from ..errors import ArgumentError, DtypeError, ShapeError, broadcast_error
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, elementwise_outside_graph, refuse_complex
from .product_dtypes import check_matmul
from .promotion import promote_operands, result_type


class Add(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, a, b):
        return a + b

    def backward(self, g):  # d(a+b)/da = d(a+b)/db = 1
        return g, g

    def backward_graph(self, g):
        return g, g


class AddScaled(Function):
    """a + alpha b as torch's add/sub with alpha: alpha in the operands' dtype, then one fused
    multiply-add (float32; for float16 in float32, then rounded to float16). Computed in float64,
    where alpha b of float32 operands is exact, then rounded as torch rounds. (b * alpha, then + a,
    rounds twice: 1 ulp off torch in a quarter of the elements.) float64 has no wider type here:
    alpha b and the sum round apart, as before. Its node is torch's one AddBackward0 (SubBackward0
    for sub)."""
    saves_inputs = saves_output = False
    saves_tensors = False

    def forward(self, a, b, alpha):
        self.alpha = alpha
        y = a.astype(np.float64, copy=False) + b.astype(np.float64, copy=False) * np.float64(a.dtype.type(alpha))
        return (y.astype(np.float32) if a.dtype == np.float16 else y).astype(a.dtype)

    def backward(self, g):   # alpha g, rounded once: for float16 in float32, as torch's
        if g.dtype == np.float16:
            return g, (g.astype(np.float32) * np.float32(self.alpha)).astype(np.float16)
        return g, g * g.dtype.type(self.alpha)

    def backward_graph(self, g):
        return g, g * self.alpha


class Sub(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g

    def backward_graph(self, g):
        return g, -g


class Mul(Function):
    saves_output = False

    def saved_inputs(self, inputs):  # a's gradient reads b and b's reads a
        return [k for k in (0, 1) if inputs[1 - k]._requires_grad]

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):  # d(ab)/da = b, d(ab)/db = a
        return g * self.b, g * self.a

    def backward_graph(self, g):
        a, b = self.inputs
        return g * b if a._requires_grad else None, g * a if b._requires_grad else None


class Div(Function):
    saves_output = False

    def saved_inputs(self, inputs):  # both gradients read b; b's reads a
        return [0, 1] if inputs[1]._requires_grad else [1]

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 as -(g (a / b)) / b: finite where g / b
        # overflows (a = 0, b tiny: -0, where -(g / b) a / b was NaN; torch's -g ((a / b) / b) too), and
        # for b = a the two gradients are g / a and exactly its negative (x.div_(x): 0)
        return g / self.b, -(g * (self.a / self.b)) / self.b

    def backward_graph(self, g):
        a, b = self.inputs
        return g / b, -(g * (a / b)) / b if b._requires_grad else None


class Neg(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)

    def backward_graph(self, g):
        return (-g,)


def _power(a, e):
    """``a ** e`` for a scalar ``e``, with PyTorch's rsqrt at e = -0.5 (so (-0)^-0.5 = -inf and
    (-inf)^-0.5 = NaN, as torch; C's pow gives +inf and 0); NumPy already takes sqrt at 0.5."""
    if e == -0.5:
        return 1 / backend.get_array_module(a).sqrt(a)
    return a ** e


class Pow(Function):
    saves_output = False

    def forward(self, a, p):
        self.a, self.p = a, p
        return _power(a, p)

    def backward(self, g):  # d(a^p)/da = p a^(p-1), and 0 for p = 0 (0^-1, NaN, inf: still 0, as PyTorch)
        if self.p == 0:
            return (backend.get_array_module(g).zeros_like(g),)
        return (g * (self.p * _power(self.a, self.p - 1)),)

    def backward_graph(self, g):
        p = self.params["p"]
        if p == 0:
            return (Tensor._make(backend.get_array_module(g.data).zeros_like(g.data), None),)
        a = self.inputs[0]
        # a ** -0.5 is Pow's rsqrt (not 1 / sqrt(a) composed): its own derivative -0.5 a^-1.5 then gives
        # torch's sqrt'' = -inf at -0 (the composition's (-1/s^2)(0.5/s) gave +inf)
        return (g * (p * Pow.apply(a, p=p - 1)),)


class MatMul(Function):
    """``a @ b`` with NumPy's rules: batched, broadcast batch dims, 1-D operands."""

    saves_output = False

    def saved_inputs(self, inputs):  # dA reads B and dB reads A
        return [k for k in (0, 1) if inputs[1 - k]._requires_grad]

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):  # dA = G B^T, dB = A^T G (on 1-D-promoted operands)
        a, b = self.a, self.b
        g, a2, b2 = _promote_1d(g, a, b)
        ga = g @ b2.swapaxes(-1, -2)
        # one row in a (per-example weight gradients under vmap: (B, 1, k) inputs): dB is an
        # outer product, the broadcast product gives the same numbers where NumPy's batched
        # matmul over a contracted dim of 1 takes a slow loop (64 x 128 x 128: 1.2 ms, not 0.26)
        gb = a2.swapaxes(-1, -2) * g if a2.shape[-2] == 1 else a2.swapaxes(-1, -2) @ g
        return (_unpromote(ga, a) if a.ndim == 1 else ga), (_unpromote(gb, b) if b.ndim == 1 else gb)

    def backward_graph(self, g):  # the same, in Tensor ops
        a, b = self.inputs
        return matmul_grads(g, a, b, a._requires_grad, b._requires_grad)


def matmul_grads(g, a, b, need_a: bool, need_b: bool):
    """MatMul's backward in Tensor ops, recorded: (g B^T, A^T g) on 1-D-promoted operands (a complex
    matmul passes the conjugates of its operands)."""
    g, a2, b2 = _promote_1d(g, a, b)
    ga = gb = None
    if need_a:
        ga = g @ b2.transpose(-1, -2)
        if a.ndim == 1:
            ga = _unpromote(ga, a)
    if need_b:
        gb = a2.transpose(-1, -2) @ g
        if b.ndim == 1:
            gb = _unpromote(gb, b)
    return ga, gb


def _promote_1d(g, a, b):
    """(g, a2, b2): a matmul's 1-D operands made 2-D as matmul treats them (a as a row, b as a
    column) and its output gradient g given the dims they add; arrays or Tensors alike."""
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a.ndim == 1:
        g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if b.ndim > 1 else g.reshape(1, 1)
    if b.ndim == 1:
        g = g.reshape(g.shape + (1,))
    return g, a2, b2


def _unpromote(grad, operand):
    """The gradient of a promoted 1-D operand back to its shape, summed over any batch dims (the
    row count given, not -1, which NumPy cannot infer when the operand has length 0)."""
    if grad.ndim <= 2:
        return grad.reshape(operand.shape)
    return grad.reshape(prod(grad.shape[:-2]), operand.shape[0]).sum(axis=0)


def _shape_error(name, a, b):
    return broadcast_error(name, a.shape, b.shape)


def _check_alpha(name, a, b, alpha) -> None:
    """torch's rules for ``alpha``, read on the result's dtype: no fraction for an integral result,
    a bool only for a bool one, and a value the dtype can hold (300 for int8, 7e4 for float16;
    a negative integer wraps into an unsigned dtype, as a fill value)."""
    from .fill_values import fill_number
    dt = result_type(a, b)
    if isinstance(alpha, (bool, np.bool_)):
        if dt.kind != "b":
            raise DtypeError(f"{name}: a bool alpha is only for bool results (as torch's 'Boolean alpha only "
                             f"supported for Boolean results'), here {dt}")
        return
    if dt.kind in "biu" and isinstance(alpha, (float, np.floating)):
        raise DtypeError(f"{name}: for integral tensors alpha must not be a floating-point number (as torch), got {alpha}")
    if dt.kind != "c" and isinstance(alpha, (complex, np.complexfloating)):
        raise DtypeError(f"{name}: for non-complex tensors alpha must not be a complex number (as torch), got {alpha}")
    fill_number(name, alpha, dt)   # raises where torch's 'value cannot be converted ... without overflow' does


def _is_bool(x) -> bool:
    return x.data.dtype.kind == "b" if isinstance(x, Tensor) else isinstance(x, (bool, np.bool_))


def check_bool_subtraction(name: str, a, b) -> None:
    """torch refuses a subtraction with a bool operand (a bool tensor, or a Python bool), whatever
    the other: a RuntimeError, naming what to use instead."""
    ba, bb = _is_bool(a), _is_bool(b)
    if ba and bb:
        raise DtypeError(f"{name}: subtraction, the `-` operator, with two bool tensors is not supported "
                         f"(as torch); use the `^` or logical_xor() operator instead")
    if ba or bb:
        raise DtypeError(f"{name}: subtraction, the `-` operator, with a bool tensor is not supported (as torch); "
                         f"to invert a mask use the `~` or logical_not() operator, or convert it with .int() first")


def _broadcasting(cls, name):
    true_division = name == "div"
    refuse_bools = name == "sub"

    def op(a, b, *, alpha=1):
        if type(alpha) is not int or alpha != 1:  # torch.add(a, b, alpha=k) / torch.sub: a + k b
            if refuse_bools:
                check_bool_subtraction(name, a, b)
            _check_alpha(name, a, b, alpha)
            # alpha does not promote: b in the result dtype first, as torch (int8 + 2 * bool is int8)
            a, b = promote_operands(a, b, true_division)
            if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype == b.data.dtype \
                    and a.data.dtype.kind == "f" and not getattr(a, "_vmap_batched", False) \
                    and not getattr(b, "_vmap_batched", False):
                from ..grad_fn_names import named
                try:
                    out = AddScaled.apply(a, b, alpha=float(-alpha if refuse_bools else alpha))
                except ValueError:
                    raise _shape_error(name, a, b) from None
                return named(out, "SubBackward0" if refuse_bools else "AddBackward0", a, b)
            b = b * (bool(alpha) if b.data.dtype.kind == "b" else alpha)
            if isinstance(b, Tensor):   # part of torch's one AddBackward0, which keeps alpha, a number: no tensor
                keeps_no_tensor(b)
        # two tensors of one dtype need no promotion (checked here, not in a call: every op pays it)
        if not (isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype == b.data.dtype
                and (not true_division or a.data.dtype.kind == "f")):
            if refuse_bools:
                check_bool_subtraction(name, a, b)
            a, b = promote_operands(a, b, true_division)
        elif refuse_bools and a.data.dtype.kind == "b":   # the fast path's one extra test, for sub only
            check_bool_subtraction(name, a, b)
        try:
            return cls.apply(a, b)
        except ValueError as e:
            if "broadcast" in str(e) or "operands could not" in str(e):
                raise _shape_error(name, a, b) from None
            raise
    op.__name__ = name
    op.__doc__ = (f"Elementwise ``{name}`` with NumPy broadcasting; gradients are summed back to each input's "
                  f"shape. Mixed dtypes promote by PyTorch's rules (:mod:`minitf.ops.promotion`). ``alpha``: "
                  f"b is multiplied by it first (torch's ``add``/``sub``).")
    return op


add = _broadcasting(Add, "add")
sub = _broadcasting(Sub, "sub")
mul = _broadcasting(Mul, "mul")
div = _broadcasting(Div, "div")


def positive(a: Tensor) -> Tensor:
    """``+a``: ``a`` itself, as ``torch.positive``; a bool tensor is refused, as torch."""
    if a.data.dtype.kind == "b":
        raise DtypeError("positive: the `+` operator on a bool tensor is not supported (as torch)")
    return a


def neg(a: Tensor) -> Tensor:
    """``-a``; a bool tensor is refused, as torch (``~mask`` or logical_not inverts a mask)."""
    if a.data.dtype.kind == "b":
        raise DtypeError("neg: negation of a bool tensor is not supported (as torch); to invert a mask "
                        "use ~mask or mask.logical_not()")
    return Neg.apply(a)


def pow(a, p) -> Tensor:
    """``a ** p``: a scalar exponent, or a tensor one (``x ** y``, ``2 ** x``: gradients to both)."""
    if isinstance(p, (Tensor, np.ndarray)) or not isinstance(a, Tensor):
        from .pointwise import pow as pow_tensor
        return pow_tensor(a, p)
    dtype = result_type(a, p)  # an integer tensor to a float power is float, as PyTorch
    if dtype.kind == "b":   # bool ** True is the mask, bool ** False all True (as torch; NumPy gives int8)
        xp = backend.get_array_module(a.data)
        return Tensor._make(a.data.copy() if p else xp.ones_like(a.data), None)
    if dtype.kind in "iu" and isinstance(p, (int, np.integer)) and p < 0:  # (NumPy's ValueError, torch's RuntimeError)
        raise ArgumentError(f"Integers to negative integer powers are not allowed: pow of a {a.dtype} tensor to {p} "
                            f"(take x.float() ** {p}, or an integer tensor exponent for torch's truncated values)")
    return Pow.apply(a if a.dtype == dtype else a.to(dtype=dtype), p=p)


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's ``matmul`` rules.

    a: (..., n, k), b: (..., k, m) -> (..., n, m), batch dims broadcast;
    a 1-D ``a`` is a row vector (k,), a 1-D ``b`` a column vector (k,).
    """
    a, b = binary_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:   # (torch's dot checks the dtypes before the lengths; mm, mv, bmm after)
        check_matmul(a, b)
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ShapeError(f"matmul: inner dimensions differ: shapes {a.shape} and {b.shape} ({ka} != {kb})")
    check_matmul(a, b)   # one dtype, no promotion: torch's RuntimeError, as its kernel for these shapes words it
    try:
        return MatMul.apply(a, b)
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast") from None


def compare(a, b, op: str) -> Tensor:
    """Elementwise comparison (``less``, ``equal``...): a boolean tensor outside the graph.

    Both sides are first cast to the promoted dtype, as PyTorch compares: ``bool_tensor == 2``
    compares with 2 in int64 (False everywhere), not with ``bool(2)``; ``uint8_tensor < 300``
    wraps the 300 into uint8, as torch does."""
    if getattr(a, "_vmap_batched", False) or getattr(b, "_vmap_batched", False):   # inside vmap: the
        from ..func.batching_fns import outside_graph   # rule, before a number is made a tensor like a
        return outside_graph(op, a, b, compare)
    a, b = promote_operands(a.detach() if isinstance(a, Tensor) else a, b.detach() if isinstance(b, Tensor) else b)
    if _engine._hooks and op not in ("equal", "not_equal"):   # == and != hold for complex numbers; < does not
        refuse_complex(_COMPARE_NAMES[op], a)
    return elementwise_outside_graph(op, a, b)


_COMPARE_NAMES = {"less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge"}


__all__ = ["add", "sub", "mul", "div", "neg", "positive", "pow", "matmul", "compare", "as_tensor"]
