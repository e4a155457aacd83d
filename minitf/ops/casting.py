"""Dtype and device moves: astype (differentiable between floating dtypes) and ToDevice."""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, _check_dtype


class AsType(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.in_dtype),)

    def backward_graph(self, g):
        return (astype(g, self.in_dtype),)


class ToDevice(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, device):
        self.src = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, g):
        return (backend.to_device(g, self.src),)

    def backward_graph(self, g):
        return (ToDevice.apply(g, device=self.src),)


def astype(x: Tensor, dtype) -> Tensor:
    """Cast to another dtype (differentiable between floating and complex dtypes)."""
    dtype = _check_dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind not in "fc":
        return Tensor._make(x.data.astype(dtype), None)
    return AsType.apply(x, dtype=dtype)
