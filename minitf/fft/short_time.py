"""torch.stft and torch.istft: the short-time Fourier transform and its inverse by weighted
overlap-add, built of differentiable ops (so their gradients, in the signal and in the window,
are those ops' own, to any order).

stft: the signal (B?, L), padded by n_fft // 2 on both sides when ``center`` (``pad_mode``), is
cut into frames of n_fft samples every ``hop_length`` (:class:`~minitf.fft.framing.Frames`,
whose backward is an overlap-add), each multiplied by the window (win_length samples,
zero-padded on both sides to n_fft) and transformed (``rfft``, one-sided, for a real signal and
window; ``fft`` otherwise): (B?, N, T), N = n_fft // 2 + 1 or n_fft.

istft: each frame transformed back (``irfft`` / ``ifft``), multiplied by the window again and
overlap-added (:class:`~minitf.fft.framing.OverlapAdd`, whose backward cuts frames), then
divided by the envelope, the overlap-added squared window: the least-squares inverse of stft
(Griffin and Lim, 1984). The envelope must not vanish inside the output (the NOLA condition),
else the error torch gives.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeError, ShapeError
from ..ops._util import is_int
from ..tensor import Tensor
from .framing import Frames, OverlapAdd

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _complex(t) -> bool:
    return t is not None and t.data.dtype.kind == "c"


def _real_dtype(t):
    return np.dtype(t.data.dtype.char.lower())   # complex128 -> float64, float32 -> float32


def _arguments(name, input, n_fft, hop_length, win_length, window):
    """(hop_length, win_length) with torch's defaults, n_fft // 4 and n_fft, after the checks of the
    arguments' types, 0 < win_length <= n_fft and the window's device."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if window is not None and not isinstance(window, Tensor):
        raise TypeError(f"{name}(): argument 'window' must be Tensor, not {type(window).__name__}")
    if window is not None and window.device != input.device:
        raise backend.DeviceError(f"{name} input and window must be on the same device but got self on "
                                  f"{input.device} and window on {window.device}")
    for arg, v in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
        if (v is not None or arg == "n_fft") and not is_int(v):
            raise TypeError(f"{name}(): argument '{arg}' must be int, not {type(v).__name__}")
    if n_fft <= 0:
        raise ArgumentError(f"{name}: expected n_fft > 0, but got n_fft={n_fft}")
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win_length = n_fft if win_length is None else int(win_length)
    if not 0 < win_length <= n_fft:
        raise ArgumentError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    return hop, win_length


