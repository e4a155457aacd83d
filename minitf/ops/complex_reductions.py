"""The complex forms of reductions and scans whose result or backward changes for complex input:
var and std (a real result, the mean of |x - mean|^2), the p-norms other than 2 (real), and
logcumsumexp (complex).

:mod:`minitf.complex_guard` sends an op with a complex input here; real tensors never reach these.
Each keeps its real op's class name (its node's name), and its backward is torch's conjugate
Wirtinger gradient (:mod:`minitf.ops.complex_backward`).
"""
from __future__ import annotations

from .. import backend
from . import reduction as _r, scan as _sc, statistics as _st
from ._util import expand_reduced
from .complex_math import _logaddexp


def _abs_squared(xc):
    return xc.real * xc.real + xc.imag * xc.imag


class Var(_r.Var):
    """The variance of a complex x: the mean of |x - mean|^2 (a real result, as torch); its gradient
    g 2 (x - mean) / (n - correction), the real backward as written (g real, x - mean complex)."""

    takes_complex = True
    squares = staticmethod(_abs_squared)


class Std(_st.Std):
    """sqrt of :class:`Var`'s variance (real); the real backward as written, as Var's."""

    takes_complex = True
    squares = staticmethod(_abs_squared)


class NormP(_st.NormP):
    """(sum |x|^p)^(1/p) of a complex x (p > 0, not 1 or 2): a real result, gradient g x |x|^(p-2) /
    n^(p-1) (sgn(x) |x|^(p-1) for the real form's sign(x) |x|^(p-1); 0 where x = 0 or n = 0, as the
    real form's); its recorded backward is the real form's as written (x * |x|^(p-2))."""

    takes_complex = True

    def backward(self, g):
        xp = backend.get_array_module(g)
        x, n, p = self.x, self.n, self.p
        zero = x == 0
        share = xp.where(zero, 0, x * xp.where(zero, 1, xp.abs(x)) ** (p - 2))
        scale = xp.where(n == 0, 0, xp.where(n == 0, 1, n) ** (1 - p))
        return ((expand_reduced(g, self.shape, self.axis, self.keepdims) * share * scale).astype(x.dtype, copy=False),)


class LogCumSumExp(_sc.LogCumSumExp):
    """y_j = log(sum_{i <= j} e^{x_i}) of a complex x, the principal log, by a scan of the complex
    logaddexp along the dim (one step per element: NumPy's logaddexp.accumulate takes no complex).

    Gradient: dL/dx_i = sum_{j >= i} g_j conj(e^(x_i - y_j)) = conj(e^(x_i - y_i)) U_i with U_i =
    g_i + conj(e^(y_i - y_{i+1})) U_{i+1}, a reversed scan whose factors stay near 1 in size (e^(y_i -
    y_{i+1}) = e^y_i / (e^y_i + e^x_{i+1})), where the product form e^x_i e^-y_j would overflow."""

    takes_complex = True

    def forward(self, x, axis, zero_d=False):
        xp = backend.get_array_module(x)
        self.axis = axis
        steps = xp.moveaxis(x, axis, 0)
        y = xp.empty_like(steps)
        if steps.shape[0]:
            y[0] = steps[0]
        for j in range(1, steps.shape[0]):
            y[j] = _logaddexp(xp, y[j - 1], steps[j])
        self.x, self.y = x, xp.moveaxis(y, 0, axis)
        return self.y

    def backward(self, g):
        xp = backend.get_array_module(g)
        gs, ys = xp.moveaxis(g, self.axis, 0), xp.moveaxis(self.y, self.axis, 0)
        u = xp.empty_like(gs)
        n = gs.shape[0]
        if n:
            u[n - 1] = gs[n - 1]
        for i in range(n - 2, -1, -1):
            u[i] = gs[i] + xp.conj(xp.exp(ys[i] - ys[i + 1])) * u[i + 1]
        return (xp.conj(xp.exp(self.x - self.y)) * xp.moveaxis(u, 0, self.axis),)

    def backward_graph(self, g):   # the same scans in recorded ops (y recomputed: differentiable in x)
        from .complex_parts import conj
        from .elementwise import exp
        from .joining import stack
        from .layout import movedim
        x, axis = self.inputs[0], self.axis
        y = LogCumSumExp.apply(x, axis=axis)
        gs, ys = movedim(g, axis, 0), movedim(y, axis, 0)
        n = gs.shape[0]
        if not n:
            return (g,)
        u = [gs[n - 1]]
        for i in range(n - 2, -1, -1):
            u.append(gs[i] + conj(exp(ys[i] - ys[i + 1])) * u[-1])
        return (conj(exp(x - y)) * movedim(stack(u[::-1]), 0, axis),)
