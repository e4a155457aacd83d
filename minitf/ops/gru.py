"""The GRU step with its fused analytic backward, and the sequential loop, as PyTorch's GRU.

With xw_t = x_t W_ih^T + b_ih (the input projection, precomputed for every t in one
GEMM) and hw = h_{t-1} W_hh^T + b_hh, both split as [r | z | n] (PyTorch's gate order):

    r = sigmoid(xw_r + hw_r),   z = sigmoid(xw_z + hw_z)
    n = tanh(xw_n + r hw_n)                 (the hidden bias b_hn sits inside r's product)
    h_t = (1 - z) n + z h_{t-1}

Because of b_hn inside r hw_n the two biases cannot be merged as the Elman and LSTM
layers merge theirs, so b_hh is an input of the step. Within a sequence the steps share
gradient buffers for xw and hw, and dW_hh = sum_t dhw_t^T h_{t-1}, db_hh = sum_t dhw_t are
one GEMM and one sum, done by the first step run, as in :mod:`.recurrent`.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from ._util import check_same_dtype
from .elementwise import Sigmoid, sigmoid, tanh
from .recurrent import _Sequence, _keep_previous
from .shape import stack


class _GRUSequence(_Sequence):
    __slots__ = ("dhw",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dhw = None                  # dL/dhw, (B, T, 3H)


class GRUCell(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, xw, h, w, b, t, seq):
        xp = backend.get_array_module(h)
        H = h.shape[-1]
        x_t = xw if t is None else xw[:, t]
        hw = h @ w.T
        hw += b
        rz = Sigmoid().forward(x_t[:, :2 * H] + hw[:, :2 * H])   # the stable sigmoid
        r, z, hn = rz[:, :H], rz[:, H:], hw[:, 2 * H:]
        n = xp.tanh(x_t[:, 2 * H:] + r * hn)
        out = h - n
        out *= z
        out += n                                                  # (1 - z) n + z h
        self.r, self.z, self.n, self.hn, self.w, self.t, self.seq = r, z, n, hn, w, t, seq
        _keep_previous(self, h, t, seq)
        return out

    def backward(self, g):
        # dn = g (1 - z);  da_n = dn (1 - n^2);  da_r = da_n hw_n r (1 - r);  da_z = g (h - n) z (1 - z)
        # dxw = [da_r | da_z | da_n];  dhw = [da_r | da_z | da_n r];  dh = g z + dhw W_hh
        xp = backend.get_array_module(g)
        r, z, n, hn = self.r, self.z, self.n, self.hn
        t, seq = self.t, self.seq
        h = self.h if t is None else seq.hprev[:, t]
        H = h.shape[-1]
        dxw = xp.empty(h.shape[:1] + (3 * H,), dtype=g.dtype)
        da_n = dxw[:, 2 * H:]
        xp.multiply(n, n, out=da_n)
        da_n -= 1
        da_n *= z - 1
        da_n *= g                                  # g (1 - z) (1 - n^2)
        xp.multiply(da_n * hn, r * (1 - r), out=dxw[:, :H])
        xp.multiply(g * (h - n), z * (1 - z), out=dxw[:, H:2 * H])
        dhw = dxw.copy()
        dhw[:, 2 * H:] *= r
        dh = dhw @ self.w
        dh += g * z
        if t is None:                              # standalone: dW_hh = dhw^T h, db_hh = sum dhw
            return dxw, dh, dhw.T @ h, dhw.sum(axis=0)
        if seq.dxw is None:
            seq.dxw = xp.zeros(seq.hprev.shape[:2] + (3 * H,), dtype=g.dtype)
            seq.dhw = xp.zeros_like(seq.dxw)
        seq.dxw[:, t], seq.dhw[:, t] = dxw, dhw
        if t != seq.first:
            return None, dh, None, None
        # the first step's backward runs last: the buffers are complete
        dxw_all, dhw_all, seq.dxw, seq.dhw = seq.dxw, seq.dhw, None, None
        flat = dhw_all.reshape(-1, 3 * H)
        return dxw_all, dh, flat.T @ seq.hprev.reshape(-1, H), flat.sum(axis=0)

    def backward_graph(self, g):
        from .composed import vjp   # (composed imports most op modules: imported when first needed)
        return vjp(_gru_composed, self, g)


def _gru_composed(xw, h, w, b, t, seq):
    """The step in primitive ops (for create_graph=True)."""
    H = h.shape[-1]
    x_t = xw if t is None else xw[:, t]
    hw = h @ w.transpose(-1, -2) + b
    rz = sigmoid(x_t[:, :2 * H] + hw[:, :2 * H])
    r, z = rz[:, :H], rz[:, H:]
    n = tanh(x_t[:, 2 * H:] + r * hw[:, 2 * H:])
    return n + z * (h - n)


GRUCell.composed = staticmethod(_gru_composed)   # (forward AD runs it on duals: minitf/forward_rules.py)


def _check(name, xw, h, w_hh, b_hh, H):
    if w_hh.shape != (3 * H, H):
        raise ValueError(f"{name}: w_hh has shape {w_hh.shape}, expected {(3 * H, H)}")
    if b_hh is not None and b_hh.shape != (3 * H,):
        raise ValueError(f"{name}: b_hh has shape {b_hh.shape}, expected {(3 * H,)}")
    check_same_dtype(name, xw=xw, h=h, w_hh=w_hh, b_hh=b_hh)


def _bias(b_hh, like: Tensor, H):
    if b_hh is not None:
        return b_hh
    return Tensor._make(backend.get_array_module(like.data).zeros(3 * H, dtype=like.dtype), None)


def gru_cell(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step (see the module docstring). xw: (B, 3H) = x W_ih^T + b_ih, gates [r | z | n];
    h: (B, H); w_hh: (3H, H); b_hh: (3H,) or None. Returns h' (B, H)."""
    if h.ndim != 2 or xw.shape != (h.shape[0], 3 * h.shape[1]):
        raise ValueError(f"gru_cell: need xw (B, 3H) and h (B, H), got {xw.shape} and {h.shape}")
    H = h.shape[1]
    _check("gru_cell", xw, h, w_hh, b_hh, H)
    return GRUCell.apply(xw, h, w_hh, _bias(b_hh, h, H), t=None, seq=None)


