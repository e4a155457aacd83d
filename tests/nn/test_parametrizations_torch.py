"""weight_norm, spectral_norm and orthogonal (nn.utils.parametrizations) and the hooks-based
nn.utils.weight_norm / spectral_norm against torch 2.13: state-dict keys, forward values, gradients
w.r.t. the originals, values after optimizer steps, the u/v buffers in train and eval; gradchecks
in float64; the fake device; errors."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.nn.utils import parametrizations as PZ
from minitf.nn.utils import parametrize as P

from .conftest import gradcheck_module
from .torch_steps import compare_steps


def _linear_pair(torch, n_in, n_out, dtype="float64"):
    m = nn.Linear(n_in, n_out).to(dtype=dtype)
    t = torch.nn.Linear(n_in, n_out).to(getattr(torch, dtype))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, t


def _conv_pair(torch, transposed=False):
    cls = "ConvTranspose2d" if transposed else "Conv2d"
    m = getattr(nn, cls)(3, 4, 3).to(dtype="float64")
    t = getattr(torch.nn, cls)(3, 4, 3).double()
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, t


def _copy_state(torch, t, m):
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


# ------------------------------------------------------------------ weight_norm
@pytest.mark.parametrize("dim", [0, 1, None, -1, -2, 3])
def test_weight_norm_matches_torch_on_a_conv(dim):
    torch = pytest.importorskip("torch")
    m, t = _conv_pair(torch)
    PZ.weight_norm(m, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert m.state_dict()[k].shape == tuple(v.shape), k
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    compare_steps(torch, m, t, x)


def test_weight_norm_linear_keys_shapes_and_errors():
    torch = pytest.importorskip("torch")
    m, t = _linear_pair(torch, 5, 3)
    PZ.weight_norm(m)
    torch.nn.utils.parametrizations.weight_norm(t)
    assert {k: v.shape for k, v in m.state_dict().items()} == {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert m.state_dict()["parametrizations.weight.original0"].shape == (3, 1)
    assert repr(m).replace("ParametrizationList", "X") == repr(t).replace("ParametrizationList", "X")
    x = np.random.default_rng(1).standard_normal((4, 5))
    compare_steps(torch, m, t, x)
    with pytest.raises(IndexError, match="out of range"):
        PZ.weight_norm(nn.Linear(3, 2), dim=2)
    P.remove_parametrizations(m, "weight")
    t = torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    assert list(m.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), rtol=1e-12)


def test_weight_norm_gradcheck_float64(device):
    for dim in (0, 1, None):
        m = nn.Linear(3, 4).to(device, "float64")
        PZ.weight_norm(m, dim=dim)
        x = mt.tensor(np.random.default_rng(2).standard_normal((2, 3)), device=device, requires_grad=True)
        assert gradcheck_module(m, [x])
        g = m.parametrizations.weight.original0
        assert g.device == device and m.weight.device == device


# ------------------------------------------------------------------ spectral_norm
@pytest.mark.parametrize("case", ["linear", "wide", "conv", "convT", "dim1", "iters3"])
def test_spectral_norm_matches_torch_in_train_and_eval(case):
    torch = pytest.importorskip("torch")
    kw = {"iters3": {"n_power_iterations": 3, "eps": 1e-3}, "dim1": {"dim": 1}}.get(case, {})
    if case in ("conv", "convT"):
        m, t = _conv_pair(torch, transposed=case == "convT")
        x = np.random.default_rng(3).standard_normal((2, 3, 5, 5) if case == "conv" else (2, 3, 4, 4))
    else:
        m, t = _linear_pair(torch, 6, 4) if case != "wide" else _linear_pair(torch, 3, 7)
        x = np.random.default_rng(3).standard_normal((5, m.in_features))
    PZ.spectral_norm(m, **kw)
    torch.nn.utils.parametrizations.spectral_norm(t, **kw)
    assert list(m.state_dict()) == list(t.state_dict())
    sn = m.parametrizations.weight[0]
    assert sn.dim == t.parametrizations.weight[0].dim
    # the start vectors are random (different generators): take torch's, then both iterate alike
    _copy_state(torch, t, m)

    def same_buffers():
        for k in ("_u", "_v"):
            np.testing.assert_allclose(getattr(sn, k).numpy(), getattr(t.parametrizations.weight[0], k).numpy(),
                                       rtol=1e-9, atol=1e-12)
    compare_steps(torch, m, t, x, check=same_buffers)
    # eval: the buffers stay as they are
    m.eval(), t.eval()
    u = sn._u.numpy().copy()
    compare_steps(torch, m, t, x, n=2, check=same_buffers)
    np.testing.assert_array_equal(sn._u.numpy(), u)
    # sigma(W / sigma) ~ 1 after the power iterations (15 at registration)
    w = m.weight.numpy().reshape(m.weight.shape[sn.dim], -1) if sn.dim == 0 else \
        np.moveaxis(m.weight.numpy(), sn.dim, 0).reshape(m.weight.shape[sn.dim], -1)
    assert np.linalg.norm(w, 2) == pytest.approx(1.0, rel=0.05)


def test_spectral_norm_one_dim_and_errors():
    torch = pytest.importorskip("torch")
    m, t = _linear_pair(torch, 4, 3)
    PZ.spectral_norm(m, "bias")
    torch.nn.utils.parametrizations.spectral_norm(t, "bias")
    assert list(m.state_dict()) == list(t.state_dict())   # no buffers for a vector
    np.testing.assert_allclose(m.bias.numpy(), t.bias.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="n_power_iterations"):
        PZ.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="out of range"):
        PZ.spectral_norm(nn.Linear(2, 2), dim=2)
    with pytest.raises(ValueError, match="no parameter or buffer"):
        PZ.spectral_norm(nn.Linear(2, 2), "nope")


def test_spectral_norm_gradcheck_float64_eval(device):
    # eval mode: u, v fixed, so W -> W / (u . W v) is one smooth function to check
    m = nn.Linear(4, 3).to(device, "float64")
    PZ.spectral_norm(m)
    m.eval()
    x = mt.tensor(np.random.default_rng(4).standard_normal((2, 4)), device=device, requires_grad=True)
    assert gradcheck_module(m, [x])
    assert m.parametrizations.weight[0]._u.device == device


# ------------------------------------------------------------------ orthogonal
@pytest.mark.parametrize("omap", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize("triv", [True, False])
def test_orthogonal_matches_torch_after_steps(omap, shape, triv):
    torch = pytest.importorskip("torch")
    m, t = _linear_pair(torch, shape[1], shape[0])
    PZ.orthogonal(m, orthogonal_map=omap, use_trivialization=triv)
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map=omap, use_trivialization=triv)
    assert list(m.state_dict()) == list(t.state_dict())
    _copy_state(torch, t, m)   # (a non-square base is completed with random columns)
    q = m.weight.numpy()
    small = min(shape)
    np.testing.assert_allclose(q.T @ q if shape[0] >= shape[1] else q @ q.T, np.eye(small), atol=1e-10)
    x = np.random.default_rng(5).standard_normal((3, shape[1]))
    compare_steps(torch, m, t, x, lr=0.1)
    q = m.weight.numpy()
    np.testing.assert_allclose(q.T @ q if shape[0] >= shape[1] else q @ q.T, np.eye(small), atol=1e-10)


def test_orthogonal_assignment_and_init_from_a_square_weight():
    torch = pytest.importorskip("torch")
    m, t = _linear_pair(torch, 4, 4)
    PZ.orthogonal(m)   # a square weight: orthogonalised by QR, deterministic, so torch's value
    torch.nn.utils.parametrizations.orthogonal(t)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    q = np.linalg.qr(np.random.default_rng(6).standard_normal((4, 4)))[0]
    m.weight = mt.tensor(q)
    np.testing.assert_allclose(m.weight.numpy(), q, atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        m.weight = mt.zeros(3, 4, dtype="float64")
    m2, _ = _linear_pair(torch, 4, 4)
    PZ.orthogonal(m2, orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m2.weight = mt.tensor(q)
    with pytest.raises(ValueError, match="orthogonal_map"):
        PZ.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")
    with pytest.raises(ValueError, match="matrix"):
        PZ.orthogonal(nn.Linear(2, 2), "bias")


@pytest.mark.parametrize("omap", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_gradcheck_float64(device, omap):
    m = nn.Linear(3, 4).to(device, "float64")
    PZ.orthogonal(m, orthogonal_map=omap, use_trivialization=False)
    if omap == "householder":
        # the diagonal only gives the reflections' signs through int(): a step at integers (torch's
        # too); move it from +-1 to +-1.5 so the differences do not cross one
        a = m.parametrizations.weight.original
        a.data[(range(3), range(3))] *= 1.5
    x = mt.tensor(np.random.default_rng(7).standard_normal((2, 3)), device=device, requires_grad=True)
    assert gradcheck_module(m, [x])


# ------------------------------------------------------------------ the hooks-based versions
def test_legacy_weight_norm_matches_torch_and_warns():
    torch = pytest.importorskip("torch")
    for dim in (0, 1, None):
        m, t = _linear_pair(torch, 5, 3)
        with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
            nn.utils.weight_norm(m, dim=dim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.nn.utils.weight_norm(t, dim=dim)
        assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_g", "weight_v"]
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)
        compare_steps(torch, m, t, np.random.default_rng(8).standard_normal((4, 5)))
        t2 = torch.nn.Linear(5, 3).double()   # minitf's state dict loads into torch's module
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.nn.utils.weight_norm(t2, dim=dim)
        t2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
        x = np.random.default_rng(8).standard_normal((2, 5))
        np.testing.assert_allclose(t2(torch.tensor(x)).detach().numpy(), m(mt.tensor(x)).numpy(), rtol=1e-12)
        with pytest.raises(RuntimeError, match="two weight_norm hooks"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                nn.utils.weight_norm(m, dim=dim)
        nn.utils.remove_weight_norm(m)
        torch.nn.utils.remove_weight_norm(t)
        assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
        assert isinstance(m.weight, nn.Parameter)
        np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), rtol=1e-12)
        with pytest.raises(ValueError, match="not found"):
            nn.utils.remove_weight_norm(m)


def _spectral_pair(torch, case, seed, **kw):
    """(minitf module, torch module, input) with the hooks-based spectral_norm: a ConvTranspose2d for
    ``case`` "convT", else a Linear(5, 3)."""
    if case == "convT":
        m, t = _conv_pair(torch, transposed=True)
        x = np.random.default_rng(seed).standard_normal((2, 3, 4, 4))
    else:
        m, t = _linear_pair(torch, 5, 3)
        x = np.random.default_rng(seed).standard_normal((4, 5))
    nn.utils.spectral_norm(m, **kw)
    torch.nn.utils.spectral_norm(t, **kw)
    return m, t, x


@pytest.mark.parametrize("case", ["linear", "convT", "iters2"])
def test_legacy_spectral_norm_matches_torch(case):
    torch = pytest.importorskip("torch")
    kw = {"n_power_iterations": 2} if case == "iters2" else {}
    m, t, x = _spectral_pair(torch, case, 9, **kw)
    assert list(m.state_dict()) == list(t.state_dict())
    assert [k for k in m.state_dict() if "weight" in k] == ["weight_orig", "weight_u", "weight_v"]
    _copy_state(torch, t, m)

    def same_buffers():
        for k in ("weight_u", "weight_v"):
            np.testing.assert_allclose(getattr(m, k).numpy(), getattr(t, k).numpy(), rtol=1e-9, atol=1e-12)
    compare_steps(torch, m, t, x, check=same_buffers)
    m.eval(), t.eval()
    u = m.weight_u.numpy().copy()
    compare_steps(torch, m, t, x, n=2, check=same_buffers)
    np.testing.assert_array_equal(m.weight_u.numpy(), u)
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(m)
    nn.utils.remove_spectral_norm(m)
    torch.nn.utils.remove_spectral_norm(t)
    assert list(m.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_spectral_norm(m)


def test_legacy_hooks_gradcheck_float64(device):
    x = mt.tensor(np.random.default_rng(10).standard_normal((2, 3)), device=device, requires_grad=True)
    m = nn.Linear(3, 2).to(device, "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(m)
    assert gradcheck_module(m, [x])
    m = nn.Linear(3, 2).to(device, "float64")
    nn.utils.spectral_norm(m)
    m.eval()
    assert gradcheck_module(m, [x])
    assert m.weight_u.device == device


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm", "matrix_exp", "cayley", "householder"])
def test_second_order_through_the_parametrisations(device, kind):
    # every parametrisation is built from differentiable ops: its backward is differentiable too
    m = nn.Linear(3, 3).to(device, "float64")
    if kind == "weight_norm":
        PZ.weight_norm(m)
    elif kind == "spectral_norm":
        PZ.spectral_norm(m).eval()
    else:
        PZ.orthogonal(m, orthogonal_map=kind, use_trivialization=kind == "cayley")
    if kind == "householder":   # away from int()'s steps at the diagonal (see the gradcheck above)
        m.parametrizations.weight.original.data[(range(3), range(3))] *= 1.5
    x = mt.tensor(np.random.default_rng(11).standard_normal((2, 3)), device=device, requires_grad=True)
    assert mt.gradgradcheck(lambda x, *ps: m(x), [x] + list(m.parameters()))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_orthogonal_with_base_on_the_device(device, shape):
    # the trivialisation's start (QR, random completion, -I) made on the weight's device
    m = nn.Module()
    m.weight = nn.Parameter(mt.tensor(np.random.default_rng(12).standard_normal(shape), device=device))
    PZ.orthogonal(m)
    q = m.weight.numpy()
    assert m.parametrizations.weight[0].base.device == device and m.weight.device == device
    gram = q.swapaxes(-1, -2) @ q if shape[-2] >= shape[-1] else q @ q.swapaxes(-1, -2)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(min(shape[-2:])), gram.shape), atol=1e-10)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_householder_without_trivialisation_starts_and_assigns_as_torch(shape):
    # its right_inverse is geqrf's reflectors (deterministic): the originals must be torch's
    torch = pytest.importorskip("torch")
    m, t = _linear_pair(torch, shape[1], shape[0])
    PZ.orthogonal(m, orthogonal_map="householder", use_trivialization=False)
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map="householder", use_trivialization=False)

    def same():
        np.testing.assert_allclose(m.parametrizations.weight.original.numpy(),
                                   t.parametrizations.weight.original.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), atol=1e-12)
    same()
    tall = shape if shape[0] >= shape[1] else shape[::-1]
    q = np.linalg.qr(np.random.default_rng(13).standard_normal(tall))[0]
    q = q if shape[0] >= shape[1] else q.T
    m.weight = mt.tensor(q)
    with torch.no_grad():
        t.weight = torch.tensor(q)
    same()
    np.testing.assert_allclose(m.weight.numpy(), q, atol=1e-12)


# ------------------------------------------------------------------ legacy state dicts
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_loads_the_hooks_based_state_dict_as_torch(dim):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = nn.Sequential(nn.Linear(5, 3).to(dtype="float64"))
        nn.utils.weight_norm(old[0], dim=dim)
        t_old = torch.nn.Sequential(torch.nn.Linear(5, 3).double())
        torch.nn.utils.weight_norm(t_old[0], dim=dim)
    sd = old.state_dict()
    assert list(sd) == ["0.bias", "0.weight_g", "0.weight_v"]
    t_old.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    new = nn.Sequential(nn.Linear(5, 3).to(dtype="float64"))
    PZ.weight_norm(new[0], dim=dim)
    t_new = torch.nn.Sequential(torch.nn.Linear(5, 3).double())
    torch.nn.utils.parametrizations.weight_norm(t_new[0], dim=dim)
    r, tr = new.load_state_dict(sd), t_new.load_state_dict(t_old.state_dict())
    assert (r.missing_keys, r.unexpected_keys) == (tr.missing_keys, tr.unexpected_keys) == ([], [])
    assert list(sd) == ["0.bias", "0.weight_g", "0.weight_v"]   # the caller's dict is left alone
    np.testing.assert_array_equal(new.state_dict()["0.parametrizations.weight.original1"].numpy(),
                                  sd["0.weight_v"].numpy())
    x = np.random.default_rng(11).standard_normal((2, 5))
    np.testing.assert_allclose(new(mt.tensor(x)).numpy(), t_new(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(new(mt.tensor(x)).numpy(), old(mt.tensor(x)).numpy(), rtol=1e-12)
    # torch's legacy dict, into a deep copy (the hook travels with the module)
    import copy
    c = copy.deepcopy(new)
    c.load_state_dict({k: v.detach() for k, v in t_old.state_dict().items()})
    np.testing.assert_allclose(c(mt.tensor(x)).numpy(), t_new(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    # one legacy key alone is not renamed: the same missing / unexpected keys as torch's
    part = {k: v for k, v in sd.items() if k != "0.weight_v"}
    r = new.load_state_dict(part, strict=False)
    tr = t_new.load_state_dict({k: torch.tensor(v.numpy()) for k, v in part.items()}, strict=False)
    assert (r.missing_keys, r.unexpected_keys) == (tr.missing_keys, tr.unexpected_keys)
    with pytest.raises(RuntimeError, match="0.weight_g"):
        new.load_state_dict(part)


def _pre_1_1(torch, sd, weight):
    """A hooks-based spectral_norm state dict as torch before 1.1 saved it: W / sigma, no v."""
    old = {k: torch.tensor(v.numpy()) for k, v in sd.items() if k != "weight_v"}
    old["weight"] = torch.tensor(weight)
    return old


@pytest.mark.parametrize("case", ["linear", "convT"])
def test_legacy_spectral_norm_converts_a_pre_1_1_state_dict_as_torch(case):
    torch = pytest.importorskip("torch")
    m, t, x = _spectral_pair(torch, case, 12)
    _copy_state(torch, t, m)
    t(torch.tensor(x)), m(mt.tensor(x))   # one training step: u, v and the weight as a checkpoint has them
    sd = m.state_dict()
    assert sd._metadata[""] == t.state_dict()._metadata[""] == {"version": 1, "spectral_norm": {"weight.version": 1}}
    old = _pre_1_1(torch, sd, m.weight.numpy())
    m2, t2, _ = _spectral_pair(torch, case, 12)
    assert not m2.load_state_dict(old).missing_keys   # no metadata: the old format
    t2.load_state_dict(dict(old))
    np.testing.assert_allclose(m2.weight_v.numpy(), t2.weight_v.numpy(), rtol=1e-9, atol=1e-12)
    m2.eval(), t2.eval(), m.eval()
    np.testing.assert_allclose(m2(mt.tensor(x)).numpy(), t2(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(m2(mt.tensor(x)).numpy(), m(mt.tensor(x)).numpy(), rtol=1e-10)
    # an old dict without u: missing keys as torch's; the metadata of version 1: no conversion
    no_u = {k: v for k, v in old.items() if k != "weight_u"}
    r, tr = m2.load_state_dict(no_u, strict=False), t2.load_state_dict(dict(no_u), strict=False)
    assert (sorted(r.missing_keys), r.unexpected_keys) == (sorted(tr.missing_keys), tr.unexpected_keys)
    with pytest.raises(RuntimeError, match="weight_v"):
        m2.load_state_dict(_with_metadata(old, sd._metadata))
    nn.utils.remove_spectral_norm(m2)
    torch.nn.utils.remove_spectral_norm(t2)
    assert m2.state_dict()._metadata == t2.state_dict()._metadata


def _with_metadata(d, metadata):
    from collections import OrderedDict
    out = OrderedDict(d)
    out._metadata = metadata
    return out
