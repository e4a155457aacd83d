"""F.grid_sample and F.affine_grid: values and gradients (input and grid) against torch 2.13 over
every mode x padding x align_corners, with grid points outside [-1, 1], exactly on -1, 0 and 1,
size-1 dims, empty batch / channel / grid dims, non-contiguous inputs and float32; float64 finite
differences away from the kinks; the fake device; torch's errors and warnings."""
import itertools
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError

from .test_functional_fixes import grad_of
from .torch_compare import compare_with_torch

rng = np.random.default_rng(21)
MODES_2D = ["bilinear", "nearest", "bicubic"]
PADS = ["zeros", "border", "reflection"]


def _grid(batch, out, d, lo=-1.6, hi=1.6):
    """Grid points in [lo, hi] (outside [-1, 1] too), the first few exactly on -1, 1 and 0."""
    g = rng.uniform(lo, hi, (batch,) + tuple(out) + (d,))
    flat = g.reshape(-1)
    edge = [-1.0, 1.0, 0.0, 1.0, -1.0, -1.0, 1.0, 1.0]
    flat[:min(len(edge), flat.size)] = edge[:flat.size]
    return g


CASES_2D = [((2, 3, 4, 5), (3, 4)), ((2, 2, 1, 3), (2, 3)), ((1, 2, 1, 1), (2, 2)), ((2, 1, 6, 2), (1, 5))]
CASES_3D = [((2, 2, 3, 4, 2), (2, 3, 2)), ((1, 2, 1, 2, 1), (2, 1, 3))]


SAMPLE_CASES = ([(m, p, a, shape, out) for m, p, a in itertools.product(MODES_2D, PADS, [False, True])
                 for shape, out in CASES_2D]
                + [(m, p, a, shape, out) for m, p, a in itertools.product(["bilinear", "nearest"], PADS, [False, True])
                   for shape, out in CASES_3D])


@pytest.mark.parametrize("mode,padding,align,shape,out", SAMPLE_CASES)
def test_grid_sample_matches_torch(mode, padding, align, shape, out):
    torch = pytest.importorskip("torch")
    x, g = rng.standard_normal(shape), _grid(shape[0], out, len(shape) - 2)
    compare_with_torch(lambda x, g: F.grid_sample(x, g, mode, padding, align),
                       lambda x, g: torch.nn.functional.grid_sample(x, g, mode, padding, align), [x, g])


