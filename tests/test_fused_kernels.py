"""The fused CUDA kernels (minitf/backend/fused.py) against the array path they replace.

Each comparison runs twice: on a real GPU (``gpu``, skipped without one), the kernels themselves
(``MINITF_FUSED_KERNELS=1`` against ``=0``); and on the CPU (``cpu-reference``), the kernels written
again with NumPy (tests/fused_reference.py) standing in, which checks the ops' fused branches and
their wiring (shapes, in-place writes, masks, the optimizer's scalars) everywhere."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend, optim
from minitf import functional as F
from minitf.backend import fused as fused_module
from minitf.backend.fused import kernels_for
from tests import fused_reference

gpu = pytest.mark.skipif(not backend.gpu_available(), reason="the fused kernels need a real GPU")
# the CUDA compiler may contract a multiply and an add into one fma: a rounding or two apart
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.mark.parametrize("asked", [None, "0", "1"])
def test_the_cpu_and_the_fake_device_take_the_array_path(monkeypatch, asked):
    monkeypatch.setattr(fused_module, "stand_in", None)   # (MINITF_TEST_FUSED_REFERENCE=1 sets it)
    if asked is not None:
        monkeypatch.setenv("MINITF_FUSED_KERNELS", asked)
    assert kernels_for(np) is None
    assert kernels_for(backend.array_module("fake")) is None


KERNELS = ("gelu_tanh", "gelu_tanh_backward", "layer_norm_rows", "layer_norm_rows_backward", "attention_softmax",
           "attention_softmax_backward", "cross_entropy_rows", "cross_entropy_rows_backward", "adam_update")


def test_kernels_are_offered_only_for_arrays_they_compute(monkeypatch):
    monkeypatch.setattr(fused_module, "stand_in", fused_reference)
    f32, f64, f16 = (np.zeros(3, dtype=d) for d in (np.float32, np.float64, np.float16))
    assert kernels_for(np) is fused_reference and kernels_for(np, f32, f32) is fused_reference
    assert kernels_for(np, f64) is fused_reference
    assert kernels_for(np, f16) is None and kernels_for(np, f32, f64) is None   # float16, a mix: the array path


def switch(where, monkeypatch):
    """(kernels, device, fused_on) for ``where``: "gpu" (skipped without one: the kernels, switched
    by MINITF_FUSED_KERNELS) or "cpu-reference" (their NumPy stand-in, switched by ``stand_in``)."""
    if where == "gpu":
        if not backend.gpu_available():
            pytest.skip("the fused kernels need a real GPU")
        return fused_module, "gpu", lambda on: monkeypatch.setenv("MINITF_FUSED_KERNELS", "1" if on else "0")
    return fused_reference, "cpu", lambda on: monkeypatch.setattr(fused_module, "stand_in",
                                                                 fused_reference if on else None)


@pytest.fixture(params=["gpu", "cpu-reference"])
def paths(request, monkeypatch):
    """(device, both): both(run, uses) is run() on the fused path, then on the array path; it
    checks that the fused run called each kernel named in ``uses`` and the array run none."""
    kernels, device, fused_on = switch(request.param, monkeypatch)
    calls = []
    for name in KERNELS:   # a guard that falls back silently would otherwise pass as a match
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _real=real, _name=name, **k: (calls.append(_name),
                                                                                   _real(*a, **k))[1])

    def both(run, uses):
        fused_on(True)
        fused = run()
        assert set(uses) <= set(calls), f"the fused run called {sorted(set(calls))}, not all of {sorted(uses)}"
        calls.clear()
        fused_on(False)
        plain = run()
        assert not calls, f"the array run called {sorted(set(calls))}"
        return fused, plain
    return device, both


def test_the_stand_in_makes_the_cpu_take_the_fused_branches(monkeypatch):
    calls = []
    monkeypatch.setattr(fused_module, "stand_in", fused_reference)
    for name in ("gelu_tanh", "layer_norm_rows", "attention_softmax", "cross_entropy_rows", "adam_update"):
        real = getattr(fused_reference, name)
        monkeypatch.setattr(fused_reference, name, lambda *a, _real=real, _name=name, **k: (calls.append(_name),
                                                                                            _real(*a, **k))[1])
    x = mt.randn(4, 8, 16, requires_grad=True)
    loss = F.cross_entropy(F.gelu(F.layer_norm(x, (16,)), approximate="tanh").reshape(-1, 16),
                           mt.zeros(32, dtype=mt.int64))
    y = F.scaled_dot_product_attention(x, x, x, causal=True)
    (loss + y.sum()).backward()
    opt = optim.AdamW([x])
    opt.step()
    assert set(calls) == {"gelu_tanh", "layer_norm_rows", "attention_softmax", "cross_entropy_rows", "adam_update"}


@gpu
def test_fused_kernels_on_the_gpu_only_when_asked_for(monkeypatch):
    monkeypatch.delenv("MINITF_FUSED_KERNELS", raising=False)
    assert kernels_for(backend.array_module("gpu")) is None      # off by default, until checked on a GPU
    monkeypatch.setenv("MINITF_FUSED_KERNELS", "1")
    assert kernels_for(backend.array_module("gpu")) is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 1001), (64, 256, 96)])
def test_gelu_tanh_matches_the_array_path(paths, dtype, shape):
    rng = np.random.default_rng(0)
    x0 = (rng.standard_normal(shape) * 3).astype(dtype)
    g0 = rng.standard_normal(shape).astype(dtype)

    device, both = paths

    def run():
        x = mt.tensor(x0, device=device, requires_grad=True)
        y = F.gelu(x, approximate="tanh")
        y.backward(mt.tensor(g0, device=device))
        return y.numpy(), x.grad.numpy()

    (y, dx), (y0, dx0) = both(run, {"gelu_tanh", "gelu_tanh_backward"})
    np.testing.assert_allclose(y, y0, **TOL[dtype])
    np.testing.assert_allclose(dx, dx0, **TOL[dtype])
    # and against float64 on the host
    xd = x0.astype(np.float64)
    t = np.tanh(np.sqrt(2 / np.pi) * (xd + 0.044715 * xd ** 3))
    np.testing.assert_allclose(y, 0.5 * xd * (1 + t), rtol=3e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, C", [(0, 5), (1, 1), (9, 7), (1000, 32), (257, 384), (3, 1000)])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_matches_the_array_path(paths, dtype, rows, C, affine):
    rng = np.random.default_rng(1)
    x0 = (rng.standard_normal((rows, C)) * 2 + 0.5).astype(dtype)
    g0 = rng.standard_normal((rows, C)).astype(dtype)
    w0, b0 = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)

    device, both = paths

    def run():
        x = mt.tensor(x0, device=device, requires_grad=True)
        w = mt.tensor(w0, device=device, requires_grad=True) if affine in ("both", "weight") else None
        b = mt.tensor(b0, device=device, requires_grad=True) if affine in ("both", "bias") else None
        y = F.layer_norm(x, (C,), w, b, eps=1e-5)
        y.backward(mt.tensor(g0, device=device))
        return [y.numpy(), x.grad.numpy()] + [t.grad.numpy() for t in (w, b) if t is not None]

    fused, plain = both(run, {"layer_norm_rows", "layer_norm_rows_backward"})
    for a, b in zip(fused[:2], plain[:2]):
        np.testing.assert_allclose(a, b, **TOL[dtype])
    # the weight's and bias's gradients are sums over the rows of g xhat and g: the paths' xhat
    # differ by a rounding or two, and a sum of N such terms by a few eps of the sum of |terms|
    xd = x0.astype(np.float64)
    xhat = (xd - xd.mean(1, keepdims=True)) / xd.std(1, keepdims=True).clip(1e-3)
    atol = 8 * np.finfo(dtype).eps * (np.abs(g0) * np.maximum(np.abs(xhat), 1)).sum(0).max()
    for a, b in zip(fused[2:], plain[2:]):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype]["rtol"], atol=atol)


def test_layer_norm_of_a_transposed_input(paths):
    # a non-contiguous x: the kernel reads rows of C contiguous elements, so it is copied first
    x0 = np.random.default_rng(2).standard_normal((48, 5)).astype(np.float32)

    device, both = paths

    def run():
        x = mt.tensor(x0, device=device).t()
        return F.layer_norm(x, (48,)).numpy()

    fused, plain = both(run, {"layer_norm_rows"})
    np.testing.assert_allclose(fused, plain, **TOL[np.float32])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name, kw", [("AdamW", dict(weight_decay=0.1)), ("AdamW", dict(weight_decay=0.0)),
                                          ("Adam", dict(weight_decay=0.01)), ("Adam", dict(maximize=True)),
                                          ("Adam", dict(weight_decay=0.01, maximize=True))])
@pytest.mark.parametrize("foreach", [False, True])   # one kernel a tensor, or one over their flat concatenation
def test_adam_matches_the_array_path(paths, dtype, opt_name, kw, foreach):
    rng = np.random.default_rng(3)
    p0 = [rng.standard_normal(s).astype(dtype) for s in [(33, 17), (17,), ()]]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in p0] for _ in range(5)]

    device, both = paths

    def run():
        params = [mt.tensor(p, device=device, requires_grad=True) for p in p0]
        opt = getattr(optim, opt_name)(params, lr=1e-2, betas=(0.9, 0.99), foreach=foreach, **kw)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = mt.tensor(g, device=device)
            opt.step()
        return [p.numpy() for p in params] + [opt.state[p]["exp_avg_sq"].numpy() for p in params]

    fused, plain = both(run, {"adam_update"})
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("where", ["gpu", "cpu-reference"])
def test_an_optimizers_fused_option_takes_one_adam_kernel_a_bucket_where_the_kernels_are_on(monkeypatch, where):
    """``fused=True`` (torch's option) is the flat update, and where the fused kernels are on
    (MINITF_FUSED_KERNELS=1; on the CPU the stand-in) one kernel call over each bucket (a device and
    dtype) of a group's flattened tensors; with them off none (the kernel is opt-in until checked on
    a GPU: a nanoGPT port that passes fused=True gets the array path); ``fused=False`` none, ever."""
    kernels, device, kernels_on = switch(where, monkeypatch)
    calls = []
    real = kernels.adam_update
    monkeypatch.setattr(kernels, "adam_update", lambda *a, **k: (calls.append(a[0].shape), real(*a, **k))[1])
    rng = np.random.default_rng(6)
    p0 = [rng.standard_normal(s).astype(d) for s, d in [((9, 4), np.float32), ((4,), np.float32),
                                                          ((3, 3), np.float64)]]
    results = {}
    for fused, on, want in [(True, True, [(40,), (40,), (9,), (9,)]),   # float32 (36 + 4) and float64 (9), 2 steps
                            (True, False, []), (False, True, []), (None, False, [])]:
        kernels_on(on)
        params = [mt.tensor(p, device=device, requires_grad=True) for p in p0]
        opt = optim.AdamW(params, lr=1e-2, weight_decay=0.1, fused=fused)
        for step in range(2):
            for p in params:
                p.grad = mt.ones(p.shape, dtype=p.dtype, device=device) * (step + 1)
            opt.step()
        results[fused, on] = [p.numpy() for p in params]
        assert sorted(calls) == sorted(want), (fused, on, calls)
        calls.clear()
    for a, b, c, p in zip(results[True, True], results[True, False], results[False, True], p0):
        np.testing.assert_allclose(a, b, **TOL[p.dtype.type])
        assert b.tobytes() == c.tobytes()   # both the array path


def test_a_gpt_step_with_fused_kernels_matches_the_array_path(paths):
    from minitf.models import GPT, GPTConfig
    idx = np.random.default_rng(4).integers(0, 65, (4, 32))

    device, both = paths

    def run():
        mt.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=64, dropout=0.0,
                              bias=True)).to(device)
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(3):
            logits = model(mt.tensor(idx[:, :-1], device=device))
            loss = F.cross_entropy(logits.reshape(-1, 65), mt.tensor(idx[:, 1:].reshape(-1), device=device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    fused, plain = both(run, set(KERNELS))
    np.testing.assert_allclose(fused, plain, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape_q, t_k, causal, top_left", [
    ((2, 3, 64, 16), 64, True, False), ((2, 3, 300, 8), 300, True, False), ((1, 2, 5, 4), 5, False, False),
    ((1, 2, 1, 8), 17, True, False),     # a decoding step: one query, a cache of keys
    ((2, 1, 7, 4), 3, True, True),       # torch's is_causal, aligned top-left, more queries than keys
    ((3, 1, 1), 1, True, False)])
def test_attention_matches_the_array_path(paths, dtype, shape_q, t_k, causal, top_left):
    rng = np.random.default_rng(5)
    q0 = rng.standard_normal(shape_q).astype(dtype)
    k0 = rng.standard_normal(shape_q[:-2] + (t_k, shape_q[-1])).astype(dtype)
    v0 = rng.standard_normal(shape_q[:-2] + (t_k, 6)).astype(dtype)
    g0 = rng.standard_normal(shape_q[:-1] + (6,)).astype(dtype)

    device, both = paths

    def run():
        q, k, v = (mt.tensor(a, device=device, requires_grad=True) for a in (q0, k0, v0))
        if top_left:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, causal=causal)
        y.backward(mt.tensor(g0, device=device))
        return [y.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]

    from minitf.ops.attention import _query_chunks
    # on the CPU a long causal block goes in query chunks, which keep the array path
    chunked = device == "cpu" and len(_query_chunks(shape_q[-2], t_k, causal)) > 1
    fused, plain = both(run, set() if chunked else {"attention_softmax", "attention_softmax_backward"})
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[dtype])


def test_attention_with_dropout_matches_the_array_path(paths):
    rng = np.random.default_rng(6)
    q0, k0, v0 = (rng.standard_normal((2, 2, 40, 8)).astype(np.float32) for _ in range(3))

    device, both = paths

    def run():
        q, k, v = (mt.tensor(a, device=device, requires_grad=True) for a in (q0, k0, v0))
        gen = mt.Generator(device=device).manual_seed(7)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, causal=True, generator=gen)
        y.sum().backward()
        return [y.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]

    fused, plain = both(run, {"attention_softmax", "attention_softmax_backward"})
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[np.float32])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, V", [(1, 1), (37, 65), (300, 1000)])
@pytest.mark.parametrize("ignored", [0, 5, "all"])
def test_cross_entropy_matches_the_array_path(paths, dtype, n, V, ignored):
    rng = np.random.default_rng(8)
    x0 = (rng.standard_normal((n, V)) * 4).astype(dtype)
    t0 = rng.integers(0, V, n)
    t0[:n if ignored == "all" else ignored] = -100

    device, both = paths

    def run():
        x = mt.tensor(x0, device=device, requires_grad=True)
        loss = F.cross_entropy(x, mt.tensor(t0, device=device))
        loss.backward()
        return [loss.numpy(), x.grad.numpy()]

    (loss, dx), (loss0, dx0) = both(run, {"cross_entropy_rows", "cross_entropy_rows_backward"})
    np.testing.assert_allclose(loss, loss0, equal_nan=True, **TOL[dtype])   # all ignored: NaN, both
    np.testing.assert_allclose(dx, dx0, **TOL[dtype])


@pytest.mark.parametrize("T", ["float", "double"])
def test_fused_row_kernels_compile_for_the_gpu(T):
    # NVRTC compiles without a GPU: where CuPy and its compiler are installed, the CUDA source is checked
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc", reason="needs CuPy's NVRTC bindings")
    from minitf.backend import fused
    code = f"#define T {T}\n" + fused._WARP + fused._LN_SOURCE + fused._SOFTMAX_SOURCE
    try:
        prog = nvrtc.createProgram(code, "minitf_rows.cu", [], [])
    except Exception as e:   # the NVRTC library itself missing
        pytest.skip(f"NVRTC unavailable: {e}")
    try:
        nvrtc.compileProgram(prog, ["-arch=compute_90"])
    except nvrtc.NVRTCError:
        pytest.fail(nvrtc.getProgramLog(prog))


def test_generation_with_fused_kernels_matches_the_array_path(paths):
    # the decoding step (minitf/ops/decode.py) takes the LayerNorm, GELU and softmax kernels too:
    # the logits of each cached step, fed a fixed sequence (no argmax to tie), and the greedy tokens
    from minitf.models import GPT, GPTConfig
    device, both = paths

    def run():
        mt.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=65, block_size=40, n_layer=2, n_head=2, n_embd=64, dropout=0.0,
                              bias=True)).to(device)
        model.eval()
        prompt = mt.tensor(np.arange(5).reshape(1, 5), device=device)
        with mt.no_grad():
            cache = model.new_cache()
            steps = [model(prompt, cache=cache)[:, -1].numpy()]
            for t in range(20):
                steps.append(model(mt.tensor([[(7 * t + 3) % 65]], device=device), cache=cache)[:, -1].numpy())
        return np.stack(steps), model.generate(prompt, 30, temperature=0.0, use_cache=True).numpy()

    (logits, tokens), (logits0, tokens0) = both(run, {"gelu_tanh", "layer_norm_rows", "attention_softmax"})
    np.testing.assert_allclose(logits, logits0, rtol=1e-5, atol=1e-6)
    assert (tokens == tokens0).all()


@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_attention_with_a_mask_matches_the_array_path(paths, mask_kind):
    # a mask keeps the forward on the array path (rows may be fully masked); backward's dS kernel still runs
    rng = np.random.default_rng(9)
    q0, k0, v0 = (rng.standard_normal((2, 2, 12, 8)).astype(np.float32) for _ in range(3))
    allowed = rng.random((12, 12)) < 0.6
    allowed[3] = False                     # one fully masked row: P = 0 there
    device, both = paths

    def run():
        q, k, v = (mt.tensor(a, device=device, requires_grad=True) for a in (q0, k0, v0))
        mask = (mt.tensor(allowed, device=device) if mask_kind == "bool"
                else mt.tensor(np.where(allowed, 0.0, -np.inf).astype(np.float32), device=device))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y.sum().backward()
        return [y.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]

    fused, plain = both(run, {"attention_softmax_backward"})
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[np.float32])
