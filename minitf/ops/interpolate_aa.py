"""``F.interpolate(..., antialias=True)``: resampling that averages over every input pixel an
output pixel covers, as torch's ``_upsample_*_aa`` kernels (and PIL's resize), for the modes
bilinear, bicubic and lanczos of (N, C, H, W) inputs.

Along each spatial dim, with s the step in input coordinates per output pixel (n_in / n_out, or
1 / scale_factor; (n_in - 1) / (n_out - 1) with align_corners), output pixel j is centred at
c_j = s (j + 1/2). When downsampling (s >= 1) the filter is stretched by s, so that it covers
the s input pixels under j rather than just the nearest few; upsampling keeps it as it is:

    support = r s (s >= 1) or r;   u = 1 / s (s >= 1) or 1;   r = 1, 2, 3 (bilinear, bicubic, lanczos)
    window  = [max(trunc(c_j - support + 1/2), 0), min(trunc(c_j + support + 1/2), n_in))
    w_i     = f((i - c_j + 1/2) u) / sum over the window,    i in the window

with f the triangle 1 - |x| (bilinear), Keys' cubic with a = -0.5 (bicubic: PIL's, not the -0.75
of plain bicubic) or sinc(x) sinc(x / 3) on |x| < 3 (lanczos). The weights depend on the sizes
alone and are built on the host; the resampling itself is interpolate's (a gather per tap along
each dim, so the gradient, in every order, is the gathers' scatter-add).
"""
from __future__ import annotations

import numpy as np

AA_MODES = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}   # the filter's radius r


def _filter(mode, x):
    x = np.abs(x)
    if mode == "bilinear":
        return np.maximum(1.0 - x, 0.0)
    if mode == "bicubic":
        a = -0.5
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = (((x - 5) * x + 8) * x - 4) * a
        return np.where(x < 1, near, np.where(x < 2, far, 0.0))
    return np.where(x < 3, np.sinc(x) * np.sinc(x / 3), 0.0)   # np.sinc(x) = sin(pi x) / (pi x)


def aa_taps(n_in: int, n_out: int, scale, align_corners: bool, mode: str, dtype):
    """The taps and weights of antialiased resampling of one dim, n_in -> n_out: lists of K arrays
    (n_out,), the k-th tap of every output pixel (K the widest window; a pixel with a narrower
    window gets weight 0 on its extra taps). ``scale``: the scale_factor, or None (n_out / n_in)."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    elif scale is not None and scale > 0:
        s = 1.0 / scale
    else:
        s = n_in / n_out
    r = AA_MODES[mode]
    support, u = (r * s, 1.0 / s) if s >= 1.0 else (r, 1.0)
    centre = s * (np.arange(n_out) + 0.5)
    lo = np.maximum(np.trunc(centre - support + 0.5), 0).astype(np.int64)
    hi = np.minimum(np.trunc(centre + support + 0.5), n_in).astype(np.int64)
    K = max(int((hi - lo).max()), 1)
    idx = lo[None, :] + np.arange(K)[:, None]                        # (K, n_out)
    w = np.where(idx < hi[None, :], _filter(mode, (idx - centre[None, :] + 0.5) * u), 0.0)
    total = w.sum(axis=0)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0)
    idx = np.minimum(idx, n_in - 1)
    return list(idx), [row.astype(dtype) for row in w]
