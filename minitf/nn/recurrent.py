"""The recurrent baseline: multi-layer Elman RNN, LSTM and GRU sequence layers (the cells: rnn_cells).

Each layer first projects the whole input sequence in one GEMM (it does not
depend on the state), then runs the recurrence one step at a time
(:func:`minitf.functional.rnn_sequence` / ``lstm_sequence``): step t needs
h_{t-1}, so T steps take T sequential rounds however wide the machine is.
Parameter names and shapes follow PyTorch: ``weight_ih_l{k}`` (G H, in),
``weight_hh_l{k}`` (G H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G H,), with
G = 1 (RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n); initialised
U(-1/sqrt(H), 1/sqrt(H)).
As in PyTorch, sequences are time-major, (T, B, C), unless ``batch_first=True``;
a 2-D input (T, C) is one unbatched sequence. ``bidirectional=True`` adds a
second set of weights per layer (``weight_ih_l{k}_reverse``, ...) that reads
the sequence from the end; both directions' outputs are concatenated, (..., 2 H).
A :class:`~minitf.nn.utils.rnn.PackedSequence` input gives a packed output and the final
states at each sequence's own last step, as PyTorch's (:mod:`minitf.nn.packed_rnn`).
"""
from __future__ import annotations

import warnings

import minitf as _mt

from .. import functional as F
from ..errors import ShapeError
from .module import Module
from .utils.rnn import PackedSequence
from ..ops._util import is_int
from .rnn_cells import (RNNCell, LSTMCell, GRUCell, detach_state,  # noqa: F401  (this module's names before)
                        _check_size, _input_projection, _state_arg, _uniform)


