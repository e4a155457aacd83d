"""The differentiable op library. Each op is a Function subclass (forward and
backward side by side) plus a plain function that checks its arguments."""
from .arithmetic import add, sub, mul, neg, positive, pow, matmul, compare  # noqa: F401
from .arithmetic import div as true_divide  # noqa: F401  (the operator /; torch's name too)
from .div_modes import div  # noqa: F401  (torch.div: rounding_mode=)
from .elementwise import exp, log, sqrt, tanh, sigmoid, relu, gelu, silu  # noqa: F401
from .reduction import sum, mean, var  # noqa: F401
from .shape import (reshape, permute, swapaxes, transpose, getitem, concatenate, cat,  # noqa: F401
                    stack, split, where, masked_fill, astype)
from .nn import softmax, log_softmax, embedding, dropout, one_hot  # noqa: F401
from .layer_normalization import layer_norm  # noqa: F401
from .padding import pad  # noqa: F401
from .loss import cross_entropy, nll_loss, mse_loss  # noqa: F401
from .linear import linear  # noqa: F401
from .attention import scaled_dot_product_attention, causal_mask  # noqa: F401
from .multihead import multi_head_self_attention, cached_multi_head_self_attention, attention_mask  # noqa: F401
from .decode import transformer_block_step  # noqa: F401
from .recurrent import rnn_cell, lstm_cell, rnn_sequence, lstm_sequence  # noqa: F401
from .sampling import sample_logits  # noqa: F401
from .inplace import add_, sub_, mul_, div_, fill_, zero_, copy_, clamp_, setitem, index_put  # noqa: F401
from .inplace import masked_fill_, floor_divide_, remainder_, fmod_, bitwise_and_, bitwise_or_, bitwise_xor_, neg_  # noqa: F401
from .pointwise import abs, clamp, tril, triu, allclose, maximum, minimum  # noqa: F401
from .views import clone, contiguous, unsqueeze, squeeze, flatten, expand, repeat, chunk, t, numel  # noqa: F401
from .extrema import max, min, amax, amin, argmax, argmin  # noqa: F401
from .statistics import std, var, norm  # noqa: F401  (var: torch's argument forms over reduction.var)
from ._util import check_dim  # noqa: F401
from .unary import (log1p, expm1, sin, cos, square, rsqrt, reciprocal, sign, floor, ceil,  # noqa: F401
                    round, trunc, nan_to_num, lerp, addcmul, clamp_min, clamp_max)
from .cumulative import prod, cumsum, cumprod, logsumexp  # noqa: F401
from .logical import (isnan, isinf, isfinite, any, all, count_nonzero, logical_and, logical_or,  # noqa: F401
                      logical_xor, logical_not, eq, ne, lt, le, gt, ge, equal, isclose)
from .indexing import gather, scatter, scatter_add, index_select, masked_select, nonzero  # noqa: F401
from .sorting import sort, argsort, topk  # noqa: F401
from .layout import flip, roll, unbind, narrow, movedim, tile, repeat_interleave, diag  # noqa: F401
from .matrix import mm, bmm, mv, dot, outer  # noqa: F401
from .einsum import einsum  # noqa: F401
from .bitwise import bitwise_and, bitwise_or, bitwise_xor, bitwise_not  # noqa: F401
from .division import floor_divide, remainder, fmod  # noqa: F401

from ._util import accepts_dim as _accepts_dim  # noqa: E402
# PyTorch's dim= / keepdim= next to axis= / keepdims= (F.sum(x, dim=1), mt.cat(ts, dim=1), ...)
sum, mean = (_accepts_dim(f, dtype=True) for f in (sum, mean))  # (and torch's dtype=)
concatenate, stack, split = (_accepts_dim(f) for f in (concatenate, stack, split))
cat = concatenate
clip = clamp  # PyTorch's aliases
swapdims = swapaxes
moveaxis = movedim
from .index_ops import index_add, index_copy, index_fill, scatter_reduce  # noqa: F401,E402
from .unary import addcdiv  # noqa: F401,E402
from . import inplace_methods  # noqa: F401,E402  (exp_, lerp_, index_add_, t_, ...: the Tensor methods)
from . import composed as _composed  # noqa: F401,E402  (gives the fused ops their differentiable backward)
