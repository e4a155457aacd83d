"""batch_norm, instance_norm, group_norm, local_response_norm: float64 gradchecks (and gradgradchecks)
on every device, PyTorch's values, gradients and running statistics over several training and
evaluation steps, and the errors for bad arguments."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn

from .conftest import ATOL, RTOL, device_tensor
from .torch_compare import compare_with_torch

SHAPES = [(4, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 1, 2, 2)]


def _wb(rng, device, C=3):
    return device_tensor(rng.standard_normal(C), device), device_tensor(rng.standard_normal(C), device)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_training_gradcheck(device, shape, affine):
    rng = np.random.default_rng(20)   # (not gradcheck's cotangent seed: u = x is a stationary direction)
    x = device_tensor(rng.standard_normal(shape), device)
    w, b = _wb(rng, device) if affine else (None, None)
    y = F.batch_norm(x, None, None, w, b, training=True)
    assert y.shape == shape and y.device == device
    if not affine:   # every channel has mean 0 and (biased) variance 1 / (1 + eps / var)
        axes = (0,) + tuple(range(2, len(shape)))
        np.testing.assert_allclose(y.numpy().mean(axis=axes), 0, atol=1e-12)
        var = x.numpy().var(axis=axes)
        np.testing.assert_allclose(y.numpy().var(axis=axes), var / (var + 1e-5), rtol=1e-10)
    inputs = [x] + ([w, b] if affine else [])
    assert mt.gradcheck(lambda *t: F.batch_norm(t[0], None, None, *t[1:], training=True), inputs,
                        rtol=RTOL, atol=ATOL)


def test_batch_norm_training_is_one_fused_node():
    """The closed-form backward: one ChannelNorm node between the input and the output (no graph
    through mean and var)."""
    from minitf.ops.batch_norm import ChannelNorm
    x = mt.tensor(np.random.default_rng(21).standard_normal((4, 3, 2)), dtype="float32", requires_grad=True)
    y = F.batch_norm(x, None, None, mt.ones(3, requires_grad=True), mt.zeros(3, requires_grad=True), training=True)
    node = y.grad_fn
    while not isinstance(node, ChannelNorm):   # only reshapes around it
        assert type(node).__name__ in ("Reshape", "OpResult")   # OpResult: the reshape to the result
        (node,) = [t.grad_fn for t in node.inputs if t.grad_fn is not None]
    assert all(t.grad_fn is None or type(t.grad_fn).__name__ == "Reshape" for t in node.inputs)


def test_batch_norm_gradgradcheck(device):
    rng = np.random.default_rng(1)
    x = device_tensor(rng.standard_normal((3, 2, 4)), device)
    w, b = _wb(rng, device, 2)
    assert mt.gradgradcheck(lambda *t: F.batch_norm(*t[:1], None, None, *t[1:], training=True, eps=1e-3),
                            [x, w, b], rtol=RTOL, atol=ATOL)
    rm, rv = mt.tensor(rng.standard_normal(2), device=device), mt.tensor(rng.random(2) + 0.5, device=device)
    assert mt.gradgradcheck(lambda *t: F.batch_norm(t[0], rm, rv, *t[1:], training=False), [x, w, b],
                            rtol=RTOL, atol=ATOL)


def test_batch_norm_eval_gradcheck_uses_running_stats(device):
    rng = np.random.default_rng(2)
    x = device_tensor(rng.standard_normal((5, 3, 2)), device)
    w, b = _wb(rng, device)
    rm, rv = mt.tensor(rng.standard_normal(3), device=device), mt.tensor(rng.random(3) + 0.5, device=device)
    y = F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)
    ref = ((x.numpy() - rm.numpy()[:, None]) / np.sqrt(rv.numpy()[:, None] + 1e-3) * w.numpy()[:, None]
           + b.numpy()[:, None])
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    assert mt.gradcheck(lambda *t: F.batch_norm(t[0], rm, rv, *t[1:], training=False), [x, w, b],
                        rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", SHAPES + [(7, 3, 2)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_batch_norm_matches_torch_over_steps(shape, momentum):
    """Values, gradients of x, w, b and the running buffers, over training and evaluation steps."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    rm, rv = mt.zeros(3, dtype="float64"), mt.ones(3, dtype="float64")
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for training in (True, True, False, True, False):
        x = rng.standard_normal(shape) * 2 + 1
        w, b = rng.standard_normal(3), rng.standard_normal(3)
        compare_with_torch(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, training, momentum),
                           lambda a, c, d: torch.nn.functional.batch_norm(a, rmt, rvt, c, d, training, momentum),
                           [x, w, b])
        np.testing.assert_allclose(rm.numpy(), rmt.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-12)
    assert not rm.requires_grad and rm.grad is None


