"""detect_anomaly and profile: what they report, and that they leave the engine as it was."""
import contextlib
import re
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import autograd
from minitf import functional as F

from .conftest import device_tensor
from .test_higher_order import grad_values
from .test_ops_retain_graph import OPS

HERE = __file__


@pytest.fixture(autouse=True)
def _no_warnings_from_nan():
    registered = autograd._hooks   # (the complex guard stays armed once an earlier test armed it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the NaNs here are on purpose
        yield
    assert autograd._hooks == registered, "a debug tool was left registered"


def test_anomaly_in_forward_names_op_shapes_and_line(device):
    x = device_tensor([1.0, -1.0, 2.0], device)
    with pytest.raises(mt.AnomalyError) as err:
        with mt.detect_anomaly():
            y = x * 2.0
            z = F.log(y)  # the line named below
    msg = str(err.value)
    assert "forward of Log produced nan" in msg and "input shapes (3,)" in msg
    assert re.search(re.escape(HERE) + r":\d+ \(in test_anomaly_in_forward", msg)
    line = int(re.search(re.escape(HERE) + r":(\d+)", msg).group(1))
    assert "F.log(y)" in open(HERE).read().splitlines()[line - 1]


def test_anomaly_in_backward_names_the_op_and_where_it_was_created(device):
    x = device_tensor([0.0, 1.0], device)
    with mt.detect_anomaly():
        y = F.sqrt(x * x).sum()  # sqrt'(0) = inf
        with pytest.raises(mt.AnomalyError) as err:
            y.backward()
    msg = str(err.value)
    assert "backward of Sqrt produced inf in the gradient of input 0" in msg
    line = int(re.search(re.escape(HERE) + r":(\d+)", msg).group(1))
    assert "F.sqrt(x * x)" in open(HERE).read().splitlines()[line - 1]


def test_anomaly_in_a_recorded_backward():
    x = mt.tensor([0.0, 4.0], dtype="float64", requires_grad=True)
    with mt.detect_anomaly():
        g, = mt.grad((F.sqrt(x + 1.0) * x).sum(), x, create_graph=True)
        with pytest.raises(mt.AnomalyError, match="backward of"):
            mt.grad((g * F.sqrt(x)).sum(), x)  # d sqrt(x) at 0 is inf


def test_a_deliberate_minus_inf_mask_is_not_an_anomaly():
    x = mt.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    with mt.detect_anomaly():
        p = F.softmax(F.masked_fill(x, x > 2.5, -np.inf), dim=-1)
        p.sum().backward()
    assert np.isfinite(grad_values(x)).all()
    with pytest.raises(mt.AnomalyError, match="forward of Exp produced inf"):
        with mt.detect_anomaly():
            F.exp(x * 1000.0)  # an overflow is


def test_a_nan_that_came_in_is_reported_as_received():
    x = mt.tensor([1.0, np.nan], requires_grad=True)
    with pytest.raises(mt.AnomalyError, match=r"forward of Mul received nan in input 0 .*outside minitf's ops"):
        with mt.detect_anomaly():
            x * 2.0


def test_anomaly_mode_off_checks_nothing():
    registered = autograd._hooks
    x = mt.tensor([-1.0], requires_grad=True)
    y = F.log(x)  # NaN, silently, as without anomaly mode in PyTorch
    assert np.isnan(y.item())
    assert autograd._hooks == registered


def test_profile_counts_calls_per_op_and_direction(device):
    x = device_tensor(np.ones((4, 4)), device)
    with mt.profile() as prof:
        for _ in range(3):
            y = (F.tanh(x @ x) * x).sum()
            y.backward()
    got = {(s.name, s.direction): s.calls for s in prof.stats}
    assert got == {(op, d): 3 for op in ("MatMul", "Tanh", "Mul", "Sum") for d in ("forward", "backward")}
    assert [s.seconds for s in prof.stats] == sorted((s.seconds for s in prof.stats), reverse=True)
    assert 0 < prof.total_seconds <= prof.wall_seconds
    table = prof.table()
    assert table == str(prof)
    header, *rows, footer = table.splitlines()
    assert header.split() == ["op", "direction", "calls", "total", "ms", "mean", "us", "share"]
    assert len(rows) == 8 and footer.startswith("ops total")
    shares = [float(r.split()[-1].rstrip("%")) for r in rows]
    assert abs(sum(shares) - 100) < 0.5
    assert len(prof.table(top=2).splitlines()) == 4


def test_profile_and_anomaly_together_and_nothing_recorded_outside():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    with mt.profile() as prof, mt.detect_anomaly():
        (x * x).sum().backward()
    (x * x).sum().backward()  # after the block: not counted
    assert {(s.name, s.direction): s.calls for s in prof.stats} == {
        ("Mul", "forward"): 1, ("Mul", "backward"): 1, ("Sum", "forward"): 1, ("Sum", "backward"): 1}


def test_debug_tools_do_not_change_results():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5))
    grads = []
    for ctx in (None, mt.profile, mt.detect_anomaly):
        x = mt.tensor(a, dtype="float64", requires_grad=True)
        if ctx is None:
            F.layer_norm(F.gelu(x)).sum().backward()
        else:
            with ctx():
                F.layer_norm(F.gelu(x)).sum().backward()
        grads.append(grad_values(x))
    assert all(np.array_equal(grads[0], g) for g in grads[1:])


@pytest.mark.parametrize("name", sorted(OPS))
def test_the_hooked_walk_gives_the_plain_gradients_bit_for_bit(name):
    # a debug tool sends backward() through the general walk; it must compute the same thing
    grads = []
    for tool in (None, mt.profile):
        rng = np.random.default_rng(0)
        x, w, b = (mt.tensor(rng.standard_normal(s), dtype="float64", requires_grad=True)
                   for s in ((3, 4), (4,), (4,)))
        with tool() if tool else contextlib.nullcontext():
            y = OPS[name](x, w, b, "cpu")
            y.backward(mt.tensor(np.random.default_rng(1).standard_normal(y.shape), dtype="float64"))
        grads.append([None if t.grad is None else grad_values(t) for t in (x, w, b)])
    for plain, hooked in zip(*grads):
        assert (plain is None) == (hooked is None)
        if plain is not None:
            assert np.array_equal(plain, hooked)
