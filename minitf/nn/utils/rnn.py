"""``nn.utils.rnn`` as in PyTorch: batching sequences of different lengths, padded
(:func:`pad_sequence`) or packed (:class:`PackedSequence`, :func:`pack_padded_sequence`,
:func:`pad_packed_sequence`, :func:`pack_sequence`).

    x = nn.utils.rnn.pad_sequence([a, b, c], batch_first=True)        # (B, max L, *)
    packed = nn.utils.rnn.pack_padded_sequence(x, [5, 3, 2], batch_first=True)
    out, h_n = nn.LSTM(C, H, batch_first=True)(packed)                 # out: a PackedSequence
    y, lengths = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)

A packed batch holds only the real steps, time-major: the ``batch_sizes[t]`` sequences still
running at step t (the longest first) are rows ``sum(batch_sizes[:t])`` on of ``data``.
Packing and unpacking are one gather each (indices made on the host from the lengths), so they
are differentiable and make no Python loop over the batch.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import functional as F
from ... import ops as _ops
from ...errors import ArgumentError, ShapeError
from ...tensor import Tensor

__all__ = ["pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "invert_permutation", "unpad_sequence", "unpack_sequence"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into one, padded with ``padding_value`` to the longest L:
    (max L, B, *), or (B, max L, *) with ``batch_first``; ``padding_side="left"`` pads before the
    values. Differentiable in every sequence (the padding gets no gradient), as torch's."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.ndim < 1:
            raise TypeError(f"pad_sequence: sequence {i} must be a Tensor of shape (L, *), got "
                            f"{type(s).__name__ if not isinstance(s, Tensor) else f'shape {s.shape}'}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        short = longest - s.shape[0]
        if short:
            # F.pad's pairs run from the last dim: (0, 0) for each trailing dim, then dim 0's
            before, after = (short, 0) if padding_side == "left" else (0, short)
            s = F.pad(s, (0, 0) * (s.ndim - 1) + (before, after), value=padding_value)
        padded.append(s)
    return F.stack(padded, 0 if batch_first else 1)


# ---------------------------------------------------------------- packed sequences
class PackedSequence(NamedTuple):
    """A batch of sequences of different lengths, packed (``torch.nn.utils.rnn.PackedSequence``).

    data: (N, *), N the sum of the lengths: step 0 of every sequence, then step 1 of those
    longer than 1, ... (each step's sequences longest first); batch_sizes: (T,) int64 on the
    CPU, the number of sequences at each step; sorted_indices: (B,) int64, the original batch
    index of each sorted sequence (None when the batch came sorted); unsorted_indices: its
    inverse. Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`.
    """
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> "PackedSequence":
        """``data.to(...)``; the indices follow to its device, ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        idx = [None if i is None else i.to(data.device) for i in (self.sorted_indices, self.unsorted_indices)]
        return PackedSequence(data, self.batch_sizes, *idx)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation):
    """The inverse of a permutation (a (B,) int64 Tensor), or None for None."""
    if permutation is None:
        return None
    from ... import creation
    inv = np.empty(permutation.shape[0], dtype=np.int64)
    inv[_host(permutation)] = np.arange(permutation.shape[0])
    return creation.tensor(inv, device=permutation.device)


def _lengths(lengths, batch: int, longest: int) -> np.ndarray:
    """``lengths`` (a sequence of ints or a 1-D integer Tensor) as a host int64 array, checked."""
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
            raise ArgumentError(f"pack_padded_sequence: 'lengths' must be a 1-D integer tensor (or a list of "
                                f"ints), got {lengths.ndim}-D {lengths.dtype}")
        arr = _host(lengths)
    else:
        arr = np.asarray(list(lengths))
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ArgumentError(f"pack_padded_sequence: 'lengths' must be a 1-D list of ints (or an integer "
                                f"tensor), got {arr.tolist()!r}")
        arr = arr.astype(np.int64)
    if arr.shape[0] != batch:
        raise ArgumentError(f"Expected `len(lengths)` to be equal to batch_size, but got {arr.shape[0]} "
                            f"(batch_size={batch})")
    if arr.size and arr.min() <= 0:
        raise ArgumentError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                            "that is <= 0")
    if arr.size and arr.max() > longest:
        raise ArgumentError(f"pack_padded_sequence: a length of {int(arr.max())} is past the padded sequences' "
                            f"length, {longest}")
    return arr


def _host(t: Tensor) -> np.ndarray:
    """A small index tensor (lengths, batch sizes, a permutation) as a host int64 array."""
    from ... import backend
    return backend.to_numpy(t.data).astype(np.int64)


def _index(values: np.ndarray, like: Tensor) -> Tensor:
    from ... import creation
    return creation.tensor(values.astype(np.int64), device=like.device)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (``torch.nn.utils.rnn.pack_padded_sequence``).

    input: (T, B, *), or (B, T, *) with ``batch_first``; lengths: (B,) ints (a list or an integer
    Tensor), each in [1, T]. With ``enforce_sorted`` (the default) they must be decreasing; else
    the batch is sorted here and ``sorted_indices`` records how. Differentiable in ``input``.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: input must be a Tensor (T, B, *) or (B, T, *), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    lens = _lengths(lengths, B, T)
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise ArgumentError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                                "sidestep this requirement if you do not need ONNX exportability.")
        order, sorted_indices = np.arange(B), None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = _index(order, input)
    slens = lens[order]
    batch_sizes = (slens[None, :] > np.arange(int(slens[0]) if B else 0)[:, None]).sum(axis=1)
    # row t * B + order[j] of the time-major (T B, *) view, for each step t and running sequence j
    t_idx = np.repeat(np.arange(batch_sizes.shape[0]), batch_sizes)
    j_idx = np.concatenate([np.arange(n) for n in batch_sizes]) if B else np.zeros(0, np.int64)
    x = input.permute(1, 0, *range(2, input.ndim)) if batch_first else input
    flat = x.reshape(T * B, *x.shape[2:])
    data = _ops.index_select(flat, 0, _index(t_idx * B + order[j_idx], input))
    from ... import creation
    return PackedSequence(data, creation.tensor(batch_sizes.astype(np.int64)), sorted_indices,
                          invert_permutation(sorted_indices))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None):
    """Unpack (``torch.nn.utils.rnn.pad_packed_sequence``): (padded, lengths).

    padded: (T, B, *), or (B, T, *) with ``batch_first``, in the batch's original order, T the
    longest length or ``total_length``; lengths: (B,) int64 on the CPU. Differentiable in
    ``sequence.data`` (the padding gets no gradient).
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, sizes = sequence.data, _host(sequence.batch_sizes)
    T, B = int(sizes.shape[0]), int(sizes[0]) if sizes.size else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
        T_out = int(total_length)
    else:
        T_out = T
    slens = (sizes[None, :] > np.arange(B)[:, None]).sum(axis=1)          # sorted sequences' lengths
    order = np.arange(B) if sequence.sorted_indices is None else _host(sequence.sorted_indices)
    # each (t, original b) position: its row in data, or N (the padding row appended below)
    N = data.shape[0]
    where = np.full((T_out, B), N, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    tt, jj = np.nonzero(np.arange(B)[None, :] < sizes[:, None])       # (step, sorted position), in data's order
    where[tt, order[jj]] = offsets[tt] + jj
    from ... import creation
    pad = creation.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = _ops.index_select(F.cat([data, pad], 0), 0, _index(where.reshape(-1), data))
    padded = padded.reshape(T_out, B, *data.shape[1:])
    if batch_first:
        padded = padded.permute(1, 0, *range(2, padded.ndim))
    lengths = np.empty(B, dtype=np.int64)
    lengths[order] = slens
    return padded, creation.tensor(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack tensors of shapes (L_i, *) (``torch.nn.utils.rnn.pack_sequence``): decreasing lengths
    unless ``enforce_sorted=False``."""
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, as ``torch.nn.utils.rnn.unpad_sequence``: padded (T, B, *)
    (``batch_first``: (B, T, *)) and ``lengths`` (B,) -> a list of B tensors (L_i, *), slices of
    the batch (differentiable). Unlike torch's, the input is not transposed in place."""
    if not isinstance(padded_sequences, Tensor) or padded_sequences.ndim < 2:
        raise ShapeError("unpad_sequence: padded_sequences must be a Tensor (T, B, *) or (B, T, *)")
    longest = padded_sequences.shape[1 if batch_first else 0]
    batch = padded_sequences.shape[0 if batch_first else 1]
    arr = _lengths(lengths, batch, longest)
    if batch_first:
        return [padded_sequences[b, :int(n)] for b, n in enumerate(arr)]
    return [padded_sequences[:int(n), b] for b, n in enumerate(arr)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The sequences of a PackedSequence, in their original order, as
    ``torch.nn.utils.rnn.unpack_sequence``: a list of B tensors (L_i, *)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
