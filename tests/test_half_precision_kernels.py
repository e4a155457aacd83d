"""float16 sinc and ndtr are computed in float32 and rounded once, as torch's half kernels: in
float16 itself pi x and x / sqrt(2) were rounded first, so sinc(1) came out 3e-4 (not 0) and
ndtr(-2.5) 2% high. Checked against float64 values on a grid, to within one float16 rounding."""
import math

import numpy as np
import pytest

import minitf as mt

GRID = np.float16(np.linspace(-6, 6, 241))   # steps of 0.05, the integers among them


def _host(t):
    return mt.backend.to_numpy(t.data)


def _sinc(x):
    return 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)


def _ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _within_one_rounding(got, exact):
    got = got.astype(np.float64)
    # the float16 spacing at each exact value: a correctly rounded result is within half of it;
    # a float32 computation rounded once, within half of it plus float32's own error (about 1e-7
    # of the terms, 1 for sinc: sinc(5) is -6e-8 in float32, as torch's)
    spacing = np.spacing(np.abs(exact).astype(np.float16)).astype(np.float64)
    return np.abs(got - exact) <= 0.5 * spacing + 1.2e-7 * np.maximum(np.abs(exact), 1)


@pytest.mark.parametrize("name", ["sinc", "ndtr"])
def test_float16_results_are_rounded_once(name, device):
    exact = np.array([(_sinc if name == "sinc" else _ndtr)(float(v)) for v in GRID])
    got = _host(getattr(mt.special, name)(mt.tensor(GRID, device=device)))
    assert got.dtype == np.float16
    ok = _within_one_rounding(got, exact)
    assert ok.all(), list(zip(GRID[~ok][:5], got[~ok][:5], exact[~ok][:5]))


def test_sinc_is_zero_at_the_integers_in_float16(device):
    ints = mt.tensor([1.0, -1.0, 2.0, -3.0, 5.0], dtype=mt.float16, device=device)
    # 0 to float32's error (3e-4 when pi x was rounded to float16)
    assert (np.abs(_host(mt.special.sinc(ints))) <= 1.2e-7).all()


def test_float16_sinc_gradient(device):
    x = mt.tensor(GRID[GRID != 0], device=device, requires_grad=True)
    mt.special.sinc(x).sum().backward()
    xs = GRID[GRID != 0].astype(np.float64)
    exact = (np.pi * xs * np.cos(np.pi * xs) - np.sin(np.pi * xs)) / (np.pi * xs * xs)
    got = _host(x.grad)
    assert got.dtype == np.float16
    assert _within_one_rounding(got, exact).all()
