"""``device=None`` means the default device (the CPU), as torch's, in every factory."""
import pytest

import minitf as mt


@pytest.mark.parametrize("make", [lambda: mt.tensor([1.0], device=None), lambda: mt.zeros(2, device=None),
                                  lambda: mt.ones(2, device=None), lambda: mt.full((2,), 3.0, device=None),
                                  lambda: mt.arange(3, device=None), lambda: mt.randn(2, device=None),
                                  lambda: mt.eye(2, device=None), lambda: mt.linspace(0, 1, 3, device=None)])
def test_device_none_is_the_cpu(make):
    assert make().device == "cpu"


def test_an_unknown_device_still_says_so():
    with pytest.raises(mt.backend.DeviceError, match="unknown device 'tpu'"):
        mt.zeros(2, device="tpu")
