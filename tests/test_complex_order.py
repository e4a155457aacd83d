"""Complex input to the ops computed outside the graph (comparisons, sort, argmax, unique ...): each
refuses as torch does (complex numbers have no order), where NumPy would order them
lexicographically; == and != (and the other tests of equality) answer as torch."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import DtypeNotImplemented


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py)

Z = np.array([1 + 2j, 3 - 1j, 1 - 5j])

# each as (minitf or torch module, z) -> the op; the same code runs on both libraries
REFUSED = {
    "lt": lambda m, z: z < z, "gt": lambda m, z: z > 1, "le": lambda m, z: 1 <= z, "ge": lambda m, z: m.ge(z, z),
    "lt_real": lambda m, z: m.lt(z.real, z), "lt_method": lambda m, z: z.lt(0),
    "gt_in_place": lambda m, z: z.clone().gt_(z), "lt_of_python_complex": lambda m, z: z.real < 1j,
    "sort": lambda m, z: m.sort(z), "sort_method": lambda m, z: z.sort(descending=True),
    "sort_0d": lambda m, z: m.sort(z[0]), "argsort": lambda m, z: m.argsort(z), "msort": lambda m, z: m.msort(z),
    "topk": lambda m, z: m.topk(z, 1), "argmax": lambda m, z: m.argmax(z), "argmin": lambda m, z: z.argmin(0),
    "max": lambda m, z: m.max(z), "min_dim": lambda m, z: m.min(z, 0), "amax": lambda m, z: m.amax(z),
    "aminmax": lambda m, z: m.aminmax(z), "maximum": lambda m, z: m.maximum(z, z),
    "minimum": lambda m, z: m.minimum(z, z), "fmax": lambda m, z: m.fmax(z, z),
    "clamp": lambda m, z: m.clamp(z, 0, 1), "clamp_min": lambda m, z: z.clamp(min=0),
    "clamp_in_place": lambda m, z: z.clone().clamp_(0, 1), "kthvalue": lambda m, z: m.kthvalue(z, 1),
    "median": lambda m, z: m.median(z), "nanmedian": lambda m, z: m.nanmedian(z),
    "mode": lambda m, z: m.mode(z), "cummax": lambda m, z: m.cummax(z, 0), "cummin": lambda m, z: m.cummin(z, 0),
    "unique": lambda m, z: m.unique(z), "unique_dim": lambda m, z: m.unique(z, dim=0),
    "unique_consecutive": lambda m, z: m.unique_consecutive(z), "isin": lambda m, z: m.isin(z, z),
    "searchsorted": lambda m, z: m.searchsorted(z, z),
    "searchsorted_values": lambda m, z: m.searchsorted(z.real[:2], z),
    "bucketize": lambda m, z: m.bucketize(z, z.real[:2]),
    "heaviside": lambda m, z: m.heaviside(z, z), "signbit": lambda m, z: m.signbit(z),
    "sign": lambda m, z: m.sign(z), "isposinf": lambda m, z: m.isposinf(z), "isneginf": lambda m, z: m.isneginf(z),
    "nansum": lambda m, z: m.nansum(z), "nanmean": lambda m, z: m.nanmean(z), "floor": lambda m, z: m.floor(z),
    "round": lambda m, z: m.round(z), "relu": lambda m, z: m.relu(z), "quantile": lambda m, z: m.quantile(z, 0.5),
    "histc": lambda m, z: m.histc(z),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name, device):
    torch = pytest.importorskip("torch")
    fn = REFUSED[name]
    with pytest.raises(Exception) as theirs:
        fn(torch, torch.tensor(Z))
    with pytest.raises(type(theirs.value)) as ours:   # (RuntimeError or its NotImplementedError, as torch's)
        fn(mt, mt.tensor(Z, device=device))
    assert "complex" in str(ours.value).lower()


ALLOWED = {
    "eq": lambda m, z: z == z[0], "ne": lambda m, z: z != 1 + 2j, "eq_python_complex": lambda m, z: z.real == 1 + 0j, "eq_fn": lambda m, z: m.eq(z, z.conj()),
    "ne_fn": lambda m, z: m.ne(z, z), "isclose": lambda m, z: m.isclose(z, z + 1e-9),
    "isfinite": lambda m, z: m.isfinite(z), "isnan": lambda m, z: m.isnan(z), "isinf": lambda m, z: m.isinf(z),
    "nonzero": lambda m, z: m.nonzero(z * (z.real > 2)), "count_nonzero": lambda m, z: m.count_nonzero(z),
    "logical_not": lambda m, z: m.logical_not(z), "any": lambda m, z: m.any(z), "all": lambda m, z: m.all(z * 0),
    "kthvalue_0d": lambda m, z: m.kthvalue(z[1], 1)[0], "mode_0d": lambda m, z: m.mode(z[2])[0],
}


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_equality_and_tests_answer_as_torch(name, device):
    torch = pytest.importorskip("torch")
    fn = ALLOWED[name]
    np.testing.assert_array_equal(fn(mt, mt.tensor(Z, device=device)).numpy(), fn(torch, torch.tensor(Z)).numpy())
    assert mt.equal(mt.tensor(Z), mt.tensor(Z)) and mt.allclose(mt.tensor(Z), mt.tensor(Z))


def test_the_refusal_is_one_line_naming_the_op():
    with pytest.raises(DtypeNotImplemented, match=r"^argsort: not implemented for complex tensors \(complex "
                                                  r"numbers have no order\), as torch$"):
        mt.argsort(mt.tensor(Z))
