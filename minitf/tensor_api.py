"""torch's other names for Tensor methods minitf has (``absolute``, ``greater``, ``fix``,
``swapaxes_``...), the in-place forms of :mod:`minitf.ops.inplace_family` (``cos_``, ``eq_``,
``cumsum_``...) and the type and layout queries (``is_signed``, ``nbytes``, ``H``,
``dim_order``...).

An alias is the same function under a second name (``Tensor.absolute is Tensor.abs``), never a
copy: :func:`install` sets the tables below on the class once minitf.tensor has defined it.
The queries are the mixin :class:`APIMethods` of :class:`minitf.tensor_methods.TensorMethods`.
"""
from __future__ import annotations

# Tensor.<alias> is Tensor.<target> (torch documents each alias as the target's other name)
METHOD_ALIASES = {
    "absolute": "abs", "absolute_": "abs_", "negative": "neg", "negative_": "neg_",
    "multiply": "mul", "multiply_": "mul_", "subtract": "sub", "subtract_": "sub_",
    "divide_": "div_", "true_divide_": "div_", "clip_": "clamp_", "fix": "trunc", "fix_": "trunc_",
    "greater": "gt", "greater_": "gt_", "greater_equal": "ge", "greater_equal_": "ge_",
    "less": "lt", "less_": "lt_", "less_equal": "le", "less_equal_": "le_",
    "not_equal": "ne", "not_equal_": "ne_", "swapaxes_": "transpose_", "swapdims_": "transpose_",
    "ndimension": "dim", "split_with_sizes": "split", "unsafe_split": "split",
    "unsafe_split_with_sizes": "split", "unsafe_chunk": "chunk", "argwhere": "nonzero",
    "ger": "outer", "adjoint": "_adjoint",
}

_DIM_ORDER_HELP = "dim_order: the tensor's strides don't give one order of its dims"


def install(cls) -> None:
    """Set the in-place family and the aliases on the Tensor class ``cls`` (once, at import)."""
    from .ops.inplace_family import FUNCTIONS
    for name, fn in FUNCTIONS.items():
        setattr(cls, name, fn)          # Tensor.cos_ is minitf.cos_ (x is the first argument)
    for alias, target in METHOD_ALIASES.items():
        setattr(cls, alias, _find(cls, target))   # the class itself first, then its bases


