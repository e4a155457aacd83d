"""Complex dtypes: creation, promotion, printing, the parts, and the gradients of the ops that take
complex input, against torch (complex128) and against central differences on the real and the
imaginary parts separately (mt.gradcheck); every other op refuses complex input by name."""
import numpy as np
import pytest

import minitf as mt
from minitf import complex_guard
from minitf.errors import DtypeError, DtypeNotImplemented


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def _c(rng, *shape, device="cpu", grad=True):
    return mt.tensor(rng.standard_normal(shape) + 1j * rng.standard_normal(shape), device=device, requires_grad=grad)


def _r(rng, *shape, device="cpu", grad=True):
    return mt.tensor(rng.standard_normal(shape), dtype=mt.float64, device=device, requires_grad=grad)


# ------------------------------------------------------------------ dtypes, creation, promotion, printing

def test_dtypes_and_creation_as_torch():
    torch = pytest.importorskip("torch")
    assert mt.cfloat is mt.complex64 and mt.cdouble is mt.complex128
    for data in ([1 + 2j, 3], [1.5, 2j], 1j, [[1, 2], [3j, 4]]):
        ours, theirs = mt.tensor(data), torch.tensor(data)
        assert str(ours.dtype) == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert mt.tensor(np.array([1j], dtype=np.complex128)).dtype == mt.complex128
    z = mt.tensor([1.0, 2.0]).to(mt.complex64)
    assert z.is_complex() and mt.is_complex(z) and z.dtype == mt.complex64 and not z.is_floating_point()
    assert mt.tensor([1.0]).cdouble().dtype == mt.complex128 and mt.tensor([1.0]).cfloat().dtype == mt.complex64
    for dt, tdt in ((mt.complex64, torch.complex64), (mt.complex128, torch.complex128)):
        ours, theirs = mt.finfo(dt), torch.finfo(tdt)
        assert (ours.eps, ours.max, ours.bits) == (theirs.eps, theirs.max, theirs.bits)
    assert mt.zeros(2, dtype=mt.cdouble).dtype == mt.complex128
    with mt.no_grad():
        pass
    assert mt.randn(2, dtype=mt.complex64).dtype == mt.complex64   # (the draws: tests/test_complex_math.py)


def test_default_dtype_sets_the_complex_one():
    torch = pytest.importorskip("torch")
    old = mt.get_default_dtype()
    try:
        mt.set_default_dtype(mt.float64)
        torch.set_default_dtype(torch.float64)
        assert mt.tensor([1j]).dtype == mt.complex128 == np.dtype(str(torch.tensor([1j]).dtype).split(".")[1])
        assert (mt.ones(2, dtype=mt.float32) * 1j).dtype == mt.complex64
    finally:
        mt.set_default_dtype(old)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("a_dtype,b", [("float32", 1j), ("float64", 1j), ("int64", 2j), ("bool", 1j),
                                       ("float64", "complex64"), ("float32", "complex128"), ("int32", "complex64"),
                                       ("complex64", 2.5), ("complex64", 3), ("complex128", "float32")])
