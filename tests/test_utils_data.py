"""minitf.utils.data against torch.utils.data: TensorDataset, Subset, random_split, default_collate
and DataLoader (order, batch sizes, drop_last, shuffling that covers every item once and repeats
under manual_seed), and clear errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def data(device="cpu", n=10):
    X = mt.tensor(np.arange(2.0 * n).reshape(n, 2), device=device)
    return X, mt.tensor(np.arange(n), device=device)


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (10, False), (12, True)])
def test_unshuffled_batches_match_torch(device, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    X, Y = data(device)
    ours = list(DataLoader(TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last))
    theirs = list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(X.numpy()),
                                                                             torch.tensor(Y.numpy())),
                                              batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(theirs) == len(DataLoader(TensorDataset(X, Y), batch_size=batch_size,
                                                      drop_last=drop_last))
    for batch, (txb, tyb) in zip(ours, theirs):
        assert isinstance(batch, list) and len(batch) == 2   # a list, as torch's
        xb, yb = batch
        assert xb.device == device
        np.testing.assert_array_equal(xb.numpy(), txb.numpy())
        np.testing.assert_array_equal(yb.numpy(), tyb.numpy())


def test_shuffling_covers_every_item_once_and_repeats_under_manual_seed():
    X, Y = data(n=23)
    loader = DataLoader(TensorDataset(X, Y), batch_size=5, shuffle=True)
    orders = []
    for _ in range(2):
        mt.manual_seed(7)
        epochs = [np.concatenate([yb.numpy() for _, yb in loader]) for _ in range(2)]
        assert all(sorted(e) == list(range(23)) for e in epochs)
        assert not np.array_equal(epochs[0], epochs[1])           # a new order every epoch
        orders.append(epochs)
    np.testing.assert_array_equal(orders[0], orders[1])
    for xb, yb in loader:                                           # the pairs stay together
        np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())
    g = np.random.default_rng(0)
    first = [yb.numpy() for _, yb in DataLoader(TensorDataset(X, Y), batch_size=5, shuffle=True, generator=g)]
    g = np.random.default_rng(0)
    again = [yb.numpy() for _, yb in DataLoader(TensorDataset(X, Y), batch_size=5, shuffle=True, generator=g)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_random_split_lengths_and_fractions_as_torch():
    torch = pytest.importorskip("torch")
    ds = TensorDataset(*data(n=11))
    for lengths in ([0.5, 0.3, 0.2], [0.9, 0.1], [4, 7], [1.0]):
        parts = random_split(ds, lengths)
        tparts = torch.utils.data.random_split(torch.utils.data.TensorDataset(torch.zeros(11)), lengths)
        assert [len(p) for p in parts] == [len(p) for p in tparts]
        seen = np.concatenate([[p[i][1].item() for i in range(len(p))] for p in parts])
        assert sorted(seen) == list(range(11))                      # disjoint, and all of them
    with pytest.raises(ValueError, match="random_split: the lengths"):
        random_split(ds, [5, 5])


def test_subsets_and_other_datasets_collate_as_torch():
    torch = pytest.importorskip("torch")

    class Pairs(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(3, i, np.float32), "y": i, "w": (float(i) / 2, [i, -i])}

    batches = list(DataLoader(Subset(Pairs(), [4, 0, 2]), batch_size=2))
    theirs = list(torch.utils.data.DataLoader(torch.utils.data.Subset(_TorchPairs(torch), [4, 0, 2]),
                                              batch_size=2))
    for b, tb in zip(batches, theirs):
        np.testing.assert_array_equal(b["x"].numpy(), tb["x"].numpy())
        assert b["x"].dtype == np.float32 and b["y"].dtype == np.int64 and b["w"][0].dtype == np.float64
        np.testing.assert_array_equal(b["y"].numpy(), tb["y"].numpy())
        np.testing.assert_array_equal(b["w"][0].numpy(), tb["w"][0].numpy())
        assert isinstance(b["w"], list) and isinstance(b["w"][1], list)
        np.testing.assert_array_equal(b["w"][1][1].numpy(), tb["w"][1][1].numpy())
    stacked = default_collate([mt.tensor([1.0, 2.0]), mt.tensor([3.0, 4.0])])
    assert stacked.shape == (2, 2)
    sub = DataLoader(Subset(TensorDataset(*data()), [9, 1, 5]), batch_size=2)
    assert [yb.numpy().tolist() for _, yb in sub] == [[9, 1], [5]]


class _TorchPairs:
    def __init__(self, torch):
        self.torch = torch

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "y": i, "w": (float(i) / 2, [i, -i])}


def test_bad_input_is_one_clear_error():
    X, Y = data()
    with pytest.raises(ValueError, match="first dimensions differ"):
        TensorDataset(X, Y[:5])
    with pytest.raises(TypeError, match="expected tensors with a first dimension"):
        TensorDataset(mt.tensor(1.0))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(TensorDataset(X), batch_size=0)
    with pytest.raises(TypeError, match="cannot batch items of type object"):
        default_collate([object(), object()])


def test_collate_strings_namedtuples_and_transforming_subclasses_as_torch():
    from collections import namedtuple
    torch = pytest.importorskip("torch")
    items = [("x", 1), ("y", 2)]
    ours, theirs = default_collate(items), torch.utils.data.default_collate(items)
    assert ours[0] == list(theirs[0]) and ours[1].numpy().tolist() == theirs[1].tolist()
    Pair = namedtuple("Pair", "a b")
    batch = default_collate([Pair(1, 2.0), Pair(3, 4.0)])
    assert type(batch) is Pair and batch.a.numpy().tolist() == [1, 3]

    class Doubled(TensorDataset):   # a transform: must be called one index at a time
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            assert isinstance(i, int)
            return x * 2, y

    X, Y = data(n=5)
    (xb, yb), = list(DataLoader(Doubled(X, Y), batch_size=5))
    np.testing.assert_array_equal(xb.numpy(), 2 * X.numpy())
