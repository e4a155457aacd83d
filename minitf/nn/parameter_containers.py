"""Containers of parameters: ParameterList and ParameterDict, as PyTorch's.

Entries are registered as parameters of the container under their position ("0",
"1", ...) or key, so ``named_parameters()`` and ``state_dict()`` have PyTorch's names
(``plist.0``, ``pdict.scale``) and optimizers, ``to()`` and ``load_state_dict`` see
them. A plain Tensor put in is wrapped in a :class:`Parameter` sharing its data (as
PyTorch does); anything else is refused (PyTorch would keep it as a plain attribute).
"""
from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Mapping

from ..tensor import Tensor
from .module import Module, Parameter


def _as_parameter(owner: str, value, where: str) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{owner} holds Parameters (or Tensors, wrapped in one), got {type(value).__name__} {where}")


class ParameterList(Module):
    """A list of parameters, registered under "0", "1", ...; ``append``, ``extend``, indexing
    (negative too), slicing (a new ParameterList sharing the parameters), assignment, ``len``."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, i) -> int:
        if not isinstance(i, numbers.Integral) or isinstance(i, bool):
            raise TypeError(f"ParameterList indices must be integers or slices, got {type(i).__name__}")
        n = len(self._parameters)
        if not -n <= i < n:
            raise IndexError(f"ParameterList index {i} out of range for length {n}")
        return int(i) % n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList(list(self._parameters.values())[i])
        return self._parameters[str(self._index(i))]

    def __setitem__(self, i, value):
        i = self._index(i)
        setattr(self, str(i), _as_parameter("ParameterList", value, f"at index {i}"))

    def append(self, value) -> "ParameterList":
        n = len(self._parameters)
        setattr(self, str(n), _as_parameter("ParameterList", value, f"at index {n}"))
        return self

    def extend(self, values) -> "ParameterList":
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend takes an iterable of parameters, got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters.values()))

    def extra_repr(self):
        return _parameter_lines(self._parameters)


class ParameterDict(Module):
    """An ordered mapping str -> parameter, each registered under its key: ``d[k] = p``,
    ``d[k]``, ``del d[k]``, ``in``, ``len``, iteration over keys, ``keys``, ``values``, ``items``,
    ``get``, ``pop``, ``update``, ``clear``, as PyTorch's."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _check_key(self, key):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        if not key or "." in key:
            raise KeyError(f"ParameterDict key {key!r} must be non-empty and contain no '.' (it becomes a "
                           f"state-dict name)")
        if key not in self._parameters and hasattr(type(self), key):
            raise KeyError(f"ParameterDict key {key!r} would hide the ParameterDict attribute of that name")

    def __setitem__(self, key, value):
        self._check_key(key)
        setattr(self, key, _as_parameter("ParameterDict", value, f"for key {key!r}"))

    def __getitem__(self, key):
        if key not in self._parameters:
            raise KeyError(key)
        return self._parameters[key]

    def __delitem__(self, key):
        if key not in self._parameters:
            raise KeyError(key)
        delattr(self, key)

    def __contains__(self, key):
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters))

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for k in list(self._parameters):
            del self[k]

    def update(self, parameters) -> None:
        """Add (key, parameter) pairs from a mapping or an iterable of pairs. As PyTorch's, an
        OrderedDict, a ParameterDict or pairs keep their order; any other mapping (a plain dict)
        is added in sorted key order, which fixes the order of parameters() and state_dict()."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            items = parameters.items()
        elif isinstance(parameters, Mapping):
            items = sorted(parameters.items(), key=lambda kv: str(kv[0]))   # (a bad key: our error, not sort's)
        else:
            items = parameters
        for pair in items:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"ParameterDict.update: expected a mapping or (key, parameter) pairs, got an "
                                f"element {type(pair).__name__}")
            self[pair[0]] = pair[1]

    def extra_repr(self):
        return _parameter_lines(self._parameters)


def _parameter_lines(params) -> str:
    """torch's extra_repr of ParameterList/ParameterDict: one "  (k): Parameter containing: [dtype of
    size AxB]" line per entry (the device named off the host), which Module.__repr__ indents."""
    lines = []
    for k, p in params.items():
        where = "" if p.device == "cpu" else f" ({p.device})"
        lines.append(f"  ({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}{where}]")
    return "\n".join(lines)
