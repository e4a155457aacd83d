"""mt.fft against torch.fft: values and dtypes for torch's n / s / dim / norm arguments, and gradients
(torch's, in complex128, and central differences on real and imaginary parts: mt.gradcheck)."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import DtypeError


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def _data(rng, shape, complex_):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


# (name, input is complex, kwargs, input shape)
CASES = [
    ("fft", False, {}, (6,)), ("fft", True, {"n": 8}, (3, 5)), ("fft", True, {"n": 3, "dim": 0, "norm": "ortho"}, (5, 2)),
    ("ifft", True, {"norm": "forward"}, (2, 5)), ("ifft", False, {"n": 7}, (4,)),
    ("fft2", True, {}, (2, 3, 4)), ("fft2", False, {"s": (4, 2), "norm": "ortho"}, (3, 3)),
    ("ifft2", True, {"dim": (0, 2), "norm": "forward"}, (3, 2, 4)),
    ("fftn", True, {}, (3, 4)), ("fftn", True, {"s": (5,)}, (2, 3)), ("fftn", False, {"s": (2, -1), "dim": (0, 1)}, (3, 4)),
    ("ifftn", True, {"s": (4, 2, 3), "norm": "ortho"}, (3, 3, 3)),
    ("rfft", False, {}, (6,)), ("rfft", False, {"n": 5, "dim": 0}, (4, 3)), ("rfft", False, {"norm": "forward"}, (2, 7)),
    ("rfft2", False, {}, (4, 6)), ("rfft2", False, {"s": (3, 5), "norm": "ortho"}, (2, 4, 4)),
    ("rfftn", False, {"dim": (0, 1)}, (4, 5, 2)), ("rfftn", False, {"s": (6,)}, (3, 4)),
    ("irfft", True, {}, (4,)), ("irfft", True, {"n": 7}, (2, 4)), ("irfft", True, {"n": 4, "dim": 0, "norm": "ortho"}, (3, 2)),
    ("irfft", False, {"norm": "forward"}, (5,)),
    ("irfft2", True, {}, (3, 4)), ("irfft2", True, {"s": (4, 5), "norm": "forward"}, (3, 3)),
    ("irfftn", True, {"dim": (0, 1)}, (3, 4, 2)), ("irfftn", True, {"s": (2, 6), "norm": "ortho"}, (3, 4)),
    ("hfft", True, {}, (4,)), ("hfft", True, {"n": 5, "norm": "ortho"}, (2, 3)), ("hfft", False, {"norm": "forward"}, (4,)),
    ("ihfft", False, {}, (6,)), ("ihfft", False, {"n": 5, "dim": 0, "norm": "forward"}, (4, 2)),
    ("hfft2", True, {}, (3, 4)), ("hfft2", True, {"s": (4, 5), "norm": "ortho"}, (2, 3, 3)),
    ("hfftn", True, {}, (2, 3, 4)), ("hfftn", True, {"s": (-1, 7), "dim": (1, 0), "norm": "forward"}, (3, 4)),
    ("hfftn", False, {"s": (3,)}, (2, 4)),
    ("ihfft2", False, {}, (3, 6)), ("ihfft2", False, {"s": (2, 5), "norm": "forward"}, (2, 3, 4)),
    ("ihfftn", False, {"dim": (0, 2)}, (3, 2, 5)), ("ihfftn", False, {"s": (4, 6), "norm": "ortho"}, (3, 4)),
]


def _id(case):
    name, c, kw, shape = case
    return f"{name}-{'c' if c else 'r'}-{'-'.join(f'{k}{v}' for k, v in kw.items())}-{shape}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_transform_values_and_gradients_as_torch(case, device, rng):
    torch = pytest.importorskip("torch")
    name, is_complex, kw, shape = case
    host = _data(rng, shape, is_complex)
    x = mt.tensor(host, device=device, requires_grad=True)
    xt = torch.tensor(host, requires_grad=True)
    out, expected = getattr(mt.fft, name)(x, **kw), getattr(torch.fft, name)(xt, **kw)
    assert str(out.dtype) == str(expected.dtype).split(".")[1] and out.device == device
    np.testing.assert_allclose(out.numpy(), expected.detach().resolve_conj().numpy(), rtol=1e-10, atol=1e-12)
    u = _data(rng, tuple(expected.shape), expected.is_complex())
    out.backward(mt.tensor(u, device=device))
    expected.backward(torch.tensor(u))
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)
    x.grad = None
    assert mt.gradcheck(lambda t: getattr(mt.fft, name)(t, **kw), [x])
    # second derivatives (the recorded backward): through t * t, so that they are not all zero
    assert mt.gradgradcheck(lambda t: getattr(mt.fft, name)(t * t, **kw), [x])


@pytest.mark.parametrize("dtype,expected", [("float32", "complex64"), ("complex64", "complex64"), ("int64", "complex64"),
                                            ("float64", "complex128")])
def test_precision_kept_as_torch(dtype, expected, device):
    x = mt.ones(4, dtype=dtype, device=device)
    assert mt.fft.fft(x).dtype == expected
    if dtype != "complex64":
        assert mt.fft.rfft(x).dtype == expected
        assert mt.fft.irfft(mt.fft.rfft(x)).dtype == np.dtype(expected).char.lower()
        np.testing.assert_allclose(mt.fft.irfft(mt.fft.rfft(x), n=4).numpy(), np.ones(4), rtol=1e-6)


def test_round_trips_and_a_filter_learnt_through_rfft(rng):
    x = mt.tensor(rng.standard_normal((3, 8)))
    for norm in ("backward", "ortho", "forward"):
        np.testing.assert_allclose(mt.fft.ifft(mt.fft.fft(x, norm=norm), norm=norm).real.numpy(), x.numpy(), atol=1e-12)
        np.testing.assert_allclose(mt.fft.irfftn(mt.fft.rfftn(x, norm=norm), s=x.shape, norm=norm).numpy(),
                                   x.numpy(), atol=1e-12)
    # gradient descent on a frequency-domain gain: the loss falls (the gradient is a descent direction)
    target = mt.fft.irfft(mt.fft.rfft(x) * mt.tensor(np.linspace(1, 0, 5)), n=8)
    w = mt.ones(5, dtype=mt.float64, requires_grad=True)
    losses = []
    for _ in range(20):
        loss = ((mt.fft.irfft(mt.fft.rfft(x) * w, n=8) - target) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        with mt.no_grad():
            w -= 0.02 * w.grad
        w.grad = None
    assert losses[-1] < 0.1 * losses[0]


def test_frequencies_and_shifts_as_torch(device):
    torch = pytest.importorskip("torch")
    for n, d in ((5, 1.0), (8, 0.1), (1, 2.0)):
        for name in ("fftfreq", "rfftfreq"):
            ours, theirs = getattr(mt.fft, name)(n, d, device=device), getattr(torch.fft, name)(n, d)
            assert ours.dtype == mt.float32 and ours.device == device
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert mt.fft.fftfreq(4, dtype=mt.float64).dtype == mt.float64
    assert mt.fft.rfftfreq(4, requires_grad=True).requires_grad
    x = np.arange(30.0).reshape(5, 6)
    for dim in (None, 0, 1, (0, 1), (-1,)):
        for name in ("fftshift", "ifftshift"):
            ours = getattr(mt.fft, name)(mt.tensor(x, device=device), dim=dim)
            np.testing.assert_array_equal(ours.numpy(), getattr(torch.fft, name)(torch.tensor(x), dim=dim).numpy())
    z = mt.tensor(x[0] + 1j, requires_grad=True)
    assert mt.gradcheck(lambda t: mt.fft.fftshift(t), [z])


def test_argument_errors_as_torch():
    torch = pytest.importorskip("torch")
    x, xt = mt.ones(4), torch.ones(4)
    with pytest.raises(ValueError, match="Invalid normalization mode"):
        mt.fft.fft(x, norm="none")
    with pytest.raises(RuntimeError):
        torch.fft.fft(xt, norm="none")
    with pytest.raises(RuntimeError, match="Invalid number of data points"):
        mt.fft.fft(x, n=0)
    with pytest.raises(RuntimeError, match="Invalid number of data points"):
        torch.fft.fft(xt, n=0)
    with pytest.raises(DtypeError, match="rfft expects a real input"):
        mt.fft.rfft(mt.ones(4, dtype=mt.complex64))
    with pytest.raises(RuntimeError, match="rfft expects a real input"):
        torch.fft.rfft(torch.ones(4, dtype=torch.complex64))
    with pytest.raises(DtypeError, match="ihfftn expects a real input"):
        mt.fft.ihfftn(mt.ones(4, dtype=mt.complex64))
    with pytest.raises(RuntimeError, match="same length"):
        mt.fft.fftn(mt.ones(2, 2), s=(2,), dim=(0, 1))
    with pytest.raises(IndexError, match="out of range"):
        mt.fft.fft(x, dim=1)
    with pytest.raises(DtypeError, match="unsupported dtype"):
        mt.fft.fft(mt.ones(4, dtype=mt.float16))


@pytest.mark.parametrize("name", ["irfft", "hfft", "irfft2", "irfftn", "hfft2", "hfftn"])
def test_an_output_of_no_points_is_torchs_runtime_error(name):
    """A one-bin last dim makes 2 (m - 1) = 0 output points: torch's RuntimeError (not only a ValueError)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="Invalid number of data points \\(0\\)"):
        getattr(torch.fft, name)(torch.ones(3, 1, dtype=torch.complex128))
    with pytest.raises(RuntimeError, match="Invalid number of data points \\(0\\)"):
        getattr(mt.fft, name)(mt.ones(3, 1, dtype=mt.complex128))
