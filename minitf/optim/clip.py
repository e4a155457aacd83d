"""Gradient clipping, as ``torch.nn.utils.clip_grad``: by the joint norm of all gradients
(``clip_grad_norm_`` = ``get_total_norm`` + ``clip_grads_with_norm_``, torch 2.13's split) or by value."""
from __future__ import annotations

import math
import types
import warnings

import numpy as np

from .. import backend
from ..autograd import bump_version
from ..tensor import Tensor


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The joint ``norm_type``-norm of ``tensors`` (usually gradients), as if concatenated into one
    vector, as ``torch.nn.utils.get_total_norm``: a 0-d float64 tensor on the first tensor's device
    (0 for none).

    tensors: a Tensor or an iterable of them, any shapes, on any devices (each
    device's part is reduced there, then moved to the first tensor's device, as
    PyTorch groups them). ``norm_type``: any
    number >= 0 or inf; 0 counts the non-zero entries of all of them (PyTorch's
    0-norm of the per-tensor norms counts the tensors that have one instead).
    ``error_if_nonfinite``: a NaN or inf norm raises (this reads the norm on the
    host); otherwise nothing waits for the device. ``foreach`` is accepted for
    PyTorch's signature and ignored (there is one implementation).
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"get_total_norm: expected Tensors, got {type(t).__name__}")
    if not tensors:
        return Tensor(np.zeros((), np.float64))
    norm_type = float(norm_type)
    if not norm_type >= 0:
        raise ValueError(f"get_total_norm: norm_type must be >= 0 (or inf), got {norm_type}")
    # tensors on several devices (as torch): one partial sum (or max) per device, computed there,
    # then the partials combined on the first tensor's device, where the result lives
    by_device: dict = {}
    for t in tensors:
        by_device.setdefault(backend.device_of(t.data), []).append(t.data)
    first = backend.device_of(tensors[0].data)
    partials = [backend.to_device(_partial_norm(grads, norm_type), first) for grads in by_device.values()]
    xp = backend.get_array_module(partials[0])
    acc = partials[0]
    for part in partials[1:]:
        acc = xp.maximum(acc, part) if math.isinf(norm_type) else acc + part
    total = xp.asarray(acc if math.isinf(norm_type) or norm_type == 0.0 else acc ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {float(total)}; "
                           f"cannot clip (pass error_if_nonfinite=False to clip anyway)")
    return Tensor(total)


