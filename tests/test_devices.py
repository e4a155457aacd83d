"""minitf.device (torch.device's everyday part) and PyTorch's "cuda:0" spelling of device names."""
import pytest

import minitf as mt


def test_device_objects_are_normalised_names():
    d = mt.device("cuda:0")
    assert d == "gpu" and isinstance(d, str) and d.type == "cuda" and d.index == 0
    assert mt.device("cuda", 0) == d and mt.device("GPU").index is None
    assert mt.device("cpu").type == "cpu" and repr(mt.device("cpu")) == "device(type='cpu')"
    assert mt.device(mt.device("fake")) == "fake" and {mt.device("cpu"): 1}["cpu"] == 1


def test_a_device_object_goes_wherever_a_name_does():
    x = mt.zeros(2, device=mt.device("fake"))
    assert x.device == "fake"
    assert x.to(mt.device("cpu")).device == "cpu" and mt.tensor([1.0], device="cpu:0").device == "cpu"


def test_device_errors():
    with pytest.raises(mt.DeviceError, match="index 0"):
        mt.device("cuda:1")
    with pytest.raises(mt.DeviceError, match="unknown device"):
        mt.device("tpu")
    with pytest.raises(TypeError, match="index must be an int"):
        mt.device("cuda", "0")


def test_torch_reads_the_same_type_and_index():
    torch = pytest.importorskip("torch")
    for spec in ("cpu", "cuda", "cuda:0"):
        ours, theirs = mt.device(spec), torch.device(spec)
        assert (ours.type, ours.index) == (theirs.type, theirs.index)
