"""F.interpolate and nn.Upsample against torch 2.13: every mode, align_corners both ways, sizes and
(non-integer) scale factors, recompute_scale_factor, values and gradients in float32 and float64;
gradcheck/gradgradcheck on every device; torch's errors; the layers' reprs."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

from .conftest import ATOL, RTOL

# (mode, input rank, align_corners values)
MODES = [("nearest", 3, [None]), ("nearest", 4, [None]), ("nearest", 5, [None]),
         ("nearest-exact", 3, [None]), ("nearest-exact", 4, [None]),
         ("linear", 3, [False, True]), ("bilinear", 4, [False, True]), ("trilinear", 5, [False, True]),
         ("bicubic", 4, [False, True])]
CASES = [(mode, rank, ac) for mode, rank, acs in MODES for ac in acs]
# sizes up, down, equal, to 1, from 1; scale factors integer, non-integer (the source step is
# 1 / scale_factor then, not in / out), below 1, and 1/3 (rounded in float32 for nearest)
SPATIAL = {3: [((5,), {"size": 8}), ((5,), {"size": (3,)}), ((4,), {"size": 4}), ((4,), {"size": 1}),
               ((1,), {"size": 3}), ((5,), {"scale_factor": 1.7}), ((7,), {"scale_factor": 0.3}),
               ((6,), {"scale_factor": 2}), ((7,), {"scale_factor": 1 / 3}), ((9,), {"scale_factor": 2.5})],
           4: [((3, 5), {"size": (7, 2)}), ((4, 4), {"size": 6}), ((3, 5), {"scale_factor": (1.7, 0.5)}),
               ((5, 3), {"scale_factor": 2.5}), ((2, 3), {"size": (1, 1)}), ((1, 4), {"size": (3, 8)})],
           5: [((2, 3, 4), {"size": (3, 5, 2)}), ((3, 2, 2), {"scale_factor": (1.5, 2.0, 0.75)})]}


def _both(torch, host, dtype, mode, ac, kw):
    x = mt.tensor(host, dtype=dtype, requires_grad=True)
    xt = torch.tensor(host, dtype=getattr(torch, dtype), requires_grad=True)
    y = F.interpolate(x, mode=mode, align_corners=ac, **kw)
    yt = torch.nn.functional.interpolate(xt, mode=mode, align_corners=ac, **kw)
    c = np.random.default_rng(1).standard_normal(yt.shape)
    (y * mt.tensor(c, dtype=dtype)).sum().backward()
    (yt * torch.tensor(c, dtype=getattr(torch, dtype))).sum().backward()
    return y, yt, x.grad, xt.grad


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode,rank,ac", CASES)
def test_values_and_gradients_match_torch(mode, rank, ac, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    # float32: torch sums the taps in another order (its 2-D kernels take products of weights)
    tol = 1e-12 if dtype == "float64" else 2e-6
    for spatial, kw in SPATIAL[rank]:
        for recompute in ([None, True] if "scale_factor" in kw else [None]):
            host = rng.standard_normal((2, 3) + spatial)
            y, yt, g, gt = _both(torch, host, dtype, mode, ac, dict(kw, recompute_scale_factor=recompute))
            what = f"{mode} align_corners={ac} {spatial} {kw} recompute={recompute}"
            assert y.shape == tuple(yt.shape), what
            assert y.dtype == np.dtype(dtype)
            np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol, err_msg=what)
            np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_indices_agree_with_torch_over_many_sizes(mode):
    """The source index is floor(j * s) with s rounded to float32, as torch's: exact agreement
    (values are the indices themselves) for every size pair and a few awkward scale factors."""
    torch = pytest.importorskip("torch")
    for n_in in range(1, 14):
        ramp = np.arange(n_in, dtype=np.float32).reshape(1, 1, n_in)
        for kw in [{"size": n_out} for n_out in range(1, 30)] + \
                  [{"scale_factor": s} for s in (1 / 3, 0.7, 1.1, 2.9, 3.3, 1 / 7 * 8)]:
            if int(np.floor(n_in * kw.get("scale_factor", 1.0))) < 1:
                continue
            y = F.interpolate(mt.tensor(ramp), mode=mode, **kw).numpy()
            yt = torch.nn.functional.interpolate(torch.tensor(ramp), mode=mode, **kw).numpy()
            np.testing.assert_array_equal(y, yt, err_msg=f"{n_in} {kw}")


@pytest.mark.parametrize("mode,rank,ac", CASES)
def test_gradcheck_on_every_device(mode, rank, ac, device):
    spatial, kw = SPATIAL[rank][-1 if rank != 3 else 5]   # a non-integer scale factor
    host = np.random.default_rng(2).standard_normal((1, 2) + spatial)
    x = mt.tensor(host, dtype="float64", device=device, requires_grad=True)
    y = F.interpolate(x, mode=mode, align_corners=ac, **kw)
    assert y.device == device
    assert mt.gradcheck(lambda t: F.interpolate(t, mode=mode, align_corners=ac, **kw), [x], rtol=RTOL, atol=ATOL)
    if rank == 4:
        assert mt.gradgradcheck(lambda t: F.interpolate(t, mode=mode, align_corners=ac, **kw) ** 2, [x],
                                rtol=RTOL, atol=ATOL)


def test_non_contiguous_and_empty_batch():
    torch = pytest.importorskip("torch")
    host = np.random.default_rng(3).standard_normal((2, 5, 4, 3))
    y = F.interpolate(mt.tensor(host).permute(0, 3, 2, 1), size=(3, 7), mode="bilinear")
    yt = torch.nn.functional.interpolate(torch.tensor(host, dtype=torch.float32).permute(0, 3, 2, 1), size=(3, 7),
                                         mode="bilinear")
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=2e-6, atol=2e-6)
    assert F.interpolate(mt.zeros(0, 2, 4), size=5, mode="linear").shape == (0, 2, 5)


def _raises_as_torch(ours, theirs):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as te:
        theirs(torch)
    with pytest.raises(Exception) as oe:
        ours()
    assert isinstance(oe.value, type(te.value)), (oe.value, te.value)
    return str(oe.value), str(te.value)


X3 = np.zeros((1, 1, 5), dtype=np.float32)
ERRORS = {
    "size_wrong_length": (lambda: F.interpolate(mt.tensor(X3), size=(2, 2)),
                          lambda t: t.nn.functional.interpolate(t.tensor(X3), size=(2, 2))),
    "scale_wrong_length": (lambda: F.interpolate(mt.tensor(X3), scale_factor=(2, 2)),
                           lambda t: t.nn.functional.interpolate(t.tensor(X3), scale_factor=(2, 2))),
    "neither": (lambda: F.interpolate(mt.tensor(X3)), lambda t: t.nn.functional.interpolate(t.tensor(X3))),
    "both": (lambda: F.interpolate(mt.tensor(X3), size=3, scale_factor=2),
             lambda t: t.nn.functional.interpolate(t.tensor(X3), size=3, scale_factor=2)),
    "align_corners_nearest": (lambda: F.interpolate(mt.tensor(X3), size=3, align_corners=True),
                              lambda t: t.nn.functional.interpolate(t.tensor(X3), size=3, align_corners=True)),
    "bilinear_3d": (lambda: F.interpolate(mt.tensor(X3), size=3, mode="bilinear"),
                    lambda t: t.nn.functional.interpolate(t.tensor(X3), size=3, mode="bilinear")),
    "linear_4d": (lambda: F.interpolate(mt.zeros(1, 1, 4, 4), size=3, mode="linear"),
                  lambda t: t.nn.functional.interpolate(t.zeros(1, 1, 4, 4), size=3, mode="linear")),
    "unknown_mode": (lambda: F.interpolate(mt.tensor(X3), size=3, mode="foo"),
                     lambda t: t.nn.functional.interpolate(t.tensor(X3), size=3, mode="foo")),
    "rank_1": (lambda: F.interpolate(mt.zeros(5), size=3), lambda t: t.nn.functional.interpolate(t.zeros(5), size=3)),
    "size_0": (lambda: F.interpolate(mt.tensor(X3), size=0), lambda t: t.nn.functional.interpolate(t.tensor(X3), size=0)),
    "scale_to_0": (lambda: F.interpolate(mt.zeros(1, 1, 4, 4), scale_factor=0.1),
                   lambda t: t.nn.functional.interpolate(t.zeros(1, 1, 4, 4), scale_factor=0.1)),
    "int_input": (lambda: F.interpolate(mt.ones(1, 1, 3, dtype="int64"), size=5),
                  lambda t: t.nn.functional.interpolate(t.ones(1, 1, 3, dtype=t.long), size=5)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_as_torch(case):
    ours, theirs = ERRORS[case]
    mine, torchs = _raises_as_torch(ours, theirs)
    if case in ("size_wrong_length", "scale_wrong_length", "neither", "both", "align_corners_nearest",
                "bilinear_3d", "linear_4d", "size_0", "scale_to_0"):
        assert mine == torchs   # the same words


def test_upsample_layers_reprs_and_outputs_match_torch(device):
    torch = pytest.importorskip("torch")
    host = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
    pairs = [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (nn.Upsample(size=(3, 7), mode="bilinear"), torch.nn.Upsample(size=(3, 7), mode="bilinear")),
             (nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
              torch.nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True)),
             (nn.Upsample(scale_factor=(2, 3), mode="nearest-exact"),
              torch.nn.Upsample(scale_factor=(2, 3), mode="nearest-exact")),
             (nn.Upsample(size=6, mode="bicubic"), torch.nn.Upsample(size=6, mode="bicubic")),
             (nn.UpsamplingNearest2d(size=3), torch.nn.UpsamplingNearest2d(size=3)),
             (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        y = ours(mt.tensor(host, device=device))
        assert y.device == device
        np.testing.assert_allclose(y.numpy(), theirs(torch.tensor(host, dtype=torch.float32)).numpy(),
                                   rtol=2e-6, atol=2e-6)
