"""The linear algebra kernels behind :mod:`minitf.linalg`: ``xp.linalg`` of the array's device,
with one difference made uniform. NumPy raises ``numpy.linalg.LinAlgError`` for a singular
matrix (inv, solve) or one that is not positive-definite (cholesky); CuPy returns garbage
(inf, NaN or a partial factor) unless its linalg error state is "raise", which it then reports
with the same NumPy exception (one device sync, as torch's own check). CuPy 14's inv, det,
slogdet, solve, cholesky, qr, eigh, eigvalsh and svd all take stacks ``(..., m, n)``, so no
batch loop is needed anywhere."""
from __future__ import annotations

from .. import backend   # the package, whose CuPy state is read at call time (see its docstring)


def linalg_op(name: str, *arrays, checked: bool = False, **kwargs):
    """``xp.linalg.<name>(*arrays, **kwargs)`` for the arrays' device. ``checked``: failures
    (singular, not positive-definite) raise ``numpy.linalg.LinAlgError`` on every device."""
    xp = backend.get_array_module(arrays[0])
    fn = getattr(xp.linalg, name)
    if checked and xp is backend._cupy:
        import cupyx
        with cupyx.errstate(linalg="raise"):
            return fn(*arrays, **kwargs)
    return fn(*arrays, **kwargs)
