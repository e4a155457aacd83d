"""torch's factory arguments of the layers (``device=``, ``dtype=``), ``nn.factory_kwargs``, layers
built under a default device (``set_default_device``, ``with mt.device(...)``) and ``to_empty``."""
import inspect

import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.models import GPT, GPTConfig, CharRNN, CharRNNConfig


def _x(*shape):
    return lambda device, dtype: mt.randn(*shape, device=device, dtype=dtype)


def _idx(high, *shape):
    return lambda device, dtype: mt.randint(0, high, shape, device=device)


# every layer of minitf.nn whose torch counterpart takes device / dtype (a test below checks that
# this is all of them): constructor arguments and the inputs of one forward
LAYERS = {
    "Linear": ((3, 4), {}, [_x(2, 3)]),
    "LinearCrossEntropyLoss": ((3, 4), {"bias": True}, [_x(2, 3), _idx(4, 2)]),
    "Bilinear": ((3, 2, 4), {}, [_x(2, 3), _x(2, 2)]),
    "Embedding": ((5, 3), {"padding_idx": 1}, [_idx(5, 2, 3)]),
    "EmbeddingBag": ((5, 3), {"mode": "sum"}, [_idx(5, 2, 3)]),
    "LayerNorm": ((4,), {}, [_x(2, 4)]),
    "RMSNorm": ((4,), {}, [_x(2, 4)]),
    "GroupNorm": ((2, 4), {}, [_x(2, 4, 3)]),
    "BatchNorm1d": ((3,), {}, [_x(4, 3)]),
    "BatchNorm2d": ((3,), {}, [_x(2, 3, 2, 2)]),
    "BatchNorm3d": ((3,), {}, [_x(2, 3, 2, 2, 2)]),
    "InstanceNorm1d": ((3,), {"affine": True, "track_running_stats": True}, [_x(2, 3, 4)]),
    "InstanceNorm2d": ((3,), {"affine": True, "track_running_stats": True}, [_x(2, 3, 2, 3)]),
    "InstanceNorm3d": ((3,), {"affine": True, "track_running_stats": True}, [_x(2, 3, 2, 2, 2)]),
    "Conv1d": ((2, 3, 3), {}, [_x(1, 2, 5)]),
    "Conv2d": ((2, 3, 3), {}, [_x(1, 2, 4, 4)]),
    "Conv3d": ((2, 3, 2), {}, [_x(1, 2, 3, 3, 3)]),
    "ConvTranspose1d": ((2, 3, 3), {}, [_x(1, 2, 4)]),
    "ConvTranspose2d": ((2, 3, 2), {}, [_x(1, 2, 3, 3)]),
    "ConvTranspose3d": ((2, 3, 2), {}, [_x(1, 2, 2, 2, 2)]),
    "LazyLinear": ((4,), {}, [_x(2, 3)]),
    "LazyConv1d": ((3, 3), {}, [_x(1, 2, 5)]),
    "LazyConv2d": ((3, 3), {}, [_x(1, 2, 4, 4)]),
    "LazyConv3d": ((3, 2), {}, [_x(1, 2, 3, 3, 3)]),
    "LazyConvTranspose1d": ((3, 3), {}, [_x(1, 2, 4)]),
    "LazyConvTranspose2d": ((3, 2), {}, [_x(1, 2, 3, 3)]),
    "LazyConvTranspose3d": ((3, 2), {}, [_x(1, 2, 2, 2, 2)]),
    "LazyBatchNorm1d": ((), {}, [_x(4, 3)]),
    "LazyBatchNorm2d": ((), {}, [_x(2, 3, 2, 2)]),
    "LazyBatchNorm3d": ((), {}, [_x(2, 3, 2, 2, 2)]),
    "LazyInstanceNorm1d": ((), {}, [_x(2, 3, 4)]),
    "LazyInstanceNorm2d": ((), {}, [_x(2, 3, 2, 3)]),
    "LazyInstanceNorm3d": ((), {}, [_x(2, 3, 2, 2, 2)]),
    "RNNCell": ((3, 4), {}, [_x(2, 3)]),
    "LSTMCell": ((3, 4), {}, [_x(2, 3)]),
    "GRUCell": ((3, 4), {}, [_x(2, 3)]),
    "RNN": ((3, 4), {"num_layers": 2, "bidirectional": True}, [_x(5, 2, 3)]),
    "LSTM": ((3, 4), {"proj_size": 2}, [_x(5, 2, 3)]),
    "GRU": ((3, 4), {}, [_x(5, 2, 3)]),
    "MultiheadAttention": ((4, 2), {"add_bias_kv": True, "kdim": 3, "vdim": 5},
                           [_x(3, 2, 4), _x(6, 2, 3), _x(6, 2, 5)]),
    "TransformerEncoderLayer": ((4, 2, 8, 0.0), {}, [_x(3, 2, 4)]),
    "TransformerDecoderLayer": ((4, 2, 8, 0.0), {}, [_x(3, 2, 4), _x(5, 2, 4)]),
    "Transformer": ((4, 2, 1, 1, 8, 0.0), {}, [_x(5, 2, 4), _x(3, 2, 4)]),
    "PReLU": ((3,), {}, [_x(2, 3, 2)]),
    "AdaptiveLogSoftmaxWithLoss": ((16, 6, [2, 4]), {}, [_x(3, 16), _idx(6, 3)]),
}
# minitf's own layers (no torch counterpart) take them too, as keywords
OWN_LAYERS = {
    "CausalSelfAttention": ((4, 2), {}, [_x(1, 3, 4)]),
    "FeedForward": ((4,), {}, [_x(1, 3, 4)]),
    "TransformerBlock": ((4, 2), {}, [_x(1, 3, 4)]),
}


