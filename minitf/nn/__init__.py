"""Layers and the Module system, with PyTorch's names and conventions.

    from minitf import nn
    layer = nn.Linear(4, 3)          # weight (3, 4), bias (3,)
    y = layer(x)                     # x: (..., 4) -> (..., 3)
"""
from .module import Module, ModuleList, ModuleDict, Parameter, StateDictError, IncompatibleKeys  # noqa: F401
from .parameter import Buffer  # noqa: F401  (module machinery: torch 2.13's buffer marker)
from .parameter import factory_kwargs  # noqa: F401  (torch.nn.factory_kwargs: a layer's device= / dtype=)
from . import init  # noqa: F401
from .linear import Linear  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .normalization import LayerNorm, RMSNorm  # noqa: F401
from .parameter_containers import ParameterList, ParameterDict  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .activation import GELU, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Tanh  # noqa: F401
from .activation import ELU, GLU, LeakyReLU, LogSigmoid, Softplus, CosineSimilarity  # noqa: F401
from .attention import CausalSelfAttention, KVCache  # noqa: F401
from .multihead import MultiheadAttention  # noqa: F401
from .feedforward import FeedForward  # noqa: F401
from .block import TransformerBlock  # noqa: F401
from .rnn_cells import RNNCell, LSTMCell, GRUCell, detach_state  # noqa: F401
from .recurrent import RNN, LSTM, GRU  # noqa: F401
from .container import Sequential  # noqa: F401
from .linear import Identity  # noqa: F401
from .loss import MSELoss, CrossEntropyLoss, NLLLoss  # noqa: F401
from .loss import L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss  # noqa: F401
from . import utils  # noqa: F401
from . import functional  # noqa: F401  (minitf.functional itself, under PyTorch's path)

__all__ = ["Module", "ModuleList", "ModuleDict", "Parameter", "StateDictError", "IncompatibleKeys", "init",
           "Linear", "Embedding", "LayerNorm", "Dropout", "GELU", "ReLU", "ReLU6", "Tanh", "Sigmoid", "SiLU", "Softmax", "LogSoftmax",
           "CausalSelfAttention", "KVCache", "MultiheadAttention", "FeedForward", "TransformerBlock",
           "RNNCell", "LSTMCell", "RNN", "LSTM", "detach_state",
           "Sequential", "Identity", "MSELoss", "CrossEntropyLoss", "NLLLoss", "utils", "functional",
           "LeakyReLU", "ELU", "Softplus", "LogSigmoid", "GLU", "CosineSimilarity",
           "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
           "ParameterList", "ParameterDict", "Flatten", "Unflatten", "RMSNorm", "GRUCell", "GRU",
           # normalisation over batch / channel dims and the margin, ranking and likelihood losses
           "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "GroupNorm", "LocalResponseNorm",
           "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiLabelMarginLoss", "MultiMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
           "TripletMarginWithDistanceLoss", "PoissonNLLLoss", "GaussianNLLLoss", "PairwiseDistance",
           "Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "SELU", "CELU", "RReLU", "Threshold", "PReLU",
           "Softsign", "Tanhshrink", "Softshrink", "Hardshrink", "Softmin", "Softmax2d",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
           # convolution and pooling
           "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
           "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           # fold/unfold modules (the conv review)
           "Fold", "Unfold",
           # transformer layers (torch's encoder/decoder stacks), bilinear, CTC
           "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "Transformer", "Bilinear", "CTCLoss", "AdaptiveLogSoftmaxWithLoss",
           # padding, pixel and feature modules (padding layers, pixel/channel shuffles, channel and alpha
           # dropout, max unpooling, LP pooling)
           "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
           "PixelShuffle", "PixelUnshuffle", "ChannelShuffle",
           "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
           "MaxUnpool1d", "MaxUnpool2d", "LPPool1d", "LPPool2d", "EmbeddingBag",
           "MaxUnpool3d", "LPPool3d",   # (the review of round 3: torch's 3-d ones)
           # 3-d convolution and pooling
           "Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
           # module machinery: the buffer marker, uninitialised parameters and the lazy layers
           "Buffer", "UninitializedParameter", "UninitializedBuffer", "LazyLinear", "LazyConv1d", "LazyConv2d",
           "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d",
           "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
           # data parallelism (torch.nn.parallel: DistributedDataParallel; nn.DataParallel)
           "DataParallel", "parallel",
           # vision layers: fractional max pooling (3-d max unpooling and LP pooling: above)
           "FractionalMaxPool2d", "FractionalMaxPool3d",
           # the factory arguments (device=, dtype=) of a layer, checked and merged as torch's
           "factory_kwargs",
           # the fused linear head + cross-entropy (torch 2.13)
           "LinearCrossEntropyLoss", "LinearCrossEntropyOptions",
           # torch.nn.grad: a convolution's input and weight gradients
           "grad"]

