"""Round-4 review fixes (nan_to_num's arguments, ...), each against torch 2.13 where torch has
the behaviour."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import ArgumentTypeError

NAN_ARGS = [  # (kwargs on mt, the same on torch)
    ("nan", lambda m: m.tensor([1.0, 2.0])),
    ("nan", lambda m: m.tensor([3.0])),
    ("nan", lambda m: m.tensor(2.0, requires_grad=True)),
    ("posinf", lambda m: m.tensor([1.0, 2.0])),
    ("neginf", lambda m: "x"),
    ("posinf", lambda m: [1.0]),
    ("nan", lambda m: np.array([2.0, 3.0])),
    ("nan", lambda m: 1j),
]


@pytest.mark.parametrize("name, value", NAN_ARGS)
def test_nan_to_num_refuses_what_torch_refuses(name, value):
    torch = pytest.importorskip("torch")
    x = [float("nan"), 1.0, float("inf"), -float("inf")]
    with pytest.raises(TypeError) as te:
        torch.nan_to_num(torch.tensor(x), **{name: value(torch)})
    with pytest.raises(ArgumentTypeError) as me:
        mt.nan_to_num(mt.tensor(x), **{name: value(mt)})
    assert str(me.value) == str(te.value)
    with pytest.raises(ArgumentTypeError):
        mt.tensor(x).nan_to_num_(**{name: value(mt)})


@pytest.mark.parametrize("kw", [dict(nan=2), dict(nan=True, posinf=np.float64(5)), dict(neginf=-3.0),
                                dict(nan="tensor0d"), dict(posinf="tensor0d_int")])
def test_nan_to_num_takes_numbers_and_plain_0d_tensors_as_torch(kw, device):
    torch = pytest.importorskip("torch")
    x = [float("nan"), 1.0, float("inf"), -float("inf")]
    conv = {"tensor0d": lambda m: m.tensor(2.5), "tensor0d_int": lambda m: m.tensor(7)}
    got = mt.nan_to_num(mt.tensor(x, device=device), **{k: conv[v](mt) if v in conv else v for k, v in kw.items()})
    want = torch.nan_to_num(torch.tensor(x), **{k: conv[v](torch) if v in conv else v for k, v in kw.items()})
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_optim_never_imports_nn_swa_utils_included():
    # (review of round 3: swa_utils imported minitf.nn at its top, against ARCHITECTURE.md's layer
    # order; AveragedModel and update_bn live in minitf/nn/averaged.py, handed on when asked for)
    import subprocess
    import sys
    code = ("import sys\nimport minitf.optim, minitf.optim.swa_utils as su\nsu.SWALR, su.get_ema_multi_avg_fn\n"
            "print(' '.join(m for m in sys.modules if m.startswith('minitf.nn')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == []
    from minitf.nn.averaged import AveragedModel, update_bn
    from minitf.optim import swa_utils
    from minitf.optim.swa_utils import AveragedModel as A2, update_bn as u2
    assert (A2, u2) == (AveragedModel, update_bn) and {"AveragedModel", "update_bn"} <= set(dir(swa_utils))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        swa_utils.nothing