def test_promotion_as_torch(a_dtype, b):
    torch = pytest.importorskip("torch")
    a = mt.ones(3, dtype=a_dtype)
    at = torch.ones(3, dtype=getattr(torch, a_dtype))
    if isinstance(b, str):
        bb, bt = mt.ones(3, dtype=b), torch.ones(3, dtype=getattr(torch, b))
    else:
        bb = bt = b
    for op in ("add", "mul", "sub", "div"):
        if a_dtype == "bool" and op == "sub":
            continue
        ours, theirs = getattr(mt, op)(a, bb), getattr(torch, op)(at, bt)
        assert str(ours.dtype) == str(theirs.dtype).split(".")[1], (op, ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert str(mt.result_type(a, bb)) == str(torch.result_type(at, bt)).split(".")[1]


def test_repr_as_torch():
    torch = pytest.importorskip("torch")
    cases = [[1 + 2j, 3 - 1j], [1.5 + 2j, 3 - 1.25j], [1e-5 + 2j, 3e5 - 1j], 1 + 1j, [[1.5 + 2j, -3 - 1.25j], [0j, 1j]]]
    for data in cases:
        for dt in ("complex64", "complex128"):
            ours = repr(mt.tensor(data, dtype=dt)).replace("minitf.", "torch.")
            assert ours == repr(torch.tensor(data, dtype=getattr(torch, dt))), data
    z = mt.tensor([1 + 2j], requires_grad=True)
    assert repr(z * 2) == repr(torch.tensor([1 + 2j], requires_grad=True) * 2)


# ------------------------------------------------------------------ gradients against torch and central differences

def _torch_grads(torch, fn, inputs, seed=0):
    """torch's gradients of Re <u, fn(inputs)> for a random (complex where the output is) cotangent u."""
    ts = [torch.tensor(x.numpy(), requires_grad=True) for x in inputs]
    out = fn(torch, *ts)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(tuple(out.shape))
    if out.is_complex():
        u = u + 1j * rng.standard_normal(tuple(out.shape))
    out.backward(torch.tensor(u))
    return out.detach().resolve_conj().numpy(), [t.grad.numpy() for t in ts], u


CASES = {
    "mul": (lambda m, a, b: a * b, "cc"),
    "mul_real": (lambda m, a, b: a * b, "rc"),
    "div": (lambda m, a, b: a / b, "cc"),
    "add_sub_neg": (lambda m, a, b: -(a + b) - 2 * b, "cc"),
    "matmul": (lambda m, a, b: a @ b, "CD"),
    "exp": (lambda m, a: a.exp(), "c"),
    "pow": (lambda m, a: a ** 3, "c"),
    "abs": (lambda m, a: a.abs(), "c"),
    "angle": (lambda m, a: a.angle(), "c"),
    "real_imag": (lambda m, a: a.real * 2 + a.imag * 3, "c"),
    "conj": (lambda m, a: a.conj() * a, "c"),
    "complex": (lambda m, a, b: m.complex(a, b), "rr"),
    "polar": (lambda m, a, b: m.polar(a, b), "Rr"),   # (abs >= 0: torch's domain, its gradient uses sgn(result))
    "view_as_real": (lambda m, a: m.view_as_real(a), "c"),
    "view_as_complex": (lambda m, a: m.view_as_complex(a), "P"),
    "sum_mean": (lambda m, a: a.sum(0) + a.mean(1).sum() * 1j, "C"),
    "shapes": (lambda m, a: a.reshape(4, 3).transpose(0, 1)[1:, ::2], "C"),
    "cat_stack": (lambda m, a, b: m.stack([m.cat([a, b]), m.cat([b, a])]), "cc"),
    "cast_in": (lambda m, a: a.to(m.complex128) * (1 - 2j), "r"),
    # the products and shape functions built on those ops
    "dot_vdot_outer": (lambda m, a, b: m.outer(a, b).sum(0) + m.dot(a, b) + m.vdot(a, b) + a.vdot(b), "cc"),
    "mv_mm_bmm": (lambda m, a, b, v: m.mv(a, v) + m.mm(a, b).sum(1) + m.bmm(a[None], b[None])[0, :, 0], "CDv"),
    "kron_tensordot_inner": (lambda m, a, b: m.kron(a, b)[:3] + m.tensordot(a, b, 1) + m.inner(a, b), "cc"),
    "conjugate_transposes": (lambda m, a: a.H @ a + a.mH @ a + a.adjoint() @ a, "C"),
    "split_and_rearrange": (lambda m, a: m.cat([*m.chunk(a.flatten(), 2), a.narrow(0, 0, 1).flatten(),
                                                m.movedim(a, 0, 1).flatten(), m.tile(a, (2,)).flatten(),
                                                a.repeat_interleave(2).flatten(), *m.unbind(a)]), "C"),
    "rsub_addcmul": (lambda m, a, b: m.rsub(a, b) + m.addcmul(a, a, b, value=0.5), "cc"),
    "pad": (lambda m, a: m.cat([m.nn.functional.pad(a, (1, 2), mode=mode).flatten()
                                for mode in ("reflect", "replicate", "circular")]
                               + [m.nn.functional.pad(a, (1, 1, 2, 0)).flatten()]), "C"),
}


def _inputs(rng, kinds, device):
    shapes = {"c": (3,), "r": (3,), "R": (3,), "C": (3, 4), "D": (4, 2), "P": (3, 2), "v": (4,)}
    xs = [(_c if k in "cCDv" else _r)(rng, *shapes[k], device=device, grad=k != "R") for k in kinds]
    return [mt.tensor(np.abs(x.numpy()) + 0.1, device=device, requires_grad=True) if k == "R" else x
            for k, x in zip(kinds, xs)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_torch_and_central_differences(name, device, rng):
    torch = pytest.importorskip("torch")
    fn, kinds = CASES[name]
    check_against_torch(torch, fn, _inputs(rng, kinds, device), device)


def check_against_torch(torch, fn, inputs, device, square=True):
    """fn(mt, *inputs)'s value, dtype and gradients as torch's fn(torch, ...) (complex128), then
    gradcheck, and on the CPU gradgradcheck (of fn's square with ``square``)."""
    expected, grads, u = _torch_grads(torch, fn, inputs)
    out = fn(mt, *inputs)
    assert str(out.dtype) == str(torch.from_numpy(expected).dtype).split(".")[1]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    out.backward(mt.tensor(u, device=device, dtype=out.dtype))
    for x, g in zip(inputs, grads):
        assert x.grad.dtype == x.dtype
        np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-10, atol=1e-12)
    for x in inputs:
        x.grad = None
    assert mt.gradcheck(lambda *xs: fn(mt, *xs), inputs)
    if device == "cpu":   # second derivatives (create_graph=True), of the square so that linear ops' are not all
        # zero; their recorded ops are the device-tested ones above, so the CPU alone checks them
        assert mt.gradgradcheck(lambda *xs: fn(mt, *xs) ** (2 if square else 1), inputs)


def test_cast_to_real_warns_and_keeps_the_real_part_of_the_gradient(rng):
    torch = pytest.importorskip("torch")
    z = _c(rng, 3)
    zt = torch.tensor(z.numpy(), requires_grad=True)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        y = z.to(mt.float64)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        yt = zt.to(torch.float64)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy())


