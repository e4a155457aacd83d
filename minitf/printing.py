"""How a Tensor prints: torch's ``tensor([1.0000, 2.5000], requires_grad=True)``.

``repr(t)`` and ``str(t)`` follow torch's layout rules on a host copy of the data:

- one format for all elements, chosen from the nonzero finite values: integers for integer
  and bool dtypes; for floats, ``precision`` decimals (4), or ``1.`` when every value is
  integral, or scientific notation when the largest over the smallest magnitude exceeds
  1000, the largest exceeds 1e8 or the smallest is under 1e-4 (``sci_mode`` forces it on
  or off); every element right-aligned to the widest;
- past ``threshold`` elements (1000), each dim longer than ``2 * edgeitems`` shows its first
  and last ``edgeitems`` (3) around ``...``, and only those elements choose the format;
- rows wrap at ``linewidth`` (80), continuation lines indented under the first element;
- then the suffixes torch adds: ``device='fake'`` off the CPU, ``dtype=minitf.int32`` for a
  dtype other than the default float dtype, int64 and bool (an empty tensor names any dtype
  but the default one, and its ``size=`` unless it is 1-d), ``grad_fn=<MulBackward0>`` or
  ``requires_grad=True``.

:func:`set_printoptions` (and :func:`get_printoptions`, :func:`printoptions`) change the
options as torch's functions of the same names do.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from . import backend

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}
_PROFILES = {"default": _DEFAULTS,
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
             "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80}}
_opts = dict(_DEFAULTS, sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """Options for printing tensors, as ``torch.set_printoptions``.

    Parameters
    ----------
    precision : int
        Decimals of floating point elements (4).
    threshold : int or float
        Above this many elements a tensor is summarised with ``...`` (1000).
    edgeitems : int
        Elements kept at each end of a summarised dim (3).
    linewidth : int
        Characters per line before rows wrap (80).
    profile : {"default", "short", "full"}
        Sets the four above first (``"short"``: precision 2, edgeitems 2; ``"full"``: no
        summarising); the other arguments then override it.
    sci_mode : bool or None
        Force scientific notation on (True) or off (False); None (the default, and what every
        call without it restores, as torch's) chooses from the values.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        _opts.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            _opts[name] = value
    _opts["sci_mode"] = sci_mode


def get_printoptions() -> dict:
    """The current options, as a dict ``set_printoptions(**d)`` takes (torch's)."""
    return dict(_opts)


@contextlib.contextmanager
def printoptions(**kwargs):
    """``with mt.printoptions(precision=2): ...``: options for the block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """One element format for a whole tensor, chosen from ``values`` (a host array)."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        p = _opts["precision"]
        if not self.floating:
            self.width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        mags = np.abs(vals).astype(np.float64)
        lo, hi = mags.min(), mags.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        forced = _opts["sci_mode"]
        self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if forced is None else forced
        py = vals.tolist()
        if self.sci_mode:
            self.width = max(len(f"{v:.{p}e}") for v in py)
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in py)  # + 1: the trailing '.'
        else:
            self.width = max(len(f"{v:.{p}f}") for v in py)

    def format(self, v) -> str:
        p = _opts["precision"]
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:.{p}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{p}f}"
        return s.rjust(self.width)


class _ComplexFormatter:
    """torch's complex layout: the real parts in a format of their own, right-aligned, then the
    imaginary parts in theirs, always signed, with a ``j`` (``1.5000+2.0000j``, ``1.+2.j``)."""

    def __init__(self, values: np.ndarray):
        self.re, self.im = _Formatter(values.real), _Formatter(values.imag)
        self.width = self.re.width + self.im.width + 2

    def format(self, v) -> str:
        v = complex(v)
        imag = (self.im.format(v.imag) + "j").lstrip()
        return self.re.format(v.real) + (imag if imag[0] in "+-" else "+" + imag)


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows: each dim cut to its first and last ``edgeitems``."""
    e = _opts["edgeitems"]
    if a.ndim == 1:  # (torch's: with edgeitems 0, a vector's a[-0:] keeps all of it)
        return np.concatenate([a[:e], a[-e:]]) if a.shape[0] > 2 * e else a
    if e == 0:
        return a[(slice(0, 0),) * a.ndim]
    for axis, n in enumerate(a.shape):
        if n > 2 * e:
            a = np.take(a, list(range(e)) + list(range(n - e, n)), axis=axis)
    return a


def _vector(a, indent: int, summarize: bool, fmt: _Formatter) -> str:
    e = _opts["edgeitems"]
    per_line = max(1, math.floor((_opts["linewidth"] - indent) / (fmt.width + 2)))
    if summarize and not e:
        items = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        items = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + [fmt.format(v) for v in a[-e:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e, n = _opts["edgeitems"], a.shape[0]
    if summarize and n > 2 * e:
        rows = ([_nested(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                + [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)])
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _body(a: np.ndarray, indent: int) -> str:
    if a.size == 0:
        return "[]"
    summarize = a.size > _opts["threshold"]
    shown = _summarized(a) if summarize else a
    fmt = _ComplexFormatter(shown) if a.dtype.kind == "c" else _Formatter(shown)
    return _nested(a, indent, summarize, fmt)


def _with_suffixes(text: str, suffixes, indent: int) -> str:
    parts = [text]
    last = len(text) - text.rfind("\n") + 1  # (torch's count, one more than the last line's length)
    for s in suffixes:
        if last + len(s) + 2 > _opts["linewidth"]:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"


def dtype_name(dtype) -> str:
    """``minitf.float64``: a dtype as torch prints its own (``torch.float64``)."""
    dt = np.dtype(dtype)
    return "minitf." + ("bool" if dt.kind == "b" else dt.name)


def tensor_repr(t) -> str:
    """``repr(t)`` for a Tensor ``t``, as torch's (see the module docstring)."""
    from .creation import get_default_dtype
    a = backend.to_numpy(t.data)
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev != "cpu":
        suffixes.append(f"device='{'cuda:' + str(dev.index or 0) if dev.type == 'cuda' else dev.type}'")
    default = np.dtype(get_default_dtype())
    if a.dtype.kind == "c":   # the default float dtype's complex one goes unnamed, as torch
        default = np.result_type(default, np.complex64)
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != default:
            suffixes.append(f"dtype={dtype_name(a.dtype)}")
        body = "[]"
    else:
        if not _opts["edgeitems"]:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype not in (default, np.dtype(np.int64), np.dtype(np.bool_)):
            suffixes.append(f"dtype={dtype_name(a.dtype)}")
        body = _body(a, indent)
    from .tensor import current_fn
    fn = current_fn(t)   # (a view whose re-base was left for later: re-based, for torch's name)
    if fn is not None:
        suffixes.append(f"grad_fn=<{fn.name().rpartition('::')[2]}>")   # torch's <CopySlices>
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
