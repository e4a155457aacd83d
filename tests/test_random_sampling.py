"""multinomial, bernoulli and the in-place random fills against torch: shapes, dtypes and errors
exactly; values by their statistics (minitf's generators are its own, so the draws differ)."""
import numpy as np
import pytest

import minitf as mt
from minitf.fakedevice import count_host_transfers


@pytest.fixture(autouse=True)
def _restore(restore_rng):  # some draws come from the default generators
    yield


def _np(t):
    return mt.backend.to_numpy(t.data)


def _raises_like_torch(mt_call, torch_call, mt_error):
    """Both raise: torch its RuntimeError (or TypeError), minitf ``mt_error``."""
    with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
        torch_call()
    with pytest.raises(mt_error):
        mt_call()


# ------------------------------------------------------------------ multinomial

def test_multinomial_with_replacement_follows_the_weights(device):
    w = np.array([1.0, 2.0, 0.0, 3.0, 4.0])
    p = w / w.sum()
    gen = mt.Generator(device).manual_seed(0)
    draws = mt.multinomial(mt.tensor(w, device=device), 40000, replacement=True, generator=gen)
    assert draws.shape == (40000,) and draws.dtype == mt.int64 and draws.device == device
    freq = np.bincount(_np(draws), minlength=5) / 40000
    assert freq[2] == 0  # a zero weight is never drawn
    # each frequency's standard deviation is below 0.0025: 0.012 is about 5 of them
    np.testing.assert_allclose(freq, p, atol=0.012)


def test_multinomial_without_replacement_is_successive_sampling(device):
    torch = pytest.importorskip("torch")
    w = np.array([1.0, 2.0, 3.0, 4.0])
    p = w / w.sum()
    # the exact distribution of the second draw of successive weighted sampling
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    rows = mt.tensor(np.tile(w, (20000, 1)), device=device)
    draws = _np(mt.multinomial(rows, 2, generator=mt.Generator(device).manual_seed(1)))
    assert draws.shape == (20000, 2) and (draws[:, 0] != draws[:, 1]).all()
    t = torch.multinomial(torch.tensor(np.tile(w, (20000, 1))), 2, generator=torch.Generator().manual_seed(1)).numpy()
    for col, exact in ((0, p), (1, second)):
        ours, theirs = (np.bincount(d[:, col], minlength=4) / 20000 for d in (draws, t))
        # standard deviations below 0.0036: 0.018 is 5 of them (0.025 between two samples)
        np.testing.assert_allclose(ours, exact, atol=0.018)
        np.testing.assert_allclose(ours, theirs, atol=0.025)


def test_multinomial_zero_weights_come_last_without_replacement_as_torch(device):
    torch = pytest.importorskip("torch")
    w = [0.0, 1.0, 0.0, 2.0, 0.0]
    for _ in range(20):
        out = mt.multinomial(mt.tensor(w, device=device), 5).tolist()
        ref = torch.multinomial(torch.tensor(w), 5).tolist()
        # the positive categories first; the zero-weight ones after, in an order neither promises
        assert sorted(out[:2]) == sorted(ref[:2]) == [1, 3]
        assert sorted(out[2:]) == sorted(ref[2:]) == [0, 2, 4]


def test_multinomial_checks_the_generator_before_reading_flags():
    w = mt.tensor([[1.0, 2.0, 3.0]] * 4, device="fake")
    with count_host_transfers() as n:
        with pytest.raises(RuntimeError, match="multinomial: the generator is on 'cpu'"):
            mt.multinomial(w, 2, generator=mt.Generator("cpu"))
    assert n["to_host"] == 0


def test_multinomial_shapes_and_unnormalised_rows(device):
    w = mt.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0]], device=device)
    out = w.multinomial(3, replacement=True)
    assert out.shape == (2, 3) and _np(out).tolist() == [[0, 0, 0], [2, 2, 2]]
    assert mt.multinomial(mt.ones((0, 3), device=device), 2).shape == (0, 2)
    x = mt.tensor([1.0, 2.0], dtype="float64", device=device, requires_grad=True)
    out = mt.multinomial(x, 2)
    assert not out.requires_grad and sorted(_np(out).tolist()) == [0, 1]


