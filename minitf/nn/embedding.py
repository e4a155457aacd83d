"""Embedding: a lookup table of learned vectors."""
from __future__ import annotations


from .. import functional as F
from ..ops.nn import _padding_index
from . import init
from .module import Module
from .parameter import Parameter, empty_parameter
from ..ops._util import is_int


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) for every index ``i``.

    idx: (...) integers in [0, num_embeddings) -> (..., embedding_dim).
    Initialised N(0, 1) as PyTorch does. Its parameters count as "embedding"
    parameters in :meth:`Module.num_parameters`.

    ``padding_idx`` (as PyTorch's; negative counts from the end): that row
    starts at zero and receives no gradient, so it stays what it is set to
    (a padding token looks up a constant vector). ``device`` / ``dtype`` (keywords): where and in
    what the weight is made (None: the default device and dtype), as torch's.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *, device=None,
                 dtype=None):
        super().__init__()
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not is_int(n) or n < 1:
                raise ValueError(f"Embedding: {name} must be an int >= 1, got {n!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            padding_idx = _padding_index("Embedding", padding_idx, self.num_embeddings)
        self.padding_idx = padding_idx
        self.weight = init.normal_(empty_parameter(self.num_embeddings, self.embedding_dim,
                                                     device=device, dtype=dtype))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> "Embedding":
        """An Embedding whose weight is ``embeddings`` (num_embeddings, embedding_dim), as torch's:
        the Parameter shares its data (no copy), a ``padding_idx`` row keeps its given values (and
        gets no gradient), ``freeze=True`` makes the weight not require grad. ``max_norm``,
        ``scale_grad_by_freq`` and ``sparse`` are not supported by minitf's Embedding: refused."""
        from ..tensor import Tensor
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding.from_pretrained: max_norm, scale_grad_by_freq and sparse are not "
                                      "supported by minitf's Embedding")
        if not isinstance(embeddings, Tensor):
            raise TypeError(f"Embedding.from_pretrained: embeddings must be a Tensor, got {type(embeddings).__name__}")
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-dimensional "
                             f"(num_embeddings, embedding_dim), got shape {embeddings.shape}")
        rows, cols = embeddings.shape
        emb = cls.__new__(cls)
        Module.__init__(emb)
        emb.num_embeddings, emb.embedding_dim = rows, cols
        emb.padding_idx = None if padding_idx is None else _padding_index("Embedding", padding_idx, rows)
        emb.weight = Parameter(embeddings.detach(), requires_grad=not freeze)
        return emb

    def forward(self, idx):
        return F.embedding(idx, self.weight, padding_idx=self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
