"""mt.stft / mt.istft against torch.stft / torch.istft: values, shapes and dtypes over torch's
arguments (n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
return_complex, align_to_window, length), batched and not; gradients in the signal and the window
against torch's and by central differences (mt.gradcheck, float64 and complex128); torch's errors
and warnings, the NOLA check among them."""
import warnings

import numpy as np
import pytest

import minitf as mt

pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def _signal(rng, shape, complex_=False):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


def _close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().resolve_conj().numpy(), rtol=1e-12, atol=1e-12)


# (signal shape, complex signal, n_fft, stft keywords)
STFT_CASES = [
    ((30,), False, 8, {}),
    ((2, 31), False, 8, {"hop_length": 3, "win_length": 5, "normalized": True}),
    ((2, 25), False, 7, {"hop_length": 2, "pad_mode": "constant", "onesided": False}),
    ((26,), False, 6, {"hop_length": 4, "pad_mode": "replicate"}),
    ((2, 20), False, 10, {"hop_length": 1, "win_length": 3, "pad_mode": "circular"}),
    ((2, 29), False, 8, {"hop_length": 3, "center": False}),
    ((40,), False, 8, {"hop_length": 3, "win_length": 5, "center": False, "align_to_window": True}),
    ((2, 24), True, 8, {"hop_length": 2, "win_length": 6}),
    ((21,), True, 6, {"center": False, "normalized": True}),
    ((2, 22), True, 8, {"hop_length": 3, "pad_mode": "constant"}),
]


