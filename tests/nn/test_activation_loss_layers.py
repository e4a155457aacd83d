"""The new activation, similarity and loss layers: each is its functional op with the layer's
arguments (values compared with torch.nn's module of the same name and arguments), gradchecks
through the layer on both devices, argument errors at construction."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn

from ..conftest import ATOL, RTOL, away_from_zero, device_tensor

rng = np.random.default_rng(0)
X = away_from_zero(rng.standard_normal((4, 6)))
T = rng.standard_normal((4, 6))
P, Q = 1 / (1 + np.exp(-X)), rng.random((4, 6))
LOGP = X - np.log(np.exp(X).sum(1, keepdims=True))

# name, args, kwargs, input arrays (the torch module takes the same arguments)
ONE_INPUT = [("LeakyReLU", (0.1,), {}), ("ELU", (), {"alpha": 0.7}), ("Softplus", (), {"beta": 2.0, "threshold": 4.0}),
             ("LogSigmoid", (), {}), ("GLU", (), {"dim": 1}), ("GLU", (0,), {})]
TWO_INPUTS = [("CosineSimilarity", (), {"dim": 1}, X, T), ("L1Loss", (), {"reduction": "sum"}, X, T),
              ("SmoothL1Loss", (), {"beta": 0.5}, X, T), ("HuberLoss", ("none", 0.5), {}, X, T),
              ("BCELoss", (), {"weight": rng.random(6)}, P, Q),
              ("BCEWithLogitsLoss", (), {"pos_weight": rng.random(6) + 0.5, "reduction": "sum"}, X, Q),
              ("KLDivLoss", (), {"reduction": "batchmean"}, LOGP, Q),
              ("KLDivLoss", (None, None, "sum"), {"log_target": True}, LOGP, np.log(Q))]


def _args(torch, args, kwargs):
    """The torch module's arguments: arrays as torch tensors."""
    return args, {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name, args, kwargs", ONE_INPUT)
def test_one_input_layers_match_torch_and_gradcheck(device, name, args, kwargs):
    layer = getattr(nn, name)(*args, **kwargs)
    x = device_tensor(X, device)
    assert mt.gradcheck(layer, [x], rtol=RTOL, atol=ATOL)
    if device == "cpu":
        torch = pytest.importorskip("torch")
        a, k = _args(torch, args, kwargs)
        ref = getattr(torch.nn, name)(*a, **k)(torch.tensor(X)).numpy()
        np.testing.assert_allclose(layer(x).numpy(), ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, args, kwargs, a, b", TWO_INPUTS)
def test_two_input_layers_match_torch_and_gradcheck(device, name, args, kwargs, a, b):
    kw = {k: mt.tensor(v, device=device) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    layer = getattr(nn, name)(*args, **kw)
    xa, xb = device_tensor(a, device), device_tensor(b, device)
    assert mt.gradcheck(layer, [xa, xb], rtol=RTOL, atol=ATOL)
    if device == "cpu":
        torch = pytest.importorskip("torch")
        ta, tk = _args(torch, args, kwargs)
        ref = getattr(torch.nn, name)(*ta, **tk)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_allclose(layer(xa, xb).numpy(), ref, rtol=1e-12, atol=1e-14)


def test_legacy_size_average_and_reduce_map_to_reduction_as_torch():
    for kw, reduction in [({"reduce": False}, "none"), ({"size_average": False}, "sum"),
                          ({"size_average": True}, "mean")]:
        with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
            assert nn.L1Loss(**kw).reduction == reduction
        with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
            y = mt.functional.smooth_l1_loss(mt.tensor(X), mt.tensor(T), **kw)
        assert y.shape == (() if reduction != "none" else X.shape)


def test_loss_weights_follow_the_input_dtype():
    layer = nn.BCEWithLogitsLoss(weight=np.ones(6), pos_weight=np.full(6, 2.0))
    y = layer(mt.tensor(X, dtype="float32"), mt.tensor(Q, dtype="float32"))
    assert y.dtype == np.float32


def test_bad_arguments_raise_at_construction():
    for make, match in [(lambda: nn.L1Loss(reduction="avg"), "L1Loss: reduction must be 'mean', 'sum', 'none'"),
                        (lambda: nn.KLDivLoss(reduction="avg"), "KLDivLoss: reduction must be 'mean', 'batchmean'"),
                        (lambda: nn.HuberLoss(delta=0), "HuberLoss: delta must be > 0"),
                        (lambda: nn.SmoothL1Loss(beta=-1), "SmoothL1Loss: beta must be >= 0"),
                        (lambda: nn.Softplus(beta=0), "Softplus: beta must be non-zero")]:
        with pytest.raises(ValueError, match=match):
            make()


def test_reprs_show_the_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss()"      # torch prints no loss arguments
        assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
        assert repr(nn.CosineSimilarity()) == "CosineSimilarity(dim=1, eps=1e-08)"


def test_loss_weights_are_buffers_with_torch_state_dict_names():
    torch = pytest.importorskip("torch")
    w, pw = np.arange(1.0, 7.0), np.full(6, 2.0)
    for ours, theirs in [(nn.CrossEntropyLoss(weight=w), torch.nn.CrossEntropyLoss(weight=torch.tensor(w))),
                         (nn.NLLLoss(weight=w), torch.nn.NLLLoss(weight=torch.tensor(w))),
                         (nn.BCELoss(weight=w), torch.nn.BCELoss(weight=torch.tensor(w))),
                         (nn.BCEWithLogitsLoss(weight=w, pos_weight=pw),
                          torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw))),
                         (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss())]:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict(theirs.state_dict())
    moved = nn.BCEWithLogitsLoss(weight=w, pos_weight=pw).to("fake")
    assert moved.weight.device == "fake" and moved.pos_weight.device == "fake"