def _torch_layer_classes():
    torch = pytest.importorskip("torch")
    names = [n for n in nn.__all__ if inspect.isclass(getattr(torch.nn, n, None))
             and issubclass(getattr(torch.nn, n), torch.nn.Module) and inspect.isclass(getattr(nn, n))]
    return torch, names


def _takes_factory_kwargs(cls) -> tuple:
    """Which of device / dtype ``cls(...)`` names, read off the signatures: that of the nearest
    ``__init__`` in the MRO, and past it only while it forwards ``**kwargs`` (torch's RNN, LSTM
    and GRU take ``*args, **kwargs`` and hand them to RNNBase)."""
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters
        named = tuple(k for k in ("device", "dtype") if k in params)
        if named or not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            assert all(params[k].default is None for k in named), (cls, named)
            return named
    return ()


@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_device_and_dtype_exactly_where_torch_has_them():
    torch, names = _torch_layer_classes()
    assert len(names) > 100    # the walk sees minitf.nn's layers, not an empty list
    theirs = {n: _takes_factory_kwargs(getattr(torch.nn, n)) for n in names}
    ours = {n: _takes_factory_kwargs(getattr(nn, n)) for n in names}
    assert {n: v for n, v in ours.items() if v != theirs[n]} == {}
    # and the table the device tests below build covers every one of them
    assert set(LAYERS) == {n for n, v in theirs.items() if v == ("device", "dtype")}
    with pytest.raises(TypeError):
        nn.ReLU(device="cpu")


def _check_tensors(m, device, dtype):
    tensors = list(m.named_parameters()) + list(m.named_buffers())
    assert tensors
    for name, t in tensors:
        assert t.device == device, name
        # floating ones in the layer's dtype; an integer buffer (num_batches_tracked) keeps int64
        assert t.dtype == (dtype if t.dtype.kind == "f" else np.int64), name
    return tensors


def _forward(name, m, inputs, device, dtype):
    args = [make(device, dtype) for make in inputs]
    out = m(*args)
    first = out[0] if isinstance(out, tuple) else out
    first = first[0] if isinstance(first, tuple) else first
    assert first.device == device and first.dtype == dtype, name


def _torch_state(name, args, kwargs, inputs):
    """torch's layer of the same arguments in float64: its state's names, shapes and dtypes."""
    torch = pytest.importorskip("torch")
    t = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    if name.startswith("Lazy"):
        t(*[torch.from_numpy(make("cpu", "float64").numpy()) for make in inputs])
    return {k: (tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in t.state_dict().items()}


@pytest.mark.parametrize("name", sorted(LAYERS) + sorted(OWN_LAYERS))
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_built_on_the_device_in_the_dtype(device, name):
    args, kwargs, inputs = {**LAYERS, **OWN_LAYERS}[name]
    m = getattr(nn, name)(*args, **kwargs, device=device, dtype=mt.float64)
    _check_tensors(m, device, np.float64)     # a lazy layer's placeholders too
    _forward(name, m, inputs, device, "float64")
    _check_tensors(m, device, np.float64)
    if name in LAYERS:   # the same state as torch's layer: names, shapes, dtypes
        ours = {k: (tuple(v.shape), str(v.dtype)) for k, v in m.state_dict().items()}
        assert ours == _torch_state(name, args, kwargs, inputs)


def _default_device_layers(device):
    with mt.device(device):
        built = {name: getattr(nn, name)(*args, **kwargs) for name, (args, kwargs, _) in {**LAYERS, **OWN_LAYERS}.items()}
    mt.set_default_device(device)
    try:
        built["GPT"] = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=4))
        built["CharRNN"] = CharRNN(CharRNNConfig(vocab_size=7, n_embd=4, n_layer=1))
        built["set_default_device Linear"] = nn.Linear(3, 4)
    finally:
        mt.set_default_device(None)
    return built


