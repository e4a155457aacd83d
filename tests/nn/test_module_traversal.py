"""parameters()/buffers() are generators and named_parameters/named_buffers take recurse=, prefix=,
remove_duplicate= as PyTorch's (a ported script's `next(model.parameters()).device` works)."""
import types

import pytest

import minitf as mt
from minitf import nn


def tied(lib):
    """Embedding and head sharing a weight (nanoGPT's wte / lm_head), a parameter and a buffer of
    its own; ``lib``: minitf or torch."""
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.nn.Embedding(5, 3)
            self.head = lib.nn.Linear(3, 5, bias=False)
            self.head.weight = self.emb.weight
            self.scale = lib.nn.Parameter(lib.ones(1))
            self.register_buffer("mask", lib.zeros(2))
    return Tied()


def traversal(m):
    return dict(
        params=[tuple(p.shape) for p in m.parameters()],
        own=[n for n, _ in m.named_parameters(recurse=False)],
        prefixed=[n for n, _ in m.named_parameters(prefix="model")],
        dup=[n for n, _ in m.named_parameters(remove_duplicate=False)],
        child=[n for n, _ in m.head.named_parameters(recurse=False)],
        bufs=[n for n, _ in m.named_buffers(prefix="m", remove_duplicate=False)],
        nbufs=len(list(m.buffers(recurse=False))),
        nparams_own=len(list(m.parameters(recurse=False))),
    )


def test_parameters_and_buffers_are_generators():
    m = tied(mt)
    assert isinstance(m.parameters(), types.GeneratorType) and isinstance(m.buffers(), types.GeneratorType)
    assert next(m.parameters()) is m.scale and next(m.parameters()).device == "cpu"
    assert next(m.buffers()) is m.mask
    ps = m.parameters()
    assert len(list(ps)) == 2 and list(ps) == []      # a generator is used up, as torch's


def test_traversal_options():
    m = tied(mt)
    t = traversal(m)
    assert t["own"] == ["scale"] and t["nparams_own"] == 1 and t["nbufs"] == 1
    assert t["prefixed"] == ["model.scale", "model.emb.weight"]  # own first, as torch
    assert t["dup"] == ["scale", "emb.weight", "head.weight"]
    assert t["child"] == ["weight"] and t["bufs"] == ["m.mask"]


def test_traversal_matches_torch():
    torch = pytest.importorskip("torch")
    assert traversal(tied(mt)) == traversal(tied(torch))
