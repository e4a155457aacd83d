"""Gradients through a 0/1 mask, as torch's select: 0 where the mask is off, whatever the gradient.

A backward that passes ``g`` where a mask holds and 0 elsewhere (clamp, relu, hardtanh, max(dim),
max pooling ...) cannot be written ``g * mask``: an inf or NaN in ``g`` at an entry the mask turns
off gives ``inf * 0 = NaN`` there, where torch's kernels select (``where(mask, g, 0)``) and give 0.
``where`` itself is the slow way in NumPy: with a mask that changes from element to element it
branches per element, ~50x the multiply on a (64, 1024) float32 gradient. So the mask is kept as
bits: int8 all ones where it holds, zeros elsewhere (:func:`pass_bits`, once, in forward), and
backward ANDs ``g``'s bits with it (:func:`masked`: the int8 sign-extends to ``g``'s width), the
cost of the multiply it replaces (benchmarks/mask_backward.py has the figures).
"""
from __future__ import annotations

from .. import backend

_INTS = {1: "i1", 2: "i2", 4: "i4", 8: "i8"}   # a float's (or complex64's) width -> the signed int of it


def pass_bits(mask, dtype=None):
    """The bool array ``mask`` as int8 bits: -1 (all ones) where it is True, 0 elsewhere. ``mask``
    must be the caller's own (a comparison's result): it is overwritten. Any shape -> the same.
    ``dtype``: the gradient's float dtype, for bits of its width instead (twice as fast an AND, as
    much memory as a float mask: for an op that kept a float slope before)."""
    xp = backend.get_array_module(mask)
    ints = None if dtype is None else _INTS.get(xp.dtype(dtype).itemsize)
    if ints is not None:
        return xp.negative(mask.astype(ints))
    bits = mask.view(xp.int8)
    return xp.negative(bits, out=bits) if bits.ndim else -bits   # (NumPy: a scalar for a 0-d mask)


def masked(g, bits):
    """``g`` where ``bits`` (from :func:`pass_bits`) are set and +0 elsewhere, also where ``g`` is inf
    or NaN. ``g`` and ``bits`` broadcast against each other; the result has ``g``'s dtype."""
    xp = backend.get_array_module(g)
    ints = _INTS.get(g.dtype.itemsize)
    if ints is None:   # complex128 (no int128): the select itself
        return xp.where(bits != 0, g, g.dtype.type(0))
    if bits.dtype.itemsize > g.dtype.itemsize:   # bits of a wider float's than g (a float32 gradient into a float64 op):
        bits = bits.astype(ints)                 # at g's width, else the AND widens and the view splits each element
    return xp.bitwise_and(g.view(ints), bits).view(g.dtype)



def select(g, bits, scale=None):
    """The recorded form of ``masked(g * scale, bits)`` (``g`` a Tensor, ``scale`` None for 1, a number
    or an array): a mask op's backward under ``create_graph``, a select to any order (0 off the mask
    also for an inf or NaN g, where ``g * mask`` gives NaN); not recorded on the op's input, whose
    derivative through a constant mask is none (torch's where on grad)."""
    from .elementwise import PiecewiseConstantScale   # (elementwise imports this module)
    return PiecewiseConstantScale.apply(g, m=scale, bits=bits)
