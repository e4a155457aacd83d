"""A strict fake GPU: NumPy-backed arrays that behave like CuPy's about host memory.

There is no GPU on the machines that develop and test minitf, so the GPU code
path is kept honest by running it on this device (``device="fake"``). Its array
type wraps a NumPy array but, as ``cupy.ndarray`` does,

* refuses implicit conversion to NumPy (``np.asarray(a)`` raises
  ``TypeError: Implicit conversion to a NumPy array is not allowed...``);
* refuses to meet a host ``numpy.ndarray`` in one operation
  (``TypeError: Unsupported type <class 'numpy.ndarray'>``), while Python and
  NumPy scalars are accepted;
* returns 0-d device arrays, not NumPy scalars, from reductions;
* lets ``np.exp(a)`` and other NumPy functions dispatch to it.

An ``ndarray`` subclass cannot imitate the first rule (NumPy never calls
``__array__`` on a subclass), hence a wrapper type with its own namespace
(:data:`fake_xp`), used by kernels exactly where they would use ``cupy``.
Only :mod:`minitf.backend` should need to import this module.

It also counts every explicit crossing of the host boundary, both ways
(:func:`count_host_transfers`), so that tests can show a training step keeps
its data on the device, as a GPU needs it to: each crossing there is a
synchronisation and a copy over PCIe. And it counts the array operations made
on it (:func:`count_device_ops`): on a GPU each is a kernel launch, some
microseconds of host time, so an op whose count grows with the data size (a
Python loop over rows or chunks) is slow there whatever the GPU.
"""
from __future__ import annotations

import contextlib

import numpy as np

# explicit host <-> device crossings since import: "to_host" (get, item, float(), int(),
# bool(), asnumpy) and "to_device" (asarray of host data); see count_host_transfers()
transfers = {"to_host": 0, "to_device": 0}
# array operations (ufuncs, functions, methods, indexing) run on the device since import
ops = [0]


@contextlib.contextmanager
def count_host_transfers():
    """Count host <-> device crossings inside the block.

    Yields a dict whose ``"to_host"`` and ``"to_device"`` entries, read after
    the block, are the numbers of crossings made inside it::

        with count_host_transfers() as n:
            loss = step()
        assert n["to_host"] == 0
    """
    start = dict(transfers)
    counts = {"to_host": 0, "to_device": 0}
    try:
        yield counts
    finally:
        for k in counts:
            counts[k] = transfers[k] - start[k]

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")


@contextlib.contextmanager
def count_device_ops():
    """Count the array operations made on the fake device inside the block (each a kernel
    launch on a GPU: ufuncs, array functions, methods, indexing)::

        with count_device_ops() as n:
            y = F.gelu(x)
        assert n["ops"] < 20
    """
    start = ops[0]
    counts = {"ops": 0}
    try:
        yield counts
    finally:
        counts["ops"] = ops[0] - start


def _unwrap(x):
    """Device array -> its NumPy buffer; a host ndarray is refused, as CuPy does."""
    if type(x) is FakeDeviceArray:
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    return x


def _unwrap_kwargs(kwargs):
    return {k: _unwrap(v) for k, v in kwargs.items()}


def _wrap(x):
    if isinstance(x, np.ndarray):
        return FakeDeviceArray(x)
    if isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_)):
        return FakeDeviceArray(np.asarray(x))  # reductions give 0-d arrays, as in CuPy
    if type(x) in (list, tuple):
        return type(x)(_wrap(v) for v in x)
    return x


class FakeDeviceArray:
    """An array that lives on the fake device: see the module docstring."""

    __slots__ = ("_a",)
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, array: np.ndarray):
        self._a = array

    # --- attributes read on hot paths
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)

    # --- the host boundary
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self) -> np.ndarray:
        """Explicit device -> host copy (``cupy.ndarray.get``)."""
        transfers["to_host"] += 1
        return self._a.copy()

    def item(self):
        transfers["to_host"] += 1
        return self._a.item()

    def __float__(self):
        transfers["to_host"] += 1
        return float(self._a)

    def __int__(self):
        transfers["to_host"] += 1
        return int(self._a)

    def __bool__(self):
        transfers["to_host"] += 1
        return bool(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __repr__(self):
        return f"FakeDeviceArray({self._a!r})"

    # --- indexing
    def __getitem__(self, index):
        ops[0] += 1
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index, value):
        ops[0] += 1
        self._a[_unwrap(index)] = _unwrap(value)

    # --- NumPy protocols: dispatch to this device, refusing host arrays
    # (each under np.errstate(all="ignore"): CuPy never signals a floating-point error, so inf and
    # NaN come quietly here too, whatever NumPy function or method makes them)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        ops[0] += 1
        with np.errstate(all="ignore"):
            return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap_kwargs(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        ops[0] += 1
        with np.errstate(all="ignore"):
            return _wrap(func(*_unwrap(args), **_unwrap_kwargs(kwargs)))

    # any other ndarray method or attribute (sum, reshape, T, astype, ...)
    def __getattr__(self, name):
        if name.startswith("__"):  # never forward __array_interface__ and kin: a host leak
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return lambda *a, **k: _counted(attr, a, k)
        return _wrap(attr)


def _counted(fn, args, kwargs):
    """``fn`` run on the unwrapped arguments, its result on the device: one device operation."""
    ops[0] += 1
    with np.errstate(all="ignore"):   # CuPy never signals (see __array_ufunc__)
        return _wrap(fn(*_unwrap(args), **_unwrap_kwargs(kwargs)))


def _binary(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


def _inplace(ufunc):
    def op(self, other):
        ufunc(self, other, out=(self,))
        return self
    return op


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                   ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul),
                   ("and", np.logical_and), ("or", np.logical_or), ("xor", np.logical_xor)]:
    setattr(FakeDeviceArray, f"__{_name}__", _binary(_uf))
    setattr(FakeDeviceArray, f"__r{_name}__", _binary(_uf, reflected=True))
    setattr(FakeDeviceArray, f"__i{_name}__", _inplace(_uf))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(FakeDeviceArray, f"__{_name}__", _binary(_uf))