@pytest.mark.parametrize("case", STFT_CASES, ids=[f"{c[0]}-{'c' if c[1] else 'r'}-{c[2]}-{sorted(c[3])}" for c in STFT_CASES])
def test_stft_values_and_gradients_as_torch(case, device, rng):
    torch = pytest.importorskip("torch")
    shape, is_complex, n_fft, kw = case
    host, w = _signal(rng, shape, is_complex), rng.random(kw.get("win_length", n_fft)) + 0.5
    x, win = mt.tensor(host, device=device, requires_grad=True), mt.tensor(w, device=device, requires_grad=True)
    xt, wt = torch.tensor(host, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = mt.stft(x, n_fft, window=win, return_complex=True, **kw)
    expected = torch.stft(xt, n_fft, window=wt, return_complex=True, **kw)
    assert out.shape == tuple(expected.shape) and out.dtype == mt.complex128 and out.device == device
    _close(out, expected)
    u = _signal(rng, tuple(expected.shape), True)
    out.backward(mt.tensor(u, device=device))
    expected.backward(torch.tensor(u))
    _close(x.grad, xt.grad)
    _close(win.grad, wt.grad)


# (batch shape, n_fft, istft keywords); the input's frequency size follows from onesided
ISTFT_CASES = [
    ((), 8, {}),
    ((2,), 8, {"hop_length": 3, "win_length": 5, "normalized": True, "length": 20}),
    ((2,), 7, {"hop_length": 2, "onesided": False, "return_complex": True}),
    ((), 8, {"hop_length": 2, "onesided": False, "length": 40}),     # a two-sided input, a real output
    ((2,), 10, {"hop_length": 1, "win_length": 3}),
    ((2,), 8, {"hop_length": 3, "center": False, "length": 25}),
    ((), 6, {"center": False, "length": 9, "onesided": False, "return_complex": True}),
]


@pytest.mark.parametrize("case", ISTFT_CASES, ids=[f"{c[0]}-{c[1]}-{sorted(c[2])}" for c in ISTFT_CASES])
def test_istft_values_and_gradients_as_torch(case, device, rng):
    torch = pytest.importorskip("torch")
    batch, n_fft, kw = case
    n_freq = n_fft if kw.get("onesided") is False else n_fft // 2 + 1
    host, w = _signal(rng, batch + (n_freq, 9), True), rng.random(kw.get("win_length", n_fft)) + 0.5
    s, win = mt.tensor(host, device=device, requires_grad=True), mt.tensor(w, device=device, requires_grad=True)
    st, wt = torch.tensor(host, requires_grad=True), torch.tensor(w, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (the zero-padding of a long `length` warns: tested below)
        out = mt.istft(s, n_fft, window=win, **kw)
        expected = torch.istft(st, n_fft, window=wt, **kw)
    assert out.shape == tuple(expected.shape) and str(out.dtype) == str(expected.dtype).split(".")[1]
    assert out.device == device
    _close(out, expected)
    u = _signal(rng, tuple(expected.shape), expected.is_complex())
    out.backward(mt.tensor(u, device=device))
    expected.backward(torch.tensor(u))
    _close(s.grad, st.grad)
    _close(win.grad, wt.grad)


@pytest.mark.parametrize("count, size, hop", [(3, 10, 1), (7, 8, 2), (9, 8, 3), (4, 5, 5), (1, 4, 2)])
def test_frames_and_overlap_add_are_each_others_adjoint(count, size, hop, device, rng):
    from minitf.fft.framing import Frames, OverlapAdd
    length = size + hop * (count - 1) + 2   # (two samples no frame reaches)
    frames = mt.tensor(_signal(rng, (2, count, size), True), device=device, requires_grad=True)
    signal = mt.tensor(_signal(rng, (2, length)), device=device, requires_grad=True)
    out = OverlapAdd.apply(frames, hop=hop, length=length)
    expected = np.zeros((2, length), dtype=complex)
    for t in range(count):   # the definition, one frame at a time
        expected[:, t * hop:t * hop + size] += frames.detach().numpy()[:, t]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14, atol=1e-14)
    cut = Frames.apply(signal, size=size, hop=hop, count=count)
    np.testing.assert_array_equal(cut.numpy()[:, -1], signal.detach().numpy()[:, (count - 1) * hop:][:, :size])
    # <overlap_add(f), s> = <f, frames(s)>, and the gradients of both by central differences
    lhs = (out.detach().numpy() * signal.detach().numpy()).sum()
    np.testing.assert_allclose(lhs, (frames.detach().numpy() * cut.detach().numpy()).sum(), rtol=1e-12)
    assert mt.gradcheck(lambda f: OverlapAdd.apply(f, hop=hop, length=length), [frames])
    assert mt.gradgradcheck(lambda s: Frames.apply(s * s, size=size, hop=hop, count=count), [signal])


def test_gradcheck_through_stft_and_istft(rng):
    # central differences on both parts of a complex input, and in the window
    x = mt.tensor(_signal(rng, (2, 14)), requires_grad=True)
    z = mt.tensor(_signal(rng, (13,), True), requires_grad=True)
    w = mt.tensor(rng.random(5) + 0.5, requires_grad=True)
    assert mt.gradcheck(lambda x, w: mt.stft(x, 6, 2, 5, w, return_complex=True), [x, w])
    assert mt.gradcheck(lambda z, w: mt.stft(z, 6, 3, 5, w, center=False), [z, w])
    spec = mt.tensor(_signal(rng, (2, 4, 7), True), requires_grad=True)
    assert mt.gradcheck(lambda s, w: mt.istft(s, 6, 2, 5, w, length=12), [spec, w])
    assert mt.gradcheck(lambda s, w: mt.istft(s, 6, 2, 5, w, onesided=False, return_complex=True),
                        [mt.tensor(_signal(rng, (6, 5), True), requires_grad=True), w])
    # second derivatives, through the window's square in istft's envelope
    assert mt.gradgradcheck(lambda s, w: mt.istft(s, 6, 2, 5, w, length=12), [spec, w])
    assert mt.gradgradcheck(lambda x, w: mt.stft(x * x, 6, 2, 5, w, return_complex=True), [x, w])


def test_round_trip_batched_float32_and_the_tensor_methods(rng, device):
    torch = pytest.importorskip("torch")
    host = rng.standard_normal((3, 50)).astype(np.float32)
    x = mt.tensor(host, device=device)
    window = mt.hann_window(16, device=device)
    spec = x.stft(16, hop_length=4, window=window, return_complex=True)
    assert spec.shape == (3, 9, 13) and spec.dtype == mt.complex64
    expected = torch.stft(torch.tensor(host), 16, hop_length=4, window=torch.hann_window(16), return_complex=True)
    np.testing.assert_allclose(spec.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    back = spec.istft(16, hop_length=4, window=window, length=50)
    assert back.shape == (3, 50) and back.dtype == mt.float32
    np.testing.assert_allclose(back.numpy(), host, atol=1e-5)
    # the deprecated real layout is view_as_real of the complex one
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        legacy = mt.stft(x, 16, 4, window=window, return_complex=False)
    np.testing.assert_array_equal(legacy.numpy(), mt.view_as_real(spec).numpy())


def test_no_window_is_a_rectangle_with_torchs_warning(rng):
    torch = pytest.importorskip("torch")
    host = _signal(rng, (2, 20))
    x = mt.tensor(host)
    for win_length in (None, 5):   # (5: ones zero-padded to n_fft)
        with pytest.warns(UserWarning, match="A window was not provided"):
            spec = mt.stft(x, 8, 2, win_length, return_complex=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.stft(torch.tensor(host), 8, 2, win_length, return_complex=True)
            back = torch.istft(expected, 8, 2, win_length)
        _close(spec, expected)
        with pytest.warns(UserWarning, match="A window was not provided"):
            _close(mt.istft(spec, 8, 2, win_length), back)

def test_a_long_length_zero_pads_with_torchs_warning(rng):
    torch = pytest.importorskip("torch")
    host = _signal(rng, (20,))
    spec = mt.stft(mt.tensor(host), 8, window=mt.ones(8, dtype=mt.float64), return_complex=True)
    with pytest.warns(UserWarning, match="shorter than the length parameter"):
        out = mt.istft(spec, 8, window=mt.ones(8, dtype=mt.float64), length=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch warns once per process)
        expected = torch.istft(torch.tensor(spec.numpy()), 8, window=torch.ones(8, dtype=torch.float64), length=30)
    _close(out, expected)
    # the signal, then the 4 reflected samples of the padding that frames reach, then zeros
    np.testing.assert_allclose(out.numpy()[:20], host, atol=1e-14)
    np.testing.assert_allclose(out.numpy()[20:24], host[-2:-6:-1], atol=1e-14)
    assert not out.numpy()[24:].any()


@pytest.mark.parametrize("call, message", [
    (lambda m, x, S, w: m.stft(x, 8, window=w), "requires the return_complex parameter be given for real inputs"),
    (lambda m, x, S, w: m.stft(x.reshape(2, 2, 5), 4, window=w[:4], return_complex=True), "expected a 1D or 2D tensor"),
    (lambda m, x, S, w: m.stft(x, 8, hop_length=0, window=w, return_complex=True), "expected hop_length > 0"),
    (lambda m, x, S, w: m.stft(x, 8, win_length=9, window=w, return_complex=True), "expected 0 < win_length <= n_fft"),
    (lambda m, x, S, w: m.stft(x, 8, win_length=6, window=w, return_complex=True),
     "expected a 1D window tensor of size equal to win_length=6"),
    (lambda m, x, S, w: m.stft(x, 30, window=m.ones(30, dtype=w.dtype), center=False, return_complex=True),
     "expected 0 < n_fft"),
    (lambda m, x, S, w: m.stft(x, 40, window=m.ones(40, dtype=w.dtype), return_complex=True),
     "Padding size should be less than the corresponding input dimension"),
    (lambda m, x, S, w: m.stft(x.to(S.dtype), 8, window=w, onesided=True), "Cannot have onesided output"),
    (lambda m, x, S, w: m.stft(x.long(), 8, window=w, return_complex=True), "floating point or complex"),
    (lambda m, x, S, w: m.stft(x, 8, window=w, align_to_window=True, return_complex=True),
     "align_to_window should only be set when center = false"),
    (lambda m, x, S, w: m.istft(m.view_as_real(S), 8, window=w), "requires a complex-valued input"),
    (lambda m, x, S, w: m.istft(S, 8, window=w, center=False), "window overlap add min"),   # hann(0) = 0: NOLA fails
    (lambda m, x, S, w: m.istft(S, 8, hop_length=9, window=w), "expected 0 < hop_length <= win_length"),
    (lambda m, x, S, w: m.istft(S, 8, win_length=9, window=w), "expected 0 < win_length <= n_fft"),
    (lambda m, x, S, w: m.istft(S, 8, win_length=5, window=w), "Invalid window shape"),
    (lambda m, x, S, w: m.istft(S, 8, window=w, onesided=False), "to match n_fft when onesided=False"),
    (lambda m, x, S, w: m.istft(S, 8, window=w, return_complex=True), "Cannot have onesided output"),
    (lambda m, x, S, w: m.istft(S, 8, window=w.to(S.dtype)), "Complex windows are incompatible with return_complex=False"),
    (lambda m, x, S, w: m.istft(S[:, :0], 8, window=w), "input tensor cannot be empty"),
])
def test_errors_as_torch(call, message, rng):
    torch = pytest.importorskip("torch")
    host = _signal(rng, (20,))
    for m in (mt, torch):
        x = m.tensor(host)
        w = m.hann_window(8, dtype=x.dtype)
        S = m.stft(x, 8, window=w, return_complex=True)
        with pytest.raises(RuntimeError, match=message):
            call(m, x, S, w)


def test_other_argument_errors():
    x = mt.zeros(20)
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        mt.stft(x, 8, window=mt.ones(8), pad_mode="foo", return_complex=True)
    with pytest.raises(mt.DeviceError, match="same device"):
        mt.stft(x, 8, window=mt.ones(8, device="fake"), return_complex=True)
    with pytest.raises(TypeError, match="argument 'window' must be Tensor"):
        mt.stft(x, 8, window=[1.0] * 8, return_complex=True)
    with pytest.raises(RuntimeError, match="expected n_fft > 0, but got n_fft=0"):   # (torch: "0 < n_fft < 20")
        mt.stft(x, 0, window=mt.ones(0), return_complex=True)
    with pytest.raises(TypeError, match="argument 'n_fft' must be int"):
        mt.istft(mt.zeros(5, 3, dtype=mt.complex64), 8.0)
