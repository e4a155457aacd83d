"""The recurrent layers over a :class:`~minitf.nn.utils.rnn.PackedSequence`, as PyTorch's.

Each layer and direction projects the packed data in one GEMM, (N, C) -> (N, G H), then runs
the recurrence one step at a time over the shrinking batch, as PyTorch does: the sequences are
sorted longest first, so at step t the ``batch_sizes[t]`` still running are the first rows of
the state, and the step's input rows are the next ``batch_sizes[t]`` rows of the projection.

- Forward: when the batch shrinks, the rows of the sequences that just ended are set aside as
  their final state (their true last step) and the rest goes on; the finals are joined at the end.
- Reverse: a sequence starts at its own last step, from its initial state: the running rows grow
  as t falls, each new row taken from the initial state.

The outputs of step t are that step's rows of the output's packed data, so the output is packed
as the input was. A step is one cell op (:func:`minitf.functional.rnn_cell`, ``lstm_cell``,
``gru_cell``) on the running rows: no Python loop over batch elements, and the padding is never
computed.
"""
from __future__ import annotations

import numpy as np

import minitf as _mt

from .. import backend
from .. import functional as F
from .. import ops as _ops
from .utils.rnn import PackedSequence

__all__ = ["packed_forward"]


def _rows(s, a: int, b: int):
    """Rows a:b of a state's batch axis: (B, H), or (2, B, H) for the LSTM's [h; c]."""
    return s[a:b] if s.ndim == 2 else s[:, a:b]


def _direction(module, xw, s0, w_hh, b_hh, sizes, offsets, reverse: bool):
    """One direction of one layer: (outputs (N, H) in packed order, final state, batch as s0)."""
    T, ax = len(sizes), s0.ndim - 2
    outs = [None] * T
    if not reverse:
        s, ended = s0, []
        for t in range(T):
            n = sizes[t]
            if n < s.shape[ax]:   # sequences that ended at t - 1: that is their final state
                ended.append(_rows(s, n, s.shape[ax]))
                s = _rows(s, 0, n)
            s = module._step(xw[offsets[t]:offsets[t] + n], s, w_hh, b_hh)
            outs[t] = s if ax == 0 else s[0]
        ended.append(s)
        final = ended[0] if len(ended) == 1 else F.cat(ended[::-1], axis=ax)
    else:
        s = _rows(s0, 0, sizes[T - 1])
        for t in range(T - 1, -1, -1):
            n = sizes[t]
            if n > s.shape[ax]:   # sequences whose last step is t start here, from their initial state
                s = F.cat([s, _rows(s0, s.shape[ax], n)], axis=ax)
            s = module._step(xw[offsets[t]:offsets[t] + n], s, w_hh, b_hh)
            outs[t] = s if ax == 0 else s[0]
        final = s
    return F.cat(outs, 0), final


def _run(module, packed, initial):
    """Every layer over the packed data; ``initial``: None or (L D, *state) in sorted batch order."""
    sizes = [int(n) for n in backend.to_numpy(packed.batch_sizes.data)]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    x, B, H = packed.data, sizes[0], module.hidden_size
    if x.ndim != 2 or x.shape[1] != module.input_size:
        raise ValueError(f"{type(module).__name__}: expected packed data (N, {module.input_size}), got {x.shape}")
    state_shape = (B, H) if module.gates != 4 else (2, B, H)

    def direction(projected, s0, w_hh, b_hh, reverse):   # one direction of one layer, over the packed steps
        s0 = _mt.zeros(*state_shape, dtype=x.dtype, device=x.device) if s0 is None else s0
        return _direction(module, projected, s0, w_hh, b_hh, sizes, offsets, reverse=reverse)
    return module._run_layers(x, initial, direction)


def packed_forward(module, packed: PackedSequence, state):
    """``module(packed, state)`` for an RNN, GRU (state: h0 (L D, B, H) or None) or LSTM (state:
    (h0, c0) or None): (output PackedSequence (N, D H), h_n or (h_n, c_n), in the original batch
    order, each sequence's at its true last step)."""
    B = int(backend.to_numpy(packed.batch_sizes.data)[0])
    sort, unsort = packed.sorted_indices, packed.unsorted_indices
    lstm = module.gates == 4
    initial = None
    if state is not None:
        if lstm:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError("LSTM: state must be a pair (h0, c0)")
            initial = F.stack([module._check_state(n, s, B, False) for n, s in zip(("h0", "c0"), state)], axis=1)
        else:
            initial = module._check_state("h0", state, B, False)
        if sort is not None:   # the state is given in the batch's order, the run is in the sorted one
            initial = _ops.index_select(initial, initial.ndim - 2, sort)
    out, finals = _run(module, packed, initial)
    h = F.stack(finals, axis=1 if lstm else 0)   # (2, L D, B, H) or (L D, B, H)
    if unsort is not None:
        h = _ops.index_select(h, h.ndim - 2, unsort)
    result = PackedSequence(out, packed.batch_sizes, sort, unsort)
    return result, ((h[0], h[1]) if lstm else h)
