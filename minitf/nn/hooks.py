"""Hooks on modules, as PyTorch's: every ``register_*_hook`` method returns a
:class:`RemovableHandle`; ``module(x)`` runs

    pre-hooks:  hook(module, args) -> None or new args   (with_kwargs: hook(module, args, kwargs)
                                                           -> None or (new args, new kwargs))
    forward:    module.forward(*args, **kwargs)
    hooks:      hook(module, args, output) -> None or a new output
                (with_kwargs: hook(module, args, kwargs, output))

in registration order (``prepend=True`` puts a hook first). A hook registered with
``always_call=True`` also runs when a pre-hook, forward or an earlier hook raises (the error is
raised after).

Backward hooks (``register_full_backward_pre_hook``, ``register_full_backward_hook``) are set up
here too, around forward: the tensor arguments are wrapped after the forward pre-hooks, the
output after the forward hooks (what they see and return is what the backward hooks are about);
the autograd side is :mod:`.backward_hooks`.
"""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict

from . import backward_hooks as _bw

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


class HookMethods:
    """The hook registration methods of :class:`~minitf.nn.Module` (kept here, with the hooks)."""

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False):
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the
        positional arguments (a non-tuple is wrapped in one). ``with_kwargs``:
        ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``. Returns a
        :class:`RemovableHandle`."""
        return add_hook(self, "forward_pre_hook", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False):
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces the
        output. ``with_kwargs``: ``hook(module, args, kwargs, output)``; ``always_call``: also when
        forward raises (output None). Returns a :class:`RemovableHandle`."""
        return add_hook(self, "forward_hook", hook, prepend, with_kwargs, always_call)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False):
        """Call ``hook(module, grad_output)`` once per backward through each call of the module,
        when the gradients of its tensor outputs are complete: ``grad_output`` is a tuple with one
        entry per output (a Tensor or a tuple's items; None for a non-Tensor or an output that
        received no gradient). A non-None result (as many entries) replaces ``grad_output`` for
        the module's own backward. The hooks of a call are those registered when it ran forward.
        Returns a :class:`RemovableHandle`. See :mod:`minitf.nn.backward_hooks`."""
        return add_hook(self, "backward_pre_hook", hook, prepend, False)

    def register_full_backward_hook(self, hook, prepend: bool = False):
        """Call ``hook(module, grad_input, grad_output)`` once per backward through each call of
        the module, when the gradients of all its positional tensor arguments are complete:
        ``grad_input`` has one entry per positional argument (zeros for a Tensor that received no
        gradient or does not require grad, None for a non-Tensor; all None, with a warning, when
        no argument requires grad: the hook then runs after the pre-hooks and must return None).
        A non-None result (as many entries) replaces ``grad_input``: what flows on to the
        arguments. Returns a :class:`RemovableHandle`. See :mod:`minitf.nn.backward_hooks`."""
        if self.__dict__.get("_is_full_backward_hook") is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = True
        return add_hook(self, "backward_hook", hook, prepend, False)

    def register_backward_hook(self, hook):
        """torch's legacy backward hook, deprecated there: ``hook(module, grad_input, grad_output)``.
        torch gives it the gradients of the last autograd node of forward (which depend on how
        forward is written, and warns when they are incomplete); minitf gives it those of
        :meth:`register_full_backward_hook` (the module's inputs and outputs), and warns at
        registration that the full hook is the one to use. Mixing both kinds on one module is a
        RuntimeError, as in torch."""
        if self.__dict__.get("_is_full_backward_hook") is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        warnings.warn("register_backward_hook is deprecated (torch's legacy hook, whose arguments depend on the "
                      "last node of forward); minitf calls it as register_full_backward_hook: use that",
                      FutureWarning, stacklevel=2)
        self.__dict__["_is_full_backward_hook"] = False
        return add_hook(self, "backward_hook", hook, False, False)


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
    pre_hooks, post_hooks = list(d["_forward_pre_hooks"].items()), list(d["_forward_hooks"].items())
    bw_hooks, bw_pre_hooks = list(d["_backward_hooks"].values()), list(d["_backward_pre_hooks"].values())
    if _global.ACTIVE:   # the global hooks (module_hooks.py) run before the module's own
        pre_hooks = list(_global.forward_pre_hooks.items()) + pre_hooks
        post_hooks = list(_global.forward_hooks.items()) + post_hooks
        bw_hooks = list(_global.backward_hooks.values()) + bw_hooks
        bw_pre_hooks = list(_global.backward_pre_hooks.values()) + bw_pre_hooks
        flags = {**_global.hook_flags, **flags}
    output, called = None, set()
    backward = None
    if bw_hooks or bw_pre_hooks:  # as torch: the hooks as of this call
        backward = _bw.ModuleCall(module, bw_hooks, bw_pre_hooks)
    try:
        for hid, hook in pre_hooks:
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
        if backward is not None:
            args = backward.wrap_inputs(args)
        output = module.forward(*args, **kwargs)
        for hid, hook in post_hooks:
            if flags[hid][1]:
                called.add(hid)   # marked before it runs: one that raises is not run again below
            result = hook(module, args, kwargs, output) if flags[hid][0] else hook(module, args, output)
            if result is not None:
                output = result
        if backward is not None:
            output = backward.wrap_outputs(output)
        return output
    except Exception:
        for hid, hook in post_hooks:
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


from . import module_hooks as _global  # noqa: E402  (after RemovableHandle, which it imports)
