"""`import minitf` stays light: the optional groups (convolution, the margin losses, printing, ...) are
imported on first use (minitf/_lazy.py), and every public name still resolves."""
import subprocess
import sys

import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn, optim

from .test_train import ROOT

# the modules `import minitf` must not import (each is loaded by the first use of one of its names)
LAZY = ["minitf.printing", "minitf.profiler", "minitf.grad_fn_names", "minitf.ops.conv", "minitf.ops.pooling",
        "minitf.ops.adaptive_pooling", "minitf.ops.fold", "minitf.ops.windows", "minitf.ops.batch_norm",
        "minitf.ops.margin_loss", "minitf.ops.likelihood_loss", "minitf.ops.interpolate",
        "minitf.ops.piecewise_activations", "minitf.ops.smooth_activations", "minitf.ops.special",
        "minitf.ops.binary_math", "minitf.ops.scan", "minitf.ops.products", "minitf.ops.distance",
        "minitf.ops.binning", "minitf.ops.split_stack", "minitf.ops.rearrange", "minitf.ops.embed",
        "minitf.special", "minitf.linalg", "minitf.nn", "minitf.optim", "minitf.optim.lbfgs", "minitf.nn.packed_rnn",
        "minitf.backend.scans", "minitf.backend.linalg", "minitf.ops.distributions", "minitf.ops.counting",
        "minitf.ops.more_reductions", "minitf.ops.more_shapes", "minitf.func", "minitf.testing",
        "minitf.distributions", "minitf.ops.gamma_sampling",   # (distributions group, round 4)
        "minitf.fft", "minitf.backend.fft", "minitf.complex_guard", "minitf.ops.complex_backward",   # (complex, round 6)
        "minitf.ops.complex_math", "minitf.ops.fill_values",   # (round 8: the fills' value check, on first use)
        "minitf.saved_tensors", "minitf.saved_tensors_context", "minitf.saved_tensors_release",   # autograd.graph's saved-tensor hooks (round 6)
        "minitf.saved_tensors_mutation", "minitf.type_objects", "minitf.autograd_legacy",   # (round 7)
        "minitf.ops.linear_cross_entropy",
        "minitf.signal", "minitf.signal.windows", "minitf.fft.short_time",   # (spectral group, round 7)
        "shutil", "pathlib", "threading", "dataclasses"]
# and `from minitf import nn, optim` not these
LAZY_NN = ["minitf.nn.conv", "minitf.nn.pooling", "minitf.nn.batchnorm", "minitf.nn.margin_loss",
           "minitf.nn.activation_more", "minitf.nn.upsampling", "minitf.nn.packed_rnn", "minitf.optim.lbfgs",
           "minitf.ops.conv", "minitf.ops.batch_norm", "minitf.ops.interpolate",
           # optimizers and schedulers group (round 3)
           "minitf.optim.adam_variants", "minitf.optim.rprop", "minitf.optim.asgd", "minitf.optim.swa_utils",
           "minitf.nn.linear_cross_entropy", "minitf.nn.linear_cross_entropy_options"]


