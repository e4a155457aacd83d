"""F.interpolate(antialias=True) (bilinear, bicubic, lanczos) against torch 2.13: sizes and scale
factors down and up, align_corners, values and gradients in float64 and float32; gradcheck and
gradgradcheck on every device; torch's errors and grad_fn names.

torch 2.13's CPU kernels get two cases wrong, and minitf follows the formula in both:
- with an output width of 1 and a height that changes, every output row is the first one
  (checked with identity inputs); the reference there is torch's result for the transposed input
  (its height-1 outputs are right);
- a scale_factor that leaves a dim's size unchanged (12 * 1.083 -> 12): the forward copies that
  dim, but the backward resamples it with the scale's weights, so torch's own gradcheck fails
  (torch.autograd.gradcheck: False); there only the values are compared with torch, and the
  gradient is gradchecked here."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

CASES = [((12, 12), {"size": (5, 7)}), ((7, 9), {"size": (13, 4)}), ((16, 5), {"size": (3, 5)}),
         ((6, 6), {"size": (1, 1)}), ((1, 8), {"size": (3, 2)}), ((9, 7), {"size": (2, 1)}),
         ((5, 1), {"size": (11, 1)}), ((11, 13), {"scale_factor": (0.37, 0.61)}),
         ((12, 12), {"scale_factor": (0.9, 1.083)}), ((4, 6), {"scale_factor": 2.5}),
         ((20, 3), {"scale_factor": (0.2, 1.0)})]
MODES = [("bilinear", None), ("bilinear", True), ("bicubic", False), ("bicubic", True), ("lanczos", None)]


def _torch_reference(torch, x, mode, ac, kw):
    """torch's result, through the transposed input where its width-1 case is wrong."""
    f = torch.nn.functional.interpolate
    out = f(x, mode=mode, align_corners=ac, antialias=True, **kw)
    if out.shape[-1] == 1 and out.shape[-2] != x.shape[-2]:
        swap = {k: tuple(v[::-1]) if isinstance(v, tuple) else v for k, v in kw.items()}
        out = f(x.transpose(-1, -2), mode=mode, align_corners=ac, antialias=True, **swap).transpose(-1, -2)
    return out


@pytest.mark.parametrize("mode,ac", MODES)
@pytest.mark.parametrize("spatial,kw", CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_matches_torch_values_and_gradients(mode, ac, spatial, kw, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    host = rng.standard_normal((2, 3, *spatial)).astype(dtype)
    x = mt.tensor(host, requires_grad=True)
    out = F.interpolate(x, mode=mode, align_corners=ac, antialias=True, **kw)
    tx = torch.tensor(host, requires_grad=True)
    want = _torch_reference(torch, tx, mode, ac, kw)
    assert out.shape == tuple(want.shape) and out.dtype == np.dtype(dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)  # float32 sums
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), **tol)
    u = rng.standard_normal(out.shape).astype(dtype)
    (out * mt.tensor(u)).sum().backward()
    (want * torch.tensor(u)).sum().backward()
    scales = kw.get("scale_factor")
    scales = scales if isinstance(scales, tuple) else (scales,) * 2
    if any(s is not None and s != 1 and out.shape[2 + i] == spatial[i] for i, s in enumerate(scales)):
        return   # torch's backward is wrong there (see the module docstring): gradchecked below
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


def test_the_width_one_case_is_torchs_bug_not_ours():
    """Downsampling 9 rows to 2 with the width 1: the two rows average different halves of the
    input (the formula), where torch 2.13 repeats the first."""
    torch = pytest.importorskip("torch")
    host = np.eye(9).reshape(9, 1, 9, 1)
    ours = F.interpolate(mt.tensor(host), size=(2, 1), mode="bilinear", antialias=True).numpy().reshape(9, 2).T
    theirs = torch.nn.functional.interpolate(torch.tensor(host), size=(2, 1), mode="bilinear",
                                             antialias=True).numpy().reshape(9, 2).T
    np.testing.assert_allclose(ours, ours[:, ::-1][::-1], atol=1e-15)    # symmetric, as the grid is
    assert not np.allclose(ours[0], ours[1])
    np.testing.assert_allclose(theirs[0], theirs[1])                     # torch's: twice the same row
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-15)


def test_downsampling_averages_where_plain_bilinear_samples():
    """A checkerboard downsampled 32 -> 9: antialiased, every output pixel is near its mean 0.5; plain
    bilinear picks points of the pattern."""
    board = (np.indices((32, 32)).sum(0) % 2).astype(float).reshape(1, 1, 32, 32)
    aa = F.interpolate(mt.tensor(board), size=9, mode="bilinear", antialias=True).numpy()
    plain = F.interpolate(mt.tensor(board), size=9, mode="bilinear").numpy()
    assert np.abs(aa - 0.5).max() < 0.01 and np.abs(plain - 0.5).max() > 0.3   # 0.003 and 0.395


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_gradcheck_and_gradgradcheck(device, mode):
    x = mt.tensor(np.random.default_rng(1).standard_normal((1, 2, 7, 5)), device=device, requires_grad=True)
    # (0.7, 1.1): 5 * 1.1 -> 5, a dim whose size stays (torch's gradient is wrong there)
    for kw in ({"size": (3, 8)}, {"scale_factor": (0.45, 1.3)}, {"scale_factor": (0.7, 1.1)}):
        fn = lambda x: F.interpolate(x, mode=mode, antialias=True, **kw)   # noqa: E731
        assert mt.gradcheck(fn, [x])
        assert mt.gradgradcheck(fn, [x])


def test_grad_fn_names_and_errors_are_torchs():
    x = mt.zeros(1, 1, 6, 6, requires_grad=True)
    for mode, name in (("bilinear", "UpsampleBilinear2DAaBackward0"), ("bicubic", "UpsampleBicubic2DAaBackward0"),
                       ("lanczos", "UpsampleLanczos2DAaBackward0")):
        assert F.interpolate(x, size=3, mode=mode, antialias=True).grad_fn.name() == name
    with pytest.raises(ValueError, match="Lanczos mode requires antialias=True"):
        F.interpolate(x, size=3, mode="lanczos")
    with pytest.raises(ValueError, match="Lanczos mode does not support align_corners=True"):
        F.interpolate(x, size=3, mode="lanczos", antialias=True, align_corners=True)
    for mode, shape in (("nearest", (1, 1, 6, 6)), ("area", (1, 1, 6, 6)), ("linear", (1, 1, 6)),
                        ("bilinear", (1, 1, 6))):
        with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear, bicubic, and lanczos"):
            F.interpolate(mt.zeros(*shape), size=3, mode=mode, antialias=True)
