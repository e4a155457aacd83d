"""Seeded random state: one generator per device, used by dropout and initialisers.

``minitf.manual_seed(s)`` makes every later draw reproducible. Generators are
created lazily (nothing happens at import).
"""
from __future__ import annotations

from . import backend

_seed = None
_generators: dict = {}


def manual_seed(seed: int) -> None:
    """Reseed the default generators of every device (those made later too).

    As ``torch.manual_seed``: any integer in [-2**63, 2**64), a negative one taken modulo
    2**64 (so -1 and 2**64 - 1 give the same draws).
    """
    global _seed
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed: the seed must be an integer, got {seed!r}") from None
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"manual_seed: the seed must be in [-2**63, 2**64), got {seed}")
    _seed = seed % 2 ** 64
    _generators.clear()


def default_generator(device: str = "cpu"):
    """The default generator of a device (``numpy.random.Generator`` on the CPU)."""
    device = backend.check_device(device)
    gen = _generators.get(device)
    if gen is None:
        seed = None if _seed is None else [_seed, ("cpu", "gpu", "fake").index(device)]
        gen = _generators[device] = backend.default_rng(device, seed)
    return gen


def get_rng_state(device: str = "cpu") -> dict:
    """A JSON-serialisable snapshot of the device's default generator."""
    return backend.rng_state(default_generator(device))


def set_rng_state(state: dict, device: str = "cpu") -> None:
    backend.set_rng_state(default_generator(device), state)
