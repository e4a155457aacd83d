"""``torch.testing`` for minitf: :func:`assert_close` (the comparison tests reach for, with torch's
per-dtype tolerances and messages) and :func:`make_tensor` (random test inputs).

    from minitf.testing import assert_close, make_tensor
    x = make_tensor((2, 3), dtype=mt.float32, device="cpu", low=-1, high=1)
    assert_close(x * 2, x + x)

Two values are close where |actual - expected| <= atol + rtol * |expected| elementwise
(infinities of the same sign are equal; NaN equals NaN only with ``equal_nan=True``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# torch's default (rtol, atol) per dtype; integers and bools are compared exactly
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


def _tolerances(*dtypes):
    pairs = [_TOLERANCES.get(np.dtype(d).name, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


class _Mismatch(AssertionError):
    pass


def _compare_arrays(a, e, rtol, atol, equal_nan, exact: bool, what: str):
    """Raise _Mismatch with torch's report where ``a`` and ``e`` (same shape) are not close."""
    floating = a.dtype.kind in "fc" or e.dtype.kind in "fc"   # (complex: |a - e|, as torch's isclose)
    if floating:
        wide = np.result_type(a.dtype, e.dtype, np.float16)   # the inputs' own precision, as torch reports it
        a64, e64 = a.astype(wide), e.astype(wide)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a64 - e64)
            # equal values (an infinity only equals itself), or finite and within the tolerance
            close = (a64 == e64) | (np.isfinite(a64) & np.isfinite(e64) & (diff <= atol + rtol * np.abs(e64)))
            if equal_nan:
                close |= np.isnan(a64) & np.isnan(e64)
            bad = ~close
    else:
        a64, e64 = a.astype(np.int64), e.astype(np.int64)
        diff = np.abs(a64 - e64)
        bad = diff > atol + rtol * np.abs(e64)
    if not bad.any():
        return
    diff = np.where(bad, diff, 0)   # the report looks at the mismatches only, as torch's
    with np.errstate(divide="ignore", invalid="ignore"):
        # (an integer's relative difference in float32, torch's default dtype)
        rel = diff / np.abs(e64) if floating else diff.astype(np.float32) / np.abs(e64).astype(np.float32)
    rel = np.where(bad, rel, 0)
    n, total = int(bad.sum()), bad.size

    def worst(values):   # the largest (a NaN first, as torch.max), and where
        flat = np.where(np.isnan(values), np.inf, values).ravel() if values.dtype.kind == "f" else values.ravel()
        k = int(np.argmax(flat))
        idx = tuple(int(i) for i in np.unravel_index(k, values.shape)) if values.ndim else ()
        return values.ravel()[k].item(), idx
    (ad, ai), (rd, ri) = worst(diff), worst(rel)
    kind = "equal" if exact else "close"
    if a.ndim == 0:   # a 0-d tensor is reported as a scalar, as torch's (in Python numbers)
        what, av, ev = "Scalars", a64.item(), e64.item()
        ad = abs(av - ev)
        rd = float("inf") if ev == 0 else ad / abs(ev)
        lines = [f"Expected {ev} but got {av}.", f"Absolute difference: {ad}" +
                 ("" if exact else f" (up to {atol} allowed)"), f"Relative difference: {rd}" +
                 ("" if exact else f" (up to {rtol} allowed)")]
    else:
        lines = [f"Mismatched elements: {n} / {total} ({100 * n / total:.1f}%)",
                 f"Greatest absolute difference: {ad} at index {ai}" + ("" if exact else f" (up to {atol} allowed)"),
                 f"Greatest relative difference: {rd} at index {ri}" + ("" if exact else f" (up to {rtol} allowed)")]
    raise _Mismatch(f"{what} are not {kind}!\n\n" + "\n".join(lines))


