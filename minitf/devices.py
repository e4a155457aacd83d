"""``minitf.device``: PyTorch's ``torch.device`` for code that builds one.

Devices are strings in minitf (``"cpu"``, ``"gpu"``, ``"fake"``); a ``device`` is one
of them, normalised, so it goes wherever a device name does and compares equal to it.
``.type`` is PyTorch's name for the kind (``"cuda"`` for the GPU, so that code testing
``x.device.type == "cuda"`` reads it the same way), ``.index`` 0 or None.

    mt.device("cuda") == "gpu"; mt.device("cuda:0").index == 0; mt.zeros(2, device=mt.device("cpu"))
"""
from __future__ import annotations

from . import backend


class device(str):
    """A normalised device name (a ``str``): ``device("cuda")``, ``device("cuda", 0)``, ``device("cpu")``."""

    def __new__(cls, type, index=None):
        if isinstance(type, device) and index is None:
            return type
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device: index must be an int, got {index!r}")
            spec = f"{type}:{index}"
        else:
            spec = type
        obj = super().__new__(cls, backend.check_device(spec))
        obj._index = index if index is not None else (0 if isinstance(type, str) and ":" in type else None)
        return obj

    @property
    def type(self) -> str:
        """PyTorch's name of the kind: "cpu", "cuda" for the GPU, "fake"."""
        return "cuda" if str(self) == "gpu" else str(self)

    @property
    def index(self):
        return self._index

    def __repr__(self):
        return f"device(type={self.type!r}" + ("" if self._index is None else f", index={self._index}") + ")"

    __hash__ = str.__hash__

    # ``with mt.device("fake"):`` makes it the factories' default device for the block, as torch's
    # (minitf.settings.set_default_device); blocks nest, and are the current thread's, as torch's
    def __enter__(self):
        from .creation import defaults
        defaults.previous.append(defaults.device)
        defaults.device = str(self)
        return self

    def __exit__(self, *exc):
        from .creation import defaults
        defaults.device = defaults.previous.pop()
