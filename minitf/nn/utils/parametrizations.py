"""The ready-made parametrisations of ``torch.nn.utils.parametrizations``: weight_norm,
spectral_norm and orthogonal, each a small Module registered with
:func:`~minitf.nn.utils.parametrize.register_parametrization`.

    parametrizations.weight_norm(layer)     # layer.parametrizations.weight.original0 (g), original1 (v)
    parametrizations.spectral_norm(layer)   # layer.parametrizations.weight[0]._u, ._v: power iteration
    parametrizations.orthogonal(layer)      # layer.weight^T layer.weight = I (tall) or W W^T = I (wide)
"""
from __future__ import annotations

import functools

import numpy as np

from ... import backend
from ...autograd import bump_version
from ...creation import eye, randn, zeros_like
from ...errors import ArgumentError
from ...grad_modes import no_grad
from ...ops import concatenate
from ...ops.similarity import normalize
from ...ops._util import check_dim
from ...tensor import Tensor
from ..module import Module
from . import parametrize
from .weight_norm_hook import _weight_norm, norm_except_dim

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


# ------------------------------------------------------------------ weight norm
class _WeightNorm(Module):
    """w = g v / ||v||, the norm over every dim but ``dim`` (None or -1: the whole tensor)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor):
        return norm_except_dim(weight, 2, self.dim), weight   # (g, v): g v / ||v|| = weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalisation w = g v / ||v|| of ``module.<name>``, as
    ``torch.nn.utils.parametrizations.weight_norm``.

    ``module.parametrizations.<name>.original0`` is g: the shape of
    ``norm_except_dim(w, 2, dim)``, e.g. (out, 1) for a Linear's (out, in) weight
    and dim=0; ``original1`` is v: w's shape. They are new Parameters: build the
    optimizer after this call. ``dim=None``: one norm over the whole weight.
    A state dict with the keys of the hooks-based :func:`minitf.nn.utils.weight_norm`
    (``<name>_g``, ``<name>_v``) loads into the module: a load-state-dict pre-hook
    renames them to ``original0`` / ``original1``, as PyTorch's.
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    # a partial of a module-level function: the module still pickles and deep-copies
    module._register_load_state_dict_pre_hook(functools.partial(_weight_norm_compat_hook, name))
    return module


def _weight_norm_compat_hook(name, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                             error_msgs) -> None:
    # the legacy pair is renamed only when both keys are there (one alone: missing + unexpected keys)
    g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
    if g_key in state_dict and v_key in state_dict:
        state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
        state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)


# ------------------------------------------------------------------ spectral norm
def _as_matrix(weight: Tensor, dim: int) -> Tensor:
    """weight: (d0, ..., dn) -> (d_dim, prod of the others), ``dim`` moved first."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


def _normalize_into(buf: Tensor, x: Tensor, eps: float) -> None:
    # torch's F.normalize(..., out=buf): the buffer keeps its identity (it is in the state dict)
    buf.data[...] = normalize(x, dim=0, eps=eps).data
    bump_version(buf)


def _check_iterations(n) -> None:
    if not n > 0:
        raise ArgumentError(f"spectral_norm: expected n_power_iterations to be positive, but got "
                            f"n_power_iterations={n}")


class _SpectralNorm(Module):
    """W / sigma(W), sigma estimated by power iteration on the matrix of W (``dim`` first).

    Buffers ``_u``: (rows,) and ``_v``: (cols,), the estimated singular vectors,
    updated ``n_power_iterations`` times per evaluation in training mode and left
    as they are in eval mode; 15 iterations at construction. A 1-d weight is only
    divided by its norm (no buffers).
    """

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        self.dim = check_dim("spectral_norm", dim, weight.ndim)
        _check_iterations(n_power_iterations)
        self.eps = eps
        if weight.ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                w = _as_matrix(weight, self.dim)
                h, wd = w.shape
                self.register_buffer("_u", normalize(randn(h, dtype=weight.dtype, device=weight.device),
                                                     dim=0, eps=eps))
                self.register_buffer("_v", normalize(randn(wd, dtype=weight.dtype, device=weight.device),
                                                     dim=0, eps=eps))
            self._power_method(w, 15)

    def _power_method(self, w: Tensor, n: int) -> None:
        # u <- W v / |W v|, v <- W^T u / |W^T u| (u first, as torch's parametrisation)
        with no_grad():
            for _ in range(n):
                _normalize_into(self._u, w.detach() @ self._v, self.eps)
                _normalize_into(self._v, w.detach().mT @ self._u, self.eps)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        w = _as_matrix(weight, self.dim)
        if self.training:
            self._power_method(w, self.n_power_iterations)
        # copies: the graph keeps these values even if a later evaluation updates the buffers
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (w @ v)).sum()   # u . W v; its gradient reaches W (u, v are constants)
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _default_dim(module) -> int:
    # a transposed convolution keeps its output channels in dim 1 (weight: (in, out / groups, *k))
    from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def _tensor_named(module, name: str, fn: str) -> Tensor:
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"{fn}: module {type(module).__name__} has no parameter or buffer with name {name!r}")
    return weight


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Spectral normalisation W / sigma(W) of ``module.<name>``, as
    ``torch.nn.utils.parametrizations.spectral_norm``.

    sigma is the largest singular value of W seen as a matrix (``dim``, default 0,
    or 1 for a ConvTranspose, becomes the rows), estimated by ``n_power_iterations``
    steps of the power method each time the weight is read in training mode
    (the vectors are in ``module.parametrizations.<name>[0]._u`` and ``._v``, and
    in the state dict). A 1-d weight is divided by its 2-norm. ``eps``: the
    floor of the norms in the power method.
    """
    weight = _tensor_named(module, name, "spectral_norm")
    if dim is None:
        dim = _default_dim(module)
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ------------------------------------------------------------------ orthogonal
_MAPS = ("matrix_exp", "cayley", "householder")


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of a = QR (a: (..., n, k), n >= k) with diag(R) >= 0: Q's columns times sign(diag R)."""
    from ...linalg import qr
    q, r = qr(a)
    return q * r.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    ident = eye(k, dtype=q.dtype, device=q.device)
    atol = 10.0 * n * float(np.finfo(q.dtype).eps)
    return bool(((q.mT @ q) - ident).abs().le(atol + 1e-5 * ident.abs()).all())   # torch.allclose's rule


