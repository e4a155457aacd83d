"""CharRNN: end-to-end gradcheck of the LSTM (and RNN) language model, carried state for
truncated BPTT, generation, the fake device."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn
from minitf.models import CharRNN, CharRNNConfig


def tiny_rnn(cell="lstm", device="cpu", dtype="float64", seed=0, **kw):
    mt.manual_seed(seed)
    cfg = CharRNNConfig(**{**dict(vocab_size=6, n_embd=5, n_layer=2, cell=cell), **kw})
    return CharRNN(cfg).to(device=device, dtype=dtype)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_whole_language_model_gradcheck(cell, restore_rng):
    model = tiny_rnn(cell)
    rng = np.random.default_rng(0)
    idx, targets = mt.tensor(rng.integers(0, 6, (2, 5))), mt.tensor(rng.integers(0, 6, (2, 5)))
    params = list(model.parameters())
    assert len(params) == len(model.state_dict())
    assert mt.gradcheck(lambda *p: F.cross_entropy(model(idx).flatten(0, 1), targets.flatten()), params,
                        max_elements=64)


def test_structure_and_counts():
    model = tiny_rnn()
    names = list(model.state_dict())
    assert names[:2] == ["wte.weight", "rnn.weight_ih_l0"] and names[-2:] == ["lm_head.weight", "lm_head.bias"]
    assert isinstance(model.rnn, nn.LSTM) and isinstance(tiny_rnn("rnn").rnn, nn.RNN)
    assert model.rnn.batch_first is True  # (B, T) token ids; nn.LSTM itself defaults to time-major
    assert model.num_parameters() - model.num_parameters(exclude_embeddings=True) == 6 * 5
    with pytest.raises(ValueError, match="cell must be 'lstm' or 'rnn'"):
        CharRNNConfig(6, 5, 1, cell="gru")
    with pytest.raises(ValueError, match="n_layer must be a positive int"):
        CharRNNConfig(6, 5, 0)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_state_in_and_out_continue_the_sequence(device, cell, restore_rng):
    model = tiny_rnn(cell, device)
    x = np.random.default_rng(1).integers(0, 6, (3, 10))
    whole = model(x).numpy()
    a, state = model(x[:, :6], return_state=True)
    b, state2 = model(x[:, 6:], state=nn.detach_state(state), return_state=True)
    np.testing.assert_allclose(np.concatenate([a.numpy(), b.numpy()], axis=1), whole, rtol=1e-12, atol=1e-14)
    if cell == "lstm":
        assert isinstance(state2, tuple) and state2[0].shape == (2, 3, 5)
    else:
        assert state2.shape == (2, 3, 5)


def test_generate(restore_rng):
    model = tiny_rnn().eval()
    mt.manual_seed(3)
    out = model.generate([[1, 2, 3]], 12, temperature=0.9, top_k=3).numpy()
    assert out.shape == (1, 15) and out[0, :3].tolist() == [1, 2, 3] and out.max() < 6
    mt.manual_seed(3)
    np.testing.assert_array_equal(model.generate([[1, 2, 3]], 12, temperature=0.9, top_k=3).numpy(), out)
    greedy = model.generate([[1, 2, 3]], 6, temperature=0).numpy()[0].tolist()
    seq = [1, 2, 3]
    with mt.no_grad():
        for _ in range(6):        # recompute from the whole prefix each time: same tokens as the carried state
            seq.append(int(model(np.array([seq])).numpy()[0, -1].argmax()))
    assert greedy == seq
    with pytest.raises(ValueError, match="at least one token"):
        model.generate(np.zeros((1, 0), dtype=np.int64), 2)


def test_fake_device_forward_and_backward_match_cpu(restore_rng):
    rng = np.random.default_rng(2)
    idx, targets = rng.integers(0, 6, (2, 7)), rng.integers(0, 6, (2, 7))
    grads = {}
    for device in ("cpu", "fake"):
        model = tiny_rnn("lstm", device, dropout=0.2).eval()
        x, y = mt.tensor(idx, device=device), mt.tensor(targets, device=device).flatten()
        loss = F.cross_entropy(model(x).flatten(0, 1), y)   # logits (B T, V): torch's layout
        loss.backward()
        assert all(p.grad is not None and type(p.grad.data) is type(p.data) for p in model.parameters())
        grads[device] = [mt.backend.to_numpy(p.grad.data).copy() for p in model.parameters()]
        model.train()  # and dropout between layers and before the head runs on the device too
        F.cross_entropy(model(x).flatten(0, 1), y).backward()
    for g_cpu, g_fake in zip(grads["cpu"], grads["fake"]):
        np.testing.assert_allclose(g_fake, g_cpu, rtol=1e-12, atol=1e-15)
