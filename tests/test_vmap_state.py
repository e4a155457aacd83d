"""vmap's state: ``randomness`` in the batched run (dropout: "error" refuses at once, "different"
draws per example, "same" once for the examples, per level when nested), and the state kept per
thread as torch's (the levels under way, the default generators' stand-ins): vmap in two threads
at once, and a third drawing random numbers outside vmap meanwhile."""
import sys
import threading

import numpy as np
import pytest

import minitf as mt
import minitf.nn.functional as F
from minitf import autograd
from minitf.func import grad, vmap

V = sys.modules["minitf.func.vmap"]


@pytest.fixture(autouse=True)
def _no_stale_fallback():
    # last_fallback is only set when a run gives way to the loop: clear what an earlier test's
    # fallback left, so "is None" below speaks of this test's runs (it failed in file order)
    V.last_fallback = None
B, N, P = 6, 400, 0.5


def _counted(f):
    calls = [0]

    def g(*a):
        calls[0] += 1
        return f(*a)
    return g, calls


def _kept(out, x):
    """The dropout masks of ``out = dropout(x)`` (x nonzero): True where kept, after checking
    every element is 0 or x / (1 - p)."""
    o, x = out.numpy(), x.numpy()
    kept = o != 0
    np.testing.assert_allclose(o[kept], x[kept] / (1 - P), rtol=1e-12)
    assert 0.35 < kept.mean() < 0.65   # (N elements per example: far from 0 and from 1)
    return kept


def test_dropout_in_randomness_error_mode_raises_at_once():
    f, calls = _counted(lambda x: F.dropout(x, P))
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(f)(mt.ones(B, N))
    assert calls[0] == 1   # the batched run refused it (no loop)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="randomness error mode"):
        torch.func.vmap(lambda x: torch.nn.functional.dropout(x, P))(torch.ones(B, N))


@pytest.mark.parametrize("randomness", ["different", "same"])
def test_dropout_draws_by_randomness_in_the_batched_run(randomness, device):
    x = mt.tensor(np.random.default_rng(0).uniform(1, 2, (B, N)), dtype="float64", device=device)
    f, calls = _counted(lambda e: F.dropout(e, P) + mt.nn.Dropout(P)(e))
    mt.manual_seed(0)
    out = vmap(lambda e: (F.dropout(e, P), f(e)), randomness=randomness)(x)
    assert V.last_fallback is None and calls[0] == 1
    kept = _kept(out[0], x)
    if randomness == "same":
        assert (kept == kept[0]).all()
    else:
        assert all((kept[b] != kept[0]).any() for b in range(1, B))
    mt.manual_seed(0)   # reproducible from the default generator's seed
    np.testing.assert_array_equal(vmap(lambda e: F.dropout(e, P), randomness=randomness)(x).numpy(),
                                  out[0].numpy())
    # p = 1 drops everything (no draw); training=False and p = 0 are the identity
    assert (vmap(lambda e: F.dropout(e, 1.0), randomness=randomness)(x).numpy() == 0).all()
    np.testing.assert_array_equal(vmap(lambda e: F.dropout(e, P, training=False))(x).numpy(), x.numpy())


def test_nested_levels_draw_by_their_own_randomness():
    x = mt.ones(3, B, N, dtype="float64")
    inner_same = vmap(vmap(lambda e: F.dropout(e, P), randomness="same"), randomness="different")(x)
    assert V.last_fallback is None
    k = _kept(inner_same, x)
    assert all((k[i] == k[i, 0]).all() for i in range(3)) and (k[0] != k[1]).any()
    inner_different = vmap(vmap(lambda e: F.dropout(e, P), randomness="different"), randomness="same")(x)
    k = _kept(inner_different, x)
    assert (k == k[0]).all() and (k[0, 0] != k[0, 1]).any()
    with pytest.raises(RuntimeError, match="randomness error mode"):   # any level in error mode refuses
        vmap(vmap(lambda e: F.dropout(e, P), randomness="different"))(x)


def test_per_example_gradients_through_dropout():
    # d/dx sum(dropout(x) * x) = 2x mask / (1 - p), with each example's own mask
    x = mt.tensor(np.random.default_rng(1).uniform(1, 2, (B, N)), dtype="float64")
    g = vmap(grad(lambda e: (F.dropout(e, P) * e).sum()), randomness="different")(x)
    assert V.last_fallback is None
    kept = _kept(g / 2, x)
    assert all((kept[b] != kept[0]).any() for b in range(1, B))


def test_vmap_in_two_threads_while_a_third_draws():
    rng = np.random.default_rng(2)
    xs, w = mt.tensor(rng.standard_normal((8, 5))), mt.tensor(rng.standard_normal((3, 5)))
    problems, start = [], threading.Barrier(3)

    def nested():   # two levels in this thread; randomness "error" replaces this thread's generators only
        start.wait()
        for _ in range(60):
            out = vmap(lambda x: vmap(lambda v: (v * x).sum())(w))(xs)
            if not np.allclose(out.numpy(), xs.numpy() @ w.numpy().T, rtol=1e-12):
                problems.append("nested")

    def per_example_gradients():
        start.wait()
        ref = 2 * (xs.numpy() @ w.numpy().T)[:, :, None] * xs.numpy()[:, None, :]
        for _ in range(60):
            out = vmap(grad(lambda v, x: (F.linear(x, v) ** 2).sum()), in_dims=(None, 0))(w, xs)
            if not np.allclose(out.numpy(), ref, rtol=1e-12):
                problems.append("grad")

    def draws():   # outside vmap: the default generator, never another thread's stand-in
        start.wait()
        for _ in range(200):
            try:
                mt.randn(3)
                F.dropout(mt.ones(4), P)
            except Exception as e:   # noqa: BLE001 (any error is the failure being tested)
                problems.append(repr(e))
                return
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)   # switch threads often, inside the batched runs
    try:
        threads = [threading.Thread(target=t) for t in (nested, per_example_gradients, draws)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not problems, problems[:3]
    assert V._hook not in autograd._hooks and V._hook.users == 0   # unregistered after the last run
    assert V.active() == []