def _pair(actual, expected, rtol, atol, equal_nan, check_device, check_dtype):
    from . import backend
    from .tensor import Tensor
    scalar = (bool, int, float)
    if actual is None and expected is None:   # torch's NonePair: two Nones are equal
        return
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        if tuple(actual.shape) != tuple(expected.shape):
            raise _Mismatch(f"The values for attribute 'shape' do not match: {actual.shape} != {expected.shape}.")
        if check_device and str(actual.device) != str(expected.device):
            raise _Mismatch(f"The values for attribute 'device' do not match: {actual.device} != {expected.device}.")
        if check_dtype and actual.dtype != expected.dtype:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} != {expected.dtype}.")
        a, e, what = backend.to_numpy(actual.detach().data), backend.to_numpy(expected.detach().data), "Tensor-likes"
    elif isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        if actual.shape != expected.shape:
            raise _Mismatch(f"The values for attribute 'shape' do not match: {actual.shape} != {expected.shape}.")
        if check_dtype and actual.dtype != expected.dtype:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} != {expected.dtype}.")
        a, e, what = actual, expected, "Tensor-likes"
    elif isinstance(actual, scalar) and isinstance(expected, scalar):
        if check_dtype and type(actual) is not type(expected):
            raise _Mismatch(f"The values for attribute 'type' do not match: {type(actual).__name__} != "
                            f"{type(expected).__name__}.")
        kind = np.float64 if isinstance(actual, float) or isinstance(expected, float) else np.int64
        a, e, what = np.asarray(actual, dtype=kind), np.asarray(expected, dtype=kind), "Scalars"
    else:
        raise TypeError(f"assert_close: no comparison for inputs of type {type(actual).__name__} and "
                        f"{type(expected).__name__} (both must be Tensors, NumPy arrays, Python numbers, or "
                        f"sequences / mappings of them)")
    if rtol is None:   # (a Python float is a float64)
        rtol, atol = _tolerances(a.dtype, e.dtype)
    exact = rtol == 0 and atol == 0
    _compare_arrays(a, e, rtol, atol, equal_nan, exact, what)


def _walk(actual, expected, path, check):
    from .tensor import Tensor
    leaf = (Tensor, np.ndarray, str, bytes)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            raise _Mismatch(f"The keys of the mappings do not match: {sorted(map(repr, actual))} != "
                            f"{sorted(map(repr, expected))}", path)
        for k in expected:
            _walk(actual[k], expected[k], path + [repr(k)], check)
    elif (isinstance(actual, Sequence) and isinstance(expected, Sequence) and not isinstance(actual, leaf)
          and not isinstance(expected, leaf)):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _walk(a, e, path + [str(i)], check)
    else:
        try:
            check(actual, expected)
        except _Mismatch as m:
            raise _Mismatch(str(m), path) from None


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, msg=None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Both are Tensors (any shape, the same shape), NumPy arrays, Python numbers, or sequences and
    mappings of those (compared item by item). Default tolerances per dtype, as torch's: float32
    rtol 1.3e-6 / atol 1e-5, float64 1e-7 / 1e-7, float16 1e-3 / 1e-5, integers and bools exact;
    ``rtol`` and ``atol`` are given both or neither. ``check_dtype`` / ``check_device``: the
    attributes must match (False: the values are compared in the wider dtype's tolerance).
    ``msg``: a string that replaces the report, or a function of the report. ``check_layout``,
    ``check_stride`` and ``allow_subclasses`` are accepted for torch's signature (minitf has one
    layout; strides are NumPy's).
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"assert_close: both 'rtol' and 'atol' must be given or omitted, got only "
                         f"{'rtol' if atol is None else 'atol'}")

    def check(a, e):
        _pair(a, e, rtol, atol, equal_nan, check_device, check_dtype)
    try:
        _walk(actual, expected, [], check)
    except _Mismatch as m:
        report = str(m.args[0])
        if len(m.args) > 1 and m.args[1]:
            report += "\n\nThe failure occurred for item " + "".join(f"[{p}]" for p in m.args[1])
        if msg is not None:
            report = msg(report) if callable(msg) else msg
        raise AssertionError(report) from None


