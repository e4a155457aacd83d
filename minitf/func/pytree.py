"""Nested containers of tensors ("pytrees"), as torch.func takes them: tuples, lists, named tuples
and dicts, nested any way, whose other values are leaves.

    leaves, spec = tree_flatten({"w": w, "b": (b1, b2)})   # leaves: [w, b1, b2]
    tree_unflatten([2 * w, b1, b2], spec)                   # {"w": 2 * w, "b": (b1, b2)}

The transforms flatten their inputs and outputs to lists of leaves, work on those, and rebuild
the caller's structure with the spec.
"""
from __future__ import annotations

__all__ = ["TreeSpec", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_prefix"]


class TreeSpec:
    """The shape of a pytree without its leaves: ``kind`` (None for a leaf, else the container
    type), ``keys`` (a dict's, in order) and one child spec per element."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind=None, keys=(), children=()):
        self.kind, self.keys, self.children = kind, tuple(keys), tuple(children)

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind is None else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind is other.kind and self.keys == other.keys
                and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.keys, self.children))

    def __repr__(self):  # torch's short form: * for a leaf
        if self.kind is None:
            return "*"
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children)) + "}"
        inner = ", ".join(map(repr, self.children))
        return f"[{inner}]" if self.kind is list else f"({inner}{',' if len(self.children) == 1 else ''})"


def _is_container(x) -> bool:
    return isinstance(x, (tuple, list, dict))


def tree_flatten(tree):
    """``(leaves, spec)``: the leaves of ``tree`` depth first (a dict's in its key order)."""
    leaves: list = []

    def walk(x):
        if isinstance(x, dict):
            keys = list(x)
            return TreeSpec(dict, keys, [walk(x[k]) for k in keys])
        if isinstance(x, (tuple, list)):
            return TreeSpec(type(x), (), [walk(c) for c in x])
        leaves.append(x)
        return TreeSpec()
    return leaves, walk(tree)


def tree_unflatten(leaves, spec: TreeSpec):
    """The pytree of structure ``spec`` holding ``leaves`` (as many as ``spec.num_leaves``)."""
    it = iter(leaves)

    def build(s):
        if s.kind is None:
            return next(it)
        children = [build(c) for c in s.children]
        if s.kind is dict:
            return dict(zip(s.keys, children))
        if hasattr(s.kind, "_fields"):  # a named tuple takes its fields as arguments
            return s.kind(*children)
        return s.kind(children)
    return build(spec)


def tree_map(fn, tree):
    """``tree`` with ``fn`` applied to every leaf."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, what: str, error):
    """One value of ``prefix`` per leaf of ``tree``: ``prefix`` is ``tree``'s structure cut short
    anywhere, a non-container value standing for every leaf below it (vmap's ``in_dims`` and
    ``out_dims``). A structure that does not fit raises ``error(message)``."""
    out: list = []

    def walk(p, t):
        if not _is_container(p):
            out.extend([p] * tree_flatten(t)[1].num_leaves)
            return
        fits = (isinstance(t, dict) and isinstance(p, dict) and list(p) == list(t)) or \
               (isinstance(t, (tuple, list)) and isinstance(p, (tuple, list)) and len(p) == len(t))
        if not fits:
            raise error(f"{what} is not compatible with the structure of the values: {what} has structure "
                        f"{tree_flatten(p)[1]!r} but the values have structure {tree_flatten(t)[1]!r}")
        for pc, tc in (zip(p.values(), t.values()) if isinstance(p, dict) else zip(p, t)):
            walk(pc, tc)
    walk(prefix, tree)
    return out
