"""Optimizer hooks, as torch's: around ``step`` (per optimizer and global), ``state_dict`` and
``load_state_dict``; every ``register_*`` returns a removable handle.

    step pre-hooks      hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)
                        (``args`` starts with the optimizer itself, as torch's); the global ones
                        (``register_optimizer_step_pre_hook``) first
    step post-hooks     hook(optimizer, args, kwargs) -> None; the optimizer's own first
    state_dict          pre: hook(optimizer); post: hook(optimizer, state_dict) -> None or a new one
    load_state_dict     pre: hook(optimizer, state_dict) -> None or the one to load (a shallow
                        copy of the caller's); post: hook(optimizer)

Each subclass's own ``step`` / ``state_dict`` / ``load_state_dict`` is wrapped once, when the
class is made (``__init_subclass__``); one that calls ``super()``'s runs the hooks once, at the
outermost call. With no hook registered a step costs one dict look-up more.
"""
from __future__ import annotations

import functools
from collections import OrderedDict


__all__ = ["register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_global_step_pre_hooks: "OrderedDict[int, object]" = OrderedDict()
_global_step_post_hooks: "OrderedDict[int, object]" = OrderedDict()


def _add(hooks: OrderedDict, hook, prepend: bool = False) -> "RemovableHandle":
    if not callable(hook):
        raise TypeError(f"optimizer hook must be callable, got {type(hook).__name__}")
    from ..nn.hooks import RemovableHandle   # (here: minitf.nn imports minitf.optim)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook) -> "RemovableHandle":
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's step (torch.optim.optimizer's)."""
    return _add(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> "RemovableHandle":
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's step."""
    return _add(_global_step_post_hooks, hook)


def _hooks(opt, name: str) -> OrderedDict:
    d = opt.__dict__.get(name)
    if d is None:
        d = opt.__dict__[name] = OrderedDict()
    return d


def _run_step(opt, fn, args, kwargs):
    args = (opt,) + args
    for hook in list(_global_step_pre_hooks.values()) + list(_hooks(opt, "_optimizer_step_pre_hooks").values()):
        result = hook(opt, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(f"{fn} must return None or a tuple of (new_args, new_kwargs), but got {result}.")
            args, kwargs = result
    out = fn(*args, **kwargs)
    for hook in list(_hooks(opt, "_optimizer_step_post_hooks").values()) + list(_global_step_post_hooks.values()):
        hook(opt, args, kwargs)
    return out


def _run_state_dict(opt, fn, args, kwargs):
    for hook in list(_hooks(opt, "_optimizer_state_dict_pre_hooks").values()):
        hook(opt)
    sd = fn(opt, *args, **kwargs)
    for hook in list(_hooks(opt, "_optimizer_state_dict_post_hooks").values()):
        result = hook(opt, sd)
        if result is not None:
            sd = result
    return sd


def _run_load_state_dict(opt, fn, args, kwargs):
    if args:
        sd, args = args[0], args[1:]
    else:
        sd = kwargs.pop("state_dict")
    sd = sd.copy() if hasattr(sd, "copy") else sd    # torch's shallow copy: a hook may edit it
    for hook in list(_hooks(opt, "_optimizer_load_state_dict_pre_hooks").values()):
        result = hook(opt, sd)
        if result is not None:
            sd = result
    out = fn(opt, sd, *args, **kwargs)
    for hook in list(_hooks(opt, "_optimizer_load_state_dict_post_hooks").values()):
        hook(opt)
    return out


_RUNNERS = {"step": _run_step, "state_dict": _run_state_dict, "load_state_dict": _run_load_state_dict}


def _wrap(name: str, fn):
    run = _RUNNERS[name]

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        running = self.__dict__.setdefault("_hooks_running", set())
        if name in running:          # a super() call from an override: the hooks ran already
            return fn(self, *args, **kwargs)
        running.add(name)
        try:
            return run(self, fn, args, kwargs)
        finally:
            running.discard(name)
    wrapper._runs_optimizer_hooks = True
    return wrapper


class OptimizerHookMethods:
    """The hook methods of :class:`~minitf.optim.Optimizer` (see this module's docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in _RUNNERS:
            fn = cls.__dict__.get(name)
            if callable(fn) and not getattr(fn, "_runs_optimizer_hooks", False):
                setattr(cls, name, _wrap(name, fn))

    def register_step_pre_hook(self, hook) -> "RemovableHandle":
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``: None, or ``(new_args,
        new_kwargs)`` for the step (``args[0]`` is the optimizer)."""
        return _add(_hooks(self, "_optimizer_step_pre_hooks"), hook)

    def register_step_post_hook(self, hook) -> "RemovableHandle":
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return _add(_hooks(self, "_optimizer_step_post_hooks"), hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> "RemovableHandle":
        """Call ``hook(optimizer)`` before ``state_dict`` builds the snapshot."""
        return _add(_hooks(self, "_optimizer_state_dict_pre_hooks"), hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> "RemovableHandle":
        """Call ``hook(optimizer, state_dict)`` after; a non-None result is returned instead."""
        return _add(_hooks(self, "_optimizer_state_dict_post_hooks"), hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> "RemovableHandle":
        """Call ``hook(optimizer, state_dict)`` before loading (a shallow copy of the given one,
        which it may edit); a non-None result is loaded instead."""
        return _add(_hooks(self, "_optimizer_load_state_dict_pre_hooks"), hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> "RemovableHandle":
        """Call ``hook(optimizer)`` after ``load_state_dict``."""
        return _add(_hooks(self, "_optimizer_load_state_dict_post_hooks"), hook, prepend)
