"""minitf.testing (torch.testing's assert_close and make_tensor): the same pass/fail decisions and reports
as torch 2.13 over a grid of near-tolerance, NaN and inf cases; nested containers; make_tensor's ranges."""
import numpy as np
import pytest

import minitf as mt
from minitf.testing import assert_close, make_tensor


def _outcome(fn, *args, **kw):
    try:
        fn(*args, **kw)
        return None
    except AssertionError as e:
        return str(e)


def _cases():
    rng = np.random.default_rng(0)
    for dtype, (rtol, atol) in [("float32", (1.3e-6, 1e-5)), ("float64", (1e-7, 1e-7))]:
        e = rng.standard_normal((3, 4)).astype(dtype)
        for scale in (0.3, 0.9, 1.1, 3.0):   # around the boundary atol + rtol |e|
            a = (e + scale * (atol + rtol * np.abs(e)) * rng.choice([-1, 1], e.shape)).astype(dtype)
            yield a, e, {}
        a = e.copy()
        a[0, 0], e2 = np.nan, e.copy()
        e2[0, 0] = np.nan
        yield a, e2, {}
        yield a, e2, {"equal_nan": True}
        a, e3 = e.copy(), e.copy()
        a[1, 1] = e3[1, 1] = np.inf
        yield a, e3, {}
        a[1, 1] = -np.inf
        yield a, e3, {}
        yield (e + 1e-3).astype(dtype), e, {"rtol": 1e-2, "atol": 0.0}
    yield np.array([1, 2, 3]), np.array([1, 2, 4]), {}
    yield np.array([1, 2, 3]), np.array([1, 2, 4]), {"rtol": 0.0, "atol": 1.0}


def test_same_decisions_and_reports_as_torch():
    torch = pytest.importorskip("torch")
    for a, e, kw in _cases():
        ours = _outcome(assert_close, mt.tensor(a), mt.tensor(e), **kw)
        theirs = _outcome(torch.testing.assert_close, torch.tensor(a), torch.tensor(e), **kw)
        assert (ours is None) == (theirs is None), (a, e, kw, ours, theirs)
        if ours is not None:   # the same header and the same count and place of the mismatches
            o, t = ours.split("\n"), theirs.split("\n")
            assert o[0] == t[0] and o[2] == t[2], (ours, theirs)
            assert o[3].split(" at index ")[1] == t[3].split(" at index ")[1]


def test_scalars_containers_and_attributes():
    assert _outcome(assert_close, 1.0, 1.0 + 1e-8) is None
    assert _outcome(assert_close, 1.0, 1.1).startswith("Scalars are not close!")
    assert _outcome(assert_close, 1, 2).startswith("Scalars are not equal!")
    report = _outcome(assert_close, {"a": [mt.ones(2), 3]}, {"a": [mt.zeros(2), 3]})
    assert report.endswith("The failure occurred for item ['a'][0]")
    assert "length of the sequences" in _outcome(assert_close, [1], [1, 2])
    assert "'shape'" in _outcome(assert_close, mt.ones(2), mt.ones(3))
    assert "'dtype'" in _outcome(assert_close, mt.ones(2), mt.ones(2, dtype=mt.float64))
    assert _outcome(assert_close, mt.ones(2), mt.ones(2, dtype=mt.float64), check_dtype=False) is None
    assert "'device'" in _outcome(assert_close, mt.ones(2), mt.ones(2, device="fake"))
    assert _outcome(assert_close, mt.ones(2), 2 * mt.ones(2), msg="mine") == "mine"
    assert _outcome(assert_close, mt.ones(2), 2 * mt.ones(2), msg=lambda m: m[:6]) == "Tensor"
    with pytest.raises(ValueError, match="both 'rtol' and 'atol'"):
        assert_close(mt.ones(2), mt.ones(2), rtol=1e-3)
    with pytest.raises(TypeError, match="no comparison"):
        assert_close(mt.ones(2), np.ones(2))


def test_make_tensor(device):
    mt.manual_seed(0)
    x = make_tensor(200, 3, dtype=mt.float32, device=device, low=-2, high=5)
    v = x.numpy()
    assert x.shape == (200, 3) and x.dtype == mt.float32 and str(x.device) == device
    assert v.min() >= -2 and v.max() < 5 and v.std() > 1   # uniform over [-2, 5): std 2.02
    i = make_tensor((50,), dtype=mt.int64, device=device, exclude_zero=True).numpy()
    assert i.min() >= -9 and i.max() <= 9 and (i != 0).all()
    nc = make_tensor(4, 6, dtype=mt.float64, device=device, noncontiguous=True, requires_grad=True)
    assert not nc.is_contiguous() and nc.shape == (4, 6) and nc.requires_grad
    mt.manual_seed(3)
    a = make_tensor(5, dtype=mt.float64, device=device)
    mt.manual_seed(3)
    assert_close(a, make_tensor(5, dtype=mt.float64, device=device), rtol=0.0, atol=0.0)
    b = make_tensor(1000, dtype=mt.bool, device=device).numpy()
    assert 300 < b.sum() < 700


def test_zero_dim_tensors_none_and_report_as_torch():
    # a 0-d tensor's mismatch is reported as torch's scalar report; two Nones are equal (torch's NonePair)
    torch = pytest.importorskip("torch")
    for a, e in [(1.0, 1.1), (np.float32(1.0), np.float32(1.5)), (np.int64(3), np.int64(4))]:
        ours = _outcome(assert_close, mt.tensor(np.asarray(a)), mt.tensor(np.asarray(e)))
        theirs = _outcome(torch.testing.assert_close, torch.tensor(np.asarray(a)), torch.tensor(np.asarray(e)))
        assert ours == theirs, (ours, theirs)
    assert _outcome(assert_close, None, None) is None
    assert _outcome(assert_close, [None, mt.ones(1)], [None, mt.ones(1)]) is None
    assert _outcome(assert_close, {"a": None}, {"a": None}) is None


def test_make_tensor_ranges_as_torch(device):
    mt.manual_seed(0)
    # a fractional integer high is rounded up (torch ceils both bounds): 5 is drawn from [0, 5.5)
    assert set(np.unique(make_tensor(2000, dtype=mt.int64, device=device, low=0, high=5.5).numpy())) == set(range(6))
    assert make_tensor(100, dtype=mt.bool, device=device, low=1).numpy().all()   # bool honours [low, high)
    assert set(np.unique(make_tensor(500, dtype=mt.uint8, device=device).numpy())) == set(range(10))
    big = make_tensor(100, dtype=mt.float64, device=device, low=-1.7e308, high=1.7e308).numpy()
    assert np.isfinite(big).all() and big.min() < -1e307 and big.max() > 1e307   # hi - lo overflowed to inf
    assert (make_tensor(3, dtype=mt.float32, device=device, low=2, high=2).numpy() == 2).all()
    nc = make_tensor(3, 4, dtype=mt.int32, device=device, noncontiguous=True)
    assert not nc.is_contiguous() and nc.shape == (3, 4)
    for kw, match in [(dict(dtype=mt.int64, low=3, high=3), "low must be less than high"),
                      (dict(dtype=mt.uint8, low=300, high=400), "uint8 only supports"),
                      (dict(dtype=mt.float32, low=float("nan")), "cannot be NaN"),
                      (dict(dtype=mt.int64, requires_grad=True), "requires_grad=True is not supported")]:
        with pytest.raises(ValueError, match=match):
            make_tensor(3, device=device, **kw)
