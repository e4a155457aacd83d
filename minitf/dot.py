"""Pictures of the graph: DOT text of the ops that produced a tensor (Graphviz renders it).

    import minitf as mt
    print(mt.to_dot(loss, params=model))          # DOT text, no dependency
    mt.draw_graph(loss, "graph.png", params=model) # rendered, with the viz extra and `dot`

One node per tensor (an ellipse: its name if it has one, shape and dtype, optionally
values and gradients, as micrograd's pictures show them) and one per op (a box: the
Function's name), edges in data-flow order: input -> op -> output. Leaves that require
grad are blue, constants grey, the tensor drawn from is green. Names come from
``params``: a mapping name -> tensor (``dict(model.named_parameters())``, as torchviz
takes), or a Module, whose ``named_parameters()`` are used (``transformer.h.0.attn.c_attn.weight``);
any tensor of the mapping may be named, inputs included. Like every debug tool it reads
the graph and never changes it; it also works after ``backward()`` freed the graph's
saved arrays (the structure stays), so gradients can be shown.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from . import autograd, backend
from .tensor import Tensor

if TYPE_CHECKING:   # (the annotation only: draw_graph imports pathlib when it runs)
    from pathlib import Path


def _names(params) -> dict:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    names = {}
    for name, t in dict(params).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        names.setdefault(id(t), str(name))
    return names


def _walk(root: Tensor):
    """Every tensor behind ``root``, inputs before outputs: the engine's own topological order
    of the ops' outputs (inputs as of each op's forward), each leaf just before its first consumer."""
    order, seen = [], set()
    for t in autograd._topological_order(root):
        if t._fn is not None:
            for inp in autograd._inputs_of(t._fn):
                if inp._fn is None and id(inp) not in seen:
                    seen.add(id(inp))
                    order.append(inp)
        order.append(t)
    return order


def _values(a, max_elements: int) -> str:
    host = np.asarray(backend.to_numpy(a))
    if host.size > max_elements:
        return f"{host.size} values"
    return np.array2string(host, precision=4, separator=", ", suppress_small=True).replace("\n", "")


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, params=None, show_values: bool = False, show_grad: bool = False,
           max_elements: int = 8, rankdir: str = "TB") -> str:
    """The graph that produced ``tensor``, as DOT text.

    Parameters
    ----------
    tensor : Tensor
        The output to draw from (a loss, usually).
    params : mapping name -> Tensor, or a Module, optional
        Names for tensors (a Module gives its ``named_parameters()``).
    show_values, show_grad : bool
        Add each tensor's values / its ``.grad`` to its label (tensors with more than
        ``max_elements`` elements show only their count).
    rankdir : str
        Graphviz layout direction: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"to_dot: rankdir must be one of TB, LR, BT, RL, got {rankdir!r}")
    names = _names(params)
    lines = ["digraph minitf {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [arrowsize=0.6];']
    ids: dict = {}
    op_count = 0
    for t in _walk(tensor):
        tid = ids[id(t)] = f"t{len(ids)}"
        label = [names[id(t)]] if id(t) in names else []
        label.append(f"{t.shape} {t.dtype}")
        if show_values:
            label.append("data " + _values(t.data, max_elements))
        if show_grad and t._grad is not None:
            label.append("grad " + _values(t._grad.data, max_elements))
        color = ("#b7e4c7" if t is tensor else "#cfe2ff" if t._fn is None and t.requires_grad
                 else "#e9ecef" if t._fn is None else "white")
        lines.append(f'  {tid} [label={_quote(chr(10).join(label))}, shape=ellipse, style=filled, '
                     f'fillcolor="{color}"];')
        if t._fn is not None:
            op = f"op{op_count}"
            op_count += 1
            lines.append(f'  {op} [label={_quote(type(t._fn).__name__)}, shape=box, style="rounded,filled", '
                         f'fillcolor="#f2f2f2"];')
            lines.extend(f"  {ids[id(inp)]} -> {op};" for inp in autograd._inputs_of(t._fn))
            lines.append(f"  {op} -> {tid};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor: Tensor, path, params=None, **options) -> Path:
    """Render ``to_dot(tensor, params, **options)`` to ``path`` (its suffix picks the format:
    .png, .svg, .pdf). Needs the ``graphviz`` package (``pip install minitf[viz]``) and the
    Graphviz ``dot`` program; without them the DOT text is written to ``path`` with the
    suffix .dot, a warning says how to render it, and that path is returned."""
    import shutil   # (imported here: only drawing needs them)
    from pathlib import Path
    path = Path(path)
    text = to_dot(tensor, params, **options)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt != "dot":
        try:
            import graphviz
        except ImportError:
            graphviz = None
        if graphviz is not None and shutil.which("dot"):
            path.write_bytes(graphviz.Source(text).pipe(format=fmt))
            return path
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(text, encoding="utf-8")
    if fmt != "dot":
        warnings.warn(f"draw_graph: rendering needs the graphviz package (pip install minitf[viz]) and "
                      f"the Graphviz dot program; wrote {dot_path} instead: render it with "
                      f"`dot -T{fmt} {dot_path} -o {path}`", stacklevel=2)
    return dot_path
