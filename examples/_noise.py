"""McCandlish et al.'s (2018) estimators of the gradient noise, and a Trainer callback that measures
the simple noise scale B_simple = tr(Sigma) / |G|^2 along a run (used by examples/batch_noise.py).

A batch of B examples gives the gradient G_B, an unbiased estimate of the true
gradient G with covariance Sigma / B (Sigma: the covariance of one example's
gradient), so E|G_B|^2 = |G|^2 + tr(Sigma) / B. Two batch sizes B_small < B_big
give unbiased estimates of both terms (appendix A.1):

    |G|^2     ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
    tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)
"""
from __future__ import annotations

import time

import numpy as np

from minitf import data
from minitf import functional as F


def noise_estimates(sq_small: float, sq_big: float, b_small: int, b_big: int) -> dict:
    """|G|^2, tr(Sigma) and B_simple from the mean squared norms of batch gradients at two sizes.

    sq_small, sq_big: the mean of |G_B|^2 over batches of b_small and of b_big
    examples. Both estimates are unbiased (E|G_B|^2 = |G|^2 + tr(Sigma) / B);
    their ratio is B_simple, in examples.
    """
    if not 0 < b_small < b_big:
        raise ValueError(f"need 0 < b_small < b_big, got {b_small} and {b_big}")
    g2 = (b_big * sq_big - b_small * sq_small) / (b_big - b_small)
    s = (sq_small - sq_big) / (1.0 / b_small - 1.0 / b_big)
    return {"G2": float(g2), "trace_sigma": float(s), "B_simple": float(s / g2) if g2 > 0 else float("inf")}


def measure_noise(grad, draw, b_small: int, group: int, groups: int, resamples: int = 1000, seed: int = 0) -> dict:
    """The noise estimates from ``groups`` x ``group`` small-batch gradients.

    ``grad(batch)`` returns the flat gradient (P,) of the mean loss over a batch;
    ``draw(b)`` draws a batch of b examples. Each small gradient is of b_small
    examples; the mean of a group of ``group`` of them is the gradient of a batch
    of b_big = group x b_small examples, so the two sizes share their examples
    and the big batches cost nothing more. The spread is a bootstrap over the groups.
    """
    small_sq, big_sq = np.empty((groups, group)), np.empty(groups)
    for k in range(groups):
        total = None
        for j in range(group):
            g = np.asarray(grad(draw(b_small)), dtype=np.float64)
            small_sq[k, j] = g @ g
            total = g.copy() if total is None else total + g
        mean = total / group
        big_sq[k] = mean @ mean
    b_big = b_small * group
    est = noise_estimates(small_sq.mean(), big_sq.mean(), b_small, b_big)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(resamples):
        i = rng.integers(0, groups, groups)
        boot.append(noise_estimates(small_sq[i].mean(), big_sq[i].mean(), b_small, b_big)["B_simple"])
    boot = np.array(boot)
    finite = boot[np.isfinite(boot) & (boot > 0)]
    est.update(b_small=b_small, b_big=b_big, groups=groups, mean_sq_small=float(small_sq.mean()),
               mean_sq_big=float(big_sq.mean()),
               B_simple_95=[float(v) for v in np.percentile(finite, [2.5, 97.5])] if finite.size else None,
               bootstrap_nonpositive_G2=int(boot.size - finite.size))
    return est


class NoiseScale:
    """Trainer callback: B_simple at the evals of the iterations in ``iters``, on the model as it is.

    The batches come from a generator of their own, seeded alike at every
    measurement (the same examples each time): the run's own batches are not
    disturbed, and two measurements differ by what the model learned. ``evals``: the run's validation
    callback (scaling_laws.FixedValLoss), whose last record gives the loss at the measurement."""

    def __init__(self, iters, b_small: int, group: int, groups: int, evals):
        self.iters, self.b_small, self.group, self.groups, self.evals = set(iters), b_small, group, groups, evals
        self.points = []

    def __call__(self, trainer, record):
        if record["iter"] not in self.iters:
            return
        model, s = trainer.model, trainer.sampler
        params = list(model.parameters())
        sampler = data.BatchSampler(s.data["train"], s.data["val"], s.block_size, self.b_small, s.device, 12345)

        def grad(batch):
            for p in params:
                p.grad = None
            x, y = batch
            logits = model(x)   # (B, T, V): flattened to torch's (N, C) layout
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
            return np.concatenate([p.grad.numpy().ravel() for p in params])

        t0 = time.process_time()
        est = measure_noise(grad, lambda b: sampler.get_batch("train"), self.b_small, self.group, self.groups)
        for p in params:
            p.grad = None
        est.update(iter=record["iter"], val_loss=self.evals.history[-1]["val_loss"],
                   cpu_seconds=time.process_time() - t0)
        self.points.append(est)
