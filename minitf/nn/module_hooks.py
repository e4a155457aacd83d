"""Global module hooks, as ``torch.nn.modules.module``'s: hooks that run on every module's call.

    register_module_forward_pre_hook(hook)    hook(module, args) -> None or new args
    register_module_forward_hook(hook, *, with_kwargs=False, always_call=False)
                                              hook(module, args, output) -> None or a new output
    register_module_full_backward_pre_hook(hook), register_module_full_backward_hook(hook)
                                              as Module.register_full_backward_(pre_)hook

Each returns a removable handle. On a call the global hooks run before the module's own (the
forward post-hooks too, as torch's). While none is registered, ``ACTIVE`` is empty and
``Module.__call__`` pays one truth test for it.
"""
from __future__ import annotations

from collections import OrderedDict

from .hooks import RemovableHandle

__all__ = ["register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook"]

forward_pre_hooks: "OrderedDict[int, object]" = OrderedDict()
forward_hooks: "OrderedDict[int, object]" = OrderedDict()
backward_pre_hooks: "OrderedDict[int, object]" = OrderedDict()
backward_hooks: "OrderedDict[int, object]" = OrderedDict()
hook_flags: dict = {}     # handle id -> (with_kwargs, always_call), as a module's _hook_flags
ACTIVE: list = []         # non-empty while any global hook is registered (what Module.__call__ tests)


class _GlobalHandle(RemovableHandle):
    def remove(self) -> None:
        super().remove()
        ACTIVE[:] = [True] if (forward_pre_hooks or forward_hooks or backward_pre_hooks or backward_hooks) else []


def _add(hooks: OrderedDict, hook, with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"global module hook must be callable, got {type(hook).__name__}")
    handle = _GlobalHandle(hooks, hook_flags)
    hooks[handle.id] = hook
    hook_flags[handle.id] = (bool(with_kwargs), bool(always_call))
    ACTIVE[:] = [True]
    return handle


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args)`` before every module's forward (before its own pre-hooks); a
    non-None result replaces the positional arguments."""
    return _add(forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
    """Call ``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``)
    after every module's forward, before its own hooks; a non-None result replaces the output;
    ``always_call``: also when the call raises."""
    return _add(forward_hooks, hook, with_kwargs, always_call)


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """``hook(module, grad_output)`` for every module, as its register_full_backward_pre_hook."""
    return _add(backward_pre_hooks, hook)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """``hook(module, grad_input, grad_output)`` for every module, as its register_full_backward_hook."""
    return _add(backward_hooks, hook)