def test_batch_norm_running_stats_are_updated_in_place_with_the_unbiased_variance(device):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 2, 3))
    rm, rv = mt.zeros(2, dtype="float64", device=device), mt.ones(2, dtype="float64", device=device)
    arr, v0 = rm.data, rm._version
    F.batch_norm(mt.tensor(x, device=device), rm, rv, training=True, momentum=0.25)
    assert rm.data is arr and rm._version > v0   # the same storage, changed in place (a version bump)
    np.testing.assert_allclose(rm.numpy(), 0.25 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * x.var(axis=(0, 2), ddof=1), rtol=1e-12)


def test_batch_norm_float32_and_non_contiguous_input(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((3, 5, 4)).astype(np.float32)
    xm = mt.tensor(x, device=device).transpose(0, 2)         # (4, 5, 3), a strided view
    xt = torch.tensor(x).transpose(0, 2)
    rm, rv = mt.zeros(5, device=device), mt.ones(5, device=device)
    rmt, rvt = torch.zeros(5), torch.ones(5)
    y = F.batch_norm(xm, rm, rv, training=True)
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, training=True)
    assert y.dtype == np.float32 and y.shape == (4, 5, 3)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-5)


def test_batch_norm_empty_batch_keeps_the_running_stats(device):
    torch = pytest.importorskip("torch")
    rm, rv = mt.zeros(3, device=device), mt.ones(3, device=device)
    x = mt.zeros(0, 3, 2, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.batch_norm(x, rm, rv, training=True)
        y.sum().backward()
    assert y.shape == (0, 3, 2) and x.grad.shape == (0, 3, 2)
    yt = torch.nn.functional.batch_norm(torch.zeros(0, 3, 2), torch.zeros(3), torch.ones(3), training=True)
    assert tuple(yt.shape) == y.shape
    np.testing.assert_array_equal(rm.numpy(), 0)
    np.testing.assert_array_equal(rv.numpy(), 1)


def test_batch_norm_errors():
    x = mt.tensor(np.random.default_rng(6).standard_normal((4, 3)), dtype="float32")
    z, o = mt.zeros(3), mt.ones(3)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, "
                                         r"got input size \(1, 3\)"):
        F.batch_norm(x[:1], z, o, training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(mt.ones(1, 3, 1), None, None, training=True)
    F.batch_norm(x[:1], z, o, training=False)   # one value is fine in evaluation, as torch
    with pytest.raises(ValueError, match="running_mean and running_var must be given in evaluation mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="either both be None or neither"):
        F.batch_norm(x, z, None, training=True)
    with pytest.raises(mt.errors.ShapeError, match="running_mean should contain 3 elements"):
        F.batch_norm(x, mt.zeros(4), mt.ones(4), training=True)
    with pytest.raises(mt.errors.ShapeError, match="weight should contain 3 elements"):
        F.batch_norm(x, z, o, mt.ones(4), training=True)
    with pytest.raises(mt.errors.ShapeError, match="at least 2 dims"):
        F.batch_norm(mt.ones(3), z, o, training=True)
    with pytest.raises(TypeError, match="batch_norm: input is float32 but running_mean is float64"):
        F.batch_norm(x, mt.zeros(3, dtype="float64"), mt.ones(3, dtype="float64"))
    with pytest.raises(TypeError, match="floating point"):
        F.batch_norm(mt.ones(4, 3, dtype="int64"), None, None, training=True)
    with pytest.raises(mt.backend.DeviceError):
        F.batch_norm(x, z.to("fake"), o.to("fake"), training=True)
    with pytest.raises(ValueError, match="batch_norm: momentum must be a finite number"):
        F.batch_norm(x, z, o, training=True, momentum=None)
    with pytest.raises(ValueError, match="group_norm: eps must be a finite number >= 0"):
        F.group_norm(x, 3, eps=-1.0)


# --------------------------------------------------------------------------- instance_norm
@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 3), (1, 3, 2)])
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_gradcheck(device, shape, affine):
    rng = np.random.default_rng(7)
    x = device_tensor(rng.standard_normal(shape), device)
    w, b = _wb(rng, device, shape[1]) if affine else (None, None)
    inputs = [x] + ([w, b] if affine else [])
    assert mt.gradcheck(lambda *t: F.instance_norm(t[0], None, None, *t[1:]), inputs, rtol=RTOL, atol=ATOL)


