"""Activation layers (parameter-free wrappers of the elementwise ops), and CosineSimilarity."""
from __future__ import annotations

import warnings

from .. import functional as F
from .module import Module


class GELU(Module):
    """GELU(x) = x Phi(x), as ``torch.nn.GELU``: ``approximate="none"`` (the default) is the
    exact erf form, ``"tanh"`` GPT-2's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class _InPlace(Module):
    """An activation with torch's ``inplace`` flag: ``inplace=True`` writes the result into the
    input (``F.relu_`` and the like: differentiable, refused on a leaf that requires grad)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_InPlace):
    """max(x, 0), as ``torch.nn.ReLU(inplace=False)``."""

    def forward(self, x):
        return F.relu(x, inplace=self.inplace)


class ReLU6(_InPlace):
    """min(max(x, 0), 6), as ``torch.nn.ReLU6(inplace=False)`` (over ``F.relu6``)."""

    def forward(self, x):
        return F.relu6(x, inplace=self.inplace)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return F.sigmoid(x)


class SiLU(_InPlace):
    """x sigmoid(x) (swish), as ``torch.nn.SiLU(inplace=False)``."""

    def forward(self, x):
        return F.silu(x, inplace=self.inplace)


def _implicit_dim(x) -> int:
    """torch's dim for a softmax given none (a deprecated choice it warns about): 0 for 0-, 1- and
    3-D inputs, else 1."""
    warnings.warn("Implicit dimension choice for softmax has been deprecated. Change the call to include "
                  "dim=X as an argument.", UserWarning, stacklevel=4)
    return 0 if x.ndim in (0, 1, 3) else 1


class Softmax(Module):
    """softmax along ``dim``, as ``torch.nn.Softmax(dim=None)``: without ``dim``, torch's implicit
    choice (dim 0 for 0-, 1- and 3-D inputs, else 1) with its deprecation warning."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, dim=_implicit_dim(x) if self.dim is None else self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``, as ``torch.nn.LogSoftmax(dim)``."""

    def forward(self, x):
        return F.log_softmax(x, dim=_implicit_dim(x) if self.dim is None else self.dim)


class LeakyReLU(_InPlace):
    """x for x > 0, negative_slope * x otherwise, as ``torch.nn.LeakyReLU(negative_slope, inplace)``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(inplace)
        float(negative_slope)   # a number, kept as given (torch's repr prints an int as an int)
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, inplace=self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_InPlace):
    """x for x > 0, alpha (exp(x) - 1) otherwise, as ``torch.nn.ELU(alpha, inplace)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        float(alpha)   # a number, kept as given (torch's repr prints an int as an int)
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha, inplace=self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """log(1 + exp(beta x)) / beta (x itself where beta x > threshold), as ``torch.nn.Softplus``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        if float(beta) == 0:
            raise ValueError("Softplus: beta must be non-zero (the result divides by it)")
        float(threshold)   # (a number: torch keeps both as given, so an int prints as an int)
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    """log sigmoid(x), stable for every finite x, as ``torch.nn.LogSigmoid``."""

    def forward(self, x):
        return F.logsigmoid(x)


class GLU(Module):
    """a * sigmoid(b), a and b the two halves of the input along ``dim``, as ``torch.nn.GLU``.
    x: (..., 2n, ...) -> (..., n, ...)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class CosineSimilarity(Module):
    """``F.cosine_similarity(x1, x2, dim, eps)``, as ``torch.nn.CosineSimilarity``:
    x1, x2 broadcastable -> their broadcast shape without ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, float(eps)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self):
        return f"dim={self.dim}, eps={self.eps}"
