"""``LinearCrossEntropyOptions``: how :func:`~minitf.functional.linear_cross_entropy` chunks its rows.

Passing an instance (rather than ``options=None``) selects the chunked op: the N rows of
the input are processed ``batch_chunk_size`` at a time, so that only a (chunk, C) block
of logits exists at once, never the whole (N, C). The fields and their checks are
torch 2.13's; how the chunk size follows from them:

- ``batch_chunk_size`` given: that many rows (at most N);
- ``chunking_method="aspect_ratio"``: the chunk whose (chunk, C) logits take about the
  memory of the (N, in_features) input, rounded up to a power of two; ``"aspect_ratio:k"``
  divides that by k (torch's rule);
- ``"auto"``: ``"aspect_ratio:2"`` (torch's pick outside its per-device table, which lists
  only float16/bfloat16), but at least 64 rows (or N): every chunk adds a (C, in_features)
  product into the weight's gradient, and with GPT-2's vocabulary the aspect rule gives
  one row per chunk, 10x slower than the unchunked head on the CPU, where 64 rows were
  faster than it (benchmarks/linear_cross_entropy.py; docs/performance.md).

``acc_policy`` is accepted and checked as torch's; minitf's chunked op has one policy (it
computes each chunk in ``acc_dtype``, or the input's dtype, and accumulates the weight's
gradient across chunks in that dtype). ``allow_retain_graph`` is torch's: with a 'mean' or
'sum' reduction the backward scales the gradients the forward made in place, so a second
backward (``retain_graph=True``) raises RuntimeError unless it is True (then it scales
copies: one more gradient-sized allocation); 'none' recomputes and allows it always.
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["LinearCrossEntropyOptions"]

_POLICIES = ("accurate", "balanced", "compact", "auto")
_AUTO_METHOD = "aspect_ratio:2"
_AUTO_MIN_ROWS = 64   # "auto"'s floor on the CPU-measured cost of many small chunks (module docstring)


def _method_factor(method: str) -> int | None:
    """The k of "aspect_ratio[:k]" (1 without a suffix), or None for anything else."""
    name, sep, k = method.partition(":")
    if name != "aspect_ratio":
        return None
    if not sep:
        return 1
    return int(k) if k.isdigit() and int(k) > 0 else None


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Chunking settings of :func:`~minitf.functional.linear_cross_entropy` (torch 2.13's fields).

    allow_retain_graph: bool; batch_chunk_size: rows per chunk (a positive int) or None;
    chunking_method: "auto", "aspect_ratio", "aspect_ratio:k" (k >= 1) or None (then
    batch_chunk_size, or one chunk of all N rows); acc_policy: "auto", "accurate",
    "balanced" or "compact"; acc_dtype: a floating dtype to compute the chunks in, or None
    (the input's). Invalid values raise ValueError; a ``batch_chunk_size`` that disagrees
    with an explicit ``chunking_method`` raises ValueError when the op resolves them.
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"LinearCrossEntropyOptions: invalid acc_policy: {self.acc_policy!r}")
        m = self.chunking_method
        if m is not None and m != "auto" and (not isinstance(m, str) or _method_factor(m) is None):
            raise ValueError(f"LinearCrossEntropyOptions: invalid chunking_method: {m!r}")
        n = self.batch_chunk_size
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0):
            raise ValueError(f"LinearCrossEntropyOptions: batch_chunk_size must be positive int or None, got {n!r}")
        if self.acc_dtype is not None:
            from ..tensor import _check_dtype
            try:
                kind = _check_dtype(self.acc_dtype).kind
            except (TypeError, ValueError):   # not a dtype, or one minitf has no arrays of (bfloat16)
                kind = None
            if kind != "f":
                raise ValueError(f"LinearCrossEntropyOptions: acc_dtype must be None or a floating dtype "
                                 f"(float16, float32, float64), got {self.acc_dtype!r}")

    def chunk_rows(self, num_rows: int, in_features: int, num_classes: int) -> int:
        """The rows per chunk for an (num_rows, in_features) input and num_classes logits per row."""
        method = self.chunking_method
        if method == "auto":
            if self.batch_chunk_size is not None:
                method = None
            else:
                return max(min(_AUTO_MIN_ROWS, num_rows), self.chunk_rows_by(_AUTO_METHOD, num_rows, in_features,
                                                                          num_classes))
        if method is None:
            return max(1, min(self.batch_chunk_size or num_rows, num_rows))
        rows = self.chunk_rows_by(method, num_rows, in_features, num_classes)
        if self.batch_chunk_size is not None and self.batch_chunk_size != rows:
            raise ValueError(f"linear_cross_entropy: batch_chunk_size (={self.batch_chunk_size}) and "
                             f"chunking_method ({method!r}) give different chunk sizes "
                             f"({self.batch_chunk_size} vs {rows}); pass only one")
        return rows

    @staticmethod
    def chunk_rows_by(method: str, num_rows: int, in_features: int, num_classes: int) -> int:
        """torch's "aspect_ratio[:k]" rule: the rows per chunk (at least 1, at most num_rows)."""
        # rows whose logits match the input in size, rounded up to a power of two, divided by k
        per_row = -(-num_classes // max(in_features, 1))
        target = -(-num_rows // per_row)
        return max(1, min((1 << (target - 1).bit_length()) // _method_factor(method), num_rows))
