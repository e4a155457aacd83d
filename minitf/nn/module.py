"""Module and Parameter: the containers that layers and models are built from.

A :class:`Module` registers every :class:`Parameter` and sub-module assigned
to one of its attributes, in assignment order, so that

    model.named_parameters()   ->  ("transformer.h.0.attn.c_attn.weight", p), ...
    model.state_dict()         ->  {name: tensor}  (detached, sharing data)
    model.load_state_dict(sd)  ->  copies into the existing parameters

work with PyTorch's names and conventions. The values also stay plain
attributes (``self.weight``), so a forward pass pays no lookup overhead.

A parameter shared by two modules (tied weights) is one object: it appears
under both names in :meth:`Module.state_dict` but once in
:meth:`Module.parameters` and :meth:`Module.num_parameters`.

Buffers (``register_buffer``) are tensors a module keeps that are not learned
(running statistics, masks): moved and cast by ``to()``, in the state dict
unless registered with ``persistent=False``. The state-dict code is in
:mod:`.state_dict`, the hooks (forward and backward) in :mod:`.hooks`.
"""
from __future__ import annotations

from collections import OrderedDict


from .. import allocator as _allocator
from ..autograd import zero_grad_in_place
from ..tensor import Tensor
from . import hooks as _hooks
from .module_hooks import ACTIVE as _GLOBAL_HOOKS  # noqa: F401  (and torch's global hook registration:)
from .module_hooks import (register_module_forward_hook, register_module_forward_pre_hook,  # noqa: F401
                           register_module_full_backward_hook, register_module_full_backward_pre_hook)
from . import state_dict as _state
from .module_to import DeviceDtypeMethods  # Module.to and its casts
from .parameter import Buffer, Parameter
from .state_dict import IncompatibleKeys, StateDictError  # noqa: F401  (importable from here, as before)


