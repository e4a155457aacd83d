"""Embedding: a lookup table of learned vectors."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) for every index ``i``.

    idx: (...) integers in [0, num_embeddings) -> (..., embedding_dim).
    Initialised N(0, 1) as PyTorch does. Its parameters count as "embedding"
    parameters in :meth:`Module.num_parameters`.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.weight = init.normal_(Parameter(np.empty((self.num_embeddings, self.embedding_dim), np.float32)))

    def forward(self, idx):
        return F.embedding(idx, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
