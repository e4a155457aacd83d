"""minitf: a from-scratch tensor library with reverse-mode autograd on NumPy / CuPy.

    import minitf as mt
    from minitf import functional as F

    x = mt.tensor([[1.0, 2.0]], requires_grad=True)
    y = F.tanh(x @ x.T).sum()
    y.backward()
    x.grad
"""
from .tensor import Tensor  # noqa: F401
from .creation import (tensor, from_numpy, zeros, ones, full, zeros_like, ones_like,  # noqa: F401
                       full_like, empty, eye, arange, rand, randn, randint)
from .dtypes import (float16, float32, float64, int32, int64, uint8, bool,  # noqa: F401
                     half, float, double, int, long, int8, int16, short, finfo, iinfo,
                     complex64, complex128, cfloat, cdouble)
from .unsupported_dtypes import bfloat16, complex32, chalf  # noqa: F401  (named only: NumPy has neither)
from .size import Size  # noqa: F401
from .autograd import no_grad, enable_grad, is_grad_enabled  # noqa: F401
from .grad_modes import set_grad_enabled, inference_mode, is_inference_mode_enabled  # noqa: F401
from .creation import (as_tensor, is_tensor, empty_like, rand_like, randn_like,  # noqa: F401
                       randint_like, linspace, randperm)
from .backprop import grad  # noqa: F401
from .ops.recompute import recompute  # noqa: F401
from .backend import DeviceError, gpu_available, set_num_threads, num_threads  # noqa: F401
from .backend import num_threads as get_num_threads  # noqa: F401  (torch's name)
from .devices import device  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError, max_relative_error  # noqa: F401
from .random import manual_seed, seed, initial_seed  # noqa: F401
from .generator import Generator, default_generator, get_rng_state, set_rng_state  # noqa: F401
from math import e, inf, nan, pi  # noqa: F401,E402  (torch's constants: plain floats, as torch's)
newaxis = None   # torch.newaxis, as NumPy's: x[:, mt.newaxis] inserts a dimension
from .creation import get_default_dtype, set_default_dtype  # noqa: F401
from .anomaly import detect_anomaly, AnomalyError  # noqa: F401
# (imported here, before the op mt.dot below takes the name the submodule minitf.dot would bind)
from .dot import to_dot, draw_graph  # noqa: F401
from . import functional  # noqa: F401
from . import errors  # noqa: F401  (error classes deriving from minitf's former and torch's classes)
from .backend import silence_fp_warnings_from_minitf as _silence

_silence()   # inf and NaN results are silent, as in PyTorch (a warnings filter: free per op)
del _silence

__version__ = "0.1.0"


def _lazy_submodule(name):
    # nn, optim, models... are imported on first use, keeping `import minitf` light
    import importlib
    if name in ("nn", "optim", "models", "data", "checkpoint", "train", "distributed", "cuda", "utils",
                "amp", "backends", "linalg", "special", "printing", "profiler", "func", "testing",
                "distributions", "fft", "signal"):
        return importlib.import_module(f".{name}", __name__)
    if name == "vmap":   # torch.vmap is torch.func.vmap
        return importlib.import_module(".func", __name__).vmap
    if name in ("autocast", "is_autocast_enabled", "GradScaler"):   # torch.autocast is torch.amp.autocast, ...
        return getattr(importlib.import_module(".amp", __name__), name)
    if name in _LINALG_ALIASES:   # torch's top-level linalg names, from mt.linalg (imported on first use)
        module, attr = _LINALG_ALIASES[name]
        return getattr(importlib.import_module(f".linalg.{module}", __name__), attr)
    raise AttributeError(f"module 'minitf' has no attribute {name!r}")


# linalg: torch's top-level aliases of torch.linalg's functions (name -> module of mt.linalg, function)
_LINALG_ALIASES = {"inverse": ("inverse", "inv"), "det": ("inverse", "det"), "logdet": ("inverse", "logdet"),
                   "slogdet": ("inverse", "slogdet"), "pinverse": ("inverse", "pinverse"),
                   "matrix_power": ("inverse", "matrix_power"), "cross": ("products", "torch_cross")}