@pytest.mark.parametrize("mode", MODES_2D)
def test_grid_sample_far_outside_noncontiguous_and_float32_match_torch(mode):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((2, 5, 3, 4))          # transposed below: a non-contiguous (2, 3, 5, 4) input
    g = _grid(2, (4, 3), 2, -40.0, 40.0)           # far outside: reflected many times, or clipped
    g[0, 0, 0] = [1e12, -1e12]                      # past the int range: torch's -100, read as outside
    for padding in PADS:
        xs, gs = mt.tensor(x).transpose(1, 2), mt.tensor(g).permute(0, 2, 1, 3)
        assert not xs.is_contiguous()
        ours = F.grid_sample(xs, gs, mode, padding, False)
        theirs = tf.grid_sample(torch.tensor(x).transpose(1, 2), torch.tensor(g).permute(0, 2, 1, 3), mode,
                                padding, False)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
        # float32: the same arithmetic in single precision (float32-sized tolerances: the weights
        # round differently); points within a few reflections (far out, float32's reflections are
        # rounding noise, in torch's too: its float32 and float64 answers differ there)
        x32, g32 = x.astype(np.float32), _grid(2, (4, 3), 2, -3.0, 3.0).astype(np.float32)
        t32 = [torch.tensor(a, requires_grad=True) for a in (x32, g32)]
        m32 = [mt.tensor(a, requires_grad=True) for a in (x32, g32)]
        y, yt = F.grid_sample(*m32, mode, padding, True), tf.grid_sample(*t32, mode, padding, True)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
        y.sum().backward()
        yt.sum().backward()
        for m, t in zip(m32, t32):
            assert grad_of(m).dtype == np.float32
            np.testing.assert_allclose(grad_of(m), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_grid_sample_empty_batch_channels_and_grid_match_torch():
    torch = pytest.importorskip("torch")
    for shape, out in [((0, 2, 3, 4), (2, 2)), ((2, 0, 3, 4), (2, 2)), ((2, 3, 3, 4), (0, 2))]:
        compare_with_torch(lambda x, g: F.grid_sample(x, g, align_corners=False),
                           lambda x, g: torch.nn.functional.grid_sample(x, g, align_corners=False),
                           [rng.standard_normal(shape), _grid(shape[0], out, 2)])


def _off_kink_grid(batch, out, spatial, align):
    """Grid points whose input coordinates have fractional parts in [0.15, 0.35] or [0.65, 0.85]: away
    from the integers (bilinear's and bicubic's kinks, the clip and reflection points) and the
    half-integers (nearest's jumps), so that central differences see a smooth function."""
    cols = []
    for n in reversed(spatial):   # the grid's last axis is (x, y[, z]): W first
        base = rng.integers(-2, n + 1, (batch,) + tuple(out)).astype(np.float64)
        frac = rng.uniform(0.15, 0.35, base.shape) + rng.integers(0, 2, base.shape) * 0.5
        ix = base + frac
        cols.append(2 * ix / (n - 1) - 1 if align else (2 * ix + 1) / n - 1)
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("mode,padding,align", [(m, p, a) for m in MODES_2D for p in PADS for a in (False, True)]
                         + [("bilinear-3d", p, a) for p in PADS for a in (False, True)])
def test_grid_sample_gradcheck(mode, padding, align):
    spatial = (3, 4, 3) if mode == "bilinear-3d" else (3, 4)
    x = mt.tensor(rng.standard_normal((2, 2) + spatial), requires_grad=True)
    g = mt.tensor(_off_kink_grid(2, (2, 3) if len(spatial) == 2 else (2, 1, 3), spatial, align), requires_grad=True)
    m = mode.split("-")[0]
    assert mt.gradcheck(lambda x, g: F.grid_sample(x, g, m, padding, align), [x, g])


def test_grid_sample_gradients_at_the_borders_are_torchs():
    """On the border itself the clip's gradient is 0 (torch's: borders count as outside), and nearest
    mode's grid gradient is 0 everywhere; gradcheck cannot see these one-sided values."""
    x = mt.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    g = mt.tensor(np.array([[[[1.0, 0.3], [-1.0, 0.3]]]]), requires_grad=True)   # x exactly on the borders
    F.grid_sample(x, g, "bilinear", "border", True).sum().backward()
    assert grad_of(g)[..., 0].tolist() == [[[0.0, 0.0]]]
    assert np.all(grad_of(g)[..., 1] != 0)
    g.grad = None
    F.grid_sample(x, g, "nearest", "zeros", False).sum().backward()
    assert not grad_of(g).any()


def test_grid_sample_reads_the_pixels_it_names():
    """Independent of torch: with align_corners the corner points read the corner pixels, and the
    zeros padding reads 0 outside while border reads the edge."""
    x = mt.tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    g = mt.tensor(np.array([[[[-1.0, -1.0], [1.0, 1.0], [0.0, -1.0], [3.0, 0.0]]]]))
    y = F.grid_sample(x, g, "bilinear", "zeros", True)
    assert y.numpy().reshape(-1).tolist() == [0.0, 5.0, 1.0, 0.0]
    assert F.grid_sample(x, g, "bilinear", "border", True).numpy().reshape(-1)[-1] == 3.5   # (2 + 5) / 2


def test_grid_sample_on_the_device(device):
    x, g = rng.standard_normal((2, 3, 4, 5)), _grid(2, (3, 2), 2)
    x3, g3 = rng.standard_normal((1, 2, 3, 2, 4)), _grid(1, (2, 2, 2), 3)
    for mode, (xa, ga) in itertools.product(MODES_2D, [(x, g), (x3, g3)]):
        if mode == "bicubic" and xa.ndim == 5:
            continue
        results = []
        for dev in ("cpu", device):
            xt = mt.tensor(xa, device=dev, requires_grad=True)
            gt = mt.tensor(ga, device=dev, requires_grad=True)
            y = F.grid_sample(xt, gt, mode, "reflection", False)
            dx, dg = mt.autograd.grad((y * y).sum(), [xt, gt], create_graph=True)   # and a second order
            (dx.sum() + (dg * dg).sum()).backward()
            assert y.device == xt.grad.device == gt.grad.device == dg.device == mt.device(dev)
            results.append([y.numpy(), dx.numpy(), dg.numpy(), grad_of(xt), grad_of(gt)])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_grid_sample_warns_without_align_corners_and_names_its_node():
    x, g = mt.tensor(rng.standard_normal((1, 1, 2, 2)), requires_grad=True), mt.tensor(_grid(1, (1, 1), 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        y = F.grid_sample(x, g)
    assert y.grad_fn.name() == "GridSampler2DBackward0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(x, g, align_corners=False)


def test_grid_sample_errors():
    x, g = mt.zeros(2, 3, 4, 5), mt.zeros(2, 6, 7, 2)
    with pytest.raises(ValueError, match="expected mode to be 'bilinear', 'nearest' or 'bicubic'"):
        F.grid_sample(x, g, "linear", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode to be 'zeros', 'border', or 'reflection'"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(ShapeError, match="same batch size"):
        F.grid_sample(x, g[:1], align_corners=False)
    with pytest.raises(ShapeError, match="size 2 in last dimension"):
        F.grid_sample(x, g[..., :1], align_corners=False)
    with pytest.raises(ShapeError, match="4D or 5D input and grid with same number of dimensions"):
        F.grid_sample(x, g[:, None], align_corners=False)
    with pytest.raises(ShapeError, match="4D or 5D input"):
        F.grid_sample(mt.zeros(2, 3, 4), mt.zeros(2, 3, 1), align_corners=False)
    with pytest.raises(ShapeError, match="dimension 2 being empty"):
        F.grid_sample(mt.zeros(2, 3, 0, 5), g, align_corners=False)
    with pytest.raises(ArgumentError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(mt.zeros(1, 1, 2, 2, 2), mt.zeros(1, 1, 1, 1, 3), "bicubic", align_corners=False)
    with pytest.raises(DtypeError, match="must match"):
        F.grid_sample(x, g.double(), align_corners=False)
    with pytest.raises(DtypeNotImplemented):
        F.grid_sample(x.long(), g.long(), align_corners=False)
    with pytest.raises(TypeError, match="grid must be a Tensor"):
        F.grid_sample(x, np.zeros((2, 6, 7, 2)), align_corners=False)


# ----------------------------------------------------------------------------- affine_grid
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 1, 3, 1), (2, 3, 2, 3, 4), (2, 1, 1, 2, 1)])
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_matches_torch_and_gradchecks(size, align):
    torch = pytest.importorskip("torch")
    theta = rng.standard_normal((2, 2, 3) if len(size) == 4 else (2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's (and minitf's) warning for unit-size grids with align_corners
        compare_with_torch(lambda t: F.affine_grid(t, size, align),
                           lambda t: torch.nn.functional.affine_grid(t, list(size), align), [theta])
        t = mt.tensor(theta, requires_grad=True)
        assert mt.gradcheck(lambda t: F.affine_grid(t, size, align), [t])
        assert mt.gradgradcheck(lambda t: F.affine_grid(t, size, align) ** 2, [t])


def test_affine_grid_then_grid_sample_is_a_spatial_transformer_as_torchs():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((2, 3, 5, 6))
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    compare_with_torch(lambda x, t: F.grid_sample(x, F.affine_grid(t, (2, 3, 4, 7), False), align_corners=False),
                       lambda x, t: tf.grid_sample(x, tf.affine_grid(t, [2, 3, 4, 7], False), align_corners=False),
                       [x, theta])
    # the identity map with align_corners reads every pixel back
    ident = mt.tensor(theta[1:])
    y = F.grid_sample(mt.tensor(x[:1]), F.affine_grid(ident, (1, 3, 5, 6), True), align_corners=True)
    np.testing.assert_allclose(y.numpy(), x[:1], atol=1e-14)


def test_affine_grid_on_the_device_and_errors(device):
    theta = mt.tensor(rng.standard_normal((2, 3, 4)), device=device, requires_grad=True)
    grid = F.affine_grid(theta, (2, 1, 2, 3, 4), align_corners=False)
    assert grid.grad_fn.name() == "AffineGridGeneratorBackward0"   # torch's node name
    grid.sum().backward()
    assert grid.shape == (2, 2, 3, 4, 3) and grid.device == theta.grad.device == mt.device(device)
    cpu = mt.tensor(theta.numpy(), requires_grad=True)
    F.affine_grid(cpu, (2, 1, 2, 3, 4), align_corners=False).sum().backward()
    np.testing.assert_allclose(grad_of(theta), grad_of(cpu))
    t2 = mt.zeros(2, 2, 3)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(t2, (2, 1, 3, 3))
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(t2, (2, 1, 1, 3), align_corners=True)
    with pytest.raises(ValueError, match="floating point type"):
        F.affine_grid(t2.long(), (2, 1, 3, 3), align_corners=False)
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(mt.zeros(2, 3, 4), (2, 1, 3, 3), align_corners=False)
    with pytest.raises(ValueError, match="Nx3x4"):
        F.affine_grid(t2, (2, 1, 3, 3, 3), align_corners=False)
    with pytest.raises(NotImplementedError, match="only supports 4D and 5D sizes"):
        F.affine_grid(t2, (2, 1, 3), align_corners=False)
    with pytest.raises(ValueError, match="non-zero, positive output size"):
        F.affine_grid(t2, (2, 1, 0, 3), align_corners=False)
    with pytest.raises(ShapeError, match="asks for 3 grids"):
        F.affine_grid(t2, (3, 1, 2, 3), align_corners=False)


@pytest.mark.parametrize("mode,padding,align", [("bilinear", "zeros", False), ("bilinear", "reflection", True),
                                                ("bicubic", "border", False), ("bicubic", "reflection", True),
                                                ("nearest", "zeros", True), ("bilinear-3d", "border", True),
                                                ("bilinear-3d", "reflection", False)])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_grid_sample_gradgradcheck_and_double_backward_as_torchs(mode, padding, align):
    """The recorded backward (the composed forward's vector-Jacobian product) against finite
    differences, and torch's double backward (2-d) for the second derivatives in x and grid."""
    torch = pytest.importorskip("torch")
    spatial = (3, 4, 3) if mode == "bilinear-3d" else (3, 4)
    out = (2, 3) if len(spatial) == 2 else (2, 1, 3)
    m = mode.split("-")[0]
    x, g = rng.standard_normal((1, 2) + spatial), _off_kink_grid(1, out, spatial, align)   # small: seconds
    xs = [mt.tensor(x, requires_grad=True), mt.tensor(g, requires_grad=True)]
    assert mt.gradgradcheck(lambda x, g: F.grid_sample(x, g, m, padding, align), xs)
    if m == "nearest" or len(spatial) == 3:
        return
    u, vx, vg = rng.standard_normal((1, 2) + out), rng.standard_normal(x.shape), rng.standard_normal(g.shape)
    ts = [torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)]
    gx, gg = torch.autograd.grad(torch.nn.functional.grid_sample(*ts, m, padding, align), ts, torch.tensor(u),
                                 create_graph=True)
    want = torch.autograd.grad((gx * torch.tensor(vx)).sum() + (gg * torch.tensor(vg)).sum(), ts)
    ax, ag = mt.autograd.grad(F.grid_sample(*xs, m, padding, align), xs, mt.tensor(u), create_graph=True)
    got = mt.autograd.grad((ax * mt.tensor(vx)).sum() + (ag * mt.tensor(vg)).sum(), xs)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
