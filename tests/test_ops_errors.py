"""Bad inputs: every op refuses them with an error that names the op and the shapes
(or dtypes, ranges, devices) involved, on both devices."""
import re

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F


def t(device, *shape, dtype="float64"):
    return mt.tensor(np.ones(shape), dtype=dtype, device=device)


def idx(device, values):
    return mt.tensor(np.asarray(values), device=device)


def shapes_pattern(*shapes):
    """A regex that finds the shapes, in order, anywhere in the message."""
    return ".*".join(re.escape(str(s)) for s in shapes)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_broadcast_mismatch_names_op_and_both_shapes(device, name):
    with pytest.raises(ValueError, match=f"{name}.*" + shapes_pattern((2, 3), (4,))):
        getattr(F, name)(t(device, 2, 3), t(device, 4))


@pytest.mark.parametrize("sa, sb, what", [((2, 3), (2, 3), "inner"), ((3,), (4,), "inner"),
                                          ((2, 2, 3), (3, 3, 2), "batch"), ((), (3,), "at least 1")])
def test_matmul_mismatch(device, sa, sb, what):
    with pytest.raises(ValueError, match=f"matmul.*{what}.*" + shapes_pattern(sa, sb)):
        F.matmul(t(device, *sa), t(device, *sb))


def test_linear_mismatch(device):
    with pytest.raises(ValueError, match="linear.*" + shapes_pattern((2, 3), (4, 5))):
        F.linear(t(device, 2, 3), t(device, 4, 5))
    with pytest.raises(ValueError, match=r"linear: bias.*\(3,\).*\(4,\)"):
        F.linear(t(device, 2, 3), t(device, 4, 3), t(device, 3))


def test_shape_op_errors(device):
    x = t(device, 2, 3)
    with pytest.raises(ValueError, match="reshape.*" + shapes_pattern((2, 3), (4, 2))):
        F.reshape(x, (4, 2))
    with pytest.raises(ValueError, match=r"permute.*\(0, 0\).*" + shapes_pattern((2, 3))):
        F.permute(x, (0, 0))
    with pytest.raises(ValueError, match="concatenate.*" + shapes_pattern((2, 3), (3, 2))):
        F.concatenate([x, t(device, 3, 2)])
    with pytest.raises(ValueError, match="stack.*" + shapes_pattern((2, 3), (3, 2))):
        F.stack([x, t(device, 3, 2)])
    with pytest.raises(ValueError, match=r"split.*\[1, 1\].*2.*3"):
        F.split(x, [1, 1], axis=1)
    with pytest.raises(ValueError, match="split.*positive"):
        F.split(x, 0)


@pytest.mark.parametrize("name, call", [
    ("transpose", lambda x: F.transpose(x, 0, 5)),
    ("concatenate", lambda x: F.concatenate([x, x], axis=2)),
    ("stack", lambda x: F.stack([x, x], axis=-4)),
    ("split", lambda x: F.split(x, 1, axis=-3)),
    ("sum", lambda x: F.sum(x, axis=2)),
    ("mean", lambda x: F.mean(x, axis=-3)),
    ("amax", lambda x: F.amax(x, axis=(0, 7))),
    ("var", lambda x: F.var(x, axis=3)),
])
def test_axis_out_of_range_names_the_op(device, name, call):
    # concatenate and stack used to wrap the axis modulo ndim and join along the wrong one
    with pytest.raises(ValueError, match=f"{name}: axis -?\\d+ is out of range"):
        call(t(device, 2, 3))


def test_getitem_errors(device):
    x = t(device, 2, 3)
    with pytest.raises(IndexError, match=r"getitem.*out of bounds.*\(2, 3\)"):
        x[5]
    with pytest.raises(TypeError, match="getitem.*integers.*float"):
        x[idx(device, [0.5])]
    with pytest.raises(IndexError, match="getitem: boolean index did not match"):
        x[idx(device, [True, False, True])]     # a mask of the wrong length
    with pytest.raises(TypeError, match="uint8 is ambiguous"):
        x[mt.tensor(np.array([1, 0], np.uint8), device=device)]


def test_where_and_masked_fill_errors(device):
    x = t(device, 2, 3)
    with pytest.raises(ValueError, match="where.*" + shapes_pattern((2, 2), (2, 3))):
        F.where(idx(device, np.ones((2, 2), bool)), x, x)
    with pytest.raises(TypeError, match="where.*boolean.*float64"):
        F.where(t(device, 2, 3), x, x)
    with pytest.raises(ValueError, match=shapes_pattern((4,)) + ".*" + shapes_pattern((2, 3))):
        F.masked_fill(x, idx(device, np.ones(4, bool)), 0.0)


def test_cross_entropy_bad_targets(device):
    logits = t(device, 2, 3)
    with pytest.raises(ValueError, match=r"cross_entropy.*\(2, 3\).*\(2,\).*\(3,\)"):
        F.cross_entropy(logits, idx(device, [0, 1, 2]))           # wrong target shape
    with pytest.raises(ValueError, match=r"cross_entropy.*\(2, 3\).*\(2,\).*\(2, 1\)"):
        F.cross_entropy(logits, idx(device, [[0], [1]]))
    with pytest.raises(TypeError, match="cross_entropy.*integers.*float"):
        F.cross_entropy(logits, idx(device, [0.0, 1.0]))        # class indices, not probabilities
    with pytest.raises(IndexError, match=r"cross_entropy.*out of range \[0, 3\).*max 3"):
        F.cross_entropy(logits, idx(device, [0, 3]))
    with pytest.raises(IndexError, match=r"cross_entropy.*out of range \[0, 3\).*min -1"):
        F.cross_entropy(logits, idx(device, [-1, 0]))            # -1 is not the ignore_index
    with pytest.raises(ValueError, match="cross_entropy.*class dimension"):
        F.cross_entropy(t(device), idx(device, 0))