def test_save_and_load_keep_complex_tensors_and_arm_the_guard(tmp_path):
    z = mt.tensor([1 + 2j, -3j], dtype=mt.complex128, requires_grad=True)
    mt.save({"z": z, "w": z.detach().to(mt.complex64)}, tmp_path / "c.npz")
    complex_guard.disarm()
    back = mt.load(tmp_path / "c.npz")
    assert complex_guard.armed   # a loaded complex tensor is checked as a made one
    assert back["z"].dtype == mt.complex128 and back["z"].requires_grad and back["w"].dtype == mt.complex64
    np.testing.assert_array_equal(back["z"].detach().numpy(), z.detach().numpy())
    with pytest.raises(DtypeNotImplemented, match="erf"):
        mt.erf(back["z"])


def test_complex_loss_needs_an_explicit_gradient():
    z = mt.tensor([1 + 1j], requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * z).sum().backward()
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        mt.grad((z * z).sum(), [z])
    (g,) = mt.grad((z * z).sum(), [z], grad_outputs=[mt.tensor(1 + 0j)])
    np.testing.assert_allclose(g.numpy(), np.conj(2 * z.detach().numpy()))


def test_gradient_descent_on_a_complex_leaf_and_in_place_abs_refused():
    z = mt.tensor([1 + 2j, -0.5j], requires_grad=True)
    for _ in range(50):   # minimise |z - (1 - 1j)|^2: z.grad points uphill in both parts
        loss = ((z - (1 - 1j)).abs() ** 2).sum()
        loss.backward()
        with mt.no_grad():
            z -= 0.1 * z.grad
        z.grad = None
    np.testing.assert_allclose(z.detach().numpy(), [1 - 1j, 1 - 1j], atol=1e-4)
    with pytest.raises(DtypeError, match="In-place abs is not supported for complex"):
        mt.tensor([1j]).abs_()


def test_gradcheck_sees_a_wrong_complex_gradient(rng):
    """The check itself: a backward that forgets the conjugate (g * b for a * b) must fail it."""
    from minitf.autograd import Function

    class NoConj(Function):
        takes_complex = True

        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, g):
            return g * self.b, g * self.a

    a, b = _c(rng, 3), _c(rng, 3)
    with pytest.raises(mt.GradcheckError, match="input 0"):
        mt.gradcheck(lambda a, b: NoConj.apply(a, b), [a, b])


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize("name,fn", [
    ("erf", lambda z: mt.erf(z)), ("lgamma", lambda z: mt.lgamma(z)),   # (torch refuses these too)
    ("sign", lambda z: mt.sign(z)), ("relu", lambda z: mt.functional.relu(z)),
    ("softmax", lambda z: mt.functional.softmax(z, -1)), ("max", lambda z: z.max()),
    ("mse_loss", lambda z: mt.functional.mse_loss(z, z)),   # (made of sub and mul, which take complex)
    ("xlogy", lambda z: mt.xlogy(z, z))])   # (the p-norms take complex: tests/test_linalg_complex.py)
def test_other_ops_refuse_complex_input_by_name(name, fn, device, rng):
    z = _c(rng, 3, device=device)
    with pytest.raises(DtypeNotImplemented, match=rf"^{name}: (complex tensors are not supported|not implemented for "
                                                 rf"complex)"):
        fn(z)
    with mt.no_grad(), pytest.raises(DtypeNotImplemented, match=name):
        fn(z.detach())


