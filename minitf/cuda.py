"""``minitf.cuda``: the few of ``torch.cuda``'s functions that code checks before it picks a device.

    device = "cuda" if mt.cuda.is_available() else "cpu"

They ask :mod:`minitf.backend` (CuPy is imported on the first call, not with this module).
minitf uses one GPU per process (pick it with ``CUDA_VISIBLE_DEVICES``; ``minitf.distributed``
gives each rank its own), so there is one device or none.
"""
from __future__ import annotations

from . import backend

__all__ = ["is_available", "device_count", "current_device", "synchronize", "get_device_name", "manual_seed",
           "manual_seed_all", "is_bf16_supported"]  # and amp, a namespace made on first use


def is_available() -> bool:
    """Whether the ``"cuda"`` (``"gpu"``) device is usable: CuPy imports and a GPU answers. Never raises."""
    return backend.gpu_available()


def device_count() -> int:
    """The GPUs minitf can use in this process: 1 where one is usable, else 0."""
    return 1 if backend.gpu_available() else 0


def current_device() -> int:
    """The index of the GPU in use, 0; a ``DeviceError`` (saying why) where none is usable."""
    if not backend.gpu_available():
        raise backend.DeviceError(f"no usable GPU: {backend.gpu_unavailable_reason()}")
    return 0


def synchronize(device=None) -> None:
    """Wait for the work queued on the GPU (for timing); ``device``: None, 0, "cuda" or "gpu"."""
    if device is not None and device != 0:
        backend.check_device(device)
    backend.synchronize("gpu")


def get_device_name(device=None) -> str:
    """The GPU's name (CuPy's device properties); a ``DeviceError`` saying why where none is usable."""
    if device is not None and device != 0:
        backend.check_device(device)
    return backend.gpu_info()["name"]


def manual_seed(seed: int) -> None:
    """Reseed the GPU's default generator only, as ``torch.cuda.manual_seed``; ignored where no GPU
    is usable, as torch's. Its draws are then those ``mt.manual_seed(seed)`` gives the GPU."""
    from . import random as _random
    seed = _random.check_seed(seed, "cuda.manual_seed")
    if backend.gpu_available():
        _random.seed_generator("gpu", _random.device_seed(seed, "gpu"))


manual_seed_all = manual_seed  # one GPU per process


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: NumPy and CuPy have no bfloat16 type (see ``mt.bfloat16``), whatever the GPU."""
    return False


def __getattr__(name):
    # mt.cuda.amp: torch's older spelling of mt.amp's scaler and autocast, imported on first use
    if name == "amp":
        from . import amp as _amp
        import types
        import warnings

        def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                       enabled=True):
            """``torch.cuda.amp.GradScaler(...)``: ``mt.amp.GradScaler("cuda", ...)`` (deprecated, as torch's)."""
            warnings.warn("`mt.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                          "`mt.amp.GradScaler('cuda', args...)` instead.", FutureWarning, stacklevel=2)
            return _amp.GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)

        def autocast(enabled=True, dtype=None, cache_enabled=True):
            """``torch.cuda.amp.autocast(...)``: ``mt.amp.autocast("cuda", ...)``."""
            return _amp.autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

        ns = types.SimpleNamespace(GradScaler=GradScaler, autocast=autocast)
        globals()["amp"] = ns
        return ns
    raise AttributeError(f"module 'minitf.cuda' has no attribute {name!r}")