def _partial_norm(grads, norm_type: float):
    """The sum of |g|^p over the arrays of one device (their max for inf, the count of non-zeros for
    0), a 0-d float64 array there."""
    # every per-tensor part stays on the device: one host transfer for the total at most, not one
    # per tensor (on a GPU each transfer waits for all queued work); the parts are stacked and
    # summed in float64 by a cumulative sum (NumPy's runs part by part, in the tensors' order: the
    # earlier loop's result bit for bit; CuPy's is a parallel scan, which may round the last bit
    # otherwise), two reductions a tensor and three more in all, not four a tensor (on a GPU
    # each is a kernel launch)
    xp = backend.get_array_module(grads[0])
    parts = []
    for g in grads:
        if g.dtype.itemsize < 4:  # float16: its sum of squares overflows at 65504; sum in float32
            g = g.astype(np.float32)
        if math.isinf(norm_type):
            parts.append(xp.abs(g).max() if g.size else xp.zeros((), g.dtype))
        elif norm_type == 0.0:   # the number of non-zero entries
            parts.append((g != 0).sum())
        elif norm_type == 2.0:
            parts.append(xp.vdot(g, g))
        else:
            parts.append((xp.abs(g) ** norm_type).sum())
    if len({part.dtype for part in parts}) == 1:
        stacked = xp.stack(parts).astype(np.float64)
    else:   # (gradients of several dtypes: each part widened on its own, exactly)
        stacked = xp.stack([part.astype(np.float64) for part in parts])
    return stacked.max() if math.isinf(norm_type) else xp.cumsum(stacked)[-1]


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale every gradient in place by min(1, max_norm / (total_norm + 1e-6)), as
    ``torch.nn.utils.clip_grads_with_norm_`` (the second half of :func:`clip_grad_norm_`).

    ``total_norm``: a 0-d Tensor (e.g. from :func:`get_total_norm`, possibly
    reduced across processes first) or a number; a NaN one makes the gradients
    NaN, as in PyTorch. Parameters without a gradient are skipped; each gradient's
    version goes up by one. ``max_norm=inf`` leaves the values as they are.
    """
    if not isinstance(max_norm, Tensor):
        _check_max_norm(max_norm)
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    tensors = [p.grad for p in params if p.grad is not None]
    if not tensors:
        return
    grads = [t.data for t in tensors]
    xp = backend.get_array_module(grads[0])
    max_norm = _max_norm_value(max_norm, xp)
    if isinstance(total_norm, Tensor):
        total = backend.to_device(total_norm.data, tensors[0].device)
    elif isinstance(total_norm, (int, float, np.integer, np.floating)) and not isinstance(total_norm, bool):
        total = xp.asarray(float(total_norm))
    else:
        raise TypeError(f"clip_grads_with_norm_: total_norm must be a Tensor or a number, "
                        f"got {type(total_norm).__name__}")
    if total.ndim != 0 and total.size != 1:
        raise ValueError(f"clip_grads_with_norm_: total_norm must hold one number, got shape {total.shape}")
    if not (isinstance(max_norm, float) and math.isinf(max_norm)):
        _scale(grads, max_norm, total.reshape(()).astype(np.float64), xp, backend.device_of(grads[0]))
    for t in tensors:  # PyTorch multiplies every gradient in place, by 1.0 too: one version each
        bump_version(t)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale gradients in place so that their joint norm is at most ``max_norm``.

    As PyTorch's: :func:`get_total_norm` of the gradients, then
    :func:`clip_grads_with_norm_`, which multiplies them by
    min(1, max_norm / (norm + 1e-6)) (a NaN norm makes them NaN). Returns the
    total norm before clipping as a 0-d float64 tensor on the first gradient's device
    (PyTorch's is in the gradients' dtype): ``.item()`` or ``float()`` reads it.
    Parameters without a gradient are skipped; ``max_norm=inf`` measures without
    clipping. Each gradient's version (``_version``) goes up by one, as in
    PyTorch, which scales them all in place. An empty generator warns, as PyTorch.

    On a GPU nothing here waits for the device (the scale factor is computed
    there), unless ``error_if_nonfinite`` asks for the norm to be checked on
    the host.
    """
    if not isinstance(max_norm, Tensor):
        _check_max_norm(max_norm)
    if isinstance(parameters, Tensor):
        params = [parameters]
    else:
        params = list(parameters)
        if isinstance(parameters, types.GeneratorType) and not params:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    total = get_total_norm([p.grad for p in params if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """Deprecated name of :func:`clip_grad_norm_` (warns, as torch 2.13's ``nn.utils.clip_grad_norm``)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def _scale(grads, max_norm, total, xp, first: str) -> None:
    """grads *= min(1, max_norm / (total + 1e-6)); xp, total (and a device max_norm): the first
    gradient's device ``first``; gradients on other devices get the factor moved to theirs."""
    # an inf gradient times 0 (the factor for an inf norm) is NaN: PyTorch's value, given without
    # NumPy's warning (one context a call)
    with backend.quiet_fp_warnings():
        if xp is np:  # on the host the factor is free to read: skip the pass when nothing is clipped
            coef = max_norm / (float(total) + 1e-6)
            if not coef >= 1.0:  # NaN too: the gradients become NaN, as on a device and in PyTorch
                for g in grads:
                    g *= g.dtype.type(coef)
        else:  # on a device, min(1, factor) is multiplied in without reading it (x 1.0 is exact)
            coefs = {first: xp.minimum(max_norm / (total + 1e-6), 1.0)}
            cast: dict = {}   # the factor in each (device, dtype) of the gradients: one cast each
            for g in grads:
                where = backend.device_of(g)
                if where not in coefs:   # (one transfer per other device)
                    coefs[where] = backend.to_device(coefs[first], where)
                coef = cast.get((where, g.dtype))
                if coef is None:
                    coef = cast[where, g.dtype] = coefs[where].astype(g.dtype)
                g *= coef


def _max_norm_value(max_norm, xp):
    """max_norm as a float, or (a one-element Tensor on the gradients' device) a 0-d float64 device
    array: torch takes a Tensor max_norm too; reading a device one would wait for the device, so
    it is used as it is, unchecked."""
    if isinstance(max_norm, Tensor):
        if max_norm.numel() != 1:
            raise ValueError(f"clip_grad_norm_: max_norm must hold one number, got shape {max_norm.shape}")
        a = max_norm.data.reshape(())
        if xp is not np and backend.get_array_module(a) is xp:
            return a.astype(np.float64)
        max_norm = float(backend.to_numpy(a))
    _check_max_norm(max_norm)
    return float(max_norm)


def _check_max_norm(max_norm) -> None:
    # a negative max_norm would flip every gradient's sign, a NaN would poison them: refuse both;
    # inf is allowed, as in PyTorch: it measures the norm without clipping
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.integer, np.floating)) \
            or not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0 (inf: measure only), got {max_norm!r}")


def clip_grad_value_(params, clip_value: float, foreach=None) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value], as ``torch.nn.utils.clip_grad_value_``.

    ``params``: a Tensor or an iterable of them; those without a gradient are
    skipped. NaN entries stay NaN (as PyTorch's clamp). Each gradient's
    version goes up by one. ``foreach`` is accepted for PyTorch's signature
    and ignored (there is one implementation). ``clip_value`` must be a number
    >= 0: PyTorch takes a negative one too and then sets every entry to it.
    Nothing is read back from the device.
    """
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float, np.integer, np.floating)) \
            or not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a number >= 0, got {clip_value!r}")
    clip_value = float(clip_value)
    if isinstance(params, Tensor):
        params = [params]
    for p in params:
        if p.grad is None:
            continue
        g = p.grad.data
        xp = backend.get_array_module(g)
        xp.clip(g, -clip_value, clip_value, out=g)
        bump_version(p.grad)
