"""The differentiable op library. Each op is a Function subclass (forward and
backward side by side) plus a plain function that checks its arguments."""
from .arithmetic import add, sub, mul, div, neg, pow, matmul, compare  # noqa: F401
from .elementwise import exp, log, sqrt, tanh, sigmoid, relu, gelu  # noqa: F401
from .reduction import sum, mean, max, var  # noqa: F401
from .shape import (reshape, permute, swapaxes, transpose, getitem, concatenate, cat,  # noqa: F401
                    stack, split, where, masked_fill, astype)
from .nn import softmax, log_softmax, cross_entropy, layer_norm, embedding, dropout  # noqa: F401
from .linear import linear  # noqa: F401
from .attention import scaled_dot_product_attention, causal_mask  # noqa: F401
from .multihead import multi_head_self_attention, attention_mask  # noqa: F401
from .recurrent import rnn_cell, lstm_cell, rnn_sequence, lstm_sequence  # noqa: F401
from .sampling import sample_logits  # noqa: F401
from . import composed as _composed  # noqa: F401,E402  (gives the fused ops their differentiable backward)