def test_parts_of_real_tensors_and_argument_errors():
    x = mt.tensor([1.0, -2.0])
    assert x.real is x and x.conj() is x
    with pytest.raises(DtypeError, match="same dtype"):
        mt.complex(mt.zeros(2), mt.zeros(2, dtype=mt.float64))
    with pytest.raises(DtypeError, match="float32 or float64"):
        mt.complex(mt.zeros(2, dtype=mt.int64), mt.zeros(2, dtype=mt.int64))
    with pytest.raises(DtypeError, match="float and double"):
        mt.view_as_complex(mt.zeros(3, 2, dtype=mt.float16))
    with pytest.raises(TypeError, match="must be Tensor"):
        mt.complex(1.0, mt.zeros(2))


def test_real_programs_never_pay_for_the_guard():
    """Nothing complex made: no hook, so Function.apply's fast path (one test of an empty tuple)."""
    from minitf import autograd
    assert not complex_guard.armed and autograd._hooks == ()
    y = (mt.ones(3, requires_grad=True) * 2).sum()
    y.backward()
    assert autograd._hooks == ()
    mt.tensor([1j])
    assert complex_guard.armed and autograd._hooks != () and autograd._watchers == ()
    for make in (lambda: mt.Tensor(np.array([1j])), lambda: mt.from_numpy(np.array([1j])),
                 lambda: mt.zeros(1, dtype="complex64"), lambda: mt.ones(2).to(mt.cfloat)):
        complex_guard.disarm()
        make()
        assert complex_guard.armed   # every way of making a complex tensor arms the check


def test_in_place_arithmetic_and_assert_close_on_complex_tensors(rng):
    torch = pytest.importorskip("torch")
    host = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    z, zt = mt.tensor(host, requires_grad=True), torch.tensor(host, requires_grad=True)
    for lib, x in ((mt, z), (torch, zt)):
        w = x * 1
        w.mul_(lib.tensor([2j, 1, 1 - 1j], dtype=x.dtype))
        w.add_(1j)
        w.exp_()
        w.abs().sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-12)
    with pytest.raises(DtypeError, match="can't be cast"):
        mt.ones(2).add_(1j)
    # assert_close: |actual - expected| within the float dtype's tolerances, torch's decisions
    for shift in (1e-3, 1e-9, 1e-6j):
        for dt in ("complex64", "complex128"):
            a, e = mt.tensor(host, dtype=dt), mt.tensor(host + shift, dtype=dt)
            at, et = torch.tensor(host, dtype=getattr(torch, dt)), torch.tensor(host + shift, dtype=getattr(torch, dt))
            try:
                torch.testing.assert_close(at, et)
                theirs = True
            except AssertionError:
                theirs = False
            try:
                mt.testing.assert_close(a, e)
                ours = True
            except AssertionError as err:
                ours = False
                assert "Tensor-likes are not close!" in str(err)
            assert ours == theirs, (shift, dt)


def test_forward_mode_through_complex_ops_as_torch(rng):
    """jvp of real functions that pass through complex values (forward AD: minitf/forward_ad.py)."""
    torch = pytest.importorskip("torch")
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    for f in (lambda m, x: (x.to(m.complex128) * (1 + 2j)).exp().abs(), lambda m, x: m.fft.rfft(x * x).angle(),
              lambda m, x: m.view_as_real(m.polar(x * x + 1, x)), lambda m, x: m.fft.irfft(m.fft.fft(x)[:3])):
        ours = mt.func.jvp(lambda v: f(mt, v), (mt.tensor(x),), (mt.tensor(t),))[1]
        theirs = torch.func.jvp(lambda v: f(torch, v), (torch.tensor(x),), (torch.tensor(t),))[1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_pad_takes_a_real_value_only_as_torch(rng):
    """F.pad's value is a float for torch (a complex input is padded with it); a complex value is
    its TypeError, where NumPy would drop the imaginary part for a real input."""
    torch = pytest.importorskip("torch")
    z = _c(rng, 2, 3, grad=False)
    for x, xt in ((z, torch.tensor(z.numpy())), (z.real, torch.tensor(z.real.numpy()))):
        with pytest.raises(TypeError, match="must be float, not complex"):
            torch.nn.functional.pad(xt, (1, 1), value=2 + 1j)
        with pytest.raises(TypeError, match="must be float, not complex"):
            mt.nn.functional.pad(x, (1, 1), value=2 + 1j)
    np.testing.assert_array_equal(mt.nn.functional.pad(z, (1, 1), value=2.5).numpy(),
                                  torch.nn.functional.pad(torch.tensor(z.numpy()), (1, 1), value=2.5).numpy())
