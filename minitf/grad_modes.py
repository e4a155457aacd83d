"""The grad-mode switches: ``no_grad`` and ``enable_grad`` (the engine reads the mode they set,
``autograd._tls.grad_enabled``, on every op; both are re-exported by :mod:`minitf.autograd`), and
``set_grad_enabled`` and ``inference_mode``, PyTorch's other two, on top of them.

Every mode is this thread's, as torch's: a ``no_grad()`` in one thread leaves another recording,
and a new thread starts with grad mode on and outside inference mode, whatever the thread that
started it was in (the defaults of :class:`minitf.autograd._ThreadState`)."""
from __future__ import annotations

import functools

from . import autograd as _engine
from .autograd import is_grad_enabled

class no_grad:
    """Context manager (and decorator) that turns graph recording off: ``with no_grad():``,
    ``@no_grad()`` and the bare ``@no_grad``, as torch 2.x (``enable_grad`` likewise)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or one function to decorate; "
                            f"got {type(orig_func).__name__}")
        return super().__new__(cls)(orig_func)  # the bare decorator: the wrapped function

    def __init__(self, orig_func=None):
        pass

    def __enter__(self):
        s = _engine._tls
        self._prev, s.grad_enabled = s.grad_enabled, False

    def __exit__(self, *exc):
        _engine._tls.grad_enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)  # keeps the signature for help() and inspect
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that turns graph recording on, even inside ``no_grad()``
    (``torch.enable_grad``)."""

    def __enter__(self):
        s = _engine._tls
        self._prev, s.grad_enabled = s.grad_enabled, True

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with enable_grad():
                return fn(*args, **kwargs)
        return wrapper



def _switch(mode: bool) -> None:
    _engine._tls.grad_enabled = mode   # this thread's mode, set until switched again


class set_grad_enabled:
    """Turn graph recording on or off, as torch.set_grad_enabled: called as a function, the
    mode changes at once and stays; used as ``with set_grad_enabled(mode):``, the mode before
    the call comes back on leaving the block; as a decorator ``@set_grad_enabled(mode)``, the
    function runs in ``mode`` and the mode around the definition is left as it was."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self.mode = mode
        self._prev = is_grad_enabled()
        _switch(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _switch(self._prev)

    def __call__(self, fn):
        _switch(self._prev)  # __init__ switched at decoration time: undo it, as torch does

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    """Whether the code runs inside ``inference_mode()`` in this thread (torch's)."""
    return _engine._tls.inference


class inference_mode:
    """Context manager and decorator (``@inference_mode``, ``@inference_mode()``) that, here,
    records as :class:`no_grad` (torch's inference_mode also makes tensors that can never enter
    a graph later; minitf has no such tensors, so their use in autograd is not refused).
    ``inference_mode(False)`` turns recording on inside, as torch's."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode on a function
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._inner = self._prev = None

    def __enter__(self):
        # torch's InferenceMode(mode) sets grad mode to (not mode)
        self._inner = no_grad() if self.mode else enable_grad()
        self._inner.__enter__()
        s = _engine._tls
        self._prev, s.inference = s.inference, self.mode

    def __exit__(self, *exc):
        _engine._tls.inference = self._prev
        self._inner.__exit__(*exc)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self.mode):
                return fn(*args, **kwargs)
        return wrapper
