"""nn.init against torch.nn.init: the gain and fan rules exactly, the distributions by their
statistics (the generators differ), reproducibility from minitf's seed on every device."""
import math
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn

# the standard error of a sample std over n draws is about std / sqrt(2 n); with n >= 1e5 the
# tolerances below are more than 10 standard errors (a correct sampler fails about never, a wrong
# scale by >= 3% always)
N_ROWS, N_COLS = 400, 300
STD_RTOL = 0.03


def empty(*shape, device="cpu", dtype=np.float64):
    return mt.tensor(np.zeros(shape, dtype=dtype), device=device, requires_grad=True)


def test_calculate_gain_is_torchs():
    torch = pytest.importorskip("torch")
    names = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
             "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    for name in names:
        assert nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name), name
    for slope in (0, 0.2, 1, -0.5, math.sqrt(5)):
        assert nn.init.calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain("leaky_relu", slope)
    for bad in (("leaky_relu", True), ("leaky_relu", "0.1"), ("swish", None)):
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(*bad)
        with pytest.raises(ValueError, match="negative_slope|unsupported nonlinearity"):
            nn.init.calculate_gain(*bad)


@pytest.mark.parametrize("shape", [(3, 4), (7, 2), (5, 3, 2), (2, 3, 4, 5), (6, 1, 1)])
def test_fans_are_torchs(shape):
    torch = pytest.importorskip("torch")
    assert nn.init._calculate_fan_in_and_fan_out(empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init._calculate_fan_in_and_fan_out(empty(4))


def torch_sample(torch, name, shape, **kw):
    t = torch.empty(shape, dtype=torch.float64)
    getattr(torch.nn.init, name)(t, **kw)
    return t.numpy()


UNIFORMS = [  # (function, keywords, the bound by torch's formula, as fans and gains give it)
    ("xavier_uniform_", dict(), lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("xavier_uniform_", dict(gain=2.5), lambda fi, fo: 2.5 * math.sqrt(6 / (fi + fo))),
    ("kaiming_uniform_", dict(), lambda fi, fo: math.sqrt(3) * math.sqrt(2 / (1 + 0 ** 2)) / math.sqrt(fi)),
    ("kaiming_uniform_", dict(a=math.sqrt(5)), lambda fi, fo: math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(fi)),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu"),
     lambda fi, fo: math.sqrt(3) * math.sqrt(2) / math.sqrt(fo)),
    ("kaiming_uniform_", dict(mode="FAN_OUT", nonlinearity="tanh"),
     lambda fi, fo: math.sqrt(3) * (5 / 3) / math.sqrt(fo)),
]
NORMALS = [
    ("xavier_normal_", dict(), lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("xavier_normal_", dict(gain=0.5), lambda fi, fo: 0.5 * math.sqrt(2 / (fi + fo))),
    ("kaiming_normal_", dict(), lambda fi, fo: math.sqrt(2) / math.sqrt(fi)),
    ("kaiming_normal_", dict(a=0.3, mode="fan_out"), lambda fi, fo: math.sqrt(2 / 1.09) / math.sqrt(fo)),
    ("kaiming_normal_", dict(nonlinearity="selu"), lambda fi, fo: 0.75 / math.sqrt(fi)),
]
SHAPE = (N_ROWS, N_COLS // 3, 3)   # a 3-D weight: fan_in = 100 * 3, fan_out = 400 * 3


@pytest.mark.parametrize("name,kw,bound", UNIFORMS)
def test_uniform_initialisers_match_torch(device, name, kw, bound):
    torch = pytest.importorskip("torch")
    fi, fo = SHAPE[1] * SHAPE[2], SHAPE[0] * SHAPE[2]
    b = bound(fi, fo)
    mt.manual_seed(0)
    t = empty(*SHAPE, device=device)
    assert getattr(nn.init, name)(t, **kw) is t and t.device == device and t.requires_grad
    mine, theirs = t.numpy(), torch_sample(torch, name, SHAPE, **kw)
    for x in (mine, theirs):
        assert np.abs(x).max() <= b and np.abs(x).max() > 0.999 * b          # fills [-b, b]
        assert np.std(x) == pytest.approx(b / math.sqrt(3), rel=STD_RTOL)
        assert abs(np.mean(x)) < 5 * b / math.sqrt(3 * x.size)
    assert np.std(mine) == pytest.approx(np.std(theirs), rel=STD_RTOL)


@pytest.mark.parametrize("name,kw,std", NORMALS)
def test_normal_initialisers_match_torch(device, name, kw, std):
    torch = pytest.importorskip("torch")
    fi, fo = SHAPE[1] * SHAPE[2], SHAPE[0] * SHAPE[2]
    s = std(fi, fo)
    mt.manual_seed(1)
    t = empty(*SHAPE, device=device)
    getattr(nn.init, name)(t, **kw)
    mine, theirs = t.numpy(), torch_sample(torch, name, SHAPE, **kw)
    for x in (mine, theirs):
        assert np.std(x) == pytest.approx(s, rel=STD_RTOL)
        assert abs(np.mean(x)) < 5 * s / math.sqrt(x.size)
        assert np.mean(np.abs(x) > 2 * s) == pytest.approx(0.0455, abs=0.005)   # normal tails
    assert np.std(mine) == pytest.approx(np.std(theirs), rel=STD_RTOL)


def truncated_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2            # noqa: E731
    z = cdf(be) - cdf(al)
    m = (pdf(al) - pdf(be)) / z
    var = 1 + (al * pdf(al) - be * pdf(be)) / z - m * m
    return mean + std * m, std * math.sqrt(var)


@pytest.mark.parametrize("kw", [dict(), dict(mean=0.5, std=2.0, a=-1.0, b=3.0),       # > 30% of the mass
                                dict(mean=0.0, std=1.0, a=1.0, b=3.0),                  # a tail: uniform proposals
                                dict(mean=0.02, std=0.02, a=-0.04, b=0.04)])
def test_trunc_normal_matches_the_truncated_distribution_and_torch(device, kw):
    torch = pytest.importorskip("torch")
    full = dict(mean=0.0, std=1.0, a=-2.0, b=2.0, **kw) if not kw else dict(kw)
    want_mean, want_std = truncated_moments(full["mean"], full["std"], full["a"], full["b"])
    mt.manual_seed(2)
    t = empty(N_ROWS, N_COLS, device=device)
    nn.init.trunc_normal_(t, **kw)
    mine, theirs = t.numpy(), torch_sample(torch, "trunc_normal_", (N_ROWS, N_COLS), **kw)
    for x in (mine, theirs):
        assert x.min() >= full["a"] and x.max() <= full["b"]
        assert np.mean(x) == pytest.approx(want_mean, abs=10 * want_std / math.sqrt(x.size))
        assert np.std(x) == pytest.approx(want_std, rel=STD_RTOL)


def test_trunc_normal_errors_and_warning():
    t = empty(3, 3)
    with pytest.raises(ValueError, match="std must be positive"):
        nn.init.trunc_normal_(t, std=0.0)
    with pytest.raises(ValueError, match="need a <= b"):
        nn.init.trunc_normal_(t, a=1.0, b=-1.0)
    with pytest.raises(ValueError, match="needs finite bounds"):
        nn.init.trunc_normal_(t, a=2.0, b=math.inf)
    with pytest.warns(UserWarning, match="more than 2 std"):
        nn.init.trunc_normal_(t, mean=10.0, a=-1.0, b=1.0)
    assert np.abs(t.numpy()).max() <= 1.0


@pytest.mark.parametrize("shape", [(5, 5), (8, 3), (3, 8), (4, 2, 3)])
def test_orthogonal_is_orthogonal_with_gain(device, shape):
    mt.manual_seed(3)
    t = empty(*shape, device=device)
    nn.init.orthogonal_(t, gain=2.0)
    q = t.numpy().reshape(shape[0], -1)
    gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(q.shape)), atol=1e-12)


def test_orthogonal_is_uniform_like_torchs():
    """Haar-uniform: E[q00] = 0 and E[q00^2] = 1/n; without the sign fix from diag(R), QR's
    convention would bias q00 (its mean is far from 0)."""
    torch = pytest.importorskip("torch")
    mt.manual_seed(4)
    torch.manual_seed(4)
    n, draws = 3, 2000
    mine, theirs = [], []
    for _ in range(draws):
        t = empty(n, n)
        nn.init.orthogonal_(t)
        mine.append(t.numpy()[0, 0])
        theirs.append(torch_sample(torch, "orthogonal_", (n, n))[0, 0])
    for x in (np.array(mine), np.array(theirs)):
        assert abs(x.mean()) < 5 * math.sqrt(1 / n / draws)
        assert np.mean(x * x) == pytest.approx(1 / n, abs=0.035)   # 5 standard errors (var 0.089)


def test_same_seed_same_weights_on_every_device_and_dtype(device):
    def draw(dev, dtype):
        mt.manual_seed(7)
        out = []
        for f, kw in (("xavier_uniform_", {}), ("kaiming_normal_", {"a": 0.1}), ("trunc_normal_", {"std": 0.02}),
                      ("orthogonal_", {}), ("constant_", {"val": 0.25})):
            t = empty(6, 4, device=dev, dtype=dtype)
            getattr(nn.init, f)(t, **kw)
            assert t.dtype == dtype and t.device == dev
            out.append(t.numpy())
        return out
    base = draw("cpu", np.float64)
    for a, b in zip(draw(device, np.float64), base):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(draw(device, np.float32), base):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    assert (base[-1] == 0.25).all()
    # an explicit generator, as torch's generator= argument
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    t1, t2 = empty(3, 3), empty(3, 3)
    nn.init.kaiming_uniform_(t1, generator=g1)
    nn.init.kaiming_uniform_(t2, generator=g2)
    np.testing.assert_array_equal(t1.numpy(), t2.numpy())


def test_bad_arguments_and_empty_tensors():
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        nn.init.kaiming_uniform_(empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.kaiming_normal_(empty(3, 3), nonlinearity="gelu")
    with pytest.raises(ValueError, match="2 or more dimensions"):
        nn.init.orthogonal_(empty(4))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(empty(4))
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.kaiming_uniform_(empty(0, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (nn.init.xavier_normal_, nn.init.orthogonal_):
            assert f(empty(0, 0)).shape == (0, 0)


def test_an_initialiser_bumps_the_version_so_a_saved_graph_refuses():
    # re-initialising a weight a graph saved must not silently change its gradient (torch raises too)
    w = mt.ones(4, requires_grad=True)
    y = (w * w).sum()
    with mt.no_grad():
        nn.init.normal_(w)
    with pytest.raises(RuntimeError, match="modified|changed"):
        y.backward()


def test_random_initialisers_refuse_integer_tensors_and_constant_ones_fill_them():
    t = mt.zeros(2, 3, dtype="int64")
    for fill in (nn.init.normal_, nn.init.uniform_, nn.init.kaiming_uniform_, nn.init.xavier_normal_):
        with pytest.raises(TypeError, match="floating point"):
            fill(t)
    assert nn.init.constant_(t, 7).numpy().tolist() == [[7] * 3] * 2
    assert nn.init.ones_(t).numpy().sum() == 6 and nn.init.zeros_(t).numpy().sum() == 0


def test_init_functions_take_torchs_parameter_names():
    torch = pytest.importorskip("torch")
    import inspect
    names = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
             "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"]
    for name in names:
        ours = list(inspect.signature(getattr(mt.nn.init, name)).parameters)
        assert ours == list(inspect.signature(getattr(torch.nn.init, name)).parameters), name
    w = mt.empty(3, 4)
    mt.nn.init.normal_(tensor=w, std=0.02)   # a port's keyword call
    assert float(w.abs().max()) < 0.2
