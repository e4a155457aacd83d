"""nn.AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al. (2016), as torch's.

The classes are split by ``cutoffs`` into a shortlist [0, c_0) and clusters [c_i, c_{i+1}).
The head scores the shortlist classes and one entry per cluster; cluster i's own small
projection (in_features -> in_features // div_value^(i+1) -> cluster size) scores its classes:

    log p(y) = log_softmax(head(x))[y]                                    y in the shortlist
    log p(y) = log_softmax(head(x))[c_0 + i] + log_softmax(tail_i(x))[y - c_i]   y in cluster i

Built from Linear, log_softmax, indexing and cat: the layer holds no numeric code of its own.
The loop is over the clusters (a handful), never over rows.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

import minitf as _mt

from .. import functional as F
from ..errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from ..ops._util import is_int
from ..tensor import Tensor
from .container import Sequential
from .linear import Linear
from .module import Module, ModuleList

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive log-softmax with torch's parameters (``head``, ``tail.i.0``, ``tail.i.1``: a torch
    state dict loads, strict) and outputs.

    forward(input, target): input (N, in_features) or (in_features,), target (N,) or () class
    indices -> ``(output, loss)``: output (N,) (or 0-d) the log-probability of each target,
    loss the mean of -output. ``log_prob(input)``: (N, n_classes) log-probabilities of every
    class. ``predict(input)``: (N,) the most probable class. ``device`` / ``dtype``: where and in
    what the parameters are made (None: the default device and dtype).
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if not is_int(in_features) or in_features <= 0:
            raise ArgumentError(f"AdaptiveLogSoftmaxWithLoss: in_features must be a positive int, got {in_features!r}")
        if (len(cutoffs) == 0 or not all(is_int(c) for c in cutoffs) or cutoffs != sorted(cutoffs)
                or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs)):
            raise ArgumentError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive "
                                "integers sorted in an increasing order, where each value is between 1 and "
                                f"n_classes-1, got {cutoffs} with n_classes={n_classes}")
        self.in_features, self.n_classes = int(in_features), int(n_classes)
        self.cutoffs = [int(c) for c in cutoffs] + [self.n_classes]
        self.div_value = float(div_value)
        self.head_bias = bool(head_bias)
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = {"device": device, "dtype": dtype}
        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (self.div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(self.in_features, hsz, bias=False, **factory),
                                        Linear(hsz, osz, bias=False, **factory)))

    def _check_input(self, input):
        if not isinstance(input, Tensor) or input.ndim not in (1, 2) or input.shape[-1] != self.in_features:
            raise ShapeError(f"AdaptiveLogSoftmaxWithLoss: input must be (N, {self.in_features}) or "
                             f"({self.in_features},), got {getattr(input, 'shape', type(input).__name__)}")

    def forward(self, input: Tensor, target: Tensor):
        self._check_input(input)
        batched = input.ndim == 2
        if not isinstance(target, Tensor):
            target = _mt.tensor(target, device=input.device)
        if np.dtype(target.dtype).kind not in "iu":   # torch's gather refuses them; astype truncated them
            raise DtypeError(f"AdaptiveLogSoftmaxWithLoss: target must hold integer class indices (int32/int64), "
                             f"got {target.dtype}")
        if target.ndim != (1 if batched else 0) or (batched and target.shape[0] != input.shape[0]):
            raise ShapeError(f"AdaptiveLogSoftmaxWithLoss: input {input.shape} and target {target.shape} should have "
                             f"the same size in the batch dimension (target (N,), or 0-d for a 1-D input)")
        x = input if batched else input.unsqueeze(0)
        host = target.numpy().reshape(-1).astype(np.int64)     # which rows go to which cluster
        if host.size and (host.min() < 0 or host.max() >= self.n_classes):
            raise IndexRangeError(f"AdaptiveLogSoftmaxWithLoss: target values should be in [0, {self.n_classes - 1}], "
                                  f"but values in range [{host.min()}, {host.max()}] were found")
        n = host.shape[0]
        head_col = host.copy()                  # the head entry each row reads: its class or its cluster's
        pieces, rows = [], []
        for i in range(self.n_clusters):        # the rows of cluster i: log p(y | cluster i)
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            idx = np.nonzero((host >= low) & (host < high))[0]
            if idx.size == 0:
                continue
            head_col[idx] = self.shortlist_size + i
            sub = x[_mt.tensor(idx, device=x.device)]
            logp = F.log_softmax(self.tail[i](sub), -1)
            pieces.append(logp[_mt.arange(idx.size, device=x.device), _mt.tensor(host[idx] - low, device=x.device)])
            rows.append(idx)
        head_logp = F.log_softmax(self.head(x), -1)
        output = head_logp[_mt.arange(n, device=x.device), _mt.tensor(head_col, device=x.device)]
        if pieces:
            # the clusters' terms in row order: shortlist rows add 0
            short = np.nonzero(host < self.shortlist_size)[0]
            pieces.append(_mt.zeros(short.size, dtype=x.dtype, device=x.device))
            order = np.argsort(np.concatenate(rows + [short]), kind="stable")
            output = output + F.cat(pieces, 0)[_mt.tensor(order, device=x.device)]
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, x):
        head_logp = F.log_softmax(self.head(x), -1)
        parts = [head_logp[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            c = self.shortlist_size + i
            parts.append(F.log_softmax(self.tail[i](x), -1) + head_logp[:, c:c + 1])
        return F.cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """(N, in_features) or (in_features,) -> (N, n_classes) (or (n_classes,)) log-probabilities."""
        self._check_input(input)
        if input.ndim == 1:
            return self._full_log_prob(input.unsqueeze(0)).squeeze(0)
        return self._full_log_prob(input)

    def predict(self, input: Tensor) -> Tensor:
        """(N, in_features) or (in_features,) -> (N,) (or 0-d) the class of highest probability: the head's
        choice where it is a shortlist class (no cluster can beat it), else the full argmax."""
        self._check_input(input)
        x = input if input.ndim == 2 else input.unsqueeze(0)
        with _mt.no_grad():
            out = self.head(x).argmax(1)
            far = out.numpy() >= self.shortlist_size
            if far.any():
                idx = _mt.tensor(np.nonzero(far)[0], device=x.device)
                full = self._full_log_prob(x[idx]).argmax(1)
                host = out.numpy().copy()
                host[far] = full.numpy()
                out = _mt.tensor(host, device=x.device)
        return out if input.ndim == 2 else out.squeeze(0)

