"""var / std / var_mean / std_mean take torch's argument forms: f(x), f(x, unbiased), f(x, dim,
unbiased, keepdim), f(x, dim, correction=, keepdim=), and NumPy's axis= / keepdims= beside them.
The second positional is unbiased, never keepdim: ``x.var(0, False)`` once gave the sample
variance (keepdims=False) where torch gives the population one. Values from NumPy's ddof; against
torch where it is installed."""
import numpy as np
import pytest

import minitf as mt

A = np.array([[1.0, 2.0, 4.0, 8.0], [0.0, 3.0, 3.0, -1.0], [5.0, -2.0, 0.5, 1.0]])

# (args, kwargs) -> (axis, keepdims, ddof) as NumPy computes them
FORMS = [
    ((), {}, (None, False, 1)),
    ((False,), {}, (None, False, 0)),
    ((True,), {}, (None, False, 1)),
    ((1,), {}, (1, False, 1)),
    ((1, False), {}, (1, False, 0)),
    ((0, True), {}, (0, False, 1)),
    ((1, False, True), {}, (1, True, 0)),
    ((None, False), {}, (None, False, 0)),
    (((0, 1), True, True), {}, ((0, 1), True, 1)),
    ((1,), {"keepdim": True}, (1, True, 1)),
    ((0,), {"correction": 0}, (0, False, 0)),
    ((0,), {"correction": 2, "keepdim": True}, (0, True, 2)),
    ((), {"unbiased": False}, (None, False, 0)),
    ((1,), {"unbiased": False, "keepdim": True}, (1, True, 0)),
    ((), {"dim": 1, "unbiased": False}, (1, False, 0)),
]


def _host(t):
    return mt.backend.to_numpy(t.data)


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("form", range(len(FORMS)))
def test_variance_argument_forms(name, form, device):
    args, kwargs, (axis, keepdims, ddof) = FORMS[form]
    x = mt.tensor(A, dtype=mt.float64, device=device)
    want = A.var(axis=axis, keepdims=keepdims, ddof=ddof)
    if name.startswith("std"):
        want = np.sqrt(want)
    calls = [getattr(mt, name)(x, *args, **kwargs)]
    if name in ("var", "std"):
        calls.append(getattr(x, name)(*args, **kwargs))   # the method: the same forms
    for got in calls:
        if name.endswith("_mean"):
            got, mean = got
            np.testing.assert_allclose(_host(mean), A.mean(axis=axis, keepdims=keepdims), rtol=1e-15)
        assert got.shape == want.shape
        np.testing.assert_allclose(_host(got), want, rtol=1e-14)


def test_numpy_keywords_still_work(device):
    x = mt.tensor(A, dtype=mt.float64, device=device)
    assert x.var(axis=1, keepdims=True).shape == (3, 1)
    np.testing.assert_allclose(_host(mt.std(x, axis=0, correction=0)), A.std(axis=0), rtol=1e-15)
    with pytest.raises(TypeError, match="dim or axis"):
        x.var(0, axis=1)


@pytest.mark.parametrize("call, match", [
    (lambda x: x.var(0, 1), "unbiased .* must be a bool"),      # torch: TypeError too
    (lambda x: mt.std(x, True, False), "unbiased given twice"),
    (lambda x: x.var(0, True, correction=0), "correction or unbiased"),
    (lambda x: mt.var_mean(x, 0, 2), "unbiased .* must be a bool"),
])
def test_ambiguous_forms_are_refused(call, match):
    with pytest.raises(TypeError, match=match):
        call(mt.tensor(A))


def test_variance_forms_against_torch():
    torch = pytest.importorskip("torch")
    for args, kwargs, _ in FORMS:
        for name in ("var", "std", "var_mean", "std_mean"):
            ours = getattr(mt, name)(mt.tensor(A), *args, **kwargs)
            theirs = getattr(torch, name)(torch.tensor(A), *args, **kwargs)
            ours, theirs = (v if isinstance(v, tuple) else (v,) for v in (ours, theirs))
            for o, t in zip(ours, theirs):
                assert o.shape == tuple(t.shape), (name, args, kwargs)
                np.testing.assert_allclose(_host(o), t.numpy(), rtol=1e-14, err_msg=f"{name} {args} {kwargs}")
    for bad in (lambda m, x: x.var(0, 1), lambda m, x: m.std(x, True, False),
                lambda m, x: x.var(0, True, correction=0)):
        for lib in (mt, torch):
            with pytest.raises(TypeError):
                bad(lib, lib.tensor(A))
