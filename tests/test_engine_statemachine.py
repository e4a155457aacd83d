"""The autograd engine, property-tested: a hypothesis state machine grows random graphs
(reused nodes, branches, new leaves, repeated backward with retain_graph=True, retained
non-leaf grads, zero_grad) and compares every value and gradient with a tiny scalar
reference engine written below.

The reference differs from minitf on purpose: it orders the graph with Kahn's algorithm
(a node is processed once all its consumers have been), where minitf uses a depth-first
post-order, and it works on Python floats. Tensors here hold one number each, in shapes
(), (1,) and (1, 1), so broadcasting and the central sum_to are exercised too.
"""
import math

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant, multiple,
                                 precondition, rule)

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy


class Ref:
    """A node of the reference engine: a value and (parent, d self / d parent) pairs."""

    __slots__ = ("value", "parents")

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.parents = tuple(parents)


def ref_gradients(root):
    """d root / d node for every node that root depends on (root included), keyed by id."""
    nodes, stack = {}, [root]
    while stack:  # everything reachable
        n = stack.pop()
        if id(n) not in nodes:
            nodes[id(n)] = n
            stack.extend(p for p, _ in n.parents)
    pending = {i: 0 for i in nodes}  # how many consumer edges still have to deliver a gradient
    for n in nodes.values():
        for p, _ in n.parents:
            pending[id(p)] += 1
    grads, ready = {id(root): 1.0}, [root]
    while ready:
        n = ready.pop()
        for p, local in n.parents:  # a node used twice (a * a) has two edges: both add up
            grads[id(p)] = grads.get(id(p), 0.0) + local * grads[id(n)]
            pending[id(p)] -= 1
            if pending[id(p)] == 0:
                ready.append(p)
    return grads


class Tracked:
    """A tensor whose .grad the engine must fill: a leaf, or a non-leaf with retain_grad()."""

    def __init__(self, tensor, ref):
        self.tensor, self.ref = tensor, ref
        self.expected, self.reached = 0.0, False


values = st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False)
shapes = st.sampled_from([(), (1,), (1, 1)])


