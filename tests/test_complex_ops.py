"""Complex input to the rest of the elementwise functions (acos, acosh, asinh, atanh, sinc, an accurate
log1p, float_power, lerp), to the reductions (var, std, var_mean, std_mean, logsumexp, logcumsumexp, the p-norms, cov, corrcoef)
and to the products and shape ops (trace, diag, diagonal, tril, triu, einsum, linear, pads, scatters
...): values and gradients against torch in complex128, mt.gradcheck (central differences on both
parts) and, on the CPU, gradgradcheck."""
import numpy as np
import pytest

import minitf as mt

from .test_complex import _c, check_against_torch   # (complex inputs; torch's values and gradients)
from .test_complex_math import _inputs   # (complex inputs of the given shapes, (n, "real") a real one)


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)


def _idx(m, z, *values):
    return m.tensor(list(values), device=z.device)


CASES = {   # name: (fn(module, *inputs), input shapes, square before gradgradcheck)
    # elementwise: holomorphic, principal branches
    "acos_acosh": (lambda m, z: m.acos(z) + m.arccosh(z) * 2, [(6,)], False),
    "asinh_atanh": (lambda m, z: m.asinh(z) + m.atanh(z) * 2 + m.arcsinh(z), [(6,)], False),
    "acosh_left_half_plane": (lambda m, z: m.acosh(-z.real.abs() + 1j * z.imag), [(6,)], False),
    "sinc": (lambda m, z: m.sinc(z) + m.special.sinc(z * 0.5), [(6,)], False),
    "log1p_small": (lambda m, z: m.log1p(z * 1e-3) + m.log1p(z), [(6,)], False),
    "float_power": (lambda m, z, x: m.float_power(z, 2.5) + m.float_power(x.abs() + 0.5, z), [(6,), (6, "real")], False),
    "lerp": (lambda m, a, b, w: m.lerp(a, b, w) + m.lerp(a, b, 0.3) + a.lerp(b, 0.7 - 0.2j), [(6,), (6,), (6,)], False),
    "tanhshrink_softsign": (lambda m, z: m.nn.functional.tanhshrink(z) + m.nn.functional.softsign(z), [(6,)], False),
    "logaddexp": (lambda m, a, b: m.logaddexp(a, b) + m.logaddexp(a * 20, b), [(6,), (6,)], False),
    "vector_norm_p": (lambda m, z: m.linalg.vector_norm(z, 3) + m.linalg.vector_norm(z, 1.5, dim=1).sum()
                      + m.norm(z, 0.5), [(3, 4)], True),
    "l1_loss": (lambda m, a, b: m.nn.functional.l1_loss(a, b) + m.nn.functional.l1_loss(a, b, reduction="none"),
                [(3, 4), (3, 4)], False),
    "rms_norm": (lambda m, z, w: m.nn.functional.rms_norm(z, (4,)) + m.nn.functional.rms_norm(z, (3, 4), w.T)
                 + m.nn.functional.rms_norm(z, (4,), eps=0.1), [(3, 4), (4, 3)], True),
    "pairwise_distance": (lambda m, a, b: m.nn.functional.pairwise_distance(a, b)
                          + m.nn.functional.pairwise_distance(a, b, p=3, keepdim=True)[:, 0], [(3, 4), (3, 4)], True),
    "renorm": (lambda m, z: m.renorm(z, 2, 0, 1.5) + z.renorm(3, 1, 1.0), [(3, 4)], True),
    "normalize": (lambda m, z: m.nn.functional.normalize(z) + m.nn.functional.normalize(z, p=3, dim=0), [(3, 4)], True),
    # reductions with a real result: the mean of |x - mean|^2
    "var": (lambda m, z: m.var(z) + z.var(1).sum() + m.var(z, 0, correction=0).sum(), [(3, 4)], True),
    "std": (lambda m, z: m.std(z) + z.std(1, keepdim=True).sum() + m.std(z, 0, correction=2).sum(), [(3, 4)], True),
    "var_mean_std_mean": (lambda m, z: m.var_mean(z, 1)[0] * m.var_mean(z, 1)[1]
                          + m.std_mean(z, 0, correction=0)[0].sum() * m.std_mean(z)[1], [(3, 4)], True),
    "logcumsumexp": (lambda m, z: m.logcumsumexp(z, 1) + m.logcumsumexp(z * 30, 0) + z[0, 0].logcumsumexp(0),
                     [(3, 4)], False),
    "logsumexp": (lambda m, z: m.logsumexp(z, 1) + m.logsumexp(z, (0, 1), keepdim=True), [(3, 4)], False),
    "cov_corrcoef": (lambda m, z, w: m.cov(z) + m.cov(z, correction=0, aweights=w.abs() + 0.5) + m.corrcoef(z),
                     [(3, 4), (4, "real")], True),
    # diagonals and triangles
    "trace_diagonal": (lambda m, z: m.trace(z) * z.diagonal(1)[:2] + m.diagonal(z, -1), [(3, 4)], True),
    "diag": (lambda m, z, v: m.diag(z, 1) + m.diag(v)[1:, :3].sum(0) + m.diagflat(v[:3]).sum(1), [(3, 4), (4,)], True),
    "diag_embed": (lambda m, z: m.diag_embed(z, 1).sum(1), [(3, 4)], True),
    "tril_triu": (lambda m, z: m.tril(z) + m.triu(z, 1) * 2 + z.tril(-1), [(3, 4)], True),
    "flip_roll_rot90": (lambda m, z: m.flip(z, [0]) + m.roll(z, 1, 1) + m.rot90(z, 2) + m.fliplr(z), [(3, 4)], True),
    # products: torch contracts without conjugating (vdot excepted)
    "einsum_matmul": (lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)], True),
    "einsum_mixed": (lambda m, a, v: m.einsum("ij,j,j->i", a, v, v) + m.einsum("ii->i", a[:, :3])
                     + m.einsum("ij->", a) + m.einsum("i,j->ij", v, v)[:3, 0], [(3, 4), (4,)], True),
    "einsum_trace_batch": (lambda m, a: m.einsum("ii", a[:, :3]) * m.einsum("bi,bi->b", a, a), [(3, 4)], True),
    "tensordot_kron": (lambda m, a, b: m.tensordot(a, b, dims=([1], [0])).sum(1) + m.kron(a, b)[:3, :2].sum(1),
                       [(3, 4), (4, 2)], True),
    "linear": (lambda m, x, w, b: m.nn.functional.linear(x, w, b) + m.nn.functional.linear(x, w),
               [(3, 4), (2, 4), (2,)], True),
    "addmm_addmv_addr": (lambda m, a, b, v: m.addmm(a[:, :2], a, b) + m.addmv(a[:, 0], a, v)[:, None]
                         + m.addr(a[:, :2], a[:, 0], v[:2], alpha=2), [(3, 4), (4, 2), (4,)], True),
    "conv1d_conv2d": (lambda m, x, w, b, x2, w2: m.nn.functional.conv1d(x, w, b, padding=1).sum((0, 2))
                      + m.nn.functional.conv2d(x2, w2, stride=2).sum((0, 2, 3)), [(2, 2, 5), (3, 2, 3), (3,),
                                                                                   (1, 2, 4, 4), (3, 2, 2, 2)], True),
    "conv_transpose1d": (lambda m, x, w: m.nn.functional.conv_transpose1d(x, w, stride=2, groups=2),
                         [(1, 2, 3), (2, 2, 2)], True),
    # pads, scatters, windows
    "pad_block_diag": (lambda m, a, b: m.nn.functional.pad(a, (1, 2)).sum(1) + m.block_diag(a, b).sum(0)[:3],
                       [(3, 4), (4, 2)], True),
    "scatter_index_add": (lambda m, z, s: z.scatter_add(1, _idx(m, z, [0], [3], [1]), s[:, :1])
                          + z.index_add(0, _idx(m, z, 2, 0), s[:2]) + z.index_fill(1, _idx(m, z, 1), 2j),
                          [(3, 4), (3, 4)], True),
    "masked_scatter_put": (lambda m, z, s: z.masked_scatter(z.real > 0, s) + z.put(_idx(m, z, 0, 5), s[0, :2]),
                           [(3, 4), (3, 4)], True),
    "unfold": (lambda m, z: z.unfold(1, 2, 1).sum(-1), [(3, 4)], True),
    "im2col_col2im": (lambda m, x, c: m.nn.functional.unfold(x, 2, padding=1).sum(1)
                      + m.nn.functional.fold(c, (3, 3), 2).reshape(1, -1)[:, :16], [(1, 2, 3, 3), (1, 8, 4)], True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name, device, rng):
    torch = pytest.importorskip("torch")
    fn, shapes, square = CASES[name]
    check_against_torch(torch, fn, _inputs(rng, shapes, device), device, square=square)


