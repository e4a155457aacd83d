"""Round-8 review fixes (complex math at its edges, matmul's empty 1-D operands, the fills of a
complex value into a real tensor ...), each against torch 2.13."""
import numpy as np
import pytest

import minitf as mt


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py: some make complex tensors)


@pytest.mark.parametrize("sa,sb", [((0,), (2, 0, 4)), ((2, 3, 0), (0,)), ((3,), (2, 3, 0)), ((0,), (0,))])
@pytest.mark.parametrize("kind", ["float64", "complex128"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_matmul_backward_with_an_empty_1d_operand_and_batch_dims_as_torch(sa, sb, kind, create_graph, device):
    # a 1-D operand of length 0 against a batched one: its gradient (zeros of its shape) used a
    # reshape(-1, 0), which neither NumPy nor minitf's reshape can infer for an empty array
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)

    def draw(shape):
        x = rng.standard_normal(shape)
        return x + 1j * rng.standard_normal(shape) if kind == "complex128" else x

    a, b = draw(sa), draw(sb)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    g = draw(tuple((at @ bt).shape))
    want = torch.autograd.grad(at @ bt, (at, bt), torch.tensor(g))
    am, bm = (mt.tensor(v, device=device, requires_grad=True) for v in (a, b))
    got = mt.autograd.grad(am @ bm, (am, bm), mt.tensor(g, device=device), create_graph=create_graph)
    for x, w in zip(got, want):
        assert x.shape == tuple(w.shape)
        np.testing.assert_allclose(x.detach().numpy(), w.numpy(), rtol=1e-12, atol=0)


def test_complex_log1p_is_accurate_for_small_z_as_torchs(device):
    # NumPy's complex log1p is log(1 + z) as written: at z = 1e-10 its real part was off by 8e-8
    # (relative), at 1e-17 (1 + i) it was 0; torch's keeps every digit
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    z = 10.0 ** rng.uniform(-20, 1, 400) * np.exp(1j * rng.uniform(-np.pi, np.pi, 400))
    z = np.concatenate([z, [1e-10 + 0j, 1e-17 + 1e-17j, -1e-8 + 1e-12j, 1e-300 + 0j, -1 + 0j, 0.4 - 0.3j]])
    for dtype, rtol in (("complex128", 2e-15), ("complex64", 1e-6)):
        got = mt.log1p(mt.tensor(z.astype(dtype), device=device)).numpy()
        want = torch.log1p(torch.tensor(z.astype(dtype))).numpy()
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    # the zero's signs as torch's, log1p(z) ~ z
    signed = np.array([complex(-0.0, -0.0), complex(-0.0, 0.0), 0j])
    got = mt.log1p(mt.tensor(signed, device=device)).numpy()
    want = torch.log1p(torch.tensor(signed)).numpy()
    np.testing.assert_array_equal(np.signbit(got.real), np.signbit(want.real))
    np.testing.assert_array_equal(np.signbit(got.imag), np.signbit(want.imag))


@pytest.mark.parametrize("name", ["sqrt", "log", "log1p", "log2", "log10", "atan"])
def test_complex_gradients_at_a_pole_are_torchs_infinities_not_nan(name, device):
    # their derivative is 1 / d with d = 0 there: g * conj(1 / d) was inf + nan i times g, NaN in both
    # parts; torch divides, g / conj(d), which gives g's infinities (and create_graph's the same)
    torch = pytest.importorskip("torch")
    pole = {"log1p": -1 + 0j, "atan": 1j}.get(name, 0j)
    z = np.array([pole, complex(pole.real, -0.0), 2 - 1j])
    g = np.array([1 + 2j, -1 + 0.5j, 1j])
    zt = torch.tensor(z, requires_grad=True)
    want = torch.autograd.grad(getattr(torch, name)(zt), zt, torch.tensor(g))[0].numpy()
    for create_graph in (False, True):
        zm = mt.tensor(z, device=device, requires_grad=True)
        got = mt.autograd.grad(getattr(mt, name)(zm), zm, mt.tensor(g, device=device), create_graph=create_graph)[0]
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-14, atol=0)


