"""``minitf.amp``: torch's mixed-precision names, so a training script written for them runs.

    scaler = mt.amp.GradScaler("cpu", enabled=use_fp16)    # nanoGPT: mt.cuda.amp.GradScaler(enabled=...)
    with mt.amp.autocast(device_type="cpu", dtype=mt.float32):
        loss = model(x, y)[1]
    scaler.scale(loss).backward()
    scaler.unscale_(opt)                                    # before clipping, as torch's recipe
    mt.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(opt)                                        # skipped if a gradient is inf/NaN
    scaler.update()

:class:`GradScaler` is torch's dynamic loss scaling, for real: the loss is multiplied by the
scale, the gradients divided by it before the step, a step whose gradients hold an inf or NaN
is skipped and the scale halved, and after ``growth_interval`` good steps it doubles. As
torch's, a scaler for ``"cuda"`` where no GPU is usable warns and disables itself; disabled,
it is a pass-through (``scale(l)`` is ``l``, ``step(opt)`` is ``opt.step()``).

:class:`autocast` is accepted but never changes a dtype: minitf has no autocasting (every op
runs in its inputs' dtype). As torch's CPU autocast it warns and disables itself for
``dtype=float32``, and for ``"cuda"`` without a GPU; for float16 or bfloat16 it warns that
minitf runs the region in the tensors' own dtypes (cast the model with ``model.half()`` for
float16; NumPy has no bfloat16).
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable

import numpy as np

from . import backend
from .autograd import bump_version
from .tensor import Tensor

__all__ = ["GradScaler", "autocast", "is_autocast_enabled"]

_DEVICE_TYPES = ("cpu", "cuda", "gpu", "fake")


def _device_type(device_type, what: str) -> str:
    if not isinstance(device_type, str) or device_type.split(":")[0] not in _DEVICE_TYPES:
        raise RuntimeError(f"{what}: device_type must be one of {', '.join(_DEVICE_TYPES)}, got {device_type!r}")
    kind = device_type.split(":")[0]
    return "cuda" if kind == "gpu" else kind


def _no_gpu(kind: str) -> bool:
    return kind == "cuda" and not backend.gpu_available()


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler(device, init_scale, growth_factor,
    backoff_factor, growth_interval, enabled)``.

    ``scale(outputs)``: a Tensor (or nested list/tuple of them) times the scale.
    ``unscale_(optimizer)``: divide that optimizer's gradients by the scale in place and note
    whether any is inf or NaN (once per optimizer between updates). ``step(optimizer)``:
    unscale if not done, then ``optimizer.step()`` unless a gradient was not finite (returns
    what step returned, or None when skipped). ``update(new_scale=None)``: halve the scale
    (``backoff_factor``) after a skipped step, multiply it by ``growth_factor`` after
    ``growth_interval`` steps in a row without one, or set ``new_scale``.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        self._device = _device_type(device, "GradScaler")
        if enabled and _no_gpu(self._device):
            warnings.warn("GradScaler is enabled, but CUDA is not available.  Disabling.", UserWarning,
                          stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if not growth_factor > 1.0:
                raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
            if not 0.0 < backoff_factor < 1.0:
                raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
            if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) or growth_interval <= 0:
                raise ValueError(f"GradScaler: growth_interval must be an int > 0, got {growth_interval!r}")
        self._scale = float(init_scale)
        self._scaled = False   # torch makes its scale tensor at the first scale(): before it, step/update refuse
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval, self._growth_tracker = growth_interval, 0
        self._per_optimizer: dict[int, dict] = {}   # id(optimizer) -> {"stage", "found_inf"} until update()

    def is_enabled(self) -> bool:
        return self._enabled

    # ------------------------------------------------------------ the recipe
    def scale(self, outputs):
        """``outputs`` times the scale (a Tensor, or lists/tuples/iterables of them); unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            self._scaled = True
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, Iterable):   # torch: any other iterable gives a lazy map
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")   # torch's words

    def _check_scaled(self, funcname: str) -> None:
        if not self._scaled:   # torch's AssertionError and words
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                                 f"not use scaler.scale(loss or outputs) earlier in the iteration.")

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": "ready", "found_inf": False, "checked": False})

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place; note any inf/NaN."""
        if not self._enabled:
            return
        st = self._state(optimizer)
        if st["stage"] == "unscaled":
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] == "stepped":
            raise RuntimeError("unscale_() is being called after step().")
        if not self._scaled:
            raise AssertionError("_scale is None in unscale_")
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if any(g.data.dtype == np.float16 for g in grads):   # torch refuses before unscaling any
            raise ValueError("Attempting to unscale FP16 gradients.")
        inv = 1.0 / self._scale   # a power of two for the default factors: exact in every dtype
        flags = {}                # device -> one flag per gradient, read back in one transfer per device
        for grad in grads:
            g = grad.data
            xp = backend.get_array_module(g)
            xp.multiply(g, inv, out=g)
            bump_version(grad)
            flags.setdefault(grad.device, []).append(xp.isfinite(g).all())
        st["found_inf"] = any(min(backend.to_host_floats(f)) == 0 for f in flags.values())
        st["checked"] = bool(flags)   # torch's found_inf_per_device: one entry per device with a gradient
        st["stage"] = "unscaled"

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` unless a gradient was inf/NaN; unscales first if needed."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or args:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scaled("step")
        st = self._state(optimizer)
        if st["stage"] == "stepped":
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == "ready":
            self.unscale_(optimizer)
        if not st["checked"]:   # no gradient at all (no backward since scale()): torch's assertion
            raise AssertionError("No inf checks were recorded for this optimizer.")
        st["stage"] = "stepped"
        return None if st["found_inf"] else optimizer.step()

    def update(self, new_scale=None) -> None:
        """Adjust the scale for the next iteration (see the class docstring)."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        else:
            if not any(st["checked"] for st in self._per_optimizer.values()):   # torch's AssertionError
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(st["found_inf"] for st in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if grown != float("inf"):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    # ------------------------------------------------------------ reading and saving
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled, as torch's)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict:
        """torch's keys (``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval``,
        ``_growth_tracker``); ``{}`` when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


class autocast:
    """``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: a context
    manager and decorator that minitf accepts and that never casts (see the module docstring)."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        kind = _device_type(device_type, "autocast")
        self.device = device_type
        self.fast_dtype = dtype
        if enabled:
            from . import dtypes
            if _no_gpu(kind):
                warnings.warn("CUDA is not available. Disabling autocast.", UserWarning, stacklevel=2)
            elif kind == "cpu" and dtype is not None and dtype == dtypes.float32:
                warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                              "CPU Autocast only supports dtypes of bfloat16, float16 currently.",
                              UserWarning, stacklevel=2)
            else:
                warnings.warn(f"autocast(dtype={dtype}): minitf has no autocasting; the region runs in "
                              f"the tensors' own dtypes (cast the model, e.g. model.half(), instead).",
                              UserWarning, stacklevel=2)
        self._enabled = False   # never casts

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapped


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Always False: minitf never autocasts."""
    return False
