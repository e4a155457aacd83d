"""Graph pictures: the DOT text of a graph, module names, values and gradients; rendering
only where the graphviz package and the dot program exist (CI has neither)."""
import re
import shutil

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn


def _edges(dot):
    return re.findall(r"^  (\w+) -> (\w+);$", dot, re.M)


def _labels(dot):
    return dict(re.findall(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M))


def test_small_expression_exact_dot_text():
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    b = mt.tensor(3.0, requires_grad=True)
    y = (a * b + a).sum()
    dot = mt.to_dot(y, params={"a": a, "b": b})
    assert dot.startswith("digraph minitf {\n  rankdir=TB;\n") and dot.endswith("}\n")
    labels = _labels(dot)
    assert labels == {"t0": "a\\n(2,) float32", "t1": "b\\n() float32", "t2": "(2,) float32",
                      "op0": "Mul", "t3": "(2,) float32", "op1": "Add", "t4": "() float32", "op2": "Sum"}
    # data-flow order: inputs -> op -> output, the operands in the op's argument order
    assert _edges(dot) == [("t0", "op0"), ("t1", "op0"), ("op0", "t2"), ("t2", "op1"), ("t0", "op1"),
                           ("op1", "t3"), ("t3", "op2"), ("op2", "t4")]
    assert 'fillcolor="#b7e4c7"' in dot.split("t4 [")[1].splitlines()[0]  # the output is marked
    assert mt.to_dot(y, params={"a": a, "b": b}) == dot  # deterministic


def test_values_and_gradients_as_micrograd_shows_them():
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward()  # the graph's saved arrays are freed; its structure is still drawable
    labels = _labels(mt.to_dot(y, params={"a": a}, show_values=True, show_grad=True))
    assert labels["t0"] == "a\\n(2,) float32\\ndata [1., 2.]\\ngrad [2., 4.]"
    assert labels["t2"] == "() float32\\ndata 5."
    big = mt.tensor(np.zeros(100), requires_grad=True)
    assert "data 100 values" in mt.to_dot(big * 2.0, show_values=True, max_elements=8)


def test_an_in_place_change_is_drawn_as_the_ops_saw_it():
    # exp read y before y.mul_(3): its input is the value x * 2, which the recorded Mul then
    # consumed, not the y after the change (the picture would show a cycle)
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    s = F.exp(y)
    y.mul_(3.0)
    dot = mt.to_dot(s.sum() + y.sum(), params={"x": x})
    labels, edges = _labels(dot), _edges(dot)
    into = {op: [t for t, o in edges if o == op] for op in labels if op.startswith("op")}
    out_of = {op: t for op, t in edges if op.startswith("op")}
    exp_op, = [op for op in into if labels[op] == "Exp"]
    muls = [op for op in into if labels[op] == "Mul"]
    first, = [op for op in muls if into[op][0] == "t0"]            # x * 2
    second, = [op for op in muls if op != first]                   # the recorded mul_(3)
    assert into[exp_op] == [out_of[first]] and into[second][0] == out_of[first]
    assert into[exp_op] != [out_of[second]]


def test_parameters_are_named_by_their_module_path():
    mt.manual_seed(0)
    model = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 2)])
    x = mt.ones(5, 3)  # float32, as the layers
    y = model[1](F.tanh(model[0](x))).sum()
    dot = mt.to_dot(y, params=model)
    names = sorted(l.split("\\n")[0] for l in _labels(dot).values() if "\\n" in l and "." in l.split("\\n")[0])
    assert names == ["0.bias", "0.weight", "1.bias", "1.weight"]
    assert mt.to_dot(y, params=dict(model.named_parameters())) == dot  # the torchviz form
    assert mt.to_dot(y, params={"x": x, **dict(model.named_parameters())}).count('label="x\\n') == 1


def test_transformer_block_graph_names_and_ops():
    mt.manual_seed(0)
    block = nn.TransformerBlock(8, 2)
    y = block(mt.randn(1, 4, 8)).sum()
    dot = mt.to_dot(y, params=block)
    labels = _labels(dot)
    names = {l.split("\\n")[0] for l in labels.values()}
    assert {n for n, _ in block.named_parameters()} <= names
    ops = [l for k, l in labels.items() if k.startswith("op")]
    assert "LayerNorm" in ops and "MultiHeadSelfAttention" in ops
    assert len(_edges(dot)) >= 2 * len(ops)


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        mt.to_dot(np.ones(2))
    a = mt.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="rankdir"):
        mt.to_dot(a * 2.0, rankdir="up")
    with pytest.raises(TypeError, match=r"params\['w'\] is a list"):
        mt.to_dot(a * 2.0, params={"w": [1.0]})


def test_draw_graph_without_graphviz_writes_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without `dot`
    a = mt.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match=r"dot -Tpng .*g\.dot -o .*g\.png"):
        out = mt.draw_graph(a * 2.0, tmp_path / "g.png")
    assert out == tmp_path / "g.dot" and out.read_text() == mt.to_dot(a * 2.0)


def test_draw_graph_renders_with_graphviz(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz dot program is not installed")
    a = mt.tensor([1.0], requires_grad=True)
    out = mt.draw_graph(F.tanh(a * 2.0), tmp_path / "g.svg")
    assert out == tmp_path / "g.svg" and "<svg" in out.read_text()
    png = mt.draw_graph(F.tanh(a * 2.0), tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
