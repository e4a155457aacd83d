"""``minitf.special``: torch.special's names for the special functions minitf has, as
``import torch.special`` users expect (``mt.special.erfinv(x)``). Each is the op of the
same name elsewhere in minitf (same dtypes, same gradients):

erf, erfc, erfinv, expit (the logistic sigmoid), logit, xlogy, xlog1py, log1p, expm1, exp2,
logsumexp, sinc, entr (-x log x), ndtr (the standard normal CDF), softmax, log_softmax, round;
the gamma family (gammaln, digamma/psi, polygamma, multigammaln, zeta, gammainc, gammaincc) and
i0, i0e, i1, i1e, erfcx, log_ndtr, ndtri (minitf/ops/gamma_fns.py, bessel_ndtr.py,
incomplete_gamma.py: NumPy kernels with their measured accuracy in each module's docstring).
"""
from __future__ import annotations

import math

from .ops.binary_math import xlog1py, xlogy  # noqa: F401
from .ops.cumulative import logsumexp  # noqa: F401
from .ops.elementwise import sigmoid as expit  # noqa: F401
from .ops.more_math import erf, exp2, logit  # noqa: F401
from .ops.nn import log_softmax, softmax  # noqa: F401
from .ops.special import entr, erfc, erfinv, sinc  # noqa: F401
from .ops.unary import expm1, log1p, round  # noqa: F401

# special functions and linalg gaps: the gamma family, Bessel I0/I1, erfcx and the normal helpers
from .ops.gamma_fns import digamma, gammaln, multigammaln, polygamma, psi, zeta  # noqa: F401,E402
from .ops.bessel_ndtr import erfcx, i0, i0e, i1, i1e, log_ndtr, ndtri  # noqa: F401,E402
from .ops.incomplete_gamma import gammainc, gammaincc  # noqa: F401,E402
# Bessel, Airy and orthogonal polynomials group (minitf/ops/bessel_jy.py, bessel_k.py, airy.py, orthopoly.py)
from .ops.bessel_jy import bessel_j0, bessel_j1, bessel_y0, bessel_y1, spherical_bessel_j0  # noqa: F401,E402
from .ops.bessel_k import (modified_bessel_i0, modified_bessel_i1, modified_bessel_k0,  # noqa: F401,E402
                           modified_bessel_k1, scaled_modified_bessel_k0, scaled_modified_bessel_k1)
from .ops.airy import airy_ai  # noqa: F401,E402
from .ops.orthopoly import (chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v,  # noqa: F401,E402
                            chebyshev_polynomial_w, shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u,
                            shifted_chebyshev_polynomial_v, shifted_chebyshev_polynomial_w, hermite_polynomial_h,
                            hermite_polynomial_he, laguerre_polynomial_l, legendre_polynomial_p)

_SQRT1_2 = 1 / math.sqrt(2.0)


def ndtr(x):
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2, computed as erfc(-x / sqrt 2) / 2 (accurate
    in the lower tail), as torch.special.ndtr. x: any shape -> the same shape; differentiable."""
    from .ops._util import float_input
    x = float_input(x)
    if x.dtype == "float16":   # in float32, rounded once, as torch's half kernel (ndtr(-2.5) was 2% off)
        return ndtr(x.float()).half()
    return erfc(x * -_SQRT1_2) * 0.5


__all__ = ["erf", "erfc", "erfinv", "expit", "logit", "xlogy", "xlog1py", "log1p", "expm1", "exp2", "logsumexp",
           "sinc", "entr", "ndtr", "softmax", "log_softmax", "round"]
__all__ += ["digamma", "psi", "polygamma", "gammaln", "multigammaln", "zeta", "gammainc", "gammaincc",
            "i0", "i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtri"]  # (special functions and linalg gaps)
# (Bessel, Airy and orthogonal polynomials group)
__all__ += ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0", "modified_bessel_i0",
            "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
            "scaled_modified_bessel_k1", "airy_ai", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
            "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
            "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
            "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]
