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
