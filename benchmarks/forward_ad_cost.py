"""Forward-mode AD against reverse mode on a small MLP (float64, CPU): the cost of one
Jacobian-vector product and of a whole Jacobian, both ways.

    PYTHONPATH=$PWD python benchmarks/forward_ad_cost.py

f: R^n -> R^m is a 3-layer tanh MLP (hidden 64) on a batch of one. Forward AD
(``minitf.autograd.forward_ad``) gives J t in one forward pass that carries tangents: a
full Jacobian takes n passes. Reverse mode gives u^T J in one forward and one backward: a
full Jacobian takes m backward passes (``jacrev``). ``func.jvp`` is forward AD with the
transform's bookkeeping (before this round: the double-vjp identity, a forward and two
backward passes).

``--transforms``: ``func.jvp`` (now one forward-AD pass) against its former route, the double
vjp (``func.reverse_jvp.jvp_by_double_vjp``), on the MLP and on a GPT block (B=4, T=32, C=64,
4 heads, float64); ``func.jacfwd`` (n forward-AD passes) against its former route, jacrev's
m backward passes, and ``func.hessian`` (jacfwd(jacrev)) against the former jacrev(jacrev).
Prints a table of milliseconds (median of 7 runs) and one JSON line.
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

import minitf as mt
import minitf.autograd.forward_ad as fwAD
from minitf import functional as F


def mlp(n, m, hidden=64, seed=0):
    rng = np.random.default_rng(seed)
    ws = [mt.tensor(rng.standard_normal(s) / np.sqrt(s[1])) for s in ((hidden, n), (hidden, hidden), (m, hidden))]

    def f(x):
        h = F.tanh(F.linear(x, ws[0]))
        h = F.tanh(F.linear(h, ws[1]))
        return F.linear(h, ws[2])
    return f


def ms(fn, repeats=7):
    fn()   # warm-up (imports, first-call caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def forward_jacobian(f, x):
    basis = mt.eye(x.numel(), dtype=x.dtype)   # tangent i: the i-th unit vector
    with fwAD.dual_level():
        cols = [fwAD.unpack_dual(f(fwAD.make_dual(x, basis[i]))).tangent for i in range(x.numel())]
    return mt.stack(cols, -1)


def block_f(B=4, T=32, C=64, H=4, seed=0):
    mt.manual_seed(seed)
    block = mt.nn.TransformerBlock(C, H, dtype="float64")
    for p in block.parameters():
        p.requires_grad_(False)
    x = mt.tensor(np.random.default_rng(1).standard_normal((B, T, C)))
    t = mt.tensor(np.random.default_rng(2).standard_normal((B, T, C)))
    return block, x, t


def transforms():
    from minitf.func.reverse_jvp import jvp_by_double_vjp
    rows = []
    f = mlp(64, 64)
    x = mt.tensor(np.random.default_rng(1).standard_normal((8, 64)))
    t = mt.tensor(np.random.default_rng(2).standard_normal((8, 64)))
    block, bx, bt = block_f()
    for name, fn, a, v in (("jvp: MLP 64-64-64-64, batch 8", f, x, t), ("jvp: GPT block (4, 32, 64)", block, bx, bt)):
        new, old = mt.func.jvp(fn, (a,), (v,))[1], jvp_by_double_vjp(fn, (a,), (v,))[1]
        assert np.allclose(new.numpy(), old.numpy(), rtol=1e-10, atol=1e-12)
        rows.append({"what": name, "before_ms": ms(lambda: jvp_by_double_vjp(fn, (a,), (v,))),
                     "after_ms": ms(lambda: mt.func.jvp(fn, (a,), (v,)))})
    small = mlp(4, 64)
    xs = mt.tensor(np.random.default_rng(3).standard_normal(4))
    assert np.allclose(mt.func.jacfwd(small)(xs).numpy(), mt.func.jacrev(small)(xs).numpy(), rtol=1e-12, atol=1e-12)
    rows.append({"what": "jacfwd: MLP 4 -> 64", "before_ms": ms(lambda: mt.func.jacrev(small)(xs)),
                 "after_ms": ms(lambda: mt.func.jacfwd(small)(xs))})

    def scalar(v):
        return F.gelu(F.layer_norm(small(v), (64,))).sum()
    h_fwd = mt.func.jacfwd(mt.func.jacrev(scalar))(xs)   # forward over reverse (torch's hessian)
    h_rev = mt.func.jacrev(mt.func.jacrev(scalar))(xs)   # reverse over reverse (func.hessian's)
    assert np.allclose(h_fwd.numpy(), h_rev.numpy(), rtol=1e-9, atol=1e-11)
    rows.append({"what": "hessian of gelu(layer_norm(MLP)).sum(), 4 inputs: jacrev(jacrev) vs jacfwd(jacrev)",
                 "before_ms": ms(lambda: mt.func.jacrev(mt.func.jacrev(scalar))(xs)),
                 "after_ms": ms(lambda: mt.func.jacfwd(mt.func.jacrev(scalar))(xs))})
    print("| transform | before (reverse mode) | after (forward AD) | speed-up |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['what']} | {r['before_ms']:.2f} ms | {r['after_ms']:.2f} ms | {r['before_ms'] / r['after_ms']:.1f}x |")
    print(json.dumps(rows))


def main():
    if "--transforms" in sys.argv[1:]:
        return transforms()
    rows = []
    for n, m in ((4, 64), (64, 4)):
        f = mlp(n, m)
        x = mt.tensor(np.random.default_rng(1).standard_normal(n))
        t = mt.tensor(np.random.default_rng(2).standard_normal(n))

        def fwd_jvp():
            with fwAD.dual_level():
                return fwAD.unpack_dual(f(fwAD.make_dual(x, t))).tangent

        jf, jr = forward_jacobian(f, x), mt.func.jacrev(f)(x)
        assert np.allclose(jf.numpy(), jr.numpy(), rtol=1e-12, atol=1e-12)
        assert np.allclose(fwd_jvp().numpy(), mt.func.jvp(f, (x,), (t,))[1].numpy(), rtol=1e-12, atol=1e-12)
        rows.append({
            "n": n, "m": m,
            "forward_pass_ms": ms(lambda: f(x)),
            "forward_ad_jvp_ms": ms(fwd_jvp),
            "func_jvp_ms": ms(lambda: mt.func.jvp(f, (x,), (t,))),
            "jacobian_forward_ad_ms": ms(lambda: forward_jacobian(f, x)),
            "jacobian_jacrev_ms": ms(lambda: mt.func.jacrev(f)(x)),
        })
    print("| n -> m | forward pass | J t: forward AD | J t: func.jvp (double vjp) | Jacobian: forward AD (n passes) "
          "| Jacobian: jacrev (m backward passes) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['n']} -> {r['m']} | {r['forward_pass_ms']:.3f} ms | {r['forward_ad_jvp_ms']:.3f} ms | "
              f"{r['func_jvp_ms']:.3f} ms | {r['jacobian_forward_ad_ms']:.2f} ms | {r['jacobian_jacrev_ms']:.2f} ms |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
