"""torch's type objects: ``mt.dtype``, ``mt.layout`` (``mt.strided``) and ``mt.memory_format``
(``mt.contiguous_format``, ``mt.preserve_format``, ``mt.channels_last``, ``mt.channels_last_3d``).

* :class:`dtype`: the class of minitf's dtypes, which are NumPy dtypes (``mt.float32`` is
  ``numpy.dtype('float32')``): ``isinstance(x.dtype, mt.dtype)`` holds, as torch's, and, as
  torch's, the class makes no instances of its own (``mt.dtype("float32")`` is a TypeError).
* :class:`layout`: minitf's tensors are all dense and strided (any NumPy/CuPy strides), so
  ``mt.strided`` is the one layout and ``Tensor.layout`` always it (torch's sparse layouts have
  no minitf counterpart).
* :class:`memory_format`: how a dense tensor's dims are ordered in memory. ``contiguous_format``
  (row-major, C order), ``channels_last`` ((N, C, H, W) stored as N, H, W, C) and
  ``channels_last_3d`` ((N, C, D, H, W) as N, D, H, W, C) are strides a NumPy/CuPy array can have:
  ``Tensor.is_contiguous(memory_format=...)`` reads them and ``Tensor.contiguous(memory_format=...)``
  makes them; ``preserve_format`` is "as the input", torch's default of the ``*_like`` factories.
"""
from __future__ import annotations

import numpy as np

__all__ = ["dtype", "layout", "strided", "memory_format", "contiguous_format", "preserve_format",
           "channels_last", "channels_last_3d"]


class _DtypeClass(type):
    """``isinstance(d, mt.dtype)`` for every NumPy dtype object (minitf's dtypes are those)."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, np.dtype)

    def __subclasscheck__(cls, sub) -> bool:
        return isinstance(sub, type) and issubclass(sub, np.dtype)


class dtype(metaclass=_DtypeClass):
    """The class of a tensor's ``dtype`` (torch's ``torch.dtype``): minitf's dtypes are NumPy dtype
    objects (``mt.float32``, ``x.dtype``), all instances of it; none is made by calling it."""

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create 'minitf.dtype' instances (the dtypes are mt.float32, mt.int64, ...)")


class _Named:
    """A named singleton of a type object (``minitf.strided``): compared by identity."""

    __slots__ = ("_name",)
    _made = False

    def __new__(cls, *args, **kwargs):
        if cls._made:
            raise TypeError(f"cannot create 'minitf.{cls.__name__}' instances")
        return super().__new__(cls)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self):
        return f"minitf.{self._name}"

    def __reduce__(self):   # (copy and pickle give the singleton back)
        return self._name


class layout(_Named):
    """A tensor's layout (torch's ``torch.layout``): minitf has one, :data:`strided`."""

    __slots__ = ()


class memory_format(_Named):
    """How a dense tensor's dims are laid out in memory (torch's ``torch.memory_format``): the
    instances :data:`contiguous_format`, :data:`preserve_format`, :data:`channels_last` and
    :data:`channels_last_3d` (see the module docstring)."""

    __slots__ = ()


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
layout._made = memory_format._made = True

# the dims of a channels-last format from the outermost in memory, and the rank it needs
_CHANNELS_LAST = {"channels_last": ((0, 2, 3, 1), 4), "channels_last_3d": ((0, 2, 3, 4, 1), 5)}


def check_memory_format(name: str, fmt) -> memory_format:
    """``fmt`` if it is a memory format (None: ``contiguous_format``), else torch's TypeError."""
    if fmt is None:
        return contiguous_format
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{name}(): argument 'memory_format' must be minitf.memory_format, not {type(fmt).__name__}")
    return fmt


def is_contiguous_as(shape, strides_in_elements, fmt: memory_format) -> bool:
    """Whether a tensor of ``shape`` with these strides (in elements) is laid out as ``fmt`` (torch's
    rule: a dim of size 1 may have any stride; a format of another rank: False)."""
    if fmt is contiguous_format or fmt is preserve_format:
        order = tuple(range(len(shape)))
    else:
        order, rank = _CHANNELS_LAST[fmt._name]
        if len(shape) != rank:
            return False
    expected = 1
    for d in reversed(order):
        if shape[d] != 1 and strides_in_elements[d] != expected:
            return False
        expected *= shape[d]
    return True


def channels_last_order(fmt: memory_format, ndim: int):
    """The permutation that stores a tensor in ``fmt`` (None for row-major), or torch's error
    for a tensor of another rank."""
    if fmt is contiguous_format or fmt is preserve_format:
        return None
    order, rank = _CHANNELS_LAST[fmt._name]
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")
    return order
