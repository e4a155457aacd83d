"""A Tensor as a Python value: len, iteration, bool/float/int/index, format, NumPy and lists.

:class:`ConversionMethods` is a mixin of :class:`minitf.tensor.Tensor` (no state of its own):
the conversions a Python or NumPy caller makes implicitly (``float(loss)``, ``range(t)``,
``np.asarray(t)``, ``f"{loss:.4f}"``) and ``numpy()``, ``item()``, ``tolist()``, as PyTorch's.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .errors import ScalarConversionError


def _grad_enabled() -> bool:
    from .autograd import is_grad_enabled   # (the engine imports Tensor: read it at the call)
    return is_grad_enabled()


class ConversionMethods:
    __slots__ = ()

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):  # without it Python iterates by x[0], x[1], ... and a 0-d tensor gave []
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def _scalar(self, kind: str):
        if self.data.size != 1:
            raise ScalarConversionError(f"only one-element tensors can be converted to a Python {kind}, "
                            f"this one has shape {self.shape}")
        return self.data.item()

    def __bool__(self):
        return bool(self._scalar("bool"))

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) on the CPU, as PyTorch's; a device array refuses the implicit host copy
        a = self.data if dtype is None else self.data.astype(dtype)
        return a.__array__() if type(a) is not np.ndarray else a

    def __float__(self):
        if self._requires_grad and not _scalar_warning_given[0] and _grad_enabled():
            _warn_scalar_of_graph()
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __index__(self):
        # torch's rule: an integer (or bool) tensor of one element is an index, so that
        # range(t), [10, 20][t] and x[t0:t1] work; a float or many elements refuse
        if self.data.size != 1 or self.data.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.data.item())

    def __format__(self, spec):
        # f"{loss:.4f}" formats a 0-d tensor's value, as PyTorch's; others take only the empty spec
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def numpy(self) -> np.ndarray:
        """A host NumPy copy (shares memory on the CPU; read it, don't write it)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The single element as a Python number (synchronises with a GPU)."""
        if self.data.size != 1:
            raise ScalarConversionError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """Nested Python lists of the elements (a host copy)."""
        return self.numpy().tolist()


# float(t) of a tensor that requires grad, with gradients enabled: torch's warning, given once per
# process as torch's TORCH_WARN_ONCE (int(t), bool(t), t.item(), f"{t:.4f}" and float(t) under
# no_grad() do not warn, in torch either);
# a list, so that tests can reset it
_scalar_warning_given = [False]


def _warn_scalar_of_graph() -> None:
    import warnings
    from .settings import is_warn_always_enabled
    _scalar_warning_given[0] = not is_warn_always_enabled()   # mt.set_warn_always(True): every time
    warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                  "Consider using tensor.detach() first.", UserWarning, stacklevel=3)
