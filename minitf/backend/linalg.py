"""The linear algebra kernels behind :mod:`minitf.linalg`: ``xp.linalg`` of the array's device,
with one difference made uniform. NumPy raises ``numpy.linalg.LinAlgError`` for a singular
matrix (inv, solve) or one that is not positive-definite (cholesky); CuPy returns garbage
(inf, NaN or a partial factor) unless its linalg error state is "raise", which it then reports
with the same NumPy exception (one device sync, as torch's own check). CuPy 14's inv, det,
slogdet, solve, cholesky, qr, eigh, eigvalsh and svd all take stacks ``(..., m, n)``, so no
batch loop is needed anywhere.

Two kernels have no CuPy form that matches torch, and run on the host (NumPy/LAPACK) for a device
array, their inputs copied there and their results back (one transfer each way, a device sync):

* :func:`linalg_eig` -- the general eigen-decomposition (geev). CuPy before 14 has no ``linalg.eig``, and
  CuPy 14's (cuSOLVER's Xgeev, CUDA >= 12.6) promises no order of the eigenvalues and another
  normalisation of the eigenvectors than LAPACK's, which torch's users index;
* :func:`on_host` -- any NumPy routine, for the Bunch-Kaufman LDL^T of :mod:`minitf.linalg.ldl`
  (LAPACK's sytrf: neither NumPy nor CuPy has one).
"""
from __future__ import annotations

import numpy as np

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


def on_host(fn, *arrays):
    """``fn(*host_arrays)`` on NumPy copies of the arrays, its result (an array or a tuple of them)
    moved back to the device of ``arrays[0]`` (no copy on the CPU)."""
    device = backend.device_of(arrays[0])
    out = fn(*(backend.to_numpy(a) for a in arrays))
    if device == "cpu":
        return out
    if isinstance(out, tuple):
        return tuple(backend.to_device(np.ascontiguousarray(o), device) for o in out)
    return backend.to_device(np.ascontiguousarray(out), device)


def linalg_eig(a):
    """(eigenvalues (..., n), eigenvectors (..., n, n)) of each square matrix of a (..., n, n),
    complex always (complex64 for float32 / complex64 input, complex128 otherwise), in LAPACK
    geev's order and normalisation (unit 2-norm columns, the largest component real), as torch's
    CPU kernel; a device array is decomposed on the host (see the module docstring). Non-finite
    input raises ``ValueError``; no convergence ``numpy.linalg.LinAlgError``."""
    def _eig(h):
        if not np.isfinite(h).all():
            raise ValueError("non-finite")
        ctype = np.result_type(h.dtype, np.complex64)
        if h.shape[-1] == 0:
            return np.zeros(h.shape[:-1], ctype), np.zeros(h.shape, ctype)
        w, v = np.linalg.eig(h)
        return w.astype(ctype, copy=False), v.astype(ctype, copy=False)
    return on_host(_eig, a)
