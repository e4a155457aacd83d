"""``mt.linalg``: torch.linalg's vector norms (``vector_norm``, and ``norm`` where it is one).
Matrix norms, inverses and factorisations are not here (they would need their own backward)."""
from __future__ import annotations

import math

from .errors import ArgumentError
from .ops.statistics import norm as _norm
from .ops._util import cast_input


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (int, tuple or None: every element), as
    torch.linalg.vector_norm: ord 2 (default), 1, inf, -inf, 0 or any other number; ``dtype``:
    x cast first. Differentiable (the 2-norm's gradient at 0 is 0)."""
    if ord in (math.inf, -math.inf):
        dims = range(x.ndim) if dim is None else ([dim] if isinstance(dim, int) else dim)
        if x.numel() == 0 and (dim is None or any(x.shape[d] == 0 for d in dims)):
            raise ArgumentError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor (shape "
                                f"{x.shape}) because the operation does not have an identity (as torch)")
    return _norm(cast_input(x, dtype), ord, dim, keepdim)


def norm(x, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """torch.linalg.norm for what is a vector norm: ``ord`` None (the 2-norm of the elements
    over ``dim``, or of all of them) or "fro"; a number with ``dim`` an int (or a 1-D x).
    Matrix norms ("nuc", ord 2 or +-1 over two dims) raise NotImplementedError."""
    x = cast_input(x, dtype)
    if ord is None or ord == "fro":
        return _norm(x, 2, dim, keepdim)
    one_dim = isinstance(dim, int) or (dim is None and x.ndim == 1) or (isinstance(dim, (tuple, list)) and len(dim) == 1)
    if isinstance(ord, (int, float)) and one_dim:
        return _norm(x, ord if ord not in (math.inf, -math.inf) else ord, dim, keepdim)
    raise NotImplementedError(f"linalg.norm: the matrix norm ord={ord!r} over dims {dim} is not implemented in "
                              f"minitf (vector norms only: linalg.vector_norm)")