def test_complex_pow_exponent_gradient_at_base_zero_is_torchs(device):
    # torch zeroes d(a^b)/db at a = 0 only for a real b >= 0; for a b off the real axis 0^b log 0 is
    # NaN there, as torch's (the docstring said "as torch" but zeroed every Re b >= 0)
    torch = pytest.importorskip("torch")
    a = np.array([0j, 0j, 0j, 0j, 1 + 1j])
    b = np.array([0.5 + 1j, 1j, 2 + 0j, 0j, 0.5 - 1j])
    g = np.full(5, 1 + 1j)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    want = torch.autograd.grad(torch.pow(at, bt), (at, bt), torch.tensor(g))
    for create_graph in (False, True):
        am, bm = (mt.tensor(v, device=device, requires_grad=True) for v in (a, b))
        got = mt.autograd.grad(mt.pow(am, bm), (am, bm), mt.tensor(g, device=device), create_graph=create_graph)
        for x, w in zip(got, want):
            np.testing.assert_allclose(x.detach().numpy(), w.numpy(), rtol=1e-14, atol=0)


def _setitem(m, x, v):
    x[0] = v
    return x


FILLS = {   # how each fill writes a value v into x (a tensor of 2 elements)
    "fill_": lambda m, x, v: x.fill_(v), "setitem": _setitem, "full": lambda m, x, v: m.full((2,), v, dtype=x.dtype),
    "masked_fill": lambda m, x, v: x.masked_fill(m.tensor([True, False], device=x.device), v),
    "masked_fill_": lambda m, x, v: x.masked_fill_(m.tensor([True, False], device=x.device), v),
}


@pytest.mark.parametrize("dtype,value", [
    ("float32", 1j), ("float64", 2 - 1j), ("int64", 1j), ("float32", 2 + 0j), ("bool", 1j), ("complex64", 1j),
    ("int64", 2.5), ("int8", 128), ("uint8", 256), ("uint8", -1), ("uint8", -1.0), ("uint8", -255), ("uint8", 255.5),
    ("int64", float("inf")),
    ("int32", float("nan")), ("float32", 1e40), ("float16", 1e5), ("float32", float("inf")), ("complex64", 1e40)])
