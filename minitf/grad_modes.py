"""``set_grad_enabled`` and ``inference_mode``, PyTorch's other two grad-mode switches, on
top of the engine's :class:`~minitf.autograd.no_grad` and :class:`~minitf.autograd.enable_grad`."""
from __future__ import annotations

import functools

from .autograd import enable_grad, is_grad_enabled, no_grad

_inference = False  # inside inference_mode(True) (is_inference_mode_enabled)


def _switch(mode: bool) -> None:
    (enable_grad() if mode else no_grad()).__enter__()  # sets the mode; never exited on purpose


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
    """Whether the code runs inside ``inference_mode()`` (torch's)."""
    return _inference


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
        global _inference
        # torch's InferenceMode(mode) sets grad mode to (not mode)
        self._inner = no_grad() if self.mode else enable_grad()
        self._inner.__enter__()
        self._prev, _inference = _inference, self.mode

    def __exit__(self, *exc):
        global _inference
        _inference = self._prev
        self._inner.__exit__(*exc)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self.mode):
                return fn(*args, **kwargs)
        return wrapper
