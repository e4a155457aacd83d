"""Channel and alpha dropout (F.dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout and their layers):
exact values against a mask drawn again from the same generator, the SELU-preserving moments,
torch's rank rules and warnings, train/eval, inplace, gradchecks on both devices."""
import math
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import DtypeError, ShapeError

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of

ALPHA = 1.7580993408473766   # SELU's lambda * alpha


def _mask(seed, shape, p, device="cpu", dtype=np.float64):
    """The keep mask the ops draw from Generator(seed): a uniform per entry, kept where >= p."""
    g = mt.Generator(device=device).manual_seed(seed)
    return (mt.rand(*shape, generator=g, dtype=dtype, device=device).numpy() >= p).astype(dtype)


def _gen(seed, device="cpu"):
    return mt.Generator(device=device).manual_seed(seed)


@pytest.mark.parametrize("name, shape, mask_shape", [
    ("dropout1d", (3, 4, 5), (3, 4, 1)), ("dropout1d", (4, 5), (4, 1)),
    ("dropout2d", (2, 3, 4, 5), (2, 3, 1, 1)), ("dropout3d", (2, 3, 2, 2, 3), (2, 3, 1, 1, 1)),
    ("dropout3d", (3, 2, 2, 3), (3, 1, 1, 1))])
def test_channel_dropout_values_against_the_generators_mask(device, name, shape, mask_shape):
    p = 0.4
    a = np.random.default_rng(0).standard_normal(shape)
    x = device_tensor(a, device)
    y = getattr(F, name)(x, p, generator=_gen(7, device))
    keep = _mask(7, mask_shape, p, device)
    np.testing.assert_allclose(y.numpy(), a * keep / (1 - p), rtol=1e-15)
    u = np.random.default_rng(1).standard_normal(shape)
    y.backward(device_tensor(u, device, requires_grad=False))
    np.testing.assert_allclose(grad_of(x), u * keep / (1 - p), rtol=1e-15)
    assert mt.gradcheck(lambda t: getattr(F, name)(t, p, generator=_gen(7, device)), [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, feature", [("alpha_dropout", False), ("feature_alpha_dropout", True)])
def test_alpha_dropout_values_against_the_generators_mask(device, name, feature):
    p = 0.3
    shape = (3, 4, 5)
    a = np.random.default_rng(2).standard_normal(shape)
    x = device_tensor(a, device)
    y = getattr(F, name)(x, p, training=True, generator=_gen(11, device))
    keep = _mask(11, (3, 4, 1) if feature else shape, p, device)
    a_ = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    want = np.where(keep == 1, a_ * a + a_ * ALPHA * p, -a_ * ALPHA + a_ * ALPHA * p)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-14, atol=1e-15)
    u = np.random.default_rng(3).standard_normal(shape)
    y.backward(device_tensor(u, device, requires_grad=False))
    np.testing.assert_allclose(grad_of(x), u * keep * a_, rtol=1e-14)
    fn = (lambda t: getattr(F, name)(t, p, True, generator=_gen(11, device)))
    assert mt.gradcheck(fn, [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(fn, [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_keeps_zero_mean_and_unit_variance(name, p):
    # n = 400k standard normal inputs (feature: 20k channels of 20): the sample mean and variance
    # of the output are within 5 standard errors of 0 and 1 (the SELU fixed point the op keeps)
    rng = np.random.default_rng(4)
    x = mt.tensor(rng.standard_normal((20000, 20)))
    y = getattr(F, name)(x, p, True, generator=_gen(5)).numpy()
    # the mean over channels: the channel masks make the values within a row dependent
    n_eff = 20000 if name == "feature_alpha_dropout" else y.size
    m = y.mean(axis=1) if name == "feature_alpha_dropout" else y.ravel()
    se = m.std() / math.sqrt(n_eff)
    assert abs(m.mean()) < 5 * se
    assert abs(y.var() - 1.0) < 5 * math.sqrt(2.0 / n_eff) * 2   # var's standard error, twice for the fourth moment
    # torch's formula gives the same two values: a x + b and -a alpha' + b
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    yt = getattr(torch.nn.functional, name)(torch.zeros(200, 20, dtype=torch.float64), p, True).numpy()
    ym = getattr(F, name)(mt.zeros(200, 20, dtype=mt.float64), p, True, generator=_gen(0)).numpy()
    np.testing.assert_allclose(np.unique(ym), np.unique(yt), rtol=1e-14)


def test_eval_mode_p_zero_and_p_one():
    x = mt.tensor(np.random.default_rng(6).standard_normal((2, 3, 4)), requires_grad=True)
    for name in ["dropout1d", "dropout2d", "alpha_dropout", "feature_alpha_dropout"]:
        fn = getattr(F, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert fn(x, 0.5, training=False) is x
            assert fn(x, 0.0, training=True) is x
            np.testing.assert_array_equal(fn(x, 1.0, training=True).numpy(), np.zeros((2, 3, 4)))   # torch's, alpha too
    assert F.alpha_dropout(x, 0.5) is x   # training defaults to False, as torch's
    assert F.feature_alpha_dropout(x, 0.5) is x
    for layer, shape in [(nn.Dropout1d(0.5), (2, 3, 4)), (nn.Dropout2d(0.5), (2, 3, 4, 5)),
                         (nn.Dropout3d(0.5), (2, 3, 4, 5, 6)), (nn.AlphaDropout(0.5), (2, 3)),
                         (nn.FeatureAlphaDropout(0.5), (2, 3, 4))]:
        xs = mt.ones(*shape)
        assert layer.eval()(xs) is xs
        y = layer.train()(mt.ones(*shape))
        assert y.shape == shape and (y.numpy() != 1).any()


def test_rank_rules_and_warnings_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(ShapeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(mt.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input"):
        torch.nn.functional.dropout1d(torch.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="assuming that channel-wise 1D dropout behavior is desired"):
        y = F.dropout2d(mt.ones(20, 30, 4), 0.5)
    assert ((y.numpy() == 0).all(axis=2) | (y.numpy() == 2).all(axis=2)).all()   # per (n, c) of (N, C, L)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(mt.ones(3, 4), 0.5)
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d, which is deprecated"):
        y = F.dropout3d(mt.ones(30, 4, 5), 0.5)     # read as unbatched (C, ...): one draw per index of dim 0
    assert ((y.numpy() == 0).all(axis=(1, 2)) | (y.numpy() == 2).all(axis=(1, 2))).all()
    with pytest.warns(UserWarning), pytest.raises(ShapeError, match="at least 2 dimensions"):
        F.dropout2d(mt.ones(5), 0.5)
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(mt.ones(5), 0.5, True)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        F.alpha_dropout(mt.ones(2), -0.1)
    with pytest.raises(DtypeError, match="floating point"):
        F.dropout1d(mt.ones(2, 3, dtype=mt.int64), 0.5)
    for layer, ref in [(nn.Dropout1d(0.2), torch.nn.Dropout1d(0.2)), (nn.AlphaDropout(), torch.nn.AlphaDropout()),
                       (nn.FeatureAlphaDropout(0.3, True), torch.nn.FeatureAlphaDropout(0.3, True))]:
        assert repr(layer) == repr(ref)


@pytest.mark.parametrize("name", ["dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"])
def test_inplace_writes_the_same_draws_into_the_input(name):
    shape = (3, 4, 5) if name != "dropout3d" else (3, 2, 2, 2)
    a = np.random.default_rng(7).standard_normal(shape)
    want = getattr(F, name)(mt.tensor(a), 0.5, True, generator=_gen(3)).numpy()
    x = mt.tensor(a.copy())
    out = getattr(F, name)(x, 0.5, True, True, generator=_gen(3))
    assert out is x
    np.testing.assert_array_equal(x.numpy(), want)
    # through the graph: a non-leaf written in place, the gradient the out-of-place one's
    w = mt.tensor(a, requires_grad=True)
    h = w * 1.0
    getattr(F, name)(h, 0.5, True, True, generator=_gen(3)).sum().backward()
    w2 = mt.tensor(a, requires_grad=True)
    getattr(F, name)(w2, 0.5, True, generator=_gen(3)).sum().backward()
    np.testing.assert_array_equal(grad_of(w), grad_of(w2))
    layer = getattr(nn, {"dropout1d": "Dropout1d", "dropout3d": "Dropout3d", "alpha_dropout": "AlphaDropout",
                         "feature_alpha_dropout": "FeatureAlphaDropout"}[name])(0.5, inplace=True)
    x = mt.tensor(a.copy())
    assert layer(x) is x
