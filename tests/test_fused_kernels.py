"""The fused CUDA kernels (minitf/backend/fused.py) against the array path they replace, on a real
GPU: GELU (tanh form), LayerNorm's rows and the Adam/AdamW update. Elsewhere only the selection is
checked: the CPU and the fake device never take the fused path."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend, optim
from minitf import functional as F
from minitf.backend.fused import kernels_for

gpu = pytest.mark.skipif(not backend.gpu_available(), reason="the fused kernels need a real GPU")
# the CUDA compiler may contract a multiply and an add into one fma: a rounding or two apart
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.mark.parametrize("asked", [None, "0", "1"])
def test_the_cpu_and_the_fake_device_take_the_array_path(monkeypatch, asked):
    if asked is not None:
        monkeypatch.setenv("MINITF_FUSED_KERNELS", asked)
    assert kernels_for(np) is None
    assert kernels_for(backend.array_module("fake")) is None


def _both_paths(monkeypatch, run):
    """run() on the fused path (MINITF_FUSED_KERNELS=1), then on the array path (=0)."""
    monkeypatch.setenv("MINITF_FUSED_KERNELS", "1")
    fused = run()
    monkeypatch.setenv("MINITF_FUSED_KERNELS", "0")
    plain = run()
    return fused, plain


@gpu
def test_fused_kernels_on_the_gpu_only_when_asked_for(monkeypatch):
    monkeypatch.delenv("MINITF_FUSED_KERNELS", raising=False)
    assert kernels_for(backend.array_module("gpu")) is None      # off by default, until checked on a GPU
    monkeypatch.setenv("MINITF_FUSED_KERNELS", "1")
    assert kernels_for(backend.array_module("gpu")) is not None


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 1001), (64, 256, 96)])
def test_gelu_tanh_gpu_matches_the_array_path(monkeypatch, dtype, shape):
    rng = np.random.default_rng(0)
    x0 = (rng.standard_normal(shape) * 3).astype(dtype)
    g0 = rng.standard_normal(shape).astype(dtype)

    def run():
        x = mt.tensor(x0, device="gpu", requires_grad=True)
        y = F.gelu(x, approximate="tanh")
        y.backward(mt.tensor(g0, device="gpu"))
        return y.numpy(), x.grad.numpy()

    (y, dx), (y0, dx0) = _both_paths(monkeypatch, run)
    np.testing.assert_allclose(y, y0, **TOL[dtype])
    np.testing.assert_allclose(dx, dx0, **TOL[dtype])
    # and against float64 on the host
    xd = x0.astype(np.float64)
    t = np.tanh(np.sqrt(2 / np.pi) * (xd + 0.044715 * xd ** 3))
    np.testing.assert_allclose(y, 0.5 * xd * (1 + t), rtol=3e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, C", [(1, 1), (9, 7), (1000, 32), (257, 384), (3, 1000)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_gpu_matches_the_array_path(monkeypatch, dtype, rows, C, affine):
    rng = np.random.default_rng(1)
    x0 = (rng.standard_normal((rows, C)) * 2 + 0.5).astype(dtype)
    g0 = rng.standard_normal((rows, C)).astype(dtype)
    w0, b0 = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)

    def run():
        x = mt.tensor(x0, device="gpu", requires_grad=True)
        w = mt.tensor(w0, device="gpu", requires_grad=True) if affine != "none" else None
        b = mt.tensor(b0, device="gpu", requires_grad=True) if affine == "both" else None
        y = F.layer_norm(x, (C,), w, b, eps=1e-5)
        y.backward(mt.tensor(g0, device="gpu"))
        return [y.numpy(), x.grad.numpy()] + [t.grad.numpy() for t in (w, b) if t is not None]

    fused, plain = _both_paths(monkeypatch, run)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@gpu
def test_layer_norm_gpu_of_a_transposed_input(monkeypatch):
    # a non-contiguous x: the kernel reads rows of C contiguous elements, so it is copied first
    x0 = np.random.default_rng(2).standard_normal((48, 5)).astype(np.float32)

    def run():
        x = mt.tensor(x0, device="gpu").t()
        return F.layer_norm(x, (48,)).numpy()

    fused, plain = _both_paths(monkeypatch, run)
    np.testing.assert_allclose(fused, plain, **TOL[np.float32])


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name, kw", [("AdamW", dict(weight_decay=0.1)), ("Adam", dict(weight_decay=0.01)),
                                          ("Adam", dict(maximize=True))])
def test_adam_gpu_matches_the_array_path(monkeypatch, dtype, opt_name, kw):
    rng = np.random.default_rng(3)
    p0 = [rng.standard_normal(s).astype(dtype) for s in [(33, 17), (17,), ()]]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in p0] for _ in range(5)]

    def run():
        params = [mt.tensor(p, device="gpu", requires_grad=True) for p in p0]
        opt = getattr(optim, opt_name)(params, lr=1e-2, betas=(0.9, 0.99), **kw)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = mt.tensor(g, device="gpu")
            opt.step()
        return [p.numpy() for p in params] + [opt.state[p]["exp_avg_sq"].numpy() for p in params]

    fused, plain = _both_paths(monkeypatch, run)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@gpu
def test_a_gpt_step_gpu_with_fused_kernels_matches_the_array_path(monkeypatch):
    from minitf.models import GPT, GPTConfig
    idx = np.random.default_rng(4).integers(0, 65, (4, 32))

    def run():
        mt.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=64, dropout=0.0,
                              bias=True)).to("gpu")
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(3):
            logits = model(mt.tensor(idx[:, :-1], device="gpu"))
            loss = F.cross_entropy(logits.reshape(-1, 65), mt.tensor(idx[:, 1:].reshape(-1), device="gpu"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    fused, plain = _both_paths(monkeypatch, run)
    np.testing.assert_allclose(fused, plain, rtol=1e-5)


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape_q, t_k, causal, top_left", [
    ((2, 3, 64, 16), 64, True, False), ((2, 3, 300, 8), 300, True, False), ((1, 2, 5, 4), 5, False, False),
    ((1, 2, 1, 8), 17, True, False),     # a decoding step: one query, a cache of keys
    ((2, 1, 7, 4), 3, True, True),       # torch's is_causal, aligned top-left, more queries than keys
    ((3, 1, 1), 1, True, False)])
def test_attention_gpu_matches_the_array_path(monkeypatch, dtype, shape_q, t_k, causal, top_left):
    rng = np.random.default_rng(5)
    q0 = rng.standard_normal(shape_q).astype(dtype)
    k0 = rng.standard_normal(shape_q[:-2] + (t_k, shape_q[-1])).astype(dtype)
    v0 = rng.standard_normal(shape_q[:-2] + (t_k, 6)).astype(dtype)
    g0 = rng.standard_normal(shape_q[:-1] + (6,)).astype(dtype)

    def run():
        q, k, v = (mt.tensor(a, device="gpu", requires_grad=True) for a in (q0, k0, v0))
        if top_left:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, causal=causal)
        y.backward(mt.tensor(g0, device="gpu"))
        return [y.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]

    fused, plain = _both_paths(monkeypatch, run)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@gpu
def test_attention_gpu_with_dropout_matches_the_array_path(monkeypatch):
    rng = np.random.default_rng(6)
    q0, k0, v0 = (rng.standard_normal((2, 2, 40, 8)).astype(np.float32) for _ in range(3))

    def run():
        q, k, v = (mt.tensor(a, device="gpu", requires_grad=True) for a in (q0, k0, v0))
        gen = mt.Generator(device="gpu").manual_seed(7)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, causal=True, generator=gen)
        y.sum().backward()
        return [y.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]

    fused, plain = _both_paths(monkeypatch, run)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, **TOL[np.float32])


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, V", [(1, 1), (37, 65), (300, 1000)])
@pytest.mark.parametrize("ignored", [0, 5, "all"])
def test_cross_entropy_gpu_matches_the_array_path(monkeypatch, dtype, n, V, ignored):
    rng = np.random.default_rng(8)
    x0 = (rng.standard_normal((n, V)) * 4).astype(dtype)
    t0 = rng.integers(0, V, n)
    t0[:n if ignored == "all" else ignored] = -100

    def run():
        x = mt.tensor(x0, device="gpu", requires_grad=True)
        loss = F.cross_entropy(x, mt.tensor(t0, device="gpu"))
        loss.backward()
        return [loss.numpy(), x.grad.numpy()]

    (loss, dx), (loss0, dx0) = _both_paths(monkeypatch, run)
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


@gpu
def test_generation_gpu_with_fused_kernels_matches_the_array_path(monkeypatch):
    # the decoding step (minitf/ops/decode.py) takes the LayerNorm, GELU and softmax kernels too
    from minitf.models import GPT, GPTConfig

    def run():
        mt.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=65, block_size=40, n_layer=2, n_head=2, n_embd=64, dropout=0.0,
                              bias=True)).to("gpu")
        model.eval()
        prompt = mt.tensor(np.arange(5).reshape(1, 5), device="gpu")
        with mt.no_grad():
            logits = model(prompt).numpy()
        return model.generate(prompt, 30, temperature=0.0, use_cache=True).numpy(), logits

    (tokens, logits), (tokens0, logits0) = _both_paths(monkeypatch, run)
    np.testing.assert_allclose(logits, logits0, rtol=1e-5, atol=1e-6)
    assert (tokens == tokens0).all()
