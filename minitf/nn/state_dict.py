"""State dicts: what :meth:`Module.state_dict` holds and how :meth:`Module.load_state_dict`
checks and copies it (every key and shape checked before anything is copied), with torch's
per-module steps and hooks (the methods of :class:`StateDictMethods`, a mixin of Module).

A state dict holds, module by module in registration order (PyTorch's order), each
module's parameters and then its persistent buffers, under dotted names
(``encoder.0.weight``, ``norm.running_mean``), and ``prefix + "_extra_state"`` for a module
whose class defines :meth:`~StateDictMethods.get_extra_state`. Non-persistent buffers
(``register_buffer(..., persistent=False)``) and ``None`` entries are left out.

As torch's, ``state_dict`` runs per module: its pre-hooks ``hook(module, prefix, keep_vars)``,
``module._save_to_state_dict(destination, prefix, keep_vars)``, the children (under
``prefix + name + "."``), then its post-hooks ``hook(module, state_dict, prefix,
local_metadata)``. ``load_state_dict`` calls ``module._load_from_state_dict(state_dict, prefix,
local_metadata, strict, missing_keys, unexpected_keys, error_msgs)`` module by module (the
load pre-hooks run first in it; a subclass may override it, e.g. to rename old keys, and
call ``super()``), then (after its children) its post-hooks ``hook(module, incompatible_keys)``.
Unlike torch, which copies key by key and raises afterwards, the default step only checks and
*records* each copy; they are made once every module is done and nothing is wrong, so a
failed load changes nothing. Where a module has a load post-hook, which torch runs on the
values loaded so far, each value is copied as it is checked, as in torch (a failed load may
then have copied some).
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from .. import backend
from ..tensor import Tensor
from .hooks import RemovableHandle

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"
_PENDING = "_minitf_pending_copies"   # the local_metadata entry: where the default step records its copies


class StateDictError(RuntimeError):
    """load_state_dict() found missing, unexpected or mis-shaped keys (all listed)."""


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns, as torch's: a (missing_keys, unexpected_keys) namedtuple
    printed ``_IncompatibleKeys(missing_keys=[...], unexpected_keys=[...])``, or
    ``<All keys matched successfully>`` when both are empty."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys   # minitf's earlier name


def _as_array(value, name: str):
    """A state-dict value as an array minitf can copy from: a device array as it is, else host NumPy.

    Foreign tensors are duck-typed, never imported: ``.detach()``, ``.cpu()``
    and ``.numpy()`` as PyTorch has them (a dtype NumPy lacks, e.g. bfloat16,
    is widened with ``.float()`` first), else ``__array__`` or a sequence.
    """
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.generic):
        return np.asarray(value)
    try:
        backend.device_of(value)      # NumPy, CuPy or the fake device: moved later, on copy
        return value
    except TypeError:
        pass
    try:
        if callable(getattr(value, "numpy", None)):
            v = value
            for step in ("detach", "cpu"):
                if callable(getattr(v, step, None)):
                    v = getattr(v, step)()
            try:
                return np.asarray(v.numpy())
            except TypeError:          # torch: "Got unsupported ScalarType BFloat16"
                if callable(getattr(v, "float", None)):
                    return np.asarray(v.float().numpy())
                raise
        return np.asarray(value)
    except Exception as e:
        raise TypeError(f"state_dict value {name!r} of type {type(value).__name__} cannot be read as an "
                        f"array ({type(e).__name__}: {e})") from None




def _is_lazy(t) -> bool:
    return getattr(t, "_is_uninitialized", False)


def _record(key, param, a, apply, local_metadata) -> None:
    """Run ``apply`` now or, inside load_state_dict, record it to run once every check passed."""
    pending = local_metadata.get(_PENDING)
    if pending is None:
        apply()
    else:
        pending.append((key, param, a, apply))


def _assign(module, name, param, value, a):
    """``assign=True``: the module keeps the given tensor itself (its dtype and device), a
    Parameter keeping the old one's requires_grad, as torch's."""
    from .parameter import Parameter
    t = value if isinstance(value, Tensor) else Tensor._make(a, None)
    if isinstance(param, Parameter):
        if isinstance(t, Parameter):
            t.requires_grad_(param.requires_grad)
        else:
            t = Parameter(t, requires_grad=param.requires_grad)

    def apply():
        if name in module._parameters:
            module._parameters[name] = t
        else:
            module._buffers[name] = t
        object.__setattr__(module, name, t)
    return apply


def _copy(param, a):
    def apply():
        b = backend.to_device(a, param.device)
        param.data[...] = b if b.dtype == param.dtype else b.astype(param.dtype)
    return apply


def load_from_state_dict(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                         error_msgs) -> None:
    """See :meth:`StateDictMethods._load_from_state_dict`."""
    for hook in module._load_state_dict_pre_hooks.values():
        hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
    skip = module._non_persistent_buffers
    local = {k: v for k, v in module._parameters.items() if v is not None}
    local.update((k, v) for k, v in module._buffers.items() if v is not None and k not in skip)
    assign = local_metadata.get("assign_to_params_buffers", False)
    for name, param in local.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        value = state_dict[key]
        a = _as_array(value, key)
        lazy = _is_lazy(param)
        shape = None if lazy else param.shape
        if shape == () and tuple(a.shape) == (1,):   # torch's allowance for old checkpoints
            a = a.reshape(())
        if shape is not None and tuple(a.shape) != shape:
            error_msgs.append(f"size mismatch for {key}: got shape {tuple(a.shape)}, the model has shape {shape}")
        elif a.dtype.kind not in "biuf":
            error_msgs.append(f"not numeric: {key} (dtype {a.dtype})")
        elif assign:
            _record(key, None, a, _assign(module, name, param, value, a), local_metadata)
        else:
            _record(key, param, a, _copy(param, a), local_metadata)
    extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
    if type(module).set_extra_state is not StateDictMethods.set_extra_state:
        if extra_key in state_dict:
            value = state_dict[extra_key]
            _record(extra_key, None, None, lambda: module.set_extra_state(value), local_metadata)
        elif strict:
            missing_keys.append(extra_key)
    elif strict and extra_key in state_dict:
        unexpected_keys.append(extra_key)
    if strict:
        for key in state_dict:
            if key.startswith(prefix) and key != extra_key:
                # torch's rule: a dotted rest must start with a child's name ("w.foo" of a
                # parameter w is unexpected), an undotted one must be an entry ("lin" alone too)
                first, dot, _ = key[len(prefix):].partition(".")
                if (first not in module._modules) if dot else (first not in local):
                    unexpected_keys.append(key)


def _check_tied(pending):
    """Two names of one tied tensor must not be given different values."""
    first = {}
    for key, param, a, _ in pending:
        if param is None:
            continue
        if id(param) in first:
            k0, a0 = first[id(param)]
            # the same array (a model's own state dict) needs no look, nor a device-to-host copy; a
            # NaN equals itself here: a diverged model's checkpoint must load back
            if a0 is not a and not np.array_equal(backend.to_numpy(a0), backend.to_numpy(a), equal_nan=True):
                return [f"tied parameters {k0} and {key} are one parameter but were given different values"]
        else:
            first[id(param)] = (key, a)
    return []


def _raise_if(module, problems, missing, unexpected, strict):
    problems = list(problems)
    if strict and unexpected:
        problems.insert(0, "unexpected key(s): " + ", ".join(unexpected))
    if strict and missing:
        problems.insert(0, "missing key(s): " + ", ".join(missing))
    if strict and any(k.startswith("_orig_mod.") for k in unexpected):
        problems.append("(keys starting with '_orig_mod.' come from a torch.compile'd model: remove the "
                        "prefix; GPT.load_nanogpt_state_dict does so for nanoGPT checkpoints)")
    if problems:
        raise StateDictError(f"error(s) in loading state_dict for {type(module).__name__}:\n  "
                             + "\n  ".join(problems))


def load_state_dict(module, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
    """See :meth:`StateDictMethods.load_state_dict`."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: expected a mapping of parameter names to tensors (such as "
                        f"model.state_dict()), got {type(state_dict).__name__}")
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)   # hooks may edit it: the caller's stays as it was
    if metadata is not None:
        state_dict._metadata = metadata
    missing, unexpected, errors, pending = [], [], [], []
    # a load post-hook sees the values loaded and the keys found so far, module by module, as in
    # torch: then each value is copied as it is checked (torch's way); otherwise copies wait
    # until everything is checked, so that a failed load changes nothing
    immediate = any(m._load_state_dict_post_hooks for m in module.modules())
    result = IncompatibleKeys(missing, unexpected)

    def load(m, local, prefix):
        local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
        if assign:
            local_metadata["assign_to_params_buffers"] = True
        if not immediate:
            local_metadata[_PENDING] = pending
        m._load_from_state_dict(local, prefix, local_metadata, True, missing, unexpected, errors)
        for name, child in m._modules.items():
            if child is not None:
                child_prefix = prefix + name + "."
                load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)}, child_prefix)
        for hook in list(m._load_state_dict_post_hooks.values()):
            if hook(m, result) is not None:
                raise RuntimeError("a load_state_dict post-hook must return None (it may edit "
                                   "incompatible_keys in place)")

    load(module, state_dict, "")
    _raise_if(module, errors or _check_tied(pending), missing, unexpected, strict)
    for _, _, _, apply in pending:
        apply()
    return result


