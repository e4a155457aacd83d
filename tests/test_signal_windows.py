"""mt.signal.windows against torch.signal.windows: every window's values for lengths 0 .. 13, both
``sym``, float64 and float32, its parameters, and torch's argument errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import ArgumentError

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
         "hamming", "hann", "kaiser", "nuttall"]
# each window's own parameters beside its defaults
PARAMS = {"general_cosine": [{"a": [0.46, 0.23, 0.31]}, {"a": (1.0,)}], "general_hamming": [{}, {"alpha": 0.3}],
          "kaiser": [{}, {"beta": 0.0}, {"beta": 4.5}], "gaussian": [{}, {"std": 0.4}, {"std": 7.0}],
          "exponential": [{}, {"tau": 0.3}, {"tau": 3.0}]}


def test_the_module_is_imported_on_first_use_and_lists_torchs_windows():
    torch = pytest.importorskip("torch")
    assert mt.signal.windows.__all__ == torch.signal.windows.__all__ == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_values_as_torch(name, device):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(mt.signal.windows, name), getattr(torch.signal.windows, name)
    for kw in PARAMS.get(name, [{}]):
        for M in (0, 1, 2, 3, 6, 13):
            for sym in (True, False):
                out = ours(M, sym=sym, dtype=mt.float64, device=device, **kw)
                expected = theirs(M, sym=sym, dtype=torch.float64, **kw)
                assert out.shape == (M,) and out.dtype == mt.float64 and out.device == device
                np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12, atol=1e-14, err_msg=f"{M} {sym} {kw}")
                # float32: computed in float64, then cast (torch computes in float32)
                out32 = ours(M, sym=sym, **kw)
                assert out32.dtype == mt.float32
                np.testing.assert_allclose(out32.numpy(), theirs(M, sym=sym, **kw).numpy(), rtol=1e-5, atol=1e-6)


def test_a_periodic_window_is_the_symmetric_one_of_one_more_point_cut():
    for name in NAMES:
        kw = PARAMS.get(name, [{}])[-1]
        w = getattr(mt.signal.windows, name)
        np.testing.assert_allclose(w(9, sym=False, dtype=mt.float64, **kw).numpy(),
                                   w(10, dtype=mt.float64, **kw).numpy()[:9], rtol=1e-13, atol=1e-15)


def test_exponential_center_and_the_factory_arguments_as_torch():
    torch = pytest.importorskip("torch")
    for M in (1, 5, 8):
        np.testing.assert_allclose(mt.signal.windows.exponential(M, center=1.3, tau=0.7, sym=False, dtype=mt.float64).numpy(),
                                   torch.signal.windows.exponential(M, center=1.3, tau=0.7, sym=False,
                                                                    dtype=torch.float64).numpy(), rtol=1e-12)
    w = mt.signal.windows.hann(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with mt.device("fake"):
        assert mt.signal.windows.kaiser(3).device == "fake"
    mt.set_default_dtype(mt.float64)
    try:
        assert mt.signal.windows.gaussian(3).dtype == mt.float64
    finally:
        mt.set_default_dtype(mt.float32)


@pytest.mark.parametrize("call, message", [
    (lambda w: w.hann(-1), "requires non-negative window length, got M=-1"),
    (lambda w: w.nuttall(3, dtype="int64"), "expects float32 or float64 dtypes"),
    (lambda w: w.bartlett(3, dtype="complex64"), "expects float32 or float64 dtypes"),
    (lambda w: w.gaussian(3, std=0), "Standard deviation must be positive"),
    (lambda w: w.exponential(3, tau=-1.0), "Tau must be positive"),
    (lambda w: w.exponential(3, center=1.0), "Center must be None for symmetric windows"),
    (lambda w: w.kaiser(3, beta=-1.0), "beta must be non-negative"),
    (lambda w: w.general_cosine(3, a=[]), "Coefficients cannot be empty"),
])
def test_errors_as_torch(call, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=message):
        call(mt.signal.windows)
    with pytest.raises(ValueError, match=message):
        call(torch.signal.windows)


def test_argument_types():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="Coefficients must be a list/tuple"):
        mt.signal.windows.general_cosine(3, a=3)
    with pytest.raises(TypeError, match="Coefficients must be a list/tuple"):
        torch.signal.windows.general_cosine(3, a=3)
    with pytest.raises(TypeError, match="argument 'M' must be int"):
        mt.signal.windows.hann(2.0)
    with pytest.raises(TypeError):
        torch.signal.windows.hann(2.0)
    with pytest.raises(ArgumentError, match="float32 or float64"):   # (NumPy has float16, torch refuses it)
        mt.signal.windows.hamming(3, dtype="float16")
    with pytest.raises(ValueError, match="float32 or float64"):
        torch.signal.windows.hamming(3, dtype=torch.float16)
