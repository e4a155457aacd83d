"""Names of a package that import their module on first use (PEP 562), keeping ``import minitf`` light.

A package lists the optional groups it re-exports (convolution, the margin losses, ...) as a
table ``name -> module`` (or ``name -> (module, attribute)`` where the names differ) and gets
back the module-level ``__getattr__`` and ``__dir__`` that resolve them::

    __getattr__, __dir__ = lazy_attributes(__name__, globals(), {"conv2d": ".ops.conv"})

The first ``mt.conv2d`` imports ``minitf.ops.conv`` and stores the function in the package's
globals, so later look-ups are plain attribute reads (``__getattr__`` runs only for names not
found). ``dir()`` and ``from package import *`` (through ``__all__``, which the package keeps
complete) see every name, imported or not.
"""
from __future__ import annotations

import importlib


def lazy_attributes(package: str, namespace: dict, table: dict, fallback=None, wrap=None):
    """``(__getattr__, __dir__)`` for the module ``package`` whose globals are ``namespace``.

    ``table``: name -> module path (relative to ``package``'s own package when it starts with a
    dot) or (module path, attribute), (module path, None) for the module itself. ``fallback(name)``: called for names not in the table (the
    package's other lazy attributes); without one, an unknown name raises AttributeError.
    ``wrap(name, value)``: what the package stores and returns in place of a table entry's value
    (minitf's ``out=`` keyword on the functions that take one).
    """
    anchor = package if namespace.get("__path__") is not None else package.rpartition(".")[0]

    def __getattr__(name):
        spec = table.get(name)
        if spec is None:
            if fallback is not None:
                return fallback(name)
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = spec if isinstance(spec, tuple) else (spec, name)
        value = importlib.import_module(module, anchor)
        value = value if attr is None else getattr(value, attr)   # (module, None): the module itself
        if wrap is not None:
            value = wrap(name, value)
        namespace[name] = value   # (later look-ups find it in the globals: __getattr__ is not called again)
        return value

    def __dir__():
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
