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
  makes them; ``preserve_format`` is "as the input", torch's default of ``clone`` and the
  ``*_like`` factories (:func:`like_strides`: a dense input's own strides, else dense ones in
  the order of its strides).
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


def like_strides(name: str, shape, strides, fmt):
    """The strides (in elements) torch gives a tensor made like one of ``shape`` and ``strides``
    (``clone``, the ``*_like`` factories) in the memory format ``fmt`` (None: preserve_format),
    or None for row-major. preserve_format keeps the strides of a non-overlapping, dense input
    (a permuted layout stays permuted), else (a slice, an expanded tensor) takes dense strides
    with the dims in the order of x's strides, as torch's ``empty_like``."""
    fmt = preserve_format if fmt is None else check_memory_format(name, fmt)
    if fmt is preserve_format:
        out = tuple(strides) if _non_overlapping_and_dense(shape, strides) else _inferred_dense_strides(shape, strides)
        return None if out == dense_strides(shape, range(len(shape))) else out
    order = channels_last_order(fmt, len(shape))
    return None if order is None else dense_strides(shape, order)


def dense_strides(shape, order) -> tuple:
    """The strides (in elements) that store ``shape`` with its dims in ``order`` (outermost first)."""
    out, step = [0] * len(shape), 1
    for d in reversed(tuple(order)):
        out[d] = step
        step *= max(shape[d], 1)
    return tuple(out)


def _non_overlapping_and_dense(shape, strides) -> bool:
    """torch's is_non_overlapping_and_dense: the dims of size > 1, by stride, tile memory exactly."""
    step = 1
    for d in sorted((d for d in range(len(shape)) if shape[d] > 1), key=lambda d: strides[d]):
        if strides[d] != step:
            return False
        step *= shape[d]
    return True


def _inferred_dense_strides(shape, strides) -> tuple:
    """torch's infer_dense_strides: dense strides keeping the order of the dims by x's strides
    (an insertion sort from the innermost dim; a stride of 0 compares as a tie, keeping row-major
    order; equal strides put the smaller dim inside). Dims of size <= 1 do not step."""
    def swap(d0, d1):   # 1: d1 goes inside d0, -1: stop, 0: undecided
        s0, s1 = strides[d0], strides[d1]
        if s0 == 0 or s1 == 0:
            return 0
        return -1 if s0 < s1 else 1 if s0 > s1 or shape[d0] > shape[d1] else 0
    perm = list(range(len(shape)))[::-1]   # innermost first
    for i in range(1, len(perm)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return dense_strides(shape, perm[::-1])   # (perm: innermost first)
