"""torch names users reach for, against torch 2.13: the type objects (mt.dtype, mt.layout / mt.strided,
mt.memory_format and its formats), the kind predicates, Tensor.output_nr and as_subclass,
mt.random.fork_rng, mt.autograd.Variable and set_multithreading_enabled, the deprecated
mt.testing.assert_allclose and mt.func.stack_module_state."""
import threading
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn

torch = pytest.importorskip("torch")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64",
          "complex128"]


def test_dtype_is_the_class_of_every_dtype_as_torchs():
    for name in DTYPES:
        for lib in (mt, torch):
            d = getattr(lib, name)
            assert isinstance(d, lib.dtype) and isinstance(lib.zeros(1, dtype=d).dtype, lib.dtype)
    for lib in (mt, torch):
        assert not isinstance("float32", lib.dtype) and not isinstance(np.float32, lib.dtype)
        with pytest.raises(TypeError, match="cannot create"):
            lib.dtype()
    assert issubclass(type(mt.float32), mt.dtype)


def test_layout_and_the_kind_predicates_as_torchs():
    for lib in (mt, torch):
        x = lib.ones(2, 3)
        assert x.layout is lib.strided and isinstance(lib.strided, lib.layout)
        assert repr(lib.strided) == f"{lib.__name__}.strided"
        assert (x.is_sparse, x.is_meta, x.is_quantized, x.is_nested, x.is_mkldnn) == (False,) * 5
        with pytest.raises(TypeError, match="cannot create"):
            lib.layout()
        with pytest.raises(TypeError, match="cannot create"):
            lib.memory_format()
        assert [repr(f) for f in (lib.contiguous_format, lib.preserve_format, lib.channels_last,
                                  lib.channels_last_3d)] == [f"{lib.__name__}.{n}" for n in (
            "contiguous_format", "preserve_format", "channels_last", "channels_last_3d")]


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 1, 4, 5), (2, 3, 4, 5, 2), (3, 4), (1, 3, 1, 1)])
def test_memory_formats_read_and_make_strides_as_torchs(shape):
    a = np.random.default_rng(0).standard_normal(shape)
    for fmt in ("contiguous_format", "channels_last", "channels_last_3d"):
        got = []
        for lib in (mt, torch):
            x = lib.tensor(a)
            f = getattr(lib, fmt)
            try:
                y = x.contiguous(memory_format=f)
            except RuntimeError as e:
                got.append(("error", str(e).split(" format")[0]))
                continue
            np.testing.assert_array_equal(y.numpy(), a)
            got.append((y.stride(), y.is_contiguous(), [y.is_contiguous(memory_format=getattr(lib, g))
                                                       for g in ("contiguous_format", "channels_last",
                                                                 "channels_last_3d")]))
        assert got[0] == got[1], (fmt, got)
    with pytest.raises(TypeError, match="memory_format"):
        mt.ones(2).contiguous(memory_format=3)


def test_a_channels_last_copy_is_differentiable(device):
    x = mt.tensor(np.random.default_rng(1).standard_normal((2, 3, 2, 2)), dtype="float64", device=device,
                  requires_grad=True)
    assert mt.gradcheck(lambda t: t.contiguous(memory_format=mt.channels_last) * 2, [x])


class _TwoOut:
    @staticmethod
    def make(lib):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2, a * 3

            @staticmethod
            def backward(ctx, g1, g2):
                return g1 * 2 + g2 * 3
        return F


def test_output_nr_as_torchs():
    for lib in (mt, torch):
        a = lib.ones(2, requires_grad=True)
        p, q = _TwoOut.make(lib).apply(a)
        assert (a.output_nr, (a * 2).output_nr, p.output_nr, q.output_nr, lib.ones(2).output_nr) == (0, 0, 0, 1, 0)


def test_as_subclass_as_torchs():
    results = []
    for lib in (mt, torch):
        class Sub(lib.Tensor):
            pass
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        y = a.as_subclass(Sub)
        (y * y).sum().backward()
        plain = lib.tensor([1.0, 2.0])
        z = plain.as_subclass(Sub)
        z[0] = 7.0          # the data is shared
        results.append((type(y) is Sub, y.requires_grad, y.is_leaf, y.grad_fn.name(), a.grad.tolist(),
                        plain.tolist(), z.requires_grad))
        with pytest.raises(TypeError, match="does not inherit from Tensor"):
            a.as_subclass(int)
    assert results[0] == results[1]
    assert results[0][:3] == (True, True, False) and results[0][4] == [2.0, 4.0]


def test_fork_rng_restores_the_streams_as_torchs():
    def draws(lib, inside):
        lib.manual_seed(3)
        before = lib.rand(2).tolist()
        with lib.random.fork_rng():
            inside(lib)
        return before, lib.rand(3).tolist()
    for inside in (lambda lib: lib.rand(5), lambda lib: lib.manual_seed(99), lambda lib: None):
        for lib in (mt, torch):
            before, after = draws(lib, inside)
            lib.manual_seed(3)
            lib.rand(2)
            assert after == lib.rand(3).tolist()   # as if nothing was drawn inside
    mt.manual_seed(3)
    with mt.random.fork_rng(enabled=False):
        mt.rand(5)
    off = mt.rand(3).tolist()
    mt.manual_seed(3)
    mt.rand(5)
    assert off == mt.rand(3).tolist()
    # devices=[]: only the CPU's stream is forked (the fake device stands for a GPU)
    mt.manual_seed(4)
    mt.rand(1, device="fake")
    with mt.random.fork_rng(devices=[]):
        cpu_inside, fake_inside = mt.rand(2).tolist(), mt.rand(2, device="fake").tolist()
    assert mt.rand(2).tolist() == cpu_inside and mt.rand(2, device="fake").tolist() != fake_inside
    with mt.random.fork_rng():
        fake_again = mt.rand(2, device="fake").tolist()
    assert mt.rand(2, device="fake").tolist() == fake_again


