"""dtypes PyTorch has and minitf cannot have: ``mt.bfloat16``, ``mt.complex32`` (``mt.chalf``).

NumPy (and so CuPy and minitf) has no bfloat16 type. The object exists so that scripts that
merely name it (nanoGPT's ``{'float32': torch.float32, 'bfloat16': torch.bfloat16, ...}``,
``dtype == torch.bfloat16``) run; making or casting an array with it raises one
``NotImplementedError`` that says why (NumPy's dtype conversion asks the object for ``.dtype``,
which raises; a RuntimeError subclass, the class torch uses for an unsupported dtype).

complex32 is torch's complex of two float16 parts, with few ops even in torch (on the CPU ``+``, ``*``,
``abs`` and casts; ``exp``, ``sum`` and ``matmul`` raise its NotImplementedError "... not implemented
for 'ComplexHalf'"); NumPy has no such type, so it is named and refused the same way.
"""
from __future__ import annotations

__all__ = ["bfloat16", "complex32", "chalf"]


class UnsupportedDtype:
    """A named dtype minitf cannot compute in: comparable (by identity), hashable, printable."""

    is_floating_point = True
    is_complex = False
    is_signed = True

    def __init__(self, name: str, itemsize: int, reason: str, is_complex: bool = False):
        self.name, self.itemsize, self._reason = name, itemsize, reason
        if is_complex:   # (torch.complex32.is_floating_point is False, is_complex True)
            self.is_complex, self.is_floating_point = True, False

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
complex32 = chalf = UnsupportedDtype("complex32", 4, "NumPy has no complex32 (complex half) type; use "
                                     "complex64 (x.cfloat())", is_complex=True)
