"""The context managers of saved-tensor hooks, as torch.autograd.graph's: ``saved_tensors_hooks``
(and ``save_on_cpu``), ``disable_saved_tensors_hooks``, and the per-thread stack they keep
(``current()``). What an op's saved tensors become while a pair is entered (the packing, the
unpacking in backward, the release of packed arrays) is :mod:`minitf.saved_tensors`'s."""
from __future__ import annotations

import contextlib
import threading

from . import debughooks
from . import saved_tensors_release as release
from .tensor import Tensor

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]


class _State(threading.local):
    """This thread's hooks, as torch's (thread-local): ``stack``, the ``(pack_hook, unpack_hook)``
    pairs entered, innermost last; ``disabled``, disable_saved_tensors_hooks' message or None."""

    def __init__(self):
        self.stack, self.disabled = [], None


_state = _State()
_entered = [0]            # pairs entered in all threads: what only packs hold is released when none is
_lock = threading.Lock()


def current():
    """This thread's innermost ``(pack_hook, unpack_hook)`` entered, or None."""
    stack = _state.stack
    return stack[-1] if stack else None


class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor) -> object`` is called for every tensor an op recorded
    inside saves for backward (see the module docstring), ``unpack_hook(object) -> Tensor`` when
    backward reads it; ``unpack_hook(pack_hook(t))`` should equal ``t`` in values, shape, dtype and
    device. Nested, the innermost pair applies."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> None:
        if _state.disabled is not None:
            raise RuntimeError(_state.disabled)
        stack = _state.stack
        stack.append((self.pack_hook, self.unpack_hook))
        if len(stack) == 1:   # the packing's watch, on this thread's ops while it has a pair entered
            from .saved_tensors import _WATCH   # (one module up)
            debughooks.push(_WATCH, thread=True)
        with _lock:
            _entered[0] += 1

    def __exit__(self, *exc) -> None:
        stack = _state.stack
        stack.pop()
        if not stack:
            from .saved_tensors import _WATCH
            debughooks.pop(_WATCH)
        with _lock:
            _entered[0] -= 1
            last = _entered[0] == 0
        if last:
            release.sweep()   # the forward's locals are gone: free what only the graph's packs hold


class save_on_cpu(saved_tensors_hooks):
    """``saved_tensors_hooks`` that move every saved tensor to the host at forward time and back to
    its device when backward reads it (on the CPU: kept as is, no copy). ``pin_memory`` and
    ``device_type`` are torch's and accepted; minitf has no page-locked memory, so the copies are
    ordinary ones either way."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        def pack_to_cpu(t: Tensor):
            return t.device, t.cpu()

        def unpack_from_cpu(packed) -> Tensor:
            device, t = packed
            return t.to(device, non_blocking=pin_memory)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Context manager under which entering ``saved_tensors_hooks`` (or ``save_on_cpu``) raises
    ``RuntimeError(error_message)``, as does entering this one while hooks are on."""
    state = _state
    previous = state.disabled
    try:
        if state.stack:
            raise RuntimeError(error_message)
        state.disabled = error_message
        yield
    finally:
        state.disabled = previous
