"""mt.Generator and the default generators' seed and state functions, against torch's API."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F


@pytest.fixture(autouse=True)
def _restore(restore_rng):
    yield


def _np(t):
    return mt.backend.to_numpy(t.data)


def test_generator_api_as_torch():
    torch = pytest.importorskip("torch")
    g, tg = mt.Generator(), torch.Generator()
    assert g.initial_seed() == tg.initial_seed() == 67280421310721
    assert g.device == "cpu" and str(tg.device) == "cpu"
    assert g.manual_seed(3) is g and tg.manual_seed(3) is tg
    assert g.initial_seed() == tg.initial_seed() == 3
    assert g.manual_seed(-1).initial_seed() == tg.manual_seed(-1).initial_seed() == 2 ** 64 - 1
    with pytest.raises(ValueError):
        g.manual_seed(2 ** 64)
    with pytest.raises(TypeError):
        g.manual_seed("x")
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2 ** 64
    assert g.set_state(g.get_state()) is g and tg.set_state(tg.get_state()) is tg


def test_a_seeded_generator_draws_what_the_seeded_default_generator_draws(device):
    mt.manual_seed(11)
    default = _np(mt.rand(5, device=device))
    g = mt.Generator(device).manual_seed(11)
    np.testing.assert_array_equal(_np(mt.rand(5, device=device, generator=g)), default)
    # and each generator its own stream: the default one moved on, the other did not
    assert not np.array_equal(_np(mt.rand(5, device=device)), default)


def test_state_round_trip_and_reproducible_seed(device, tmp_path):
    g = mt.Generator(device).manual_seed(5)
    state = g.get_state()
    assert state.dtype == mt.uint8 and state.ndim == 1 and state.device == "cpu"
    a = _np(mt.randn(4, device=device, generator=g))
    mt.save({"state": state}, tmp_path / "g.npz")  # pickle-free
    g.set_state(mt.load(tmp_path / "g.npz")["state"])
    np.testing.assert_array_equal(_np(mt.randn(4, device=device, generator=g)), a)
    s = g.seed()
    b = _np(mt.rand(3, device=device, generator=g))
    np.testing.assert_array_equal(_np(mt.rand(3, device=device, generator=g.manual_seed(s))), b)


def test_a_generator_of_another_device_is_refused(device):
    other = "cpu" if device != "cpu" else "fake"
    with pytest.raises(RuntimeError, match="generator is on"):
        mt.rand(2, device=device, generator=mt.Generator(other))
    with pytest.raises(RuntimeError, match="generator is on"):
        mt.zeros(2, device=device).normal_(generator=mt.Generator(other))


def test_every_generator_user_refuses_a_generator_of_another_device(device):
    other = "cpu" if device != "cpu" else "fake"
    g = mt.Generator(other)
    x = mt.rand(1, 2, 3, 4, device=device)
    calls = {"dropout": lambda: F.dropout(x, 0.5, generator=g),
             "scaled_dot_product_attention": lambda: F.scaled_dot_product_attention(x, x, x, dropout_p=0.5, generator=g),
             "multi_head_self_attention": lambda: F.multi_head_self_attention(
                 mt.rand(2, 3, 6, device=device), 2, dropout_p=0.5, generator=g),
             "sample_logits": lambda: F.sample_logits(mt.rand(2, 5, device=device), generator=g)}
    for name, call in calls.items():
        # one error naming both devices (not a backend TypeError from mixing arrays)
        with pytest.raises(RuntimeError, match=f"{name}: the generator is on '{other}' but the tensor on '{device}'"):
            call()


def test_host_draws_need_a_cpu_generator(device):
    from minitf.utils.data import DataLoader, TensorDataset, random_split
    fake = mt.Generator("fake")
    with pytest.raises(RuntimeError, match="nn.init: the generator is on 'fake'.*Generator\\(device='cpu'\\)"):
        mt.nn.init.normal_(mt.zeros(3, device=device), generator=fake)
    with pytest.raises(RuntimeError, match="nn.init: the generator is on 'fake'"):
        mt.nn.init.orthogonal_(mt.zeros(3, 3, device=device), generator=fake)
    data = TensorDataset(mt.arange(4))
    with pytest.raises(RuntimeError, match="random_split: the generator is on 'fake'"):
        random_split(data, [2, 2], generator=fake)
    with pytest.raises(RuntimeError, match="random_split: the generator is on 'fake'"):
        list(DataLoader(data, shuffle=True, generator=fake))
    # a CPU Generator fills a parameter on any device
    w = mt.zeros(3, device=device)
    mt.nn.init.uniform_(w, generator=mt.Generator("cpu"))
    assert (_np(w) != 0).all()


def test_every_generator_argument_takes_a_generator(device):
    def draws(seed):
        g = mt.Generator(device).manual_seed(seed)
        x = mt.ones(6, device=device)
        out = [mt.rand(3, device=device, generator=g), mt.randn(3, device=device, generator=g),
               mt.randint(0, 9, (3,), device=device, generator=g), mt.randperm(5, device=device, generator=g),
               mt.rand_like(x, generator=g), mt.multinomial(x, 3, generator=g), mt.bernoulli(x * 0.5, generator=g),
               F.dropout(x, 0.5, generator=g), x.clone().normal_(generator=g), x.clone().random_(9, generator=g)]
        return [_np(t).tolist() for t in out]
    assert draws(7) == draws(7) and draws(7) != draws(8)
    # nn.init draws on the host: a CPU Generator, as a NumPy one still is
    w = mt.zeros(4, 3)
    mt.nn.init.normal_(w, generator=mt.Generator().manual_seed(1))
    v = _np(w).copy()
    mt.nn.init.normal_(w, generator=mt.Generator().manual_seed(1))
    np.testing.assert_array_equal(_np(w), v)
    # torch.utils.data's shuffles too
    from minitf.utils.data import DataLoader, TensorDataset, random_split
    data = TensorDataset(mt.arange(10))

    def shuffles(seed):
        parts = random_split(data, [4, 6], generator=mt.Generator().manual_seed(seed))
        loader = DataLoader(data, batch_size=10, shuffle=True, generator=mt.Generator().manual_seed(seed))
        return [list(p.indices) for p in parts], [_np(b[0]).tolist() for b in loader]
    assert shuffles(3) == shuffles(3) and shuffles(3) != shuffles(4)
    np.testing.assert_array_equal(_np(mt.rand(3, generator=np.random.default_rng(0))),
                                  np.random.default_rng(0).random(3, dtype=np.float32))


def test_bad_states_are_refused():
    g = mt.Generator()
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(mt.zeros(56))
    with pytest.raises(RuntimeError, match="not a minitf generator state"):
        g.set_state(mt.zeros(10, dtype="uint8"))
    with pytest.raises(TypeError, match="uint8"):
        mt.set_rng_state({"state": 1})


def test_default_generator_seed_and_state():
    torch = pytest.importorskip("torch")
    assert isinstance(torch.initial_seed(), int) and isinstance(mt.initial_seed(), int)
    mt.manual_seed(42)
    assert mt.initial_seed() == 42
    state = mt.get_rng_state()
    assert state.dtype == mt.uint8 and torch.get_rng_state().dtype == torch.uint8
    a = _np(mt.rand(4))
    mt.set_rng_state(state)
    np.testing.assert_array_equal(_np(mt.rand(4)), a)
    s = mt.seed()
    assert mt.initial_seed() == s
    b = _np(mt.randn(3))
    mt.manual_seed(s)
    np.testing.assert_array_equal(_np(mt.randn(3)), b)


def test_unseeded_initial_seed_is_the_seed_in_use():
    from minitf import random as mt_random
    mt_random._seed = None
    mt_random._generators.clear()
    a = _np(mt.rand(3))
    mt.manual_seed(mt.initial_seed())
    np.testing.assert_array_equal(_np(mt.rand(3)), a)


def test_a_numpy_generator_with_a_device_tensor_gets_one_clear_error():
    x = mt.rand(3, device="fake")
    with pytest.raises(mt.DeviceError, match="NumPy Generator draws on the host"):
        F.dropout(x, 0.5, generator=np.random.default_rng(0))
    assert F.dropout(mt.rand(3), 0.5, generator=np.random.default_rng(0)).shape == (3,)  # on the CPU: fine