# torch.testing.assert_allclose's own defaults (looser than assert_close's), per dtype
_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan: bool = True, msg: str = "") -> None:
    """torch's deprecated ``torch.testing.assert_allclose`` (a FutureWarning on every call, as
    torch's): :func:`assert_close` with the dtypes unchecked (``check_dtype=False``), NaNs equal by
    default, and its own default tolerances: float16 rtol 1e-3 / atol 1e-3, float32 1e-4 / 1e-5,
    float64 1e-5 / 1e-8 (the widest of the two dtypes; others exact). ``actual`` not a Tensor is made
    one, ``expected`` not a Tensor one of ``actual``'s dtype. actual, expected: the same shape."""
    import warnings
    from .creation import tensor
    from .tensor import Tensor
    warnings.warn("`minitf.testing.assert_allclose()` is deprecated (as torch's since 1.12) and will be removed "
                  "in a future release. Please use `minitf.testing.assert_close()` instead.", FutureWarning,
                  stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype, device=actual.device)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(np.dtype(t.dtype).name, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 msg=msg or None)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False, memory_format=None):
    """A random tensor for tests, as ``torch.testing.make_tensor``: values uniform in [low, high)
    (default [-9, 9] for floats, [-9, 10) for signed integers, [0, 10) for unsigned ones, [0, 2)
    for bool; a fractional integer bound is rounded up, the interval clamped to the dtype's range
    and refused where empty, NaN or outside it, as torch's); drawn from ``device``'s default
    generator (``mt.manual_seed`` repeats them).

    ``shape``: ints or one sequence. ``noncontiguous=True`` returns a non-contiguous view with the
    same values' distribution; ``exclude_zero=True`` replaces zeros (by 1 for integers, by the
    dtype's smallest normal number for floats). ``requires_grad`` needs a floating dtype.
    """
    from . import backend
    from .dtypes import _check_dtype
    from .random import default_generator
    from .tensor import Tensor
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    dt = _check_dtype(dtype)
    if requires_grad and dt.kind in "biu":
        raise ValueError(f"make_tensor: requires_grad=True is not supported for boolean and integral dtypes, "
                         f"but got dtype={dt.name}")
    gen, xp = default_generator(str(device)), backend.array_module(str(device))
    full = shape[:-1] + (2 * shape[-1],) if noncontiguous and shape and np.prod(shape) > 1 else shape
    if dt.kind == "b":
        lo, hi = _low_high(low, high, 0, 2, 0, 2, dt)
        data = gen.integers(lo, hi, size=full).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        # torch's bounds: the highest exclusive is max + 1 except for int64, whose randint cannot
        lo, hi = _low_high(low, high, info.min, info.max + (dt != np.int64), -9, 10, dt)
        data = gen.integers(lo, hi, size=full, dtype=np.int64 if dt != np.uint64 else np.uint64).astype(dt)
    else:
        info = np.finfo(dt)
        lo, hi = _low_high(low, high, float(info.min), float(info.max), -9.0, 9.0, dt)
        # half the range drawn and doubled, so that hi - lo cannot overflow (torch's _uniform_random_)
        data = (2 * (lo / 2 + (hi / 2 - lo / 2) * gen.random(full))).astype(dt)
    if exclude_zero:
        data = xp.where(data == 0, np.finfo(dt).tiny if dt.kind == "f" else 1, data).astype(dt)
    if full != shape:
        data = data[..., 1::2]   # every other element of a doubled last dim, offset by one: a strided view
    out = Tensor._make(data, None)
    return out.requires_grad_(True) if requires_grad else out


def _low_high(low, high, lowest, highest_exclusive, default_low, default_high, dt):
    """make_tensor's ``(low, high)`` as torch's: the defaults filled in, NaN and empty or out-of-range
    intervals refused, clamped to the dtype's range; integers ``(ceil(low), ceil(high))`` for an
    exclusive upper bound (low == high is a constant for floats, deprecated in torch)."""
    import math
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"make_tensor: low and high cannot be NaN, but got low={low} and high={high}")
    if not (low == high and dt.kind == "f"):
        if low >= high:
            raise ValueError(f"make_tensor: low must be less than high, but got {low} >= {high}")
        if high < lowest or low >= highest_exclusive:
            raise ValueError(f"make_tensor: the value interval specified by low and high is [{low}, {high}), "
                             f"but {dt.name} only supports [{lowest}, {highest_exclusive})")
    low, high = min(max(low, lowest), highest_exclusive), min(max(high, lowest), highest_exclusive)
    return (math.ceil(low), math.ceil(high)) if dt.kind in "biu" else (float(low), float(high))