def test_multinomial_reads_one_array_of_flags_from_the_device():
    w = mt.tensor([[1.0, 2.0, 3.0]] * 4, device="fake")
    with count_host_transfers() as n:
        mt.multinomial(w, 2)
        mt.multinomial(w, 5, replacement=True)
    assert n["to_host"] == 2 and n["to_device"] == 0


@pytest.mark.parametrize("weights,num_samples,replacement", [
    ([0.0, 1.0, 2.0], 4, False),          # more samples than categories
    ([-1.0, 1.0], 1, False),              # negative
    ([float("inf"), 1.0], 1, True),       # inf
    ([float("nan"), 1.0], 1, True),       # NaN
    ([0.0, 0.0], 1, True),                # zero sum
    ([[1.0, 0.0], [0.0, 0.0]], 1, False),  # one row of zero sum
    ([1.0, 1.0], 0, True),                # no samples
    ([1.0, 1.0], -1, True),
    (1.0, 1, True),                       # 0-d
    ([[[1.0]]], 1, True),                 # 3-d
])
def test_multinomial_errors_as_torch(device, weights, num_samples, replacement):
    torch = pytest.importorskip("torch")
    _raises_like_torch(lambda: mt.multinomial(mt.tensor(weights, device=device), num_samples, replacement),
                       lambda: torch.multinomial(torch.tensor(weights), num_samples, replacement), RuntimeError)


def test_multinomial_refuses_integer_weights(device):
    torch = pytest.importorskip("torch")
    _raises_like_torch(lambda: mt.multinomial(mt.tensor([1, 2], device=device), 1),
                       lambda: torch.multinomial(torch.tensor([1, 2]), 1), TypeError)


# ------------------------------------------------------------------ bernoulli

def test_bernoulli_rate_shape_and_dtype(device):
    p = np.array([0.0, 0.25, 0.5, 1.0])
    x = mt.tensor(np.tile(p, (20000, 1)), dtype="float64", device=device)
    out = mt.bernoulli(x, generator=mt.Generator(device).manual_seed(2))
    assert out.shape == x.shape and out.dtype == mt.float64 and out.device == device
    v = _np(out)
    assert set(np.unique(v)) <= {0.0, 1.0}
    np.testing.assert_allclose(v.mean(axis=0), p, atol=0.02)  # std of a rate <= 0.0036
    assert v[:, 0].sum() == 0 and v[:, 3].all()
    assert x.bernoulli().shape == x.shape
    # with a number p, input gives only the shape and dtype (any dtype), as torch.bernoulli(input, p)
    ints = mt.zeros((N, 2), dtype="int64", device=device)
    v = _np(mt.bernoulli(ints, 0.25, generator=mt.Generator(device).manual_seed(9)))
    assert v.dtype == np.int64 and v.shape == (N, 2) and abs(v.mean() - 0.25) < 0.012  # std error 0.0015
    assert _np(ints.bernoulli(1.0)).all() and not _np(x.bernoulli(0.0)).any()
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        mt.bernoulli(x, 2.0)


@pytest.mark.parametrize("p", [[2.0], [-0.5], [float("nan")]])
def test_bernoulli_refuses_probabilities_outside_0_1(device, p):
    torch = pytest.importorskip("torch")
    _raises_like_torch(lambda: mt.bernoulli(mt.tensor(p, device=device)),
                       lambda: torch.bernoulli(torch.tensor(p)), RuntimeError)
    with pytest.raises(TypeError):
        mt.bernoulli(mt.tensor([1, 0], device=device))


def test_bernoulli_of_probabilities_that_require_grad_has_a_zero_gradient_as_torch(device):
    torch = pytest.importorskip("torch")
    p = mt.tensor([0.2, 0.7, 1.0], dtype="float64", device=device, requires_grad=True)
    out = mt.bernoulli(p)
    tp = torch.tensor([0.2, 0.7, 1.0], dtype=torch.float64, requires_grad=True)
    tout = torch.bernoulli(tp)
    assert out.requires_grad == tout.requires_grad is True
    (out * 3.0).sum().backward()
    (tout * 3.0).sum().backward()
    assert _np(p.grad).tolist() == tp.grad.tolist() == [0.0, 0.0, 0.0]
    # differentiable twice (create_graph), still zero
    (g,) = mt.grad((mt.bernoulli(p) * p).sum(), [p], create_graph=True)
    (gg,) = mt.grad((g * g).sum(), [p])
    assert set(_np(g).tolist()) <= {0.0, 1.0} and _np(gg).tolist() == [0.0, 0.0, 0.0]
    assert not mt.bernoulli(p.detach()).requires_grad
    assert not mt.bernoulli(p, 0.5).requires_grad  # a number p: input only gives the shape
    with mt.no_grad():
        assert not mt.bernoulli(p).requires_grad


