"""The functional API: every differentiable op, imported as ``F``.

``minitf.nn.functional`` is this very module (PyTorch's path:
``import minitf.nn.functional as F``).

    >>> import minitf as mt
    >>> from minitf import functional as F
    >>> x = mt.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> F.softmax(x, dim=-1).sum().backward()
"""
from .ops import (add, sub, mul, div, neg, pow, matmul,  # noqa: F401
                  exp, log, sqrt, tanh, sigmoid, relu, gelu,
                  sum, mean, var, max, min, amax, amin,
                  reshape, permute, transpose, getitem, concatenate, cat, stack, split,
                  where, masked_fill,
                  softmax, log_softmax, cross_entropy, layer_norm, embedding, dropout,
                  scaled_dot_product_attention, causal_mask, linear)
from .ops import multi_head_self_attention, cached_multi_head_self_attention, attention_mask  # noqa: F401
from .ops import transformer_block_step  # noqa: F401
from .ops import rnn_cell, lstm_cell, rnn_sequence, lstm_sequence  # noqa: F401
from .ops import sample_logits  # noqa: F401
from .ops import nll_loss, mse_loss, silu, one_hot, pad, maximum, minimum  # noqa: F401
from .ops.activation import leaky_relu, elu, softplus, logsigmoid, glu  # noqa: F401
# torch's F.relu / F.silu take inplace= (mt.relu, torch.relu do not); the in-place forms, as F's
from .ops.activation import relu, silu, relu_, leaky_relu_, elu_  # noqa: F401,F811
from .ops.activation import relu6, gumbel_softmax  # noqa: F401
from .ops.pointwise_loss import (l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy,  # noqa: F401
                                 binary_cross_entropy_with_logits, kl_div)
from .ops.similarity import normalize, cosine_similarity  # noqa: F401
from .ops.rms_norm import rms_norm  # noqa: F401
from .ops.gru import gru_cell, gru_sequence  # noqa: F401
__all__ = ["add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt", "tanh",
           "sigmoid", "relu", "gelu", "sum", "mean", "var", "max", "min", "amax", "amin", "reshape", "permute",
           "transpose", "getitem", "concatenate", "cat", "stack", "split", "where", "masked_fill",
           "softmax", "log_softmax", "cross_entropy", "layer_norm", "embedding", "dropout",
           "scaled_dot_product_attention", "causal_mask", "linear",
           "multi_head_self_attention", "cached_multi_head_self_attention", "attention_mask",
           "transformer_block_step",
           "rnn_cell", "lstm_cell", "rnn_sequence", "lstm_sequence", "sample_logits",
           "nll_loss", "mse_loss", "silu", "one_hot", "pad", "maximum", "minimum",
           "leaky_relu", "elu", "softplus", "logsigmoid", "glu", "relu_", "leaky_relu_", "elu_", "relu6", "gumbel_softmax",
           "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "normalize", "cosine_similarity", "rms_norm",
           "gru_cell", "gru_sequence",
           # normalisation over batch / channel dims and the margin, ranking and likelihood losses
           "batch_norm", "instance_norm", "group_norm", "local_response_norm",
           "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multilabel_margin_loss", "multi_margin_loss", "cosine_embedding_loss", "pairwise_distance",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "poisson_nll_loss", "gaussian_nll_loss",
           "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "threshold", "threshold_", "hardshrink",
           "softshrink", "rrelu", "rrelu_", "prelu", "selu", "selu_", "celu", "celu_", "mish", "softsign",
           "tanhshrink", "softmin",
           "interpolate"]
