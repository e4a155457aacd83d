"""nn.TransformerEncoderLayer / DecoderLayer / Encoder / Decoder / Transformer against torch 2.13:
a torch state dict loads (strict) and, in float64 eval mode, outputs and the gradients of every
parameter and input equal torch's for each layout (batch_first, norm_first), with bool and float
masks and key padding masks, fully masked rows included; gradcheck of a layer; the fake device."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn

from .conftest import gradcheck_module

E, H, FF = 8, 2, 12
S, T, N = 5, 4, 3


def _torch_modules(torch, kind, cfg, seed=0):
    torch.manual_seed(seed)
    kw = dict(dim_feedforward=FF, dropout=0.1, **cfg)
    if kind == "encoder":
        ref = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **kw), 2,
                                          norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
        ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **kw), 2, norm=nn.LayerNorm(E))
    elif kind == "decoder":
        ref = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, **kw), 2)
        ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, **kw), 2)
    else:
        ref = torch.nn.Transformer(E, H, 2, 2, **kw)
        ours = nn.Transformer(E, H, 2, 2, **kw)
    ref = ref.double().eval()
    # torch's state dict, float64 torch tensors, strict
    ours.double().load_state_dict(ref.state_dict())
    ours.eval()
    return ref, ours


def _both(torch, a, requires_grad=False):
    if a is None:
        return None, None
    ta = torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
    return mt.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"), ta


def _layout(x, batch_first):
    """(L, N, E) arrays -> the module's layout."""
    return np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x


def _compare(torch, ref, ours, args, kwargs, rtol=1e-10, atol=1e-10):
    """Run both with the same arrays; compare outputs, the gradients of a random cotangent with respect
    to every float input and every parameter."""
    mt_args, t_args = zip(*[_both(torch, a, requires_grad=True) for a in args])
    mt_kw, t_kw = {}, {}
    for k, v in kwargs.items():
        mt_kw[k], t_kw[k] = _both(torch, v) if isinstance(v, np.ndarray) else (v, v)
    out, out_t = ours(*mt_args, **mt_kw), ref(*t_args, **t_kw)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=rtol, atol=atol)
    u = np.random.default_rng(7).standard_normal(out.shape)
    (out * mt.tensor(u)).sum().backward()
    (out_t * torch.tensor(u)).sum().backward()
    for x, xt in zip(mt_args, t_args):
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)
    return out


def _masks(rng, kind, L, K):
    """A (L, K) boolean mask with at least one allowed key per row, and the same as a float mask."""
    b = rng.random((L, K)) < 0.4
    b[np.arange(L), rng.integers(0, K, L)] = False
    # "float": an additive mask of ordinary numbers (-8 where the bool is True, plus noise); a huge
    # value such as -1e9 would leave only the 1e-7 absolute resolution of float64 at 1e9 to the scores
    f = np.where(b, -np.inf, 0.0) if kind == "float-inf" else np.where(b, -8.0, 0.0) + rng.standard_normal((L, K))
    return b if kind == "bool" else f


def _kpm(rng, n, K, full_row=False):
    m = np.zeros((n, K), dtype=bool)
    m[0, -2:] = True
    m[1, -1] = True
    if full_row:
        m[2] = True       # batch element 2: every key padded
    return m


# torch's nested-tensor fast-path notice for batch_first=False encoders (nothing of minitf's)
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")

LAYOUTS = [dict(batch_first=bf, norm_first=nf) for bf in (False, True) for nf in (False, True)]


def test_state_dict_keys_and_shapes_are_torchs():
    torch = pytest.importorskip("torch")
    for kind in ("encoder", "decoder", "transformer"):
        ref, ours = _torch_modules(torch, kind, {})
        sd, sd_t = ours.state_dict(), ref.state_dict()
        assert list(sd) == list(sd_t)
        assert all(tuple(sd[k].shape) == tuple(sd_t[k].shape) for k in sd)
        # and back: minitf's state dict loads into torch (strict)
        ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    assert len(nn.Transformer(E, H, 1, 1, FF, bias=False).state_dict()) == \
        len(torch.nn.Transformer(E, H, 1, 1, FF, bias=False).state_dict())