FakeDeviceArray.__neg__ = lambda self: np.negative(self)
FakeDeviceArray.__abs__ = lambda self: np.absolute(self)
FakeDeviceArray.__invert__ = lambda self: np.invert(self)
FakeDeviceArray.__pos__ = lambda self: self


class _FakeGenerator:
    """``cupy.random.Generator`` stand-in: draws on the host, returns device arrays."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __deepcopy__(self, memo):  # __getattr__ would otherwise recurse on the uninitialised copy
        import copy
        new = _FakeGenerator.__new__(_FakeGenerator)
        new._g = copy.deepcopy(self._g, memo)
        return new

    def __getattr__(self, name):
        attr = getattr(self._g, name)
        if callable(attr):
            return lambda *a, **k: _wrap(attr(*_unwrap(a), **_unwrap_kwargs(k)))
        return attr


class _FakeRandom:
    default_rng = staticmethod(lambda seed=None: _FakeGenerator(seed))


class _FakeUfunc:
    """``cupy.exp`` and friends: host arrays are refused, results stay on the device."""

    def __init__(self, ufunc):
        self._u = ufunc

    def __call__(self, *args, **kwargs):
        return _counted(self._u, args, kwargs)

    def __getattr__(self, name):
        attr = getattr(self._u, name)
        if callable(attr):
            return lambda *a, **k: _counted(attr, a, k)
        return attr


class _FakeLinalg:
    """``cupy.linalg``: NumPy's, on device arrays; its result tuples (NumPy's named ones) come
    back as plain tuples of device arrays, as CuPy's."""

    def __getattr__(self, name):
        attr = getattr(np.linalg, name)
        if isinstance(attr, type):
            return attr  # LinAlgError

        def fn(*a, **k):
            out = _counted(attr, a, k)
            return tuple(_wrap(v) for v in out) if isinstance(out, tuple) else out
        fn.__name__ = name
        return fn


class _FakeFFT:
    """``cupy.fft``: NumPy's transforms, on device arrays (frequencies made on the device)."""

    def __getattr__(self, name):
        attr = getattr(np.fft, name)

        def fn(*a, **k):
            return _counted(attr, a, k)
        fn.__name__ = name
        return fn


class _FakeNamespace:
    """The array module of the fake device, used as ``xp`` (like ``cupy``)."""

    ndarray = FakeDeviceArray
    random = _FakeRandom()
    linalg = _FakeLinalg()
    fft = _FakeFFT()
    __name__ = "minitf.fakedevice.fake_xp"

    @staticmethod
    def asarray(a, dtype=None):
        """Host -> device transfer (allowed explicitly, as ``cupy.asarray``)."""
        if type(a) is FakeDeviceArray:
            return a if dtype is None or a.dtype == dtype else FakeDeviceArray(a._a.astype(dtype))
        if isinstance(a, np.ndarray) or type(a) in (list, tuple):
            transfers["to_device"] += 1  # a Python scalar is a kernel argument, not a copy
        return FakeDeviceArray(np.array(a, dtype=dtype))

    array = asarray

    @staticmethod
    def asnumpy(a):
        return a.get() if type(a) is FakeDeviceArray else np.asarray(a)  # get() counts it

    @staticmethod
    def scatter_add(target, index, values):
        """In-place ``target[index] += values`` with repeats accumulating (``cupyx.scatter_add``)."""
        np.add.at(_unwrap(target), _unwrap(index), _unwrap(values))

    @staticmethod
    def scatter_max(target, index, values):
        """``cupyx.scatter_max``: in place, every repeated index taking part."""
        np.maximum.at(_unwrap(target), _unwrap(index), _unwrap(values))

    @staticmethod
    def scatter_min(target, index, values):
        """``cupyx.scatter_min``."""
        np.minimum.at(_unwrap(target), _unwrap(index), _unwrap(values))

    @staticmethod
    def as_strided(x, shape, strides):
        """``cupy.lib.stride_tricks.as_strided``: a view of x's device memory."""
        ops[0] += 1
        return FakeDeviceArray(np.lib.stride_tricks.as_strided(_unwrap(x), shape, strides))

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc):
            return _FakeUfunc(attr)
        if isinstance(attr, type) or not callable(attr):
            return attr  # dtypes and constants
        fn = lambda *a, **k: _counted(attr, a, k)  # noqa: E731
        fn.__name__ = name
        return fn


fake_xp = _FakeNamespace()
