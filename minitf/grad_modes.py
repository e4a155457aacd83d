"""``set_grad_enabled`` and ``inference_mode``, PyTorch's other two grad-mode switches, on
top of the engine's :class:`~minitf.autograd.no_grad` and :class:`~minitf.autograd.enable_grad`."""
from __future__ import annotations

import functools

from .autograd import enable_grad, is_grad_enabled, no_grad


def _switch(mode: bool) -> None:
    (enable_grad() if mode else no_grad()).__enter__()  # sets the mode; never exited on purpose


class set_grad_enabled:
    """Turn graph recording on or off, as torch.set_grad_enabled: called as a function, the
    mode changes at once and stays; used as ``with set_grad_enabled(mode):``, the mode before
    the call comes back on leaving the block."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self._prev = is_grad_enabled()
        _switch(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _switch(self._prev)


class inference_mode:
    """Context manager and decorator that, here, behaves exactly as :class:`no_grad` (torch's
    inference_mode also makes tensors that can never enter a graph later; minitf has no such
    tensors, so their use in autograd is not refused). ``inference_mode(False)`` changes nothing."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._inner = None

    def __enter__(self):
        if self.mode:
            self._inner = no_grad()
            self._inner.__enter__()

    def __exit__(self, *exc):
        if self._inner is not None:
            self._inner.__exit__(*exc)
            self._inner = None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self.mode):
                return fn(*args, **kwargs)
        return wrapper
