"""``nn.utils.rnn`` as in PyTorch: :func:`pad_sequence`, batching sequences of different lengths.

    x = nn.utils.rnn.pad_sequence([a, b, c], batch_first=True)   # (B, max L, *)

minitf's recurrent layers take padded batches only: PackedSequence (``pack_padded_sequence``)
is not provided.
"""
from __future__ import annotations

from ... import functional as F
from ...tensor import Tensor

__all__ = ["pad_sequence"]


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
