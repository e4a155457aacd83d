"""Random generators of every device: making one, saving and restoring its state, copying it
and drawing a seed from it. (The global generators users seed are :mod:`minitf.random`'s.)"""
from __future__ import annotations

import copy

from .. import backend


def default_rng(device: str, seed=None):
    """A random generator that draws on ``device`` (``Generator.random``, ``.standard_normal``...)."""
    return backend.array_module(device).random.default_rng(seed)


def _is_cupy_generator(generator) -> bool:
    return type(generator).__module__.split(".")[0] == "cupy"


def rng_state(generator) -> dict:
    """A JSON-serialisable snapshot of a generator, for exact resume; TypeError for CuPy's, whose
    state lives on the device (its ``bit_generator.state`` is a method, not a dict)."""
    if _is_cupy_generator(generator):
        raise TypeError("the state of a CuPy generator cannot be saved")
    bit_gen = getattr(generator, "bit_generator", None)
    if bit_gen is None:  # the fake device's generator wraps a NumPy one
        bit_gen = generator._g.bit_generator
    return bit_gen.state


def set_rng_state(generator, state: dict) -> None:
    if _is_cupy_generator(generator):
        raise TypeError("the state of a CuPy generator cannot be restored")
    bit_gen = getattr(generator, "bit_generator", None)
    if bit_gen is None:
        bit_gen = generator._g.bit_generator
    bit_gen.state = state


def copy_rng(generator):
    """An independent copy of a generator in its current state; TypeError where it cannot be copied."""
    if _is_cupy_generator(generator):
        # its state lives in GPU memory behind a Cython object: a deepcopy that "worked" could still
        # share that state, so CuPy generators are never copied (callers fall back to a drawn seed)
        raise TypeError("CuPy generators are not copied")
    try:
        return copy.deepcopy(generator)
    except Exception as e:  # a CuPy generator (Cython, device state) has no pickling support
        raise TypeError(f"cannot copy a {type(generator).__name__}: {e}") from None


def draw_seed(generator) -> int:
    """One non-negative integer seed drawn from a generator (of any device)."""
    return int(backend.to_numpy(generator.integers(0, 2**62, size=1))[0])


def draw_counts(generator, kind: str, *params):
    """``generator.binomial(n, p)`` or ``generator.poisson(lam)`` (``kind``) with array parameters of
    one device, drawn on that device. A generator without the method (a CuPy version whose
    ``cupy.random.Generator`` lacks it) draws on the host instead, from a seed drawn from it, and the
    result moves back: the one difference between the array modules here."""
    xp = backend.get_array_module(params[0])
    method = getattr(generator, kind, None)
    if method is not None:
        # asarray: NumPy answers 0-d parameters with a Python int, not an array
        return xp.asarray(method(*params))
    import numpy as np
    host = np.random.default_rng(draw_seed(generator))
    out = getattr(host, kind)(*(backend.to_numpy(p) for p in params))
    return xp.asarray(out)
