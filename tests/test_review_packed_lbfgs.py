"""Review of round 1's optim.LBFGS and packed sequences against torch 2.13: more LBFGS problems
and options (iterates, evaluation counts), unpad_sequence / unpack_sequence, and a random grid
of packed multi-layer bidirectional RNN / LSTM / GRU runs (outputs, final states, gradients)."""
import numpy as np
import pytest

import minitf as mt
from minitf.nn.utils import rnn as MR

torch = pytest.importorskip("torch")
TR = torch.nn.utils.rnn

_RNG = np.random.default_rng(0)
_A = _RNG.standard_normal((6, 6))
_Q, _B = _A @ _A.T + 0.1 * np.eye(6), _RNG.standard_normal(6)
_X, _Y = _RNG.standard_normal((20, 5)), (_RNG.random(20) > 0.5).astype(float)


def _quadratic(L, p):
    x = p[0]
    return 0.5 * (x * (L.tensor(_Q) @ x)).sum() - (L.tensor(_B) * x).sum()


def _softplus_logistic(L, p):
    w, c = p
    z = L.tensor(_X) @ w + c
    F = mt.nn.functional if L is mt else torch.nn.functional
    return (F.softplus(z) - L.tensor(_Y) * z).mean() + 0.01 * (w * w).sum()


PROBLEMS = {"quadratic": (_quadratic, [np.zeros(6)]), "logistic": (_softplus_logistic, [np.zeros(5), np.zeros(1)])}
OPTIONS = [dict(lr=1.0, max_iter=20, max_eval=7), dict(lr=0.1, max_iter=5, history_size=3),
           dict(lr=1.0, max_iter=20, history_size=3, line_search_fn="strong_wolfe"),
           dict(lr=0.5, max_iter=1, line_search_fn="strong_wolfe"),
           dict(lr=1.0, max_iter=20, tolerance_change=1e-3, tolerance_grad=1e-3),
           dict(lr=0.5, max_iter=20, max_eval=7, history_size=100, line_search_fn="strong_wolfe")]


def _trace(L, problem, kw, steps=4):
    f, init = PROBLEMS[problem]
    params = [L.tensor(a.copy(), dtype=L.float64).requires_grad_(True) for a in init]
    opt = L.optim.LBFGS(params, **kw)
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = f(L, params)
        loss.backward()
        evals[0] += 1
        return loss
    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        out.append((loss.item(), [p.detach().numpy().copy() for p in params], evals[0]))
    return out, opt


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("kw", OPTIONS, ids=[str(k) for k in OPTIONS])
def test_lbfgs_iterates_and_evaluations_match_torch(problem, kw):
    ours, opt = _trace(mt, problem, kw)
    theirs, topt = _trace(torch, problem, kw)
    for k, ((lo, po, eo), (lt, pt, et)) in enumerate(zip(ours, theirs)):
        assert eo == et, f"step {k}: closure evaluations"
        np.testing.assert_allclose(lo, lt, rtol=1e-10, atol=1e-14, err_msg=f"step {k} loss")
        for a, b in zip(po, pt):   # float64; only the order of the dot products' sums differs
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"step {k} params")
    s, ts = opt.state[opt.param_groups[0]["params"][0]], topt.state[topt.param_groups[0]["params"][0]]
    assert (s["func_evals"], s["n_iter"]) == (ts["func_evals"], ts["n_iter"])


def test_unpad_and_unpack_sequence_as_torchs(device):
    x = np.random.default_rng(0).standard_normal((4, 3, 2))
    lengths = [4, 2, 3]
    for batch_first in (False, True):
        a = x.transpose(1, 0, 2).copy() if batch_first else x
        xm = mt.tensor(a, device=device, requires_grad=True)
        ours = MR.unpad_sequence(xm, mt.tensor(lengths), batch_first=batch_first)
        theirs = TR.unpad_sequence(torch.tensor(a.copy()), torch.tensor(lengths), batch_first=batch_first)
        assert len(ours) == len(theirs) and all(o.device == device for o in ours)
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
        sum(o.sum() for o in ours).backward()       # differentiable: 1 on the kept steps, 0 on the padding
        mask = np.zeros(a.shape)
        for b, n in enumerate(lengths):
            (mask.__setitem__((b, slice(0, n)), 1) if batch_first else mask.__setitem__((slice(0, n), b), 1))
        np.testing.assert_array_equal(xm.grad.numpy(), mask)
        assert xm.shape == a.shape                  # (torch's transposes its input in place; ours does not)
    seqs = [np.ones((2, 3)), np.arange(9.0).reshape(3, 3), np.zeros((1, 3))]
    back = MR.unpack_sequence(MR.pack_sequence([mt.tensor(s, device=device) for s in seqs], enforce_sorted=False))
    assert [b.shape for b in back] == [(2, 3), (3, 3), (1, 3)]
    for b, s in zip(back, seqs):
        np.testing.assert_array_equal(b.numpy(), s)


def _rnn_case(seed):
    rng = np.random.default_rng(seed)
    kind = ["LSTM", "GRU", "RNN"][seed % 3]
    B, T, inp, hid = 4, 5, 3, 2
    kw = dict(num_layers=2, bidirectional=True, batch_first=bool(seed % 2), bias=seed % 4 != 3)
    lengths = rng.integers(1, T + 1, size=B)
    lengths[rng.integers(B)] = T
    return rng, kind, B, T, inp, hid, kw, lengths


@pytest.mark.parametrize("seed", range(6))
def test_packed_multilayer_bidirectional_rnns_match_torch(seed):
    rng, kind, B, T, inp, hid, kw, lengths = _rnn_case(seed)
    torch.manual_seed(seed)
    tm = getattr(torch.nn, kind)(inp, hid, **kw).double()
    mm = getattr(mt.nn, kind)(inp, hid, **kw).to(dtype=mt.float64)
    mm.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = rng.standard_normal((B, T, inp) if kw["batch_first"] else (T, B, inp))
    xt, xm = torch.tensor(x, requires_grad=True), mt.tensor(x, requires_grad=True)
    pt = TR.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=kw["batch_first"], enforce_sorted=False)
    pm = MR.pack_padded_sequence(xm, mt.tensor(lengths), batch_first=kw["batch_first"], enforce_sorted=False)
    (ot, st), (om, sm) = tm(pt), mm(pm)
    yt, _ = TR.pad_packed_sequence(ot, batch_first=kw["batch_first"], padding_value=-1.0)
    ym, _ = MR.pad_packed_sequence(om, batch_first=kw["batch_first"], padding_value=-1.0)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    st, sm = (st, sm) if kind == "LSTM" else ((st,), (sm,))
    for a, b in zip(sm, st):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    c = rng.standard_normal(tuple(yt.shape))
    ((yt * torch.tensor(c)).sum() + sum((s * s).sum() for s in st)).backward()
    ((ym * mt.tensor(c)).sum() + sum((s * s).sum() for s in sm)).backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    theirs = dict(tm.named_parameters())
    for name, p in mm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
