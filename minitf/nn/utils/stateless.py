"""Calling a module with other parameters and buffers: ``torch.func.functional_call`` (also
``mt.func.functional_call``) and its older name ``nn.utils.stateless.functional_call``.

    out = functional_call(model, {"fc.weight": w}, (x,))   # model's forward with fc.weight = w

For the one call, each named entry of the module (a parameter, a buffer, or another attribute
in non-strict mode) is the given tensor itself, so gradients flow to the given tensors, not to
the module's parameters; afterwards (also when forward raises) the module is as it was.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping

from ...tensor import Tensor

__all__ = ["functional_call"]

_ABSENT = object()


def _merge(parameter_and_buffer_dicts) -> dict:
    dicts = (parameter_and_buffer_dicts,) if isinstance(parameter_and_buffer_dicts, Mapping) \
        else tuple(parameter_and_buffer_dicts)
    merged = {}
    for d in dicts:
        if not isinstance(d, Mapping):
            raise TypeError(f"functional_call: expected a dict of tensors or a tuple of dicts, got {type(d).__name__}")
        repeated = sorted(set(merged) & set(d))
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        merged.update(d)
    for name, t in merged.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"functional_call: {name!r}: {t!r} is not an instance of minitf.Tensor")
    return merged


def _tie(module, values: dict) -> dict:
    """tie_weights: every name of a tied tensor (a parameter or buffer under several names) takes
    the value given for any of them; two different values for one tied tensor are an error."""
    names = {}
    for kind in ("named_parameters", "named_buffers"):
        for name, t in getattr(module, kind)(remove_duplicate=False):
            names.setdefault(id(t), []).append(name)
    values = dict(values)
    for tied in names.values():
        given = sorted(n for n in tied if n in values)
        if len(tied) < 2 or not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {given}, which are tied. "
                             f"Consider using tie_weights=False")
        for n in tied:
            values[n] = values[given[0]]
    return values


def _check_strict(module, values: dict) -> None:
    own = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    own += [n for n, _ in module.named_buffers(remove_duplicate=False)]
    unexpected = [k for k in values if k not in set(own)]
    missing = [k for k in own if k not in values]
    problems = []
    if unexpected:
        problems.append("Unexpected key(s): " + ", ".join(map(repr, unexpected)) + ".")
    if missing:
        problems.append("Missing key(s): " + ", ".join(map(repr, missing)) + ".")
    if problems:
        raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(problems))


def _swap(module, path: str, value):
    """Put ``value`` at ``path`` (registry and attribute); returns what restores the old state."""
    owner_path, _, name = path.rpartition(".")
    m = module
    for item in owner_path.split(".") if owner_path else ():
        child = m._modules.get(item)
        if child is None:
            raise AttributeError(f"{type(m).__name__} has no attribute `{item}`")
        m = child
    d = m.__dict__
    registry = d["_parameters"] if name in d["_parameters"] else d["_buffers"] if name in d["_buffers"] else None
    prop = type(m).__dict__.get(name)
    if registry is None and isinstance(prop, property):
        # a parametrised name: its class is this module's own (nn.utils.parametrize), so for the call
        # the property gives the value itself, the parametrisation off (torch's documented rule);
        # assigning through it would call right_inverse and change the original
        setattr(type(m), name, property(lambda self: value, doc=prop.__doc__))
        return lambda: setattr(type(m), name, prop)
    old = d.get(name, _ABSENT)
    old_entry = registry[name] if registry is not None else None
    if registry is not None:
        registry[name] = value
    object.__setattr__(m, name, value)

    def restore():
        if registry is not None:
            registry[name] = old_entry
        if old is _ABSENT:
            object.__delattr__(m, name)
        else:
            object.__setattr__(m, name, old)
    return restore


def _functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                     strict: bool = False):
    """``module(*args, **kwargs)`` with the given tensors in place of its own, as
    ``torch.func.functional_call`` (``mt.func.functional_call``).

    Parameters
    ----------
    module : Module
    parameter_and_buffer_dicts : dict or tuple of dicts
        Dotted name (``"encoder.0.weight"``) -> Tensor. Several dicts must not share a key.
    args : tuple or a single value
        The positional arguments (a non-tuple is the one argument).
    kwargs : dict, optional
    tie_weights : bool
        A tied parameter (one tensor under several names) given under one name is used under
        all of them (two different values for it are a ValueError).
    strict : bool
        Every parameter and buffer must be given, and nothing else (RuntimeError otherwise).
        When False, a name that is not a parameter or buffer is set as a plain attribute for
        the call.

    Returns forward's output; gradients flow to the given tensors.
    """
    values = _merge(parameter_and_buffer_dicts)
    if tie_weights:
        values = _tie(module, values)
    if strict:
        _check_strict(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    restores = []
    try:
        for path, value in values.items():
            restores.append(_swap(module, path, value))
        return module(*args, **(kwargs or {}))
    finally:
        for restore in reversed(restores):
            restore()


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``nn.utils.stateless.functional_call``: :func:`minitf.func.functional_call`, which torch 2.13 deprecates
    under this name (FutureWarning) for ``torch.func.functional_call``."""
    warnings.warn("`nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0; use "
                  "`minitf.func.functional_call` (torch.func.functional_call) instead, which is a drop-in "
                  "replacement", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