def printed(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (which must succeed)."""
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def imported_after(statement: str) -> set:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_import_minitf_does_not_import_the_optional_groups():
    # minus what the interpreter's start-up imports by itself (a virtual environment's .pth files may
    # load pathlib, say): only what `import minitf` adds counts
    loaded = imported_after("import minitf") - imported_after("pass")
    assert "minitf.ops" in loaded and "minitf.functional" in loaded   # (the check sees minitf's modules)
    assert sorted(set(LAZY) & loaded) == []


def test_import_nn_and_optim_do_not_import_their_optional_groups():
    loaded = imported_after("from minitf import nn, optim")
    assert "minitf.nn.linear" in loaded and "minitf.optim.optimizers" in loaded
    assert sorted(set(LAZY_NN) & loaded) == []


def test_first_use_imports_the_group_and_a_repr_imports_printing():
    loaded = imported_after("import minitf as mt\nmt.conv2d\nrepr(mt.zeros(2))")
    assert {"minitf.ops.conv", "minitf.printing"} <= loaded and "minitf.ops.batch_norm" not in loaded


@pytest.mark.parametrize("module", [F, nn, optim], ids=["functional", "nn", "optim"])
def test_every_name_in_all_resolves_and_is_in_dir(module):
    names = module.__all__
    for name in names:
        assert getattr(module, name) is not None, name
    assert set(names) <= set(dir(module))


def test_the_lazy_names_of_minitf_resolve_and_are_in_dir():
    lazy = [name for names in mt._LAZY_GROUPS.values() for name in names]
    assert "conv2d" in lazy and "set_printoptions" in lazy
    for name in lazy:
        assert callable(getattr(mt, name)), name
    assert set(lazy) <= set(dir(mt))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        mt.no_such_name


def test_star_imports_give_the_lazy_names():
    namespace = {}
    exec("from minitf.nn.functional import *", namespace)
    assert namespace["conv2d"] is F.conv2d and namespace["interpolate"] is F.interpolate
    assert set(F.__all__) <= set(namespace)
    namespace = {}
    exec("from minitf.nn import *", namespace)
    assert namespace["Conv2d"] is nn.Conv2d and set(nn.__all__) <= set(namespace)


def test_each_lazy_table_matches_all():
    # the names imported on first use are public: each module's __all__ lists them (star imports see them)
    for module in (F, nn):
        lazy = {name for names in module._LAZY_GROUPS.values() for name in names}
        assert lazy <= set(module.__all__), sorted(lazy - set(module.__all__))
    assert "LBFGS" in optim.__all__


def test_tensor_methods_of_lazy_groups_import_on_first_call():
    code = ("import minitf as mt\nx = mt.tensor([[0.5, -0.25], [0.125, 1.0]])\n"
            "print(x.acos().shape, x.cummax(0).values.shape, x.kron(x).shape, x.xlogy(x).shape,"
            " x.histc(4).shape, x.rot90().shape, len(x.tensor_split(2)), x)")
    assert printed(code).startswith("(2, 2) (2, 2) (4, 4) (2, 2) (4,) (2, 2) 2 tensor([[")


def _table_names(*tables):
    return [name for table in tables for names in table.values() for name in names]


def test_no_name_is_in_two_lazy_tables_nor_shadowed_by_an_eager_one():
    # two groups giving the same name (two helpers' copies of one function) would leave one of them dead,
    # and so would a lazy entry for a name the package already imports eagerly
    import minitf
    for module, names in [(minitf, _table_names(mt._LAZY_GROUPS, mt._TENSOR_API_GROUPS) + list(mt._LINALG_ALIASES)),
                          (F, _table_names(F._LAZY_GROUPS)), (nn, _table_names(nn._LAZY_GROUPS))]:
        twice = sorted({n for n in names if names.count(n) > 1})
        assert twice == [], (module.__name__, twice)
        code = f"import {module.__name__} as m\nprint(' '.join(sorted(vars(m))))"
        p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        shadowed = sorted(set(names) & set(p.stdout.split()))
        assert shadowed == [], (module.__name__, shadowed)


def test_import_distributions_loads_none_of_its_submodules():
    loaded = imported_after("import minitf.distributions") - imported_after("import minitf")
    assert "minitf.distributions" in loaded
    assert sorted(m for m in loaded if m.startswith("minitf.distributions.")) == []


def test_a_distribution_loads_its_module_only():
    loaded = imported_after("import minitf.distributions as D\nD.Normal(0.0, 1.0).sample()")
    assert "minitf.distributions.continuous" in loaded
    assert not {"minitf.distributions.matrix_distributions", "minitf.distributions.kl",
                "minitf.distributions.transforms_structural"} & loaded


def test_every_name_of_distributions_resolves_and_star_import_sees_them():
    from minitf import distributions as D
    for name in D.__all__:
        assert getattr(D, name) is not None, name
    assert set(D.__all__) <= set(dir(D))
    assert D.transforms.ExpTransform is D.ExpTransform and D.utils.sum_rightmost is not None
    namespace = {}
    exec("from minitf.distributions import *", namespace)
    assert namespace["Normal"] is D.Normal and namespace["kl_divergence"] is D.kl_divergence


def test_kl_loads_the_modules_of_its_other_pairs_and_a_users_pair_replaces_a_built_in_one():
    # fresh processes: the pair modules (kl_positive registers HalfNormal's) not yet imported
    code = ("import minitf as mt, minitf.distributions as D\n"
            "p, q = D.HalfNormal(mt.tensor(1.0)), D.HalfNormal(mt.tensor(2.0))\n"
            "print(float(D.kl_divergence(p, q)), float(D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.0, 2.0))))")
    half, full = map(float, printed(code).split())
    assert abs(half - full) < 1e-6   # (KL of two half-normals with one scale ratio is the normals')
    code = ("import minitf as mt, minitf.distributions as D\n"
            "D.register_kl(D.HalfNormal, D.HalfNormal)(lambda p, q: mt.tensor(-1.0))\n"
            "print(float(D.kl_divergence(D.HalfNormal(mt.tensor(1.0)), D.HalfNormal(mt.tensor(2.0)))))")
    assert float(printed(code)) == -1.0