def _new_hook(module, registry: str, hook, prepend: bool = False) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"{registry.strip('_')}: the hook must be callable, got {type(hook).__name__}")
    hooks = module.__dict__[registry]
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class StateDictMethods:
    """The state-dict methods of :class:`~minitf.nn.Module` (see this module's docstring)."""

    # the format version a module's state dict has, recorded in ``state_dict()._metadata``; a
    # subclass that changes its keys bumps it and converts older ones in _load_from_state_dict
    _version = 1

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Ordered name -> Tensor, detached and sharing data (the Parameters themselves with
        ``keep_vars=True``): each module's parameters, then its persistent buffers (and its
        ``_extra_state``), module by module (PyTorch's order). A tied parameter appears under
        each of its names. ``destination``: a mapping to fill and return; ``prefix``: put before
        every key. The result's ``_metadata`` maps each module's dotted name to ``{"version":
        module._version}``, as torch's."""
        if args:   # torch's deprecated positional form: (destination, prefix, keep_vars)
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
                          " for details.", FutureWarning, stacklevel=2)
            if len(args) > 3:
                raise TypeError(f"state_dict takes at most 3 positional arguments, got {len(args)}")
            destination, prefix, keep_vars = (tuple(args) + (destination, prefix, keep_vars)[len(args):])
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hid, (hook, public) in list(self._state_dict_hooks.items()):
            result = hook(self, destination, prefix, local_metadata)
            if public and result is not None:
                raise RuntimeError("a state_dict post-hook must return None (it may edit the state dict in place)")
            if result is not None:
                destination = result
        return destination

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """Put this module's own state (not its children's) into ``destination`` under ``prefix``:
        the step a subclass overrides to save something else (torch's)."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars or _is_lazy(p) else p.detach()
        skip = self._non_persistent_buffers
        for name, b in self._buffers.items():
            if b is not None and name not in skip:
                destination[prefix + name] = b if keep_vars or _is_lazy(b) else b.detach()
        if type(self).get_extra_state is not StateDictMethods.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def get_extra_state(self):
        """What a module saves besides its parameters and buffers, under ``"_extra_state"``:
        define it (and :meth:`set_extra_state`) in a subclass; any picklable value."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called: "
                           "define get_extra_state() in the module's class to save extra state")

    def set_extra_state(self, state) -> None:
        """Restore what :meth:`get_extra_state` returned (define it in the subclass)."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called: "
                           "define set_extra_state() in the module's class to load extra state")

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values into the existing parameters and persistent buffers.

        Values may be minitf Tensors, NumPy or device arrays, or torch tensors
        (anything with ``.numpy()``); a value on another device is moved to the
        parameter's (with a GPU model, a host state dict is uploaded). The
        parameter objects stay the same (an optimizer built before still holds
        the new values). ``assign=True`` (torch's): the module keeps the given
        tensors instead (their dtype and device; a Parameter keeps its
        ``requires_grad``), as for a model built uninitialised.

        Everything is checked before anything is copied: with ``strict=True``
        missing or unexpected keys raise :class:`StateDictError` listing all of
        them; a shape mismatch always raises. Returns the
        (missing_keys, unexpected_keys) found. See this module's docstring for
        the per-module steps and hooks.
        """
        return load_state_dict(self, state_dict, strict, assign)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Load this module's own entries of ``state_dict`` (keys ``prefix + name``), torch's step:
        the load pre-hooks run, each parameter / persistent buffer is checked (a problem goes to
        ``error_msgs``, an absent key to ``missing_keys``, a key of no child or entry to
        ``unexpected_keys``) and copied, or recorded for copying when load_state_dict drives it.
        Override to convert the entries of an older ``local_metadata["version"]``."""
        load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                             error_msgs)

    def register_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` before ``module.state_dict()`` saves anything."""
        return _new_hook(self, "_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after the module's (and its
        children's) entries are in; it may edit ``state_dict`` in place and must return None."""
        handle = _new_hook(self, "_state_dict_hooks", hook)
        self._state_dict_hooks[handle.id] = (hook, True)
        return handle

    def _register_state_dict_hook(self, hook) -> RemovableHandle:
        """torch's private form of :meth:`register_state_dict_post_hook`: a non-None result
        replaces the state dict."""
        handle = _new_hook(self, "_state_dict_hooks", hook)
        self._state_dict_hooks[handle.id] = (hook, False)
        return handle

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before the module loads its entries (it may edit
        ``state_dict``: the entries of this module and its descendants)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False) -> RemovableHandle:
        """torch's private form: without ``with_module`` the hook is called without the module."""
        if not callable(hook):
            raise TypeError(f"load_state_dict_pre_hook: the hook must be callable, got {type(hook).__name__}")
        # a partial, not a lambda: deepcopy(module) copies it with the module, as torch's _WrappedHook
        call = functools.partial(hook, self) if with_module else hook
        return _new_hook(self, "_load_state_dict_pre_hooks", call)

    def register_load_state_dict_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` after the module and its children loaded; it may
        edit ``incompatible_keys.missing_keys`` / ``unexpected_keys`` in place (before ``strict``
        judges them) and must return None."""
        return _new_hook(self, "_load_state_dict_post_hooks", hook)
