"""More of torch's Tensor methods, one line each, delegating to the ops of
:mod:`minitf.ops.more_math`, :mod:`~minitf.ops.more_reductions` and
:mod:`~minitf.ops.more_shapes`, torch's ``type()`` / ``is_floating_point()``, and the Tensor
methods of :mod:`minitf.linalg` (``inverse``, ``det``, ``logdet``, ``slogdet``, ``pinverse``,
``matrix_power``, ``cross``).

A mixin of :class:`minitf.tensor_methods.TensorMethods` (as :mod:`minitf.tensor_inplace`);
the ops are imported on first use (they need Tensor, defined after this module).
"""
from __future__ import annotations

# torch's legacy type names (x.type()); "torch.cuda." ones on a GPU
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
               "uint8": "ByteTensor", "bool": "BoolTensor"}


def _math():
    from .ops import more_math
    return more_math


def _red():
    from .ops import more_reductions
    return more_reductions


def _shp():
    from .ops import more_shapes
    return more_shapes


def _inv():
    from .linalg import inverse
    return inverse


def _linalg(name):
    """The module ``minitf.linalg.<name>``, imported on first use."""
    import importlib
    return importlib.import_module(f".linalg.{name}", __package__)


def _ops(name):
    """The op module ``minitf.ops.<name>``, imported on first use."""
    import importlib
    return importlib.import_module(f".ops.{name}", __package__)



