"""minitf.utils.data's samplers and dataset combinators: the index sequences' properties (torch's
random streams differ, so orders are checked by what they must be: permutations, frequencies,
disjoint covering shards), deterministic ones against torch 2.13, and the errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, DistributedSampler,
                               IterableDataset, RandomSampler, SequentialSampler, StackDataset,
                               SubsetRandomSampler, TensorDataset, WeightedRandomSampler, get_worker_info)


def test_sequential_and_random_permutations():
    ds = list(range(7))
    assert list(SequentialSampler(ds)) == list(range(7)) and len(SequentialSampler(ds)) == 7
    mt.manual_seed(0)
    a, b = list(RandomSampler(ds)), list(RandomSampler(ds))
    assert sorted(a) == sorted(b) == list(range(7)) and a != b   # a new permutation each time
    mt.manual_seed(0)
    assert list(RandomSampler(ds)) == a                          # repeats under manual_seed
    g1, g2 = mt.Generator().manual_seed(3), mt.Generator().manual_seed(3)
    assert list(RandomSampler(ds, generator=g1)) == list(RandomSampler(ds, generator=g2))


def test_random_sampler_num_samples_and_replacement():
    s = list(RandomSampler(range(4), num_samples=10))   # whole permutations, then a partial one
    assert len(s) == 10 and all(sorted(s[k:k + 4]) == [0, 1, 2, 3] for k in (0, 4))
    assert len(set(s[8:])) == 2
    r = list(RandomSampler(range(3), replacement=True, num_samples=3000, generator=mt.Generator().manual_seed(1)))
    counts = np.bincount(r, minlength=3)
    assert len(r) == 3000 and set(r) <= {0, 1, 2}
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(3000 * (1 / 3) * (2 / 3)))   # 5 sigma
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)


def test_subset_random_sampler():
    idx = [10, 3, 7, 42]
    s = list(SubsetRandomSampler(idx, generator=mt.Generator().manual_seed(5)))
    assert sorted(s) == sorted(idx) and len(SubsetRandomSampler(idx)) == 4


def test_weighted_sampler_frequencies_and_errors():
    w = [1.0, 0.0, 3.0, 6.0]
    n = 20000
    draws = np.array(list(WeightedRandomSampler(w, n, generator=mt.Generator().manual_seed(2))))
    p = np.array(w) / 10
    counts = np.bincount(draws, minlength=4)
    assert counts[1] == 0
    assert np.all(np.abs(counts - n * p) <= 5 * np.sqrt(n * p * (1 - p)) + 1e-9)   # 5 sigma
    no_rep = list(WeightedRandomSampler(w, 3, replacement=False))
    assert sorted(no_rep) == [0, 2, 3]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler(w, 4, replacement=False)
    with pytest.raises(ValueError, match="1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler(w, 0)
    assert len(WeightedRandomSampler(mt.tensor(w), 5)) == 5   # a tensor of weights, as torch takes


@pytest.mark.parametrize("n, bs, drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (0, 2, False)])
def test_batch_sampler_matches_torch(n, bs, drop):
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, None)


@pytest.mark.parametrize("n, world, drop", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 4, False),
                                            (1, 3, False), (12, 4, True), (7, 2, True)])
def test_distributed_sampler_unshuffled_matches_torch(n, world, drop):
    torch = pytest.importorskip("torch")
    for rank in range(world):
        ours = DistributedSampler(range(n), world, rank, shuffle=False, drop_last=drop)
        theirs = torch.utils.data.DistributedSampler(range(n), world, rank, shuffle=False, drop_last=drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("n, world, drop", [(10, 3, False), (10, 3, True), (12, 4, False)])
def test_distributed_sampler_shuffled_shards(n, world, drop):
    shards = [list(DistributedSampler(range(n), world, r, seed=7, drop_last=drop)) for r in range(world)]
    lengths = {len(s) for s in shards}
    assert len(lengths) == 1 and lengths == {len(DistributedSampler(range(n), world, 0, drop_last=drop))}
    flat = sum(shards, [])
    if drop:    # disjoint, the tail dropped
        assert len(set(flat)) == len(flat) == world * (n // world)
    else:       # covering, repeats only for the padding
        assert set(flat) == set(range(n)) and len(flat) - len(set(flat)) == (-n) % world
    s = DistributedSampler(range(n), world, 0, seed=7, drop_last=drop)
    first = list(s)
    assert list(s) == first                 # same epoch, same order
    s.set_epoch(1)
    assert list(s) != first                 # a new epoch, a new order
    assert list(DistributedSampler(range(n), world, 0, seed=8, drop_last=drop)) != first


def test_distributed_sampler_defaults_and_errors():
    s = DistributedSampler(range(5), shuffle=False)   # no MPI: one replica, rank 0
    assert (s.num_replicas, s.rank, list(s)) == (1, 0, [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"invalid rank 3.*\[0, 2\]"):
        DistributedSampler(range(5), 3, 3)
    with pytest.raises(ValueError, match="num_replicas should be a positive integer"):
        DistributedSampler(range(5), 0, 0)


def test_dataloader_sampler_and_batch_sampler(device):
    X = mt.tensor(np.arange(12.0).reshape(6, 2), device=device)
    ds = TensorDataset(X)
    got = [b[0].numpy()[:, 0].tolist() for b in DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])]
    assert got == [[10.0, 8.0], [6.0, 4.0], [2.0, 0.0]]
    bs = BatchSampler(SequentialSampler(ds), 4, drop_last=False)
    got = [b[0].shape for b in DataLoader(ds, batch_sampler=bs)]
    assert got == [(4, 2), (2, 2)]
    w = DataLoader(ds, batch_size=3, sampler=WeightedRandomSampler([0, 0, 0, 0, 0, 1.0], 3))
    assert [b[0].numpy()[:, 0].tolist() for b in w] == [[10.0, 10.0, 10.0]]
    with pytest.raises(ValueError, match="sampler is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler is mutually exclusive"):
        DataLoader(ds, batch_sampler=bs, batch_size=2)


def test_concat_and_stack_datasets_match_torch():
    torch = pytest.importorskip("torch")
    a, b = list(range(3)), list(range(10, 15))
    ours, theirs = ConcatDataset([a, b]), torch.utils.data.ConcatDataset([a, b])
    assert len(ours) == len(theirs) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]
    with pytest.raises(ValueError, match="should not exceed"):
        ours[-9]
    with pytest.raises(IndexError):
        ours[8]
    X = mt.arange(4)
    plus = TensorDataset(X) + TensorDataset(X * 10)
    assert isinstance(plus, ConcatDataset) and [int(plus[i][0]) for i in range(8)] == [0, 1, 2, 3, 0, 10, 20, 30]
    assert StackDataset(a, [7, 8, 9])[1] == (1, 8)
    assert StackDataset(x=a, y=[7, 8, 9])[2] == {"x": 2, "y": 9}
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset(a, b)
    with pytest.raises(ValueError, match="both types"):
        StackDataset(a, y=a)
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


class Stream(IterableDataset):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __iter__(self):
        return iter(range(self.lo, self.hi))

    def __len__(self):
        return self.hi - self.lo


def test_iterable_dataset_in_dataloader_matches_torch():
    torch = pytest.importorskip("torch")

    class TStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    for kw in ({"batch_size": 2}, {"batch_size": 2, "drop_last": True}, {"batch_size": None}):
        ours = [b.tolist() if hasattr(b, "tolist") else b for b in DataLoader(Stream(0, 5), **kw)]
        theirs = [b.tolist() if hasattr(b, "tolist") else b for b in torch.utils.data.DataLoader(TStream(), **kw)]
        assert ours == theirs
    assert len(DataLoader(Stream(0, 5), batch_size=2)) == 3
    chain = Stream(0, 2) + Stream(5, 7)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 5, 6] and len(chain) == 4
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle option"):
        DataLoader(Stream(0, 5), shuffle=True)
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified sampler option"):
        DataLoader(Stream(0, 5), sampler=[0])
    with pytest.raises(TypeError, match="does not support IterableDataset"):
        ConcatDataset([Stream(0, 1)])
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([[1, 2]]))
    assert get_worker_info() is None
