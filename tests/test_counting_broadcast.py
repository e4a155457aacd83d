"""bincount, unique, broadcast_to, broadcast_tensors, concat, Tensor.cuda and the default
dtype, against torch."""
import numpy as np
import pytest

import minitf as mt
from minitf.fakedevice import count_host_transfers


def _np(t):
    return mt.backend.to_numpy(t.data)


def _same(ours, theirs):
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(_np(ours), theirs.numpy())


# ------------------------------------------------------------------ bincount

@pytest.mark.parametrize("values,weights,minlength", [
    ([1, 1, 3], None, 0),
    ([1, 1, 3], None, 6),
    ([], None, 0),
    ([], None, 3),
    ([0, 4, 4, 2], [0.5, 0.25, 1.0, 2.0], 0),
    ([0, 4, 4, 2], "float64", 7),
    ([2, 2], "int64", 0),
])
def test_bincount_as_torch(device, values, weights, minlength):
    torch = pytest.importorskip("torch")
    x = np.array(values, dtype=np.int64)
    if isinstance(weights, str):
        w = np.arange(1, len(values) + 1).astype(weights)
    else:
        w = None if weights is None else np.array(weights, dtype=np.float32)
    ours = mt.bincount(mt.tensor(x, device=device), None if w is None else mt.tensor(w, device=device), minlength)
    theirs = torch.bincount(torch.tensor(x), None if w is None else torch.tensor(w), minlength)
    _same(ours, theirs)
    assert ours.device == device
    _same(mt.tensor(x, device=device).bincount(minlength=minlength), torch.tensor(x).bincount(minlength=minlength))


def test_bincount_reads_only_its_bounds():
    x = mt.tensor([1, 1, 3], device="fake")
    with count_host_transfers() as n:
        mt.bincount(x)
    assert n == {"to_host": 1, "to_device": 0}


@pytest.mark.parametrize("call", [
    lambda m, t: m.bincount(t([-1, 1])),
    lambda m, t: m.bincount(t([[1, 1]])),
    lambda m, t: m.bincount(t([1, 2]), minlength=-1),
    lambda m, t: m.bincount(t([1, 2]), t([1.0])),
])
def test_bincount_errors_as_torch(device, call):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        call(torch, torch.tensor)
    with pytest.raises(RuntimeError):
        call(mt, lambda v: mt.tensor(v, device=device))
    with pytest.raises(TypeError, match="integers"):
        mt.bincount(mt.tensor([1.0, 2.0], device=device))


# ------------------------------------------------------------------ unique

@pytest.mark.parametrize("values,dtype", [
    ([3, 1, 3, 2], "int64"),
    ([[3, 1], [3, 2]], "int64"),
    ([1.0, float("nan"), 2.0, float("nan"), 1.0], "float64"),
    ([True, False, True], "bool"),
    ([], "float32"),
])
@pytest.mark.parametrize("sorted_", [True, False])
def test_unique_as_torch(device, values, dtype, sorted_):
    torch = pytest.importorskip("torch")
    a = np.array(values, dtype=dtype)
    ours = mt.unique(mt.tensor(a, device=device), sorted=sorted_, return_inverse=True, return_counts=True)
    theirs = torch.unique(torch.tensor(a), sorted=sorted_, return_inverse=True, return_counts=True)
    for o, t in zip(ours, theirs):
        assert o.device == device
        assert o.dtype == np.dtype(str(t.dtype).replace("torch.", "")) and o.shape == tuple(t.shape)
        np.testing.assert_array_equal(_np(o), t.numpy())  # NaNs in the same places, each its own
    only = mt.tensor(a, device=device).unique()
    assert isinstance(only, mt.Tensor) and only.shape == tuple(theirs[0].shape)
    _, counts = mt.unique(mt.tensor(a, device=device), return_counts=True)
    np.testing.assert_array_equal(_np(counts), theirs[2].numpy())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_along_a_dim_as_torch(device, dim):
    torch = pytest.importorskip("torch")
    a = np.array([[3, 1, 3], [3, 1, 3], [0, 2, 0], [0, 2, 0], [0, 1, 5]], dtype=np.int64)
    ours = mt.unique(mt.tensor(a, device=device), return_inverse=True, return_counts=True, dim=dim)
    theirs = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    for o, t in zip(ours, theirs):
        _same(o, t)


