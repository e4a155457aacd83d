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


def test_tensor_device_is_a_device_object_equal_to_its_name(device):
    import json
    x = mt.zeros(2, device=device)
    d = x.device
    assert isinstance(d, mt.device) and isinstance(d, str) and d == device and str(d) == device
    assert d.type == {"cpu": "cpu", "fake": "fake", "gpu": "cuda"}[device]
    assert d in (device, "other") and {device: 1}[d] == 1 and {d: 1}[device] == 1 and hash(d) == hash(device)
    assert f"{d}" == device and json.dumps({"d": d}) == f'{{"d": "{device}"}}'
    assert mt.zeros(1, device=d).device == device and mt.ones(1).to(d).device == device
    assert x.device is mt.zeros(3, device=device).device  # one object per kind, not one per tensor
    assert repr(x).count("device=") == (0 if device == "cpu" else 1) and "device(type" not in repr(x)


def test_tensor_device_repr_and_type_as_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = mt.zeros(1).device, torch.zeros(1).device
    assert repr(ours) == repr(theirs) and ours.type == theirs.type and ours.index == theirs.index
    assert repr(mt.device("cuda", 0)) == repr(torch.device("cuda", 0))