# points on and beside the branch cuts (signed zeros), tiny and huge ones, and the poles' neighbours
_CUTS = np.array([complex(r, s) for r in (-3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0) for s in (0.0, -0.0)]
                 + [complex(s, r) for r in (-3.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 3.0) for s in (0.0, -0.0)]
                 + [1e-300 + 1e-300j, 1e-10 - 3e-11j, -2e-8 + 1e-9j, 1e200 - 1e200j, 0.5 + 0.86j, -0.99 + 1e-12j])


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", ["acos", "acosh", "asin", "asinh", "atan", "atanh", "log", "log1p", "log2",
                                  "log10", "sqrt", "expm1", "sinc"])
def test_branch_cuts_and_extremes_as_torch(name, dtype, device):
    torch = pytest.importorskip("torch")
    with np.errstate(all="ignore"):
        z = _CUTS.astype(dtype)
    ours = getattr(mt, name)(mt.tensor(z, device=device)).numpy()
    theirs = getattr(torch, name)(torch.tensor(z)).numpy()
    # |ours - theirs| within a few ulps of |theirs| (torch's kernels and NumPy's are different roundings
    # of one function: sinc(1e-10 - 3e-11j)'s imaginary part, 5e-18 next to a real part of 1, is noise);
    # a value on the wrong side of a cut differs by its whole imaginary (or real) part
    rtol = 2e-6 if dtype == "complex64" else 1e-14
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0, equal_nan=True)