class MoreMethods:
    """Math, reductions, shapes and type queries (no state of their own)."""

    __slots__ = ()

    def log2(self): return _math().log2(self)
    def log10(self): return _math().log10(self)
    def exp2(self): return _math().exp2(self)
    def sinh(self): return _math().sinh(self)
    def cosh(self): return _math().cosh(self)
    def tan(self): return _math().tan(self)
    def asin(self): return _math().asin(self)
    def atan(self): return _math().atan(self)
    arcsin, arctan = asin, atan
    def erf(self): return _math().erf(self)
    def logit(self, eps=None): return _math().logit(self, eps)
    def atan2(self, other): return _math().atan2(self, other)
    arctan2 = atan2
    def hypot(self, other): return _math().hypot(self, other)

    # math ops (minitf/ops/special.py, binary_math.py, scan.py, products.py, binning.py)
    def acos(self): return _ops("special").acos(self)
    def acosh(self): return _ops("special").acosh(self)
    def asinh(self): return _ops("special").asinh(self)
    def atanh(self): return _ops("special").atanh(self)
    arccos, arccosh, arcsinh, arctanh = acos, acosh, asinh, atanh
    def erfc(self): return _ops("special").erfc(self)
    def erfinv(self): return _ops("special").erfinv(self)
    def sgn(self): return _ops("special").sgn(self)
    def signbit(self): return _ops("special").signbit(self)
    def frac(self): return _ops("special").frac(self)
    def deg2rad(self): return _ops("special").deg2rad(self)
    def rad2deg(self): return _ops("special").rad2deg(self)
    def sinc(self): return _ops("special").sinc(self)
    def xlogy(self, other): return _ops("binary_math").xlogy(self, other)
    def logaddexp(self, other): return _ops("binary_math").logaddexp(self, other)
    def logaddexp2(self, other): return _ops("binary_math").logaddexp2(self, other)
    def float_power(self, exponent): return _ops("binary_math").float_power(self, exponent)
    def copysign(self, other): return _ops("binary_math").copysign(self, other)
    def heaviside(self, values): return _ops("binary_math").heaviside(self, values)
    def nextafter(self, other): return _ops("binary_math").nextafter(self, other)
    def ldexp(self, other): return _ops("binary_math").ldexp(self, other)
    def fmax(self, other): return _ops("binary_math").fmax(self, other)
    def fmin(self, other): return _ops("binary_math").fmin(self, other)
    def cummax(self, dim): return _ops("scan").cummax(self, dim)
    def cummin(self, dim): return _ops("scan").cummin(self, dim)
    def logcumsumexp(self, dim): return _ops("scan").logcumsumexp(self, dim)
    def kron(self, other): return _ops("products").kron(self, other)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _ops("products").addmm(self, mat1, mat2, beta=beta, alpha=alpha)
    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _ops("products").addmv(self, mat, vec, beta=beta, alpha=alpha)
    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _ops("products").addr(self, vec1, vec2, beta=beta, alpha=alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops("products").baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops("products").addbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def histc(self, bins=100, min=0, max=0): return _ops("binning").histc(self, bins, min, max)

    def nansum(self, dim=None, keepdim=False): return _red().nansum(self, dim, keepdim)
    def nanmean(self, dim=None, keepdim=False): return _red().nanmean(self, dim, keepdim)
    def median(self, dim=None, keepdim=False): return _red().median(self, dim, keepdim)
    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _red().quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _red().nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def diagonal(self, offset=0, dim1=0, dim2=1): return _shp().diagonal(self, offset, dim1, dim2)
    def trace(self): return _shp().trace(self)
    def diff(self, n=1, dim=-1, prepend=None, append=None): return _shp().diff(self, n, dim, prepend, append)
    def isin(self, test_elements, *, invert=False): return _shp().isin(self, test_elements, invert=invert)

    # linalg: torch's Tensor methods of torch.linalg's functions (minitf/linalg)
    def inverse(self): return _inv().inv(self)
    def det(self): return _inv().det(self)
    def logdet(self): return _inv().logdet(self)
    def slogdet(self): return _inv().slogdet(self)
    def pinverse(self, rcond=1e-15): return _inv().pinverse(self, rcond)
    def matrix_power(self, n): return _inv().matrix_power(self, n)
    def cross(self, other, dim=None):
        from .linalg.products import torch_cross
        return torch_cross(self, other, dim)
    # special functions and linalg gaps (minitf/ops/gamma_fns.py, bessel_ndtr.py, incomplete_gamma.py,
    # inplace_special.py; minitf/linalg/matrix_exp.py, lu.py, legacy.py)
    def lgamma(self): return _ops("gamma_fns").lgamma(self)
    def digamma(self): return _ops("gamma_fns").digamma(self)
    def polygamma(self, n): return _ops("gamma_fns").polygamma(n, self)
    def mvlgamma(self, p): return _ops("gamma_fns").mvlgamma(self, p)
    def i0(self): return _ops("bessel_ndtr").i0(self)
    def igamma(self, other): return _ops("incomplete_gamma").igamma(self, other)
    def igammac(self, other): return _ops("incomplete_gamma").igammac(self, other)
    def lgamma_(self): return _ops("inplace_special").lgamma_(self)
    def digamma_(self): return _ops("inplace_special").digamma_(self)
    def polygamma_(self, n): return _ops("inplace_special").polygamma_(self, n)
    def mvlgamma_(self, p): return _ops("inplace_special").mvlgamma_(self, p)
    def i0_(self): return _ops("inplace_special").i0_(self)
    def igamma_(self, other): return _ops("inplace_special").igamma_(self, other)
    def igammac_(self, other): return _ops("inplace_special").igammac_(self, other)
    def matrix_exp(self): return _linalg("matrix_exp").matrix_exp(self)
    def lu(self, pivot=True, get_infos=False): return _linalg("legacy").lu(self, pivot, get_infos)
    def lu_solve(self, LU_data, LU_pivots): return _linalg("legacy").lu_solve(self, LU_data, LU_pivots)
    def cholesky_solve(self, input2, upper=False): return _linalg("legacy").cholesky_solve(self, input2, upper)
    def cholesky_inverse(self, upper=False): return _linalg("legacy").cholesky_inverse(self, upper)
    def triangular_solve(self, A, upper=True, transpose=False, unitriangular=False):
        return _linalg("legacy").triangular_solve(self, A, upper, transpose, unitriangular)
    # torch's shape and index helpers (minitf.ops.split_stack, .rearrange, .strided, .embed)
    def tensor_split(self, indices_or_sections, dim=0): return _ops("split_stack").tensor_split(self, indices_or_sections, dim)
    def hsplit(self, indices_or_sections): return _ops("split_stack").hsplit(self, indices_or_sections)
    def vsplit(self, indices_or_sections): return _ops("split_stack").vsplit(self, indices_or_sections)
    def dsplit(self, indices_or_sections): return _ops("split_stack").dsplit(self, indices_or_sections)
    def rot90(self, k=1, dims=(0, 1)): return _ops("rearrange").rot90(self, k, dims)
    def fliplr(self): return _ops("rearrange").fliplr(self)
    def flipud(self): return _ops("rearrange").flipud(self)
    def unflatten(self, dim, sizes): return _ops("rearrange").unflatten(self, dim, sizes)
    def ravel(self): return _ops("rearrange").ravel(self)
    def narrow_copy(self, dim, start, length): return _ops("rearrange").narrow_copy(self, dim, start, length)
    def take(self, index): return _ops("rearrange").take(self, index)
    def take_along_dim(self, indices, dim=None): return _ops("rearrange").take_along_dim(self, indices, dim)
    def unfold(self, dimension, size, step): return _ops("strided").unfold(self, dimension, size, step)
    def select_scatter(self, src, dim, index): return _ops("embed").select_scatter(self, src, dim, index)
    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        return _ops("embed").slice_scatter(self, src, dim, start, end, step)
    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        return _ops("embed").diagonal_scatter(self, src, offset, dim1, dim2)

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating one (float16/32/64), as torch."""
        return self.data.dtype.kind == "f"

    def type(self, dtype=None):
        """``type()``: torch's type name ('torch.FloatTensor', 'torch.cuda.LongTensor' on a GPU...);
        ``type(dtype)``: ``to(dtype)`` (a dtype, or one of those names)."""
        if dtype is None:
            return ("torch.cuda." if self.device != "cpu" else "torch.") + _TYPE_NAMES[str(self.data.dtype)]
        if isinstance(dtype, str) and dtype.startswith("torch."):
            by_name = {v: k for k, v in _TYPE_NAMES.items()}
            name = dtype.rsplit(".", 1)[-1]
            if name not in by_name:
                raise TypeError(f"type: unknown type name {dtype!r}")
            dtype = by_name[name]
        return self.to(dtype=dtype)
