"""Containers: modules that hold other modules (ModuleList, ModuleDict, Sequential).

Children are registered under their position ("0", "1", ...) or their key, so
state-dict names follow PyTorch's (``transformer.h.0.attn...``, ``0.weight``).
"""
from __future__ import annotations

import numbers
from collections import OrderedDict

from .module import Module


class _Positional(Module):
    """What ModuleList and Sequential share: children in order, added by ``append``."""

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))


class ModuleList(_Positional):
    """A list of modules, registered under "0", "1", ... (``transformer.h.0...``)."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        items = list(self._modules.values())
        if isinstance(i, slice):
            return ModuleList(items[i])
        if not -len(items) <= i < len(items):
            raise IndexError(f"ModuleList index {i} out of range for length {len(items)}")
        return items[i]

    def __repr__(self):
        """torch's: a run of neighbours that print alike is one line, ``(0-11): 12 x Block(...)``."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return type(self).__name__ + "()"
        runs = []   # [first index, last index, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + r.replace("\n", "\n  ")
                 for a, b, r in runs]
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered mapping name -> module (``transformer.wte``, ``transformer.h``...)."""

    def __init__(self, modules=None, **kwargs):
        super().__init__()
        for k, m in dict(modules or {}, **kwargs).items():
            self[k] = m

    def __setitem__(self, key: str, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got {type(module).__name__} for key {key!r}")
        setattr(self, key, module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class Sequential(_Positional):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Built from positional modules (registered as "0", "1", ..., so the state
    dict has keys like ``"0.weight"``, as PyTorch's) or from one
    ``OrderedDict`` name -> module (registered under those names).
    ``seq[i]`` is a child (negative ``i`` counts from the end), ``seq[a:b]``
    a new Sequential sharing the children; ``len`` and iteration as a list.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for key, m in modules[0].items():
                self._add(str(key), m)
        else:
            for m in modules:
                self.append(m)

    def _add(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential holds Modules, got {type(module).__name__} for entry {key!r}")
        if key in self._modules:
            raise KeyError(f"Sequential: duplicate entry name {key!r}")
        setattr(self, key, module)

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end, under the next free position."""
        self._add(str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        items = list(self._modules.items())
        if isinstance(i, slice):
            return Sequential(OrderedDict(items[i]))
        if not isinstance(i, numbers.Integral) or isinstance(i, bool):
            raise TypeError(f"Sequential indices must be integers or slices, got {type(i).__name__}")
        i = int(i)
        if not -len(items) <= i < len(items):
            raise IndexError(f"Sequential index {i} out of range for length {len(items)}")
        return items[i][1]

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x