def test_einsum_refuses_mixed_dtypes_as_torch(rng):
    torch = pytest.importorskip("torch")
    z, x = _c(rng, 3), mt.ones(3, dtype=mt.float64)
    with pytest.raises(RuntimeError):
        torch.einsum("i,i->", torch.tensor(z.detach().numpy()), torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="einsum"):
        mt.einsum("i,i->", z, x)
    with pytest.raises(TypeError, match="einsum"):
        mt.einsum("i,i->", z, mt.ones(3, dtype=mt.int64))


def test_lerp_weight_rules_as_torch(rng):
    torch = pytest.importorskip("torch")
    a = _c(rng, 3, grad=False)
    at = torch.tensor(a.numpy())
    with pytest.raises(RuntimeError):
        torch.lerp(at, at, torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="weight"):
        mt.lerp(a, a, mt.ones(3, dtype=mt.float64))
    with pytest.raises(TypeError, match="weight"):   # a complex weight with real tensors
        mt.lerp(a.real, a.real, 0.5j)


# ------------------------------------------------------------------ real and imag are views, as torch's

VIEW_WRITES = {   # each as (module, z) -> None, run on minitf and on torch alike
    "add_real": lambda m, z: z.real.add_(1), "setitem_imag": lambda m, z: z.imag.__setitem__(0, 3.0),
    "mul_then_exp": lambda m, z: (z.real.mul_(3), z.imag[1:].exp_()),
    "fill_zero": lambda m, z: (z.imag.fill_(-2), z.real[2:].zero_()),
    "copy_into_view_of_view": lambda m, z: z[1:].real.copy_(m.tensor([7.0, 8.0], dtype=z.real.dtype, device=z.device)),
    "view_as_real": lambda m, z: (m.view_as_real(z)[1:, 0].mul_(3), m.view_as_real(z)[0].fill_(2)),
    "view_as_complex_of_pairs": lambda m, z: m.view_as_complex(m.view_as_real(z)[1:]).mul_(1j),
    "setters": lambda m, z: (setattr(z, "real", 5), setattr(z, "imag", z.real * 2)),
    # a view read after its base changed: re-based, as torch's (minitf/view_rebase.py)
    "setter_reads_the_view": lambda m, z: setattr(z, "imag", z.imag * 2),
    "view_kept_across_a_change": lambda m, z: (lambda r: (z.imag.mul_(3), r.mul_(2)))(z.real),
}


