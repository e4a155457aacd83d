"""Parametrisations, as ``torch.nn.utils.parametrize``: a tensor of a module computed from others.

    parametrize.register_parametrization(layer, "weight", Symmetric())
    layer.weight                                  # Symmetric()(layer.parametrizations.weight.original)
    layer.state_dict().keys()                     # bias, parametrizations.weight.original

How it works (PyTorch's way, so names, state dicts and ``type()`` match): the
module's class is swapped for a subclass made for it alone
(``Parametrized<Class>``) that holds a property per parametrised name; the
original tensor moves to ``module.parametrizations[name].original`` (or
``original0``, ``original1``, ... when ``right_inverse`` returns several), in a
:class:`ParametrizationList` whose ``forward()`` chains the parametrisations.
Reading ``module.weight`` evaluates the chain (once per :func:`cached` block);
assigning to it calls the chain's ``right_inverse``. A module without
parametrisations is untouched: :class:`~minitf.nn.Module` itself has no code for them.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import contextmanager

from ...autograd import bump_version
from ...grad_modes import no_grad
from ...tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "transfer_parametrizations_and_params", "ParametrizationList"]

_cache_depth = 0          # how many cached() blocks are open
_cache: dict = {}         # (id(module), name) -> the tensor computed in the open block


@contextmanager
def cached():
    """Inside this block each parametrised tensor is computed once, on first read, and reused.

    For a parametrised weight read many times per forward (an RNN's recurrent
    weight over a sequence); blocks nest, and the cache is dropped when the
    outermost one closes. The cached tensor is part of the graph, as in PyTorch.
    """
    global _cache_depth, _cache
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache = {}


def _set_data(original: Tensor, value: Tensor) -> None:
    """``original.set_(value)``: ``original`` keeps its identity (optimizers holding it see the
    change) and takes ``value``'s data, shape included (an ``unsafe`` right_inverse may change it)."""
    original.data = value.data
    bump_version(original)


def _register_tensor(module: Module, name: str, t: Tensor) -> None:
    # a Parameter stays a parameter; any other tensor becomes a buffer (as torch)
    if isinstance(t, Parameter):
        module.register_parameter(name, t)
    else:
        module.register_buffer(name, t)


def _check_tensor(x, what: str, dtype=None, shape=None, hint: str = "") -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{what} must return a tensor, got {type(x).__name__}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{what} may not change the dtype of the tensor ({dtype} -> {x.dtype}){hint}")
    if shape is not None and x.shape != shape:
        raise ValueError(f"{what} may not change the shape of the tensor ({shape} -> {x.shape}){hint}")


_UNSAFE = ", unless the `unsafe` flag is enabled"


class ParametrizationList(ModuleList):
    """The parametrisations of one tensor, applied in order, and the original tensor(s) they start from.

    ``original`` (or ``original0``, ``original1``, ... when the first
    parametrisation's ``right_inverse`` returns a sequence) is what is learned;
    ``self()`` is the parametrised tensor ``f_n(...f_1(original))``.
    """

    def __init__(self, modules, original: Tensor, unsafe: bool = False):
        modules = list(modules)
        if not modules:
            raise ValueError("ParametrizationList requires one or more modules")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with no_grad():   # the originals: right_inverse of each parametrisation, last one first
            new = original
            for m in reversed(modules):
                new = _right_inverse_or_identity(m, new)
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...), "
                             f"got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != dtype:
                raise ValueError(f"when `right_inverse` outputs one tensor, it may not change the dtype "
                                 f"({dtype} -> {new.dtype})")
            with no_grad():
                _set_data(original, new)   # the same object: an optimizer built before still holds it
            _register_tensor(self, "original", original)
        else:
            for i, t in enumerate(new):
                if not isinstance(t, Tensor):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors, got element {i} "
                                     f"of type {type(t).__name__}")
                # new tensors: the caller must give them to an optimizer (documented, as torch)
                if isinstance(original, Parameter):
                    t = Parameter(t, original.requires_grad)
                t.requires_grad_(original.requires_grad)
                _register_tensor(self, f"original{i}", t)
        if not unsafe:   # forward(right_inverse(X)) must have X's dtype and shape
            _check_tensor(self(), "a parametrization", dtype, shape, _UNSAFE)

    def right_inverse(self, value: Tensor) -> None:
        """Set the original(s) so that ``self()`` gives ``value`` (each parametrisation's
        ``right_inverse``, last to first; one without it is an error here, as in PyTorch)."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(m).__name__} does not implement right_inverse")
                value = m.right_inverse(value)
            if self.is_tensor:
                _check_tensor(value, "right_inverse", self.original.dtype)
                _set_data(self.original, value)
                return
            if not isinstance(value, Sequence):
                raise ValueError(f"'right_inverse' must return a sequence of tensors, got {type(value).__name__}")
            if len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of {self.ntensors} tensors, "
                                 f"got {len(value)}")
            for i, t in enumerate(value):
                orig = getattr(self, f"original{i}")
                _check_tensor(t, f"right_inverse (element {i})", orig.dtype)
                _set_data(orig, t)

    def forward(self) -> Tensor:
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _right_inverse_or_identity(m, value):
    # without right_inverse (or where it raises NotImplementedError) the identity is assumed
    if hasattr(m, "right_inverse"):
        try:
            return m.right_inverse(value)
        except NotImplementedError:
            pass
    return value


# ------------------------------------------------------------------ the class swap
def _parametrized_getter(name: str):
    def get(self) -> Tensor:
        chain = self.parametrizations[name]
        if not _cache_depth:
            return chain()
        key = (id(self), name)
        t = _cache.get(key)
        if t is None:
            t = _cache[key] = chain()
        return t

    def set_(self, value) -> None:
        self.parametrizations[name].right_inverse(value)
    return property(get, set_, doc=f"the parametrised {name!r} (module.parametrizations.{name}())")


def _setattr(self, name, value):
    # a parametrised name belongs to its property: a Tensor assigned to it goes through Module's
    # __setattr__ to the property's setter (right_inverse); a Parameter or Module would be registered
    # beside the property instead, which PyTorch refuses too
    if isinstance(value, (Parameter, Module)) and isinstance(type(self).__dict__.get(name), property):
        raise KeyError(f"attribute {name!r} already exists (it is parametrized: assign a Tensor, which "
                       f"goes through right_inverse, or call remove_parametrizations first)")
    type(self).__bases__[0].__setattr__(self, name, value)


def _getstate(self):
    raise RuntimeError("serialization of parametrized modules is only supported through state_dict()")


def _deepcopy(self, memo):
    # as a plain deepcopy, but the replica gets a class of its own: removing a parametrisation
    # from it must not take the property away from the original module
    replica = object.__new__(type(self))
    memo[id(self)] = replica
    replica.__dict__.update(copy.deepcopy(self.__dict__, memo))
    replica.__class__ = _new_class(type(self).__bases__[0], type(self).__dict__)
    return replica


def _new_class(base: type, props=None) -> type:
    dct = {"__getstate__": _getstate, "__setattr__": _setattr}
    if not hasattr(base, "__deepcopy__"):
        dct["__deepcopy__"] = _deepcopy
    for k, v in (props or {}).items():
        if isinstance(v, property):
            dct[k] = v
    return type(f"Parametrized{base.__name__}", (base,), dct)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrisation (on ``tensor_name``, or on any tensor when None)."""
    p = module.__dict__.get("parametrizations")
    if not isinstance(p, ModuleDict):
        return False
    return len(p) > 0 if tensor_name is None else tensor_name in p


