"""Drawing the next token from logits: temperature, top-k, inverse-CDF sampling (not differentiable)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..generator import resolve
from ..tensor import Tensor
from ._util import remember_index_bounds


def sample_logits(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                  generator=None) -> Tensor:
    """One token per row from softmax(logits / temperature), restricted to the ``top_k`` largest.

    logits: (B, V) -> int64 (B,) on the same device. ``temperature=0`` takes
    the argmax. Values tied with the k-th largest are kept. Draws one uniform
    per row from ``generator`` (default: the device's, see ``minitf.manual_seed``)
    and inverts the cumulative distribution, in float64.
    """
    if logits.ndim != 2:
        raise ValueError(f"sample_logits: logits must be (B, V), got shape {logits.shape}")
    if temperature < 0:
        raise ValueError(f"sample_logits: temperature must be >= 0, got {temperature}")
    V = logits.shape[1]
    if top_k is not None and not 1 <= int(top_k):
        raise ValueError(f"sample_logits: top_k must be a positive int, got {top_k}")
    xp = backend.get_array_module(logits.data)
    x = logits.data.astype(np.float64)
    if temperature == 0:
        return _token_ids(x.argmax(axis=-1).astype(np.int64), V)
    x = x / temperature
    if top_k is not None and int(top_k) < V:
        kth = xp.sort(x, axis=-1)[:, V - int(top_k)][:, None]
        x = xp.where(x < kth, -np.inf, x)
    x = x - x.max(axis=-1, keepdims=True)
    cdf = xp.cumsum(xp.exp(x), axis=-1)
    gen = resolve(generator, logits.device, "sample_logits")
    u = gen.random((x.shape[0], 1)) * cdf[:, -1:]
    # the first index whose cdf exceeds u: a zero-probability token is never chosen
    idx = (cdf <= u).sum(axis=-1)
    return _token_ids(xp.minimum(idx, V - 1).astype(np.int64), V)


def _token_ids(ids, V: int) -> Tensor:
    # in [0, V) by construction: a generation loop feeding them back to an embedding then needs
    # no device read for its range check (on a GPU, one synchronisation less per token)
    out = Tensor._make(ids, None)
    # (not on the CPU: its check is as cheap, and a write through .numpy() would bump no version)
    return out if isinstance(ids, np.ndarray) else remember_index_bounds(out, 0, V - 1)