@pytest.mark.parametrize("name", sorted(VIEW_WRITES))
def test_writes_through_real_and_imag_reach_the_tensor_as_torch(name, device, rng):
    torch = pytest.importorskip("torch")
    host = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    z, zt = mt.tensor(host, device=device), torch.tensor(host)
    VIEW_WRITES[name](mt, z), VIEW_WRITES[name](torch, zt)
    np.testing.assert_allclose(z.numpy(), zt.numpy(), rtol=1e-15)
    # the same writes recorded, on a non-leaf w = 2 z: gradients as torch's
    zg, zgt = mt.tensor(host, device=device, requires_grad=True), torch.tensor(host, requires_grad=True)
    w, wt = zg * 2, zgt * 2
    VIEW_WRITES[name](mt, w), VIEW_WRITES[name](torch, wt)
    np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=1e-15)
    u = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    (w * mt.tensor(u, device=device)).real.sum().backward()
    (wt * torch.tensor(u)).real.sum().backward()
    np.testing.assert_allclose(zg.grad.numpy(), zgt.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_view_as_complex_of_a_real_tensor_writes_through_as_torch(device, rng):
    torch = pytest.importorskip("torch")
    host = rng.standard_normal((3, 2))
    x, xt = mt.tensor(host, device=device, requires_grad=True), torch.tensor(host, requires_grad=True)
    for lib, leaf in ((mt, x), (torch, xt)):
        y = leaf * 1
        c = lib.view_as_complex(y)
        c.mul_(1 + 2j)   # y changes through its complex view
        (y * y * lib.tensor(host, device=leaf.device)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14)
    plain = mt.tensor(host, device=device)
    mt.view_as_complex(plain)[0] = 5j
    np.testing.assert_array_equal(plain.numpy()[0], [0.0, 5.0])
    pairs = mt.view_as_real(mt.tensor(host[:, 0] + 1j * host[:, 1], device=device).reshape(3, 1).T)   # any strides
    np.testing.assert_array_equal(pairs.numpy()[0], host)


def test_parts_share_memory_and_version_and_refuse_as_torch(rng):
    z = _c(rng, 3, grad=False)
    r, i = z.real, z.imag
    assert r.dtype == i.dtype == mt.float64 and r._base is z and r._version == z._version
    z.mul_(2)   # a change of z is seen through the views, and their counter is z's
    np.testing.assert_array_equal(r.numpy(), z.numpy().real)
    assert r._version == i._version == z._version
    leaf = _c(rng, 3)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        leaf.real.add_(1)
    with pytest.raises(mt.errors.DtypeError, match="non-complex"):
        mt.ones(2).imag = 1.0
    w = leaf * 1
    y = w.imag ** 2   # saved w.imag, then w's imaginary part changed: backward refuses, as torch
    w.imag.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_complex32_is_named_but_refused_as_bfloat16():
    torch = pytest.importorskip("torch")
    assert mt.chalf is mt.complex32 and mt.complex32 != mt.complex64 and repr(mt.complex32) == "minitf.complex32"
    for attr in ("is_complex", "is_floating_point", "itemsize"):
        assert getattr(mt.complex32, attr) == getattr(torch.complex32, attr)
    for make in (lambda: mt.zeros(2, dtype=mt.complex32), lambda: mt.ones(2).chalf(),
                 lambda: mt.tensor([1j], dtype=mt.chalf), lambda: mt.tensor([1j]).to(mt.complex32)):
        with pytest.raises(NotImplementedError, match="complex32 is not supported by minitf: NumPy has no complex32"):
            make()


def test_forward_mode_through_the_new_complex_forms_as_torch(rng):
    """jvp of real functions through them (forward AD reads their recorded backwards)."""
    torch = pytest.importorskip("torch")
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    for f in (lambda m, x: m.view_as_real(m.acos(x * 1j + 0.5) + m.acosh(x - 1j) * m.atanh(x * 0.3j)),
              lambda m, x: m.var((x + 1j) * x) + m.std(m.sinc(x * (1 - 1j))),
              lambda m, x: m.view_as_real(m.einsum("i,j->ij", x * 1j + 1, m.logcumsumexp(x * (2 - 1j), 0))),
              lambda m, x: m.linalg.vector_norm(m.tril(m.outer(x, x * 1j + 2)), 3)):
        ours = mt.func.jvp(lambda v: f(mt, v), (mt.tensor(x),), (mt.tensor(t),))[1]
        theirs = torch.func.jvp(lambda v: f(torch, v), (torch.tensor(x),), (torch.tensor(t),))[1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_outer_promotes_a_real_operand_with_a_complex_one_as_torch(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(3)
    z = a + 1j * rng.standard_normal(3)
    for x, y in ((a, z), (z, a)):   # (it cast the complex operand to the real dtype, discarding its imaginary part)
        np.testing.assert_allclose(mt.outer(mt.tensor(x), mt.tensor(y)).numpy(),
                                   torch.outer(torch.tensor(x), torch.tensor(y)).numpy(), rtol=1e-15)


def test_in_place_conj_nan_to_num_and_float_power_as_torch(device):
    torch = pytest.importorskip("torch")
    bad = np.array([complex(np.nan, 1), complex(np.inf, -np.inf), complex(1, np.nan), 2 - 3j])
    for fn in (lambda m, z: z.conj_physical_(), lambda m, z: m.nan_to_num(z, nan=2.0, posinf=5.0),
               lambda m, z: z.nan_to_num_(neginf=-7.0), lambda m, z: z.float_power_(2),
               lambda m, z: m.nan_to_num(z.to(m.complex64))):
        ours, theirs = fn(mt, mt.tensor(bad, device=device)), fn(torch, torch.tensor(bad))
        assert str(ours.dtype) == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # conj_physical_ recorded: torch's gradient through it
    host = np.array([1 + 2j, 3 - 1j])
    z, zt = mt.tensor(host, device=device, requires_grad=True), torch.tensor(host, requires_grad=True)
    for lib, leaf in ((mt, z), (torch, zt)):
        w = leaf * 1
        w.conj_physical_()
        (w * lib.tensor(np.array([1j, 2]), device=leaf.device)).real.sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), zt.grad.numpy())
    with pytest.raises(RuntimeError, match="nan_to_num does not support automatic differentiation"):
        mt.nan_to_num(z)
    with pytest.raises(mt.errors.DtypeError, match="requires dtype complex128"):
        mt.tensor([1j], dtype=mt.complex64).float_power_(2)