@pytest.mark.parametrize("cfg", LAYOUTS, ids=lambda c: f"bf{int(c['batch_first'])}-nf{int(c['norm_first'])}")
@pytest.mark.parametrize("mask", ["none", "bool", "float-inf", "float"])
def test_encoder_matches_torch(cfg, mask):
    torch = pytest.importorskip("torch")
    ref, ours = _torch_modules(torch, "encoder", cfg)
    rng = np.random.default_rng(1)
    src = _layout(rng.standard_normal((S, N, E)), cfg["batch_first"])
    kw = {}
    if mask != "none":
        kw["mask"] = _masks(rng, mask, S, S)
        kpm = _kpm(rng, N, S)
        kw["src_key_padding_mask"] = kpm if mask == "bool" else np.where(kpm, -np.inf, 0.0)
    _compare(torch, ref, ours, [src], kw)


@pytest.mark.parametrize("cfg", LAYOUTS, ids=lambda c: f"bf{int(c['batch_first'])}-nf{int(c['norm_first'])}")
@pytest.mark.parametrize("mask", ["none", "bool", "float"])
def test_decoder_matches_torch(cfg, mask):
    torch = pytest.importorskip("torch")
    ref, ours = _torch_modules(torch, "decoder", cfg)
    rng = np.random.default_rng(2)
    bf = cfg["batch_first"]
    tgt, mem = _layout(rng.standard_normal((T, N, E)), bf), _layout(rng.standard_normal((S, N, E)), bf)
    kw = {}
    if mask != "none":
        kw = dict(tgt_mask=_masks(rng, mask, T, T), memory_mask=_masks(rng, mask, T, S))
        kt, km = _kpm(rng, N, T), _kpm(rng, N, S)
        kw["tgt_key_padding_mask"] = kt if mask == "bool" else np.where(kt, -np.inf, 0.0)
        kw["memory_key_padding_mask"] = km if mask == "bool" else np.where(km, -np.inf, 0.0)
    _compare(torch, ref, ours, [tgt, mem], kw)


@pytest.mark.parametrize("cfg", LAYOUTS, ids=lambda c: f"bf{int(c['batch_first'])}-nf{int(c['norm_first'])}")
def test_transformer_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    ref, ours = _torch_modules(torch, "transformer", cfg)
    rng = np.random.default_rng(3)
    bf = cfg["batch_first"]
    src, tgt = _layout(rng.standard_normal((S, N, E)), bf), _layout(rng.standard_normal((T, N, E)), bf)
    causal = nn.Transformer.generate_square_subsequent_mask(T, dtype="float64").numpy()
    kw = dict(src_mask=_masks(rng, "bool", S, S), tgt_mask=causal == -np.inf, memory_mask=_masks(rng, "bool", T, S),
              src_key_padding_mask=_kpm(rng, N, S), tgt_key_padding_mask=_kpm(rng, N, T),
              memory_key_padding_mask=_kpm(rng, N, S))
    _compare(torch, ref, ours, [src, tgt], kw)
    _compare(torch, ref, ours, [src, tgt], dict(tgt_mask=causal, tgt_is_causal=True))   # the hint, as torch's


def test_unbatched_and_options_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for cfg in (dict(activation="gelu", bias=False), dict(activation=torch.nn.functional.gelu, layer_norm_eps=1e-3),
                dict(activation="relu", norm_first=True)):
        torch.manual_seed(0)
        ref = torch.nn.TransformerDecoderLayer(E, H, FF, **cfg).double().eval()
        ours_cfg = dict(cfg, activation=mt.functional.gelu) if callable(cfg["activation"]) else cfg
        ours = nn.TransformerDecoderLayer(E, H, FF, **ours_cfg)
        ours.double().load_state_dict(ref.state_dict())
        ours.eval()
        tgt, mem = rng.standard_normal((T, E)), rng.standard_normal((S, E))   # unbatched
        _compare(torch, ref, ours, [tgt, mem], dict(tgt_mask=_masks(rng, "bool", T, T),
                                                    memory_key_padding_mask=np.array([0, 0, 1, 0, 1], bool)))


def test_module_activation_is_registered_as_torchs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoderLayer(E, H, FF, activation=torch.nn.PReLU()).double().eval()
    ours = nn.TransformerEncoderLayer(E, H, FF, activation=nn.PReLU())
    assert list(ours.state_dict()) == list(ref.state_dict())    # ... "activation.weight" last
    ours.double().load_state_dict(ref.state_dict())
    ours.eval()
    _compare(torch, ref, ours, [np.random.default_rng(5).standard_normal((S, N, E))], {})


