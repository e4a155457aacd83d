"""State dicts: what :meth:`Module.state_dict` holds and how :meth:`Module.load_state_dict`
checks and copies it (every key and shape checked before anything is copied).

A state dict holds, module by module in registration order (PyTorch's order), each
module's parameters and then its persistent buffers, under dotted names
(``encoder.0.weight``, ``norm.running_mean``). Non-persistent buffers
(``register_buffer(..., persistent=False)``) and ``None`` entries are left out.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from .. import backend
from ..tensor import Tensor


class StateDictError(RuntimeError):
    """load_state_dict() found missing, unexpected or mis-shaped keys (all listed)."""


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns, as torch's: a (missing_keys, unexpected_keys) namedtuple
    printed ``_IncompatibleKeys(missing_keys=[...], unexpected_keys=[...])``, or
    ``<All keys matched successfully>`` when both are empty."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys   # minitf's earlier name


def named_state(module):
    """Every (dotted name, tensor) of the state dict, tied tensors under each of their names."""
    for mname, m in module._named_modules_all():
        prefix = f"{mname}." if mname else ""
        for pname, p in m._parameters.items():
            if p is not None:
                yield prefix + pname, p
        skip = m.__dict__["_non_persistent_buffers"]
        for bname, b in m._buffers.items():
            if b is not None and bname not in skip:
                yield prefix + bname, b


def state_dict(module) -> "OrderedDict[str, Tensor]":
    return OrderedDict((name, t.detach()) for name, t in named_state(module))


def _as_array(value, name: str):
    """A state-dict value as an array minitf can copy from: a device array as it is, else host NumPy.

    Foreign tensors are duck-typed, never imported: ``.detach()``, ``.cpu()``
    and ``.numpy()`` as PyTorch has them (a dtype NumPy lacks, e.g. bfloat16,
    is widened with ``.float()`` first), else ``__array__`` or a sequence.
    """
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.generic):
        return np.asarray(value)
    try:
        backend.device_of(value)      # NumPy, CuPy or the fake device: moved later, on copy
        return value
    except TypeError:
        pass
    try:
        if callable(getattr(value, "numpy", None)):
            v = value
            for step in ("detach", "cpu"):
                if callable(getattr(v, step, None)):
                    v = getattr(v, step)()
            try:
                return np.asarray(v.numpy())
            except TypeError:          # torch: "Got unsupported ScalarType BFloat16"
                if callable(getattr(v, "float", None)):
                    return np.asarray(v.float().numpy())
                raise
        return np.asarray(value)
    except Exception as e:
        raise TypeError(f"state_dict value {name!r} of type {type(value).__name__} cannot be read as an "
                        f"array ({type(e).__name__}: {e})") from None


def load_state_dict(module, state_dict, strict: bool = True) -> IncompatibleKeys:
    """See :meth:`Module.load_state_dict`."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: expected a mapping of parameter names to tensors (such as "
                        f"model.state_dict()), got {type(state_dict).__name__}")
    own = OrderedDict(named_state(module))
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    values, misshaped, not_numbers = {}, [], []
    for k, p in own.items():
        if k not in state_dict:
            continue
        a = _as_array(state_dict[k], k)
        if tuple(a.shape) != p.shape:
            misshaped.append(f"{k}: got shape {tuple(a.shape)}, the model has shape {p.shape}")
        elif a.dtype.kind not in "biuf":
            not_numbers.append(f"{k} (dtype {a.dtype})")
        values[k] = a
    problems = []
    if strict and missing:
        problems.append("missing key(s): " + ", ".join(missing))
    if strict and unexpected:
        problems.append("unexpected key(s): " + ", ".join(unexpected))
    if misshaped:
        problems.append("size mismatch for " + "; ".join(misshaped))
    if not_numbers:
        problems.append("not numeric: " + ", ".join(not_numbers))
    if strict and any(k.startswith("_orig_mod.") for k in unexpected):
        problems.append("(keys starting with '_orig_mod.' come from a torch.compile'd model: remove the "
                        "prefix; GPT.load_nanogpt_state_dict does so for nanoGPT checkpoints)")
    if not problems:
        problems = _check_tied(own, values)
    if problems:
        raise StateDictError(f"error(s) in loading state_dict for {type(module).__name__}:\n  "
                             + "\n  ".join(problems))
    for k, a in values.items():
        p = own[k]
        a = backend.to_device(a, p.device)
        p.data[...] = a if a.dtype == p.dtype else a.astype(p.dtype)
    return IncompatibleKeys(missing, unexpected)


def _check_tied(own, values):
    """Two names of one tied tensor must not be given different values."""
    first = {}
    for k, a in values.items():
        pid = id(own[k])
        if pid in first:
            k0 = first[pid]
            if not np.array_equal(backend.to_numpy(values[k0]), backend.to_numpy(a)):
                return [f"tied parameters {k0} and {k} are one parameter but were given different values"]
        else:
            first[pid] = k
    return []
