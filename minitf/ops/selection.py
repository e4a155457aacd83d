"""Elementwise selection: where (the gradient flows to the chosen branch) and masked_fill."""
from __future__ import annotations

from ..errors import DtypeError, broadcast_error
from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .promotion import promote_operands, result_type
from ._util import as_tensor, scalar_tensor


class Where(Function):
    saves_inputs = saves_output = False

    def forward(self, a, b, cond):
        self.cond = cond
        return backend.get_array_module(a).where(cond, a, b)

    def backward(self, g):  # the gradient flows to the branch that was chosen
        xp = backend.get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        return xp.where(self.cond, g, zero), xp.where(self.cond, zero, g)

    def backward_graph(self, g):
        zero = as_tensor(0.0, g)
        return Where.apply(g, zero, cond=self.cond), Where.apply(zero, g, cond=self.cond)


def where(cond, a=None, b=None) -> Tensor:
    """Elementwise ``a`` where ``cond`` is true, else ``b`` (cond is not differentiated); ``a`` and
    ``b`` may both be numbers (the result then has cond's shape and their promoted dtype).
    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as torch."""
    if a is None or b is None:
        if a is None and b is None:
            from .indexing import nonzero
            return nonzero(cond, as_tuple=True)
        raise TypeError("where: give both a and b (or neither: where(cond) is nonzero(cond, as_tuple=True))")
    if getattr(cond, "_vmap_batched", False) or getattr(a, "_vmap_batched", False) \
            or getattr(b, "_vmap_batched", False):   # inside vmap: the batching rule
        from ..func.batching_fns import where as batched
        return batched(cond, a, b)
    ref = a if isinstance(a, Tensor) else b
    if not isinstance(ref, Tensor):
        if not isinstance(cond, Tensor):
            raise TypeError("where: the condition or one of a and b must be a tensor")
        # two numbers: 0-d constants of their promoted dtype (floats: the default one), as torch
        dtype = result_type(a, b)
        a, b = scalar_tensor(a, dtype, cond), scalar_tensor(b, dtype, cond)
        ref = a
    a, b = promote_operands(a, b)  # PyTorch's promotion (minitf.ops.promotion)
    cond_data = cond.data if isinstance(cond, Tensor) else as_tensor(cond, ref).data
    if type(cond_data) is not type(ref.data):
        raise backend.DeviceError(f"where: condition on {backend.device_of(cond_data)}, values on {ref.device}")
    if cond_data.dtype.kind != "b":
        raise DtypeError(f"where: the condition must be boolean, got {cond_data.dtype}")
    try:
        return Where.apply(a, b, cond=cond_data)
    except ValueError:
        raise broadcast_error("where", cond_data.shape, a.shape, b.shape) from None


def masked_fill(x: Tensor, mask, value: float) -> Tensor:
    """``x`` with ``value`` (a number or a 0-d tensor) wherever ``mask`` (boolean, broadcastable)
    is true; x's dtype kept, the value converted to it as torch (a value it cannot hold, 1j for a
    real x, 2.5 for an int8 one is 2, 300 refused: :mod:`minitf.ops.fill_values`). x: any shape -> the same."""
    if getattr(x, "_vmap_batched", False) or getattr(mask, "_vmap_batched", False) \
            or getattr(value, "_vmap_batched", False):
        from ..func.batching_fns import masked_fill as batched
        return batched(x, mask, value)
    from ..grad_fn_names import named
    from .fill_values import fill_number, fill_tensor_value
    if isinstance(value, Tensor):
        v = fill_tensor_value("masked_fill", value, x.dtype)
    else:
        v = as_tensor(fill_number("masked_fill", value, x.dtype), x)
    if v.dtype != x.dtype:   # (torch's result has x's dtype, whatever the value's)
        v = v.to(x.dtype)
    return named(where(mask, v, x), "MaskedFillBackward0", x)