@pytest.mark.parametrize("norm_first", [False, True])
def test_fully_masked_rows_match_torch(norm_first):
    # torch's autograd path: a query with every key masked attends to nothing (attention output 0),
    # so the layer output stays finite; minitf gives the same values and gradients
    torch = pytest.importorskip("torch")
    ref, ours = _torch_modules(torch, "transformer", dict(norm_first=norm_first))
    rng = np.random.default_rng(6)
    src, tgt = rng.standard_normal((S, N, E)), rng.standard_normal((T, N, E))
    tgt_mask = np.zeros((T, T), bool)
    tgt_mask[1] = True                     # query 1 of the target sees no key at all
    out = _compare(torch, ref, ours, [src, tgt],
                   dict(src_key_padding_mask=_kpm(rng, N, S, full_row=True), tgt_mask=tgt_mask,
                        memory_key_padding_mask=_kpm(rng, N, S, full_row=True)))
    assert np.isfinite(out.numpy()).all()


def test_causal_mask_and_its_detection_as_torchs():
    torch = pytest.importorskip("torch")
    m = nn.Transformer.generate_square_subsequent_mask(4)
    mt_ = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert m.dtype == "float32" and np.array_equal(m.numpy(), mt_.numpy())
    from minitf.nn.transformer import _detect_is_causal
    assert _detect_is_causal(m, None, 4) and _detect_is_causal(m.numpy() == -np.inf, None, 4)
    assert not _detect_is_causal(m, None, 3) and not _detect_is_causal(None, None, 4)
    assert not _detect_is_causal(m, False, 4) and _detect_is_causal(None, True, 4)
    # a causal src mask with is_causal=None: detected, the same values as torch
    ref, ours = _torch_modules(torch, "encoder", dict(batch_first=True))
    src = np.random.default_rng(8).standard_normal((N, S, E))
    _compare(torch, ref, ours, [src], dict(mask=nn.Transformer.generate_square_subsequent_mask(S, dtype="float64")
                                           .numpy()))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(ValueError, match="divisible"):
        nn.TransformerEncoderLayer(E, 3)
    with pytest.raises(ValueError, match="dropout"):
        nn.TransformerDecoderLayer(E, H, dropout=1.5)
    model = nn.Transformer(E, H, 1, 1, FF)
    with pytest.raises(ValueError, match="batch number of src and tgt"):
        model(mt.randn(S, 2, E), mt.randn(T, 3, E))
    with pytest.raises(ValueError, match="d_model=8"):
        model(mt.randn(S, 2, E), mt.randn(T, 2, 4))
    with pytest.raises(RuntimeError, match="is_causal"):
        nn.TransformerEncoderLayer(E, H, FF)(mt.randn(S, 2, E), is_causal=True)   # no mask: as torch


def test_dropout_only_in_training():
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.5)
    x = mt.randn(S, N, E)
    layer.eval()
    a, b = layer(x).numpy(), layer(x).numpy()
    assert np.array_equal(a, b)
    layer.train()
    assert not np.allclose(layer(x).numpy(), a)


def test_layer_gradcheck(device):
    mt.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True).to(device, "float64")
    x = mt.randn(3, 2, 4, dtype="float64", device=device, requires_grad=True)
    mask = mt.tensor([[False, True, False], [False, False, True], [False, False, False]], device=device)
    assert gradcheck_module(layer, [x], call=lambda x: layer(x, src_mask=mask))
    dec = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0).to(device, "float64")
    mem = mt.randn(3, 2, 4, dtype="float64", device=device, requires_grad=True)
    assert gradcheck_module(dec, [x, mem], call=lambda x, m: dec(x, m, memory_mask=mask))


def test_transformer_runs_on_device(device):
    model = nn.Transformer(E, H, 1, 1, FF, batch_first=True, device=device)
    src, tgt = mt.randn(2, S, E, device=device), mt.randn(2, T, E, device=device)
    out = model(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T, device=device),
                src_key_padding_mask=mt.tensor(np.arange(S) >= np.array([[S], [S - 2]]), device=device))
    assert out.shape == (2, T, E) and out.device == src.device
    out.sum().backward()
    assert all(p.grad is not None and p.grad.device == src.device for p in model.parameters())