@pytest.mark.parametrize("fill", sorted(FILLS))
def test_fills_convert_a_number_to_the_tensors_dtype_as_torch(fill, dtype, value, device):
    # 1j into a real tensor was 0 (fill_, x[0] = 1j, full with a dtype) or a complex result
    # (masked_fill); 128 into int8 wrapped, inf into int64 was its minimum, 1e40 into float32 inf,
    # masked_fill of 2.5 into an int64 tensor float32: torch converts with an overflow check
    torch = pytest.importorskip("torch")
    if fill == "setitem" and dtype == "float16":
        pytest.skip("torch's x[0] = 1e5 for float16 gives inf, unlike its other fills")
    try:
        want = FILLS[fill](torch, torch.zeros(2, dtype=getattr(torch, dtype)), value)
    except RuntimeError as e:
        assert "cannot be converted" in str(e)
        with pytest.raises(RuntimeError, match="cannot be converted to type"):
            FILLS[fill](mt, mt.zeros(2, dtype=getattr(mt, dtype), device=device), value)
        return
    got = FILLS[fill](mt, mt.zeros(2, dtype=getattr(mt, dtype), device=device), value)
    assert str(got.dtype) == str(want.dtype).split(".")[1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_masked_fill_takes_a_0d_tensor_value_as_torch(device):
    # a complex 0-d value into a real tensor: refused unless its imaginary part is 0 (then the real
    # part, the gradient too); a float64 value into a float32 tensor: float32, as torch
    torch = pytest.importorskip("torch")
    for m, dev in ((torch, "cpu"), (mt, device)):
        mask = m.tensor([True, False, True], device=dev)
        with pytest.raises(RuntimeError, match="cannot be converted"):
            m.zeros(3, device=dev).masked_fill(mask, m.tensor(1j, device=dev))
        with pytest.raises(RuntimeError, match="cannot be converted"):
            m.zeros(3, device=dev).masked_fill_(mask, m.tensor(1 + 1j, device=dev))
    results = []
    for m, dev in ((torch, "cpu"), (mt, device)):
        mask = m.tensor([True, False, True], device=dev)
        v = m.tensor(2 + 0j, device=dev, requires_grad=True)
        y = m.zeros(3, device=dev).masked_fill(mask, v)
        w = m.tensor(3.0, dtype=m.float64, device=dev, requires_grad=True)
        y2 = m.zeros(3, device=dev).masked_fill(mask, w)
        (y.sum() + y2.sum()).backward()
        results.append([str(y.dtype).split(".")[-1], str(y2.dtype).split(".")[-1], y.detach().cpu().numpy(),
                        y2.detach().cpu().numpy(), v.grad.cpu().numpy(), w.grad.cpu().numpy()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_full_of_a_complex_number_is_of_the_default_complex_dtype_as_torch():
    torch = pytest.importorskip("torch")
    old = mt.get_default_dtype()
    try:
        for default in ("float32", "float64"):
            mt.set_default_dtype(getattr(mt, default))
            torch.set_default_dtype(getattr(torch, default))
            got, want = mt.full((2, 3), 1 - 2j), torch.full((2, 3), 1 - 2j)
            assert str(got.dtype) == str(want.dtype).split(".")[1]
            np.testing.assert_array_equal(got.numpy(), want.numpy())
            np.testing.assert_array_equal(mt.zeros(2).new_full((2,), 1j, dtype=mt.complex128).numpy(), [1j, 1j])
    finally:
        mt.set_default_dtype(old)
        torch.set_default_dtype(torch.float32)


def test_complex_to_bool_cast_is_nonzero_in_either_part_as_torch(device):
    # the complex-to-real cast dropped the imaginary part first (with its warning): 1j was False
    torch = pytest.importorskip("torch")
    z = np.array([1j, 0j, 2 + 0j, complex(0.0, -0.0), complex(np.nan, 0)])
    want = torch.tensor(z).to(torch.bool).numpy()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # (torch's bool cast does not warn either)
        got = [mt.tensor(z, device=device).to(mt.bool), mt.tensor(z, device=device).bool(),
               mt.tensor(z, device=device, requires_grad=True).to(mt.bool)]
    for b in got:
        assert b.dtype == mt.bool and not b.requires_grad
        np.testing.assert_array_equal(b.numpy(), want)


def test_set_num_threads_keeps_the_first_blas_controller_which_restores_the_blas_own_setting():
    # its comment said the first call's controller could restore the original, but each call
    # replaced it with its own, whose "original" was the previous call's limit
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from minitf.backend import threads

    def blas_threads():
        return {d["num_threads"] for d in threadpoolctl.threadpool_info() if d["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS that threadpoolctl can see")
    before, saved = threads.num_threads(), threads._blas_limits
    threads._blas_limits = None
    own = blas_threads()
    try:
        mt.set_num_threads(1)
        mt.set_num_threads(3)
        assert blas_threads() == {3}
        threads._blas_limits.restore_original_limits()
        assert blas_threads() == own
    finally:
        mt.set_num_threads(before)
        threads._blas_limits = saved or threads._blas_limits


@pytest.mark.parametrize("case", ["both", "real_base_complex_number", "number_base", "complex64", "in_place"])
def test_float_power_of_a_complex_operand_is_complex128_as_torch(case, device):
    # its operands were cast to float64, which keeps the real part: float_power(1 + 2j, 1 + 2j) was 1
    torch = pytest.importorskip("torch")
    z, r = np.array([1 + 2j, 3 - 1j]), np.array([2.0, 3.0])
    fn = {"both": lambda m, t: m.float_power(t(z), t(z)), "real_base_complex_number": lambda m, t: m.float_power(t(r), 1j),
          "number_base": lambda m, t: m.float_power(2, t(z)),
          "complex64": lambda m, t: m.float_power(t(z).to(m.complex64), t(r)),
          "in_place": lambda m, t: t(z).float_power_(2)}[case]
    want = fn(torch, torch.tensor)
    got = fn(mt, lambda a: mt.tensor(a, device=device))
    assert str(got.dtype) == str(want.dtype).split(".")[1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-14)
    with pytest.raises(RuntimeError, match="requires dtype complex128"):   # (torch's too)
        mt.tensor(r, dtype=mt.float64, device=device).float_power_(mt.tensor(z, device=device))


@pytest.mark.parametrize("dtype,aweights_dtype", [("complex128", "float64"), ("complex64", "float64"),
                                                  ("complex64", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("weights", ["none", "fweights", "aweights", "both"])
def test_cov_of_complex_variables_and_of_float64_weights_as_torch(dtype, aweights_dtype, weights, device):
    # a complex input's covariance is (x - m)(w (x - m))^H: the conjugate was missing (a wrong matrix,
    # no error), and its weights were cast to the complex dtype (then clamp_min refused them); float64
    # aweights with a float32 input cast down to float32, where torch promotes to float64
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 6)) + (1j * rng.standard_normal((3, 6)) if dtype.startswith("complex") else 0)
    x = x.astype(dtype)
    fw, aw = np.array([1, 2, 0, 1, 3, 1]), rng.uniform(0.1, 1, 6).astype(aweights_dtype)

    def kwargs(m, dev):
        return {"fweights": m.tensor(fw, device=dev) if weights in ("fweights", "both") else None,
                "aweights": m.tensor(aw, device=dev) if weights in ("aweights", "both") else None}

    xt = torch.tensor(x, requires_grad=True)
    want = torch.cov(xt, **kwargs(torch, "cpu"))
    g = rng.standard_normal(want.shape) + (1j * rng.standard_normal(want.shape) if want.is_complex() else 0)
    g = g.astype(str(want.dtype).split(".")[1])
    want.backward(torch.tensor(g))
    xm = mt.tensor(x, device=device, requires_grad=True)
    got = mt.cov(xm, **kwargs(mt, device))
    got.backward(mt.tensor(g, device=device))
    assert str(got.dtype) == str(want.dtype).split(".")[1] and xm.grad.dtype == xm.dtype
    rtol = 1e-5 if "float32" in (dtype, aweights_dtype) or dtype == "complex64" else 1e-12
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=rtol)


SPECIAL_REAL_ONLY = [("bessel_j0", ()), ("bessel_y1", ()), ("modified_bessel_k0", ()), ("modified_bessel_i1", ()),
                     ("scaled_modified_bessel_k1", ()), ("airy_ai", ()), ("spherical_bessel_j0", ()),
                     ("chebyshev_polynomial_t", (3,)), ("hermite_polynomial_h", (2,)), ("legendre_polynomial_p", (2,)),
                     ("laguerre_polynomial_l", (2,)), ("shifted_chebyshev_polynomial_w", (4,))]


@pytest.mark.parametrize("name,args", SPECIAL_REAL_ONLY)
def test_special_functions_outside_the_graph_refuse_complex_input_as_torch(name, args):
    # computed outside the graph, the complex guard never saw them: their float kernels kept the real
    # part (bessel_j0(1 + 2j) was J0(1) + 0j; the polynomials gave float32 values)
    torch = pytest.importorskip("torch")
    z = np.array([1 + 2j, 0.5 - 1j])
    with pytest.raises(NotImplementedError):
        getattr(torch.special, name)(torch.tensor(z), *args)
    with pytest.raises(NotImplementedError, match=f"^{name}: not implemented for complex tensors"):
        getattr(mt.special, name)(mt.tensor(z), *args)


@pytest.mark.parametrize("name", ["lerp", "logaddexp", "logcumsumexp"])
def test_complex_forms_torch_computes_are_computed(name):
    # their dtype check had said "not implemented for complex128 tensors (as torch)", but torch computes
    # them; since complex3 minitf does too: the values are torch's
    torch = pytest.importorskip("torch")
    fn = {"lerp": lambda m, z: m.lerp(z, z * 2, 0.5), "logaddexp": lambda m, z: m.logaddexp(z, z * 2),
          "logcumsumexp": lambda m, z: z.logcumsumexp(0)}[name]
    z = np.array([1j, 2 - 1j])
    np.testing.assert_allclose(fn(mt, mt.tensor(z)).numpy(), fn(torch, torch.tensor(z)).numpy(), rtol=1e-13)


def test_chunked_lgamma_is_bitwise_independent_of_the_thread_count_and_the_order():
    # the CPU kernel splits rows over threads at n * i // workers (not at chunk multiples), so the
    # chunk boundaries move with the thread count; each entry's value must not (no cross-entry state)
    from minitf.backend import threads
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-25, 25, 30_000), rng.uniform(-10, 0, 20_000), -np.arange(1, 20) + 1e-9,
                        [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -1e308]])
    perm = rng.permutation(x.size)
    before = threads.num_threads()
    try:
        runs = {}
        for n in (1, 2, 3):
            mt.set_num_threads(n)
            runs[n] = mt.lgamma(mt.tensor(x, dtype=mt.float64)).numpy()
        shuffled = mt.lgamma(mt.tensor(x[perm], dtype=mt.float64)).numpy()
    finally:
        mt.set_num_threads(before)
    for n in (2, 3):
        np.testing.assert_array_equal(runs[n], runs[1])
    np.testing.assert_array_equal(shuffled, runs[1][perm])


def test_masked_fill_under_vmap_keeps_the_examples_dtype_as_torch():
    # vmap's masked_fill rule built the value as the op used to: an int64 example filled with 2.5 was
    # float32, a float one filled with 1j complex; a batched float64 value into float32 examples too
    torch = pytest.importorskip("torch")
    results = []
    for m in (torch, mt):
        mask = m.tensor([True, False, True])
        ints = m.func.vmap(lambda r: r.masked_fill(mask, 2.5))(m.arange(6).reshape(2, 3))
        floats = m.func.vmap(lambda r, v: r.masked_fill(mask, v))(m.zeros(2, 3), m.tensor([1.5, -2.0], dtype=m.float64))
        results.append([(str(t.dtype).split(".")[-1], t.tolist()) for t in (ints, floats)])
        with pytest.raises(RuntimeError, match="cannot be converted"):
            m.func.vmap(lambda r: r.masked_fill(mask, 1j))(m.zeros(2, 3))
    assert results[0] == results[1]


@pytest.mark.parametrize("case", ["index_put_complex", "index_put_float64", "index_put_int_accumulate",
                                  "index_fill_complex", "index_fill_complex_real_part_0", "index_fill_complex_tensor",
                                  "index_fill_overflow", "index_fill_int_truncates", "index_fill_bool_complex"])
def test_index_put_and_index_fill_take_the_values_torch_takes(case, device):
    # a complex values tensor into a real one was written as its real part (index_put_) or a complex
    # number dropped its imaginary part (index_fill), with only NumPy's ComplexWarning; torch refuses
    # both, and index_put's values of another real dtype too
    torch = pytest.importorskip("torch")
    fn = {"index_put_complex": lambda m, x, i: x.index_put_((i,), m.tensor([1j], device=x.device)),
          "index_put_float64": lambda m, x, i: x.index_put((i,), m.tensor([2.0], dtype=m.float64, device=x.device)),
          "index_put_int_accumulate": lambda m, x, i: x.index_put_((i,), m.tensor([2], device=x.device), accumulate=True),
          "index_fill_complex": lambda m, x, i: x.index_fill(0, i, 1j),
          "index_fill_complex_real_part_0": lambda m, x, i: x.index_fill_(0, i, 2 + 0j),
          "index_fill_complex_tensor": lambda m, x, i: x.index_fill(0, i, m.tensor(1j, device=x.device)),
          "index_fill_overflow": lambda m, x, i: x.index_fill(0, i, 1e40),
          "index_fill_int_truncates": lambda m, x, i: x.long().index_fill(0, i, 2.5),
          "index_fill_bool_complex": lambda m, x, i: x.bool().index_fill(0, i, 1j)}[case]
    try:
        want = fn(torch, torch.zeros(3), torch.tensor([0]))
    except RuntimeError:
        with pytest.raises(RuntimeError):
            fn(mt, mt.zeros(3, device=device), mt.tensor([0], device=device))
        return
    got = fn(mt, mt.zeros(3, device=device), mt.tensor([0], device=device))
    assert str(got.dtype) == str(want.dtype).split(".")[1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_writing_complex_values_into_a_real_tensor_keeps_the_real_part_with_torchs_warning():
    # torch's copy_ (x[1:] = z too) warns a UserWarning (once per process: not run on torch here)
    # and keeps the real part, a 0-d value silently; NumPy's assignment warned its ComplexWarning
    # (a RuntimeWarning, not a UserWarning) every time
    import warnings
    z = np.array([1 + 1j, 2 - 1j, 3j])
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        a = mt.zeros(3).copy_(mt.tensor(z))
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        b = mt.zeros(4)
        b[1:] = mt.tensor(z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = mt.zeros(2).fill_(mt.tensor(2 + 1j))
        c[0] = mt.tensor(5 - 1j)
    # (torch's values are the real parts; running its copy_ here would spend its one warning, which
    # tests/test_complex.py checks)
    for got, want in ((a, z.real), (b, np.concatenate([[0], z.real])), (c, [5, 2])):
        np.testing.assert_array_equal(got.numpy(), want)