class RNN(Module):
    """A multi-layer Elman RNN (tanh or relu) over a sequence, backpropagated through time.

    x: (T, B, input_size), or (B, T, input_size) with ``batch_first=True``
    (the default is False, as in PyTorch), or (T, input_size) unbatched;
    h0 (or ``hx=``, PyTorch's name): (num_layers * D, B, H), unbatched (num_layers * D, H), or None
    (zeros), whatever the layout, with D = 2 if ``bidirectional`` else 1.
    Returns (output (T, B, D H) or (B, T, D H) or (T, D H), h_n shaped as
    h0); pass h_n (detached, see :func:`detach_state`) as the next chunk's h0
    to carry the state across chunks. ``dropout`` applies to the outputs of
    every layer but the last, in training. Arguments in PyTorch's order; ``device`` / ``dtype``:
    where and in what the parameters are made (None: the default device and dtype).
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 _proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.num_layers = _check_size(name, "num_layers", num_layers)
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout}")
        if dropout > 0 and num_layers == 1:   # PyTorch's warning, word for word
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=2 if type(self) is RNN else 3)
        self.nonlinearity = nonlinearity
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = _proj_size   # the LSTM's h size when projected (checked there), else 0
        D = 2 if self.bidirectional else 1
        G, H = self.gates * self.hidden_size, self.hidden_size
        R = self.proj_size or H       # the size of h, which the next step and the next layer read
        for k in range(self.num_layers):
            for sfx in ("", "_reverse")[:D]:
                setattr(self, f"weight_ih_l{k}{sfx}", _uniform((G, self.input_size if k == 0 else D * R), H,
                                                               device, dtype))
                setattr(self, f"weight_hh_l{k}{sfx}", _uniform((G, R), H, device, dtype))
                for pname in (f"bias_ih_l{k}{sfx}", f"bias_hh_l{k}{sfx}"):
                    if bias:
                        setattr(self, pname, _uniform((G,), H, device, dtype))
                    else:
                        self.register_parameter(pname, None)
                if self.proj_size:   # after the biases, as in torch's parameter order
                    setattr(self, f"weight_hr_l{k}{sfx}", _uniform((self.proj_size, H), H, device, dtype))

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _layer_params(self, k, sfx=""):
        d = self.__dict__
        return d[f"weight_ih_l{k}{sfx}"], d[f"weight_hh_l{k}{sfx}"], d[f"bias_ih_l{k}{sfx}"], d[f"bias_hh_l{k}{sfx}"]

    def _batch_major(self, x):
        """x as (B, T, C), checked."""
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(B, T, C)" if self.batch_first else "(T, B, C)"
            raise ValueError(f"{type(self).__name__}: expected input {layout} with C={self.input_size} "
                             f"(or (T, C) unbatched), got shape {x.shape}")
        if x.ndim == 2:
            return x.reshape(1, *x.shape)
        return x if self.batch_first else x.permute(1, 0, 2)

    def _check_state(self, name, s, B, unbatched, size=None):
        """A given state as (num_layers * D, B, size), size H unless given (the projected h's P)."""
        L = self.num_layers * self.num_directions
        rows = "num_layers" if self.num_directions == 1 else "num_layers * 2"
        size, letter = (self.hidden_size, "H") if size is None else (size, "proj_size")
        want, text = ((L, size), f"({rows}, {letter})") if unbatched else \
            ((L, B, size), f"({rows}, B, {letter})")
        if s.shape != want:
            raise ShapeError(f"{type(self).__name__}: {name} must have shape {text} = {want}"
                             f"{' for unbatched input' if unbatched else ''}, got {s.shape}")
        return s.reshape(L, 1, size) if unbatched else s

    def _project(self, x, w_ih, b_ih, b_hh):
        return _input_projection(x, w_ih, b_ih, b_hh)

    def _sequence(self, xw, s0, w_hh, b_hh, reverse):
        return F.rnn_sequence(xw, s0, w_hh, self.nonlinearity, reverse=reverse)

    def _step(self, xw, s, w_hh, b_hh):
        """One step of the running rows of a packed batch (:mod:`minitf.nn.packed_rnn`)."""
        return F.rnn_cell(xw, s, w_hh, self.nonlinearity)

    def _run_layers(self, x, initial, direction=None):
        """Layer by layer (each direction: project the whole input, then the sequential recurrence
        ``direction(projected, state0 or None, w_hh, b_hh, reverse)``: ``self._sequence``, or
        packed_rnn's over packed steps)."""
        direction = direction or self._sequence
        finals, D = [], self.num_directions
        for k in range(self.num_layers):
            outs = []
            for d, sfx in enumerate(("", "_reverse")[:D]):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(k, sfx)
                out, s = direction(self._project(x, w_ih, b_ih, b_hh),
                                   None if initial is None else initial[k * D + d], w_hh, b_hh, d == 1)
                outs.append(out)
                finals.append(s)
            x = outs[0] if D == 1 else F.cat(outs, axis=-1)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        return x, finals

    def _output(self, out, unbatched):
        if unbatched:
            return out.reshape(*out.shape[1:])
        return out if self.batch_first else out.permute(1, 0, 2)

    def forward(self, x, h0=None, *, hx=None):
        h0 = _state_arg(type(self).__name__, "h0", h0, hx)
        if isinstance(x, PackedSequence):   # outputs packed, h_n at each sequence's last step
            from .packed_rnn import packed_forward   # (imported by the first packed input)
            return packed_forward(self, x, h0)
        unbatched = x.ndim == 2
        x = self._batch_major(x)
        if h0 is not None:
            h0 = self._check_state("h0", h0, x.shape[0], unbatched)
        out, finals = self._run_layers(x, h0)
        h = F.stack(finals, axis=0)
        return self._output(out, unbatched), (h.reshape(*h.shape[0:1], *h.shape[2:]) if unbatched else h)

    def extra_repr(self):
        # torch's RNNBase.extra_repr: no nonlinearity (its cells show it; the module's repr does not)
        opts = {"num_layers": (self.num_layers, 1), "bias": (self.bias, True), "batch_first": (self.batch_first, False),
                "dropout": (self.dropout, 0.0), "bidirectional": (self.bidirectional, False)}
        head = f"{self.input_size}, {self.hidden_size}" + (f", proj_size={self.proj_size}" if self.proj_size else "")
        return ", ".join([head] +
                         [f"{k}={v!r}" for k, (v, default) in opts.items() if v != default])


class LSTM(RNN):
    """A multi-layer LSTM over a sequence, backpropagated through time.

    x: (T, B, input_size), or (B, T, input_size) with ``batch_first=True``
    (default False, as in PyTorch), or (T, input_size) unbatched; state (or ``hx=``):
    (h0, c0), each (num_layers * D, B, H) (unbatched (num_layers * D, H)),
    or None (zeros), D = 2 if ``bidirectional`` else 1. Returns (output
    (T, B, D H) or (B, T, D H) or (T, D H), (h_n, c_n) shaped as h0).

    ``proj_size`` P > 0 (PyTorch's LSTM with projections): each step's h = (o * tanh(c)) W_hr^T
    is (B, P), with ``weight_hr_l{k}`` (P, H) and ``weight_hh_l{k}`` (4 H, P); the output is
    (..., D P), h0 and h_n (num_layers * D, B, P), c0 and c_n stay (num_layers * D, B, H). Its
    steps are composed ops (a graph node per operation, not the fused cell) and it does not take
    a PackedSequence.
    """

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        if not is_int(proj_size):
            raise TypeError(f"LSTM: proj_size must be an int, got {type(proj_size).__name__} {proj_size!r}")
        if proj_size < 0:
            raise ValueError(f"LSTM: proj_size must be >= 0 (0: no projection), got {proj_size}")
        if proj_size and is_int(hidden_size) and proj_size >= hidden_size:
            raise ValueError(f"LSTM: proj_size must be smaller than hidden_size, got {proj_size} >= {hidden_size}")
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout, bidirectional,
                         _proj_size=int(proj_size), device=device, dtype=dtype)

    def _layer_params(self, k, sfx=""):
        w_ih, w_hh, b_ih, b_hh = super()._layer_params(k, sfx)
        if self.proj_size:   # the step needs W_hr too: it travels with W_hh
            w_hh = (w_hh, self.__dict__[f"weight_hr_l{k}{sfx}"])
        return w_ih, w_hh, b_ih, b_hh

    def _sequence(self, xw, s0, w_hh, b_hh, reverse):
        if self.proj_size:
            return self._projected_sequence(xw, s0, w_hh, reverse)
        return F.lstm_sequence(xw, s0, w_hh, reverse=reverse)

    def _projected_sequence(self, xw, s0, weights, reverse):
        """The projected LSTM over xw (B, T, 4 H) from s0 = [h | c] (B, P + H) or None (zeros):
        (outputs h_t (B, T, P), the final [h | c])."""
        B, T = xw.shape[0], xw.shape[1]
        if T == 0:
            raise ValueError("LSTM: recurrent sequence of length 0: there is nothing to run")
        s = _mt.zeros(B, self.proj_size + self.hidden_size, dtype=xw.dtype, device=xw.device) if s0 is None else s0
        outs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            s = self._projected_step(xw[:, t], s, weights)
            outs[t] = s[:, :self.proj_size]
        return F.stack(outs, axis=1), s

    def _projected_step(self, xw_t, s, weights):
        """One projected step: z = xw_t + h W_hh^T = [z_i | z_f | z_g | z_o]; c' = sigmoid(z_f) c +
        sigmoid(z_i) tanh(z_g); h' = (sigmoid(z_o) tanh(c')) W_hr^T. s, result: [h | c] (B, P + H)."""
        w_hh, w_hr = weights
        P = self.proj_size
        h, c = s[:, :P], s[:, P:]
        z_i, z_f, z_g, z_o = (xw_t + F.linear(h, w_hh)).chunk(4, -1)
        c = z_f.sigmoid() * c + z_i.sigmoid() * z_g.tanh()
        h = F.linear(z_o.sigmoid() * c.tanh(), w_hr)
        return F.cat([h, c], axis=-1)

    def _step(self, xw, s, w_hh, b_hh):
        return F.lstm_cell(xw, s, w_hh)

    def forward(self, x, state=None, *, hx=None):
        state = _state_arg("LSTM", "state", state, hx)
        if isinstance(x, PackedSequence):
            if self.proj_size:
                raise NotImplementedError("LSTM: proj_size > 0 does not take a PackedSequence here; pad it "
                                          "(nn.utils.rnn.pad_packed_sequence) and pass the padded batch")
            from .packed_rnn import packed_forward
            return packed_forward(self, x, state)
        unbatched = x.ndim == 2
        x = self._batch_major(x)
        initial = None
        if state is not None:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError("LSTM: state must be a pair (h0, c0)")
            sizes = (self.proj_size or None, None)
            state = [self._check_state(name, s, x.shape[0], unbatched, size)
                     for name, s, size in zip(("h0", "c0"), state, sizes)]
            # (L D, 2, B, H): [h; c] of layer k, direction d; projected: (L D, B, P + H), [h | c]
            initial = F.cat(state, axis=-1) if self.proj_size else F.stack(state, axis=1)
        out, finals = self._run_layers(x, initial)
        if self.proj_size:
            hc = F.stack(finals, axis=0)                       # (L D, B, P + H)
            h, c = hc[..., :self.proj_size], hc[..., self.proj_size:]
            if unbatched:
                h, c = h.reshape(h.shape[0], h.shape[2]), c.reshape(c.shape[0], c.shape[2])
            return self._output(out, unbatched), (h, c)
        hc = F.stack(finals, axis=1)                           # (2, L D, B, H)
        if unbatched:
            hc = hc.reshape(2, hc.shape[1], self.hidden_size)
        return self._output(out, unbatched), (hc[0], hc[1])


class GRU(RNN):
    """A multi-layer GRU over a sequence, backpropagated through time, as ``torch.nn.GRU``.

    Layouts, h0 and the returned (output, h_n) as :class:`RNN`; gates r, z, n in
    ``weight_ih_l{k}`` (3H, in) etc., so a PyTorch GRU's state dict loads as it is.
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def _project(self, x, w_ih, b_ih, b_hh):
        return F.linear(x, w_ih, b_ih)                      # b_hh enters each step (inside r's product)

    def _sequence(self, xw, s0, w_hh, b_hh, reverse):
        return F.gru_sequence(xw, s0, w_hh, b_hh, reverse=reverse)

    def _step(self, xw, s, w_hh, b_hh):
        return F.gru_cell(xw, s, w_hh, b_hh)
