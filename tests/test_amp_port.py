"""torch's training-script switches: mt.amp.GradScaler (real dynamic loss scaling, checked step by
step against torch's CPU scaler), autocast (accepted, never casts, torch's warnings), mt.backends,
mt.compile, mt.bfloat16 (named only), pin_memory / non_blocking, cuda.is_bf16_supported."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim


def scaler_trace(lib, scaler, grads_in):
    """Run four scaled steps of SGD on one parameter; ``grads_in[i]``: the gradient to put in
    place of the real one at step i (None: keep it), to force infs. Returns what torch reports."""
    p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
    opt = lib.optim.SGD([p], lr=0.1)
    out = []
    for forced in grads_in:
        loss = (p * lib.tensor([3.0, 0.5])).sum()
        scaled = scaler.scale(loss)
        scaled.backward()
        if forced is not None:
            p.grad = lib.tensor(forced)
        scaler.unscale_(opt)
        g = p.grad.numpy().copy()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        out.append((float(scaled.item()), g.tolist(), p.detach().numpy().tolist(), scaler.get_scale(),
                    scaler.state_dict()))
    return out


FORCED = [None, [float("inf"), 1.0], None, [1.0, float("nan")], None]


def test_grad_scaler_scales_skips_backs_off_and_grows():
    s = mt.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    trace = scaler_trace(mt, s, FORCED)
    assert trace[0][0] == 8.0 * 2.0 and trace[0][1] == [3.0, 0.5]        # scaled loss; unscaled grads
    assert trace[0][2] == pytest.approx([0.7, -2.05])                    # stepped
    assert trace[1][2] == trace[0][2] and trace[1][3] == 4.0             # inf: step skipped, scale halved
    assert trace[3][2] == trace[2][2] and trace[3][3] == 2.0
    assert trace[4][3] == 2.0 and trace[4][4]["_growth_tracker"] == 1
    s2 = mt.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    s2.load_state_dict(s.state_dict())
    assert s2.state_dict() == s.state_dict()


def test_grad_scaler_matches_torch():
    torch = pytest.importorskip("torch")
    ours = scaler_trace(mt, mt.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2), FORCED + [None])
    theirs = scaler_trace(torch, torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2), FORCED + [None])
    for a, b in zip(ours, theirs):
        assert a[3] == b[3] and a[4] == b[4]                              # scale and state exactly
        # the parameter after SGD steps may differ from torch's by float32 rounding (1 ulp)
        assert a[0] == pytest.approx(b[0], rel=1e-6)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
        np.testing.assert_allclose(a[2], b[2], rtol=1e-6)


def test_disabled_grad_scaler_is_a_pass_through():
    p = nn.Parameter(mt.ones(2))
    opt = optim.SGD([p], lr=0.5)
    s = mt.amp.GradScaler("cpu", enabled=False)
    loss = (p * 2).sum()
    assert s.scale(loss) is loss and not s.is_enabled() and s.get_scale() == 1.0 and s.state_dict() == {}
    loss.backward()
    s.unscale_(opt)
    assert p.grad.numpy().tolist() == [2.0, 2.0]                        # untouched
    s.step(opt)
    s.update()
    assert p.detach().numpy().tolist() == [0.0, 0.0]                    # opt.step() ran


def test_cuda_grad_scaler_without_a_gpu_warns_and_disables(monkeypatch):
    monkeypatch.setattr(mt.backend, "gpu_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
        assert not mt.amp.GradScaler("cuda").is_enabled()
    with pytest.warns(FutureWarning, match="deprecated"), pytest.warns(UserWarning, match="Disabling"):
        assert not mt.cuda.amp.GradScaler(enabled=True).is_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        assert not mt.cuda.amp.GradScaler(enabled=False).is_enabled()   # nanoGPT's float32/bf16 case: silent


def test_grad_scaler_misuse_raises_as_torch():
    p = nn.Parameter(mt.ones(2))
    opt = optim.SGD([p], lr=0.1)
    s = mt.amp.GradScaler("cpu")
    s.scale(p.sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="empty"):
        s.load_state_dict({})
    with pytest.raises(RuntimeError, match="device_type"):
        mt.amp.GradScaler("tpu")


def _scaler_misuses(lib):
    """Each misuse torch refuses, on a fresh scaler and a Linear(2, 1): (name, exception type, message)."""
    def setup(half=False):
        m = lib.nn.Linear(2, 1)
        if half:
            m = m.half()
        return m, lib.optim.SGD(m.parameters(), lr=0.1), lib.amp.GradScaler("cpu")

    def step_unscaled():
        m, o, s = setup()
        s.step(o)

    def step_without_backward():
        m, o, s = setup()
        s.scale(m(lib.ones(1, 2)).sum())
        s.step(o)

    def fp16():
        m, o, s = setup(half=True)
        s.scale(m(lib.ones(1, 2, dtype=lib.float16)).sum()).backward()
        s.step(o)

    def update_first():
        lib.amp.GradScaler("cpu").update()

    def update_without_step():
        m, o, s = setup()
        s.scale(m(lib.ones(1, 2)).sum())
        s.update()

    def scale_a_float():
        lib.amp.GradScaler("cpu").scale(3.0)

    out = []
    for f in (step_unscaled, step_without_backward, fp16, update_first, update_without_step, scale_a_float):
        try:
            f()
            out.append((f.__name__, None, None))
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            out.append((f.__name__, type(e).__name__, str(e)))
    return out


def test_grad_scaler_misuse_errors_are_torchs():
    """step() before any scale(), or after a scale() with no backward, returned None silently; FP16
    gradients were unscaled; update() first raised a RuntimeError; scale(3.0) a TypeError: each
    is now torch's exception with torch's words."""
    got = _scaler_misuses(mt)
    assert all(kind is not None for _, kind, _ in got), got
    assert dict((n, k) for n, k, _ in got) == {"step_unscaled": "AssertionError", "step_without_backward": "AssertionError",
                                              "fp16": "ValueError", "update_first": "AssertionError",
                                              "update_without_step": "AssertionError", "scale_a_float": "ValueError"}
    assert "Attempted step but _scale is None" in got[0][2] and got[2][2] == "Attempting to unscale FP16 gradients."
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # torch's note that CPU float16 is slow
        assert got == _scaler_misuses(torch)


def test_autocast_never_casts_and_warns_as_torch_on_cpu():
    x = mt.ones(2, 2)
    with pytest.warns(UserWarning, match="target dtype is not supported. Disabling"):
        ctx = mt.amp.autocast(device_type="cpu", dtype=mt.float32)
    with ctx:
        assert (x @ x).dtype == mt.float32 and not mt.is_autocast_enabled()
    assert mt.autocast is mt.amp.autocast
    with pytest.warns(UserWarning, match="no autocasting"):
        @mt.autocast("cpu", dtype=mt.bfloat16)
        def f(a):
            return a * 2
    assert f(x).dtype == mt.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with mt.amp.autocast("cpu", enabled=False):
            pass


def test_backends_switches_are_settable_and_checked():
    old = mt.backends.cuda.matmul.allow_tf32
    try:
        mt.backends.cuda.matmul.allow_tf32 = True
        mt.backends.cudnn.allow_tf32 = True
        assert mt.backends.cuda.matmul.allow_tf32 is True and mt.backends.cudnn.benchmark is False
    finally:
        mt.backends.cuda.matmul.allow_tf32 = old
    with pytest.raises(AttributeError, match="allow_tf32"):
        mt.backends.cudnn.alow_tf32 = True            # a typo is not silently kept
    assert mt.backends.mps.is_available() is False and mt.backends.cudnn.is_available() is False


def test_backends_defaults_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs, names in [(mt.backends.cuda.matmul, torch.backends.cuda.matmul,
                                 ["allow_tf32", "allow_fp16_reduced_precision_reduction"]),
                                (mt.backends.cudnn, torch.backends.cudnn,
                                 ["enabled", "benchmark", "deterministic", "allow_tf32"])]:
        assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]


def test_compile_returns_its_argument():
    model = nn.Linear(2, 2)
    assert mt.compile(model) is model and mt.compile(model, mode="max-autotune", fullgraph=True) is model

    @mt.compile(dynamic=False)
    def g(x):
        return x + 1
    assert g(mt.ones(1)).item() == 2.0
    with pytest.raises(TypeError, match="compile"):
        mt.compile(3)


def test_bfloat16_is_named_but_refused_with_the_reason():
    table = {"float32": mt.float32, "bfloat16": mt.bfloat16, "float16": mt.float16}
    assert table["bfloat16"] is mt.bfloat16 and mt.bfloat16 == mt.bfloat16
    assert mt.float32 != mt.bfloat16 and mt.bfloat16 != mt.float16 and mt.bfloat16 not in [mt.float32]
    assert mt.bfloat16.is_floating_point and mt.bfloat16.itemsize == 2 and repr(mt.bfloat16) == "minitf.bfloat16"
    assert mt.cuda.is_bf16_supported() is False
    for make in (lambda: mt.zeros(2, dtype=mt.bfloat16), lambda: mt.ones(2).to(mt.bfloat16),
                 lambda: mt.tensor([1.0], dtype=mt.bfloat16), lambda: nn.Linear(2, 2).to(mt.bfloat16)):
        with pytest.raises(NotImplementedError, match="bfloat16 is not supported by minitf: NumPy has no bfloat16"):
            make()


def test_pin_memory_and_non_blocking_are_accepted(device):
    x = mt.arange(3.0)
    assert x.pin_memory() is x and not x.is_pinned()
    y = x.pin_memory().to(device, non_blocking=True)
    assert y.device == device and y.numpy().tolist() == [0.0, 1.0, 2.0]


def test_grad_scaler_on_a_device_reads_back_once_per_unscale(device):
    from minitf.fakedevice import count_host_transfers
    ps = [nn.Parameter(mt.tensor([1.0, -2.0], device=device)), nn.Parameter(mt.tensor([0.5], device=device))]
    opt = optim.SGD(ps, lr=0.1)
    s = mt.amp.GradScaler("cpu", init_scale=4.0)
    for forced_inf in (False, True):
        opt.zero_grad()
        s.scale((ps[0] * 3).sum() + ps[1].sum()).backward()
        if forced_inf:
            ps[1].grad.data[...] = float("inf")
        before = [p.numpy().copy() for p in ps]
        with count_host_transfers() as n:
            s.unscale_(opt)
        assert n["to_host"] == (1 if device == "fake" else 0)     # one flag read for all gradients
        s.step(opt)
        s.update()
        moved = [not np.array_equal(b, p.numpy()) for b, p in zip(before, ps)]
        assert moved == ([False, False] if forced_inf else [True, True])
    assert s.get_scale() == 2.0
