"""``minitf.Generator``: a random generator object with ``torch.Generator``'s methods, and the
default generator's state as a tensor (``get_rng_state`` / ``set_rng_state``), as torch's.

A Generator wraps one backend generator of its device (NumPy's on the CPU, the fake device's,
CuPy's on the GPU) and answers the draws minitf's functions ask of a ``generator=`` argument
(``random``, ``standard_normal``, ``integers``...) by handing them to it, so it is accepted
wherever a NumPy ``Generator`` is. Seeded with ``s`` it draws what the default generator of its
device draws after ``manual_seed(s)``, as in torch.

States are uint8 tensors (torch's ``ByteTensor``), so :func:`minitf.save` stores them without
pickle. Their layout is minitf's own (NumPy's PCG64: state, increment, the cached half-word),
not torch's Mersenne Twister.
"""
from __future__ import annotations

import os

import numpy as np

from . import backend
from . import random as _random

# torch's seed of a new Generator (and of its default generator at start-up)
DEFAULT_SEED = 67280421310721
_MAGIC = b"mtPCG64\x01"
_STATE_BYTES = len(_MAGIC) + 16 + 16 + 8 + 8


class Generator:
    """A random generator on ``device`` (``"cpu"``, ``"fake"``, ``"gpu"``), as ``torch.Generator``.

    Pass it as ``generator=`` to ``rand``, ``randn``, ``randint``, ``randperm``, ``multinomial``,
    ``bernoulli``, the in-place ``normal_``/``uniform_``/... methods, dropout, ``nn.init``...
    A new one is seeded with torch's default seed (67280421310721).
    """

    def __init__(self, device: str = "cpu"):
        self.device = backend.check_device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed) -> "Generator":
        """Reseed (any integer in [-2**63, 2**64), negative ones modulo 2**64); returns self."""
        seed = _random.check_seed(seed, "Generator.manual_seed")
        self._initial_seed = seed
        self._gen = backend.default_rng(self.device, _random.device_seed(seed, self.device))
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed of the last ``manual_seed`` / ``seed`` (the default one if neither was called)."""
        return self._initial_seed

    def get_state(self):
        """The generator's state: a 1-D uint8 CPU tensor (not on the GPU: CuPy's state cannot be read)."""
        return encode_state(backend.rng_state(self._gen))

    def set_state(self, new_state) -> "Generator":
        """Restore a state from :meth:`get_state`; returns self."""
        backend.set_rng_state(self._gen, decode_state(new_state, "Generator.set_state"))
        return self

    def __getattr__(self, name):
        # the draws (random, standard_normal, integers, ...) are the backend generator's
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._gen, name)

    def __repr__(self):
        return f"<minitf.Generator device={self.device!r} initial_seed={self._initial_seed}>"


class _DefaultGenerator(Generator):
    """``minitf.default_generator``: the CPU default generator as a Generator object, as
    ``torch.default_generator``. It holds no generator of its own: each draw, state and seed
    goes to the CPU default generator as it is then (after ``manual_seed`` too)."""

    def __init__(self):
        self.device = "cpu"
        self._seeded = None   # (the generator its own manual_seed made, that seed)

    @property
    def _gen(self):
        return _random.default_generator("cpu")

    def manual_seed(self, seed) -> "Generator":
        """Reseed the CPU default generator only (other devices' are left alone); returns self."""
        seed = _random.check_seed(seed, "default_generator.manual_seed")
        _random.seed_generator("cpu", _random.device_seed(seed, "cpu"))
        self._seeded = (self._gen, seed)
        return self

    def initial_seed(self) -> int:
        """The seed the CPU default generator was last seeded with (here, or by ``manual_seed``)."""
        if self._seeded is not None and self._seeded[0] is self._gen:
            return self._seeded[1]
        return _random.initial_seed()

    def __repr__(self):
        return f"<minitf.default_generator device='cpu' initial_seed={self.initial_seed()}>"


default_generator = _DefaultGenerator()


def resolve(generator, device: str, name: str, where: str = "the tensor"):
    """What to draw from on ``device``: ``generator`` (a Generator of that device, or a NumPy /
    backend generator, passed as it is) or, if None, the device's default generator.
    ``where`` names what is on ``device`` in the error for a Generator of another device."""
    device = str(device)  # a Tensor's mt.device: its name, in the messages below
    if generator is None:
        return _random.default_generator(device)
    refused = getattr(_random._local, "draws_refused", None)
    if refused is not None:   # vmap's batched run (this thread's): every example draws in vmap's loop instead
        raise refused(f"{name}: a draw from an explicit generator in vmap's batched run")
    if isinstance(generator, Generator):
        if generator.device != device:
            raise RuntimeError(f"{name}: the generator is on {generator.device!r} but {where} on {device!r}; "
                               f"make the generator with Generator(device={device!r})")
        return generator._gen
    if isinstance(generator, np.random.Generator) and device != "cpu":
        raise backend.DeviceError(f"{name}: a NumPy Generator draws on the host (cpu) but {where} is on "
                                  f"{device!r}; pass Generator(device={device!r}) instead")
    return generator


def encode_state(state: dict):
    """A NumPy PCG64 state dict as the uint8 tensor torch's state functions use."""
    from .tensor import Tensor
    if state.get("bit_generator") != "PCG64":
        raise TypeError(f"cannot encode the state of a {state.get('bit_generator')} bit generator")
    raw = (_MAGIC + int(state["state"]["state"]).to_bytes(16, "little") + int(state["state"]["inc"]).to_bytes(16, "little")
           + int(state["has_uint32"]).to_bytes(8, "little") + int(state["uinteger"]).to_bytes(8, "little"))
    return Tensor(np.frombuffer(raw, dtype=np.uint8).copy())


def decode_state(t, name: str) -> dict:
    """The state dict of a tensor made by :func:`encode_state`; a clear error for anything else."""
    from .tensor import Tensor
    if not isinstance(t, Tensor) or t.dtype != np.uint8 or t.ndim != 1:
        raise TypeError(f"{name}: the state must be a 1-D uint8 tensor (from get_state / get_rng_state), "
                        f"got {t.dtype if isinstance(t, Tensor) else type(t).__name__}")
    raw = backend.to_numpy(t.data).tobytes()
    if len(raw) != _STATE_BYTES or not raw.startswith(_MAGIC):
        raise RuntimeError(f"{name}: not a minitf generator state ({len(raw)} bytes; expected {_STATE_BYTES} "
                           f"starting with {_MAGIC!r})")
    n = len(_MAGIC)
    return {"bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[n:n + 16], "little"),
                      "inc": int.from_bytes(raw[n + 16:n + 32], "little")},
            "has_uint32": int.from_bytes(raw[n + 32:n + 40], "little"),
            "uinteger": int.from_bytes(raw[n + 40:n + 48], "little")}


def get_rng_state():
    """The CPU default generator's state as a uint8 tensor, as ``torch.get_rng_state``
    (``minitf.random.get_rng_state(device)`` gives any device's as a JSON-able dict)."""
    return encode_state(_random.get_rng_state("cpu"))


def set_rng_state(new_state) -> None:
    """Restore the CPU default generator from :func:`get_rng_state`'s tensor, as ``torch.set_rng_state``."""
    _random.set_rng_state(decode_state(new_state, "set_rng_state"), "cpu")
