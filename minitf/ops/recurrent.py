"""Recurrent cells with fused analytic backward, and the sequential loop that runs them.

With xw_t = x_t W_ih^T + b_ih + b_hh (the input projection, precomputed for
every t in one GEMM because it does not depend on h):

    Elman (tanh):  h_t = tanh(xw_t + h_{t-1} W_hh^T)     (or relu: max(0, ...), nonlinearity="relu")
    LSTM:          z = xw_t + h_{t-1} W_hh^T = [z_i | z_f | z_g | z_o]      (PyTorch's gate order)
                   i, f, o = sigmoid(z_i, z_f, z_o);  g = tanh(z_g)
                   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

The LSTM state travels as one (2, B, H) tensor [h; c], so a step is one graph
node. :func:`rnn_sequence` / :func:`lstm_sequence` apply one step after
another (h_t needs h_{t-1}: nothing runs in parallel across time);
``loss.backward()`` then walks the chain back: backpropagation through time.
With ``reverse=True`` the steps run from t = T-1 down to 0 (the backward
direction of a bidirectional layer); outputs stay in time order.

Two things keep a step cheap. A step reads its row xw[:, t] of the whole
projection and writes dL/dxw_t into a gradient buffer shared by the steps of
that sequence, instead of slicing xw in the graph (whose backward would
allocate a full (B, T, G) zero array per step). And dL/dW_hh is not
accumulated step by step: it is sum_t dz_t^T h_{t-1}, one GEMM over all steps,
done by the first step run (t = 0, or T-1 in reverse), whose backward runs
last because every later step descends from it.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from ._util import check_same_dtype
from .shape import stack


class _Sequence:
    """What the steps of one sequence share (only when gradients are recorded)."""

    __slots__ = ("hprev", "dxw", "first")

    def __init__(self, xp, B, T, H, dtype, record, first=0):
        self.hprev = xp.empty((B, T, H), dtype=dtype) if record else None  # the state before step t
        self.dxw = None                                                  # dL/dxw, (B, T, G)
        self.first = first                                               # the step run first


_gate_cache: dict = {}


def _gate_columns(xp, H, dtype):
    """Per-column constants that activate all four LSTM gates with one tanh:
    act = tanh(z * a) * a + b, i.e. sigmoid(z) = 0.5 + 0.5 tanh(z / 2) on the i, f, o
    columns (a = b = 0.5) and tanh(z) on the g columns (a = 1, b = 0); and
    -d act / dz / (1 - tanh^2) = -a^2, for the backward."""
    key = (xp.__name__, H, str(dtype))
    cols = _gate_cache.get(key)
    if cols is None:
        if len(_gate_cache) > 64:
            _gate_cache.clear()
        a = xp.full(4 * H, 0.5, dtype=dtype)
        a[2 * H:3 * H] = 1
        b = xp.full(4 * H, 0.5, dtype=dtype)
        b[2 * H:3 * H] = 0
        cols = _gate_cache[key] = (a, b, -(a * a))
    return cols


def _keep_previous(self, h, t, seq) -> None:
    """Keep h_{t-1} for backward: on the cell when it runs alone (t is None), else in the
    sequence's (B, T, H) record, which :func:`_finish` reads all at once for dW_hh."""
    if t is None:
        self.h = h
    elif seq.hprev is not None:
        seq.hprev[:, t] = h


def _finish(self, dz, dh, h):
    """The gradients of xw, the previous state and W_hh, standalone or within a sequence."""
    if self.t is None:                           # standalone cell: dxw = dz, dW_hh = dz^T h
        return dz, dh, dz.T @ h
    seq, t = self.seq, self.t
    if seq.dxw is None:
        seq.dxw = backend.get_array_module(dz).zeros(seq.hprev.shape[:2] + dz.shape[-1:], dtype=dz.dtype)
    seq.dxw[:, t] = dz
    if t != seq.first:
        return None, dh, None
    # the first step's backward runs last: the buffer is complete. dW_hh = sum_t dz_t^T h_{t-1}, one GEMM
    dxw, seq.dxw = seq.dxw, None
    G, H = dxw.shape[-1], seq.hprev.shape[-1]
    return dxw, dh, dxw.reshape(-1, G).T @ seq.hprev.reshape(-1, H)


