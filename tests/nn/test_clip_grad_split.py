"""torch 2.13's split of clip_grad_norm_ (get_total_norm + clip_grads_with_norm_), the
nn.utils.clip_grad module and the deprecated clip_grad_norm, against torch."""
import math
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim

SHAPES = ((3, 4), (5,), (2, 1, 3), (0, 2))


def _grads(device, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return [mt.tensor(scale * rng.standard_normal(s), device=device) for s in SHAPES]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3, 0.5, float("inf")])
def test_get_total_norm_matches_torch(device, norm_type):
    torch = pytest.importorskip("torch")
    gs = _grads(device)
    got = nn.utils.get_total_norm(gs, norm_type)
    # torch refuses the inf-norm of an empty tensor (no identity for max); minitf takes 0, the
    # identity of a max of norms (documented in docs/api.md)
    keep = [g for g in gs if g.numel() or not math.isinf(norm_type)]
    want = torch.nn.utils.get_total_norm([torch.tensor(g.numpy()) for g in keep], norm_type)
    assert got.ndim == 0 and got.device == device and got.dtype == np.float64
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    # one tensor alone, and none
    assert nn.utils.get_total_norm(gs[0], norm_type).item() == pytest.approx(
        torch.nn.utils.get_total_norm(torch.tensor(gs[0].numpy()), norm_type).item(), rel=1e-12)
    assert nn.utils.get_total_norm([]).item() == 0.0


def test_get_total_norm_zero_and_errors():
    gs = _grads("cpu")
    gs[0].data[0] = 0.0
    # the count of non-zero entries of all of them (torch's counts the tensors with one: documented)
    assert nn.utils.get_total_norm(gs, 0).item() == sum(int((g.numpy() != 0).sum()) for g in gs)
    with pytest.raises(ValueError, match="norm_type must be >= 0"):
        nn.utils.get_total_norm(gs, -1)
    with pytest.raises(TypeError, match="expected Tensors"):
        nn.utils.get_total_norm([np.ones(3)])
    gs[1].data[0] = np.inf
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.get_total_norm(gs, error_if_nonfinite=True)


@pytest.mark.parametrize("max_norm", [0.5, 1e3, float("inf")])
def test_clip_grads_with_norm_matches_torch(device, max_norm):
    torch = pytest.importorskip("torch")
    gs = _grads(device, seed=1)
    ps = []
    for g in gs:
        p = mt.tensor(np.zeros(g.shape), device=device, requires_grad=True)
        p.grad = g
        ps.append(p)
    ps.append(mt.tensor(np.zeros(2), device=device, requires_grad=True))   # no gradient: skipped
    tps = []
    for g in gs:
        tp = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        tp.grad = torch.tensor(g.numpy())
        tps.append(tp)
    total = nn.utils.get_total_norm([p.grad for p in ps if p.grad is not None])
    versions = [p.grad._version for p in ps[:-1]]
    assert nn.utils.clip_grads_with_norm_(ps, max_norm, total) is None
    torch.nn.utils.clip_grads_with_norm_(tps, max_norm,
                                         torch.nn.utils.get_total_norm([tp.grad for tp in tps]))
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    assert [p.grad._version for p in ps[:-1]] == [v + 1 for v in versions]
    # a number works as the total too (e.g. a norm reduced across processes)
    before = [p.grad.numpy().copy() for p in ps[:-1]]
    nn.utils.clip_grads_with_norm_(ps, 1.0, 10.0)
    for p, b in zip(ps, before):
        np.testing.assert_allclose(p.grad.numpy(), b * min(1.0, 1.0 / (10.0 + 1e-6)), rtol=1e-12)


def test_clip_grads_with_norm_errors():
    p = mt.tensor(np.zeros(2), requires_grad=True)
    p.grad = mt.ones(2, dtype="float64")
    with pytest.raises(ValueError, match="max_norm"):
        nn.utils.clip_grads_with_norm_([p], -1.0, 1.0)
    with pytest.raises(TypeError, match="total_norm"):
        nn.utils.clip_grads_with_norm_([p], 1.0, "big")
    with pytest.raises(ValueError, match="one number"):
        nn.utils.clip_grads_with_norm_([p], 1.0, mt.ones(2))


