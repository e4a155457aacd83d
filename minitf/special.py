"""``minitf.special``: torch.special's names for the special functions minitf has, as
``import torch.special`` users expect (``mt.special.erfinv(x)``). Each is the op of the
same name elsewhere in minitf (same dtypes, same gradients):

erf, erfc, erfinv, expit (the logistic sigmoid), logit, xlogy, xlog1py, log1p, expm1, exp2,
logsumexp, sinc, entr (-x log x), ndtr (the standard normal CDF), softmax, log_softmax, round.
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

_SQRT1_2 = 1 / math.sqrt(2.0)


def ndtr(x):
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2, computed as erfc(-x / sqrt 2) / 2 (accurate
    in the lower tail), as torch.special.ndtr. x: any shape -> the same shape; differentiable."""
    from .ops._util import float_input
    return erfc(float_input(x) * -_SQRT1_2) * 0.5


__all__ = ["erf", "erfc", "erfinv", "expit", "logit", "xlogy", "xlog1py", "log1p", "expm1", "exp2", "logsumexp",
           "sinc", "entr", "ndtr", "softmax", "log_softmax", "round"]