__all__ += ["pdist"]  # (math ops)
__all__ += [  # convolution and pooling
           "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "unfold", "fold"]
__all__ += ["bilinear", "ctc_loss"]  # transformer layers, bilinear, CTC
__all__ += [  # padding, pixel and feature ops
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
           "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
           "max_unpool1d", "max_unpool2d",
           "lp_pool1d", "lp_pool2d", "embedding_bag",
           "max_unpool3d", "lp_pool3d"]   # (the review of round 3: torch's 3-d ones)
__all__ += [  # 3-d convolution and pooling, and torch's *_with_indices names
           "conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
           "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices"]
__all__ += [  # vision ops: sampling grids, fractional max pooling, 3-d unpooling / LP pooling, upsample aliases
           "affine_grid", "grid_sample", "fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
           "upsample", "upsample_nearest", "upsample_bilinear", "multi_head_attention_forward"]
__all__ += ["linear_cross_entropy"]   # the fused linear head + cross-entropy (torch 2.13)

# The optional groups, imported on first use (minitf/_lazy.py): `import minitf` loads none of them
_LAZY_GROUPS = {
    # normalisation over batch / channel dims and the margin, ranking and likelihood losses
    ".ops.batch_norm": ("batch_norm", "instance_norm", "group_norm", "local_response_norm"),
    ".ops.margin_loss": ("margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
                         "multilabel_soft_margin_loss", "multilabel_margin_loss", "multi_margin_loss",
                         "cosine_embedding_loss", "pairwise_distance", "triplet_margin_loss",
                         "triplet_margin_with_distance_loss"),
    ".ops.likelihood_loss": ("poisson_nll_loss", "gaussian_nll_loss"),
    # more activations: piecewise-linear (torch's gradient at each kink) and smooth ones
    ".ops.piecewise_activations": ("hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "threshold",
                                   "threshold_", "hardshrink", "softshrink", "rrelu", "rrelu_", "prelu"),
    ".ops.smooth_activations": ("selu", "selu_", "celu", "celu_", "mish", "softsign", "tanhshrink", "softmin"),
    ".ops.interpolate": ("interpolate",),   # (resampling: nearest, linear, bilinear, bicubic, ...)
    ".ops.distance": ("pdist",),   # (math ops: torch's F.pdist)
    # convolution and pooling (ops/conv.py, pooling.py, avg_pooling.py, adaptive_pooling.py, fold.py), with the
    # 3-d convolution and pooling group's 3-d ops and torch's *_with_indices names
    ".ops.conv": ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "conv3d", "conv_transpose3d"),
    ".ops.pooling": ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
                     "max_pool3d_with_indices"),
    ".ops.avg_pooling": ("avg_pool1d", "avg_pool2d", "avg_pool3d"),
    ".ops.adaptive_pooling": ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
                              "adaptive_max_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
                              "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
                              "adaptive_max_pool3d_with_indices"),
    ".ops.fold": ("unfold", "fold"),
    # transformer layers, bilinear, CTC
    ".ops.bilinear": ("bilinear",),
    ".ops.ctc": ("ctc_loss",),
    # padding, pixel and feature ops (ops/pixel.py, ops/feature_dropout.py, ops/unpool.py)
    ".ops.pixel": ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"),
    ".ops.feature_dropout": ("dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"),
    ".ops.unpool": ("max_unpool1d", "max_unpool2d",
                    "lp_pool1d", "lp_pool2d", "max_unpool3d", "lp_pool3d"),
    ".ops.embedding_bag": ("embedding_bag",),
    # vision ops: sampling grids, fractional max pooling, 3-d unpooling / LP pooling, upsample aliases
    ".ops.grid_sample": ("grid_sample",),
    ".ops.affine_grid": ("affine_grid",),
    ".ops.fractional_pooling": ("fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
                                "fractional_max_pool3d_with_indices"),
    ".ops.upsample": ("upsample", "upsample_nearest", "upsample_bilinear"),
    ".ops.multihead_forward": ("multi_head_attention_forward",),   # (nn.MultiheadAttention's forward)
    ".ops.linear_cross_entropy": ("linear_cross_entropy",),   # (chunked over the rows with options)
}
from ._lazy import lazy_attributes as _lazy_attributes  # noqa: E402
__getattr__, __dir__ = _lazy_attributes(__name__, globals(), {name: module for module, names in _LAZY_GROUPS.items()
                                                             for name in names})