def test_instance_norm_gradgradcheck(device):
    rng = np.random.default_rng(8)
    x = device_tensor(rng.standard_normal((2, 2, 3)), device)
    w, b = _wb(rng, device, 2)
    assert mt.gradgradcheck(lambda *t: F.instance_norm(t[0], None, None, *t[1:]), [x, w, b], rtol=RTOL,
                            atol=ATOL)


@pytest.mark.parametrize("shape", [(4, 3, 5), (2, 3, 2, 3)])
def test_instance_norm_matches_torch_with_running_stats(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    rm, rv = mt.zeros(3, dtype="float64"), mt.ones(3, dtype="float64")
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for use_input_stats in (True, True, False):
        x = rng.standard_normal(shape) * 3 - 1
        w, b = rng.standard_normal(3), rng.standard_normal(3)
        compare_with_torch(lambda a, c, d: F.instance_norm(a, rm, rv, c, d, use_input_stats, 0.3),
                           lambda a, c, d: torch.nn.functional.instance_norm(a, rmt, rvt, c, d, use_input_stats,
                                                                             0.3), [x, w, b])
        np.testing.assert_allclose(rm.numpy(), rmt.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-12)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        F.instance_norm(mt.ones(2, 3, 1))
    with pytest.raises(mt.errors.ShapeError, match="at least one spatial dim"):
        F.instance_norm(mt.ones(2, 3))
    with pytest.raises(ValueError, match="must be given with use_input_stats=False"):
        F.instance_norm(mt.ones(2, 3, 4), use_input_stats=False)


# --------------------------------------------------------------------------- group_norm
@pytest.mark.parametrize("shape, G", [((2, 6, 4), 3), ((2, 4), 2), ((1, 4, 2, 3), 1), ((3, 4, 2), 4)])
@pytest.mark.parametrize("affine", [False, True])
def test_group_norm_gradcheck(device, shape, G, affine):
    rng = np.random.default_rng(10)
    x = device_tensor(rng.standard_normal(shape), device)
    w, b = _wb(rng, device, shape[1]) if affine else (None, None)
    inputs = [x] + ([w, b] if affine else [])
    assert mt.gradcheck(lambda *t: F.group_norm(t[0], G, *t[1:]), inputs, rtol=RTOL, atol=ATOL)


def test_group_norm_gradgradcheck(device):
    rng = np.random.default_rng(11)
    x = device_tensor(rng.standard_normal((2, 4, 3)), device)
    w, b = _wb(rng, device, 4)
    assert mt.gradgradcheck(lambda *t: F.group_norm(t[0], 2, *t[1:]), [x, w, b], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape, G", [((2, 6, 4), 3), ((2, 6), 2), ((3, 4, 2, 3), 1), ((3, 4, 2), 4),
                                      ((0, 4, 2), 2)])
def test_group_norm_matches_torch(shape, G):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    C = shape[1]
    compare_with_torch(lambda a, c, d: F.group_norm(a, G, c, d, eps=1e-3),
                       lambda a, c, d: torch.nn.functional.group_norm(a, G, c, d, eps=1e-3),
                       [rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)])


def test_group_norm_errors():
    with pytest.raises(mt.errors.ShapeError, match="divisible by num_groups"):
        F.group_norm(mt.ones(2, 6, 4), 4)
    with pytest.raises(mt.errors.ShapeError, match="at least 2 dims"):
        F.group_norm(mt.ones(6), 3)
    with pytest.raises(mt.errors.ShapeError, match="weight should contain 6 elements"):
        F.group_norm(mt.ones(2, 6), 3, mt.ones(5))
    with pytest.raises(ValueError, match="num_groups must be a positive int"):
        F.group_norm(mt.ones(2, 6), 0)


# --------------------------------------------------------------------------- local_response_norm
@pytest.mark.parametrize("shape, size", [((2, 5, 3), 3), ((2, 4, 2, 2), 2), ((1, 3, 2), 5), ((2, 3, 1, 1, 2), 1)])
def test_local_response_norm_matches_torch_and_gradchecks(device, shape, size):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    x = rng.standard_normal(shape)
    compare_with_torch(lambda a: F.local_response_norm(a, size, alpha=0.5, beta=0.6, k=2.0),
                       lambda a: torch.nn.functional.local_response_norm(a, size, alpha=0.5, beta=0.6, k=2.0),
                       [x])
    assert mt.gradgradcheck(lambda a: F.local_response_norm(a, size, alpha=0.5), [device_tensor(x, device)],
                            rtol=RTOL, atol=ATOL)


