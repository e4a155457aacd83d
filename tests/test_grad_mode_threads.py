"""Grad mode and the debug tools across threads, each scenario run with minitf and with torch (where
torch is installed) and held to the same outcome: grad mode, inference mode, saved-tensor hooks, the
profiler and allow_mutation_on_saved_tensors are per thread (a new thread starts with grad mode on,
outside inference mode, with no hooks); anomaly mode and forward-AD levels are the process's.
Threads are interleaved with Events and Barriers, so every check runs while the other thread is
inside its block."""
import threading

import numpy as np
import pytest

import minitf as mt
from minitf.autograd import Function

WAIT = 10   # seconds an Event or Barrier may take before the test fails (never reached when it passes)


@pytest.fixture(params=["minitf", "torch"])
def lib(request):
    return mt if request.param == "minitf" else pytest.importorskip("torch")


def _run(*targets):
    """Run each function in a thread of its own, at once; re-raise the first error any raised."""
    errors = []

    def guard(f):
        def run():
            try:
                f()
            except BaseException as e:   # noqa: BLE001  (re-raised in the test's thread below)
                errors.append(e)
        return run
    threads = [threading.Thread(target=guard(f)) for f in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 3)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def _in_thread(f):
    """``f()`` run in a new thread; its result."""
    out = []
    _run(lambda: out.append(f()))
    return out[0]


def _wait(event):
    assert event.wait(WAIT), "the other thread never got there"


def _records(lib, x):
    """Whether an op on ``x`` (which requires grad) is recorded here and now."""
    y = x * 2
    return y.requires_grad and y.grad_fn is not None


def test_no_grad_in_one_thread_leaves_another_recording(lib):
    x = lib.ones(3, requires_grad=True)
    inside, looked = threading.Event(), threading.Event()
    seen = {}

    def a():
        with lib.no_grad():
            inside.set()
            _wait(looked)   # b looks while a is inside no_grad
            seen["a inside"] = (lib.is_grad_enabled(), _records(lib, x))
        seen["a after"] = lib.is_grad_enabled()

    def b():
        _wait(inside)
        seen["b"] = (lib.is_grad_enabled(), _records(lib, x))
        with lib.enable_grad():   # b's own switches change nothing in a
            pass
        looked.set()
    _run(a, b)
    assert seen == {"a inside": (False, False), "a after": True, "b": (True, True)}


def test_a_new_thread_starts_with_grad_mode_on(lib):
    x = lib.ones(3, requires_grad=True)
    with lib.no_grad():
        assert _in_thread(lambda: (lib.is_grad_enabled(), _records(lib, x))) == (True, True)
        assert not lib.is_grad_enabled()   # and the thread left this one's mode alone
    lib.set_grad_enabled(False)
    try:
        assert _in_thread(lib.is_grad_enabled) is True
    finally:
        lib.set_grad_enabled(True)


def test_set_grad_enabled_is_per_thread_as_function_context_and_decorator(lib):
    x = lib.ones(3, requires_grad=True)
    off, looked = threading.Event(), threading.Event()
    seen = {}

    def a():
        lib.set_grad_enabled(False)   # the function: for the rest of this thread
        off.set()
        _wait(looked)
        seen["a"] = (lib.is_grad_enabled(), _records(lib, x))
        with lib.set_grad_enabled(True):   # the context: back to off on leaving
            seen["a ctx"] = lib.is_grad_enabled()
        seen["a after ctx"] = lib.is_grad_enabled()

        @lib.set_grad_enabled(True)
        def on():
            return lib.is_grad_enabled()
        seen["a decorated"] = (on(), lib.is_grad_enabled())

    def b():
        _wait(off)
        seen["b"] = (lib.is_grad_enabled(), _records(lib, x))
        looked.set()
    _run(a, b)
    assert seen == {"a": (False, False), "a ctx": True, "a after ctx": False,
                    "a decorated": (True, False), "b": (True, True)}
    assert lib.is_grad_enabled()   # this thread's mode was never touched