def test_layers_and_models_built_under_a_default_device(device):
    built = _default_device_layers(device)
    assert mt.get_default_device() == "cpu" and nn.Linear(2, 2).weight.device == "cpu"   # put back
    for name, m in built.items():
        _check_tensors(m, device, mt.get_default_dtype())
    for name, (_, _, inputs) in {**LAYERS, **OWN_LAYERS}.items():
        _forward(name, built[name], inputs, device, "float32")
    idx = mt.randint(0, 7, (2, 4), device=device)
    assert built["GPT"](idx).device == device and built["CharRNN"](idx).device == device
    # an explicit device wins over the default one
    with mt.device(device):
        assert nn.Linear(2, 2, device="cpu").weight.device == "cpu"


def test_factory_arguments_make_the_weights_a_cpu_build_moved_would_have():
    # nn.init draws on the host (minitf's design: the same seed, the same weights on every device):
    # a layer made on a device holds what the CPU one moved there holds; float64 is drawn in float64
    mt.manual_seed(0)
    moved = nn.Conv2d(2, 3, 3).to("fake")
    mt.manual_seed(0)
    made = nn.Conv2d(2, 3, 3, device="fake")
    np.testing.assert_array_equal(made.weight.numpy(), moved.weight.numpy())
    mt.manual_seed(0)
    wide = nn.Linear(5, 6, dtype="float64")
    mt.set_default_dtype(mt.float64)
    try:
        mt.manual_seed(0)
        default_wide = nn.Linear(5, 6)
    finally:
        mt.set_default_dtype(mt.float32)
    np.testing.assert_array_equal(wide.weight.numpy(), default_wide.weight.numpy())
    mt.manual_seed(0)
    narrow = nn.Linear(5, 6)
    assert not np.array_equal(wide.weight.numpy(), narrow.weight.numpy().astype(np.float64))   # not rounded


def test_factory_argument_errors():
    with pytest.raises(TypeError, match="floating point"):
        nn.Linear(2, 3, dtype="int64")
    # BatchNorm1d(affine=False, dtype=int32) is accepted, as torch's (tests/test_ops_batch_norm.py)
    nn.BatchNorm1d(3, affine=False, dtype=mt.int32)
    with pytest.raises(mt.DeviceError):
        nn.Linear(2, 3, device="tpu")


def test_factory_kwargs_as_torch():
    torch = pytest.importorskip("torch")
    cases = [None, {}, {"device": "cpu"}, {"dtype": "float64", "factory_kwargs": {"device": "cpu"}},
             {"memory_format": "m"}, {"factory_kwargs": {"anything": 1}}]
    for kw in cases:
        assert nn.factory_kwargs(kw) == torch.nn.factory_kwargs(kw)
    for kw in ({"foo": 1, "device": "cpu"}, {"dtype": 1, "factory_kwargs": {"dtype": 2}}):
        with pytest.raises(TypeError) as theirs:
            torch.nn.factory_kwargs(kw)
        with pytest.raises(TypeError) as ours:
            nn.factory_kwargs(kw)
        assert str(ours.value) == str(theirs.value)
    assert nn.Linear(2, 3, **nn.factory_kwargs({"dtype": "float64"})).weight.dtype == np.float64


def test_to_empty_keeps_or_moves_the_storage(device):
    m = nn.Sequential(nn.Linear(2, 3, device=device), nn.BatchNorm1d(3, device=device))
    w = m[0].weight
    assert m.to_empty(device=None) is m and m[0].weight is w
    assert all(t.device == device for t in list(m.parameters()) + list(m.buffers()))  # None: each its own
    m.to_empty(device="cpu")
    assert all(t.device == "cpu" for t in list(m.parameters()) + list(m.buffers()))
    assert m[1].num_batches_tracked.dtype == np.int64 and m[0].weight.shape == (3, 2)


def test_integer_dtype_refused_with_torchs_error_class():
    torch = pytest.importorskip("torch")
    for make in (lambda m, t: m.Linear(2, 3, dtype=t.int64), lambda m, t: m.Embedding(4, 2, dtype=t.int32),
                 lambda m, t: m.Parameter(t.tensor([1, 2]))):
        with pytest.raises(RuntimeError):
            make(torch.nn, torch)
        with pytest.raises(RuntimeError, match="floating point"):
            make(nn, mt)
    # without grad a Parameter holds any dtype, as torch's
    p = nn.Parameter(mt.tensor([1, 2]), requires_grad=False)
    assert p.dtype == np.int64 and not p.requires_grad
    assert torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False).dtype == torch.int64
