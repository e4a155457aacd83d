"""The fake device is a strict CuPy stand-in: these tests pin the CuPy behaviours it
imitates, so that code passing on it does not leak host arrays on a real GPU."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.fakedevice import FakeDeviceArray, fake_xp


@pytest.fixture
def a():
    return fake_xp.asarray(np.arange(6.0).reshape(2, 3))


def test_implicit_conversion_to_numpy_is_refused(a):
    for convert in (np.asarray, np.array, lambda x: np.array([x[0, 0], x[0, 1]])):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
            convert(a)


def test_explicit_transfer_with_get(a):
    host = a.get()
    assert type(host) is np.ndarray
    np.testing.assert_array_equal(host, np.arange(6.0).reshape(2, 3))
    host[0, 0] = 100.0  # a copy: the device array is unchanged
    assert a[0, 0].item() == 0.0


@pytest.mark.parametrize("op", [
    lambda a, h: a + h, lambda a, h: h + a, lambda a, h: a * h, lambda a, h: h - a,
    lambda a, h: a @ h.T, lambda a, h: np.add(a, h), lambda a, h: fake_xp.maximum(a, h),
    lambda a, h: fake_xp.where(a > 1, a, h), lambda a, h: fake_xp.concatenate([a, h]),
    lambda a, h: np.concatenate([h, a]),
])
def test_host_ndarray_meeting_a_device_array_is_refused(a, op):
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        op(a, np.ones((2, 3)))


def test_indexing_with_a_host_array_is_refused(a):
    with pytest.raises(TypeError, match="Unsupported type"):
        a[np.array([0, 1])]
    with pytest.raises(TypeError, match="Unsupported type"):
        a[0] = np.zeros(3)


@pytest.mark.parametrize("scalar", [2, 2.5, True, np.float64(2.5), np.float32(0.5), np.int64(3)])
def test_python_and_numpy_scalars_are_accepted(a, scalar):
    out = a * scalar + scalar
    assert type(out) is FakeDeviceArray
    np.testing.assert_allclose(out.get(), np.arange(6.0).reshape(2, 3) * scalar + scalar)


@pytest.mark.parametrize("reduce", [lambda x: x.sum(), lambda x: x.max(), lambda x: x.mean(),
                                    lambda x: np.sum(x), lambda x: fake_xp.sum(x), lambda x: x[1, 2],
                                    lambda x: x.argmax()])
def test_reductions_and_scalar_indexing_give_0d_device_arrays(a, reduce):
    out = reduce(a)
    assert type(out) is FakeDeviceArray and out.shape == ()
    assert isinstance(out.item(), (int, float))


def test_numpy_functions_dispatch_to_the_device(a):
    for fn in (np.exp, np.tanh, lambda x: np.transpose(x), lambda x: np.where(x > 2, x, 0.0)):
        assert type(fn(a)) is FakeDeviceArray


def test_namespace_and_random_stay_on_the_device():
    z = fake_xp.zeros((2, 2), dtype=np.float64)
    assert type(z) is FakeDeviceArray and z.dtype == np.float64
    r = fake_xp.random.default_rng(0).random((3,))
    assert type(r) is FakeDeviceArray
    np.testing.assert_array_equal(r.get(), np.random.default_rng(0).random((3,)))
    assert type(fake_xp.exp(z)) is FakeDeviceArray


def test_scatter_add_accumulates_repeats():
    target = fake_xp.zeros(3)
    fake_xp.scatter_add(target, fake_xp.asarray(np.array([0, 2, 0])), fake_xp.asarray(np.array([1.0, 2.0, 3.0])))
    assert target.get().tolist() == [4.0, 0.0, 2.0]


def test_backend_reports_devices(a):
    assert backend.device_of(a) == "fake"
    assert backend.get_array_module(a) is fake_xp
    assert backend.device_of(np.ones(2)) == "cpu"
    assert type(backend.to_device(np.ones(2), "fake")) is FakeDeviceArray
    assert type(backend.to_device(a, "cpu")) is np.ndarray


def test_tensors_on_the_fake_device_hold_device_arrays():
    x = mt.tensor([[1.0, -2.0]], dtype="float64", device="fake", requires_grad=True)
    y = F.tanh(x @ x.T).sum()
    assert type(y.data) is FakeDeviceArray and y.shape == ()  # reductions: 0-d device arrays
    y.backward()
    assert type(x.grad.data) is FakeDeviceArray
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x.data)
    assert type(x.numpy()) is np.ndarray  # the explicit way out


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a @ b, lambda a, b: F.matmul(a, b), lambda a, b: F.concatenate([a, b]),
])
def test_a_tensor_op_mixing_cpu_and_fake_raises_device_error(op):
    cpu = mt.tensor(np.ones((2, 2)), dtype="float64", requires_grad=True)
    fake = mt.tensor(np.ones((2, 2)), dtype="float64", device="fake", requires_grad=True)
    for x, y in [(cpu, fake), (fake, cpu)]:
        with pytest.raises(mt.DeviceError) as err:
            op(x, y)
        assert "cpu" in str(err.value) and "fake" in str(err.value)


def test_host_ndarray_with_a_fake_tensor_raises_device_error():
    fake = mt.tensor(np.ones(3), device="fake")
    with pytest.raises(mt.DeviceError, match="host numpy array.*fake"):
        fake + np.ones(3)
    with pytest.raises(mt.DeviceError, match="host numpy array.*fake"):
        np.ones(3) * fake


def test_gradcheck_works_on_the_fake_device():
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.standard_normal((3, 4)), dtype="float64", device="fake", requires_grad=True)
    w = mt.tensor(rng.standard_normal((4, 2)), dtype="float64", device="fake", requires_grad=True)
    assert mt.gradcheck(lambda x, w: F.softmax(F.tanh(x @ w), dim=-1), [x, w])
    assert x.grad is None  # gradcheck leaves .grad as it was
    (x @ w).sum().backward()
    assert type(x.grad.data) is FakeDeviceArray


def test_host_transfers_are_counted_both_ways():
    from minitf import fakedevice
    with fakedevice.count_host_transfers() as n:
        t = mt.tensor(np.arange(6.0).reshape(2, 3), device="fake")   # host -> device
        s = (t * 2).sum()                                               # stays on the device
    assert n == {"to_host": 0, "to_device": 1}
    with fakedevice.count_host_transfers() as n:
        s.item()
        float(s)
        t.numpy()
    assert n == {"to_host": 3, "to_device": 0}


def test_count_device_ops_counts_ufuncs_functions_methods_and_indexing():
    from minitf import fakedevice
    xp = fakedevice.fake_xp
    a = xp.asarray(np.arange(6.0))
    with fakedevice.count_device_ops() as n:
        b = xp.exp(a)          # a ufunc through the namespace
        b = b + 1              # an operator
        s = b.sum()            # a method
        c = b[1:3]             # indexing
        d = np.concatenate([b, c])   # an array function
    assert n["ops"] == 5 and type(s) is type(d) is fakedevice.FakeDeviceArray
