"""``EmbeddingBag``: an embedding table whose lookups are reduced per bag (sum, mean or max), as torch's."""
from __future__ import annotations

from ..ops._util import is_int
from ..ops.nn import _padding_index
from . import init
from .module import Module
from .parameter import empty_parameter


class EmbeddingBag(Module):
    """``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) (the ``padding_idx`` row zero),
    as torch's; ``forward(input, offsets=None, per_sample_weights=None)`` is
    :func:`minitf.functional.embedding_bag`: input (B, N), or (M,) with offsets (B,) -> (B, embedding_dim).

    ``max_norm``, ``scale_grad_by_freq`` and ``sparse=True`` are not supported (an error at forward,
    as the functional's). ``device`` / ``dtype``: where and in what the weight is made (None: the
    default device and dtype; a given ``_weight`` is used as it is).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm=None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False, _weight=None,
                 include_last_offset: bool = False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not is_int(n) or n < 1:
                raise ValueError(f"EmbeddingBag: {name} must be an int >= 1, got {n!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.padding_idx = None if padding_idx is None else _padding_index("EmbeddingBag", padding_idx,
                                                                           self.num_embeddings)
        if _weight is None:
            self.weight = init.normal_(empty_parameter(self.num_embeddings, self.embedding_dim, device=device,
                                                         dtype=dtype))
            if self.padding_idx is not None:
                self.weight.data[self.padding_idx] = 0
        else:
            from .parameter import Parameter
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ValueError("EmbeddingBag: Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight)
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        from ..ops.embedding_bag import embedding_bag
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):   # torch's
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
