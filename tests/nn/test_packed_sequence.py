"""nn.utils.rnn's packed sequences and the recurrent layers over them: pack_padded_sequence,
pad_packed_sequence, pack_sequence, PackedSequence, and nn.RNN/LSTM/GRU taking a PackedSequence
(outputs packed, final states at each sequence's true last step); against torch 2.13 in float64
(values and gradients, bidirectional too), gradchecked, on cpu and fake."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.errors import ArgumentError

R = nn.utils.rnn


def _torch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as TR
    return torch, TR


# ---------------------------------------------------------------- packing and unpacking
PACK_CASES = [([5, 3, 3, 1], True), ([2, 5, 1, 4], False), ([1, 1, 1, 1], True), ([5, 5, 5, 5], False),
              ([3], True)]


@pytest.mark.parametrize("lengths, enforce_sorted", PACK_CASES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_torch(lengths, enforce_sorted, batch_first):
    torch, TR = _torch()
    B, T = len(lengths), 5
    x = np.random.default_rng(0).standard_normal((B, T, 2, 3) if batch_first else (T, B, 2, 3))
    w = np.random.default_rng(1).standard_normal((sum(lengths), 2, 3))
    res = []
    for lib, M in ((mt, R), (torch, TR)):
        xt = lib.tensor(x, requires_grad=True)
        p = M.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        y, lens = M.pad_packed_sequence(p, batch_first=batch_first, padding_value=-2.0, total_length=7)
        ((p.data * lib.tensor(w)).sum() + (y * y).sum()).backward()
        res.append((p.data.detach().numpy(), p.batch_sizes.numpy(),
                    None if p.sorted_indices is None else p.sorted_indices.numpy(),
                    None if p.unsorted_indices is None else p.unsorted_indices.numpy(),
                    y.detach().numpy(), lens.numpy(), xt.grad.numpy()))
        assert p.batch_sizes.dtype == lib.int64 and lens.dtype == lib.int64
    for a, b in zip(*res):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)


def test_pack_sequence_matches_torch_and_roundtrips(device):
    torch, TR = _torch()
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    p = R.pack_sequence([mt.tensor(a, device=device) for a in arrays], enforce_sorted=False)
    q = TR.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    assert p.data.device == device and p.batch_sizes.device == "cpu"
    np.testing.assert_array_equal(p.data.numpy(), q.data.numpy())
    np.testing.assert_array_equal(p.batch_sizes.numpy(), q.batch_sizes.numpy())
    np.testing.assert_array_equal(p.sorted_indices.numpy(), q.sorted_indices.numpy())
    y, lens = R.pad_packed_sequence(p, batch_first=True)
    assert lens.numpy().tolist() == [2, 4, 1] and y.shape == (3, 4, 3)
    for a, row, n in zip(arrays, y.numpy(), (2, 4, 1)):
        np.testing.assert_array_equal(row[:n], a)
        np.testing.assert_array_equal(row[n:], 0)
    assert isinstance(p, tuple) and p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    moved = p.to("cpu")
    assert moved.data.device == "cpu" and moved.sorted_indices.device == "cpu"


def test_packing_gradchecks(device):
    x = mt.tensor(np.random.default_rng(3).standard_normal((4, 3, 2)), device=device, requires_grad=True)

    def roundtrip(x):
        p = R.pack_padded_sequence(x, mt.tensor([2, 4, 3]), enforce_sorted=False)
        return R.pad_packed_sequence(p, padding_value=1.5)[0] * 2.0 + p.data.sum()
    assert mt.gradcheck(roundtrip, [x])


def test_packing_errors():
    x = mt.zeros(4, 3, 2)
    with pytest.raises(ArgumentError, match="must be sorted in decreasing order when `enforce_sorted` is True"):
        R.pack_padded_sequence(x, [2, 4, 3])
    with pytest.raises(ArgumentError, match="Expected `len\\(lengths\\)` to be equal to batch_size, but got 2"):
        R.pack_padded_sequence(x, [4, 3])
    with pytest.raises(ArgumentError, match="greater than 0"):
        R.pack_padded_sequence(x, [4, 3, 0])
    with pytest.raises(ArgumentError, match="a length of 5 is past the padded sequences' length, 4"):
        R.pack_padded_sequence(x, [5, 3, 1])
    with pytest.raises(ArgumentError, match="1-D"):
        R.pack_padded_sequence(x, mt.tensor([[4, 3, 1]]))
    p = R.pack_padded_sequence(x, [4, 3, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 4"):
        R.pad_packed_sequence(p, total_length=2)
    with pytest.raises(RuntimeError, match="empty list"):
        R.pack_sequence([])


# ---------------------------------------------------------------- the recurrent layers
def _layers(kind, bidirectional, num_layers=2, batch_first=True):
    torch, _ = _torch()
    tm = getattr(torch.nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                                 batch_first=batch_first).double()
    m = getattr(nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first).double()
    m.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return m, tm


def _run(lib, M, model, x, lengths, enforce_sorted, state, kind, batch_first, weights):
    xt = lib.tensor(x, requires_grad=True)
    st = [lib.tensor(s, requires_grad=True) for s in state] if state is not None else None
    p = M.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    out, s = model(p, None if st is None else (tuple(st) if kind == "LSTM" else st[0]))
    finals = list(s) if kind == "LSTM" else [s]
    loss = (out.data * lib.tensor(weights[0])).sum() + sum((f * lib.tensor(w)).sum()
                                                            for f, w in zip(finals, weights[1:]))
    loss.backward()
    return ([out.data.detach().numpy(), out.batch_sizes.numpy()] + [f.detach().numpy() for f in finals] +
            [xt.grad.numpy()] + ([g.grad.numpy() for g in st] if st is not None else []) +
            [p.grad.numpy() for p in model.parameters()])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths, enforce_sorted, batch_first, with_state",
                         [([5, 3, 3, 1], True, True, True), ([2, 5, 1, 4], False, False, True),
                          ([2, 5, 1, 4], False, True, False), ([1], True, True, True)])
def test_recurrent_layers_over_a_packed_batch_match_torch(kind, bidirectional, lengths, enforce_sorted,
                                                          batch_first, with_state):
    torch, TR = _torch()
    m, tm = _layers(kind, bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(4)
    B, T, D = len(lengths), 5, 2 if bidirectional else 1
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    state = [rng.standard_normal((2 * D, B, 4)) for _ in range(2 if kind == "LSTM" else 1)] if with_state else None
    weights = [rng.standard_normal((sum(lengths), D * 4))] + [rng.standard_normal((2 * D, B, 4))
                                                             for _ in range(2 if kind == "LSTM" else 1)]
    got = _run(mt, R, m, x, lengths, enforce_sorted, state, kind, batch_first, weights)
    want = _run(torch, TR, tm, x, lengths, enforce_sorted, state, kind, batch_first, weights)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_final_state_is_the_state_at_each_true_last_step(kind, device):
    """Each sequence run alone (unpadded) gives the packed run's output rows and final state."""
    mt.manual_seed(0)
    m = getattr(nn, kind)(3, 4, num_layers=1, bidirectional=True).double().to(device)
    rng = np.random.default_rng(5)
    seqs = [mt.tensor(rng.standard_normal((n, 3)), device=device) for n in (2, 4, 3)]
    out, s = m(R.pack_sequence(seqs, enforce_sorted=False))
    h = s[0] if kind == "LSTM" else s
    padded, lens = R.pad_packed_sequence(out)
    for b, seq in enumerate(seqs):
        alone, s_alone = m(seq)                          # unbatched (L, C)
        h_alone = s_alone[0] if kind == "LSTM" else s_alone
        n = seq.shape[0]
        np.testing.assert_allclose(padded.numpy()[:n, b], alone.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(padded.numpy()[n:, b], 0)
        np.testing.assert_allclose(h.numpy()[:, b], h_alone.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_recurrent_gradcheck(kind, device):
    mt.manual_seed(1)
    m = getattr(nn, kind)(2, 3, bidirectional=True).double().to(device)
    x = mt.tensor(np.random.default_rng(6).standard_normal((3, 3, 2)), device=device, requires_grad=True)

    def f(x, *params):   # the parameters are the module's own: gradcheck perturbs them in place
        out, s = m(R.pack_padded_sequence(x, [1, 3, 2], enforce_sorted=False))
        return out.data, (s[1] if kind == "LSTM" else s)
    assert mt.gradcheck(f, [x, *m.parameters()])


def test_packed_input_errors():
    m = nn.LSTM(3, 4)
    p = R.pack_sequence([mt.zeros(3, 3), mt.zeros(2, 3)])
    with pytest.raises(TypeError, match="pair"):
        m(p, mt.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="h0 must have shape"):
        m(p, (mt.zeros(1, 3, 4), mt.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match=r"expected packed data \(N, 3\)"):
        m(R.pack_sequence([mt.zeros(3, 2)]))
