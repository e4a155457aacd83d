"""From a differential fuzz of 73 creation and dtype-inference calls against torch 2.13 (arange,
linspace, full, tensor of nested lists and NumPy scalars, the *_like functions, promotion of
ints with Python numbers, casts): arange of 0-d tensors reads them as the numbers they hold, as
torch (an int64 range for an integer tensor; it was float32, and a bool tensor raised). The
other 72 agreed."""
import pytest

import minitf as mt


def test_arange_of_0d_tensors_reads_their_numbers(device):
    t = lambda v: mt.tensor(v, device=device)   # noqa: E731
    cases = [((t(3),), mt.int64, [0, 1, 2]), ((t(3.0),), mt.float32, [0.0, 1.0, 2.0]),
             ((1, t(4)), mt.int64, [1, 2, 3]), ((t(True),), mt.int64, [0]), ((0, 1, t(0.5)), mt.float32, [0.0, 0.5])]
    for args, dtype, want in cases:
        r = mt.arange(*args)
        assert r.dtype == dtype and r.tolist() == want
    with pytest.raises(TypeError, match="must be 0-d"):
        mt.arange(t([3, 4]))


def test_arange_of_0d_tensors_against_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda L: L.arange(L.tensor(3)), lambda L: L.arange(L.tensor(2.5)), lambda L: L.arange(1, L.tensor(7), 2)):
        ours, theirs = make(mt), make(torch)
        assert str(ours.dtype) == str(theirs.dtype).split(".")[1] and ours.tolist() == theirs.tolist()
