"""Shared fixtures: every device test runs on the CPU, on the strict fake device and,
where CuPy finds a usable GPU, on the real GPU too.

``MINITF_TEST_DEVICES=cpu,fake,gpu`` (any subset, comma-separated) chooses the
devices instead; a ``gpu`` case on a machine without a usable GPU is skipped
with the reason, never failed.
"""
import os

import numpy as np
import pytest

import minitf as mt
from minitf import backend

KNOWN_DEVICES = ("cpu", "fake", "gpu")


def _test_devices():
    env = os.environ.get("MINITF_TEST_DEVICES")
    if env is None:  # the default: cpu and fake always, gpu where one answers
        return ["cpu", "fake"] + (["gpu"] if backend.gpu_available() else [])
    names = [n.strip() for n in env.split(",") if n.strip()]
    unknown = sorted(set(names) - set(KNOWN_DEVICES))
    if unknown or not names:
        raise pytest.UsageError(f"MINITF_TEST_DEVICES={env!r}: expected a comma-separated subset of "
                                f"{', '.join(KNOWN_DEVICES)}")
    return names


DEVICES = _test_devices()

if os.environ.get("MINITF_TEST_FUSED_REFERENCE") == "1":
    # the whole suite through the ops' fused branches on the CPU: the fused CUDA kernels written
    # with NumPy (tests/fused_reference.py) stand in for NumPy arrays. A check run on purpose, not
    # by CI: four tests fail by construction here (three compare a run with one in a subprocess,
    # which takes the array path; one reads GELU's saved array), all others pass (2026-12-04)
    from minitf.backend import fused as _fused
    from tests import fused_reference as _fused_reference
    _fused.stand_in = _fused_reference


def _installed_torch():
    """(major, minor) of the installed torch, read from its metadata (nothing imported), or None."""
    import re
    from importlib.metadata import PackageNotFoundError, version
    try:
        found = re.match(r"(\d+)\.(\d+)", version("torch"))
    except PackageNotFoundError:
        return None
    return (int(found[1]), int(found[2])) if found else None


def pytest_runtest_setup(item):
    # a reference test of behaviour PyTorch gained in a later release (an op, a keyword, an error
    # message) is skipped under an older torch, not failed: the GPU machine's image has torch 2.11
    marker = item.get_closest_marker("torch_behaviour")
    if marker is None:
        return
    have, want = _installed_torch(), tuple(int(n) for n in marker.args[0].split("."))
    if have is not None and have < want:
        pytest.skip(f"compares with PyTorch >= {marker.args[0]}'s behaviour; torch {have[0]}.{have[1]} is installed")


@pytest.fixture(params=DEVICES)
def device(request):
    """The device under test: NumPy, the fake GPU that behaves like CuPy, or a real GPU."""
    if request.param == "gpu" and not backend.gpu_available():
        pytest.skip(f"no usable GPU: {backend.gpu_unavailable_reason()}")
    return request.param


EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture(scope="module")
def script():
    """``script(name)`` imports ``examples/<name>.py`` (examples/ on sys.path for the module)."""
    import importlib
    import sys
    sys.path.insert(0, EXAMPLES)
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(EXAMPLES)


@pytest.fixture
def complex_isolated():
    """For tests that make complex tensors: the complex guard they arm (minitf/complex_guard.py, for the
    rest of the process) is taken off afterwards, so other test files run as real programs do."""
    yield
    from minitf import complex_guard
    if complex_guard.armed:
        complex_guard.disarm()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small text file (about 15 kB of a few words' sentences) for runs that train a tiny model:
    tests never need the real corpus."""
    import random
    rng = random.Random(0)
    words = "the king and queen of a far land went to sea with their son who was a fool".split()
    text = "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) + "." for _ in range(300))
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _no_leaked_state():
    """Fail a test that leaves graph recording switched off."""
    yield
    assert mt.is_grad_enabled(), "a test left no_grad() active"


def randt(rng, *shape, device="cpu", requires_grad=True, scale=1.0):
    """A float64 tensor of standard-normal values (the gradcheck default)."""
    return mt.tensor(scale * rng.standard_normal(shape), dtype="float64", device=device,
                     requires_grad=requires_grad)


# --------------------------------------------------------------------------- hypothesis
# One fixed profile so CI is deterministic: derandomize picks examples from a seed
# derived from the test itself, and no example database carries state between runs.
# `HYPOTHESIS_PROFILE=explore pytest ...` draws fresh random examples on every run
# (tests keep their own max_examples), to hunt for new failures now and then.
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_QUIET = [HealthCheck.function_scoped_fixture,  # `device` is a plain string, safe to share
          HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", derandomize=True, deadline=None, database=None,
                          max_examples=20, suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("explore", deadline=None, database=None, suppress_health_check=_QUIET)
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "ci"))

# gradcheck tolerances for every op test: an element passes when
# |analytic - numeric| <= ATOL + RTOL |numeric| (float64, central differences)
RTOL, ATOL = 1e-6, 1e-8


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes, size-1 dimensions included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def floats(shape, lo=-2.0, hi=2.0):
    """A float64 array of ``shape`` with values in [lo, hi]."""
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                                                            allow_subnormal=False, width=64))


def away_from_zero(a, gap=0.1):
    """Move every value at least ``gap`` away from 0, keeping its sign (0 goes to +gap)."""
    return np.where(a >= 0, a + gap, a - gap)


def distinct(draw_fn, shape, spacing=0.25):
    """Values with no ties anywhere (distinct by at least ``spacing``): a shuffled ramp plus
    small hypothesis-chosen offsets, for ops that are not differentiable at ties (max)."""
    size = int(np.prod(shape))
    perm = np.asarray(draw_fn(st.permutations(range(size))), dtype=np.float64)
    jitter = draw_fn(floats((size,), 0.0, spacing / 2))
    return ((perm - size / 2) * spacing + jitter).reshape(shape)


def device_tensor(a, device, requires_grad=True):
    """A host array as a tensor on ``device``: float arrays become float64, ints int64."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return mt.tensor(a, dtype="float64", device=device, requires_grad=requires_grad)
    return mt.tensor(a, device=device)


def assert_forward(out, expected, device, rtol=1e-10, atol=1e-12):
    """``out`` lives on ``device``, has the reference's shape and dtype float64, and its values."""
    expected = np.asarray(expected, dtype=np.float64)
    assert out.device == device
    assert out.shape == expected.shape, f"shape {out.shape}, reference {expected.shape}"
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=rtol, atol=atol)


def check_op(op, reference, arrays, device, **gradcheck_kw):
    """Run ``op`` on tensors made from ``arrays`` (float ones require grad) on ``device``,
    compare with ``reference(*arrays)`` (plain NumPy), then gradcheck ``op`` in float64."""
    tensors = [device_tensor(a, device) for a in arrays]
    assert_forward(op(*tensors), reference(*arrays), device)
    gradcheck_kw.setdefault("rtol", RTOL)
    gradcheck_kw.setdefault("atol", ATOL)
    assert mt.gradcheck(op, tensors, **gradcheck_kw)
    return tensors


@pytest.fixture
def restore_rng():
    """Put minitf's global random state (``manual_seed``) back as it was after the test."""
    from minitf import random as mt_random
    seed, gens = mt_random._seed, dict(mt_random._generators)
    yield
    mt_random._seed = seed
    mt_random._generators.clear()
    mt_random._generators.update(gens)