def _padded_window(window, n_fft, win_length, like: Tensor, message: str):
    """The window (win_length,) zero-padded on both sides (left: (n_fft - win_length) // 2) to (n_fft,),
    differentiable in it; None for no window of n_fft points (ones: nothing to multiply by)."""
    from .. import creation, functional as F
    if window is None:
        warnings.warn(f"A window was not provided: {message} (window=mt.ones(n_fft) says so and silences this)",
                      UserWarning, stacklevel=3)
        if win_length == n_fft:
            return None
        window = creation.ones(win_length, dtype=_real_dtype(like), device=like.device)
    if win_length == n_fft:
        return window
    left = (n_fft - win_length) // 2
    right = n_fft - win_length - left
    return F.cat([creation.zeros(left, dtype=window.dtype, device=window.device), window,
                  creation.zeros(right, dtype=window.dtype, device=window.device)])


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    """The short-time Fourier transform (torch.stft): input (L,) or (B, L), float or complex -> complex
    (B?, N, T): N = n_fft // 2 + 1 (``onesided``, the default for a real input and window) or n_fft,
    T = 1 + L // hop_length (``center``) or 1 + (L - n_fft) // hop_length.

    X[b, w, t] = sum_k window[k] input[b, t * hop_length + k] exp(-2 pi i w k / n_fft), the window
    (win_length,) zero-padded on both sides to n_fft (None: ones, with torch's warning). ``center``:
    the input padded first by n_fft // 2 on both sides (``pad_mode``: "reflect", "constant",
    "replicate", "circular"), so that frame t is centred at t * hop_length. ``normalized``: scaled by
    n_fft^-1/2. ``return_complex`` must be given for a real input and window (torch's error);
    False gives the deprecated (B?, N, T, 2) real layout, with torch's warning. ``align_to_window``
    (center=False only): True starts frame t where its window starts (the window's first sample at
    t * hop_length: T = 1 + (L - win_length) // hop_length). Differentiable in input and window.
    """
    from ..functional import pad
    from .transforms import fft, rfft
    hop, win_length = _arguments("stft", input, n_fft, hop_length, win_length, window)
    if center and align_to_window is not None:
        raise ArgumentError("stft align_to_window should only be set when center = false")
    if input.data.dtype.kind not in "fc":
        raise DtypeError(f"stft: expected a tensor of floating point or complex values, got {input.dtype}")
    if input.ndim not in (1, 2):
        raise ShapeError(f"stft: expected a 1D or 2D tensor, got a {input.ndim}-D tensor of shape {tuple(input.shape)}")
    any_complex = _complex(input) or (isinstance(window, Tensor) and _complex(window))
    if return_complex is None:
        if not any_complex:
            raise ArgumentError("stft requires the return_complex parameter be given for real inputs (True: a "
                                "complex spectrum; False, the (..., 2) real layout, is deprecated)")
        return_complex = True
    if hop <= 0:
        raise ArgumentError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if isinstance(window, Tensor) and tuple(window.shape) != (win_length,):
        raise ShapeError(f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                         f"window with size {list(window.shape)}")
    onesided = not any_complex if onesided is None else bool(onesided)
    if onesided and any_complex:
        raise ArgumentError("Cannot have onesided output if window or input is complex")
    x = input
    if center:
        x = _center_pad(x, n_fft // 2, pad_mode)
    length = x.shape[-1]
    if align_to_window:   # frames of n_fft whose windows start every hop samples: zeros around the signal
        left = (n_fft - win_length) // 2
        if not 0 < win_length <= length:
            raise ArgumentError(f"stft: expected 0 < win_length <= {length} (the signal's length) with "
                                f"align_to_window=True, but got win_length={win_length}")
        if win_length < n_fft:
            x = pad(x, (left, n_fft - win_length - left))
    elif not 0 < n_fft <= length:
        raise ArgumentError(f"stft: expected 0 < n_fft <= {length} (the{' padded' if center else ''} signal's "
                            f"length), but got n_fft={n_fft}")
    frames = Frames.apply(x, size=n_fft, hop=hop, count=1 + (x.shape[-1] - n_fft) // hop)   # (B?, T, n_fft)
    w = _padded_window(window, n_fft, win_length, input, "stft applies a rectangular one, whose frames' edges "
                       "leak energy between frequency bins; a tapered window (mt.hann_window(n_fft)) leaks less")
    if w is not None:
        frames = frames * w
    norm = "ortho" if normalized else "backward"
    spec = (rfft(frames, dim=-1, norm=norm) if onesided else fft(frames, dim=-1, norm=norm)).transpose(-1, -2)
    if return_complex:
        return spec
    warnings.warn("stft with return_complex=False is deprecated, as in torch: return_complex=True gives the complex "
                  "spectrum, and mt.view_as_real of it this (..., 2) real layout", UserWarning, stacklevel=2)
    from ..ops.complex_parts import view_as_real
    return view_as_real(spec)


def _center_pad(x, p, mode):
    """x padded by p on both sides of its last dim (torch's pad_mode, with torch's size checks)."""
    from ..functional import pad
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"stft: Unrecognised padding mode {mode!r} (one of {', '.join(_PAD_MODES)})")
    n = x.shape[-1]
    if mode == "reflect" and p >= n or mode == "circular" and p > n or n == 0 and mode != "constant":
        raise ShapeError(f"stft: Padding size should be less than the corresponding input dimension, but got: "
                         f"padding ({p}, {p}) for a signal of {n} samples ({mode} padding by n_fft // 2)")
    return pad(x, (p, p), mode) if p else x


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """The inverse of :func:`stft` (torch.istft): complex (B?, N, T) -> (B?, length), real (``irfft`` of
    each frame) unless ``return_complex`` (``ifft``: then not ``onesided``). The frames, each times
    the window, are overlap-added and divided by the overlap-added squared window (the least-squares
    estimate of the signal); an envelope below 1e-11 inside the output is torch's NOLA error.

    ``onesided`` defaults to N != n_fft (then N must be n_fft // 2 + 1; a two-sided input with a real
    output reads its first n_fft // 2 + 1 bins, as torch). ``center``: the stft was centred, the
    first n_fft // 2 samples are dropped. ``length``: the output's length (cut, or zero-padded with
    torch's warning); default (T - 1) hop_length (centred) or n_fft + (T - 1) hop_length.
    ``normalized``: the stft was scaled by n_fft^-1/2. Differentiable in input and window.
    """
    from ..functional import pad
    from .transforms import ifft, irfft
    hop, win_length = _arguments("istft", input, n_fft, hop_length, win_length, window)
    if not _complex(input):
        raise DtypeError(f"istft requires a complex-valued input tensor (stft's output with return_complex=True), "
                         f"got {input.dtype}")
    if input.ndim not in (2, 3):
        raise ShapeError(f"istft: expected a tensor with 2 or 3 dimensions, (N, T) or (B, N, T), but got "
                         f"{input.ndim}")
    if input.numel() == 0:
        raise ShapeError("istft: input tensor cannot be empty.")
    if not 0 < hop <= win_length:
        raise ArgumentError(f"istft: expected 0 < hop_length <= win_length, but got hop_length={hop}")
    if isinstance(window, Tensor) and tuple(window.shape) != (win_length,):
        raise ShapeError(f"istft: Invalid window shape. window has to be 1D and length of `win_length` "
                         f"({win_length}), got {list(window.shape)}")
    n_freq, n_frames = input.shape[-2:]
    onesided = n_freq != n_fft if onesided is None else bool(onesided)
    if return_complex and onesided:
        raise ArgumentError("Cannot have onesided output if window or input is complex")
    if not return_complex and _complex(window):
        raise ArgumentError("Complex windows are incompatible with return_complex=False")
    expected = n_fft // 2 + 1 if onesided else n_fft
    if n_freq != expected:
        raise ShapeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                         f"{'n_fft / 2 + 1' if onesided else 'n_fft'} when onesided={onesided}, but got {n_freq}")
    spec = input.transpose(-1, -2)   # (B?, T, N)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        frames = ifft(spec, n=n_fft, dim=-1, norm=norm)
    else:   # a two-sided spectrum read as one-sided (its other bins ignored), as torch
        frames = irfft(spec if onesided else spec[..., :n_fft // 2 + 1], n=n_fft, dim=-1, norm=norm)
    w = _padded_window(window, n_fft, win_length, frames, "istft assumes a rectangular one; the inverse is "
                       "exact only with the window stft used")
    if w is not None:
        frames = frames * w
    full = n_fft + hop * (n_frames - 1)
    y = OverlapAdd.apply(frames, hop=hop, length=full)
    from .. import creation
    squares = (creation.ones(n_fft, dtype=_real_dtype(frames), device=frames.device) if w is None
               else w * w)   # (a complex window's square, not |w|^2, as torch)
    envelope = OverlapAdd.apply(squares.expand(n_frames, n_fft), hop=hop, length=full)
    start = n_fft // 2 if center else 0
    end = start + int(length) if length is not None else full - n_fft // 2 if center else full
    end = min(end, full)
    y, envelope = y[..., start:end], envelope[start:end]
    if envelope.numel():
        lowest = float(envelope.detach().abs().min().item())
        if lowest < 1e-11:
            raise ArgumentError(f"istft: window overlap add min: {lowest:.3g} < 1e-11: the overlap-added squared "
                                f"window vanishes inside the output (the NOLA condition fails for this window, "
                                f"hop_length and center)")
    y = y / envelope
    if length is not None and y.shape[-1] < length:
        warnings.warn(f"istft: the signal ({y.shape[-1]} samples) is shorter than the length parameter ({length}): "
                      f"zeros are added at its end (are center and hop_length those of the stft?)", UserWarning,
                      stacklevel=2)
        y = pad(y, (0, int(length) - y.shape[-1]))
    return y