class EngineMachine(RuleBasedStateMachine):
    device = "cpu"
    nodes = Bundle("nodes")

    def __init__(self):
        super().__init__()
        self.tracked = []  # leaves and retained non-leaves
        self.all = []      # every (tensor, ref) made, for the value invariant
        self.backwards = 0

    # ----------------------------------------------------------------- building
    def _make_leaf(self, value, shape):
        t = mt.tensor(np.full(shape, value), dtype="float64", device=self.device, requires_grad=True)
        r = Ref(value)
        self.tracked.append(Tracked(t, r))
        return self._keep(t, r)

    def _keep(self, t, r):
        if not abs(r.value) < 1e4:  # keep values where float64 rounding stays far below tolerance
            return multiple()
        self.all.append((t, r))
        return (t, r)

    @initialize(target=nodes, value=values, shape=shapes)
    def first_leaf(self, value, shape):
        return self._make_leaf(value, shape)

    @rule(target=nodes, value=values, shape=shapes)
    def new_leaf(self, value, shape):
        return self._make_leaf(value, shape)

    @rule(target=nodes, a=nodes, b=nodes, op=st.sampled_from(["add", "sub", "mul"]))
    def binary(self, a, b, op):  # a and b may be the same node: reuse
        (ta, ra), (tb, rb) = a, b
        if op == "add":
            return self._keep(ta + tb, Ref(ra.value + rb.value, [(ra, 1.0), (rb, 1.0)]))
        if op == "sub":
            return self._keep(ta - tb, Ref(ra.value - rb.value, [(ra, 1.0), (rb, -1.0)]))
        return self._keep(ta * tb, Ref(ra.value * rb.value, [(ra, rb.value), (rb, ra.value)]))

    @rule(target=nodes, a=nodes, c=st.sampled_from([-1.5, 0.5, 2.0]), d=st.sampled_from([0.0, 1.0]))
    def affine_with_constants(self, a, c, d):  # Python scalars become constant tensors
        ta, ra = a
        return self._keep(c * ta + d, Ref(c * ra.value + d, [(ra, c)]))

    @rule(target=nodes, a=nodes)
    def tanh(self, a):
        ta, ra = a
        y = math.tanh(ra.value)
        return self._keep(F.tanh(ta), Ref(y, [(ra, 1.0 - y * y)]))

    @rule(target=nodes, a=nodes)
    def exp_of_bounded(self, a):
        ta, ra = a
        if abs(ra.value) > 3.0:  # squash first, so exp stays bounded
            y = math.tanh(ra.value)
            ta, ra = F.tanh(ta), Ref(y, [(ra, 1.0 - y * y)])
            self.all.append((ta, ra))
        y = math.exp(ra.value)
        return self._keep(F.exp(ta), Ref(y, [(ra, y)]))

    @rule(target=nodes, a=nodes, p=st.sampled_from([2, 3]))
    def power(self, a, p):
        ta, ra = a
        return self._keep(ta ** p, Ref(ra.value ** p, [(ra, p * ra.value ** (p - 1))]))

    @rule(a=nodes, b=nodes)
    def no_grad_records_nothing(self, a, b):
        (ta, ra), (tb, rb) = a, b
        with mt.no_grad():
            out = ta * tb + ta
        assert not out.requires_grad and out.is_leaf
        assert math.isclose(out.item(), ra.value * rb.value + ra.value, rel_tol=1e-12, abs_tol=1e-12)

    @rule(node=nodes)
    def retain_grad(self, node):
        t, r = node
        if t.is_leaf or any(tr.tensor is t for tr in self.tracked):
            return
        t.retain_grad()
        self.tracked.append(Tracked(t, r))

    # ----------------------------------------------------------------- backward
    @rule(node=nodes)
    def backward(self, node):
        t, r = node
        t.backward(retain_graph=True)  # the graph is kept: any node may be a root again later
        self.backwards += 1
        grads = ref_gradients(r)
        for tr in self.tracked:
            if id(tr.ref) in grads:
                tr.expected += grads[id(tr.ref)]
                tr.reached = True
        self.check_gradients()

    def teardown(self):
        # rules are switched on and off per run, so a run may never call backward():
        # end every run with a backward from the newest node and from the first one
        for node in {id(n): n for n in (self.all[-1:] + self.all[:1])}.values():
            self.backward(node)

    @precondition(lambda self: self.backwards > 0)
    @rule()
    def zero_grad(self):
        for tr in self.tracked:
            tr.tensor.grad = None
            tr.expected, tr.reached = 0.0, False

    def check_gradients(self):
        for tr in self.tracked:
            g = tr.tensor.grad
            if not tr.reached:
                assert g is None, "a tensor no backward reached has a gradient"
                continue
            assert g is not None and tuple(g.shape) == tr.tensor.shape and g.dtype == np.float64
            got = float(to_numpy(g.data).reshape(-1)[0])
            assert math.isclose(got, tr.expected, rel_tol=1e-9, abs_tol=1e-9), (got, tr.expected)

    @invariant()
    def values_match(self):
        for t, r in self.all[-8:]:  # the newest nodes; older ones were checked when they were new
            assert t.device == self.device
            assert math.isclose(t.item(), r.value, rel_tol=1e-12, abs_tol=1e-12), (t.item(), r.value)


class EngineMachineFake(EngineMachine):
    device = "fake"


_SETTINGS = settings(max_examples=50, stateful_step_count=30, deadline=None)
EngineMachine.TestCase.settings = _SETTINGS
EngineMachineFake.TestCase.settings = _SETTINGS
TestEngineCPU = EngineMachine.TestCase
TestEngineFakeDevice = EngineMachineFake.TestCase


def test_reference_engine_counts_reuse_correctly():
    # the reference itself: b = a + a, c = b + b gives dc/da = 4; a * a gives 2a
    a = Ref(3.0)
    b = Ref(6.0, [(a, 1.0), (a, 1.0)])
    c = Ref(12.0, [(b, 1.0), (b, 1.0)])
    assert ref_gradients(c)[id(a)] == 4.0
    sq = Ref(9.0, [(a, 3.0), (a, 3.0)])
    assert ref_gradients(sq)[id(a)] == 6.0