def test_unique_errors(device):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.unique(torch.ones(2, 0), dim=0)
    with pytest.raises(RuntimeError, match="0-sized"):
        mt.unique(mt.ones((2, 0), device=device), dim=0)
    with pytest.raises((IndexError, ValueError)):
        mt.unique(mt.ones(3, device=device), dim=1)
    # a 0-d tensor has no dim to take slices along: IndexError, as torch's
    for dim in (0, -1):
        with pytest.raises(IndexError):
            torch.unique(torch.tensor(5), dim=dim)
        with pytest.raises(IndexError, match="unique: dim .* the tensor has no dimensions"):
            mt.unique(mt.tensor(5, device=device), dim=dim)
        with pytest.raises(IndexError, match="no dimensions"):
            mt.tensor(5, device=device).unique(dim=dim)
    assert mt.unique(mt.tensor(5, device=device)).tolist() == [5]


# ------------------------------------------------------------------ broadcasting and concat

def test_broadcast_to_and_broadcast_tensors_as_torch(device):
    torch = pytest.importorskip("torch")
    a = np.arange(3.0)
    x = mt.tensor(a, dtype="float64", device=device, requires_grad=True)
    _same(mt.broadcast_to(x, (2, 3)).detach(), torch.broadcast_to(torch.tensor(a), (2, 3)))
    _same(x.broadcast_to((2, -1)).detach(), torch.tensor(a).broadcast_to((2, -1)))
    b = np.ones((2, 1))
    ours = mt.broadcast_tensors(x, mt.tensor(b, device=device))
    theirs = torch.broadcast_tensors(torch.tensor(a), torch.tensor(b))
    for o, t in zip(ours, theirs):
        _same(o.detach(), t)
    assert isinstance(ours, tuple)
    assert mt.gradcheck(lambda t: mt.broadcast_to(t, (4, 3)) * 2.0, [x])
    assert mt.gradcheck(lambda t: mt.broadcast_tensors(t, mt.ones((2, 1), dtype="float64", device=device))[0], [x])
    with pytest.raises(ValueError, match="must match"):
        mt.broadcast_to(x, (2, 4))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        mt.broadcast_tensors(x, mt.ones(2, device=device))


def test_concat_is_cat():
    assert mt.concat is mt.cat
    assert mt.concat([mt.ones(1), mt.zeros(2)]).tolist() == [1.0, 0.0, 0.0]


def test_cuda_is_to_gpu():
    x = mt.ones(2)
    if mt.gpu_available():
        assert x.cuda().device == "gpu" and x.cuda(0).device == "gpu"
    else:
        with pytest.raises(mt.DeviceError):
            x.cuda()
    with pytest.raises(mt.DeviceError, match="one GPU"):
        x.cuda(1)


# ------------------------------------------------------------------ default dtype

@pytest.fixture
def default_dtype():
    yield
    mt.set_default_dtype(mt.float32)


def test_default_dtype_applies_where_torch_s_does(default_dtype, device):
    torch = pytest.importorskip("torch")
    assert mt.get_default_dtype() == mt.float32 and torch.get_default_dtype() == torch.float32
    made = {
        "tensor": lambda m, **k: m.tensor([1.0], **k),
        "tensor_int": lambda m, **k: m.tensor([1], **k),
        "zeros": lambda m, **k: m.zeros(2, **k),
        "ones": lambda m, **k: m.ones(2, **k),
        "empty": lambda m, **k: m.empty(2, **k),
        "full_float": lambda m, **k: m.full((2,), 1.5, **k),
        "full_int": lambda m, **k: m.full((2,), 1, **k),
        "eye": lambda m, **k: m.eye(2, **k),
        "arange_float": lambda m, **k: m.arange(0.0, 2.0, **k),
        "arange_int": lambda m, **k: m.arange(2, **k),
        "rand": lambda m, **k: m.rand(2, **k),
        "randn": lambda m, **k: m.randn(2, **k),
        "linspace": lambda m, **k: m.linspace(0, 1, 3, **k),
        "randint": lambda m, **k: m.randint(0, 3, (2,), **k),
        "zeros_like_f16": lambda m, **k: m.zeros_like(m.ones(2, dtype=m.float16, **k)),
    }
    try:
        for d, td in ((mt.float64, torch.float64), (mt.float32, torch.float32)):
            mt.set_default_dtype(d)
            torch.set_default_dtype(td)
            assert mt.get_default_dtype() == d
            for name, make in made.items():
                ours, theirs = make(mt, device=device), make(torch)
                assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), name
            # NumPy float arrays keep their dtype, in both
            assert mt.tensor(np.ones(2, dtype=np.float32)).dtype == mt.float32
    finally:
        torch.set_default_dtype(torch.float32)


def test_set_default_dtype_refuses_other_dtypes(default_dtype):
    for d in (mt.int64, mt.float16, None, "nonsense"):
        with pytest.raises(TypeError, match="float32 and float64"):
            mt.set_default_dtype(d)
    mt.set_default_dtype("float64")  # minitf's dtype names are accepted, as everywhere
    assert mt.get_default_dtype() == mt.float64