def type_before_parametrizations(module: Module) -> type:
    """The module's class before any parametrisation was registered (``Linear`` for a ``ParametrizedLinear``)."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to a learned original.

    The first parametrisation of a parameter or buffer moves it to
    ``module.parametrizations[tensor_name].original`` (the same object,
    its value replaced by ``parametrization.right_inverse(value)`` when that
    exists) or to ``original0, original1, ...`` when ``right_inverse`` returns a
    sequence; a further one on the same name is chained after it, its
    ``right_inverse`` not applied (as PyTorch). ``parametrization`` is put in
    the module's training mode. Unless ``unsafe``, the parametrised tensor must
    keep the original's shape and dtype (ValueError). Returns ``module``.
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be an nn.Module, "
                        f"got {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_tensor(x, "a parametrization", y.dtype, y.shape, _UNSAFE)
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    _check_tensor(z, "parametrization.right_inverse", y.dtype, y.shape, _UNSAFE)
        chain = module.parametrizations[tensor_name]
        chain.append(parametrization)
        chain.unsafe |= unsafe   # once unsafe, the chain stays so
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"register_parametrization: {tensor_name!r} of {type(module).__name__} is None")
        chain = ParametrizationList([parametrization], original, unsafe=unsafe)   # (raises before any change)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            module.__class__ = _new_class(type(module))
            module.parametrizations = ModuleDict()
        setattr(type(module), tensor_name, _parametrized_getter(tensor_name))
        module.parametrizations[tensor_name] = chain
    else:
        raise ValueError(f"module {type(module).__name__} has no parameter, buffer or parametrized element "
                         f"named {tensor_name!r}")
    return module


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo :func:`register_parametrization` on ``tensor_name`` (every parametrisation on it).

    ``leave_parametrized=True``: the tensor keeps its current parametrised value
    (set into the original object, so optimizers holding it stay valid); False:
    it goes back to the original's value. A tensor parametrised by several
    originals can only leave parametrised (a new Parameter then). The class
    swap is undone with the last parametrisation of the module.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"module {type(module).__name__} does not have a parametrization on {tensor_name!r}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
                _set_data(original, t)
    elif leave_parametrized:
        t = getattr(module, tensor_name)
        original = Parameter(t.detach(), t.requires_grad) if t.requires_grad else t.detach()
    else:
        raise ValueError("cannot leave unparametrized (leave_parametrized=False) a tensor that is "
                         "parametrized in terms of a sequence of tensors")
    delattr(type(module), tensor_name)
    delattr(module.parametrizations, tensor_name)   # (ModuleDict has no __delitem__)
    _register_tensor(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Give ``to_module`` the parametrisations of ``from_module`` (on ``tensor_name``, or all), sharing
    the same parametrisation modules and original tensors, as PyTorch's. Returns ``to_module``."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        src = from_module.parametrizations[name]
        if not hasattr(to_module, name):   # a stand-in of the right shape, replaced below
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for p in src:
            register_parametrization(to_module, name, p)
        dst = to_module.parametrizations[name]
        for k in (["original"] if src.is_tensor else [f"original{i}" for i in range(src.ntensors)]):
            setattr(dst, k, getattr(src, k))   # the same tensors: the two modules share them
    return to_module