def test_clip_grad_norm_is_the_two_halves_and_the_names_are_one_function():
    from minitf.nn.utils import clip_grad
    assert clip_grad.clip_grad_norm_ is nn.utils.clip_grad_norm_ is optim.clip_grad_norm_
    assert clip_grad.get_total_norm is nn.utils.get_total_norm
    assert clip_grad.clip_grads_with_norm_ is nn.utils.clip_grads_with_norm_
    assert clip_grad.clip_grad_value_ is nn.utils.clip_grad_value_
    gs = _grads("cpu", seed=2)
    ps = [mt.tensor(np.zeros(g.shape), requires_grad=True) for g in gs]
    for p, g in zip(ps, gs):
        p.grad = g
    want = math.sqrt(sum(float((g.numpy() ** 2).sum()) for g in gs))
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        got = nn.utils.clip_grad_norm(ps, 1.0)
    assert got.item() == pytest.approx(want, rel=1e-12)
    assert nn.utils.get_total_norm([p.grad for p in ps]).item() == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_warns_on_an_empty_generator_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="empty generator"):
        torch.nn.utils.clip_grad_norm_((p for p in []), 1.0)
    with pytest.warns(UserWarning, match="empty generator"):
        assert nn.utils.clip_grad_norm_((p for p in []), 1.0).item() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.utils.clip_grad_norm_([], 1.0)   # an empty list does not warn (torch's neither)


def _other(device):
    return "fake" if device == "cpu" else "cpu"


@pytest.mark.parametrize("norm_type", [2.0, 1, 0.5, float("inf")])
def test_norms_and_clipping_of_gradients_on_two_devices_match_torch(device, norm_type):
    # torch groups the gradients by device, reduces each group there and combines the partial
    # norms on the first gradient's device: no error, the result on that device
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    hosts = [3.0 * rng.standard_normal(s) for s in ((3, 4), (5,), (2, 1, 3), (6,))]
    where = [device, _other(device), device, _other(device)]
    for foreach in (None, True, False):
        ps = []
        for h, d in zip(hosts, where):
            p = mt.tensor(np.zeros(h.shape), device=d, requires_grad=True)
            p.grad = mt.tensor(h, device=d)
            ps.append(p)
        tps = [torch.zeros(h.shape, dtype=torch.float64, requires_grad=True) for h in hosts]
        for tp, h in zip(tps, hosts):
            tp.grad = torch.tensor(h, dtype=torch.float64)
        total = nn.utils.get_total_norm([p.grad for p in ps], norm_type, foreach=foreach)
        want = torch.nn.utils.get_total_norm([tp.grad for tp in tps], norm_type, foreach=foreach)
        assert total.device == device and total.ndim == 0
        assert total.item() == pytest.approx(want.item(), rel=1e-12)
        got = nn.utils.clip_grad_norm_(ps, 1.0, norm_type, foreach=foreach)
        want = torch.nn.utils.clip_grad_norm_(tps, 1.0, norm_type, foreach=foreach)
        assert got.device == device and got.item() == pytest.approx(want.item(), rel=1e-12)
        for p, tp, d in zip(ps, tps, where):
            assert p.grad.device == d
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_nonfinite_gradients_on_a_second_device_as_torch(device):
    torch = pytest.importorskip("torch")
    ps, tps = [], []
    for d, h in ((device, [1.0, 2.0]), (_other(device), [np.inf, 1.0])):
        p = mt.tensor(np.zeros(2), device=d, requires_grad=True)
        p.grad = mt.tensor(h, device=d, dtype="float64")
        ps.append(p)
        tp = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        tp.grad = torch.tensor(h, dtype=torch.float64)
        tps.append(tp)
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(tps, 1.0, error_if_nonfinite=True)
    got = nn.utils.clip_grad_norm_(ps, 1.0)
    want = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert got.device == device and math.isinf(got.item()) and math.isinf(want.item())
    for p, tp in zip(ps, tps):   # x 0: the finite entries become 0, the inf one NaN
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