def test_bernoulli_checks_the_generator_before_reading_flags():
    p = mt.full((4,), 0.5, device="fake")
    with count_host_transfers() as n:
        with pytest.raises(RuntimeError, match="bernoulli: the generator is on 'cpu'"):
            mt.bernoulli(p, generator=mt.Generator("cpu"))
        with pytest.raises(RuntimeError, match="bernoulli_: the generator is on 'cpu'"):
            mt.zeros(4, device="fake").bernoulli_(p, generator=mt.Generator("cpu"))
    assert n["to_host"] == 0


# ------------------------------------------------------------------ in-place fills

N = 40000


def test_normal_uniform_exponential_fill_with_their_distributions(device):
    gen = mt.Generator(device).manual_seed(3)
    x = mt.zeros(N, dtype="float64", device=device)
    v = _np(x.normal_(2.0, 3.0, generator=gen))
    assert abs(v.mean() - 2.0) < 0.08 and abs(v.std() - 3.0) < 0.08  # std errors 0.015 and 0.011
    v = _np(x.uniform_(-1.0, 3.0, generator=gen))
    assert v.min() >= -1.0 and v.max() < 3.0 and abs(v.mean() - 1.0) < 0.04  # std error 0.006
    v = _np(x.uniform_(**{"from": 5.0, "to": 6.0}, generator=gen))
    assert v.min() >= 5.0 and v.max() < 6.0
    v = _np(x.exponential_(4.0, generator=gen))
    assert v.min() >= 0 and abs(v.mean() - 0.25) < 0.01  # std error 0.00125
    x16 = mt.zeros(8, dtype="float16", device=device).normal_()
    assert x16.dtype == mt.float16


def test_bernoulli_and_random_fill_any_dtype(device):
    gen = mt.Generator(device).manual_seed(4)
    x = mt.zeros(N, dtype="int64", device=device)
    v = _np(x.bernoulli_(0.3, generator=gen))
    assert set(np.unique(v)) == {0, 1} and abs(v.mean() - 0.3) < 0.012
    p = mt.tensor([0.0, 1.0, 0.5], device=device)
    v = _np(mt.zeros((N, 3), device=device).bernoulli_(p, generator=gen))
    assert v[:, 0].sum() == 0 and v[:, 1].all() and abs(v[:, 2].mean() - 0.5) < 0.012
    v = _np(x.random_(-3, 4, generator=gen))
    assert set(np.unique(v)) == set(range(-3, 4))
    v = _np(x.random_(5, generator=gen))
    assert set(np.unique(v)) == set(range(5))
    v = _np(mt.zeros(N, dtype="uint8", device=device).random_(generator=gen))
    assert v.min() == 0 and v.max() == 255
    v = _np(mt.zeros(N, dtype="bool", device=device).random_(generator=gen))
    assert set(np.unique(v)) == {False, True}
    v = _np(mt.zeros(N, dtype="float32", device=device).random_(generator=gen))
    assert v.min() >= 0 and v.max() <= 2 ** 24 and (v == np.round(v)).all() and v.max() > 2 ** 23
    v = _np(mt.zeros(N, dtype="int64", device=device).random_(generator=gen))
    assert v.min() >= 0 and v.max() > 2 ** 62


def test_random_fills_keep_the_tensor_and_bump_its_version(device):
    x = mt.zeros(5, device=device)
    for fill in (lambda t: t.normal_(), lambda t: t.uniform_(), lambda t: t.exponential_(),
                 lambda t: t.bernoulli_(), lambda t: t.random_(0, 3)):
        v = x._version
        assert fill(x) is x and x._version == v + 1 and x.device == device
    with count_host_transfers() as n:
        mt.zeros(5, device="fake").normal_().uniform_().exponential_().bernoulli_(0.5).random_(3)
    assert n == {"to_host": 0, "to_device": 0}


