"""nn.init.eye_, dirac_, sparse_ and the deprecated names without the underscore, against torch 2.13."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn


@pytest.mark.parametrize("shape,groups", [((4, 3, 3), 1), ((6, 4, 3, 5), 2), ((6, 4, 3, 5), 3), ((2, 5, 3, 3, 2), 1),
                                          ((3, 2, 4), 1), ((4, 8, 1, 1), 4), ((0, 3, 3), 1)])
def test_dirac_matches_torch(device, shape, groups):
    torch = pytest.importorskip("torch")
    t = mt.full(shape, 7.0, device=device)
    assert nn.init.dirac_(t, groups) is t
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.dirac_(torch.full(shape, 7.0), groups).numpy())


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (0, 2)])
def test_eye_matches_torch(device, shape):
    torch = pytest.importorskip("torch")
    t = mt.full(shape, 7.0, device=device)
    v = t._version
    nn.init.eye_(t)
    assert t._version == v + 1
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.eye_(torch.full(shape, 7.0)).numpy())


def test_identity_init_errors_with_torch_meaning():
    torch = pytest.importorskip("torch")
    for ours, theirs, arg in ((nn.init.eye_, torch.nn.init.eye_, (2, 2, 2)),
                              (nn.init.dirac_, torch.nn.init.dirac_, (2, 2)),
                              (nn.init.sparse_, lambda t: torch.nn.init.sparse_(t, 0.5), (2, 2, 2))):
        with pytest.raises(ValueError) as e_t:
            theirs(torch.zeros(arg))
        with pytest.raises(ValueError, match="dimensions are supported"):
            ours(mt.zeros(*arg)) if ours is not nn.init.sparse_ else ours(mt.zeros(*arg), 0.5)
        assert "dimensions are supported" in str(e_t.value)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.init.dirac_(mt.zeros(5, 2, 3), 2)


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 1.0])
def test_sparse_zeros_per_column_and_std(device, sparsity):
    rows, cols = 40, 30
    t = mt.zeros(rows, cols, device=device)
    nn.init.sparse_(t, sparsity, std=0.5, generator=mt.Generator().manual_seed(3))
    a = t.numpy()
    n_zero = int(np.ceil(sparsity * rows))
    assert ((a == 0).sum(axis=0) == n_zero).all()   # exactly ceil(sparsity * rows) per column, as torch
    if n_zero < rows:
        assert np.std(a[a != 0]) == pytest.approx(0.5, rel=0.15)
    t2 = mt.zeros(rows, cols, device=device)
    nn.init.sparse_(t2, sparsity, std=0.5, generator=mt.Generator().manual_seed(3))
    np.testing.assert_array_equal(t2.numpy(), a)   # the generator decides
    with pytest.raises(TypeError, match="floating point"):
        nn.init.sparse_(mt.zeros(2, 2, dtype="int64"), 0.5)


DEPRECATED = ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
              "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]


def test_deprecated_names_warn_as_torch_and_call_the_new_ones():
    torch = pytest.importorskip("torch")
    args = {"constant": (0.5,), "sparse": (0.5,)}
    for name in DEPRECATED:
        assert hasattr(torch.nn.init, name)
        shape = (3, 2, 3) if name == "dirac" else (4, 3)
        with pytest.warns(FutureWarning) as rec_t:
            torch.nn.init.__dict__[name](torch.zeros(shape), *args.get(name, ()))
        with pytest.warns(FutureWarning) as rec:
            a = getattr(nn.init, name)(mt.zeros(*shape), *args.get(name, ()))
        assert str(rec[0].message) == str(rec_t[0].message) == \
            f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."
        assert rec[0].filename == __file__   # the caller's line, as torch's stacklevel=2
        assert getattr(nn.init, name).__name__ == name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if name in ("uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                        "kaiming_normal", "orthogonal", "sparse"):   # draws: the same generator, same values
                a = getattr(nn.init, name)(mt.zeros(*shape), *args.get(name, ()),
                                           generator=mt.Generator().manual_seed(1))
                b = getattr(nn.init, name + "_")(mt.zeros(*shape), *args.get(name, ()),
                                                 generator=mt.Generator().manual_seed(1))
            else:
                b = getattr(nn.init, name + "_")(mt.zeros(*shape), *args.get(name, ()))
        np.testing.assert_array_equal(a.numpy(), b.numpy())
