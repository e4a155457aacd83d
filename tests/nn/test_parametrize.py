"""nn.utils.parametrize against torch 2.13: the class swap, state-dict keys, chains, right_inverse,
several originals, removal both ways, cached(), errors; gradchecks through a parametrisation."""
import copy

import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.nn.utils import parametrize as P

from .conftest import gradcheck_module
from .torch_steps import compare_steps


def _parts(lib_nn, tensor):
    """The test parametrisations, built on minitf's nn or torch's (the same code for both)."""

    class Symmetric(lib_nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    class Scale(lib_nn.Module):
        """Has a parameter of its own (in the state dict under parametrizations.weight.<i>.s)."""

        def __init__(self):
            super().__init__()
            self.s = lib_nn.Parameter(tensor([2.0]))

        def forward(self, X):
            return X * self.s

    class Split(lib_nn.Module):
        """right_inverse into two tensors: original0 + original1 = X."""

        def forward(self, a, b):
            return a + b

        def right_inverse(self, X):
            return 0.25 * X, 0.75 * X
    return Symmetric, Scale, Split


Symmetric, Scale, Split = _parts(nn, mt.tensor)


def _torch_parts(torch):
    return _parts(torch.nn, torch.tensor)


def _pair(torch, n=4, dtype="float32"):
    m = nn.Linear(n, n).to(dtype=dtype)
    t = torch.nn.Linear(n, n).to(getattr(torch, dtype))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, t


def _to_torch(torch, sd):
    return {k: torch.tensor(v.numpy()) for k, v in sd.items()}


def test_chain_matches_torch_keys_values_grads_and_steps():
    torch = pytest.importorskip("torch")
    TSym, TScale, TSplit = _torch_parts(torch)
    m, t = _pair(torch, dtype="float64")
    P.register_parametrization(m, "weight", Symmetric())
    P.register_parametrization(m, "weight", Scale().double())
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TSym())
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TScale().double())
    assert type(m).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert list(m.state_dict()) == list(t.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.1.s"]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    np.testing.assert_allclose(m.parametrizations.weight.original.numpy(),
                               t.parametrizations.weight.original.detach().numpy())   # right_inverse: triu
    x = np.random.default_rng(0).standard_normal((5, 4))
    compare_steps(torch, m, t, x, lr=0.1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = m.weight.numpy()
    np.testing.assert_allclose(w, w.T * 1, rtol=0, atol=0)   # still symmetric (times s on both sides)
    # the state dict loads into the other library's module and back
    m2, _ = _pair(torch, dtype="float64")
    P.register_parametrization(m2, "weight", Symmetric())
    P.register_parametrization(m2, "weight", Scale().double())
    m2.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    np.testing.assert_allclose(m2.weight.numpy(), t.weight.detach().numpy(), rtol=1e-6)
    t.load_state_dict(_to_torch(torch, m.state_dict()))
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), rtol=1e-6)


def test_assignment_goes_through_right_inverse_and_keeps_the_original_object():
    torch = pytest.importorskip("torch")
    TSym, _, _ = _torch_parts(torch)
    m, t = _pair(torch)
    P.register_parametrization(m, "weight", Symmetric())
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TSym())
    orig = m.parametrizations.weight.original
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    m.weight = mt.tensor(a)
    with torch.no_grad():
        t.weight = torch.tensor(a)
    assert m.parametrizations.weight.original is orig
    np.testing.assert_array_equal(orig.numpy(), t.parametrizations.weight.original.detach().numpy())
    np.testing.assert_array_equal(m.weight.numpy(), t.weight.detach().numpy())
    with pytest.raises(KeyError, match="already exists"):
        m.weight = nn.Parameter(mt.zeros(4, 4))


