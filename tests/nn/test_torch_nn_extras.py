"""torch names a port meets: Embedding.from_pretrained, nn.utils.rnn.pad_sequence, F.relu6,
F.gumbel_softmax, mt.autograd.gradcheck/gradgradcheck, autograd.functional.jacobian/hessian;
against torch where it is installed, gradchecked on cpu and fake."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn


def t64(a, device="cpu", requires_grad=False):
    return mt.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------- Embedding.from_pretrained
def test_from_pretrained_shares_freezes_and_pads(device):
    w = t64(np.arange(6).reshape(3, 2), device)
    e = nn.Embedding.from_pretrained(w, padding_idx=1)
    assert not e.weight.requires_grad and e.weight.numpy().tolist() == w.numpy().tolist()
    assert repr(e) == "Embedding(3, 2, padding_idx=1)" and e.num_embeddings == 3 and e.embedding_dim == 2
    w.data[0, 0] = 7.0
    assert e.weight.numpy()[0, 0] == 7.0                       # the data is shared, as torch's
    trained = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=-2)
    trained(mt.tensor([0, 1, 1], device=device)).sum().backward()
    assert trained.padding_idx == 1 and trained.weight.grad.numpy().tolist() == [[1, 1], [0, 0], [0, 0]]
    assert trained.weight.numpy()[1].tolist() == [2.0, 3.0]    # the padding row keeps its values
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(t64([1.0, 2.0]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding.from_pretrained(w, max_norm=1.0)


def test_from_pretrained_matches_torch():
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((4, 3))
    idx = [[0, 2], [3, 2]]
    outs = []
    for lib in (mt, torch):
        e = lib.nn.Embedding.from_pretrained(lib.tensor(w), freeze=False, padding_idx=2)
        (e(lib.tensor(idx)) ** 2).sum().backward()
        outs.append((repr(e), e.weight.grad.numpy(), e.weight.requires_grad))
    assert outs[0][0] == outs[1][0] and outs[0][2] == outs[1][2]
    np.testing.assert_allclose(outs[0][1], outs[1][1])


# ---------------------------------------------------------------- pad_sequence
def sequences(lib, device=None):
    rng = np.random.default_rng(1)
    kw = {} if lib is not mt else {"device": device or "cpu"}
    return [lib.tensor(rng.standard_normal((n, 2)), requires_grad=True, **kw) for n in (3, 1, 2)]


@pytest.mark.parametrize("batch_first, side", [(False, "right"), (True, "right"), (True, "left")])
def test_pad_sequence_matches_torch(batch_first, side):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pad_sequence as torch_pad
    from minitf.nn.utils.rnn import pad_sequence
    res = []
    for lib, pad in ((mt, pad_sequence), (torch, torch_pad)):
        seqs = sequences(lib)
        y = pad(seqs, batch_first=batch_first, padding_value=-1.5, padding_side=side)
        (y * y).sum().backward()
        res.append((y.detach().numpy(), [s.grad.numpy() for s in seqs]))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    for a, b in zip(res[0][1], res[1][1]):
        np.testing.assert_allclose(a, b)


def test_pad_sequence_shapes_gradcheck_and_errors(device):
    seqs = sequences(mt, device)
    y = nn.utils.rnn.pad_sequence(seqs)
    assert y.shape == (3, 3, 2) and y.device == device and y.numpy()[1:, 1].tolist() == [[0, 0], [0, 0]]
    assert mt.gradcheck(lambda *s: nn.utils.rnn.pad_sequence(list(s), batch_first=True, padding_value=2.0), seqs)
    with pytest.raises(RuntimeError, match="empty list"):
        nn.utils.rnn.pad_sequence([])
    with pytest.raises(ValueError, match="padding_side"):
        nn.utils.rnn.pad_sequence(seqs, padding_side="middle")


# ---------------------------------------------------------------- relu6
def test_relu6_values_gradients_at_the_kinks_and_gradcheck(device):
    x = t64([-1.0, 0.0, 3.0, 6.0, 7.5], device, requires_grad=True)
    y = F.relu6(x)
    y.sum().backward()
    assert y.numpy().tolist() == [0.0, 0.0, 3.0, 6.0, 6.0]
    assert x.grad.numpy().tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]      # torch's (hardtanh) choice at 0 and 6
    away = t64([-1.0, 0.5, 3.0, 5.5, 7.5], device, requires_grad=True)
    assert mt.gradcheck(F.relu6, [away]) and mt.gradgradcheck(F.relu6, [away])
    z = t64([-1.0, 8.0], device) * 1.0
    assert F.relu6(z, inplace=True) is z and z.numpy().tolist() == [0.0, 6.0]


def test_relu6_matches_torch():
    torch = pytest.importorskip("torch")
    data = [-2.0, 0.0, 1.5, 6.0, 9.0]
    got = []
    for lib in (mt, torch):
        x = lib.tensor(data, requires_grad=True)
        lib.nn.functional.relu6(x).sum().backward()
        got.append((lib.nn.functional.relu6(x).detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])


# ---------------------------------------------------------------- gumbel_softmax
def test_gumbel_softmax_soft_gradchecks(device):
    logits = t64(np.random.default_rng(2).standard_normal((3, 4)), device, requires_grad=True)

    def sample(lg, dim):
        mt.manual_seed(11)            # the same noise at every evaluation of the finite differences
        return F.gumbel_softmax(lg, tau=0.7, dim=dim)
    for dim in (-1, 0):
        y = sample(logits, dim)
        np.testing.assert_allclose(y.sum(dim).numpy(), 1.0)
        assert mt.gradcheck(lambda lg: sample(lg, dim), [logits])


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient(device):
    logits = t64(np.random.default_rng(3).standard_normal((5, 4)), device, requires_grad=True)
    w = t64(np.arange(4.0), device)
    mt.manual_seed(4)
    soft = F.gumbel_softmax(logits, tau=0.5)
    (soft * w).sum().backward()
    g_soft = logits.grad.numpy().copy()
    logits.grad = None
    mt.manual_seed(4)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    (hard * w).sum().backward()
    h = hard.numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(-1) == 1).all()
    assert (h.argmax(-1) == soft.numpy().argmax(-1)).all()
    np.testing.assert_allclose(logits.grad.numpy(), g_soft, rtol=1e-12)   # straight-through


def test_gumbel_softmax_samples_follow_the_softmax():
    # hard samples are exact draws from Categorical(softmax(logits)), whatever tau
    logits = t64(np.log([0.1, 0.2, 0.7])).reshape(1, 3).expand(20000, 3).contiguous()
    mt.manual_seed(0)
    freq = F.gumbel_softmax(logits, tau=2.0, hard=True).numpy().mean(0)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.015)   # 4.5 standard errors at n = 20000
    with pytest.raises(ValueError, match="tau must be > 0"):
        F.gumbel_softmax(logits, tau=0.0)


# ---------------------------------------------------------------- autograd names
def test_autograd_gradcheck_aliases():
    assert mt.autograd.gradcheck is mt.gradcheck and mt.autograd.gradgradcheck is mt.gradgradcheck
    x = t64([0.3, -0.2], requires_grad=True)
    assert mt.autograd.gradcheck(F.tanh, (x,)) and mt.autograd.gradgradcheck(F.tanh, (x,))


def f_vec(x):
    return mt.tanh(x) * x.sum()


def test_jacobian_and_hessian_of_known_functions(device):
    from minitf.autograd.functional import hessian, jacobian
    x = t64([0.5, -1.0, 2.0], device)
    a = np.array([0.5, -1.0, 2.0])
    J = jacobian(f_vec, x)
    expected = np.diag((1 - np.tanh(a) ** 2) * a.sum()) + np.tanh(a)[:, None]
    assert J.shape == (3, 3) and not J.requires_grad
    np.testing.assert_allclose(J.numpy(), expected, rtol=1e-12)
    H = mt.autograd.functional.hessian(lambda v: (v ** 3).sum() + v[0] * v[1], x)
    np.testing.assert_allclose(H.numpy(), np.diag(6 * a) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]), rtol=1e-12)
    y = t64([1.0, 2.0], device)
    Jt = jacobian(lambda u, v: (u * v[0], (u ** 2).sum() + 0 * v.sum()), (x, y))
    assert [[j.shape for j in row] for row in Jt] == [[(3, 3), (3, 2)], [(3,), (2,)]]
    np.testing.assert_allclose(Jt[0][1].numpy()[:, 1], 0.0)                 # u * v[0] ignores v[1]
    with pytest.raises(RuntimeError, match="independent of input 1"):
        jacobian(lambda u, v: u * 2, (x, y), strict=True)
    assert jacobian(lambda u, v: u * 2, (x, y))[1].numpy().tolist() == [[0.0, 0.0]] * 3


def test_jacobian_with_create_graph_differentiates_again():
    from minitf.autograd.functional import jacobian
    x = t64([0.5, -1.0], requires_grad=True)
    J = jacobian(lambda v: v ** 3, x, create_graph=True)
    J.sum().backward()                         # d/dx sum(diag(3 x^2)) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([0.5, -1.0]))


def test_jacobian_and_hessian_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([0.5, -1.0, 2.0])
    b = np.array([1.5, 0.25])

    def g(lib):
        return lambda u, v: (lib.tanh(u).sum() * (v ** 2).sum() + (u[:2] * v).sum())
    ours = mt.autograd.functional.hessian(g(mt), (t64(a), t64(b)))
    theirs = torch.autograd.functional.hessian(g(torch), (torch.tensor(a), torch.tensor(b)))
    for r1, r2 in zip(ours, theirs):
        for x1, x2 in zip(r1, r2):
            np.testing.assert_allclose(x1.numpy(), x2.numpy(), rtol=1e-12)
    Jo = mt.autograd.functional.jacobian(lambda u: (u ** 2, u.sum()), t64(a))
    Jt = torch.autograd.functional.jacobian(lambda u: (u ** 2, u.sum()), torch.tensor(a))
    for x1, x2 in zip(Jo, Jt):
        assert x1.shape == tuple(x2.shape)
        np.testing.assert_allclose(x1.numpy(), x2.numpy())
