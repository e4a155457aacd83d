"""Tensor.__index__: a one-element integer tensor stands for a Python int, as in PyTorch."""
import operator

import numpy as np
import pytest

import minitf as mt


@pytest.mark.parametrize("t, expected", [(mt.tensor(3), 3), (mt.tensor([3]), 3), (mt.tensor([[3]]), 3),
                                         (mt.tensor(True), 1), (mt.tensor(3, dtype=mt.int32), 3),
                                         (mt.tensor(3, dtype=mt.uint8), 3)])
def test_one_element_integer_tensors_are_indices(t, expected):
    assert operator.index(t) == expected and type(operator.index(t)) is int


@pytest.mark.parametrize("t", [mt.tensor(3.0), mt.tensor([1, 2]), mt.tensor([], dtype=mt.int64),
                               mt.tensor(2.0, requires_grad=True)])
def test_floats_and_many_elements_refuse_with_torchs_message(t):
    with pytest.raises(TypeError, match="only integer tensors of a single element can be converted to an index"):
        operator.index(t)


def test_range_list_index_and_slice_bounds(device):
    assert list(range(mt.tensor(3))) == [0, 1, 2]
    assert [10, 20][mt.tensor(1)] == 20
    x = mt.arange(10, device=device)
    assert x[mt.tensor(2):mt.tensor(5)].tolist() == [2, 3, 4]
    x[mt.tensor(1):mt.tensor(3)] = 0
    assert x.tolist() == [0, 0, 0, 3, 4, 5, 6, 7, 8, 9]
    assert np.arange(10)[mt.tensor(2):mt.tensor(5)].tolist() == [2, 3, 4]


def test_nanogpt_get_batch_idiom():
    # ix = torch.randint(...); torch.stack([torch.from_numpy(data[i:i+bs]) for i in ix])
    data = np.arange(20, dtype=np.int64)
    ix = mt.tensor([0, 5, 7])
    out = mt.stack([mt.from_numpy(data[i:i + 4]) for i in ix])
    assert out.tolist() == [[0, 1, 2, 3], [5, 6, 7, 8], [7, 8, 9, 10]]


def test_a_float_slice_bound_refuses():
    with pytest.raises(TypeError, match="only integer tensors"):
        mt.arange(10)[mt.tensor(1.0):3]
