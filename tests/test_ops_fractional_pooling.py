"""F.fractional_max_pool2d / 3d (+ _with_indices) and nn.FractionalMaxPool2d / 3d: values, indices
and gradients against torch 2.13 with the same explicit _random_samples (ties, NaN, the window as
large as the input, output_ratio, unbatched input, an empty output, float32, non-contiguous input),
finite differences, the draws from minitf's generator, the fake device, torch's errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError

from .test_functional_fixes import grad_of

rng = np.random.default_rng(31)

CASES = [  # (d, input shape, kernel_size, dict(output_size= / output_ratio=))
    (2, (2, 3, 7, 9), 3, dict(output_size=(5, 5))),
    (2, (2, 3, 7, 9), (2, 3), dict(output_size=(4, 6))),
    (2, (1, 2, 5, 5), 5, dict(output_size=1)),                    # the window as large as the input
    (2, (2, 1, 6, 6), 2, dict(output_size=(5, 5))),              # overlapping windows
    (2, (3, 6, 6), 2, dict(output_size=(3, 4))),                  # unbatched
    (2, (2, 3, 5, 8), 2, dict(output_size=(0, 3))),               # an empty output dim
    (2, (2, 2, 8, 10), 2, dict(output_ratio=(0.5, 0.7))),
    (2, (2, 2, 8, 10), (3, 2), dict(output_ratio=(0.5, 0.5))),
    (3, (2, 3, 5, 6, 7), 2, dict(output_size=(3, 4, 5))),
    (3, (2, 3, 5, 6, 7), (2, 1, 3), dict(output_size=(3, 2, 4))),
    (3, (2, 4, 5, 6), 2, dict(output_size=2)),                    # unbatched
    (3, (1, 2, 6, 6, 8), (2, 2, 3), dict(output_ratio=(0.5, 0.6, 0.5))),
]


def _samples(shape, d, dtype=np.float64, extra=0):
    batch = shape[0] if len(shape) == d + 2 else 1
    return rng.random((batch + extra, shape[-d - 1], d)).astype(dtype)


@pytest.mark.parametrize("d, shape, k, size", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fractional_max_pool_matches_torch(d, shape, k, size, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape).astype(dtype)
    x[..., :2, :3] = 1.0                    # ties: the first maximum
    if x.size:
        x.reshape(-1)[5] = np.nan           # a NaN: its window's output (torch's: the last NaN)
    s = _samples(shape, d, dtype, extra=1)  # more sample rows than the batch: torch reads the first ones
    tx = torch.tensor(x, requires_grad=True)
    tf = getattr(torch.nn.functional, f"fractional_max_pool{d}d")
    ty, ti = tf(tx, k, return_indices=True, _random_samples=torch.tensor(s), **size)
    mx = mt.tensor(x, requires_grad=True)
    y, i = getattr(F, f"fractional_max_pool{d}d")(mx, k, return_indices=True, _random_samples=mt.tensor(s), **size)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype and i.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    cot = rng.standard_normal(y.shape).astype(dtype)
    ty.backward(torch.tensor(cot))
    y.backward(mt.tensor(cot))
    np.testing.assert_allclose(grad_of(mx), tx.grad.numpy(), rtol=1e-6, atol=1e-6)   # (float32 sums)


def test_with_indices_names_and_noncontiguous_input_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 9, 3, 7))
    s = _samples((2, 3, 9, 7), 2)
    y, i = F.fractional_max_pool2d_with_indices(mt.tensor(x).transpose(1, 2), 3, (4, 3), _random_samples=mt.tensor(s))
    yt, it = torch.nn.functional.fractional_max_pool2d_with_indices(
        torch.tensor(x).transpose(1, 2), 3, (4, 3), _random_samples=torch.tensor(s))
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    x3 = rng.standard_normal((1, 2, 4, 5, 6))
    s3 = _samples(x3.shape, 3)
    y3, i3 = F.fractional_max_pool3d_with_indices(mt.tensor(x3), 2, (2, 3, 3), _random_samples=mt.tensor(s3))
    yt3, it3 = torch.nn.functional.fractional_max_pool3d_with_indices(torch.tensor(x3), 2, (2, 3, 3),
                                                                      _random_samples=torch.tensor(s3))
    np.testing.assert_array_equal(y3.numpy(), yt3.numpy())
    np.testing.assert_array_equal(i3.numpy(), it3.numpy())
    assert F.fractional_max_pool2d(mt.tensor(x), 2, 2, _random_samples=mt.tensor(_samples(x.shape, 2))).grad_fn is None
    # a single output_ratio: torch's F raises TypeError (len() of a float; its layer takes one), minitf takes it
    args = dict(kernel_size=2, _random_samples=mt.tensor(_samples(x.shape, 2)))
    np.testing.assert_array_equal(F.fractional_max_pool2d(mt.tensor(x), output_ratio=0.5, **args).numpy(),
                                  F.fractional_max_pool2d(mt.tensor(x), output_ratio=(0.5, 0.5), **args).numpy())


@pytest.mark.parametrize("d", [2, 3])
def test_fractional_max_pool_gradcheck_and_gradgradcheck_on_device(device, d):
    shape = (2, 2, 7, 6) if d == 2 else (1, 2, 5, 4, 6)
    # distinct values: a tie would be a kink (the maximum moving between equal elements)
    x = mt.tensor(rng.permutation(np.prod(shape)).reshape(shape) / 7.0, device=device, requires_grad=True)
    s = mt.tensor(_samples(shape, d), device=device)
    out = (4, 3) if d == 2 else (3, 2, 3)
    fn = (lambda t: F.fractional_max_pool2d(t, 3, out, _random_samples=s)) if d == 2 else \
        (lambda t: F.fractional_max_pool3d(t, 2, out, _random_samples=s))
    y = fn(x)
    assert y.device == mt.device(device)
    assert y.grad_fn.name() == f"FractionalMaxPool{d}DBackward0"
    assert mt.gradcheck(fn, [x])
    assert mt.gradgradcheck(fn, [x])
    cpu = mt.tensor(x.numpy(), requires_grad=True)
    ref = (F.fractional_max_pool2d if d == 2 else F.fractional_max_pool3d)(
        cpu, 3 if d == 2 else 2, out, _random_samples=mt.tensor(s.numpy()))
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


def test_random_samples_come_from_minitfs_generator():
    x = mt.tensor(rng.standard_normal((2, 3, 11, 11)))   # (11 - 2) / (5 - 1): windows that depend on the samples
    mt.manual_seed(5)
    a = F.fractional_max_pool2d(x, 2, output_ratio=0.5)
    mt.manual_seed(5)
    s = mt.rand(2, 3, 2, dtype=x.dtype)      # the draw torch's F makes: rand(N, C, 2) in the input's dtype
    np.testing.assert_array_equal(a.numpy(), F.fractional_max_pool2d(x, 2, (5, 5), _random_samples=s).numpy())
    b = F.fractional_max_pool2d(x, 2, output_ratio=0.5)
    assert not np.array_equal(a.numpy(), b.numpy())     # fresh samples, other windows
    g = mt.Generator().manual_seed(5)
    layer = nn.FractionalMaxPool2d(2, output_ratio=0.5)
    mt.manual_seed(5)
    np.testing.assert_array_equal(layer(x).numpy(), a.numpy())
    fixed = nn.FractionalMaxPool2d(2, (5, 5), return_indices=True, _random_samples=mt.rand(2, 3, 2, generator=g,
                                                                                             dtype=x.dtype))
    y1, i1 = fixed(x)
    y2, i2 = fixed(x)
    np.testing.assert_array_equal(i1.numpy(), i2.numpy())   # a fixed buffer: the same windows every call
    assert "_random_samples" in dict(fixed.named_buffers())


def test_fractional_max_pool_layers_as_torchs():
    torch = pytest.importorskip("torch")
    for ours, theirs in [(nn.FractionalMaxPool2d(3, output_ratio=0.5), torch.nn.FractionalMaxPool2d(3, output_ratio=0.5)),
                         (nn.FractionalMaxPool3d(2, output_size=2), torch.nn.FractionalMaxPool3d(2, output_size=2))]:
        assert repr(ours) == repr(theirs)
        assert ours.kernel_size == theirs.kernel_size and ours.output_size == theirs.output_size
        assert ours.output_ratio == theirs.output_ratio
    x = rng.standard_normal((2, 4, 6, 5, 7))
    s = _samples(x.shape, 3)
    ours = nn.FractionalMaxPool3d((2, 3, 2), output_ratio=(0.5, 0.4, 0.6), _random_samples=mt.tensor(s))
    theirs = torch.nn.FractionalMaxPool3d((2, 3, 2), output_ratio=(0.5, 0.4, 0.6), _random_samples=torch.tensor(s))
    np.testing.assert_array_equal(ours(mt.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    with pytest.raises(ValueError, match="requires specifying either an output size, or a pooling ratio"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool2d(2, 3, 0.5)
    with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
        nn.FractionalMaxPool3d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        nn.FractionalMaxPool3d(0, output_size=2)


def test_fractional_max_pool_errors_as_torch():
    x = mt.zeros(2, 3, 7, 9)
    s = mt.rand(2, 3, 2)
    with pytest.raises(ArgumentError, match=r"pool height 3 too large relative to input height 7"):
        F.fractional_max_pool2d(x, 3, (6, 5), _random_samples=s)
    with pytest.raises(ArgumentError, match=r"fractional_max_pool3d_out\(\): pool width 2 too large relative to "
                                            r"input width 7"):
        F.fractional_max_pool3d(mt.zeros(1, 1, 5, 6, 7), 2, (3, 4, 6), _random_samples=mt.rand(1, 1, 3))
    with pytest.raises(ValueError, match="requires specifying either an output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 3)
    with pytest.raises(ArgumentError, match="output_size must either be a single Int or tuple of Ints"):
        F.fractional_max_pool2d(x, 3, (5, 5, 5), _random_samples=s)
    with pytest.raises(ArgumentError, match="kernel_size must either be a single Int or tuple of Ints"):
        F.fractional_max_pool2d(x, (3, 2, 1), (5, 5), _random_samples=s)
    with pytest.raises(ArgumentError, match="output_ratio must either be a single Int or tuple of Ints"):
        F.fractional_max_pool2d(x, 3, output_ratio=(0.5, 0.5, 0.5), _random_samples=s)
    with pytest.raises(ShapeError, match=r"size\(0\) no less then input batch size"):
        F.fractional_max_pool2d(x, 3, 5, _random_samples=s[:1])
    with pytest.raises(ShapeError, match=r"size\(1\) equals to input channel size"):
        F.fractional_max_pool2d(x, 3, 5, _random_samples=s[:, :2])
    with pytest.raises(ShapeError, match=r"size\(2\) equals to 2; got 1"):
        F.fractional_max_pool2d(x, 3, 5, _random_samples=s[..., :1])
    with pytest.raises(ShapeError, match="to have 3 dimensions, got 4"):
        F.fractional_max_pool2d(x, 3, 5, _random_samples=s[..., None])
    with pytest.raises(DtypeError, match="same dtype as input"):
        F.fractional_max_pool2d(x, 3, 5, _random_samples=s.double())
    with pytest.raises(DtypeNotImplemented):
        F.fractional_max_pool2d(x.long(), 3, 5, _random_samples=s)
    with pytest.raises(ShapeError, match="Expected 3D or 4D tensor"):
        F.fractional_max_pool2d(x[0, 0], 3, 5)
    with pytest.raises(ShapeError, match="non-zero size for non-batch dimensions"):
        F.fractional_max_pool2d(mt.zeros(2, 0, 7, 9), 3, 5, _random_samples=s[:, :0])
    with pytest.raises(ArgumentError, match="kernel_size must be greater than 0"):
        F.fractional_max_pool2d(x, 0, 5, _random_samples=s)