def test_random_fills_on_a_leaf_that_requires_grad_as_torch(device):
    torch = pytest.importorskip("torch")
    fills = ("normal_", "uniform_", "exponential_", "bernoulli_", "random_")
    for name in fills:
        tx = torch.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            getattr(tx, name)()
        x = mt.ones(3, device=device, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            getattr(x, name)()
        with mt.no_grad():  # allowed there, as in torch
            v = x._version
            getattr(x, name)()
            assert x._version == v + 1
    # in a graph: the fill is recorded, and the old value's gradient is 0 (torch's NormalBackward)
    x = mt.ones(3, dtype="float64", device=device, requires_grad=True)
    y = x * 2
    y.normal_()
    (y * x).sum().backward()
    tx = torch.ones(3, dtype=torch.float64, requires_grad=True)
    ty = tx * 2
    ty.normal_()
    (ty * tx).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(y.detach()))  # only the product's direct path
    np.testing.assert_allclose(tx.grad.numpy(), ty.detach().numpy())


@pytest.mark.parametrize("dtype,call", [
    ("float32", lambda t: t.normal_(0, -1)),
    ("float32", lambda t: t.uniform_(1, 0)),
    ("float32", lambda t: t.exponential_(0)),
    ("float32", lambda t: t.exponential_(-1)),
    ("float32", lambda t: t.bernoulli_(1.5)),
    ("int64", lambda t: t.random_(5, 5)),
    ("int64", lambda t: t.random_(5, 2)),
    ("uint8", lambda t: t.random_(-1, 3)),
    ("uint8", lambda t: t.random_(0, 300)),
    ("bool", lambda t: t.random_(0, 3)),
])
def test_random_fill_errors_as_torch(device, dtype, call):
    torch = pytest.importorskip("torch")
    _raises_like_torch(lambda: call(mt.zeros(3, dtype=dtype, device=device)),
                       lambda: call(torch.zeros(3, dtype=getattr(torch, dtype))), RuntimeError)


@pytest.mark.parametrize("call", [lambda t: t.normal_(), lambda t: t.uniform_(), lambda t: t.exponential_()])
def test_continuous_fills_refuse_integer_tensors_as_torch(device, call):
    torch = pytest.importorskip("torch")
    _raises_like_torch(lambda: call(mt.zeros(3, dtype="int64", device=device)),
                       lambda: call(torch.zeros(3, dtype=torch.int64)), TypeError)


def test_random_fill_argument_errors(device):
    x = mt.zeros(3, device=device)
    with pytest.raises(TypeError, match="from"):
        x.random_(0.5, 3)
    with pytest.raises(TypeError):
        x.uniform_(0, 1, 2)
    with pytest.raises(RuntimeError, match="broadcast"):
        x.bernoulli_(mt.tensor([0.5, 0.5], device=device))
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        x.bernoulli_(mt.tensor([0.5, 2.0, 0.5], device=device))


def test_fills_refuse_a_broadcast_view_before_drawing(device):
    torch = pytest.importorskip("torch")
    fills = {"normal_": lambda t: t.normal_(), "uniform_": lambda t: t.uniform_(),
             "exponential_": lambda t: t.exponential_(), "bernoulli_": lambda t: t.bernoulli_(0.5),
             "random_": lambda t: t.random_(3)}
    for name, fill in fills.items():
        with pytest.raises(RuntimeError):  # torch refuses too ("more than one element ... refers to ...")
            fill(torch.zeros(3).expand(2, 3))
        g = mt.Generator(device).manual_seed(1)
        x = mt.broadcast_to(mt.zeros(3, device=device), (2, 3))
        state = g.get_state().tolist() if device != "gpu" else None
        with pytest.raises(RuntimeError, match=f"{name}: cannot write in place .* broadcast view"):
            getattr(x, name)(*((0.5,) if name == "bernoulli_" else (3,) if name == "random_" else ()), generator=g)
        if state is not None:
            assert g.get_state().tolist() == state  # refused before anything was drawn
    with pytest.raises(RuntimeError, match="nn.init: cannot write in place"):
        mt.nn.init.normal_(mt.zeros(3, device=device).expand(2, 3))
    # a view that does not repeat elements (a slice) is filled as before
    base = mt.zeros(2, 3, device=device)
    base[0].normal_()
    assert _np(base)[0].all() and not _np(base)[1].any()
    assert mt.zeros(2, 0, device=device).normal_().shape == (2, 0)  # NumPy gives it a zero stride: no element
