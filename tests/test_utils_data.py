"""minitf.utils.data against torch.utils.data: TensorDataset, Subset, random_split, default_collate
and DataLoader (order, batch sizes, drop_last, shuffling that covers every item once and repeats
under manual_seed), and clear errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.utils.data import (DataLoader, Dataset, Subset, TensorDataset, default_collate, default_convert,
                               random_split)


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


# ----------------------------------------------------------------------------- torch's full signature
def test_dataloader_signature_is_torchs():
    torch = pytest.importorskip("torch")
    import inspect
    ours = list(inspect.signature(DataLoader.__init__).parameters)
    assert ours == list(inspect.signature(torch.utils.data.DataLoader.__init__).parameters)


def _as_lists(batches):
    return [[t.tolist() for t in b] for b in batches]


def test_worker_and_memory_options_change_no_batch():
    X, Y = data()
    plain = _as_lists(DataLoader(TensorDataset(X, Y), batch_size=4))
    calls = []
    loader = DataLoader(TensorDataset(X, Y), batch_size=4, num_workers=2, pin_memory=True, timeout=5,
                        worker_init_fn=calls.append, prefetch_factor=2, pin_memory_device="", in_order=True)
    assert _as_lists(loader) == plain and _as_lists(loader) == plain and len(loader) == 3
    assert calls == [0, 0]  # this process is the one worker, started at each iteration
    persistent, calls[:] = DataLoader(TensorDataset(X, Y), batch_size=4, num_workers=1, persistent_workers=True,
                                      worker_init_fn=calls.append), []
    list(persistent), list(persistent)
    assert calls == [0]
    list(DataLoader(TensorDataset(X, Y), worker_init_fn=calls.append))  # no workers: torch never calls it
    assert calls == [0]


def test_sampler_batch_sampler_and_no_batching():
    X, Y = data(n=5)
    ds = TensorDataset(X, Y)
    assert _as_lists(DataLoader(ds, batch_size=2, sampler=[4, 0, 2])) == [[[[8.0, 9.0], [0.0, 1.0]], [4, 0]],
                                                                          [[[4.0, 5.0]], [2]]]
    assert len(DataLoader(ds, batch_size=2, sampler=[4, 0, 2])) == 2
    assert _as_lists(DataLoader(ds, batch_sampler=[[0, 1], [4]])) == [[[[0.0, 1.0], [2.0, 3.0]], [0, 1]],
                                                                      [[[8.0, 9.0]], [4]]]
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 5 and isinstance(items[0], list) and items[3][1].item() == 3 and items[3][0].shape == (2,)
    assert len(DataLoader(ds, batch_size=None)) == 5


def test_sampler_options_match_torch():
    torch = pytest.importorskip("torch")
    X, Y = data(n=7)
    ours = TensorDataset(X, Y)
    theirs = torch.utils.data.TensorDataset(torch.tensor(X.numpy()), torch.tensor(Y.numpy()))
    for kw in [dict(batch_size=3, sampler=[6, 1, 1, 3]), dict(batch_sampler=[[0, 5], [2], [6, 3, 1]]),
               dict(batch_size=None), dict(batch_size=None, sampler=[2, 0]), dict(batch_size=2, sampler=[3, 2, 1],
                                                                                   drop_last=True),
               dict(batch_size=3, num_workers=0, timeout=0)]:
        a = list(DataLoader(ours, **kw))
        b = list(torch.utils.data.DataLoader(theirs, **kw))
        assert len(a) == len(b) == len(DataLoader(ours, **kw)) == len(torch.utils.data.DataLoader(theirs, **kw))
        assert [[t.tolist() for t in x] for x in a] == [[t.tolist() for t in x] for x in b], kw
        assert all(type(x) is type(y) for x, y in zip(a, b))


BAD_OPTIONS = [dict(batch_size=None, drop_last=True), dict(sampler=[1], shuffle=True),
               dict(batch_sampler=[[0]], batch_size=2), dict(batch_sampler=[[0]], shuffle=True),
               dict(batch_sampler=[[0]], drop_last=True), dict(num_workers=-1), dict(prefetch_factor=2),
               dict(persistent_workers=True), dict(timeout=-1)]


@pytest.mark.parametrize("kw", BAD_OPTIONS)
def test_dataloader_refuses_what_torch_refuses(kw):
    X, Y = data(n=3)
    with pytest.raises(ValueError, match="DataLoader: "):
        DataLoader(TensorDataset(X, Y), **kw)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(3)), **kw)


def test_default_convert_as_torch():
    arr = np.arange(3)
    out = default_convert((arr, 2.0, {"a": (arr,)}))
    assert isinstance(out, list) and isinstance(out[0], mt.Tensor) and out[1] == 2.0
    assert isinstance(out[2]["a"], list) and out[2]["a"][0].tolist() == [0, 1, 2]
    arr[0] = 9
    assert out[0].tolist() == [9, 1, 2]  # shares memory, as torch's