def test_inference_mode_is_per_thread(lib):
    x = lib.ones(3, requires_grad=True)
    with lib.inference_mode():
        fresh = _in_thread(lambda: (lib.is_inference_mode_enabled(), lib.is_grad_enabled(), _records(lib, x)))
        assert fresh == (False, True, True)
        assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
    inside, looked = threading.Event(), threading.Event()
    seen = {}

    def a():
        with lib.inference_mode():
            inside.set()
            _wait(looked)
            seen["a"] = (lib.is_inference_mode_enabled(), lib.is_grad_enabled())
        seen["a after"] = lib.is_inference_mode_enabled()

    def b():
        _wait(inside)
        seen["b"] = (lib.is_inference_mode_enabled(), lib.is_grad_enabled())
        looked.set()
    _run(a, b)
    assert seen == {"a": (True, False), "a after": False, "b": (False, True)}


def _graph_module(lib):
    return mt.autograd.graph if lib is mt else lib.autograd.graph


def test_saved_tensors_hooks_are_per_thread(lib):
    graph = _graph_module(lib)
    logs = {"a": [], "b": [], "c": []}
    entered = threading.Barrier(3, timeout=WAIT)
    ran = threading.Barrier(3, timeout=WAIT)

    def worker(name, hooked):
        def run():
            x = lib.ones(3, requires_grad=True)

            def pack(t):
                logs[name].append(tuple(t.shape))
                return t

            def body():
                entered.wait()          # a and b have entered their hooks, c none
                y = (x * x).sum()       # Mul saves x (twice)
                ran.wait()              # nobody leaves before everyone has recorded
                y.backward()
                assert x.grad.tolist() == [2.0, 2.0, 2.0]
            if hooked:
                with graph.saved_tensors_hooks(pack, lambda t: t):
                    body()
            else:
                body()
        return run
    _run(worker("a", True), worker("b", True), worker("c", False))
    assert logs["a"] == logs["b"] and len(logs["a"]) > 0   # each packed its own ops, once
    assert logs["c"] == []


def test_saved_tensors_hooks_entered_in_the_main_thread_leave_a_new_one_alone(lib):
    graph = _graph_module(lib)
    packed = []

    def pack(t):
        packed.append(threading.current_thread().name)
        return t

    def op():
        x = lib.ones(2, requires_grad=True)
        (x * x).sum().backward()
        return x.grad.tolist()
    with graph.saved_tensors_hooks(pack, lambda t: t):
        assert _in_thread(op) == [2.0, 2.0]
        assert packed == []
        op()
    assert packed and set(packed) == {threading.current_thread().name}


def test_backward_in_a_worker_thread(lib):
    """A graph built and run backward in a thread while the main thread is under no_grad, and one
    built in the main thread run backward in another."""
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def build_and_run():
        (x * x).sum().backward()
        return x.grad.tolist()
    with lib.no_grad():
        assert _in_thread(build_and_run) == [2.0, 4.0, 6.0]
    x.grad = None
    y = (x ** 3).sum()
    _in_thread(y.backward)
    assert x.grad.tolist() == [3.0, 12.0, 27.0]


def test_anomaly_mode_is_the_process_s(lib):
    anomaly = mt if lib is mt else lib.autograd
    is_on = mt.is_anomaly_enabled if lib is mt else lib.is_anomaly_enabled
    with pytest.warns(UserWarning) if lib is not mt else _nothing():   # (torch warns that it is slow)
        with anomaly.detect_anomaly():
            assert _in_thread(is_on) is True
    assert _in_thread(is_on) is False
    lib.autograd.set_detect_anomaly(True)
    try:
        assert _in_thread(is_on) is True
    finally:
        lib.autograd.set_detect_anomaly(False)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_forward_ad_levels_are_the_process_s(lib):
    fwAD = mt.autograd.forward_ad if lib is mt else lib.autograd.forward_ad

    def tangent():
        x = fwAD.make_dual(lib.zeros(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64))
        return fwAD.unpack_dual(x.sin()).tangent.tolist()
    with fwAD.dual_level():
        assert _in_thread(tangent) == [1.0, 1.0]


def test_allow_mutation_on_saved_tensors_is_per_thread(lib):
    graph = _graph_module(lib)

    def mutate_then_backward():
        a = lib.ones(3, requires_grad=True).clone()
        b = a.sin()            # saves a
        a.mul_(2)
        b.sum().backward()     # a saved tensor was changed: an error outside the context
    with graph.allow_mutation_on_saved_tensors():
        with pytest.raises(RuntimeError):
            _in_thread(mutate_then_backward)
        mutate_then_backward()   # in the context's own thread: allowed


