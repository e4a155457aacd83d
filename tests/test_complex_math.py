"""The complex forms of the common elementwise functions (sqrt ... tanh, log2 ... atan), pow with a tensor exponent, prod, cumsum,
cumprod, the 2-norm, where / masked_fill / the in-place fills and the complex draws: values and
gradients against torch in complex128, and mt.gradcheck (central differences on both parts)."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import DtypeError, DtypeNotImplemented

from .test_complex import _c, check_against_torch   # (complex inputs; torch's values and gradients)


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def _with_zeros(m, z):   # prod's and cumprod's zero handling: one zero in a row, two in another
    mask = m.tensor([[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1]], dtype=m.float64, device=z.device)
    return z * mask


CASES = {   # name: (fn(module, *inputs), input shapes)
    "sqrt": (lambda m, z: m.sqrt(z), [(5,)]), "log": (lambda m, z: m.log(z), [(5,)]),
    "sin_cos": (lambda m, z: m.sin(z) * 2 + m.cos(z), [(5,)]), "tanh": (lambda m, z: m.tanh(z), [(5,)]),
    "sigmoid": (lambda m, z: m.sigmoid(z), [(5,)]), "reciprocal": (lambda m, z: m.reciprocal(z), [(5,)]),
    "rsqrt": (lambda m, z: m.rsqrt(z), [(5,)]), "square": (lambda m, z: m.square(z), [(5,)]),
    "log1p_expm1": (lambda m, z: m.log1p(z) + m.expm1(z), [(5,)]),
    "log2_log10_exp2": (lambda m, z: m.log2(z) + m.log10(z) * 2 + m.exp2(z), [(5,)]),
    "sinh_cosh_tan": (lambda m, z: m.sinh(z) + m.cosh(z) * 2 + m.tan(z), [(5,)]),
    "asin_atan": (lambda m, z: m.asin(z) + m.atan(z) * 2 + m.arcsin(z), [(5,)]),
    "methods": (lambda m, z: z.sqrt() + z.log() + z.tanh() + z.sigmoid() + z.reciprocal() + z.rsqrt(), [(5,)]),
    "pow_complex_number": (lambda m, z: z ** (0.5 - 1.5j), [(5,)]),
    "pow_real_tensor_to_complex": (lambda m, a, z: (a.abs() + 0.5) ** z, [(5, "real"), (5,)]),
    "pow_tensor": (lambda m, a, b: m.pow(a, b), [(5,), (5,)]),
    "number_to_complex_power": (lambda m, z: 2 ** z, [(5,)]),
    "prod": (lambda m, z: m.prod(z), [(3, 4)]), "prod_dim": (lambda m, z: z.prod(1), [(3, 4)]),
    "prod_zeros": (lambda m, z: _with_zeros(m, z).prod(1), [(3, 4)]),
    "cumsum": (lambda m, z: m.cumsum(z, 1), [(3, 4)]), "cumprod": (lambda m, z: m.cumprod(z, 0), [(3, 4)]),
    "cumprod_zeros": (lambda m, z: _with_zeros(m, z).cumprod(1), [(3, 4)]),
    "vector_norm": (lambda m, z: m.linalg.vector_norm(z), [(3, 4)]),
    "vector_norm_dim": (lambda m, z: m.linalg.vector_norm(z, dim=1, keepdim=True), [(3, 4)]),
    "norm": (lambda m, z: m.norm(z) + z.norm(dim=0).sum(), [(3, 4)]),
    "where": (lambda m, a, b: m.where(a.real > 0, a, b), [(5,), (5,)]),
    "masked_fill": (lambda m, z: z.masked_fill(z.imag > 0, 1 - 2j), [(5,)]),
    # not holomorphic: its gradient is not g * conj(f'(z)); times z, so its second derivative is not 0
    "sgn": (lambda m, z: m.sgn(z) * z + z.sgn(), [(5,)]),
}


def _inputs(rng, shapes, device):
    return [mt.tensor(rng.standard_normal(s[0]), dtype=mt.float64, device=device, requires_grad=True)
            if len(s) == 2 and s[1] == "real" else _c(rng, *s, device=device) for s in shapes]


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name, device, rng):
    torch = pytest.importorskip("torch")
    fn, shapes = CASES[name]
    # gradgradcheck of fn itself: these are not linear, so their second derivatives are not zero (the
    # square's, near tanh's poles, are beyond central differences at gradgradcheck's tolerance)
    check_against_torch(torch, fn, _inputs(rng, shapes, device), device, square=False)


def test_in_place_writes_on_complex_tensors_as_torch(device):
    torch = pytest.importorskip("torch")
    base = np.array([1 + 2j, -3j, 0.5 - 1j])
    for write in (lambda t: t.zero_(), lambda t: t.fill_(2 - 1j), lambda t: t.masked_fill_(t.real > 0, 1j),
                  lambda t: t.sqrt_(), lambda t: t.mul_(1j)):
        ours, theirs = mt.tensor(base, device=device), torch.tensor(base)
        write(ours), write(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    with pytest.raises(DtypeError, match="In-place abs is not supported for complex"):   # torch refuses it too
        mt.tensor(base).abs_()


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_draws(dtype, device):
    torch = pytest.importorskip("torch")
    dt = getattr(mt, dtype)
    mt.manual_seed(0)
    z = mt.randn(200_000, dtype=dt, device=device)
    assert z.dtype == dt and z.shape == (200_000,) and z.device == mt.device(device)
    assert z.dtype == np.dtype(str(torch.randn(1, dtype=getattr(torch, dtype)).dtype).split(".")[1])
    parts = np.stack([z.real.numpy(), z.imag.numpy()]).astype(np.float64)
    # each part N(0, 1/2): with n = 2e5 the sample variance's standard error is 0.5 sqrt(2/n) = 0.0016
    np.testing.assert_allclose(parts.var(axis=1), [0.5, 0.5], atol=0.01)
    np.testing.assert_allclose(parts.mean(axis=1), [0, 0], atol=0.01)
    assert abs(np.corrcoef(parts)[0, 1]) < 0.01
    u = mt.rand(2, 100_000, dtype=dt, device=device, requires_grad=True)
    assert u.shape == (2, 100_000) and u.requires_grad
    for p in (u.real.numpy(), u.imag.numpy()):
        assert 0 <= p.min() and p.max() < 1 and abs(p.mean() - 0.5) < 0.01
    assert mt.randn_like(z[:3]).dtype == dt and mt.rand_like(z[:3]).dtype == dt
    with pytest.raises(TypeError, match="floating or complex dtype"):
        mt.randn(2, dtype=mt.int64)


@pytest.mark.parametrize("name,fn", [("softmax", lambda z: mt.functional.softmax(z, -1)),
                                     ("erfinv", lambda z: mt.erfinv(z))])
def test_still_refused(name, fn, rng):
    with pytest.raises(DtypeNotImplemented, match=name):
        fn(_c(rng, 3))


def test_forward_mode_through_the_complex_forms_as_torch(rng):
    """jvp of real functions that pass through them (forward AD reads their recorded backwards)."""
    torch = pytest.importorskip("torch")
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    for f in (lambda m, x: (x.to(m.complex128) * (1 + 2j)).sqrt().tanh().abs(),
              lambda m, x: m.log((x * (1 - 1j)).sigmoid() + m.sin(x * 1j)).angle(),
              lambda m, x: m.view_as_real(m.cumsum((x * 1j + 1).reciprocal().rsqrt(), 0).prod(0, keepdim=True)),
              lambda m, x: m.linalg.vector_norm(m.asin(x * 1j + 0.5) ** (x * 1j)),
              lambda m, x: m.view_as_real(m.where(x > 0, m.log2(x * 1j + 2), m.tan(x + 0.5j)))):
        ours = mt.func.jvp(lambda v: f(mt, v), (mt.tensor(x),), (mt.tensor(t),))[1]
        theirs = torch.func.jvp(lambda v: f(torch, v), (torch.tensor(x),), (torch.tensor(t),))[1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_sgn_at_zero_is_zero_with_a_zero_gradient_and_sign_refuses_complex_as_torch(device):
    torch = pytest.importorskip("torch")
    z = mt.tensor(np.array([0j, 3 - 4j]), device=device, requires_grad=True)
    s = mt.sgn(z)
    s.backward(mt.tensor(np.array([1 + 1j, 1j]), device=device))
    zt = torch.tensor([0j, 3 - 4j], dtype=torch.complex128, requires_grad=True)
    st = torch.sgn(zt)
    st.backward(torch.tensor([1 + 1j, 1j], dtype=torch.complex128))
    assert s.numpy()[0] == 0 and z.grad.numpy()[0] == 0
    np.testing.assert_allclose(s.detach().numpy(), st.detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-15, atol=0)
    assert str(s.grad_fn.name()) == str(torch.sgn(zt).grad_fn.name())
    with pytest.raises(RuntimeError):
        torch.sign(zt)
    with pytest.raises(DtypeNotImplemented):
        mt.sign(z)
