"""``tensor(data)``: a Tensor from a Python number, nested list, NumPy array or Tensor, with
PyTorch's dtype inference (bools, then int64 for Python ints, then the default float dtype) and
its overflow checks. :mod:`minitf.creation` re-exports it with the factories."""
from __future__ import annotations

import numpy as np

from . import backend
from . import creation as _creation   # (read at call time: the default device and dtype it keeps)
from .ops._util import note_host_index_bounds
from .tensor import Tensor, _check_dtype, _DTYPE_NAMES

_DTYPE_TYPES = frozenset(_DTYPE_NAMES.values())


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Build a Tensor from a Python number, nested list, NumPy array or Tensor (always a copy).

    Floating data defaults to the default dtype (:func:`get_creation._default_dtype`; NumPy arrays
    and scalars keep their dtype, as in PyTorch);
    integers to int64 and booleans to bool. ``minitf.tensor`` is this function, as
    ``torch.tensor`` is; the Tensor class lives in the module ``minitf.tensor``
    (``from minitf.tensor import Tensor``), the engine in ``minitf.autograd``.
    """
    device = _creation.resolve_device(device)
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = _check_dtype(dtype)
    xp = backend.array_module(device)
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, as a NumPy array does (and torch)
        data = np.asarray(data)
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        arr = backend.to_device(data, device)
        if dtype is not None and arr.dtype != dtype:
            arr = arr.astype(dtype)
        elif arr is data:  # never share memory with the caller's array (from_numpy does)
            arr = arr.copy()
    else:
        try:
            host = np.asarray(data)
        except TypeError:  # a device's tensor inside the list (NumPy cannot read a fake or CuPy array)
            host = None
        if host is None or host.ndim > _list_depth(data):  # a tensor inside: torch reads it as a number
            data = _tensors_as_scalars(data)
            host = np.asarray(data)
        if host.dtype.kind == "O" or host.dtype == np.uint64 and _has_python_int(data):
            if dtype is None or dtype.kind != "f":  # torch's ValueError, where NumPy's cast would wrap
                raise ValueError("Overflow when unpacking long long: tensor(): a Python int in the data is "
                                 "outside int64's range [-2**63, 2**63) (give dtype=float64 to keep it approximately)")
            host = np.asarray(data, dtype=np.float64)
        if dtype is None:
            dtype = _inferred_dtype(data, host)
        elif host.dtype.kind in "iuf" and dtype.kind in "iu" and host.size:
            _check_fits(host, dtype)
        host = host.astype(dtype, copy=False)
        arr = host if xp is np else xp.asarray(host)
    out = Tensor(arr, requires_grad=requires_grad)
    # integers from the host on a device: their range is known without asking the device, so
    # embedding and cross_entropy check it without a synchronisation (not after a cast on the
    # device, which may wrap)
    if not hasattr(data, "shape"):
        note_host_index_bounds(out, host)
    elif isinstance(data, np.ndarray) and data.dtype == arr.dtype:
        note_host_index_bounds(out, data)
    return out


def _list_depth(data) -> int:
    """How deep the lists (tuples) of ``data`` nest, along the first elements."""
    depth = 0
    while isinstance(data, (list, tuple)) and data:
        data, depth = data[0], depth + 1
    return depth + (isinstance(data, (list, tuple)))


def _tensors_as_scalars(data):
    """``data`` with each Tensor in its lists as a NumPy scalar of its dtype: torch reads a tensor
    inside a list as one number (``tensor([tensor([1.]), tensor([2.])])`` has shape (2,)), and
    refuses one of more elements with its ValueError."""
    if isinstance(data, Tensor):
        if data.data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"(tensor(): a tensor of shape {data.shape} inside the data)")
        return backend.to_numpy(data.data).reshape(())[()]
    if isinstance(data, (list, tuple)):
        return [_tensors_as_scalars(d) for d in data]
    return data


def _inferred_dtype(data, host):
    """The dtype of ``tensor(data)`` for Python data, by torch's rule: the promotion of every
    element's own type, where a Python float counts as the default dtype, an int as int64 and
    a bool as bool, and a Tensor, NumPy scalar or array inside counts as its dtype (so a list of
    float64 0-d tensors or NumPy floats stays float64, NumPy int32 arrays stay int32). Unlike
    NumPy's promotion, a float with an integer is that float (float16 with int64: float16)."""
    kind = host.dtype.kind
    if kind in "biu":  # NumPy's promotion of these is torch's (a Python int counts as int64): no walk
        return host.dtype if host.dtype.type in _DTYPE_TYPES else np.dtype(np.int64)
    if kind not in "fc":
        raise TypeError(f"cannot build a tensor from data of dtype {host.dtype}")
    floats, ints, kinds = [], [], set()
    _element_dtypes(data, floats, ints, kinds)
    if kind == "c":   # a Python complex counts as the default dtype's complex one (complex64 for float32)
        return np.result_type(np.complex64, _creation._default_dtype, *floats)
    if not floats:  # Python floats only (or tensor([])): the default dtype
        return _creation._default_dtype
    return np.result_type(*floats, *([_creation._default_dtype] if "f" in kinds else []))


_PY_KINDS = {float: "f", int: "i", bool: "b"}


def _element_dtypes(seq, floats, ints, kinds) -> None:
    """Collect the dtypes of ``seq``'s typed elements (floats and ints apart; the integers
    never decide a float result) and the kinds of its Python numbers, recursing into nested lists; one C-speed pass per level (``set(map(type))``)."""
    if not isinstance(seq, (list, tuple)):
        seq = (seq,)
    for tp in set(map(type, seq)):
        kind = _PY_KINDS.get(tp)
        if kind is not None:
            kinds.add(kind)
        elif tp is list or tp is tuple:
            for sub in seq:
                if type(sub) is tp:
                    _element_dtypes(sub, floats, ints, kinds)
        else:
            for v in seq:
                if type(v) is tp:
                    dt = getattr(v, "dtype", None)
                    if dt is None:
                        kinds.add(np.asarray(v).dtype.kind)  # another number type (a subclass of float...)
                    elif dt.kind in "fc":
                        floats.append(dt)
                    elif dt.kind in "iu":
                        ints.append(dt)
                    else:
                        kinds.add(dt.kind)


def _has_python_int(data) -> bool:
    """Whether the nested lists ``data`` hold a Python int (NumPy makes uint64 of one above 2**63)."""
    if isinstance(data, (list, tuple)):
        return any(_has_python_int(v) for v in data)
    return type(data) is int


def _check_fits(host, dtype) -> None:
    """torch's check of Python numbers given an integer dtype: every value must be finite and in
    range (for an unsigned dtype, negatives down to -max wrap, as torch lets them), else a
    RuntimeError, where NumPy's cast would wrap silently (``tensor([300], dtype=uint8)``)."""
    info = np.iinfo(dtype)
    lo = -int(info.max) if info.min == 0 else int(info.min)
    vmin, vmax = host.min(), host.max()
    if host.dtype.kind == "f" and not (np.isfinite(vmin) and np.isfinite(vmax)) \
            or vmin < lo or vmax > int(info.max):
        raise RuntimeError(f"value cannot be converted to type {np.dtype(dtype)} without overflow: tensor() "
                           f"got values in [{vmin}, {vmax}], {np.dtype(dtype)} holds [{info.min}, {info.max}]")
