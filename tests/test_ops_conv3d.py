"""conv3d and conv_transpose3d (minitf/ops/conv.py, the same code as the 1-d and 2-d convolutions):
float64 finite differences, values and gradients against torch over a grid of edge cases, torch's
top-level names, and torch's errors for bad arguments (the fake device: test_ops_conv.py)."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.errors import ArgumentError, DtypeError, ShapeError

from .test_functional_fixes import grad_of
from .torch_compare import compare_with_torch

rng = np.random.default_rng(31)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels

# (C_in, C_out, kernel, stride, padding, dilation, groups) on inputs (2, C_in, 4, 5, 3)
CONV3D_GRID = [
    (2, 3, (2, 2, 2), 1, 0, 1, 1),
    (2, 3, (3, 2, 1), (2, 1, 3), (1, 0, 1), 1, 1),      # stride > kernel along W
    (4, 2, (2, 2, 2), (1, 2, 1), 1, (2, 1, 1), 2),      # groups, dilation
    (3, 3, (3, 3, 3), 1, "same", 1, 3),                 # depthwise
    (2, 4, (2, 3, 2), 1, "same", (1, 1, 2), 1),         # even kernels: the odd pad on the right
    (4, 4, (1, 1, 1), 3, 0, 1, 4),
    (2, 2, (2, 2, 2), 2, 2, 2, 1),                      # padding larger than the dilated kernel needs
    (2, 2, (4, 5, 3), 1, "valid", 1, 2),                # the kernel exactly as large as the input
]


def _conv_args(c_in, c_out, kernel, groups):
    return rng.standard_normal((c_out, c_in // groups) + kernel), rng.standard_normal(c_out)


@pytest.mark.parametrize("case", CONV3D_GRID)
def test_conv3d_matches_torch_and_gradchecks(case):
    torch = pytest.importorskip("torch")
    c_in, c_out, kernel, stride, padding, dilation, groups = case
    w, b = _conv_args(c_in, c_out, kernel, groups)
    x = rng.standard_normal((2, c_in, 4, 5, 3))
    fn = lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
    compare_with_torch(fn, lambda x, w, b: torch.nn.functional.conv3d(x, w, b, stride, padding, dilation, groups),
                       [x, w, b])
    assert mt.gradcheck(fn, [mt.tensor(a, requires_grad=True) for a in (x[:1], w, b)])


def test_conv3d_gradgradcheck():
    w, b = _conv_args(4, 2, (2, 1, 2), 2)
    ts = [mt.tensor(a, requires_grad=True) for a in (rng.standard_normal((1, 4, 3, 3, 4)), w, b)]
    assert mt.gradgradcheck(lambda x, w, b: F.conv3d(x, w, b, (2, 1, 1), 1, (1, 1, 2), 2), ts)


@pytest.mark.parametrize("shape, kernel, kwargs", [
    ((3, 4, 5, 4), (2, 3, 3, 3, 3), {}),                   # unbatched (C, D, H, W)
    ((0, 3, 4, 5, 4), (2, 3, 3, 3, 3), {"padding": 1}),    # an empty batch
    ((2, 3, 1, 4, 1), (2, 3, 1, 2, 1), {}),                # size-1 dims
    ((2, 3, 1, 1, 1), (2, 3, 1, 1, 1), {"stride": 2}),
    ((1, 1, 3, 4, 2), (1, 1, 3, 4, 2), {}),                # the kernel exactly as large as the input
    ((2, 3, 4, 5, 3), (2, 3, 2, 2, 2), {"padding": "same", "dilation": (2, 1, 1)}),
    ((2, 3, 5, 3, 3), (2, 3, 2, 1, 2), {"stride": (3, 2, 4), "padding": (1, 0, 1)}),   # stride > kernel
])
def test_conv3d_edge_shapes_match_torch(shape, kernel, kwargs):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x, w: F.conv3d(x, w, **kwargs), lambda x, w: torch.nn.functional.conv3d(x, w, **kwargs),
                       [rng.standard_normal(shape), rng.standard_normal(kernel)])


def test_conv3d_non_contiguous_input_matches_torch():   # (float32: test_ops_conv.py)
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 3, 5, 6))
    w = rng.standard_normal((2, 3, 2, 2, 2))
    compare_with_torch(lambda x, w: F.conv3d(x.permute(0, 2, 1, 3, 4)[..., ::2], w, padding=1),
                       lambda x, w: torch.nn.functional.conv3d(x.permute(0, 2, 1, 3, 4)[..., ::2], w, padding=1),
                       [x, w])


# (C_in, C_out / groups, kernel, stride, padding, output_padding, groups, dilation) on inputs (2, C_in, 3, 2, 3)
TRANSPOSE3D_GRID = [
    (2, 3, 2, 1, 0, 0, 1, 1),
    (2, 3, (3, 2, 2), 2, 1, 1, 1, 1),
    (4, 1, (2, 1, 2), 3, 0, (2, 0, 1), 2, 1),        # stride > kernel
    (2, 2, 3, 1, 1, (1, 0, 1), 1, 2),                # output_padding below the dilation (stride 1)
    (4, 2, (2, 2, 1), (2, 1, 1), (1, 0, 0), (1, 0, 0), 2, (1, 2, 1)),
    (2, 32, (2, 1, 2), 1, (1, 0, 0), 0, 1, 1),       # 32 channels at stride 1: the gradient as a convolution
]


@pytest.mark.parametrize("case", TRANSPOSE3D_GRID)
def test_conv_transpose3d_matches_torch_and_gradchecks(case):
    torch = pytest.importorskip("torch")
    c_in, c_out_g, k, stride, padding, output_padding, groups, dilation = case
    k = (k,) * 3 if isinstance(k, int) else k
    x = rng.standard_normal((2, c_in, 3, 2, 3))
    w = rng.standard_normal((c_in, c_out_g) + k)
    b = rng.standard_normal(c_out_g * groups)
    args = (stride, padding, output_padding, groups, dilation)
    fn = lambda x, w, b: F.conv_transpose3d(x, w, b, *args)  # noqa: E731
    compare_with_torch(fn, lambda x, w, b: torch.nn.functional.conv_transpose3d(x, w, b, *args), [x, w, b])
    compare_with_torch(lambda x, w, b: fn(x[0], w, b),          # unbatched
                       lambda x, w, b: torch.nn.functional.conv_transpose3d(x[0], w, b, *args), [x, w, b])
    if c_out_g < 32:   # (the wide case's finite differences would take long; its gradients match torch's above)
        assert mt.gradcheck(fn, [mt.tensor(a, requires_grad=True) for a in (x[:1], w, b)])


def test_conv_transpose3d_gradgradcheck_and_is_the_conv_input_gradient():
    x, w = rng.standard_normal((1, 4, 2, 3, 2)), rng.standard_normal((4, 1, 2, 2, 1))
    args = (None, 2, 1, (1, 0, 1), 2, (1, 1, 2))
    assert mt.gradgradcheck(lambda x, w: F.conv_transpose3d(x, w, *args), [mt.tensor(a, requires_grad=True)
                                                                           for a in (x, w)])
    xs = mt.tensor(rng.standard_normal((2, 4, 5, 4, 6)), requires_grad=True)
    wc = mt.tensor(rng.standard_normal((6, 2, 3, 2, 2)))
    y = F.conv3d(xs, wc, stride=2, padding=1, dilation=(1, 2, 1), groups=2)
    g = rng.standard_normal(y.shape)
    y.backward(mt.tensor(g))
    back = F.conv_transpose3d(mt.tensor(g), wc, stride=2, padding=1, output_padding=(0, 1, 0), groups=2,
                              dilation=(1, 2, 1))
    assert back.shape == xs.shape
    np.testing.assert_allclose(back.numpy(), grad_of(xs), rtol=1e-12, atol=1e-12)


# conv3d and conv_transpose3d on the fake device: test_ops_conv.py's device test, parametrised by dims


def test_torch_top_level_names_are_the_functional_ones():
    torch = pytest.importorskip("torch")
    for name in ("conv3d", "conv_transpose3d"):
        assert hasattr(torch, name) and getattr(mt, name) is getattr(F, name)
    x, w = rng.standard_normal((1, 2, 3, 3, 3)), rng.standard_normal((2, 1, 2, 2, 2))
    compare_with_torch(lambda x, w: mt.conv3d(x, w, None, 1, 1, 1, 2),
                       lambda x, w: torch.conv3d(x, w, None, 1, 1, 1, 2), [x, w])


@pytest.mark.parametrize("d, transposed, stride, padding, dilation, output_padding, groups", [
    (1, False, [2], [1], [1], [0], 1),
    (2, False, [2, 1], [0], [2, 1], [0, 0], 2),
    (3, False, [1], [1, 0, 1], [1], [0], 1),
    (1, True, [2], [1], [1], [1], 2),
    (2, True, [2, 1], [1, 0], [1], [1, 0], 1),
    (3, True, [2, 1, 2], [0], [1, 1, 2], [1, 0, 1], 2),
])
def test_convolution_matches_torch(d, transposed, stride, padding, dilation, output_padding, groups):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4) + (4, 3, 5)[:d])
    w = rng.standard_normal((4, 3 if transposed else 4 // groups) + (2, 3, 2)[:d])
    b = rng.standard_normal(3 * groups if transposed else 4)
    args = (stride, padding, dilation, transposed, output_padding, groups)
    compare_with_torch(lambda x, w, b: mt.convolution(x, w, b, *args), lambda x, w, b: torch.convolution(x, w, b, *args),
                       [x, w, b])
    assert mt.gradcheck(lambda x, w: mt.convolution(x, w, None, *args), [mt.tensor(a, requires_grad=True)
                                                                         for a in (x[:1], w)])


@pytest.mark.parametrize("call, cls, match", [
    (lambda: mt.convolution(_x(1, 2, 5, 5), _x(3, 2, 3, 3), None, 1, [0], [1], False, [0], 1), TypeError,
     "must be tuple of ints"),
    (lambda: mt.convolution(_x(1, 2, 5, 5), _x(3, 2, 3, 3), None, [1, 1, 1], [0], [1], False, [0], 1),
     ArgumentError, "a list of 2 values"),
    (lambda: mt.convolution(_x(1, 2, 5, 5), _x(3, 2, 3, 3), None, [2], [0], [1], False, [1, 0], 1),
     ArgumentError, "output_padding is not supported for non-transposed"),   # torch's forward ignores it, its
    # backward raises this (test_convolution_output_padding_of_a_plain_conv_is_torchs_backward_error)
    (lambda: mt.convolution(_x(2, 5, 5), _x(3, 2, 3, 3), None, [1], [0], [1], False, [0], 1), ShapeError,
     "4-dimensional input for 4-dimensional weight"),
    (lambda: mt.convolution(_x(1, 2, 5, 5, 5, 5), _x(3, 2, 3, 3, 3, 3), None, [1], [0], [1], False, [0], 1),
     ShapeError, "5-dimensional weight"),
])
def test_convolution_bad_arguments_as_torchs(call, cls, match):
    with pytest.raises(cls, match=match):
        call()


def test_convolution_output_padding_of_a_plain_conv_is_torchs_backward_error():
    torch = pytest.importorskip("torch")
    x = torch.ones(1, 2, 5, 5, requires_grad=True)
    y = torch.convolution(x, torch.ones(3, 2, 3, 3), None, [2], [0], [1], False, [1, 0], 1)
    with pytest.raises(RuntimeError, match="output_padding is not supported for non-transposed convolutions"):
        y.sum().backward()


def _x(*shape):
    return mt.tensor(rng.standard_normal(shape))


@pytest.mark.parametrize("call, cls, match", [
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 2, 2, 2, 2)), ShapeError, "to have 2 channels, but got 3"),
    (lambda: F.conv3d(_x(1, 4, 3, 3, 3), _x(3, 2, 2, 2, 2), groups=2), ShapeError, "divisible by 2"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 4, 2)), ShapeError, "can't be greater"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2), dilation=(1, 1, 3)), ShapeError, "can't be greater"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2), stride=(1, 0, 1)), ArgumentError, "non-positive stride"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2), padding=(0, -1, 0)), ArgumentError, "negative padding"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2), stride=2, padding="same"), ArgumentError, "strided"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2), stride=(1, 2)), ArgumentError, "tuple of 3 ints"),
    (lambda: F.conv3d(_x(3, 3, 3), _x(2, 3, 2, 2, 2)), ShapeError, "4D \\(unbatched\\) or 5D"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2)), ShapeError, "5-dimensional weight"),
    (lambda: F.conv3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2), _x(3)), ShapeError, "bias"),
    (lambda: F.conv3d(mt.ones(1, 3, 3, 3, 3, dtype="int64"), _x(2, 3, 2, 2, 2)), DtypeError, "int64"),
    (lambda: F.conv_transpose3d(_x(1, 3, 3, 3, 3), _x(2, 3, 2, 2, 2)), ShapeError, "to have 2 channels"),
    (lambda: F.conv_transpose3d(_x(1, 2, 3, 3, 3), _x(2, 3, 2, 2, 2), stride=2, output_padding=(0, 0, 2)),
     ArgumentError, "output padding must be smaller"),
])
def test_bad_arguments_raise_torchs_errors(call, cls, match):
    with pytest.raises(cls, match=match):
        call()
