"""dtypes PyTorch has and minitf cannot have: ``mt.bfloat16``.

NumPy (and so CuPy and minitf) has no bfloat16 type. The object exists so that scripts that
merely name it (nanoGPT's ``{'float32': torch.float32, 'bfloat16': torch.bfloat16, ...}``,
``dtype == torch.bfloat16``) run; making or casting an array with it raises one
``NotImplementedError`` that says why (NumPy's dtype conversion asks the object for ``.dtype``,
which raises; a RuntimeError subclass, the class torch uses for an unsupported dtype).
"""
from __future__ import annotations

__all__ = ["bfloat16"]


class UnsupportedDtype:
    """A named dtype minitf cannot compute in: comparable (by identity), hashable, printable."""

    is_floating_point = True
    is_complex = False
    is_signed = True

    def __init__(self, name: str, itemsize: int, reason: str):
        self.name, self.itemsize, self._reason = name, itemsize, reason

    @property
    def dtype(self):
        # what np.dtype(obj), np.zeros(..., dtype=obj) and astype(obj) look up
        raise NotImplementedError(f"dtype {self.name} is not supported by minitf: {self._reason}")

    def __repr__(self):
        return f"minitf.{self.name}"

    def __reduce__(self):
        return self.name   # pickles as the module-level singleton


bfloat16 = UnsupportedDtype("bfloat16", 2, "NumPy has no bfloat16 type; use float32, or float16 "
                            "(model.half())")