def test_local_response_norm_errors():
    with pytest.raises(mt.errors.ShapeError, match="expected 3D or higher dimensionality input"):
        F.local_response_norm(mt.ones(2, 3), 2)
    with pytest.raises(ValueError, match="size must be a positive int"):
        F.local_response_norm(mt.ones(2, 3, 2), 0)


def test_group_norm_of_one_value_per_group_row_raises_as_torch():
    # torch's F.group_norm checks N * C / G * prod(spatial) > 1 (found by a fuzz against torch)
    for shape, groups in [((1, 4, 1), 4), ((1, 3), 3), ((1, 1), 1)]:
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            F.group_norm(mt.ones(*shape), groups)
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            nn.GroupNorm(groups, shape[1])(mt.ones(*shape))
    assert F.group_norm(mt.ones(2, 4, 1), 4).shape == (2, 4, 1)
    assert F.group_norm(mt.ones(1, 4, 2), 4).shape == (1, 4, 2)


_LAYER_DTYPES = ["int32", "int64", "int8", "uint8", "bool", "float16", "float32", "float64", "complex64"]


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (4, 3)), ("BatchNorm2d", (4, 3, 2, 2))])
def test_batch_norm_layers_accept_and_refuse_dtypes_as_torch(cls, shape):
    # (bfloat16: NumPy has none.) For each (affine, track_running_stats, dtype): built or refused with
    # torch's error type, then a forward in training and in eval mode with an input of that dtype
    torch = pytest.importorskip("torch")

    def outcome(lib, affine, track, dtype):
        try:
            m = getattr(lib.nn, cls)(3, affine=affine, track_running_stats=track, dtype=getattr(lib, dtype))
        except Exception as e:
            return ("built", e), ()
        done = []
        for mode in ("train", "eval"):
            getattr(m, mode)()
            try:
                y = m(lib.ones(shape, dtype=getattr(lib, dtype)))
                done.append(str(y.dtype).replace("torch.", ""))
            except Exception as e:
                done.append(e)
        return ("built", None), tuple(done)

    for affine in (True, False):
        for track in (True, False):
            for dtype in _LAYER_DTYPES:
                (_, m_err), m_fwd = outcome(mt, affine, track, dtype)
                (_, t_err), t_fwd = outcome(torch, affine, track, dtype)
                case = (affine, track, dtype)
                if affine and dtype == "complex64":   # kept difference: minitf's parameters are real
                    assert isinstance(m_err, RuntimeError) and t_err is None, case
                    continue
                assert (m_err is None) == (t_err is None), (case, m_err, t_err)
                if t_err is not None:
                    assert isinstance(m_err, type(t_err)), (case, m_err, t_err)
                    continue
                for m_out, t_out in zip(m_fwd, t_fwd, strict=True):
                    if isinstance(t_out, Exception):
                        assert isinstance(m_out, type(t_out)) and "floating point" in str(m_out), (case, m_out)
                    else:
                        assert m_out == t_out, case
    m = getattr(mt.nn, cls)(3, affine=False, dtype="int32")   # the buffers take the dtype, as torch's
    assert m.running_mean.dtype == m.running_var.dtype == mt.int32 and m.num_batches_tracked.dtype == mt.int64


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("name", ["layer_norm", "rms_norm", "group_norm"])
def test_the_norms_refuse_a_non_floating_input_with_torchs_error_type(name, dtype):
    # torch: NotImplementedError ('"LayerNormKernelImpl" not implemented for 'Long''), one line; layer_norm
    # gave NumPy's UFuncTypeError (from inside its kernel) and rms_norm a plain TypeError
    torch = pytest.importorskip("torch")
    args = {"layer_norm": ((2, 3), ((3,),)), "rms_norm": ((2, 3), ((3,),)), "group_norm": ((2, 4, 3), (2,))}[name]
    errors = []
    for lib in (mt, torch):
        x = lib.ones(args[0], dtype=getattr(lib, dtype))
        with pytest.raises(Exception) as e:
            getattr(lib.nn.functional, name)(x, *args[1])
        errors.append(e)
    assert errors[1].type is NotImplementedError
    assert isinstance(errors[0].value, NotImplementedError), errors[0].value
    assert "\n" not in str(errors[0].value) and name in str(errors[0].value) and dtype in str(errors[0].value)
