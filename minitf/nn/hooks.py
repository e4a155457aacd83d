"""Forward hooks on modules, as PyTorch's: ``register_forward_pre_hook`` and
``register_forward_hook`` return a :class:`RemovableHandle`; ``module(x)`` runs

    pre-hooks:  hook(module, args) -> None or new args   (with_kwargs: hook(module, args, kwargs)
                                                           -> None or (new args, new kwargs))
    forward:    module.forward(*args, **kwargs)
    hooks:      hook(module, args, output) -> None or a new output
                (with_kwargs: hook(module, args, kwargs, output))

in registration order (``prepend=True`` puts a hook first). A hook registered with
``always_call=True`` also runs when a pre-hook, forward or an earlier hook raises (the error is
raised after).
Backward hooks are not provided (they need the autograd engine's cooperation).
"""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict

_ids = itertools.count()


class RemovableHandle:
    """What the ``register_*_hook`` methods return: ``handle.remove()`` unregisters the hook
    (twice is harmless); ``with module.register_forward_hook(h): ...`` removes it on exit."""

    def __init__(self, *dicts: OrderedDict):
        self.id = next(_ids)
        self._dicts = dicts

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(module, kind: str, hook, prepend: bool, with_kwargs: bool, always_call: bool = False):
    if not callable(hook):
        raise TypeError(f"register_{kind}: the hook must be callable, got {type(hook).__name__}")
    hooks, flags = module.__dict__["_" + kind + "s"], module.__dict__["_hook_flags"]
    handle = RemovableHandle(hooks, flags)
    hooks[handle.id] = hook
    flags[handle.id] = (bool(with_kwargs), bool(always_call))
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def call_with_hooks(module, args, kwargs):
    """``module(*args, **kwargs)`` with its forward pre-hooks and hooks (see the module docstring).

    As PyTorch's ``_call_impl``: if a pre-hook, forward or a forward hook raises, every
    ``always_call`` hook that has not run yet runs (with the args as they stand and the output
    so far: None when forward did not return), and then the error is raised."""
    d = module.__dict__
    flags = d["_hook_flags"]
    output, called = None, set()
    try:
        for hid, hook in list(d["_forward_pre_hooks"].items()):
            if flags[hid][0]:
                result = hook(module, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("a forward pre-hook registered with with_kwargs=True must return None "
                                           f"or a tuple (args, kwargs), got {type(result).__name__}")
                    args, kwargs = result
            else:
                result = hook(module, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = module.forward(*args, **kwargs)
        for hid, hook in list(d["_forward_hooks"].items()):
            if flags[hid][1]:
                called.add(hid)   # marked before it runs: one that raises is not run again below
            result = hook(module, args, kwargs, output) if flags[hid][0] else hook(module, args, output)
            if result is not None:
                output = result
        return output
    except Exception:
        for hid, hook in list(d["_forward_hooks"].items()):
            if flags[hid][1] and hid not in called:
                try:
                    result = hook(module, args, kwargs, output) if flags[hid][0] else hook(module, args, output)
                    if result is not None:
                        output = result
                except Exception as e:   # the first error is the one to report (PyTorch warns too)
                    warnings.warn(f"a forward hook with always_call=True raised {type(e).__name__}: {e}; "
                                  f"silenced, as another error was raised in the call", UserWarning,
                                  stacklevel=3)
        raise
