"""Convolutions (minitf/ops/conv.py) and unfold/fold (minitf/ops/fold.py): finite-difference
gradients in float64 over stride/padding/dilation/groups grids, values and gradients against
torch, the fake device, and torch's errors for bad arguments."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.errors import ArgumentError, DtypeError, ShapeError

from .test_functional_fixes import grad_of
from .torch_compare import compare_with_torch

rng = np.random.default_rng(7)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels

# (C_in, C_out, kernel, stride, padding, dilation, groups) on tiny inputs
CONV2D_GRID = [
    (2, 3, (3, 3), 1, 0, 1, 1),
    (2, 3, (3, 2), 2, 1, 1, 1),
    (4, 2, (2, 2), (2, 1), (0, 1), (1, 2), 2),
    (3, 3, (3, 3), 1, "same", 1, 3),      # depthwise
    (2, 4, (2, 3), 1, "same", (2, 1), 1),  # even kernel: the odd pad on the right
    (4, 4, (1, 1), 3, 0, 1, 4),
    (2, 2, (3, 3), 2, 2, 2, 1),            # padding larger than the dilated kernel needs
    (2, 2, (2, 2), 1, "valid", 1, 2),
]
CONV1D_GRID = [
    (2, 3, 3, 1, 0, 1, 1),
    (4, 2, 2, 3, 2, 2, 2),
    (3, 6, 4, 1, "same", 1, 3),       # even kernel
    (2, 2, 3, 2, 1, 3, 1),
]


def _conv_args(c_in, c_out, kernel, groups, d):
    kernel = (kernel,) * d if isinstance(kernel, int) else kernel
    return rng.standard_normal((c_out, c_in // groups) + kernel), rng.standard_normal(c_out)


@pytest.mark.parametrize("case", CONV2D_GRID)
def test_conv2d_gradcheck(case):
    c_in, c_out, kernel, stride, padding, dilation, groups = case
    w, b = _conv_args(c_in, c_out, kernel, groups, 2)
    x = rng.standard_normal((2, c_in, 5, 6))
    ts = [mt.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert mt.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), ts)


@pytest.mark.parametrize("case", CONV1D_GRID)
def test_conv1d_gradcheck_and_gradgradcheck(case):
    c_in, c_out, kernel, stride, padding, dilation, groups = case
    w, b = _conv_args(c_in, c_out, kernel, groups, 1)
    x = rng.standard_normal((2, c_in, 9))
    ts = [mt.tensor(a, requires_grad=True) for a in (x, w, b)]
    fn = lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
    assert mt.gradcheck(fn, ts)
    assert mt.gradgradcheck(fn, ts)  # the backwards are the transposed conv and ConvWeight, recorded


def test_conv2d_gradgradcheck():
    w, b = _conv_args(4, 2, (2, 3), 2, 2)
    ts = [mt.tensor(a, requires_grad=True) for a in (rng.standard_normal((2, 4, 5, 5)), w, b)]
    assert mt.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, 2, 1, (2, 1), 2), ts)


@pytest.mark.parametrize("case", CONV2D_GRID)
def test_conv2d_matches_torch(case):
    torch = pytest.importorskip("torch")
    c_in, c_out, kernel, stride, padding, dilation, groups = case
    w, b = _conv_args(c_in, c_out, kernel, groups, 2)
    x = rng.standard_normal((2, c_in, 5, 6))
    compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups),
                       [x, w, b])


@pytest.mark.parametrize("case", CONV1D_GRID)
def test_conv1d_matches_torch(case):
    torch = pytest.importorskip("torch")
    c_in, c_out, kernel, stride, padding, dilation, groups = case
    w, b = _conv_args(c_in, c_out, kernel, groups, 1)
    compare_with_torch(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
                       lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride, padding, dilation, groups),
                       [rng.standard_normal((3, c_in, 9)), w, b])


@pytest.mark.parametrize("shape, kernel, kwargs", [
    ((3, 5, 4), (2, 3, 3, 3), {}),                     # unbatched (C, H, W)
    ((0, 3, 5, 4), (2, 3, 3, 3), {"padding": 1}),      # an empty batch
    ((2, 3, 1, 4), (2, 3, 1, 2), {}),                  # size-1 dims
    ((2, 3, 1, 1), (2, 3, 1, 1), {}),
    ((1, 1, 4, 4), (1, 1, 4, 4), {}),                  # the kernel exactly as large as the input
    ((2, 3, 4, 5), (2, 3, 2, 2), {"padding": "same"}),
])
def test_conv2d_edge_shapes_match_torch(shape, kernel, kwargs):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x, w: F.conv2d(x, w, **kwargs), lambda x, w: torch.nn.functional.conv2d(x, w, **kwargs),
                       [rng.standard_normal(shape), rng.standard_normal(kernel)])


def test_conv1d_unbatched_and_bias_none_match_torch():
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x, w: F.conv1d(x, w, None, 2, 1), lambda x, w: torch.nn.functional.conv1d(x, w, None, 2, 1),
                       [rng.standard_normal((3, 7)), rng.standard_normal((4, 3, 3))])


def test_conv2d_non_contiguous_input_matches_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 5, 3, 6))
    w = rng.standard_normal((4, 3, 2, 2))
    compare_with_torch(lambda x, w: F.conv2d(x.permute(0, 2, 1, 3)[..., ::2], w, padding=1),
                       lambda x, w: torch.nn.functional.conv2d(x.permute(0, 2, 1, 3)[..., ::2], w, padding=1),
                       [x, w])


@pytest.mark.parametrize("d", [2, 3])
def test_conv_float32_matches_torch(d):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3) + (6,) * d).astype(np.float32)
    w = rng.standard_normal((4, 3) + (3,) * d).astype(np.float32)
    ours, theirs = getattr(F, f"conv{d}d"), getattr(torch.nn.functional, f"conv{d}d")
    y = ours(mt.tensor(x), mt.tensor(w), stride=2, padding=1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), theirs(torch.tensor(x), torch.tensor(w), stride=2, padding=1).numpy(),
                               rtol=1e-5, atol=1e-5)


# (C_in, C_out / groups, kernel, stride, padding, output_padding, groups, dilation)
TRANSPOSE_GRID = [
    (2, 3, 3, 1, 0, 0, 1, 1),
    (2, 3, 3, 2, 1, 1, 1, 1),
    (4, 1, 2, 3, 0, 2, 2, 1),
    (2, 2, 3, 1, 1, 1, 1, 2),    # output_padding below the dilation (stride 1): a row the conv never reads
    (4, 2, 2, (2, 1), (1, 0), (1, 0), 2, (1, 2)),
]


@pytest.mark.parametrize("case", TRANSPOSE_GRID)
def test_conv_transpose2d_matches_torch_and_gradchecks(case):
    torch = pytest.importorskip("torch")
    c_in, c_out_g, k, stride, padding, output_padding, groups, dilation = case
    x = rng.standard_normal((2, c_in, 3, 4))
    w = rng.standard_normal((c_in, c_out_g, k, k))
    b = rng.standard_normal(c_out_g * groups)
    args = (stride, padding, output_padding, groups, dilation)
    compare_with_torch(lambda x, w, b: F.conv_transpose2d(x, w, b, *args),
                       lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, *args), [x, w, b])
    ts = [mt.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert mt.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, *args), ts)


def test_conv_transpose1d_matches_torch_and_gradgradchecks():
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal((2, 4, 5)), rng.standard_normal((4, 3, 3))
    args = (None, 2, 1, 1, 2)
    compare_with_torch(lambda x, w: F.conv_transpose1d(x, w, *args),
                       lambda x, w: torch.nn.functional.conv_transpose1d(x, w, *args), [x, w])
    compare_with_torch(lambda x, w: F.conv_transpose1d(x[0], w), lambda x, w: torch.nn.functional.conv_transpose1d(x[0], w),
                       [x, w])   # unbatched
    ts = [mt.tensor(a, requires_grad=True) for a in (x, w)]
    assert mt.gradgradcheck(lambda x, w: F.conv_transpose1d(x, w, *args), ts)


# stride 1 with 32+ input channels per group: the input gradient (and conv_transpose) is computed
# as a convolution of the padded gradient with the flipped kernel, not by col2im (minitf/ops/conv.py)
WIDE_STRIDE1 = [
    dict(padding=1),
    dict(padding=(0, 3), dilation=(1, 2)),   # a pad beyond span - 1: a crop of the result
    dict(padding=2, dilation=2, groups=2),
]


@pytest.mark.parametrize("kwargs", WIDE_STRIDE1)
def test_wide_stride1_conv_gradients_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    g = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 32 * g, 5, 6))
    w = rng.standard_normal((3 * g, 32, 3, 2))
    compare_with_torch(lambda x, w: F.conv2d(x, w, **kwargs), lambda x, w: torch.nn.functional.conv2d(x, w, **kwargs),
                       [x, w])


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(padding=1, dilation=2, output_padding=1),
                                    dict(padding=0, groups=2)])
def test_wide_stride1_conv_transpose_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    g = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 3 * g, 4, 5))
    w = rng.standard_normal((3 * g, 32, 3, 3))
    compare_with_torch(lambda x, w: F.conv_transpose2d(x, w, **kwargs),
                       lambda x, w: torch.nn.functional.conv_transpose2d(x, w, **kwargs), [x, w])


def test_conv_transpose_is_the_conv_input_gradient():
    x = mt.tensor(rng.standard_normal((2, 4, 7, 6)), requires_grad=True)
    w = mt.tensor(rng.standard_normal((6, 2, 3, 2)))
    y = F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2), groups=2)
    g = rng.standard_normal(y.shape)
    y.backward(mt.tensor(g))
    back = F.conv_transpose2d(mt.tensor(g), w, stride=2, padding=1, output_padding=(0, 1), groups=2, dilation=(1, 2))
    assert back.shape == x.shape
    np.testing.assert_allclose(back.numpy(), grad_of(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_conv_on_the_fake_device_matches_cpu(device, d):
    x, w, b = rng.standard_normal((2, 4, 5, 6, 3)[:2 + d]), rng.standard_normal((6, 2, 3, 2, 2)[:2 + d]), \
        rng.standard_normal(6)
    conv, conv_t = (F.conv2d, F.conv_transpose2d) if d == 2 else (F.conv3d, F.conv_transpose3d)
    stride, dilation = (2, 1, 1)[:d], (1, 2, 1)[:d]
    results = []
    for dev in ("cpu", device):
        ts = [mt.tensor(a, device=dev, requires_grad=True) for a in (x, w, b)]
        y = conv(*ts, stride=stride, padding=1, dilation=dilation, groups=2)
        z = conv_t(y, ts[1], stride=stride, padding=1, groups=2, dilation=dilation)
        (z * z).sum().backward()
        assert y.device == ts[0].grad.device == mt.device(dev)
        results.append([mt.backend.to_numpy(t.data) for t in (y, z)] + [grad_of(t) for t in ts])
    for a, b_ in zip(*results):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_unfold_fold_on_the_device(device):
    x = mt.tensor(rng.standard_normal((2, 3, 5, 4)), device=device, requires_grad=True)
    cols = F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(2, 1))
    y = F.fold(cols, (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(2, 1))
    y.sum().backward()
    assert cols.device == y.device == x.grad.device == mt.device(device)
    # fold(unfold(x)) counts each element once per window holding it; so does the gradient of its sum
    counts = F.fold(F.unfold(mt.ones(1, 1, 5, 4, dtype="float64", device=device), (2, 3), dilation=(2, 1), padding=1,
                             stride=(2, 1)), (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(2, 1))
    np.testing.assert_allclose(mt.backend.to_numpy(y.data), mt.backend.to_numpy((x * counts).data), rtol=1e-12)
    np.testing.assert_allclose(grad_of(x), np.broadcast_to(mt.backend.to_numpy(counts.data), x.shape), rtol=1e-12)
    assert mt.backend.to_numpy(counts.data).max() > 1   # windows do overlap here


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(2, 1)),
                                    dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, stride=2),      # disjoint windows: col2im is a strided write
                                    dict(kernel_size=(2, 1), stride=(3, 2), padding=1)])   # disjoint, rows left over
def test_unfold_and_fold_match_torch_and_gradcheck(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 5))
    cols = compare_with_torch(lambda x: F.unfold(x, **kwargs), lambda x: torch.nn.functional.unfold(x, **kwargs), [x])
    c = rng.standard_normal(cols.shape)
    compare_with_torch(lambda c: F.fold(c, (6, 5), **kwargs), lambda c: torch.nn.functional.fold(c, (6, 5), **kwargs), [c])
    compare_with_torch(lambda c: F.fold(c[0], (6, 5), **kwargs), lambda c: torch.nn.functional.fold(c[0], (6, 5), **kwargs),
                       [c])   # unbatched
    assert mt.gradgradcheck(lambda x: F.unfold(x, **kwargs), [mt.tensor(x[:1], requires_grad=True)])
    assert mt.gradgradcheck(lambda c: F.fold(c, (6, 5), **kwargs), [mt.tensor(c[:1], requires_grad=True)])


# --- errors: torch's meaning, minitf's classes

def _x(*shape):
    return mt.tensor(rng.standard_normal(shape))


@pytest.mark.parametrize("call, cls, match", [
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 2, 3, 3)), ShapeError, "to have 2 channels, but got 3"),
    (lambda: F.conv2d(_x(1, 4, 5, 5), _x(3, 2, 2, 2), groups=2), ShapeError, "divisible by 2"),
    (lambda: F.conv2d(_x(1, 4, 5, 5), _x(3, 2, 2, 2), groups=3), ShapeError, "to have 6 channels, but got 4"),
    (lambda: F.conv2d(_x(1, 3, 3, 3), _x(2, 3, 4, 4)), ShapeError, "can't be greater"),
    (lambda: F.conv2d(_x(1, 3, 3, 3), _x(2, 3, 2, 2), dilation=3), ShapeError, "can't be greater"),
    (lambda: F.conv1d(_x(1, 3, 2), _x(2, 3, 5), padding=1), ShapeError, "can't be greater"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), stride=0), ArgumentError, "non-positive stride"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), padding=-1), ArgumentError, "negative padding"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), dilation=(1, 0)), ArgumentError, "non-positive dilation"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), groups=0), ArgumentError, "non-positive groups"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), stride=2, padding="same"), ArgumentError, "strided"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), padding="full"), ArgumentError, "padding string"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), stride=(1, 2, 3)), ArgumentError, "tuple of 2 ints"),
    (lambda: F.conv2d(_x(3, 5), _x(2, 3, 2, 2)), ShapeError, "3D \\(unbatched\\) or 4D"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2)), ShapeError, "4-dimensional weight"),
    (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2), _x(3)), ShapeError, "bias"),
    (lambda: F.conv2d(mt.ones(1, 3, 5, 5, dtype="int64"), _x(2, 3, 2, 2)), DtypeError, "int64"),
    (lambda: F.conv2d(_x(1, 3, 5, 5).float(), _x(2, 3, 2, 2)), DtypeError, "same dtype"),
    (lambda: F.conv_transpose2d(_x(1, 3, 5, 5), _x(2, 3, 2, 2)), ShapeError, "to have 2 channels"),
    (lambda: F.conv_transpose2d(_x(1, 2, 5, 5), _x(2, 3, 2, 2), stride=2, output_padding=2), ArgumentError,
     "output padding must be smaller"),
    (lambda: F.unfold(_x(2, 3), 2), ShapeError, "3D \\(unbatched\\) or 4D"),
    (lambda: F.unfold(_x(1, 1, 3, 3), 4), ShapeError, "can't be greater"),
    (lambda: F.fold(_x(2, 10, 4), (3, 3), 2), ShapeError, "divisible by the product of kernel_size"),
    (lambda: F.fold(_x(2, 12, 5), (3, 3), 2), ShapeError, "number of sliding blocks"),
])
def test_bad_arguments_raise_torchs_errors(call, cls, match):
    with pytest.raises(cls, match=match):
        call()


def test_error_classes_are_torchs():
    torch = pytest.importorskip("torch")
    for ours, theirs in [(lambda: F.conv2d(_x(1, 3, 3, 3), _x(2, 3, 4, 4)),
                          lambda: torch.nn.functional.conv2d(torch.ones(1, 3, 3, 3), torch.ones(2, 3, 4, 4))),
                         (lambda: F.conv2d(_x(1, 3, 5, 5), _x(2, 2, 2, 2)),
                          lambda: torch.nn.functional.conv2d(torch.ones(1, 3, 5, 5), torch.ones(2, 2, 2, 2)))]:
        with pytest.raises(RuntimeError):
            theirs()
        with pytest.raises(RuntimeError):
            ours()


def test_no_loop_over_batch_or_channels_and_no_host_copies():
    """On the fake device the number of array operations of a forward and backward does not grow
    with the batch, the channels or the image size (no Python loop over them), and no array crosses
    to or from the host: on a GPU each would be a kernel launch, or a synchronising copy."""
    from minitf.fakedevice import count_device_ops, count_host_transfers

    def step(n, c, h):
        x = mt.tensor(rng.standard_normal((n, c, h, h)), device="fake", requires_grad=True)
        w = mt.tensor(rng.standard_normal((4, c // 2, 3, 3)), device="fake", requires_grad=True)
        with count_device_ops() as ops, count_host_transfers() as moved:
            y = F.conv2d(x, w, stride=2, padding=1, groups=2)
            z = F.max_pool2d(y, 2, return_indices=True)[0] + F.avg_pool2d(y, 2, ceil_mode=True)
            z = F.adaptive_avg_pool2d(z, 1) + F.unfold(z, 1).sum()
            z.sum().backward()
        assert moved == {"to_host": 0, "to_device": 0}
        return ops["ops"]

    assert step(1, 2, 8) == step(8, 6, 16)