# special functions and linalg gaps: torch's older top-level linalg names (minitf/linalg/legacy.py)
_LINALG_ALIASES.update({name: ("legacy", name) for name in ("matrix_exp", "lu", "lu_unpack", "lu_solve",
                                                           "cholesky_solve", "cholesky_inverse",
                                                           "triangular_solve")})
# torch's Householder names: geqrf, orgqr, ormqr (minitf/linalg/householder.py)
_LINALG_ALIASES.update({name: ("householder", name) for name in ("geqrf", "orgqr", "ormqr")})


def compile(model=None, **kwargs):
    """``torch.compile``'s signature, returning ``model`` unchanged: minitf has no compiler (every op
    runs eagerly, as written). Without ``model`` (``@mt.compile(mode=...)``), a decorator that
    returns the function unchanged. The keywords (``mode``, ``fullgraph``, ``backend``, ...) are
    accepted and ignored."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise TypeError(f"compile: expected a Module or a function, got {type(model).__name__}")
    return model


def save(obj, f):
    """Save a state dict, or any nesting of dicts/lists/tuples of tensors and scalars, without pickle.

    ``f``: a path (``str`` or ``os.PathLike``), written atomically as an ``.npz`` archive (see
    :func:`minitf.checkpoint.save_object`), or a binary file object (``io.BytesIO``), written at its
    position, as ``torch.save``. Read it back with :func:`load`.
    """
    from .checkpoint import save_object
    return save_object(obj, f)


def load(f, map_location=None, *, weights_only=None, mmap=None, device=None):
    """What :func:`save` wrote, from a path or a binary file object; tensors come back as Tensors. Never
    unpickles: every load is what torch's ``weights_only=True`` allows, whatever ``weights_only`` says.

    ``map_location`` as torch's: a device (``"cpu"``, ``mt.device("cuda")``, ...) for every tensor; a
    dict of saved location -> device (minitf saves every tensor from the host, so its ``"cpu"``
    entry, if any, applies); or a callable ``fn(tensor, "cpu")`` whose returned Tensor (None: the
    tensor as loaded) takes each tensor's place. ``device`` is minitf's older spelling of a device.
    """
    from .checkpoint.objects import load_object, resolve_map_location
    device, map_tensor = resolve_map_location(map_location, device, weights_only, mmap)
    return load_object(f, device=device, map_tensor=map_tensor)


from .functional import (exp, log, sqrt, tanh, sigmoid, relu, matmul, where, concatenate,  # noqa: E402,F401
                         cat, stack, split, softmax, log_softmax)
from .ops import (abs, clamp, amax, amin, argmax, argmin, unsqueeze, squeeze, flatten,  # noqa: E402,F401
                  chunk, std, norm, t, tril, triu, allclose, clone, reshape, permute, transpose,
                  sum, mean, var, numel)
from .ops import pow, max, min, maximum, minimum  # noqa: E402,F401
from .ops import (log1p, expm1, sin, cos, square, rsqrt, reciprocal, sign, floor, ceil,  # noqa: E402,F401
                  round, trunc, clamp_min, clamp_max, clip, nan_to_num, lerp, addcmul,
                  logsumexp, prod, cumsum, cumprod)
from .ops import (isnan, isinf, isfinite, any, all, count_nonzero, logical_and, logical_or,  # noqa: E402,F401
                  logical_xor, logical_not, eq, ne, lt, le, gt, ge, equal, isclose)
from .ops import (gather, scatter, scatter_add, index_select, masked_select, nonzero, sort,  # noqa: E402,F401
                  argsort, topk, flip, roll, unbind, narrow, movedim, moveaxis, swapaxes, swapdims,
                  tile, repeat_interleave, diag, mm, bmm, mv, dot, outer, einsum)
from .functional import cat as concat  # noqa: E402,F401
from .ops import (add, sub, mul, div, true_divide, neg, positive, bitwise_and, bitwise_or, bitwise_xor, bitwise_not,  # noqa: E402,F401
                  floor_divide, remainder, fmod)
from .ops import div as divide  # noqa: E402,F401  (torch's alias)
from .ops.activation import relu_  # noqa: E402,F401
from .ops import index_add, index_copy, index_fill, scatter_reduce, addcdiv  # noqa: E402,F401
from .ops.more_math import (log2, log10, exp2, sinh, cosh, tan, asin, atan, arcsin, arctan,  # noqa: E402,F401
                            erf, logit, atan2, arctan2, hypot)

# tensor API group: torch's other names for these ops (one function, two names; minitf/tensor_api.py)
from .ops import (abs as absolute, neg as negative, mul as multiply, sub as subtract, gt as greater,  # noqa: E402,F401
                  ge as greater_equal, lt as less, le as less_equal, ne as not_equal, trunc as fix,
                  outer as ger, nonzero as argwhere, layer_norm)
from .ops.promotion import can_cast, result_type, promote_types  # noqa: E402,F401
from .ops.matrix import vdot  # noqa: E402,F401  (dot of the conjugate of a: dot itself for real tensors)

from .out_arguments import OUT_NAMES as _OUT_NAMES, add_out_keyword as _add_out_keyword  # noqa: E402
_add_out_keyword(globals(), _OUT_NAMES)   # torch's out= on these top-level functions and their aliases
del _OUT_NAMES, _add_out_keyword


def is_floating_point(x) -> bool:
    """Whether ``x``'s dtype is a floating one, as torch.is_floating_point."""
    return x.is_floating_point()


