"""What kernels ask the backend for where NumPy and CuPy differ: scatter-add, the special
functions each has, and whether floating-point errors are signalled."""
from __future__ import annotations

import numpy as np

from .. import backend   # the package, whose CuPy state is read at call time (see its docstring)


def scatter_add(target, index, values) -> None:
    """In place ``target[index] += values``, repeated indices accumulating.

    NumPy spells it ``np.add.at``; CuPy ``cupyx.scatter_add``. On NumPy, rows picked by a
    1-D integer index (an embedding's backward) are summed by sorting the index and adding
    each run of equal rows with ``np.add.reduceat``: 5x faster than ``np.add.at`` for
    (768, 128) rows into 65, and deterministic (a stable sort).
    """
    xp = backend.get_array_module(target)
    if xp is np:
        if (isinstance(index, np.ndarray) and index.ndim == 1 and index.dtype.kind in "iu"
                and index.size > 1 and target.ndim >= 1 and isinstance(values, np.ndarray)
                and values.shape == index.shape + target.shape[1:]):
            index = np.where(index < 0, index + target.shape[0], index)   # one name per row
            order = np.argsort(index, kind="stable")
            rows = index[order]
            starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
            target[rows[starts]] += np.add.reduceat(values[order], starts, axis=0)
        else:
            np.add.at(target, index, values)
    elif xp is backend._cupy:
        import cupyx
        cupyx.scatter_add(target, index, values)
    else:
        xp.scatter_add(target, index, values)


def scatter_extreme(target, index, values, kind: str) -> None:
    """In place ``target[index] = max(target[index], values)`` (``kind`` "max", or "min"), every
    repeated index taking part: NumPy's ``np.maximum.at``, CuPy's ``cupyx.scatter_max``."""
    xp = backend.get_array_module(target)
    if xp is np:
        (np.maximum if kind == "max" else np.minimum).at(target, index, values)
    elif xp is backend._cupy:
        import cupyx
        (cupyx.scatter_max if kind == "max" else cupyx.scatter_min)(target, index, values)
    else:
        getattr(xp, "scatter_" + kind)(target, index, values)


def diagonal_view(a, offset: int, axis1: int, axis2: int):
    """The (axis1, axis2) diagonal of array ``a`` as the last dim, a view of a's memory that
    writes go through (torch.diagonal's). NumPy returns it read-only (kept for backward
    compatibility; the memory is a's): it is made writable here when ``a`` is. CuPy's is
    writable already (its arrays have no such flag)."""
    xp = backend.get_array_module(a)
    v = xp.diagonal(a, offset, axis1, axis2)
    flags = getattr(v, "flags", None)
    if flags is not None and getattr(flags, "writeable", True) is False and a.flags.writeable:
        v.flags.writeable = True
    return v


def window_view(a, axis, size, step=1, *, writeable: bool = True):
    """The windows of ``size`` elements every ``step`` along ``axis`` as a new last dim, a view of
    a's memory: (..., n, ...) -> (..., (n - size) // step + 1, ..., size). ``axis``, ``size`` and
    ``step`` may be tuples (one entry per axis, the window dims appended in that order): torch's
    ``Tensor.unfold`` takes one axis, convolution and pooling (ops/windows.py) the spatial ones.
    NumPy and CuPy both spell it ``lib.stride_tricks.as_strided`` (CuPy without ``writeable``: its
    arrays have no such flag); ``writeable=False`` gives NumPy a read-only view (as
    ``sliding_window_view``'s), for callers that only read; windows may overlap, so writes into a
    writable one are the caller's care."""
    xp = backend.get_array_module(a)
    axes, sizes, steps = ((v,) if isinstance(v, int) else tuple(v) for v in (axis, size, step))
    steps = steps * len(axes) if len(steps) == 1 else steps
    shape, strides = list(a.shape), list(a.strides)
    for ax, sz, st in zip(axes, sizes, steps):
        shape[ax], strides[ax] = (a.shape[ax] - sz) // st + 1, a.strides[ax] * st
    shape, strides = tuple(shape) + sizes, tuple(strides) + tuple(a.strides[ax] for ax in axes)
    if xp is np:
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=writeable and a.flags.writeable)
    if xp is backend._cupy:
        return xp.lib.stride_tricks.as_strided(a, shape, strides)
    return xp.as_strided(a, shape, strides)


def complex_as_pairs(a):
    """A complex array (...) as its float pairs (..., 2), a view sharing a's memory where the array
    module can give one (NumPy's and CuPy's ``view`` of a float dtype along a new last axis of size
    1: any strides); else a copy."""
    try:
        return a[..., None].view(np.finfo(a.dtype).dtype)
    except (ValueError, TypeError, AttributeError):
        xp = backend.get_array_module(a)
        return xp.stack([a.real, a.imag], axis=-1)