class Module(_hooks.HookMethods, DeviceDtypeMethods, _state.StateDictMethods):
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign parameters and
    sub-modules as attributes, and define ``forward``; ``module(x)`` calls it.
    """

    def __init__(self):
        _allocator.tune_host_allocator()  # once: reuse freed activation buffers (minitf/allocator.py)
        d = self.__dict__
        d["_parameters"] = OrderedDict()   # name -> Parameter or None (e.g. bias=False)
        d["_buffers"] = OrderedDict()      # name -> Tensor or None
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()      # name -> Module
        d["_forward_pre_hooks"] = OrderedDict()   # handle id -> hook (see hooks.py)
        d["_forward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()  # register_full_backward_pre_hook
        d["_backward_hooks"] = OrderedDict()      # register_full_backward_hook
        d["_hook_flags"] = {}              # handle id -> (with_kwargs, always_call)
        d["_state_dict_pre_hooks"] = OrderedDict()        # the state-dict hooks (see state_dict.py)
        d["_state_dict_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()
        d["training"] = True

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            modules.pop(name, None)
            self._drop_buffer(name)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            self._drop_buffer(name)
            modules[name] = value
        elif isinstance(value, Buffer):    # torch 2.13's marker: register it, with its persistent flag
            if name in params or name in modules:   # torch's TypeError, as for any tensor there
                raise TypeError(f"cannot assign a Buffer to {'parameter' if name in params else 'sub-module'} "
                                f"{name!r} of {type(self).__name__} (delete it first)")
            self.register_buffer(name, value, value.persistent)
            return
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer {name!r} of "
                                f"{type(self).__name__} (a Tensor or None is expected)")
            buffers[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} of "
                                f"{type(self).__name__}: wrap it in nn.Parameter (or assign None)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to sub-module {name!r} of "
                                f"{type(self).__name__} (a Module or None is expected)")
            del modules[name]
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._drop_buffer(name)
        object.__delattr__(self, name)

    def _drop_buffer(self, name):
        self.__dict__["_buffers"].pop(name, None)
        self.__dict__["_non_persistent_buffers"].discard(name)

    def _check_new_name(self, kind: str, name, registry) -> None:
        """PyTorch's rules for a name given to register_buffer / add_module."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name {name!r} must be non-empty and contain no '.'")
        if name not in registry and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared-but-absent parameter) under ``name``."""
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Keep ``tensor`` (or None) as buffer ``name``: an attribute that ``to()`` moves and casts
        (floating dtypes only) and, when ``persistent``, part of the state dict; not a parameter."""
        self._check_new_name("buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register ``module`` (or None) as sub-module ``name``, as ``setattr`` would (PyTorch's
        name checks: a string, non-empty, no '.', not another attribute)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_new_name("module", name, self._modules)
        if module is None:
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    def register_module(self, name: str, module: "Module | None") -> None:
        """Alias of :meth:`add_module`."""
        self.add_module(name, module)

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if (d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"] or d["_backward_pre_hooks"]
                or _GLOBAL_HOOKS):   # (the global hooks of module_hooks.py)
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = ""):
        """Yield (dotted name, module) for this module and every descendant, each once."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _all_named_parameters(self):
        """Every (dotted name, Parameter), tied parameters under each of their names."""
        for mname, m in self._named_modules_all():
            for pname, p in m._parameters.items():
                if p is not None:
                    yield (f"{mname}.{pname}" if mname else pname), p

    def _named_modules_all(self, prefix=""):
        """Like named_modules, but a shared sub-module is visited under every name."""
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool):
        """(dotted name, tensor) from each module's ``registry`` dict (``_parameters`` or ``_buffers``),
        None entries skipped; ``remove_duplicate``: a shared tensor only under its first name."""
        seen = set()
        mods = self._named_modules_all() if recurse else [("", self)]
        for mname, m in mods:
            for name, t in getattr(m, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                name = f"{mname}.{name}" if mname else name
                yield (f"{prefix}.{name}" if prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield (dotted name, Parameter), as PyTorch's: ``prefix`` goes before every name,
        ``recurse=False`` gives this module's own parameters only, and a tied parameter comes
        only under its first name unless ``remove_duplicate=False``."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """A generator of every distinct Parameter, in registration order (as PyTorch's: take
        ``list(...)`` to count or index them; ``next(model.parameters())`` gives the first)."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield (dotted name, buffer) for every buffer that is not None (a shared one once unless
        ``remove_duplicate=False``); ``recurse=False``: this module's own only. Non-persistent
        buffers are included."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        """A generator of every distinct buffer (see :meth:`named_buffers`), as PyTorch's."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    def get_submodule(self, target: str) -> "Module":
        """The sub-module at dotted path ``target`` ("" is self), as PyTorch's."""
        m = self
        for item in target.split(".") if target else ():
            child = m._modules.get(item)
            if not isinstance(child, Module):
                what = "has no sub-module" if item not in m.__dict__ else "has an attribute that is not a Module:"
                raise AttributeError(f"{type(m).__name__} {what} {item!r} (looking up {target!r})")
            m = child
        return m

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at dotted path ``target``, as torch's: the parent must exist; an existing
        attribute there must be a Module (AttributeError otherwise); ``strict=True``: only replace
        an existing sub-module. ValueError for an empty target or a non-Module."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (``"encoder.0.weight"``), as PyTorch's."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        p = m._parameters.get(name)
        if p is None:
            raise AttributeError(f"{type(m).__name__} has no parameter {name!r} (looking up {target!r})")
        return p

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``, as PyTorch's (None for one registered as None)."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if name not in m._buffers:
            raise AttributeError(f"{type(m).__name__} has no buffer {name!r} (looking up {target!r})")
        return m._buffers[name]

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        """Number of scalars in distinct parameters.

        ``exclude_embeddings=True`` leaves out every parameter owned by an
        :class:`~minitf.nn.Embedding` (and so any weight tied to one), as
        Kaplan et al. count "non-embedding" parameters.
        """
        skip = set()
        if exclude_embeddings:
            from .embedding import Embedding
            skip = {id(p) for m in self.modules() if isinstance(m, Embedding) for p in m._parameters.values()}
        return int(sum(p.numel() for p in self.parameters() if id(p) not in skip))

    # ------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active) for this module and all descendants."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: drop it (None, the default as in PyTorch 2.x), or with
        ``set_to_none=False`` fill it with zeros in place (a gradient that is None stays None)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                zero_grad_in_place(p.grad)

    def requires_grad_(self, flag: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every descendant (children first) and on self."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    def compile(self, *args, **kwargs) -> None:
        """torch's in-place ``module.compile()``: minitf has no compiler (see :func:`minitf.compile`),
        so the module stays as it is; the arguments are accepted and ignored, and the result is
        None, as torch's."""
        return None

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        # torch's layout: a one-line extra_repr and no children stay on one line; otherwise every
        # extra_repr line and "(name): child" goes on its own line, indented two more spaces
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.named_children()]
        lines = extra_lines + child_lines
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


# the containers live in container.py (a concept of their own); still importable from here
from .container import ModuleList, ModuleDict  # noqa: E402,F401