def test_embedding_bad_indices(device):
    w = t(device, 5, 2)
    with pytest.raises(TypeError, match="embedding.*integer.*float"):
        F.embedding(idx(device, [1.0, 2.0]), w)
    with pytest.raises(TypeError, match="embedding.*integer.*float"):
        F.embedding([0.5], w)
    with pytest.raises(IndexError, match=r"embedding.*out of range \[0, 5\).*max 5"):
        F.embedding(idx(device, [0, 5]), w)
    with pytest.raises(IndexError, match=r"embedding.*out of range \[0, 5\).*min -1"):
        F.embedding(idx(device, [-1]), w)
    with pytest.raises(ValueError, match=r"embedding.*\(V, C\).*\(5,\)"):
        F.embedding(idx(device, [1]), t(device, 5))


def test_embedding_accepts_host_indices(device):
    w = mt.tensor(np.arange(10.0).reshape(5, 2), dtype="float64", device=device)
    out = F.embedding(np.array([4, 0]), w)  # a host array is moved to w's device explicitly
    assert out.device == device and out.numpy().tolist() == [[8.0, 9.0], [0.0, 1.0]]
    assert F.embedding([[1]], w).shape == (1, 1, 2)


def test_layer_norm_bad_parameters(device):
    with pytest.raises(ValueError, match=r"layer_norm: weight.*\(4,\).*\(3,\).*\(2, 3\)"):
        F.layer_norm(t(device, 2, 3), t(device, 4))
    with pytest.raises(ValueError, match=r"layer_norm: bias.*\(2,\).*\(3,\)"):
        F.layer_norm(t(device, 2, 3), None, t(device, 2))


def test_attention_bad_shapes(device):
    q, k, v = t(device, 2, 4), t(device, 3, 4), t(device, 3, 5)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\(2, 4\).*\(3, 5\).*d_k"):
        F.scaled_dot_product_attention(q, t(device, 3, 5), v)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\(3, 4\).*\(2, 5\).*T_k"):
        F.scaled_dot_product_attention(q, k, t(device, 2, 5))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*causal.*T_q <= T_k"):
        F.scaled_dot_product_attention(t(device, 4, 4), k, v, causal=True)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\(2, 2, 4\).*\(3, 3, 4\)"):
        F.scaled_dot_product_attention(t(device, 2, 2, 4), t(device, 3, 3, 4), t(device, 3, 3, 5))
    # a mask that does not broadcast, or would grow T_q (silently adding query rows before)
    for mshape in [(3, 2), (4, 3)]:
        with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*mask " + re.escape(str(mshape))):
            F.scaled_dot_product_attention(q, k, v, mask=idx(device, np.ones(mshape, bool)))
    with pytest.raises(TypeError, match="scaled_dot_product_attention.*boolean.*float.*int64"):
        F.scaled_dot_product_attention(q, k, v, mask=idx(device, np.ones((2, 3), np.int64)))  # float masks add
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\], got 1.5"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_misc_op_errors(device):
    x = t(device, 2, 3)
    with pytest.raises(ValueError, match=r"pow: shapes \(2, 3\) and \(2,\) cannot be broadcast"):
        F.pow(x, t(device, 2))  # a tensor exponent is fine (tests/test_tensor_api.py), a mismatched one is not
    with pytest.raises(ValueError, match=r"dropout.*\[0, 1\].*1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="max.*empty"):
        F.max(t(device, 0))
    with pytest.raises(TypeError, match="only Tensors of floating point dtype can require gradients"):
        mt.tensor([1, 2], device=device, requires_grad=True)


@pytest.mark.parametrize("call", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b.T, lambda a, b: F.concatenate([a, b]),
    lambda a, b: F.stack([a, b]), lambda a, b: F.where(a > 0, a, b), lambda a, b: F.linear(a, b),
])
def test_mixing_devices_raises_device_error_naming_both(call):
    a = mt.tensor(np.ones((2, 2)), device="cpu")
    b = mt.tensor(np.ones((2, 2)), device="fake")
    for x, y in [(a, b), (b, a)]:
        with pytest.raises(mt.DeviceError, match="cpu.*fake|fake.*cpu"):
            call(x, y)


def test_mixing_devices_in_index_and_target_arguments():
    w_fake = mt.tensor(np.ones((4, 2)), device="fake")
    with pytest.raises(mt.DeviceError, match="cpu.*fake|fake.*cpu"):
        F.embedding(mt.tensor([1, 2]), w_fake)
    with pytest.raises(mt.DeviceError, match="cpu.*fake|fake.*cpu"):
        F.cross_entropy(w_fake, mt.tensor([0, 1, 1, 0]))
    with pytest.raises(mt.DeviceError, match="cpu.*fake|fake.*cpu"):
        w_fake[mt.tensor([0])]
    with pytest.raises(mt.DeviceError, match="cpu.*fake|fake.*cpu"):
        F.scaled_dot_product_attention(w_fake, w_fake, w_fake, mask=mt.tensor(np.ones((4, 4), bool)))