def test_profile_records_its_own_thread_only():
    """As torch's autograd profiler (thread-local): an op another thread runs meanwhile is not in it."""
    with mt.profile() as prof:
        _in_thread(lambda: mt.ones(3).sin())
        mt.ones(3).cos()
    assert [(s.name, s.direction, s.calls) for s in prof.stats] == [("Cos", "forward", 1)]
    torch = pytest.importorskip("torch")
    with torch.autograd.profiler.profile() as tprof:
        _in_thread(lambda: torch.ones(3).sin())
        torch.ones(3).cos()
    names = {e.name for e in tprof.function_events}
    assert "aten::cos" in names and "aten::sin" not in names


class _Blocking(Function):
    """y = x, whose forward waits for ``go`` after setting ``started``: holds a thread inside the
    unhooked run of a hooked op while another thread runs its own ops."""

    started = go = None
    saves_inputs = saves_output = False

    def forward(self, a):
        type(self).started.set()
        _wait(type(self).go)
        return a.copy()

    def backward(self, g):
        return (g,)


def test_an_op_running_unhooked_in_one_thread_leaves_the_other_threads_hooked():
    """minitf runs a hooked op's own work unhooked (nothing counted twice): in its thread only, so
    anomaly mode still checks, and a profiler still records, another thread's ops meanwhile."""
    _Blocking.started, _Blocking.go = threading.Event(), threading.Event()
    seen, registered = {}, mt.autograd._hooks   # (the complex guard, once an earlier test armed it)

    def blocked():
        with mt.profile() as prof:
            _Blocking.apply(mt.ones(2))
        seen["blocked"] = [(s.name, s.calls) for s in prof.stats]

    def other():
        _wait(_Blocking.started)
        try:
            with mt.profile() as prof:
                mt.ones(2).exp()
            seen["other"] = [(s.name, s.calls) for s in prof.stats]
            with pytest.raises(mt.anomaly.AnomalyError, match="Log"):
                mt.log(mt.tensor([-1.0]))   # nan: anomaly mode, the process's, is on here too
        finally:
            _Blocking.go.set()
    with mt.detect_anomaly():
        _run(blocked, other)
    assert seen == {"blocked": [("_Blocking", 1)], "other": [("Exp", 1)]}
    assert mt.autograd._hooks == registered


def test_hooks_registered_for_a_thread_see_the_process_s_registered_later():
    """A thread inside saved_tensors_hooks (its own debug hook) also sees anomaly mode entered later
    by another thread."""
    graph = mt.autograd.graph
    hooked, entered, checked = threading.Event(), threading.Event(), threading.Event()
    seen, registered = {}, mt.autograd._hooks

    def a():
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            hooked.set()
            _wait(entered)
            try:
                mt.log(mt.tensor([-1.0]))
                seen["a"] = "no error"
            except mt.anomaly.AnomalyError:
                seen["a"] = "AnomalyError"
            finally:
                checked.set()

    def b():
        _wait(hooked)
        with mt.detect_anomaly():
            entered.set()
            _wait(checked)
    _run(a, b)
    assert seen == {"a": "AnomalyError"}
    assert mt.autograd._hooks == registered


def test_the_engine_reads_one_thread_local_for_grad_mode():
    """No module global is left for grad mode: every switch sets this thread's state."""
    engine = mt.autograd
    assert not hasattr(engine, "_grad_enabled")
    with mt.no_grad():
        assert engine._tls.grad_enabled is False
        assert _in_thread(lambda: engine._tls.grad_enabled) is True
    assert engine._tls.grad_enabled is True


def test_grad_of_a_leaf_from_each_of_many_threads_at_once():
    """Several threads each record and differentiate their own graph while the others switch grad
    mode on and off: every gradient is right."""
    n = 6
    start = threading.Barrier(n, timeout=WAIT)
    results = [None] * n

    def worker(k):
        def run():
            rng = np.random.default_rng(k)
            x = mt.tensor(rng.standard_normal(4), requires_grad=True)
            start.wait()
            for _ in range(20):
                with mt.no_grad():
                    assert not (x * 2).requires_grad
                y = (x * x * float(k + 1)).sum()
                (g,) = mt.autograd.grad(y, x)
                np.testing.assert_allclose(g.numpy(), 2 * (k + 1) * x.detach().numpy())
            results[k] = True
        return run
    _run(*(worker(k) for k in range(n)))
    assert results == [True] * n