class RNNCell(Function):
    def forward(self, xw, h, w, t, seq):
        xp = backend.get_array_module(h)
        a = (xw if t is None else xw[:, t]) + h @ w.T
        self.y, self.w, self.t, self.seq = xp.tanh(a, out=a), w, t, seq
        _keep_previous(self, h, t, seq)
        return self.y

    def backward(self, g):
        # dz = g (1 - h_t^2)  (d tanh);  dh_{t-1} = dz W_hh;  dW_hh = dz^T h_{t-1};  dxw_t = dz
        y = self.y
        dz = g * (1 - y * y)
        return _finish(self, dz, dz @ self.w, getattr(self, "h", None))


class ReLURNNCell(Function):
    """The Elman step with nonlinearity="relu"; a class of its own so the tanh step stays as it is."""

    def forward(self, xw, h, w, t, seq):
        xp = backend.get_array_module(h)
        a = (xw if t is None else xw[:, t]) + h @ w.T
        self.y, self.w, self.t, self.seq = xp.maximum(a, 0, out=a), w, t, seq
        _keep_previous(self, h, t, seq)
        return self.y

    def backward(self, g):
        # dz = g [h_t > 0]  (d relu, 0 at the kink as PyTorch);  dh_{t-1} = dz W_hh;  dW_hh = dz^T h_{t-1}
        dz = g * (self.y > 0)
        return _finish(self, dz, dz @ self.w, getattr(self, "h", None))


_ELMAN = {"tanh": RNNCell, "relu": ReLURNNCell}


def _elman(name, nonlinearity):
    try:
        return _ELMAN[nonlinearity]
    except (KeyError, TypeError):
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}") from None


class LSTMCell(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, xw, s, w, t, seq):
        xp = backend.get_array_module(s)
        h, c = s[0], s[1]
        H = h.shape[-1]
        a, b, self.neg_a2 = _gate_columns(xp, H, s.dtype)
        z = (xw if t is None else xw[:, t]) + h @ w.T          # (B, 4H) pre-activations, ours
        z *= a
        th = xp.tanh(z, out=z)                                 # tanh(a z)
        act = th * a
        act += b                                               # [i | f | g | o]
        i, f, gg, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        out = xp.empty(s.shape, dtype=s.dtype)
        xp.multiply(f, c, out=out[1])
        out[1] += i * gg                                       # c_t = f c + i g
        tc = xp.tanh(out[1])
        xp.multiply(o, tc, out=out[0])                         # h_t = o tanh(c_t)
        self.act, self.th, self.c, self.tc, self.w, self.t, self.seq = act, th, c, tc, w, t, seq
        _keep_previous(self, h, t, seq)
        return out

    def backward(self, g):
        # dc_t = g_c + g_h o (1 - tanh(c_t)^2);  do = g_h tanh(c_t);  di = dc_t g;  df = dc_t c_{t-1};
        # dg = dc_t i;  dc_{t-1} = dc_t f;  dz = [di | df | dg | do] * d act/dz, where
        # d act/dz = a^2 (1 - tanh(a z)^2): i(1-i) for sigmoid gates, 1 - g^2 for g;  dh_{t-1} = dz W_hh
        xp = backend.get_array_module(g)
        act, tc = self.act, self.tc
        H = tc.shape[-1]
        i, f, gg, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        gh = g[0]
        dc = tc * tc
        dc -= 1
        dc *= o
        dc *= gh
        dc = g[1] - dc
        dz = xp.empty(act.shape, dtype=act.dtype)
        xp.multiply(dc, gg, out=dz[:, :H])
        xp.multiply(dc, self.c, out=dz[:, H:2 * H])
        xp.multiply(dc, i, out=dz[:, 2 * H:3 * H])
        xp.multiply(gh, tc, out=dz[:, 3 * H:])
        deriv = self.th * self.th
        deriv -= 1
        deriv *= self.neg_a2
        dz *= deriv
        ds = xp.empty(g.shape, dtype=g.dtype)
        xp.matmul(dz, self.w, out=ds[0])
        xp.multiply(dc, f, out=ds[1])
        return _finish(self, dz, ds, getattr(self, "h", None))


def _check_w(name, w, rows, H):
    if w.shape != (rows, H):
        raise ValueError(f"{name}: w_hh has shape {w.shape}, expected {(rows, H)}")