# The optional groups, imported on first use (minitf/_lazy.py): `from minitf import nn` loads none of them
_LAZY_GROUPS = {
    # more activations (piecewise-linear and smooth ones) and resampling
    ".activation_more": ("Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "SELU", "CELU", "RReLU", "Threshold",
                         "PReLU", "Softsign", "Tanhshrink", "Softshrink", "Hardshrink", "Softmin", "Softmax2d"),
    ".upsampling": ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"),
    # normalisation over batch / channel dims and the margin, ranking and likelihood losses
    ".batchnorm": ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
                   "InstanceNorm3d", "GroupNorm", "LocalResponseNorm"),
    ".margin_loss": ("MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
                     "MultiLabelMarginLoss", "MultiMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
                     "TripletMarginWithDistanceLoss", "PoissonNLLLoss", "GaussianNLLLoss", "PairwiseDistance"),
    # convolution and pooling layers
    ".conv": ("Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
              "Conv3d", "ConvTranspose3d"),   # (3-d convolution and pooling)
    ".pooling": ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
                 "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
                 "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"),   # (3-d convolution and pooling)
    ".fold": ("Fold", "Unfold"),   # fold/unfold modules (the conv review)
    # transformer layers (torch's encoder/decoder stacks), bilinear, CTC
    ".transformer": ("TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
                     "TransformerDecoder", "Transformer"),
    ".bilinear": ("Bilinear",),
    ".ctc_loss": ("CTCLoss",),
    ".adaptive": ("AdaptiveLogSoftmaxWithLoss",),
    # padding, pixel and feature modules
    ".padding": ("ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
                 "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
                 "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"),
    ".pixelshuffle": ("PixelShuffle", "PixelUnshuffle", "ChannelShuffle"),
    ".dropout": ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"),
    ".unpool": ("MaxUnpool1d", "MaxUnpool2d", "LPPool1d", "LPPool2d", "MaxUnpool3d", "LPPool3d"),
    ".embedding_bag": ("EmbeddingBag",),
    # module machinery: uninitialised parameters and the lazy layers
    ".lazy": ("UninitializedParameter", "UninitializedBuffer", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
              "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d",
              "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
              "LazyInstanceNorm3d"),
    # data parallelism (torch.nn.parallel: DistributedDataParallel; nn.DataParallel)
    ".parallel": ("DataParallel",),
    # vision layers: fractional max pooling, 3-d max unpooling and LP pooling
    ".fractional_pooling": ("FractionalMaxPool2d", "FractionalMaxPool3d"),
    # the fused linear head + cross-entropy, and its chunking options
    ".linear_cross_entropy": ("LinearCrossEntropyLoss",),
    ".linear_cross_entropy_options": ("LinearCrossEntropyOptions",),
}
from .._lazy import lazy_attributes as _lazy_attributes  # noqa: E402
__getattr__, __dir__ = _lazy_attributes(__name__, globals(), {**{name: module for module, names in _LAZY_GROUPS.items()
                                                                for name in names},
                                                             "parallel": (".parallel", None),  # nn.parallel itself
                                                             "grad": (".grad", None)})   # nn.grad itself