def gru_sequence(xw: Tensor, h0: Tensor | None, w_hh: Tensor, b_hh: Tensor | None = None,
                 reverse: bool = False):
    """Run a GRU layer over a sequence, one step at a time.

    xw: (B, T, 3H) input projections (b_ih included); h0: (B, H) or None (zeros);
    w_hh: (3H, H); b_hh: (3H,) or None. Returns (outputs (B, T, H), final h (B, H)).
    ``reverse=True`` runs from t = T-1 to 0 (the final h is then the one at t = 0).
    """
    if xw.ndim != 3 or xw.shape[2] % 3:
        raise ValueError(f"gru_sequence: xw must be (B, T, 3H), got {xw.shape}")
    B, T, H = xw.shape[0], xw.shape[1], xw.shape[2] // 3
    if T == 0:
        raise ValueError("gru_sequence: a sequence of length 0: there is nothing to run")
    xp = backend.get_array_module(xw.data)
    h = Tensor._make(xp.zeros((B, H), dtype=xw.dtype), None) if h0 is None else h0
    if h.shape != (B, H):
        raise ValueError(f"gru_sequence: initial state has shape {h.shape}, expected {(B, H)}")
    _check("gru_sequence", xw, h, w_hh, b_hh, H)
    b = _bias(b_hh, xw, H)
    record = is_grad_enabled() and any(v.requires_grad for v in (xw, h, w_hh, b))
    seq = _GRUSequence(xp, B, T, H, xw.dtype, record, T - 1 if reverse else 0)
    states = []
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = GRUCell.apply(xw, h, w_hh, b, t=t, seq=seq)
        states.append(h)
    return stack(states[::-1] if reverse else states, axis=1), h