def test_several_originals_and_removal_both_ways():
    torch = pytest.importorskip("torch")
    _, _, TSplit = _torch_parts(torch)
    m, t = _pair(torch)
    w0 = m.weight.numpy().copy()
    P.register_parametrization(m, "weight", Split())
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TSplit())
    assert list(m.state_dict()) == list(t.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    for k in ("original0", "original1"):
        got = getattr(m.parametrizations.weight, k)
        assert isinstance(got, nn.Parameter) and got.requires_grad
        np.testing.assert_allclose(got.numpy(), getattr(t.parametrizations.weight, k).detach().numpy())
    np.testing.assert_allclose(m.weight.numpy(), w0, rtol=1e-6)
    with pytest.raises(ValueError, match="sequence of tensors"):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
    P.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and not hasattr(m, "parametrizations")
    assert isinstance(m.weight, nn.Parameter) and list(m.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(m.weight.numpy(), w0, rtol=1e-6)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_one_tensor_keeps_the_parameter_object(leave):
    m = nn.Linear(3, 3)
    p = m.weight
    raw = p.numpy().copy()
    P.register_parametrization(m, "weight", Symmetric())   # original = triu(raw)
    P.register_parametrization(m, "bias", Scale(), unsafe=True)
    assert P.is_parametrized(m) and P.is_parametrized(m, "bias") and not P.is_parametrized(m, "x")
    value = m.weight.numpy()
    P.remove_parametrizations(m, "weight", leave_parametrized=leave)
    assert m.weight is p and P.type_before_parametrizations(m) is nn.Linear
    np.testing.assert_allclose(p.numpy(), value if leave else np.triu(raw), rtol=1e-6)
    assert type(m).__name__ == "ParametrizedLinear"   # bias still parametrised
    P.remove_parametrizations(m, "bias")
    assert type(m) is nn.Linear and P.type_before_parametrizations(m) is nn.Linear
    assert list(m.state_dict()) == ["weight", "bias"]


def test_cached_evaluates_once_per_block():
    calls = []

    class Count(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1.0
    m = nn.Linear(2, 2)
    P.register_parametrization(m, "weight", Count())
    calls.clear()
    with P.cached():
        a, b = m.weight, m.weight
        with P.cached():   # nested: still the same cache
            c = m.weight
    assert a is b is c and len(calls) == 1
    m.weight, m.weight
    assert len(calls) == 3


def test_errors_with_torch_meaning():
    m = nn.Linear(3, 2)

    class Shape(nn.Module):
        def forward(self, X):
            return X[:1]

    class Dtype(nn.Module):
        def forward(self, X):
            return X.double()

    class NotTensor(nn.Module):
        def forward(self, X):
            return 1.0
    with pytest.raises(ValueError, match="shape"):
        P.register_parametrization(m, "weight", Shape())
    with pytest.raises(ValueError, match="dtype"):
        P.register_parametrization(m, "weight", Dtype())
    with pytest.raises(ValueError, match="must return a tensor"):
        P.register_parametrization(m, "weight", NotTensor())
    assert type(m) is nn.Linear and isinstance(m.weight, nn.Parameter)   # nothing changed
    P.register_parametrization(m, "weight", Shape(), unsafe=True)
    assert m.weight.shape == (1, 3)
    with pytest.raises(ValueError, match="no parameter, buffer"):
        P.register_parametrization(m, "nope", Scale())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        P.remove_parametrizations(m, "bias")
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = mt.zeros(1, 3)
    with pytest.raises(TypeError, match="nn.Module"):
        P.register_parametrization(m, "bias", lambda x: x)


def test_buffer_parametrised_and_modes_follow_the_module():
    m = nn.Linear(2, 2)
    m.register_buffer("mask", mt.ones(2, 2))
    m.eval()
    s = Scale()
    P.register_parametrization(m, "mask", s)
    assert not s.training
    assert "parametrizations.mask.original" in m.state_dict()
    assert [n for n, _ in m.named_buffers()] == ["parametrizations.mask.original"]
    np.testing.assert_array_equal(m.mask.numpy(), np.full((2, 2), 2.0))


def test_deepcopy_gets_its_own_class_and_pickle_is_refused():
    import pickle
    m = nn.Linear(3, 3)
    P.register_parametrization(m, "weight", Symmetric())
    c = copy.deepcopy(m)
    assert type(c) is not type(m) and type(c).__name__ == "ParametrizedLinear"
    assert c.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_array_equal(c.weight.numpy(), m.weight.numpy())
    P.remove_parametrizations(c, "weight")
    np.testing.assert_array_equal(m.weight.numpy(), m.weight.numpy().T)   # the original still parametrised
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(m)


def test_transfer_shares_parametrisations_and_originals():
    torch = pytest.importorskip("torch")
    TSym, _, _ = _torch_parts(torch)
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    P.register_parametrization(a, "weight", Symmetric())
    P.transfer_parametrizations_and_params(a, b)
    assert b.parametrizations.weight.original is a.parametrizations.weight.original
    np.testing.assert_array_equal(b.weight.numpy(), a.weight.numpy())
    ta, tb = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    torch.nn.utils.parametrize.register_parametrization(ta, "weight", TSym())
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(ta, tb)
    assert list(b.state_dict()) == list(tb.state_dict())


def test_gradcheck_through_parametrisations_float64(device):
    m = nn.Linear(3, 3).to(device, "float64")
    P.register_parametrization(m, "weight", Symmetric())
    P.register_parametrization(m, "weight", Scale().to(device, "float64"))
    P.register_parametrization(m, "bias", Scale().to(device, "float64"))
    x = mt.tensor(np.random.default_rng(1).standard_normal((4, 3)), device=device, requires_grad=True)
    assert gradcheck_module(m, [x])
    m2 = nn.Linear(3, 2).to(device, "float64")
    P.register_parametrization(m2, "weight", Split())
    assert gradcheck_module(m2, [x])
    assert m2.weight.device == device


def test_imported_on_first_use_and_the_function_names_stay_functions():
    import subprocess
    import sys
    code = ("import sys, minitf; from minitf import nn\n"
            "mods = ('parametrize', 'parametrizations', 'weight_norm_hook', 'spectral_norm_hook')\n"
            "assert not [m for m in mods if 'minitf.nn.utils.' + m in sys.modules]\n"
            "import minitf.nn.utils.parametrizations\n"   # (it imports weight_norm_hook)
            "assert callable(nn.utils.weight_norm) and callable(nn.utils.spectral_norm)\n"
            "assert nn.utils.parametrize.is_parametrized(nn.Linear(1, 1)) is False\n"
            "assert 'parametrize' in dir(nn.utils)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
