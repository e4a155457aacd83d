"""``einsum``: Einstein summation over any number of operands, as torch.einsum.

Forward is the backend's einsum. The gradient of operand i is itself an einsum: the output
gradient contracted with the other operands onto operand i's subscripts. Two cases need more
than that: a letter that appears only in operand i and is summed away (``"ij->i"``: the
gradient is broadcast along it) and a letter repeated within operand i (``"ii->i"``, a
diagonal: the gradient is written on that diagonal, zeros elsewhere). The gradient is built
from minitf ops (einsum, broadcast, an indexed write), so it is differentiable again.

Subscripts: letters, ``,`` between operands, optional ``->`` and output (else the letters
seen once, in alphabetical order), and ``...`` for leading dims (broadcast, as torch).
Size-1 dims broadcast against the same letter's size elsewhere, as torch's do.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function, keeps_no_tensor
from ..tensor import Tensor
from ._util import check_same_dtype

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # string.ascii_letters


def _parse(subscripts: str, shapes):
    """(input subscripts, output subscript, size of each letter), '...' spelled with letters."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(subscripts).__name__}")
    eq = subscripts.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: the equation names {len(ins)} operands, {len(shapes)} were given")
    used = set(c for c in eq if c.isalpha())
    bad = set(eq) - set(_LETTERS) - set(",->.")
    if bad:
        raise ValueError(f"einsum: invalid characters {sorted(bad)} in {subscripts!r}")
    free = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for s, shape in zip(ins, shapes):
        letters = len(s.replace("...", ""))
        if "..." in s:
            n_ell = max(n_ell, len(shape) - letters)
    ell = "".join(free[:n_ell])
    out_ins = []
    for k, (s, shape) in enumerate(zip(ins, shapes)):
        if s.count("...") > 1 or s.replace("...", "").count(".") or ("..." not in s and len(s) != len(shape)):
            raise ValueError(f"einsum: operand {k} has subscripts {s!r} for {len(shape)} dims")
        if "..." in s:
            k_ell = len(shape) - len(s.replace("...", ""))
            if k_ell < 0:
                raise ValueError(f"einsum: operand {k} has subscripts {s!r} for {len(shape)} dims")
            s = s.replace("...", ell[n_ell - k_ell:])
        out_ins.append(s)
    if arrow:
        out = rhs.replace("...", ell, 1)
        if "." in out:
            raise ValueError(f"einsum: invalid output {rhs!r}")
    else:
        counts = {}
        for s in out_ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscript {rhs!r} repeats a letter")
    sizes = {}
    for s, shape in zip(out_ins, shapes):
        for c, n in zip(s, shape):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n not in (1, prev):
                raise ValueError(f"einsum: letter {c!r} has sizes {prev} and {n}, which do not broadcast")
    missing = set(out) - set(sizes)
    if missing:
        raise ValueError(f"einsum: output letters {sorted(missing)} appear in no operand")
    return out_ins, out, sizes


class Einsum(Function):
    saves_output = False

    def forward(self, *arrays, ins, out):
        self.arrays = arrays
        xp = backend.get_array_module(arrays[0])
        return xp.einsum(",".join(ins) + "->" + out, *arrays)

    def backward(self, g):  # the same contractions as backward_graph, on constants: nothing recorded
        consts = [Tensor._make(a, None) for a in self.arrays]
        grads = _operand_grads(self.params, Tensor._make(g, None), consts, [True] * len(consts))
        return tuple(None if t is None else t.data for t in grads)

    def backward_graph(self, g):
        return _operand_grads(self.params, g, list(self.inputs), [t.requires_grad for t in self.inputs])


def _operand_grads(params, g: Tensor, operands, wanted):
    """d <g, einsum(operands)> / d operand i, for each i in ``wanted``, in minitf ops."""
    from .backward_ops import broadcast_to
    from .inplace import IndexPut
    ins, out = params["ins"], params["out"]
    grads = []
    for i, s in enumerate(ins):
        if not wanted[i]:
            grads.append(None)
            continue
        x = operands[i]
        sizes = dict(zip(s, x.shape))
        unique = "".join(dict.fromkeys(s))
        others = [j for j in range(len(ins)) if j != i]
        seen = set(out).union(*(ins[j] for j in others))
        kept = "".join(c for c in unique if c in seen)
        eq = ",".join([out] + [ins[j] for j in others]) + "->" + kept
        part = _einsum(eq, [g] + [operands[j] for j in others])
        if kept != unique:  # letters summed only in operand i: the gradient is the same along them
            part = part.reshape(tuple(sizes[c] if c in seen else 1 for c in unique))
            part = broadcast_to(part, tuple(sizes[c] for c in unique))
        if unique != s:  # a repeated letter: a diagonal of x, the rest of x has no effect
            xp = backend.get_array_module(x.data)
            grid = tuple(xp.arange(sizes[c]).reshape(tuple(sizes[c] if u == c else 1 for u in unique)) for c in s)
            part = IndexPut.apply(Tensor._make(xp.zeros(x.shape, dtype=part.dtype), None), part, index=grid)
        grads.append(part)
    return grads


def _einsum(eq: str, operands) -> Tensor:
    ins, out, sizes = _parse(eq, [t.shape for t in operands])
    from .backward_ops import broadcast_to
    ops_ = []
    for s, t in zip(ins, operands):  # size-1 dims broadcast to the letter's size (differentiably)
        full = tuple(sizes[c] for c in s)
        ops_.append(t if t.shape == full else broadcast_to(t, full))
    result = Einsum.apply(*ops_, ins=tuple(ins), out=out)
    # torch's one-operand einsum: views and sums, no saved tensor
    return keeps_no_tensor(result) if len(ops_) == 1 else result


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as torch.einsum: ``einsum("bij,bjk->bik", a, b)`` is a batched
    matmul, ``einsum("ii", a)`` the trace, ``einsum("i,j->ij", u, v)`` the outer product.
    Operands may also be given as one list. Differentiable in every operand (twice too).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum: expected tensors after the equation")
    floats = {f"operand {k}": t for k, t in enumerate(operands) if t.dtype.kind in "fc"}
    if floats:   # (float and complex operands of one dtype, as torch: complex128 with float64 is refused)
        check_same_dtype("einsum", **floats)
    kinds = {t.dtype.kind in "fc" for t in operands}
    if len(kinds) > 1:
        raise TypeError("einsum: operands mix floating and integer dtypes; convert them to one dtype")
    operands = list(operands)
    if kinds == {False}:
        # torch sums a letter found in one operand only (and not in the output) with torch.sum,
        # which gives int64 for integers and bools; contractions keep the dtype ("ij,ij->": int32)
        ins, out, _ = _parse(equation, [t.shape for t in operands])
        if any(sum(c in s for s in ins) == 1 and c not in out for c in set("".join(ins))):
            operands = [t.to(dtype="int64") for t in operands]
    return _einsum(equation, operands)
