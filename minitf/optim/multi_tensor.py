"""Multi-tensor ("foreach") optimizer updates: one array operation over all of a group's
parameters instead of one per parameter.

On a GPU every array operation is a kernel launch that costs some microseconds of host time
whatever its size, so an update made tensor by tensor costs launches in proportion to the
number of parameters: Adam's is about 14 a tensor, some 550 a step for the 39 tensors of the ``small``
GPT. As one array it is 14 a bucket, plus about three copies a tensor (CuPy's concatenate copies
array by array unless more than 8 small ones share one kernel, and each tensor's slice is
copied back): about 130 launches. (``python benchmarks/device_ops.py`` counts a step's device
operations on the fake device, views included: 572 for the optimizer tensor by tensor, 228 so.)

    G = [g_1 | g_2 | ... | g_n]     the gradients, flattened and concatenated (one copy)
    P = [p_1 | p_2 | ... | p_n]     the parameters, likewise
    m, v                            flat buffers kept from step to step: each parameter's
                                    ``state[p]["exp_avg"]`` is a view of its slice
    P, m, v <- update(P, G, m, v)   the per-tensor update's operations, on the flat arrays
    p_i <- P[o_i : o_i + n_i]       written back in place

Elementwise arithmetic does the same operations on the same numbers however the elements are
grouped, so the result is bit for bit the per-tensor one (tests/test_optim_foreach.py).
Parameters share one update (a bucket) when they share a device, a dtype and a step count
(Adam's bias corrections) or first-step status (SGD's momentum); a parameter whose gradient
comes and goes changes its bucket, which rebuilds the flat buffers (a copy of the moments), and
one whose step count falls out of step with the others' stays in a bucket of its own.
PyTorch's ``foreach`` option selects it; its default (None) as PyTorch's: flat when every
parameter of the group is on a device, not on the CPU, where the per-tensor loop keeps each
array in cache and the concatenations cost more than the calls they save (AdamW's step on a
2-core CPU, ``python benchmarks/optimizer_step.py``: baby 2.21 ms per tensor against 3.82 flat,
small 47.8 against 77.5). The price of flat:
during the step the bucket's concatenated parameters, gradients and a scratch array, about
three parameter-sized arrays, where the loop needs one tensor's worth; and a state entry's
array (``opt.state[p]["exp_avg"].data``) is replaced by a view when the buffers are (re)built,
so a reference to the old array kept across steps goes stale (the Tensor stays the same).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import bump_version


def wants_foreach(group: dict, items) -> bool:
    """Whether a group's update runs on flat arrays: ``foreach`` True, or None with every parameter
    on a device (as torch's default), or ``fused`` (whose kernel takes a bucket at once); never for
    gradients of another dtype or shape than their parameter's (the concatenation would promote them)."""
    foreach = group.get("foreach")
    if foreach is False and not group.get("fused"):
        return False
    if foreach is None and not group.get("fused") and \
            any(backend.get_array_module(p.data) is np for p, _, _ in items):
        return False
    return all(p.grad.data.dtype == p.data.dtype and p.grad.data.shape == p.data.shape for p, _, _ in items)


def run(opt, group: dict, items: list, names: tuple, update) -> None:
    """Apply ``update(xp, data, g, buffers, tag)`` to each parameter of ``items`` ((p, state, tag)
    triples, in the group's order), or, when :func:`wants_foreach`, to each bucket's flat arrays
    (``buffers``: the arrays of the state entries ``names``). Each parameter's version goes up by
    one, as an in-place change (a graph that saved it sees it)."""
    if not items:
        return
    if not wants_foreach(group, items):
        _release(opt, items)   # flat buffers of an earlier flat step
        for p, state, tag in items:
            update(backend.get_array_module(p.data), p.data, p.grad.data, [state[k].data for k in names], tag)
            bump_version(p)
        return
    for bucket in _buckets(items):
        params = [p for p, _, _ in bucket]
        xp = backend.get_array_module(params[0].data)
        buffers, offsets = _flat_state(opt, bucket, names, xp)
        flat_p = _concat(xp, [p.data for p in params])
        update(xp, flat_p, _concat(xp, [p.grad.data for p in params]), buffers, bucket[0][2])
        for p, (lo, hi) in zip(params, offsets):
            p.data[...] = flat_p[lo:hi].reshape(p.data.shape)
            bump_version(p)


def _buckets(items):
    """The (p, state, tag) items split by device, dtype and tag, each list in the group's order."""
    out: dict = {}
    for item in items:
        p = item[0]
        out.setdefault((backend.device_of(p.data), p.data.dtype, item[2]), []).append(item)
    return list(out.values())


def _concat(xp, arrays):
    """The arrays flattened and joined, in order: a new contiguous (sum of sizes,) array."""
    return xp.concatenate([a.reshape(-1) for a in arrays])


def _offsets(params):
    bounds, lo = [], 0
    for p in params:
        bounds.append((lo, lo + p.data.size))
        lo += p.data.size
    return bounds


class _FlatState:
    """The flat buffers of one bucket's state entries and the views each parameter's entry holds."""
    __slots__ = ("params", "offsets", "flats", "views")

    def valid_for(self, params, states, names) -> bool:
        # the same parameters, and every entry still the view made here (not one a loaded state
        # dict, or a user, put in its place)
        return (len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params))
                and set(names) == set(self.flats)
                and all(s[k].data is v for k in names for s, v in zip(states, self.views[k])))