# The optional groups, imported on first use (minitf/_lazy.py): `import minitf` loads none of them
_LAZY_GROUPS = {
    # printing (torch's tensor repr and its options; also imported by the first repr)
    ".printing": ("set_printoptions", "get_printoptions", "printoptions"),
    # the profiler
    ".profiler": ("profile",),
    # sampling, counting, the robust reductions and the shape helpers that few programs use
    ".ops.distributions": ("multinomial", "bernoulli", "normal"),
    ".ops.counting": ("bincount", "unique", "broadcast_to", "broadcast_tensors"),
    ".ops.more_reductions": ("nansum", "nanmean", "var_mean", "std_mean", "median", "quantile", "nanquantile"),
    ".ops.more_shapes": ("hstack", "vstack", "diagonal", "trace", "tensordot", "diff", "meshgrid",
                         "triu_indices", "tril_indices", "isin", "searchsorted"),
    # convolution and pooling under torch's top-level names (torch.conv2d, torch.max_pool2d, ...), with the
    # 3-d convolution and pooling group's conv3d, conv_transpose3d, max_pool3d, max_pool1d_with_indices
    ".ops.conv": ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "conv3d", "conv_transpose3d"),
    ".ops.pooling": ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices"),
    ".ops.avg_pooling": ("avg_pool1d",),
    ".ops.convolution": ("convolution",),
    ".ops.adaptive_pooling": ("adaptive_avg_pool1d", "adaptive_max_pool1d"),
    # torch's shape and index helpers: splits, stacks, rotations, picks, out-of-place view writes
    ".ops.split_stack": ("tensor_split", "hsplit", "vsplit", "dsplit", "dstack", "column_stack", "row_stack",
                         "atleast_1d", "atleast_2d", "atleast_3d", "block_diag"),
    ".ops.rearrange": ("rot90", "fliplr", "flipud", "unflatten", "ravel", "narrow_copy", "take",
                       "take_along_dim", "cartesian_prod", "combinations"),
    ".ops.embed": ("select_scatter", "slice_scatter", "diagonal_scatter"),
    # math ops (acos ... fmin, the scans, the fused products, distances, binning): minitf/ops/special.py,
    # binary_math.py, scan.py, products.py, distance.py, binning.py; torch.special's names in minitf/special.py
    ".ops.special": ("acos", "arccos", "acosh", "arccosh", "asinh", "arcsinh", "atanh", "arctanh", "erfc",
                     "erfinv", "sgn", "signbit", "frac", "deg2rad", "rad2deg", "sinc"),
    ".ops.binary_math": ("xlogy", "logaddexp", "logaddexp2", "float_power", "copysign", "heaviside",
                         "nextafter", "ldexp", "fmax", "fmin"),
    ".ops.scan": ("cummax", "cummin", "logcumsumexp"),
    ".ops.products": ("kron", "addmm", "addmv", "addr", "baddbmm", "addbmm"),
    ".ops.distance": ("cdist", "pdist"),
    ".ops.binning": ("histc", "bucketize"),
    # transformer layers, bilinear, CTC: torch's top-level names
    ".ops.bilinear": ("bilinear",),
    ".ops.ctc": ("ctc_loss",),
    # padding, pixel and feature ops under torch's top-level names (torch.pixel_shuffle, torch.alpha_dropout, ...)
    ".ops.pixel": ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"),
    ".ops.feature_dropout": ("alpha_dropout", "feature_alpha_dropout", "feature_dropout", "alpha_dropout_",
                             "feature_alpha_dropout_", "feature_dropout_"),
    # statistics, reductions and misc torch functions (order_stats.py, covariance.py, histogram.py,
    # integrate.py, number_parts.py, diag_build.py, shape_rules.py; minitf/creation_more.py, signal_windows.py)
    ".ops.order_stats": ("kthvalue", "mode", "nanmedian", "aminmax", "msort", "unique_consecutive"),
    ".ops.covariance": ("cov", "corrcoef", "dist", "renorm", "inner", "chain_matmul"),
    ".ops.histogram": ("histogram", "histogramdd"),
    ".ops.integrate": ("trapezoid", "trapz", "cumulative_trapezoid"),
    ".ops.number_parts": ("frexp", "gcd", "lcm", "isposinf", "isneginf", "isreal"),
    ".ops.diag_build": ("diag_embed", "diagflat", "vander", "unravel_index"),
    ".ops.shape_rules": ("broadcast_shapes",),
    ".creation_more": ("logspace", "range", "scalar_tensor", "asarray", "frombuffer", "empty_strided",
                       "empty_permuted"),
    ".signal_windows": ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"),
    # spectral group: the short-time Fourier transform (minitf/fft/short_time.py)
    ".fft.short_time": ("stft", "istft"),
    # special functions and linalg gaps: torch's top-level gamma/Bessel names (minitf/ops/gamma_fns.py,
    # bessel_ndtr.py, incomplete_gamma.py, inplace_special.py)
    ".ops.gamma_fns": ("lgamma", "digamma", "polygamma", "mvlgamma"),
    ".ops.bessel_ndtr": ("i0",),
    ".ops.incomplete_gamma": ("igamma", "igammac"),
    ".ops.inplace_special": ("i0_",),
    # Bessel, Airy and orthogonal polynomials group: torch.gradient and the count samplers
    ".ops.numeric_gradient": ("gradient",),
    ".ops.count_sampling": ("binomial", "poisson"),
    # torch's native_* forms: the result and the kept statistics or mask, as tuples
    ".ops.native_norms": ("native_layer_norm", "native_batch_norm", "native_group_norm", "native_dropout"),
}
# tensor API group: torch's top-level names of F's ops and Tensor methods, and the in-place forms
_TENSOR_API_GROUPS = {
    ".ops.torch_functions": ("is_nonzero", "is_same_size", "is_signed", "is_complex", "is_inference", "is_neg",
                             "is_conj", "resolve_neg", "resolve_conj", "get_device", "select",
                             "adjoint", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes",
                             "unsafe_chunk", "detach", "detach_", "masked_fill", "index_put", "index_put_", "fill",
                             "fill_", "zero_", "clamp_", "clip_", "neg_", "negative_", "fix_", "arccos_", "arccosh_",
                             "arcsin_", "arcsinh_", "arctan_", "arctanh_", "rsub", "constant_pad_nd",
                             "batch_norm", "instance_norm", "embedding", "dropout", "dropout_", "kl_div",
                             "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss",
                             "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss", "rnn_tanh_cell",
                             "rnn_relu_cell", "lstm_cell", "gru_cell", "alias_copy", "detach_copy", "diagonal_copy",
                             "expand_copy", "permute_copy", "select_copy", "split_copy", "split_with_sizes_copy",
                             "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy",
                             "unsqueeze_copy", "view_copy", "slice_copy", "as_strided_copy", "view_as_real_copy",
                             "view_as_complex_copy"),
    ".ops.inplace_family": ("log1p_", "expm1_", "sin_", "cos_", "square_", "rsqrt_", "reciprocal_", "nan_to_num_",
                            "clamp_min_", "clamp_max_", "gcd_", "lcm_"),
    ".ops.inplace_methods": ("exp_", "log_", "sqrt_", "sigmoid_", "tanh_", "abs_", "floor_", "ceil_", "trunc_",
                             "round_", "log2_", "log10_", "exp2_", "sinh_", "cosh_", "tan_", "asin_", "atan_",
                             "erf_", "logit_"),
    ".ops.inplace_math": ("acos_", "acosh_", "asinh_", "atanh_", "erfc_", "frac_", "deg2rad_", "rad2deg_", "sinc_",
                          "xlogy_", "ldexp_", "addmv_"),
    ".ops.smooth_activations": ("celu", "selu", "celu_", "selu_"),
    ".ops.piecewise_activations": ("threshold", "threshold_", "rrelu", "rrelu_", "prelu", "hardshrink"),
    ".ops.similarity": ("cosine_similarity",),
    ".ops.margin_loss": ("pairwise_distance",),
    ".ops.rms_norm": ("rms_norm",),
    ".ops.batch_norm": ("group_norm",),
}
# tensor gaps group: as_strided, index_reduce/masked_scatter/put, shifts, real-tensor complex parts, torch's older
# decompositions, global settings (minitf/ops/as_strided.py, index_reduce.py, shifts.py, complex_parts.py,
# minitf/linalg/legacy_decomp.py, minitf/settings.py, minitf/tensor_storage.py)
_TENSOR_GAPS_GROUPS = {
    ".ops.as_strided": ("as_strided", "as_strided_", "as_strided_scatter"),
    ".ops.index_reduce": ("index_reduce", "masked_scatter", "put", "nonzero_static", "segment_reduce"),
    ".ops.shifts": ("bitwise_left_shift", "bitwise_right_shift"),
    ".ops.complex_parts": ("real", "imag", "conj", "conj_physical", "conj_physical_", "angle", "view_as_real",
                           "view_as_complex", "complex", "polar"),
    ".tensor_storage": ("resize_as_",),
    ".linalg.legacy_decomp": ("svd", "qr", "cholesky", "lstsq", "matrix_rank", "svd_lowrank", "pca_lowrank",
                              "frobenius_norm", "nuclear_norm", "norm_except_dim"),
    # torch's type objects: the class of the dtypes, the layout and the memory formats (minitf/type_objects.py)
    ".type_objects": ("dtype", "layout", "strided", "memory_format", "contiguous_format", "preserve_format",
                      "channels_last", "channels_last_3d"),
    ".settings": ("set_default_device", "get_default_device", "use_deterministic_algorithms",
                  "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
                  "set_deterministic_debug_mode", "get_deterministic_debug_mode", "set_float32_matmul_precision",
                  "get_float32_matmul_precision", "typename", "is_storage", "set_anomaly_enabled",
                  "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "from_dlpack", "to_dlpack",
                  "set_warn_always", "is_warn_always_enabled", "set_num_interop_threads", "get_num_interop_threads",
                  "set_flush_denormal"),
}
from ._lazy import lazy_attributes as _lazy_attributes  # noqa: E402
from .out_arguments import with_out_if_torchs as _with_out_if_torchs  # noqa: E402
__getattr__, __dir__ = _lazy_attributes(__name__, globals(), {name: module for groups in (_LAZY_GROUPS, _TENSOR_API_GROUPS,
                                                                                          _TENSOR_GAPS_GROUPS)
                                                             for module, names in groups.items() for name in names},
                                        fallback=_lazy_submodule, wrap=_with_out_if_torchs)
