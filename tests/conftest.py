"""Shared fixtures: every device test runs on the CPU and on the strict fake device."""
import numpy as np
import pytest

import minitf as mt

DEVICES = ["cpu", "fake"]


@pytest.fixture(params=DEVICES)
def device(request):
    """The device under test: NumPy, or the fake GPU that behaves like CuPy."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _no_leaked_state():
    """Fail a test that leaves graph recording switched off."""
    yield
    assert mt.is_grad_enabled(), "a test left no_grad() active"


def randt(rng, *shape, device="cpu", requires_grad=True, scale=1.0):
    """A float64 tensor of standard-normal values (the gradcheck default)."""
    return mt.tensor(scale * rng.standard_normal(shape), dtype="float64", device=device,
                     requires_grad=requires_grad)