class _Orthogonal(Module):
    """Q (..., n, k) with orthonormal columns (n >= k; rows when n < k) made from an unconstrained X.

    ``matrix_exp`` / ``cayley``: Q = exp(A) or (I - A/2)^-1 (I + A/2) of the skew-symmetric
    A = L - L^T, L the lower triangle of X (padded to square); ``householder``: the product of
    the Householder reflectors in X's strict lower triangle. With ``use_trivialization`` a
    buffer ``base`` (n, n) multiplies Q from the left (the dynamic trivialisation of
    Lezcano-Casado 2019): assigning a matrix sets ``base`` to it and X to -I.
    """

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            x = x.tril()
            if n != k:
                pad = zeros_like(x[..., :1]).expand(*x.shape[:-1], n - k)
                x = concatenate([x, pad], dim=-1)
            a = x - x.mT
            if self.orthogonal_map == "matrix_exp":
                from ...linalg import matrix_exp
                q = matrix_exp(a)
            else:
                from ...linalg import solve
                ident = eye(n, dtype=a.dtype, device=a.device)
                q = solve(ident - 0.5 * a, ident + 0.5 * a)
            if n != k:
                q = q[..., :k]
        else:
            from ...linalg import householder_product
            a = x.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
            q = householder_product(a, tau)
            q = q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)   # (the reflections' signs, +-1)
        if hasattr(self, "base"):
            q = self.base @ q
        return q.mT if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(q)

    def _right_inverse(self, q: Tensor) -> Tensor:
        if q.shape != self.shape:
            raise ArgumentError(f"orthogonal: expected a matrix or batch of matrices of shape {self.shape}, "
                                f"got a tensor of shape {q.shape}")
        q_init = q
        n, k = q.shape[-2], q.shape[-1]
        transpose = n < k
        if transpose:
            q = q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map != "householder":
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            a = _householder_reflectors(q)
            return a.mT if transpose else a
        if n == k:
            q = q.clone() if _is_orthogonal(q) else _make_orthogonal(q)
        else:   # complete the columns to a square matrix with random ones, then orthogonalise
            extra = randn(*q.shape[:-2], n, n - k, dtype=q.dtype, device=q.device)
            q = _make_orthogonal(concatenate([q, extra], dim=-1))
        self.base = q
        neg_id = np.zeros(q_init.shape, dtype=q_init.dtype)   # -I (..., rows, cols), made on the host
        idx = np.arange(min(q_init.shape[-2:]))
        neg_id[..., idx, idx] = -1.0
        return Tensor(backend.to_device(neg_id, q_init.device))


def _householder_reflectors(q: Tensor) -> Tensor:
    """geqrf's reflectors of q (..., n, k) with the diagonal set to the signs that make
    ``householder_product`` give q back (torch's right_inverse without trivialisation)."""
    host = backend.to_numpy(q.data).astype(np.float64)
    out = np.empty_like(host)
    flat_q, flat_out = host.reshape(-1, *host.shape[-2:]), out.reshape(-1, *host.shape[-2:])
    for i in range(flat_q.shape[0]):   # (once per assignment, on the host: LAPACK's geqrf)
        h, tau = np.linalg.qr(flat_q[i], mode="raw")
        a = h.T.copy()
        d = np.sign(np.diagonal(a)).copy()
        d[tau == 0.0] *= -1
        a[np.arange(len(d)), np.arange(len(d))] = d
        flat_out[i] = a
    return Tensor(backend.to_device(out.astype(q.dtype), q.device))


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Make ``module.<name>`` (..., m, n) orthogonal: Q^T Q = I if m >= n, Q Q^T = I otherwise, as
    ``torch.nn.utils.parametrizations.orthogonal``.

    ``orthogonal_map``: "matrix_exp", "cayley" or "householder" (default:
    matrix_exp for a square weight, householder otherwise). With
    ``use_trivialization`` (default) the parametrisation keeps a buffer ``base``
    (``module.parametrizations.<name>[0].base``) and starts from the current
    weight, orthogonalised by QR when it is not orthogonal already (a non-square
    one completed with random columns first).
    """
    weight = _tensor_named(module, name, "orthogonal")
    if weight.ndim < 2:
        raise ArgumentError(f"orthogonal: expected a matrix or batch of matrices, got a tensor of "
                            f"{weight.ndim} dimensions")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ArgumentError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder", '
                            f'got {orthogonal_map!r}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