def _find(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(f"tensor_api: no Tensor method {name!r} to alias")


class APIMethods:
    """torch's type, size and layout queries, and the casts by C type name (no state of their own)."""

    __slots__ = ()

    def is_complex(self) -> bool:
        """Whether the dtype is complex: never in minitf (it has no complex dtypes)."""
        return self.data.dtype.kind == "c"

    def is_signed(self) -> bool:
        """Whether the dtype holds negative values: the floats and signed integers (not uint8, not bool)."""
        return self.data.dtype.kind in "fic"

    def is_nonzero(self) -> bool:
        """The one element's truth (``x != 0``); an error for 0 or more than one element, as torch."""
        n = self.data.size
        if n != 1:
            from .errors import ScalarConversionError
            raise ScalarConversionError(f"Boolean value of Tensor with {'no values' if n == 0 else 'more than one value'}"
                                        f" is ambiguous")
        return bool(self.data.reshape(()).item() != 0)

    def is_same_size(self, other) -> bool:
        """Whether ``other`` has this shape."""
        return self.shape == other.shape

    is_cpu = property(lambda self: self.device == "cpu", doc="On the host (NumPy arrays).")

    def is_inference(self) -> bool:
        """False: minitf's ``inference_mode`` records nothing, as ``no_grad``, and makes ordinary
        tensors (torch's are inference tensors, which can never enter a graph)."""
        return False

    def is_neg(self) -> bool:
        """False: minitf has no lazy negation bit (torch's is for complex views)."""
        return False

    def is_conj(self) -> bool:
        """False: minitf has no complex tensors, so no lazy conjugation."""
        return False

    def resolve_neg(self): return self
    def resolve_conj(self): return self

    def get_device(self) -> int:
        """-1 on the host, else the GPU's index (0: minitf uses one GPU; the fake device stands for it)."""
        return -1 if self.device == "cpu" else 0

    @property
    def layout(self):
        """``mt.strided``: every minitf tensor is dense, with NumPy/CuPy strides (:mod:`minitf.type_objects`)."""
        from .type_objects import strided
        return strided

    # torch's kinds of tensor minitf has none of: sparse, meta (shapes without data), quantized, nested, MKL-DNN
    is_sparse = property(lambda self: False, doc="False: minitf's tensors are dense (layout ``mt.strided``).")
    is_meta = property(lambda self: False, doc="False: minitf has no meta device (every tensor holds its data).")
    is_quantized = property(lambda self: False, doc="False: minitf has no quantized dtypes.")
    is_nested = property(lambda self: False, doc="False: minitf has no nested (jagged) tensors.")
    is_mkldnn = property(lambda self: False, doc="False: minitf has no MKL-DNN layout.")

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is (torch's): k for output k of a custom Function
        with several outputs, else 0 (a leaf too). Where torch's op makes one node of several outputs
        (``unbind``, ``split``), minitf makes one node per output: 0 for each."""
        if self._fn is None:
            return 0
        from .graph_nodes import _edge
        return _edge(self)[1]

    def as_subclass(self, cls):
        """A ``cls`` instance (``cls`` a subclass of Tensor) sharing this tensor's data and version
        counter, as torch's: in the graph as an alias of this tensor (``AliasBackward0``) when it
        requires grad, so gradients flow back through it; ``cls.__init__`` is not called."""
        from .tensor import Tensor
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not "
                            "possible. Make sure your class inherits from Tensor.")
        alias = self[...] if self._requires_grad else self.detach()   # (x[...]: torch's AliasBackward0)
        out = Tensor.__new__(cls)
        for name in Tensor.__slots__:
            if name != "__weakref__" and hasattr(alias, name):
                setattr(out, name, getattr(alias, name))
        return out

    nbytes = property(lambda self: int(self.data.nbytes), doc="numel() * itemsize, in bytes.")
    itemsize = property(lambda self: int(self.data.itemsize), doc="Bytes per element (element_size()).")

    def dim_order(self, *, ambiguity_check: bool = False) -> tuple:
        """The dims from the outermost in memory (largest stride) to the innermost, as torch:
        ``(0, 1, ..., n-1)`` for a contiguous tensor. Equal strides keep the dims' order;
        ``ambiguity_check=True`` raises where they make the order ambiguous (size-1 dims or equal strides)."""
        strides = self.stride()
        order = tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))
        if ambiguity_check and (len(set(strides)) < len(strides) or 1 in self.shape):
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given "
                               "memory formats.")
        return order

    @property
    def H(self):
        """The conjugate transpose of a matrix (its transpose for a real dtype). x: (m, n) -> (n, m); 0-d as is."""
        if self.ndim not in (0, 2):
            from .errors import DimError
            raise DimError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
        return self.conj() if self.ndim == 0 else self.transpose(0, 1).conj()

    mH = property(lambda self: self.mT.conj(),
                  doc="The last two dims swapped and conjugated (a real dtype: swapped only). x: (..., m, n) -> (..., n, m).")

    def _adjoint(self):
        """``x.adjoint()``: ``x.mH``."""
        return self.mH

    def hardshrink(self, lambd=0.5):
        from .ops.piecewise_activations import hardshrink
        return hardshrink(self, lambd)

    def prelu(self, weight):
        from .ops.piecewise_activations import prelu
        return prelu(self, weight)

    def byte(self): return self.to(dtype="uint8")
    def char(self): return self.to(dtype="int8")
    def short(self): return self.to(dtype="int16")

    def select(self, dim: int, index: int):
        """``x[..., index, ...]`` with ``index`` at ``dim``: one dim fewer (a view). x: (..., n, ...)
        -> (..., ...); index in [-n, n), as torch."""
        from .errors import DimError, IndexRangeError
        from .ops import check_dim
        if self.ndim == 0:
            raise DimError("select() cannot be applied to a 0-dim tensor.")
        d = check_dim("select", dim, self.ndim)
        n = self.shape[d]
        if not -n <= index < n:
            raise IndexRangeError(f"select(): index {index} out of range for tensor of size {list(self.shape)} "
                                  f"at dimension {d}")
        return self[(slice(None),) * d + (int(index),)]

    def sum_to_size(self, *size):
        """Summed down to ``size`` (which must expand to x's shape), as broadcasting's backward.
        x: (..., n, ...) -> size."""
        from .autograd import sum_to
        from .errors import ShapeError
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
        lead = self.ndim - len(size)
        if lead < 0 or any(s not in (1, n) for s, n in zip(size, self.shape[lead:])):
            raise ShapeError(f"sum_to_size: size {list(size)} is not expandable to size {list(self.shape)}")
        return sum_to(self, size)

    def fill_diagonal_(self, fill_value, wrap: bool = False):
        """In place: ``fill_value`` on the main diagonal (x[i, i, ..., i]), as torch; x: (n, m), or
        (n, n, ..., n) for more dims. ``wrap=True`` (a tall matrix): the diagonal starts again every
        m + 1 rows, as NumPy's fill_diagonal. Recorded as ``x[index] = fill_value``."""
        import numpy as np
        from .errors import ShapeError
        from .ops import setitem
        if self.ndim < 2:
            raise ShapeError("fill_diagonal_: dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise ShapeError("fill_diagonal_: all dimensions of input must be of equal length")
        n, m = self.shape[0], self.shape[-1]
        step = sum(int(np.prod(self.shape[k + 1:])) for k in range(self.ndim))   # one step along every dim
        end = self.numel() if wrap or self.ndim > 2 else min(n, m) * m
        index = np.unravel_index(np.arange(0, end, step), self.shape)
        setitem(self, tuple(index), fill_value, "fill_diagonal_")
        return self

    def index_put(self, indices, values, accumulate: bool = False):
        """x with ``values`` written at ``x[indices]`` (a tuple of index tensors, one per leading dim),
        out of place; ``accumulate=True`` adds them (repeated indices add up), as torch."""
        from .ops.index_put_indices import index_put
        return index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate: bool = False):
        """In place: :meth:`index_put` written into x."""
        from .ops.index_put_indices import index_put_
        return index_put_(self, indices, values, accumulate)
