"""Signed zeros where torch is consistent and minitf was not: max/min(dim)'s values are the elements
at their indices (a +0/-0 tie once gave the other zero), layer_norm's exact zeros are +0 (x = -0,
a zero mean, a negative weight, no bias), logcumsumexp's first element of -0 is +0 (torch's scan
starts from -inf). Each asserted without torch, and against torch where it is installed.

Left as they are, torch not being consistent: amin/amax and the full min/max of a tie depend on
its SIMD lanes (the first or the last zero, by length)."""
import numpy as np
import pytest

import minitf as mt


def _np(t):
    return np.asarray(t.to("cpu").detach().numpy())


def _zero_rows(rng, shape):
    return np.where(rng.random(shape) < 0.5, 0.0, -0.0)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape, dim", [((7,), 0), ((3, 9), 1), ((9, 3), 0), ((2, 5, 4), 1), ((2, 3, 33), -1)])
def test_max_min_dim_values_are_the_elements_at_their_indices(largest, shape, dim, device):
    rng = np.random.default_rng(sum(shape) + largest)
    a = _zero_rows(rng, shape)
    a[(0,) * len(shape)] = -0.0 if largest else 0.0   # a row whose first zero is not the extreme's sign
    x = mt.tensor(a, dtype=mt.float64, device=device)
    for keepdim in (False, True):
        values, indices = (mt.max if largest else mt.min)(x, dim, keepdim=keepdim)
        idx = _np(indices) if keepdim else np.expand_dims(_np(indices), dim)
        np.testing.assert_array_equal(idx, 0)   # all tie: the first index, as torch
        at = np.take_along_axis(a, idx, dim)
        got = _np(values) if keepdim else np.expand_dims(_np(values), dim)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(at))


def test_max_min_dim_keep_nan_and_their_gradient(device):
    x = mt.tensor([[1.0, np.nan, 3.0], [-0.0, 0.0, -1.0]], dtype=mt.float64, device=device, requires_grad=True)
    v, i = x.max(1)
    np.testing.assert_array_equal(_np(i), [1, 0])
    assert np.isnan(_np(v)[0]) and _np(v)[1] == 0 and np.signbit(_np(v)[1])
    v.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), [[0, 1, 0], [1, 0, 0]])


def test_max_min_dim_ties_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for n in (2, 3, 8, 17, 64, 100):
        a = _zero_rows(rng, (5, n))
        for name in ("max", "min"):
            ours = getattr(mt.tensor(a), name)(1).values
            theirs = getattr(torch.tensor(a), name)(1).values
            np.testing.assert_array_equal(np.signbit(_np(ours)), np.signbit(theirs.numpy()), err_msg=f"{name} {n}")


_ROWS = ([-0.0, -0.0, -0.0], [-1.0, -0.0, 1.0], [0.0, 0.0, 0.0], [-0.0, 0.0, -0.0], [2.0, 2.0, 2.0])
_AFFINE = {"none": (None, None), "weight": (1.0, None), "negative weight": (-1.0, None),
           "weight and bias": (1.0, 0.0), "negative weight, bias -0": (-1.0, -0.0), "bias -0": (None, -0.0)}


def _layer_norm(lib, row, affine, dtype):
    x = lib.tensor([row], dtype=dtype)
    w, b = _AFFINE[affine]
    return lib.nn.functional.layer_norm(x, (3,), None if w is None else lib.full((3,), w, dtype=dtype),
                                        None if b is None else lib.full((3,), b, dtype=dtype))


@pytest.mark.parametrize("affine", [a for a, (w, b) in _AFFINE.items() if b is None or not np.signbit(b)])
def test_layer_norm_gives_plus_zero_for_an_exact_zero(affine, device):
    w, b = _AFFINE[affine]
    full = {"dtype": mt.float64, "device": device}
    for row in _ROWS:
        y = _np(mt.nn.functional.layer_norm(mt.tensor([row], **full), (3,),
                                            None if w is None else mt.full((3,), w, **full),
                                            None if b is None else mt.full((3,), b, **full)))
        zeros = y == 0
        assert zeros.any()   # every row has a zero after normalising
        assert not np.signbit(y[zeros]).any(), f"{row} {affine}: {y}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layer_norm_zeros_against_torch(dtype):
    torch = pytest.importorskip("torch")
    for row in _ROWS:
        for affine in _AFFINE:
            ours = _np(_layer_norm(mt, row, affine, getattr(mt, dtype)))
            theirs = _layer_norm(torch, row, affine, getattr(torch, dtype)).numpy()
            np.testing.assert_array_equal(ours, theirs)
            np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs), err_msg=f"{row} {affine}")


def test_logcumsumexp_of_minus_zero_starts_at_plus_zero(device):
    x = mt.tensor([[-0.0, -0.0], [-0.0, -np.inf]], dtype=mt.float64, device=device)
    for dim in (0, 1):
        y = _np(x.logcumsumexp(dim))
        first = np.moveaxis(y, dim, 0)[0]
        np.testing.assert_array_equal(first, 0.0)
        assert not np.signbit(first).any()
    assert _np(x.logcumsumexp(1))[1, 1] == 0 and np.isinf(_np(mt.tensor([-np.inf]).logcumsumexp(0))[0])
    zero_d = _np(mt.tensor(-0.0, dtype=mt.float64, device=device).logcumsumexp(0))
    assert zero_d == 0 and np.signbit(zero_d)   # a 0-d logcumsumexp is x itself, as torch's


def test_logcumsumexp_zeros_against_torch():
    torch = pytest.importorskip("torch")
    for a in (np.array(-0.0), np.array([-0.0]), np.array([[-0.0, -0.0], [-0.0, 0.0]]), np.array([-np.inf, -0.0])):
        for dim in range(max(a.ndim, 1)):
            ours, theirs = _np(mt.tensor(a).logcumsumexp(dim)), torch.tensor(a).logcumsumexp(dim).numpy()
            np.testing.assert_array_equal(ours, theirs)
            np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
