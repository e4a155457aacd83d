"""The recurrent baseline: Elman RNN and LSTM cells and multi-layer sequence layers.

Each layer first projects the whole input sequence in one GEMM (it does not
depend on the state), then runs the recurrence one step at a time
(:func:`minitf.functional.rnn_sequence` / ``lstm_sequence``): step t needs
h_{t-1}, so T steps take T sequential rounds however wide the machine is.
Parameter names and shapes follow PyTorch: ``weight_ih_l{k}`` (G H, in),
``weight_hh_l{k}`` (G H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G H,), with
G = 1 (RNN) or 4 (LSTM, gates i, f, g, o); initialised U(-1/sqrt(H), 1/sqrt(H)).
As in PyTorch, sequences are time-major, (T, B, C), unless ``batch_first=True``.
"""
from __future__ import annotations

import math

import numpy as np

import minitf as _mt

from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def detach_state(state):
    """Cut a carried state (a Tensor or a tuple of them) from the graph: truncated BPTT."""
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.detach()
    return tuple(detach_state(s) for s in state)


def _uniform(shape, hidden):
    bound = 1.0 / math.sqrt(hidden)
    return init.uniform_(Parameter(np.empty(shape, np.float32)), -bound, bound)


def _input_projection(x, w_ih, b_ih, b_hh):
    """x W_ih^T + b_ih + b_hh for every position at once. x: (..., in) -> (..., G H)."""
    return F.linear(x, w_ih, None if b_ih is None else b_ih + b_hh)


class RNNCell(Module):
    """One Elman step h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). x: (B, in), h: (B, H) or None."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        G, H = self.gates * self.hidden_size, self.hidden_size
        self.weight_ih = _uniform((G, self.input_size), H)
        self.weight_hh = _uniform((G, H), H)
        for name in ("bias_ih", "bias_hh"):
            if bias:
                setattr(self, name, _uniform((G,), H))
            else:
                self.register_parameter(name, None)

    def _zeros(self, x):
        return _mt.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def _check(self, x):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: expected input (B, {self.input_size}), got {x.shape}")

    def forward(self, x, h=None):
        self._check(x)
        xw = _input_projection(x, self.weight_ih, self.bias_ih, self.bias_hh)
        return F.rnn_cell(xw, self._zeros(x) if h is None else h, self.weight_hh)


class LSTMCell(RNNCell):
    """One LSTM step. x: (B, in); state: (h, c), each (B, H), or None. Returns (h', c')."""

    gates = 4

    def forward(self, x, state=None):
        self._check(x)
        xw = _input_projection(x, self.weight_ih, self.bias_ih, self.bias_hh)
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        s = F.lstm_cell(xw, F.stack([h, c]), self.weight_hh)
        return s[0], s[1]


class RNN(Module):
    """A multi-layer Elman RNN (tanh) over a sequence, backpropagated through time.

    x: (T, B, input_size), or (B, T, input_size) with ``batch_first=True``
    (the default is False, as in PyTorch); h0: (num_layers, B, H) or None
    (zeros), whatever the layout. Returns (output (T, B, H) or (B, T, H), h_n
    (num_layers, B, H)); pass h_n (detached, see :func:`detach_state`) as the
    next chunk's h0 to carry the state across chunks. ``dropout`` applies to
    the outputs of every layer but the last, in training.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__}: num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        G, H = self.gates * self.hidden_size, self.hidden_size
        for k in range(self.num_layers):
            setattr(self, f"weight_ih_l{k}", _uniform((G, self.input_size if k == 0 else H), H))
            setattr(self, f"weight_hh_l{k}", _uniform((G, H), H))
            for name in (f"bias_ih_l{k}", f"bias_hh_l{k}"):
                if bias:
                    setattr(self, name, _uniform((G,), H))
                else:
                    self.register_parameter(name, None)

    def _layer_params(self, k):
        d = self.__dict__
        return d[f"weight_ih_l{k}"], d[f"weight_hh_l{k}"], d[f"bias_ih_l{k}"], d[f"bias_hh_l{k}"]

    def _check(self, x):
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            layout = "(B, T, C)" if self.batch_first else "(T, B, C)"
            raise ValueError(f"{type(self).__name__}: expected input {layout} with C={self.input_size}, "
                             f"got shape {x.shape}")

    def _check_state(self, name, s, B):
        want = (self.num_layers, B, self.hidden_size)
        if s.shape != want:
            raise ValueError(f"{type(self).__name__}: {name} must have shape (num_layers, B, H) = {want}, "
                             f"got {s.shape}")

    def _run_layers(self, x, initial, sequence):
        """Layer by layer: project the whole input, then the sequential recurrence."""
        finals = []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_params(k)
            x, s = sequence(_input_projection(x, w_ih, b_ih, b_hh), None if initial is None else initial[k], w_hh)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
            finals.append(s)
        return x, finals

    def forward(self, x, h0=None):
        self._check(x)
        if not self.batch_first:
            x = x.permute(1, 0, 2)
        if h0 is not None:
            self._check_state("h0", h0, x.shape[0])
        out, finals = self._run_layers(x, h0, F.rnn_sequence)
        return (out if self.batch_first else out.permute(1, 0, 2)), F.stack(finals, axis=0)


class LSTM(RNN):
    """A multi-layer LSTM over a sequence, backpropagated through time.

    x: (T, B, input_size), or (B, T, input_size) with ``batch_first=True``
    (default False, as in PyTorch); state: (h0, c0), each (num_layers, B, H),
    or None (zeros). Returns (output (T, B, H) or (B, T, H), (h_n, c_n)).
    """

    gates = 4

    def forward(self, x, state=None):
        self._check(x)
        if not self.batch_first:
            x = x.permute(1, 0, 2)
        initial = None
        if state is not None:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError("LSTM: state must be a pair (h0, c0)")
            for name, s in zip(("h0", "c0"), state):
                self._check_state(name, s, x.shape[0])
            hc = F.stack(list(state), axis=1)                  # (L, 2, B, H): layer k's [h; c] is hc[k]
            initial = hc
        out, finals = self._run_layers(x, initial, F.lstm_sequence)
        hc = F.stack(finals, axis=1)                           # (2, L, B, H)
        return (out if self.batch_first else out.permute(1, 0, 2)), (hc[0], hc[1])