def _flat_state(opt, bucket, names, xp):
    """(flat buffers of ``names``, offsets) for a bucket: those of the last step while its
    entries are still their views; else (the first step, a loaded state dict, a parameter that
    gained or lost its gradient) built from the entries, which become views of them."""
    cache = opt.__dict__.setdefault("_flat_states", {})
    params = [p for p, _, _ in bucket]
    states = [s for _, s, _ in bucket]
    key = tuple(id(p) for p in params)
    entry = cache.get(key)
    if entry is not None and entry.valid_for(params, states, names):
        return [entry.flats[k] for k in names], entry.offsets
    stale = [cache.pop(k) for k in [k for k in cache if set(key).intersection(k)]]
    entry = cache[key] = _FlatState()
    entry.params, entry.offsets = params, _offsets(params)
    entry.flats, entry.views = {}, {}
    for k in names:
        flat = entry.flats[k] = _concat(xp, [s[k].data for s in states])
        entry.views[k] = []
        for s, p, (lo, hi) in zip(states, params, entry.offsets):
            s[k].data = flat[lo:hi].reshape(p.data.shape)
            entry.views[k].append(s[k].data)
    for old in stale:   # a parameter's entries are views of one bucket at a time
        _detach(opt, old)
    return [entry.flats[k] for k in names], entry.offsets


def _detach(opt, entry: _FlatState) -> None:
    """Give each entry still a view of ``entry``'s flat buffers (a parameter left out of the new
    bucket: frozen, or without a gradient this step) an array of its own, so that the buffers,
    which no bucket uses any more, are freed."""
    for i, p in enumerate(entry.params):
        state = opt.state.get(p)
        for k, views in entry.views.items():
            if state and k in state and state[k].data is views[i]:
                state[k].data = views[i].copy()


def _release(opt, items) -> None:
    """Drop (and detach) the cached buckets holding any of the parameters of ``items``."""
    cache = opt.__dict__.get("_flat_states")
    if not cache:   # (the CPU's loop: nothing was ever flat, nothing to do each step)
        return
    ids = {id(p) for p, _, _ in items}
    for k in [k for k in cache if ids.intersection(k)]:
        _detach(opt, cache.pop(k))


def forget(opt) -> None:
    """Drop every cached bucket (``load_state_dict`` replaces the state they were views for)."""
    opt.__dict__.pop("_flat_states", None)


def check_foreach_fused(foreach, fused) -> None:
    """PyTorch's rule: the two implementations cannot both be asked for."""
    if foreach and fused:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
