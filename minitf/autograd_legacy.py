"""torch.autograd's compatibility names: ``Variable`` (the legacy wrapper, now a tensor) and
``set_multithreading_enabled`` (a switch of the engine's worker threads), as ``mt.autograd.*``.

* ``Variable(data, requires_grad=False)`` is ``data.detach()`` (its data and version counter
  shared) with ``requires_grad`` set, as torch's; ``isinstance(t, Variable)`` holds for every
  Tensor. ``Variable._execution_engine.queue_callback(cb)`` is :func:`minitf.autograd.queue_callback`
  (how code written for torch's engine queues a callback at the end of the backward pass).
* ``set_multithreading_enabled(mode)``: torch runs each accelerator's part of a backward pass on a
  worker thread of the engine unless ``mode`` is False. minitf's engine runs every backward on the
  calling thread (torch's behaviour with ``mode=False``), so the mode is recorded, per thread as
  torch's, and read back by :func:`is_multithreading_enabled`, and changes nothing else.
"""
from __future__ import annotations

import functools
import threading
import warnings

__all__ = ["Variable", "set_multithreading_enabled", "is_multithreading_enabled"]


class _Engine:
    """``Variable._execution_engine``: the engine's methods code written for torch calls directly."""

    @staticmethod
    def queue_callback(callback) -> None:
        """Call ``callback()`` when the backward pass under way ends (:func:`minitf.autograd.queue_callback`)."""
        from .autograd import queue_callback
        queue_callback(callback)


class _VariableClass(type):
    """``isinstance(t, Variable)`` for every Tensor, as torch's VariableMeta."""

    def __instancecheck__(cls, obj) -> bool:
        from .tensor import Tensor
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableClass):
    """torch's legacy ``Variable``: calling it returns a Tensor (see the module docstring).
    data: any shape (None: an empty float tensor of the default dtype)."""

    _execution_engine = _Engine()

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        from .creation import tensor
        from .tensor import Tensor
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with minitf.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        if data is None:
            data = tensor([])
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


_threads = threading.local()


def is_multithreading_enabled() -> bool:
    """The mode :class:`set_multithreading_enabled` set in this thread (True until then, as torch's)."""
    return getattr(_threads, "mode", True)


class set_multithreading_enabled:
    """Record whether backward may use worker threads (torch's; see the module docstring): called as
    a function, the mode changes at once; ``with set_multithreading_enabled(mode):`` restores the
    mode before on leaving; ``@set_multithreading_enabled(mode)`` runs a function in it (and, as
    torch's, leaves the mode set from the decoration on)."""

    def __init__(self, mode: bool):
        self.prev, self.mode = is_multithreading_enabled(), bool(mode)
        _threads.mode = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _threads.mode = self.prev

    def clone(self) -> "set_multithreading_enabled":
        """A new switch to the same mode (torch's)."""
        return self.__class__(self.mode)

    def __call__(self, fn):
        # (torch's decorator leaves the mode __init__ set at decoration time, unlike set_grad_enabled's)
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_multithreading_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper
