"""cummax, cummin and logcumsumexp (minitf/ops/scan.py): values, indices and gradients against
torch 2.13 (ties, NaN, empty and size-1 dims, negative dims, non-contiguous input), float64
gradchecks on every device, and the scans' off-NumPy path (the fake device) agreeing."""
import numpy as np
import pytest

import minitf as mt

from .torch_compare import compare_with_torch

TIES = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 5.0, 5.0, -1.0],
                 [2.0, 2.0, np.nan, 1.0, np.nan, 4.0, 0.0, 9.0]])


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_values_indices_and_gradients_as_torch(name, dim):
    torch = pytest.importorskip("torch")
    for a, tr in ((TIES, False), (TIES.T.copy(), True), (np.random.default_rng(0).integers(0, 3, (3, 5)) * 1.0, False)):
        view = (lambda t: t.t()) if tr else (lambda t: t)   # transposed: a non-contiguous input
        compare_with_torch(lambda x: getattr(mt, name)(view(x), dim).values,
                           lambda t: getattr(torch, name)(view(t), dim).values, [a])
        ours = getattr(mt, name)(view(mt.tensor(a)), dim)
        theirs = getattr(torch, name)(view(torch.tensor(a)), dim)
        assert ours.indices.tolist() == theirs.indices.tolist()
        assert ours.indices.dtype == mt.int64 and type(ours).__name__ == name


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_integer_bool_empty_and_0d_as_torch(name):
    torch = pytest.importorskip("torch")
    cases = [[2, 1, 1, 3, 3], [True, False, True, True], [[5]], [], 7.0]
    for c in cases:
        ours, theirs = getattr(mt, name)(mt.tensor(c), 0), getattr(torch, name)(torch.tensor(c), 0)
        assert ours.values.tolist() == theirs.values.tolist() and ours.indices.tolist() == theirs.indices.tolist()
        assert str(ours.values.dtype) == str(theirs.values.dtype).replace("torch.", "")
        assert ours.values.shape == tuple(theirs.values.shape)
    assert mt.cummax(mt.zeros(2, 0, 3), 1).values.shape == (2, 0, 3)


def test_logcumsumexp_values_and_gradients_as_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((3, 6)) * 400       # exp would overflow and underflow: stable
    for a, dim in ((wide, 1), (wide, 0), (wide.T.copy(), -1), (rng.standard_normal((1, 4)), 0)):
        compare_with_torch(lambda x: mt.logcumsumexp(x, dim), lambda t: torch.logcumsumexp(t, dim), [a],
                           rtol=1e-12, atol=1e-12)
    edges = np.array([-np.inf, -np.inf, 0.0, np.inf, 1.0])
    np.testing.assert_array_equal(mt.logcumsumexp(mt.tensor(edges), 0).numpy(),
                                  torch.logcumsumexp(torch.tensor(edges), 0).numpy())
    assert mt.logcumsumexp(mt.tensor(2.5), 0).shape == () and mt.logcumsumexp(mt.ones(0), 0).shape == (0,)
    x32 = mt.tensor(wide, dtype=mt.float32)
    assert mt.logcumsumexp(x32, 1).dtype == mt.float32


def test_refusals_as_torch():
    with pytest.raises(mt.errors.DtypeNotImplemented, match="logcumsumexp"):
        mt.logcumsumexp(mt.tensor([1, 2]), 0)
    with pytest.raises(mt.errors.DimError):
        mt.cummax(mt.ones(2, 3), 2)
    with pytest.raises(TypeError):
        mt.cummin([1.0, 2.0], 0)


X = [[0.3, -0.6, 0.45, 0.1], [-0.2, 0.75, 0.55, 0.9], [0.5, 0.2, -0.4, 0.8]]


@pytest.mark.parametrize("case", ["cummax", "cummin", "logcumsumexp", "ties"])
def test_gradcheck_and_gradgradcheck(case, device):
    x = mt.tensor(X, dtype=mt.float64, device=device, requires_grad=True)
    if case == "logcumsumexp":
        fn = lambda t: mt.logcumsumexp(t, 1) + t.logcumsumexp(0)  # noqa: E731
    elif case == "ties":   # a value repeated (its copy an exact tie): the later index gets the gradient
        fn = lambda t: mt.cummax(mt.cat([t, t[:, :1]], 1), 1).values  # noqa: E731
    else:
        fn = lambda t: getattr(t, case)(1).values * t  # noqa: E731
    assert mt.gradcheck(fn, [x]) and mt.gradgradcheck(fn, [x])


def test_the_device_path_agrees_with_numpys(device):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 37)) * 50
    a[1, 5:9] = np.nan
    a[2, ::3] = 1.0
    host = mt.tensor(a)
    x = mt.tensor(a, device=device)
    for name in ("cummax", "cummin"):
        out = getattr(mt, name)(x, 1)
        ref = getattr(mt, name)(host, 1)
        np.testing.assert_array_equal(out.values.numpy(), ref.values.numpy())
        assert out.indices.tolist() == ref.indices.tolist() and out.values.device == x.device
    np.testing.assert_allclose(mt.logcumsumexp(x, 1).numpy(), mt.logcumsumexp(host, 1).numpy(), rtol=1e-14)
    np.testing.assert_allclose(mt.logcumsumexp(x, 0).numpy(), mt.logcumsumexp(host, 0).numpy(), rtol=1e-14)


def test_device_scans_take_log_steps_not_one_per_element():
    from minitf.fakedevice import count_device_ops
    counts = []
    for n in (64, 4096):
        x = mt.tensor(np.random.default_rng(3).standard_normal((2, n)), device="fake")
        with count_device_ops() as ops:
            mt.cummax(x, 1)
            mt.logcumsumexp(x, 1)
        counts.append(ops["ops"])
    # 64x the length: 6 more doubling steps each (a handful of array ops a step), never 64x the ops
    assert counts[1] < counts[0] + 6 * 2 * 12, counts
