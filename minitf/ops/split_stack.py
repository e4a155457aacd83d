"""torch's splitting and stacking helpers beyond cat/stack/split: tensor_split, hsplit,
vsplit, dsplit, dstack, column_stack, row_stack, atleast_1d/2d/3d, block_diag. Each is
composed of differentiable ops (getitem views, reshape, cat, pad), so gradients flow."""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DtypeError, ShapeError
from ..tensor import Tensor
from ._util import check_dim


def _sections_or_indices(name, spec):
    """An int (sections) or a list of ints (indices) from an int, a sequence, or an integer
    tensor (0-d: sections, 1-d: indices), as torch.tensor_split takes them."""
    if isinstance(spec, Tensor):
        if spec.dtype.kind not in "iu":
            raise DtypeError(f"{name}: indices_or_sections must be an integer tensor, got dtype {spec.dtype}")
        if spec.ndim > 1:
            raise ArgumentError(f"{name}: indices_or_sections must be a 0-d or 1-d tensor, got shape {spec.shape}")
        host = spec.detach().cpu().numpy()
        return int(host) if spec.ndim == 0 else [int(v) for v in host]
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return int(spec)
    if isinstance(spec, (list, tuple)) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                for v in spec):
        return [int(v) for v in spec]
    raise TypeError(f"{name}: indices_or_sections must be an int, a sequence of ints or an integer tensor, "
                    f"got {type(spec).__name__}")


def _pieces(x: Tensor, d: int, bounds):
    """The views of x between consecutive ``bounds`` along dim d (Python slice clamping)."""
    lead = (slice(None),) * d
    return tuple(x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:]))


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0):
    """Views of ``input`` along ``dim``, as torch.tensor_split: an int n gives n pieces, the
    first ``size % n`` one longer; a list of indices cuts before each (clamped, as slicing,
    so pieces may be empty). input: (..., d, ...) -> a tuple of (..., d_i, ...)."""
    if input.ndim == 0:
        raise ShapeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = check_dim("tensor_split", dim, input.ndim)
    n = input.shape[d]
    spec = _sections_or_indices("tensor_split", indices_or_sections)
    if isinstance(spec, int):
        if spec <= 0:
            raise ArgumentError(f"number of sections must be larger than 0, got {spec}")
        q, r = divmod(n, spec)
        sizes = [q + 1] * r + [q] * (spec - r)
        bounds = [0] + np.cumsum(sizes).tolist()
    else:
        bounds = [0] + spec + [None]   # piece i is x[idx[i-1]:idx[i]], Python's slice (negative, clamped, empty)
    return _pieces(input, d, bounds)


def _directional_split(name, input, spec, dim, min_dims):
    if input.ndim < min_dims:
        raise ShapeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                         f"with {input.ndim} dimensions!")
    spec = _sections_or_indices(name, spec)
    if isinstance(spec, int) and (spec == 0 or input.shape[dim] % spec):
        raise ArgumentError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                            f"dimension {input.shape[dim]} is not divisible by the split_size {spec}!")
    return tensor_split(input, spec, dim)


def hsplit(input: Tensor, indices_or_sections):
    """tensor_split along dim 1 (dim 0 of a 1-D tensor); an int must divide the size, as torch.hsplit."""
    return _directional_split("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input: Tensor, indices_or_sections):
    """tensor_split along dim 0 of a tensor of at least 2 dims, as torch.vsplit."""
    return _directional_split("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections):
    """tensor_split along dim 2 of a tensor of at least 3 dims, as torch.dsplit."""
    return _directional_split("dsplit", input, indices_or_sections, 2, 3)


def _atleast(name, shape_of, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_atleast(name, shape_of, (t,)) for t in tensors[0])
    out = tuple(t if shape_of(t) == t.shape else t.reshape(shape_of(t)) for t in tensors)
    return out[0] if len(tensors) == 1 else out


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d -> (1,)); one tensor in, one out, else a tuple, as torch."""
    return _atleast("atleast_1d", lambda t: t.shape if t.ndim >= 1 else (1,), tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: 0-d -> (1, 1), (n,) -> (1, n), as torch.atleast_2d."""
    return _atleast("atleast_2d", lambda t: {0: (1, 1), 1: (1,) + t.shape}.get(t.ndim, t.shape), tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: 0-d -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1),
    as torch.atleast_3d."""
    def shape_of(t):
        return {0: (1, 1, 1), 1: (1,) + t.shape + (1,), 2: t.shape + (1,)}.get(t.ndim, t.shape)
    return _atleast("atleast_3d", shape_of, tensors)


def dstack(tensors) -> Tensor:
    """Join along dim 2 after atleast_3d, as torch.dstack: k tensors (m, n) -> (m, n, k)."""
    from .joining import concatenate
    return concatenate([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors) -> Tensor:
    """0-d and 1-d tensors made columns (n, 1), then joined along dim 1, as torch.column_stack."""
    from .joining import concatenate
    return concatenate([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1)


def row_stack(tensors) -> Tensor:
    """``vstack``, torch's alias."""
    from .more_shapes import vstack
    return vstack(tensors)


def block_diag(*tensors) -> Tensor:
    """The tensors on the diagonal of a block matrix, zeros elsewhere, as torch.block_diag:
    0-d -> (1, 1), (n,) -> (1, n), (r_i, c_i) blocks -> (sum r_i, sum c_i), the dtypes promoted.
    No tensor: a (1, 0) float tensor, as torch's. Differentiable (each block padded with zeros)."""
    from ..creation import zeros
    from .casting import astype
    from .joining import concatenate
    from .padding import pad
    from .promotion import result_type
    from ._util import check_same_device
    if not tensors:
        return zeros((1, 0))
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise ShapeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                             f"{t.ndim} dimensions")
    check_same_device("block_diag", tensors)
    blocks = [t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t for t in tensors]
    # torch's result_type over the inputs: a 0-d block's dtype counts only if of a higher
    # category (int32 with a 0-d int64 is int32), as in elementwise ops
    dtype = result_type(*tensors)
    blocks = [b if b.dtype == dtype else astype(b, dtype) for b in blocks]
    cols = [b.shape[1] for b in blocks]
    total, before, rows = sum(cols), 0, []
    for b, c in zip(blocks, cols):
        rows.append(pad(b, (before, total - before - c)))   # zeros left and right of the block
        before += c
    from ..grad_fn_names import named
    return named(concatenate(rows, 0), "BlockDiagBackward0", *tensors)
