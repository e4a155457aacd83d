"""The in-place ``_`` forms of the gamma-family and Bessel ops that torch has (``x.lgamma_()``,
``x.polygamma_(n)``, ``torch.i0_(x)``...), made by :func:`minitf.ops.inplace_methods.from_op`
(recorded in the graph like every in-place op; a float result into an integer x is refused)."""
from __future__ import annotations

from . import bessel_ndtr as _b, gamma_fns as _g, incomplete_gamma as _ig
from .inplace_methods import from_op

lgamma_, digamma_, mvlgamma_ = (from_op(n + "_", getattr(_g, n)) for n in ("lgamma", "digamma", "mvlgamma"))
i0_ = from_op("i0_", _b.i0)
igamma_, igammac_ = from_op("igamma_", _ig.igamma), from_op("igammac_", _ig.igammac)
_polygamma_ = from_op("polygamma_", lambda x, n: _g.polygamma(n, x))


def polygamma_(x, n: int):
    """``x.polygamma_(n)``: polygamma(n, x) written into x, as torch's Tensor.polygamma_."""
    return _polygamma_(x, n)


__all__ = ["lgamma_", "digamma_", "mvlgamma_", "i0_", "igamma_", "igammac_", "polygamma_"]