def test_variable_as_torchs():
    for lib in (mt, torch):
        Variable = lib.autograd.Variable
        t = lib.ones(2)
        v = Variable(t, requires_grad=True)
        assert type(v) is lib.Tensor and v.requires_grad and v.is_leaf and v is not t
        t.add_(1)
        assert v.tolist() == [2.0, 2.0] and v._version == t._version == 1   # data and counter shared
        assert isinstance(lib.ones(1), Variable) and isinstance(lib.nn.Parameter(lib.ones(1)), Variable)
        assert not isinstance(np.ones(1), Variable)
        assert not Variable(t * 2).requires_grad and Variable(t * 2).grad_fn is None
        assert Variable().shape == (0,)
        with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
            Variable(5)
        with pytest.raises(RuntimeError, match="floating point"):
            Variable(lib.ones(2, dtype=lib.int64), requires_grad=True)
        with pytest.warns(UserWarning, match="volatile was removed"):
            Variable(t, volatile=True)
        order = []
        x = lib.ones(2, requires_grad=True)
        x.register_hook(lambda g: Variable._execution_engine.queue_callback(lambda: order.append("callback"))
                        or order.append("hook"))
        (x * 2).sum().backward()
        assert order == ["hook", "callback"]


def test_set_multithreading_enabled_as_torchs():
    read = {mt: mt.autograd.is_multithreading_enabled, torch: torch._C._is_multithreading_enabled}
    for lib in (mt, torch):
        switch, now = lib.autograd.set_multithreading_enabled, read[lib]
        assert now()
        with switch(False):
            assert not now()
            seen = []
            t = threading.Thread(target=lambda: seen.append(now()))   # per thread
            t.start()
            t.join()
            assert seen == [True]
        assert now()
        switch(False)
        assert not now()
        switch(True)

        @switch(False)   # (torch's decorator leaves the mode switched from decoration on: so does minitf's)
        def inside():
            return now()
        assert (now(), inside(), now()) == (False, False, False)
        switch(True)
        x = lib.ones(2, requires_grad=True)
        with switch(False):
            (x * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]


def test_assert_allclose_is_deprecated_and_uses_its_own_tolerances_as_torchs():
    for lib in (mt, torch):
        check = lib.testing.assert_allclose
        with pytest.warns(FutureWarning, match="deprecated"):
            check(lib.ones(3), lib.ones(3) + 5e-5)      # float32 rtol 1e-4: within (assert_close's 1.3e-6: not)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            with pytest.raises(AssertionError):
                lib.testing.assert_close(lib.ones(3), lib.ones(3) + 5e-5)
            with pytest.raises(AssertionError):
                check(lib.ones(3), lib.ones(3) + 1e-3)
            check(lib.ones(2, dtype=lib.float64), [1.0, 1.0 + 5e-6])      # expected made of actual's dtype
            check(lib.ones(2), lib.ones(2, dtype=lib.float64))          # dtypes not checked
            check(lib.tensor([float("nan")]), lib.tensor([float("nan")]))   # NaNs equal by default
            with pytest.raises(AssertionError):
                check(lib.tensor([float("nan")]), lib.tensor([float("nan")]), equal_nan=False)
            with pytest.raises(AssertionError, match="mine"):
                check(lib.ones(2), lib.zeros(2), msg="mine")
            with pytest.raises(AssertionError):
                check(lib.tensor([1, 2]), lib.tensor([1, 3]))            # integers exact


def test_stack_module_state_as_torchs():
    out = {}
    for lib in (mt, torch):
        lib.manual_seed(0)
        models = [lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4)) for _ in range(3)]
        params, buffers = lib.func.stack_module_state(models)
        out[lib.__name__] = ({k: (tuple(v.shape), v.requires_grad, v.is_leaf) for k, v in params.items()},
                             {k: (tuple(v.shape), v.requires_grad, str(v.dtype).replace("torch.", ""))
                              for k, v in buffers.items()})
        assert all(not (params[k] is p) for k, p in models[0].named_parameters())
        np.testing.assert_array_equal(params["0.weight"][1].detach().numpy(), models[1][0].weight.detach().numpy())
        with pytest.raises(RuntimeError, match="at least one model"):
            lib.func.stack_module_state([])
        models[1].eval()
        with pytest.raises(RuntimeError, match="same training/eval mode"):
            lib.func.stack_module_state(models)
        with pytest.raises(RuntimeError, match="same class"):
            lib.func.stack_module_state([lib.nn.Linear(2, 2), lib.nn.Bilinear(2, 2, 2)])
        a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
        b.bias.requires_grad_(False)
        with pytest.raises(RuntimeError, match="bias from each model to have the same .requires_grad"):
            lib.func.stack_module_state([a, b])
    assert out["minitf"] == out["torch"]


def test_stack_module_state_runs_an_ensemble_under_vmap():
    from minitf.func import functional_call, stack_module_state, vmap
    mt.manual_seed(1)
    models = [nn.Linear(3, 2, dtype="float64") for _ in range(4)]
    params, buffers = stack_module_state(models)
    x = mt.randn(5, 3, dtype="float64")
    y = vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), in_dims=(0, 0, None))(params, buffers, x)
    ref = mt.stack([m(x) for m in models])
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(params["bias"].grad.numpy(), np.full((4, 2), 5.0))
    np.testing.assert_allclose(params["weight"].grad.numpy(), np.broadcast_to(x.sum(0).numpy(), (4, 2, 3)))
