"""scaled_dot_product_attention against a naive loop over query rows: masks, causal
(bottom-right aligned for T_q < T_k, as with a key/value cache), dropout, broadcast
batch dims; float64 gradchecks; both devices."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, assert_forward, check_op, device_tensor, floats


def naive_attention(q, k, v, mask=None, causal=False, keep=None, scale=None):
    """One query row at a time: scores against every key, softmax over the allowed ones,
    a weighted sum of value rows. A row with no allowed key outputs zeros."""
    Tq, Tk = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    extra = [] if mask is None else [mask.shape[:-2]]
    extra += [] if keep is None else [keep.shape[:-2]]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], *extra)
    Q = np.broadcast_to(q, batch + q.shape[-2:])
    K = np.broadcast_to(k, batch + k.shape[-2:])
    V = np.broadcast_to(v, batch + v.shape[-2:])
    M = np.broadcast_to(np.ones((Tq, Tk), bool) if mask is None else mask, batch + (Tq, Tk))
    D = np.broadcast_to(np.ones((Tq, Tk)) if keep is None else keep, batch + (Tq, Tk))
    out = np.zeros(batch + (Tq, v.shape[-1]))
    for b in np.ndindex(*batch):
        for i in range(Tq):
            allowed = [j for j in range(Tk) if M[b + (i, j)] and (not causal or j <= Tk - Tq + i)]
            if not allowed:
                continue
            scores = {j: scale * sum(Q[b + (i, c)] * K[b + (j, c)] for c in range(q.shape[-1])) for j in allowed}
            top = max(scores.values())
            z = sum(math.exp(s - top) for s in scores.values())
            for j in allowed:
                out[b + (i,)] += math.exp(scores[j] - top) / z * D[b + (i, j)] * V[b + (j,)]
    return out


qkv_shapes = hnp.mutually_broadcastable_shapes(signature="(m,d),(n,d),(n,e)->(m,e)", max_dims=2, max_side=3)


@settings(max_examples=25)
@given(data=st.data(), shapes=qkv_shapes, use_mask=st.booleans(), causal=st.booleans(),
       scale=st.one_of(st.none(), st.floats(0.1, 2.0)))
def test_attention(device, data, shapes, use_mask, causal, scale):
    sq, sk, sv = shapes.input_shapes
    Tq, Tk = sq[-2], sk[-2]
    causal = causal and Tq <= Tk
    q, k, v = data.draw(floats(sq)), data.draw(floats(sk)), data.draw(floats(sv))
    mask = None
    if use_mask:  # broadcastable to (..., T_q, T_k); rows with no allowed key happen
        lead = data.draw(hnp.broadcastable_shapes(shapes.result_shape[:-2], min_dims=0, max_dims=2))
        mshape = lead + (data.draw(st.sampled_from([1, Tq])), data.draw(st.sampled_from([1, Tk])))
        mask = data.draw(hnp.arrays(np.bool_, mshape))
    m = None if mask is None else mt.tensor(mask, device=device)
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=m, causal=causal, scale=scale),
             lambda q, k, v: naive_attention(q, k, v, mask, causal, scale=scale), [q, k, v], device)


@settings(max_examples=15)
@given(data=st.data(), shapes=qkv_shapes, p=st.sampled_from([0.2, 0.5]), seed=st.integers(0, 2 ** 16),
       causal=st.booleans())
def test_attention_dropout(device, data, shapes, p, seed, causal):
    sq, sk, sv = shapes.input_shapes
    causal = causal and sq[-2] <= sk[-2]
    q, k, v = data.draw(floats(sq)), data.draw(floats(sk)), data.draw(floats(sv))
    # the keep mask the op draws: uniforms of shape (broadcast(q batch, k batch), T_q, T_k)
    kshape = tuple(np.broadcast_shapes(sq[:-1], sk[:-2] + (1,))) + (sk[-2],)
    u = to_numpy(backend.default_rng(device, seed).random(kshape, dtype=np.float64))
    keep = (u >= p) / (1 - p)

    def op(q, k, v):  # a fresh, identically seeded generator: the same mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, causal=causal, dropout_p=p,
                                              generator=backend.default_rng(device, seed))

    check_op(op, lambda q, k, v: naive_attention(q, k, v, causal=causal, keep=keep), [q, k, v], device)
    # not training: no dropout at all
    tq, tk, tv = (device_tensor(a, device) for a in (q, k, v))
    assert_forward(F.scaled_dot_product_attention(tq, tk, tv, causal=causal, dropout_p=p, training=False),
                   naive_attention(q, k, v, causal=causal), device)


@settings(max_examples=10)
@given(data=st.data(), Tq=st.integers(1, 4), extra=st.integers(0, 3), d=st.integers(1, 3))
def test_causal_kv_cache_alignment(device, data, Tq, extra, d):
    """T_q < T_k: the queries are the last T_q positions. Each must equal the matching row
    of full causal self-attention over all T_k positions (what a decoder with a cache sees)."""
    Tk = Tq + extra
    q_all, k, v = data.draw(floats((Tk, d))), data.draw(floats((Tk, d))), data.draw(floats((Tk, d)))
    full = F.scaled_dot_product_attention(*(device_tensor(a, device) for a in (q_all, k, v)), causal=True)
    last = F.scaled_dot_product_attention(*(device_tensor(a, device) for a in (q_all[Tk - Tq:], k, v)),
                                          causal=True)
    np.testing.assert_allclose(last.numpy(), full.numpy()[Tk - Tq:], rtol=1e-12, atol=1e-14)
    allowed = F.causal_mask(Tq, Tk, device=device)
    assert allowed.device == device
    expected = np.array([[j <= Tk - Tq + i for j in range(Tk)] for i in range(Tq)])
    np.testing.assert_array_equal(allowed.numpy(), expected)
    # causal=True and the explicit mask agree, values and gradients
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=allowed),
             lambda q, k, v: naive_attention(q, k, v, causal=True), [q_all[Tk - Tq:], k, v], device)


def test_attention_gradcheck_bigger_than_max_elements(device):
    # (2, 2, 5, 8) inputs have 160 elements; with max_elements=64 gradcheck uses random directions
    rng = np.random.default_rng(7)
    q, k, v = (device_tensor(rng.standard_normal((2, 2, 5, 8)), device) for _ in range(3))
    assert mt.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True),
                        [q, k, v], max_elements=64, num_directions=4, rtol=RTOL, atol=ATOL)


# the chunks run on the CPU only (the fake device, standing for a GPU, runs one chunk): the
# device fixture still runs these there, checking that path with the same inputs
@pytest.mark.parametrize("chunk", [2, 3])
def test_causal_query_chunks_check_against_the_reference(device, monkeypatch, chunk):
    """Causal attention in query chunks that skip the keys they cannot see (T_q == T_k > chunk):
    values against the naive reference and a float64 gradcheck, for plain and multi-head attention."""
    from minitf.ops import attention
    monkeypatch.setattr(attention, "_QUERY_CHUNK", chunk)
    assert len(attention._query_chunks(13, 13, True)) == -(-13 // chunk)   # chunked from 4 chunks up
    assert len(attention._query_chunks(4 * chunk - 1, 4 * chunk - 1, True)) == 1
    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal((2, 2, 13, 4)) for _ in range(3))
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True),
             lambda q, k, v: naive_attention(q, k, v, causal=True), [q, k, v], device)
    y = F.scaled_dot_product_attention(*(device_tensor(a, device) for a in (q, k, v)), causal=True)
    assert len(y._fn.chunks) == (-(-13 // chunk) if device == "cpu" else 1)
    qkv = device_tensor(rng.standard_normal((2, 13, 18)), device)   # C = 6, 3 heads of 2
    assert mt.gradcheck(lambda x: F.multi_head_self_attention(x, 3), [qkv], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("chunk", [2, 3])
def test_causal_query_chunks_equal_one_chunk_with_dropout(device, monkeypatch, restore_rng, chunk):
    """With dropout too (same keep mask from the same seed), chunked and whole agree, forward and backward."""
    from minitf.ops import attention
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal((2, 3, 13, 4)) for _ in range(3)]
    g = rng.standard_normal((2, 3, 13, 4))
    results = []
    for c in (chunk, 1000):
        monkeypatch.setattr(attention, "_QUERY_CHUNK", c)
        mt.manual_seed(3)
        ts = [device_tensor(a, device) for a in arrays]
        y = F.scaled_dot_product_attention(*ts, causal=True, dropout_p=0.25)
        y.backward(mt.tensor(g, device=device))
        results.append([to_numpy(y.data)] + [to_numpy(_grad_array(t)) for t in ts])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _grad_array(t):
    """``t.grad`` as a backend array, whether it is one or (as in PyTorch) a Tensor."""
    return t.grad.data if isinstance(t.grad, mt.Tensor) else t.grad


@pytest.mark.parametrize("steps", [[1] * 6, [3, 1, 2], [6]])
def test_cached_multi_head_self_attention_equals_the_full_pass(device, steps):
    # tokens fed through the cache in pieces give the rows of one causal pass over all of them
    from .conftest import randt
    rng = np.random.default_rng(len(steps))
    B, T, H, hd = 2, sum(steps), 3, 4
    qkv = randt(rng, B, T, 3 * H * hd, device=device, requires_grad=False)
    full = to_numpy(F.multi_head_self_attention(qkv, H).data)
    k_cache = mt.zeros(B, H, 8, hd, dtype="float64", device=device)
    v_cache = mt.zeros(B, H, 8, hd, dtype="float64", device=device)
    outs, start = [], 0
    for n in steps:
        outs.append(to_numpy(F.cached_multi_head_self_attention(qkv[:, start:start + n], H, k_cache, v_cache,
                                                                start).data))
        start += n
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-12, atol=1e-14)
    heads = to_numpy(qkv.data).reshape(B, T, 3, H, hd).transpose(2, 0, 3, 1, 4)
    np.testing.assert_array_equal(to_numpy(k_cache.data)[:, :, :T], heads[1])   # the cache holds the keys
    np.testing.assert_array_equal(to_numpy(v_cache.data)[:, :, :T], heads[2])


def test_cached_multi_head_self_attention_refuses_what_it_cannot_do():
    qkv = mt.zeros(1, 2, 12, requires_grad=True)
    cache, other = mt.zeros(1, 2, 4, 2), mt.zeros(1, 2, 4, 2)
    with pytest.raises(RuntimeError, match="no_grad"):
        F.cached_multi_head_self_attention(qkv, 2, cache, other, 0)
    with mt.no_grad():
        with pytest.raises(ValueError, match="too few"):
            F.cached_multi_head_self_attention(qkv, 2, cache, other, 3)
        with pytest.raises(ValueError, match="k_cache must be"):
            F.cached_multi_head_self_attention(qkv, 2, mt.zeros(1, 2, 4, 3), other, 0)
        with pytest.raises(ValueError, match="start must be"):
            F.cached_multi_head_self_attention(qkv, 2, cache, other, -1)
        with pytest.raises(ValueError, match="qkv must be"):
            F.cached_multi_head_self_attention(qkv, 5, cache, other, 0)


def test_cached_attention_refuses_one_buffer_twice_and_a_bad_head_count():
    with mt.no_grad():
        qkv, cache = mt.zeros(1, 1, 12), mt.zeros(1, 2, 4, 2)
        with pytest.raises(ValueError, match="two buffers"):
            F.cached_multi_head_self_attention(qkv, 2, cache, cache, 0)
        with pytest.raises(ValueError, match="n_head must be"):
            F.cached_multi_head_self_attention(qkv, 0, cache, mt.zeros(1, 2, 4, 2), 0)
