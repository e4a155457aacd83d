"""The views of a complex tensor as real ones, as torch's: ``real`` and ``imag`` (z (...) -> float
(...)), ``view_as_real`` (z (...) -> float (..., 2)) and its inverse ``view_as_complex``.

Each shares its input's memory (NumPy's and CuPy's ``.real`` / ``.imag`` are strided views of every
other float; the pairs are a ``view`` of a float dtype: :func:`minitf.backend.complex_as_pairs`), so a
write into one (``z.real.add_(1)``, ``z.imag[0] = 3``, ``view_as_real(z)[..., 1] = 0``) changes its
input, and while a gradient flows the write is recorded on the input (as torch's CopySlices): z =
complex(new, imag(z)) for ``real``, complex(real(z), new) for ``imag``, view_as_complex(new) for
``view_as_real`` and view_as_real(new) for ``view_as_complex``. Where the array module cannot give a
view (``view_as_complex`` of pairs that are not adjacent, which torch refuses) the result is a copy.
All are differentiable, with torch's gradients (the real ones: a real part's gradient g, an imaginary
part's i g). Re-exported by :mod:`minitf.ops.complex_parts`.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError, ShapeError
from ..tensor import Tensor


def _xp(a):
    return backend.get_array_module(a)


class _View:
    """y = take(x), a view of x's memory; mixed into each view's Function, which gives its backwards."""

    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    takes_complex = True
    is_view = True

    def forward(self, x):
        self.dt = x.dtype
        return self.take(x)


class Real(_View, Function):
    take = staticmethod(lambda a: _xp(a).real(a))

    def backward(self, g):
        return (g.astype(self.dt),)

    def backward_graph(self, g):
        return (g.to(self.dt),)


class Imag(_View, Function):
    take = staticmethod(lambda a: _xp(a).imag(a))

    def backward(self, g):  # L depends on y alone: dL/dx + i dL/dy = i g
        return ((g * 1j).astype(self.dt),)

    def backward_graph(self, g):
        return (g.to(self.dt) * 1j,)


class ViewAsReal(_View, Function):
    take = staticmethod(lambda a: backend.complex_as_pairs(a))

    def backward(self, g):
        return ((g[..., 0] + 1j * g[..., 1]).astype(self.dt),)

    def backward_graph(self, g):
        return (view_as_complex(g),)


def _pairs_as_complex(a):
    from .complex_parts import _complex_of, from_parts
    out = backend.pairs_as_complex(a, _complex_of(a.dtype))
    return from_parts(a[..., 0], a[..., 1]) if out is None else out   # (pairs not adjacent: a copy)


class ViewAsComplex(_View, Function):
    take = staticmethod(_pairs_as_complex)

    def backward(self, g):
        return (backend.complex_as_pairs(g).astype(self.dt),)

    def backward_graph(self, g):
        return (view_as_real(g),)


class _ViewOf:
    """How an in-place change of one of these views is recorded on its input x (the ``_view_of``
    index of :mod:`minitf.ops.inplace`): x = ``rebuild(x, new)``, then the view read again (``read``);
    outside the graph the write went into x's memory through the view already."""
    __slots__ = ("read", "rebuild")

    def __init__(self, read, rebuild):
        self.read, self.rebuild = read, rebuild

    def write(self, base: Tensor, new: Tensor, op_name: str) -> None:
        from .. import autograd
        from .inplace import _check_writable, _needs_graph, _record
        _check_writable(base, op_name)
        if _needs_graph(base, new):
            _record(base, new, op_name, self.rebuild)
        else:
            self.read(base).data[...] = new.data
            autograd.bump_version(base)


def _complex(re, im):
    from .complex_parts import Complex
    return Complex.apply(re, im)


_REAL = _ViewOf(lambda z: real(z), lambda z, v: _complex(v, Imag.apply(z)))
_IMAG = _ViewOf(lambda z: imag(z), lambda z, v: _complex(Real.apply(z), v))
_PAIRS = _ViewOf(lambda z: view_as_real(z), lambda z, v: ViewAsComplex.apply(v))
_COMPLEX = _ViewOf(lambda x: view_as_complex(x), lambda x, v: ViewAsReal.apply(v))


def _view(cls, x: Tensor, how: _ViewOf) -> Tensor:
    from ._util import share_storage
    out = share_storage(cls.apply(x), x)
    if getattr(out, "_base", None) is not None:
        out._view_of = (x, how)   # an in-place change of it is recorded on x
    return out


def real(x: Tensor) -> Tensor:
    """The real part: x itself for a real tensor (torch returns ``self``); for a complex tensor (...) its
    real part (...) in its float dtype, a view sharing x's memory (writes into it change x, recorded
    for autograd), differentiable."""
    return _view(Real, x, _REAL) if x.data.dtype.kind == "c" else x


def imag(x: Tensor) -> Tensor:
    """The imaginary part of a complex tensor (...) -> (...), float dtype: a view sharing x's memory, as
    :func:`real`'s; differentiable. An error for a real tensor, as torch's."""
    if x.data.dtype.kind != "c":
        raise DtypeError("imag is not implemented for tensors with non-complex dtypes.")
    return _view(Imag, x, _IMAG)


def set_part(x: Tensor, value, imaginary: bool) -> None:
    """``x.real = value`` / ``x.imag = value``: value (a number or a tensor, broadcast) written into
    that part, through the view (torch's setters); ``x.real = v`` on a real tensor writes x."""
    from .inplace import setitem
    setitem(imag(x) if imaginary else real(x), Ellipsis, value, "imag" if imaginary else "real")


def view_as_real(x: Tensor) -> Tensor:
    """A complex tensor (...) as a real one (..., 2) of its float dtype: [..., 0] the real parts, [..., 1]
    the imaginary ones, a view sharing x's memory (as torch's); torch's error for a real tensor."""
    if x.data.dtype.kind != "c":
        raise DtypeError("view_as_real is only supported for complex tensors")
    return _view(ViewAsReal, x, _PAIRS)


def view_as_complex(x: Tensor) -> Tensor:
    """A float32/float64 tensor (..., 2) as a complex one (...): x[..., 0] + i x[..., 1], a view sharing
    x's memory where its pairs are adjacent (a copy otherwise, where torch refuses). Differentiable."""
    if x.data.dtype.kind == "c" or x.data.dtype not in (np.float32, np.float64):
        raise DtypeError(f"view_as_complex is only supported for float and double tensors, but got a tensor of "
                         f"scalar type: {x.dtype}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ShapeError(f"view_as_complex: Tensor must have a last dimension of size 2, got shape {tuple(x.shape)}")
    from ..complex_guard import arm
    arm()
    return _view(ViewAsComplex, x, _COMPLEX)
