"""The recurrent cells: one step of an Elman RNN, an LSTM or a GRU (``nn.RNNCell``, ``LSTMCell``,
``GRUCell``, as PyTorch's), and the helpers the sequence layers of :mod:`minitf.nn.recurrent` share
with them (size checks, PyTorch's U(-1/sqrt(H), 1/sqrt(H)) init, the input projection).

Parameter names and shapes follow PyTorch: ``weight_ih`` (G H, in), ``weight_hh`` (G H, H),
``bias_ih``, ``bias_hh`` (G H,), G = 1 (RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n).
Every cell and sequence layer takes torch's ``device`` / ``dtype``: where and in what its
parameters are made (None: the default device and dtype).
"""
from __future__ import annotations

import math

import minitf as _mt

from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import empty_parameter
from ..ops._util import is_int

def detach_state(state):
    """Cut a carried state (a Tensor or a tuple of them) from the graph: truncated BPTT."""
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.detach()
    return tuple(detach_state(s) for s in state)


def _check_size(cls, name, n, low=1):
    if not is_int(n):
        raise TypeError(f"{cls}: {name} must be an int, got {type(n).__name__} {n!r}")
    if n < low:
        raise ValueError(f"{cls}: {name} must be >= {low}, got {n}")
    return int(n)


def _uniform(shape, hidden, device=None, dtype=None):
    bound = 1.0 / math.sqrt(hidden)
    return init.uniform_(empty_parameter(*shape, device=device, dtype=dtype), -bound, bound)


def _state_arg(cls, name, value, hx):
    """The initial state under minitf's own keyword (``name``) or PyTorch's ``hx=``, not both."""
    if hx is None:
        return value
    if value is not None:
        raise TypeError(f"{cls}.forward: got both {name} and hx (PyTorch's name for the same argument)")
    return hx


def _input_projection(x, w_ih, b_ih, b_hh):
    """x W_ih^T + b_ih + b_hh for every position at once. x: (..., in) -> (..., G H)."""
    return F.linear(x, w_ih, None if b_ih is None else b_ih + b_hh)


class RNNCell(Module):
    """One Elman step h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). x: (B, in), h: (B, H) or None
    (zeros; ``hx=``, PyTorch's name, also works); an unbatched x (in,) takes h (H,) and gives (H,).

    ``nonlinearity="relu"`` uses max(0, .) instead of tanh, as PyTorch's.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity, self.bias = nonlinearity, bool(bias)
        G, H = self.gates * self.hidden_size, self.hidden_size
        self.weight_ih = _uniform((G, self.input_size), H, device, dtype)
        self.weight_hh = _uniform((G, H), H, device, dtype)
        for name in ("bias_ih", "bias_hh"):
            if bias:
                setattr(self, name, _uniform((G,), H, device, dtype))
            else:
                self.register_parameter(name, None)

    def _zeros(self, x):
        return _mt.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def _batched(self, x, states):
        """x checked, and x and the given states as 2-D: an unbatched x (in,) and its states (H,)
        get a batch of one (taken off the result again), as PyTorch's cells."""
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: expected input (B, {self.input_size}) or "
                             f"({self.input_size},) unbatched, got {x.shape}")
        if x.ndim == 2:
            return x, states
        for s in states:
            if s is not None and s.ndim != 1:
                raise ValueError(f"{type(self).__name__}: an unbatched input ({self.input_size},) takes a "
                                 f"state ({self.hidden_size},), got {s.shape}")
        return x.reshape(1, x.shape[0]), [None if s is None else s.reshape(1, s.shape[0]) for s in states]

    def forward(self, x, h=None, *, hx=None):
        h = _state_arg(type(self).__name__, "h", h, hx)
        unbatched = x.ndim == 1
        x, (h,) = self._batched(x, [h])
        xw = _input_projection(x, self.weight_ih, self.bias_ih, self.bias_hh)
        out = F.rnn_cell(xw, self._zeros(x) if h is None else h, self.weight_hh, self.nonlinearity)
        return out.reshape(self.hidden_size) if unbatched else out

    def extra_repr(self):   # PyTorch's RNNCellBase.extra_repr: 'RNNCell(3, 4, bias=False, nonlinearity=relu)'
        return "".join([f"{self.input_size}, {self.hidden_size}", "" if self.bias else ", bias=False",
                        "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}"])


class LSTMCell(RNNCell):
    """One LSTM step. x: (B, in); state (or ``hx=``): (h, c), each (B, H), or None (zeros).
    Returns (h', c'); an unbatched x (in,) takes and gives states (H,)."""

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, "tanh", device, dtype)

    def forward(self, x, state=None, *, hx=None):
        state = _state_arg("LSTMCell", "state", state, hx)
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise TypeError("LSTMCell: state must be a pair (h, c)")
        unbatched = x.ndim == 1
        x, state = self._batched(x, [None, None] if state is None else list(state))
        xw = _input_projection(x, self.weight_ih, self.bias_ih, self.bias_hh)
        h, c = (self._zeros(x) if s is None else s for s in state)
        s = F.lstm_cell(xw, F.stack([h, c]), self.weight_hh)
        return (s[0, 0], s[1, 0]) if unbatched else (s[0], s[1])


class GRUCell(RNNCell):
    """One GRU step, as ``torch.nn.GRUCell`` (gates r, z, n; see :func:`minitf.functional.gru_cell`).
    x: (B, in); h (or ``hx=``): (B, H) or None (zeros). Returns h' (B, H); an unbatched x (in,)
    takes h (H,) and gives (H,)."""

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, "tanh", device, dtype)

    def forward(self, x, h=None, *, hx=None):
        h = _state_arg("GRUCell", "h", h, hx)
        unbatched = x.ndim == 1
        x, (h,) = self._batched(x, [h])
        xw = F.linear(x, self.weight_ih, self.bias_ih)     # b_hh stays apart: it sits inside r's product
        out = F.gru_cell(xw, self._zeros(x) if h is None else h, self.weight_hh, self.bias_hh)
        return out.reshape(self.hidden_size) if unbatched else out
