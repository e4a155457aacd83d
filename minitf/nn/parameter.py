"""Parameter: the Tensor a Module learns; Buffer, torch's marker of a buffer; and the two gradient
helpers ``Module.to`` uses."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..creation import get_default_dtype, resolve_device
from ..dtypes import _check_dtype
from ..errors import DtypeError
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module owns as a learnable weight (requires grad by default).

    ``Parameter(data)`` takes a Tensor (its data is shared, not copied) or a
    backend array; the data must be floating point. Python data (a list, a float)
    gets the default dtype (:func:`minitf.get_default_dtype`).
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data.data
        elif not hasattr(data, "dtype") or isinstance(data, np.generic):
            data = np.asarray(data, dtype=get_default_dtype())
        if requires_grad and data.dtype.kind != "f":
            # torch's class (RuntimeError, from requires_grad); without grad any dtype, as torch's
            raise DtypeError(f"Parameter: only floating point data can require gradients, got dtype {data.dtype}")
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A Tensor that, assigned to a Module attribute, is registered as a buffer (torch 2.13's
    ``nn.Buffer``): ``self.mask = nn.Buffer(t, persistent=False)`` is
    ``self.register_buffer("mask", t, persistent=False)``. ``Buffer(data)`` shares ``data``'s
    storage (a Tensor or a backend array; None: an empty float tensor) and its requires_grad;
    the module keeps the Buffer object itself.
    """

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent: bool = True):
        requires_grad = False
        if data is None:
            data = np.empty(0, get_default_dtype())
        elif isinstance(data, Tensor):
            data, requires_grad = data.data, data.requires_grad
        elif not hasattr(data, "dtype") or isinstance(data, np.generic):
            raise TypeError(f"Buffer: data must be a Tensor, got {type(data).__name__}")
        super().__init__(data, requires_grad=requires_grad)
        self.persistent = bool(persistent)


def factory_kwargs(kwargs) -> dict:
    """torch's ``nn.factory_kwargs``: ``kwargs`` (a dict or None) checked and put in the form a
    factory takes (``mt.empty(3, **nn.factory_kwargs(kwargs))``). The keys it knows are
    ``device``, ``dtype`` and ``memory_format``; a ``factory_kwargs`` dict inside it is merged in
    (for a module whose own signature already uses one of those names). Any other key, or a key
    given both ways, is a TypeError, as torch's."""
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    unexpected = set(kwargs) - simple - {"factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    out = {k: kwargs[k] for k in simple if k in kwargs}
    for k, v in (kwargs.get("factory_kwargs") or {}).items():
        if k in out:
            raise TypeError(f"{k} specified twice, in **kwargs and in factory_kwargs")
        out[k] = v
    return out


def empty_parameter(*shape, device=None, dtype=None) -> Parameter:
    """An uninitialised Parameter of ``shape``, for an ``nn.init`` fill: a layer's factory
    arguments, as torch's. ``device`` None: the default device (``mt.set_default_device``,
    ``with mt.device(...)``; the CPU unless set); ``dtype`` None: the default dtype, read now (as
    torch's layers take ``torch.get_default_dtype()`` when they are built). A dtype that is not
    floating point is a DtypeError (a TypeError, and torch's RuntimeError: a parameter learns)."""
    return Parameter(backend.array_module(resolve_device(device)).empty(shape, parameter_dtype(dtype)))


def parameter_dtype(dtype) -> np.dtype:
    """A layer's ``dtype`` argument as the dtype of its parameters and floating buffers: the default
    dtype for None, else ``dtype``, which must be floating point (DtypeError: TypeError, and the
    RuntimeError torch's layers raise)."""
    dtype = get_default_dtype() if dtype is None else _check_dtype(dtype)
    if dtype.kind != "f":
        raise DtypeError(f"a layer's parameters must be floating point, got dtype={dtype}")
    return dtype


def _grad_array(p):
    """The backend array of ``p.grad`` (or None), whether ``.grad`` holds an array or a Tensor."""
    g = p.grad
    return g.data if isinstance(g, Tensor) else g


def _set_grad_array(p, a) -> None:
    """Replace the gradient's values by array ``a``, keeping a Tensor ``.grad`` the same object."""
    if isinstance(p.grad, Tensor):
        p.grad.data = a
    else:
        p.grad = a
