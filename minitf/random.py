"""Seeded random state: one generator per device, used by dropout and initialisers.

``minitf.manual_seed(s)`` makes every later draw reproducible. Generators are
created lazily (nothing happens at import).
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from . import backend

_seed = None
_generators: dict = {}
# per thread, as torch's vmap state (a threading.local, made by vmap's first run): ``generators``,
# vmap's stand-ins for some devices' default generators (they come first), and ``draws_refused``,
# an exception class while vmap's batched run is on (a draw from an explicit generator raises it)
_local = None


def check_seed(seed, name: str = "manual_seed") -> int:
    """``seed`` as torch takes it: any integer in [-2**63, 2**64), a negative one taken modulo 2**64."""
    try:
        seed = int(seed)  # torch.manual_seed's conversion (3.0 is 3)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: the seed must be an integer, got {seed!r}") from None
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"{name}: the seed must be in [-2**63, 2**64), got {seed}")
    return seed % 2 ** 64


def device_seed(seed: int, device: str) -> list:
    """The seed of ``device``'s generator under ``manual_seed(seed)``: each device its own stream."""
    return [seed, ("cpu", "gpu", "fake").index(device)]


def manual_seed(seed: int) -> None:
    """Reseed the default generators of every device (those made later too).

    As ``torch.manual_seed``: any integer in [-2**63, 2**64), a negative one taken modulo
    2**64 (so -1 and 2**64 - 1 give the same draws).
    """
    global _seed
    _seed = check_seed(seed)
    _generators.clear()


def seed() -> int:
    """Reseed every device's default generator from the operating system's entropy and return
    the seed, as ``torch.seed``."""
    s = int.from_bytes(os.urandom(8), "little")
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed of the default generators, as ``torch.initial_seed``: that of the last
    ``manual_seed`` / ``seed``, else the one drawn from the operating system on first use."""
    global _seed
    if _seed is None:
        _seed = int.from_bytes(os.urandom(8), "little")
    return _seed


def default_generator(device: str = "cpu"):
    """The default generator of a device (``numpy.random.Generator`` on the CPU)."""
    device = backend.check_device(device)
    over = getattr(_local, "generators", None)   # inside vmap, in this thread
    if over and device in over:
        return over[device]
    return shared_generator(device)


def shared_generator(device: str):
    """The default generator of ``device`` that every thread shares (outside vmap's stand-ins)."""
    gen = _generators.get(device)
    if gen is None:
        # unseeded, the seed is drawn from the OS once, so that initial_seed() can tell it
        gen = _generators[device] = backend.default_rng(device, device_seed(initial_seed(), device))
    return gen


def seed_generator(device: str, seed) -> None:
    """Reseed only ``device``'s default generator (``seed``: an int or a sequence of ints)."""
    device = backend.check_device(device)
    _generators[device] = backend.default_rng(device, seed)


def get_rng_state(device: str = "cpu") -> dict:
    """A JSON-serialisable snapshot of the device's default generator."""
    state = backend.rng_state(default_generator(device))
    # the replay seeds' host stream restarts from here, as it will in a run that restores this state
    _replay_seeds.pop(backend.check_device(device), None)
    return state


def set_rng_state(state: dict, device: str = "cpu") -> None:
    backend.set_rng_state(default_generator(device), state)
    _replay_seeds.pop(backend.check_device(device), None)



# device -> (the default generator they were seeded from, a host generator of replay seeds)
_replay_seeds: dict = {}


def _replay_seed(device: str, gen) -> int:
    """A seed for the replays of a generator that cannot be copied (CuPy's), without a read from
    the device per call: a host generator, seeded once (one read) from the device's default
    generator, draws them; a new default generator (``manual_seed``) seeds a new stream."""
    entry = _replay_seeds.get(device)
    if entry is None or entry[0] is not gen:
        entry = _replay_seeds[device] = (gen, np.random.default_rng(backend.draw_seed(gen)))
    return int(entry[1].integers(0, 2 ** 62))


class ReplayableRNG:
    """Lets a pass that draws from a device's default generator be run again with the same draws.

    Gradient checkpointing (:func:`minitf.recompute`) makes one before a
    forward pass, runs that pass in :meth:`first` and its recomputation in
    :meth:`replay`, so dropout draws the same masks both times. Where the
    generator can be copied (NumPy and the fake device) the first pass draws
    from the default generator itself, exactly as without checkpointing, and
    the replay from a copy of it as it was; after a replay the generator is
    where it was before. Where it cannot (CuPy's), both passes draw from a
    generator seeded with one number drawn from the default one: the masks
    are then not those of a plain run, but still equal in both passes.
    """

    def __init__(self, device: str = "cpu"):
        self.device = backend.check_device(device)
        gen = default_generator(self.device)
        try:
            self._copy, self._seed = backend.copy_rng(gen), None
        except TypeError:  # not copyable
            self._copy, self._seed = None, _replay_seed(self.device, gen)

    @contextlib.contextmanager
    def first(self):
        if self._seed is None:
            yield
        else:
            with self._use(backend.default_rng(self.device, self._seed)):
                yield

    @contextlib.contextmanager
    def replay(self):
        gen = backend.copy_rng(self._copy) if self._seed is None else backend.default_rng(self.device, self._seed)
        with self._use(gen):
            yield

    @contextlib.contextmanager
    def _use(self, gen):
        current = default_generator(self.device)
        _generators[self.device] = gen
        try:
            yield
        finally:
            _generators[self.device] = current


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type=None):
    """Context manager: the default generators' states (and ``initial_seed``) come back on leaving,
    as ``torch.random.fork_rng``: draws and ``manual_seed`` inside leave the streams outside as
    they were. The CPU's is always forked; ``devices`` (torch's GPU indices: minitf has one GPU,
    and the fake device stands for it) None or non-empty forks every device's, an empty sequence
    only the CPU's; ``device_type`` ("cuda", "gpu", "fake" or None) is accepted for torch's
    signature. ``enabled=False``: nothing is forked. A generator first made inside is dropped on
    leaving, so that outside it starts as it would have."""
    global _seed
    if not enabled:
        yield
        return
    if device_type is not None and device_type not in ("cuda", "gpu", "fake", "cpu"):
        raise ValueError(f"{_caller}: device_type must be 'cuda', 'gpu', 'fake' or None, got {device_type!r}")
    only_cpu = devices is not None and len(list(devices)) == 0
    kept = {d: g for d, g in _generators.items() if d == "cpu" or not only_cpu}
    default_generator("cpu")   # (made now if it was not: its state is the one to come back)
    kept.setdefault("cpu", _generators["cpu"])
    states = {d: backend.rng_state(g) for d, g in kept.items()}
    seed_before = _seed
    try:
        yield
    finally:
        _seed = seed_before
        for d in [d for d in _generators if d not in kept and (d == "cpu" or not only_cpu)]:
            del _generators[d]   # made inside: as if never drawn from
        for d, g in kept.items():
            _generators[d] = g
            backend.set_rng_state(g, states[d])
            _replay_seeds.pop(d, None)
