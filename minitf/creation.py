"""Making tensors: ``tensor`` (from data: :mod:`minitf.tensor_from_data`), ``from_numpy``, ``zeros``/``ones``/``full`` (and ``_like``),
``eye``, ``arange``, ``rand``, ``randn``, ``randint``, with PyTorch's signatures and defaults
(float data is of the default dtype, float32 unless :func:`set_default_dtype` changed it,
unless a dtype is given; integers are int64)."""
from __future__ import annotations

import operator
import _thread   # threading.local is _thread._local (threading itself stays out of `import minitf`)

import numpy as np

from .errors import ArgumentError, ArgumentTypeError
from . import backend
from .tensor import Tensor, _check_dtype, _DTYPE_NAMES
from .ops._util import is_int

_DTYPE_TYPES = frozenset(_DTYPE_NAMES.values())


class _Defaults(_thread._local):
    """set_default_device's device (minitf/settings.py), where a factory is given none (None: the
    CPU), and the ones the open ``with mt.device(...)`` blocks replaced: per thread, as torch's."""
    device = None

    def __init__(self):
        self.previous = []


defaults = _Defaults()


def resolve_device(device) -> str:
    """A factory's device: ``device``, or the default device (torch.set_default_device's) when None."""
    return backend.check_device(defaults.device if device is None else device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array`` (writes to either show in both), as PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    _check_dtype(array.dtype)
    return Tensor(array)


def _shape(shape, name):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    shape = tuple(shape)
    sizes = []
    for n in shape:
        try:    # an int, a NumPy integer or a one-element integer tensor (its __index__), as torch
            sizes.append(operator.index(n))
        except TypeError:
            sizes.append(None)
        if sizes[-1] is None:   # torch: TypeError (minitf's ValueError kept as a base)
            raise ArgumentTypeError(f"{name}: sizes must be non-negative integers, got {shape}")
        if sizes[-1] < 0:       # torch: RuntimeError
            raise ArgumentError(f"{name}: sizes must be non-negative integers, got {shape}")
    return tuple(sizes)


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros; ``size`` as ints or one tuple (the default float dtype unless ``dtype``)."""
    xp = backend.array_module(resolve_device(device))
    return _make(xp.zeros(_shape(size, "zeros"), dtype=_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    xp = backend.array_module(resolve_device(device))
    return _make(xp.ones(_shape(size, "ones"), dtype=_dtype(dtype)), requires_grad)


def _fill_scalar(name: str, value):
    """A fill value as torch takes it: a number, or a 0-d tensor read as the number it holds."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise TypeError(f"{name}(): argument 'fill_value' (position 2) must be Number, not Tensor "
                            f"(a tensor of shape {tuple(value.shape)}; a 0-d one is read as its number), as torch")
        return value.item()
    return value


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype follows it (bool, int64, the default
    float dtype, or its complex one for a complex number: complex64 for float32) unless given,
    when a value that dtype cannot hold is refused, as torch (``full((2,), 1j, dtype=float32)``,
    ``full((2,), 256, dtype=uint8)``: :mod:`minitf.ops.fill_values`). size (d_0, ...) -> that shape."""
    from .ops.fill_values import fill_number
    fill_value = _fill_scalar("full", fill_value)
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 np.int64 if isinstance(fill_value, (int, np.integer)) else
                 (np.complex128 if _default_dtype == np.float64 else np.complex64)
                 if isinstance(fill_value, (complex, np.complexfloating)) else _default_dtype)
    dt = _dtype(dtype)
    xp = backend.array_module(resolve_device(device))
    return _make(xp.full(_shape((size,), "full"), fill_number("full", fill_value, dt), dtype=dt), requires_grad)


def _like(x: Tensor, dtype, device):
    return (x.dtype if dtype is None else dtype), (x.device if device is None else device)


def _laid_out(name: str, x: Tensor, t: Tensor, memory_format, requires_grad) -> Tensor:
    """``t`` (a new row-major tensor of x's shape) with the strides torch's ``*_like`` factories
    give for ``memory_format`` (None: torch's default preserve_format, x's own layout when x is
    dense; :func:`minitf.type_objects.like_strides`), its values in memory order (as torch fills
    memory); a leaf with ``requires_grad``."""
    if not getattr(x, "_vmap_batched", False) and (memory_format is not None or not x.data.flags.c_contiguous):
        from .type_objects import like_strides
        strides = like_strides(name, x.shape, x.stride(), memory_format)
        if strides is not None:
            from .backend import storage
            return _make(storage.view(t.data.reshape(-1), t.shape, strides, 0), requires_grad)
    return t.requires_grad_() if requires_grad else t


def zeros_like(x: Tensor, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    """Zeros of ``x``'s shape, dtype and device (unless given), laid out as ``memory_format``
    (torch's preserve_format by default: as x, when x is dense)."""
    dtype, device = _like(x, dtype, device)
    return _laid_out("zeros_like", x, zeros(x.shape, dtype=dtype, device=device), memory_format, requires_grad)


def ones_like(x: Tensor, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    """Ones of ``x``'s shape, dtype and device (unless given), laid out as ``memory_format``."""
    dtype, device = _like(x, dtype, device)
    return _laid_out("ones_like", x, ones(x.shape, dtype=dtype, device=device), memory_format, requires_grad)


def full_like(x: Tensor, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    """``fill_value`` in ``x``'s shape, dtype and device (unless given), laid out as ``memory_format``."""
    dtype, device = _like(x, dtype, device)
    fill_value = _fill_scalar("full_like", fill_value)
    return _laid_out("full_like", x, full(x.shape, fill_value, dtype=dtype, device=device), memory_format,
                     requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor whose values are not meaningful (zeros here; PyTorch leaves memory as it was)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The (n, m) identity matrix (m = n by default)."""
    n, m = _shape((n, n if m is None else m), "eye")
    xp = backend.array_module(resolve_device(device))
    return _make(xp.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(*args, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``arange(end)``, ``arange(start, end[, step])``: int64 when every argument is an
    integer, else the default float dtype (PyTorch's defaults)."""
    if not 1 <= len(args) <= 3:
        raise TypeError(f"arange: expected end, or start, end[, step]; got {len(args)} arguments")
    args = tuple(_number("arange", a) for a in args)
    if dtype is None:
        dtype = np.int64 if all(isinstance(a, (int, np.integer)) for a in args) else _default_dtype
    if len(args) == 3 and args[2] == 0:
        raise ArgumentError("arange: step must be nonzero")
    xp = backend.array_module(resolve_device(device))
    return _make(xp.arange(*args, dtype=_dtype(dtype)), requires_grad)


def _number(name: str, a):
    """A 0-d tensor argument as the Python number it holds (torch reads ``arange(t)`` so: an int64
    range for an integer t); anything else as it is."""
    if isinstance(a, Tensor):
        if a.ndim != 0:
            raise TypeError(f"{name}(): a tensor argument must be 0-d (one number), got shape {tuple(a.shape)}")
        return a.item()
    return a


def _generator(generator, device, name="rand"):
    from .generator import resolve
    return resolve(generator, device, name)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform samples in [0, 1) from the device's default generator (see ``manual_seed``); a
    complex dtype draws both parts so, as torch. size (d_0, ...) -> a tensor of that shape."""
    dt = _dtype(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"rand: needs a floating or complex dtype, got {dt}")
    shape, part = _shape(size, "rand"), _part_dtype(dt)
    data = _generator(generator, resolve_device(device)).random(shape + (2,) * (dt.kind == "c"), dtype=part)
    return _make(_as_complex(data, dt, shape), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples from the device's default generator (see ``manual_seed``); a
    complex dtype has unit variance, its parts each N(0, 1/2), as torch. size (d_0, ...) -> that shape."""
    dt = _dtype(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"randn: needs a floating or complex dtype, got {dt}")
    shape, part = _shape(size, "randn"), _part_dtype(dt)
    data = _generator(generator, resolve_device(device), "randn").standard_normal(
        shape + (2,) * (dt.kind == "c"), dtype=part)
    if dt.kind == "c":
        data *= part.type(np.sqrt(0.5))
    return _make(_as_complex(data, dt, shape), requires_grad)


def _part_dtype(dt: np.dtype) -> np.dtype:
    """The float dtype a draw of ``dt`` is made in: its parts' for a complex dtype."""
    return np.dtype(np.float32 if dt == np.complex64 else np.float64) if dt.kind == "c" else dt


def _as_complex(data, dt: np.dtype, shape: tuple):
    """A float draw of shape + (2,) as the complex array of ``shape`` (real, imaginary interleaved,
    torch's layout); a real draw as it is."""
    return data.view(dt).reshape(shape) if dt.kind == "c" else data


def randint(*args, size=None, dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (int64 unless ``dtype``), as PyTorch."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    if not high > low:
        raise ValueError(f"randint: need low < high, got low={low}, high={high}")
    dt = _dtype(np.int64 if dtype is None else dtype)
    data = _generator(generator, resolve_device(device), "randint").integers(
        int(low), int(high), size=_shape((size,), "randint"), dtype=np.int64)
    return _make(data if dt == np.int64 else data.astype(dt), False)


_default_dtype = np.dtype(np.float32)


def get_default_dtype():
    """The dtype of floats made from Python data and of ``zeros``, ``rand``... without a dtype
    (float32 unless :func:`set_default_dtype` changed it), as ``torch.get_default_dtype``."""
    return _default_dtype


def set_default_dtype(d) -> None:
    """Make ``d`` (float32 or float64) the default float dtype, as ``torch.set_default_dtype``.

    It applies where torch's does: ``tensor`` / ``as_tensor`` of Python floats, ``full`` with a
    float value, ``arange`` with a float argument, and ``zeros``, ``ones``, ``empty``, ``eye``,
    ``rand``, ``randn``, ``linspace`` without a dtype, and the parameters of ``nn`` layers built
    after it (read when a layer is built). NumPy float arrays keep their dtype and ``*_like``
    functions take their input's.
    """
    global _default_dtype
    try:
        dt = None if d is None else _check_dtype(d)  # (np.dtype(None) would be float64)
    except (TypeError, ValueError):
        dt = None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default dtype, got {d!r}")
    _default_dtype = dt


def _dtype(dtype):
    return _default_dtype if dtype is None else _check_dtype(dtype)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a Tensor without copying when it can be avoided, as torch.as_tensor: a
    Tensor already of that dtype and device is returned itself (else converted with ``to``,
    differentiably); a NumPy array on the CPU of a supported dtype shares its memory (as
    :func:`from_numpy`); anything else is copied as by :func:`tensor`."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if (isinstance(data, np.ndarray) and resolve_device(device) == "cpu"
            and (dtype is None or _check_dtype(dtype) == data.dtype)):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a :class:`Tensor`."""
    return isinstance(obj, Tensor)


def empty_like(x: Tensor, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    """A tensor of ``x``'s shape, dtype and device whose values are not meaningful (zeros here),
    laid out as ``memory_format`` (torch's preserve_format by default)."""
    dtype, device = _like(x, dtype, device)
    return _laid_out("empty_like", x, zeros(x.shape, dtype=dtype, device=device), memory_format, requires_grad)


def rand_like(x: Tensor, dtype=None, device=None, requires_grad=False, generator=None, memory_format=None) -> Tensor:
    """Uniform samples in [0, 1) of ``x``'s shape, dtype and device (unless given), laid out as
    ``memory_format`` (the draws fill memory in order, as torch's)."""
    dtype, device = _like(x, dtype, device)
    return _laid_out("rand_like", x, rand(x.shape, dtype=dtype, device=device, generator=generator),
                     memory_format, requires_grad)


def randn_like(x: Tensor, dtype=None, device=None, requires_grad=False, generator=None,
               memory_format=None) -> Tensor:
    """Standard normal samples of ``x``'s shape, dtype and device (unless given), laid out as
    ``memory_format``."""
    dtype, device = _like(x, dtype, device)
    return _laid_out("randn_like", x, randn(x.shape, dtype=dtype, device=device, generator=generator),
                     memory_format, requires_grad)


def randint_like(x: Tensor, *args, dtype=None, device=None, generator=None, memory_format=None) -> Tensor:
    """Integers uniform in [low, high) of ``x``'s shape, dtype and device (unless given):
    ``randint_like(x, high)`` or ``randint_like(x, low, high)``, as torch; laid out as ``memory_format``."""
    if len(args) not in (1, 2):
        raise TypeError("randint_like: expected randint_like(x, high) or randint_like(x, low, high)")
    dtype, device = _like(x, dtype, device)
    return _laid_out("randint_like", x, randint(*args, x.shape, dtype=dtype, device=device, generator=generator),
                     memory_format, False)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (the default
    float dtype unless ``dtype``), as torch.linspace.

    Computed in float64 and then cast: each float32 value is the float64 one rounded, both ends
    exact. torch computes in the output dtype (a float32 step, from the start for the first half
    and from the end for the second, in SIMD-width chunks), so float32 values may differ from
    torch's by an ulp or so (up to 9.5e-7 at ``linspace(-3.7, 11.3, 1001)``)."""
    if not is_int(steps) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    dt = _dtype(dtype)
    xp = backend.array_module(resolve_device(device))
    # in float64, then cast: not torch's float32 arithmetic (see the docstring), but no drift
    return _make(xp.linspace(float(start), float(end), int(steps), dtype=np.float64).astype(dt), requires_grad)


def randperm(n: int, dtype=None, device=None, generator=None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype``), from the device's default
    generator: the order of uniform draws (ties have probability ~n^2 / 2^53)."""
    if not is_int(n) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative integer, got {n!r}")
    device = resolve_device(device)
    keys = _generator(generator, device, "randperm").random((int(n),), dtype=np.float64)
    xp = backend.array_module(device)
    return _make(xp.argsort(keys).astype(_dtype(np.int64 if dtype is None else dtype)), False)


# tensor(data) and its dtype inference: minitf/tensor_from_data.py (it reads this module's defaults)
from .tensor_from_data import tensor  # noqa: E402