def pairs_as_complex(a, complex_dtype):
    """A float array (..., 2) as complex (...), a view sharing a's memory where its last axis is
    contiguous (the pairs adjacent, as torch's view_as_complex needs); else None."""
    try:
        return a.view(complex_dtype)[..., 0]
    except (ValueError, TypeError, AttributeError):
        return None


def native_special(xp, name: str):
    """The array module's own elementwise special function ``name`` ("erf", "erfc", "gammaln",
    "log_ndtr", ...), or None.

    NumPy has none (and minitf does not depend on SciPy): :mod:`minitf.ops.erf`, ``gamma_fns``,
    ``bessel_ndtr`` and ``incomplete_gamma`` evaluate them there. CuPy has them, in
    ``cupyx.scipy.special``; one that a CuPy version lacks is None too (minitf's own kernel,
    written in the array module's functions, then runs on the device)."""
    if xp is backend._cupy and xp is not None:
        import cupyx.scipy.special
        return getattr(cupyx.scipy.special, name, None)
    return None


def quiet_underflow(xp):
    """A context in which a result rounding to 0 (or a subnormal) raises nothing.

    Underflow is the correct rounding of e.g. exp(-800), yet NumPy flags it
    under ``np.errstate(all="raise")``; CuPy never signals floating-point
    errors, so there it is a no-op."""
    if xp is backend._cupy:
        import contextlib
        return contextlib.nullcontext()
    return np.errstate(under="ignore")


# NumPy's floating-point warnings ("divide by zero encountered in log"), as their messages read
FP_WARNING_MESSAGE = r"(divide by zero|invalid value|overflow|underflow) encountered"


def reduce_sum(x, axis, keepdims: bool, dtype=None):
    """``x.sum(axis, keepdims, dtype)``; on NumPy through ``np.add.reduce`` itself, the C call that
    ``ndarray.sum`` reaches through ``numpy._core._methods``: the same result, but a floating-point
    warning (inf + -inf) is then raised from minitf's frame, where
    :func:`silence_fp_warnings_from_minitf` silences it, not from NumPy's, where it cannot
    without silencing the user's own ``np.sum``. CuPy never warns."""
    if type(x) is np.ndarray:
        return np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)
    return x.sum(axis=axis, dtype=dtype, keepdims=keepdims)


def reduce_mean(x, axis, keepdims: bool):
    """``x.mean(axis, keepdims)`` (see :func:`reduce_sum`): NumPy's mean of float32/float64 is
    its sum divided by the count in the same dtype, so the result is bit for bit the same, and
    an empty slice gives NaN as torch's, without NumPy's "Mean of empty slice" warning. Other
    dtypes (float16 accumulates in float32) keep ``x.mean``."""
    if type(x) is np.ndarray and x.dtype in (np.float32, np.float64):
        count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
        return np.true_divide(np.add.reduce(x, axis=axis, keepdims=keepdims), x.dtype.type(count))
    return x.mean(axis=axis, keepdims=keepdims)


def silence_fp_warnings_from_minitf() -> None:
    """Make NumPy's floating-point warnings raised inside minitf's own code silent, as PyTorch's
    and CuPy's inf and NaN results are: ``mt.log(mt.zeros(1))`` is ``-inf``, quietly.

    A warnings filter, not an ``np.errstate`` around every op (a microsecond each): it costs
    nothing per op. It is *appended* to the filter list, so every filter the user sets comes
    before it and wins: ``python -W error::RuntimeWarning`` (or ``warnings.simplefilter("error")``,
    or pytest's ``-W``) still turns them into errors, to find where a NaN was born; so does
    ``np.errstate(all="raise")`` (NumPy raises then, without a warning). Only warnings whose
    message is NumPy's and whose frame is in minitf are matched: a user's own NumPy code
    and minitf's deliberate warnings are untouched."""
    import warnings
    warnings.filterwarnings("ignore", message=FP_WARNING_MESSAGE, category=RuntimeWarning,
                            module=r"minitf(\.|\Z)", append=True)


def quiet_fp_warnings():
    """A context in which NumPy's floating-point *warnings* (divide by zero, overflow, invalid
    value) are not given; a category set to anything but "warn" (``np.errstate(all="raise")``
    to debug) is kept. For a whole backward pass: its inf and NaN gradients at poles and kinks
    (0 ** -1, inf * 0) are the values PyTorch computes, silently, as CuPy does (it never
    signals), and a warning from deep in the engine would tell the user nothing to act on.
    One context a pass, not one an op: entering one costs about a microsecond."""
    return np.errstate(**{k: "ignore" for k, v in np.geterr().items() if v == "warn"})