def rnn_cell(xw: Tensor, h: Tensor, w_hh: Tensor, nonlinearity: str = "tanh") -> Tensor:
    """One Elman step h' = tanh(xw + h W_hh^T) (or relu). xw, h: (B, H); w_hh: (H, H)."""
    cell = _elman("rnn_cell", nonlinearity)
    if xw.shape != h.shape or xw.ndim != 2:
        raise ValueError(f"rnn_cell: xw {xw.shape} and h {h.shape} must both be (B, H)")
    _check_w("rnn_cell", w_hh, h.shape[1], h.shape[1])
    check_same_dtype("rnn_cell", xw=xw, h=h, w_hh=w_hh)
    return cell.apply(xw, h, w_hh, t=None, seq=None)


def lstm_cell(xw: Tensor, state: Tensor, w_hh: Tensor) -> Tensor:
    """One LSTM step. xw: (B, 4H) gate pre-activations from the input; state: (2, B, H) = [h; c];
    w_hh: (4H, H). Returns the new state (2, B, H) = [h'; c']."""
    if state.ndim != 3 or state.shape[0] != 2 or xw.shape != (state.shape[1], 4 * state.shape[2]):
        raise ValueError(f"lstm_cell: need xw (B, 4H) and state (2, B, H), got {xw.shape} and {state.shape}")
    _check_w("lstm_cell", w_hh, 4 * state.shape[2], state.shape[2])
    check_same_dtype("lstm_cell", xw=xw, state=state, w_hh=w_hh)
    return LSTMCell.apply(xw, state, w_hh, t=None, seq=None)


def _run(cell, xw, s, w_hh, H, state_shape, reverse=False):
    """The states after every step, in time order, and the last one computed."""
    B, T, _ = xw.shape
    if T == 0:
        raise ValueError("recurrent sequence of length 0: there is nothing to run")
    if s is None:
        s = Tensor._make(backend.get_array_module(xw.data).zeros(state_shape, dtype=xw.dtype), None)
    elif s.shape != state_shape:
        raise ValueError(f"initial state has shape {s.shape}, expected {state_shape}")
    check_same_dtype("recurrent sequence", input_projection=xw, initial_state=s, w_hh=w_hh)
    record = is_grad_enabled() and (xw.requires_grad or s.requires_grad or w_hh.requires_grad)
    seq = _Sequence(backend.get_array_module(xw.data), B, T, H, xw.dtype, record, T - 1 if reverse else 0)
    states = []
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        s = cell.apply(xw, s, w_hh, t=t, seq=seq)
        states.append(s)
    return (states[::-1] if reverse else states), s


def rnn_sequence(xw: Tensor, h0: Tensor | None, w_hh: Tensor, nonlinearity: str = "tanh",
                 reverse: bool = False):
    """Run an Elman layer (tanh or relu) over a sequence, one step at a time.

    xw: (B, T, H) input projections (biases included); h0: (B, H) or None
    (zeros); w_hh: (H, H). Returns (outputs (B, T, H), final h (B, H)).
    ``reverse=True`` runs from t = T-1 to 0 (the final h is then the one at t = 0).
    """
    cell = _elman("rnn_sequence", nonlinearity)
    if xw.ndim != 3:
        raise ValueError(f"rnn_sequence: xw must be (B, T, H), got {xw.shape}")
    H = xw.shape[2]
    _check_w("rnn_sequence", w_hh, H, H)
    states, h = _run(cell, xw, h0, w_hh, H, (xw.shape[0], H), reverse)
    return stack(states, axis=1), h


def lstm_sequence(xw: Tensor, state0: Tensor | None, w_hh: Tensor, reverse: bool = False):
    """Run an LSTM layer over a sequence, one step at a time.

    xw: (B, T, 4H) input projections (biases included); state0: (2, B, H) =
    [h0; c0] or None (zeros); w_hh: (4H, H). Returns (outputs h_t (B, T, H),
    final state (2, B, H)). ``reverse=True`` runs from t = T-1 to 0.
    """
    if xw.ndim != 3 or xw.shape[2] % 4:
        raise ValueError(f"lstm_sequence: xw must be (B, T, 4H), got {xw.shape}")
    H = xw.shape[2] // 4
    _check_w("lstm_sequence", w_hh, 4 * H, H)
    states, s = _run(LSTMCell, xw, state0, w_hh, H, (2, xw.shape[0], H), reverse)
    return stack(states, axis=2)[0], s
