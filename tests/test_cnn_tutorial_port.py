"""A typical PyTorch CNN tutorial (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Dropout,
AdaptiveAvgPool2d, Linear on 28x28 images; model.train()/eval(), zero_grad, backward, step,
no_grad evaluation, a state_dict saved and loaded) written once against torch's names and run
unchanged under minitf and under torch from the same float64 weights: the losses, accuracies
and final weights must agree. ``lib`` is ``torch`` or ``minitf``; the only glue is how the
module is named and how the torch weights are copied in."""
import numpy as np
import pytest

import minitf


class _Lib:
    """torch's or minitf's top-level names, as a tutorial imports them."""

    def __init__(self, torch):
        self.torch = torch
        self.nn, self.optim = torch.nn, torch.optim
        self.F = torch.nn.functional
        self.data = torch.utils.data


def _tutorial(lib, weights, images, labels, tmp_path, p_drop=0.0, epochs=2):
    torch, nn, F, optim = lib.torch, lib.nn, lib.F, lib.optim
    DataLoader, TensorDataset = lib.data.DataLoader, lib.data.TensorDataset

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=3, padding=1),
                nn.BatchNorm2d(4),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),                       # 28 -> 14
                nn.Conv2d(4, 8, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),  # 14 -> 7
                nn.Dropout(p_drop),
            )
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc1 = nn.Linear(8, 32)
            self.dropout = nn.Dropout(p=p_drop)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = self.features(x)
            x = self.pool(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout(x)
            return self.fc2(x)

    model = Net().double()
    if weights is not None:
        model.load_state_dict(weights)
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x = torch.from_numpy(images)
    y = torch.from_numpy(labels)
    train_loader = DataLoader(TensorDataset(x[:24], y[:24]), batch_size=8, shuffle=False)
    test_loader = DataLoader(TensorDataset(x[24:], y[24:]), batch_size=8)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    losses, accuracies = [], []
    for epoch in range(epochs):
        model.train()
        running_loss = 0.0
        for batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            losses.append(loss.item())
        scheduler.step()
        model.eval()
        correct, test_loss = 0, 0.0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.cross_entropy(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        accuracies.append((test_loss / 8, correct))
    path = str(tmp_path / f"cnn_{lib.torch.__name__}.pt")
    torch.save(model.state_dict(), path)
    restored = Net().double()
    restored.load_state_dict(torch.load(path))
    restored.eval()
    with torch.no_grad():
        same = torch.equal(restored(x[24:]), model(x[24:]))
    final = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return start, losses, accuracies, final, same


def _data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 32)
    images = rng.standard_normal((32, 1, 28, 28)) * 0.5
    for i, c in enumerate(labels):   # a learnable signal: a bright square placed by the class
        r, q = divmod(int(c), 5)
        images[i, 0, 4 + 10 * r:12 + 10 * r, 2 + 5 * q:6 + 5 * q] += 1.5
    return images, labels


def test_cnn_tutorial_runs_the_same_under_minitf_and_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    images, labels = _data()
    t_start, t_losses, t_acc, t_final, t_same = _tutorial(_Lib(torch), None, images, labels, tmp_path)
    weights = {k: minitf.tensor(v.numpy()) for k, v in t_start.items()}
    m_start, m_losses, m_acc, m_final, m_same = _tutorial(_Lib(minitf), weights, images, labels, tmp_path)
    assert t_same and m_same
    assert sorted(m_final) == sorted(t_final)
    np.testing.assert_allclose(m_losses, t_losses, rtol=1e-9)
    assert t_losses[-1] < t_losses[0]            # it learns something
    for (ml, mc), (tl, tc) in zip(m_acc, t_acc):
        assert mc == tc
        np.testing.assert_allclose(ml, tl, rtol=1e-9)
    for k in t_final:
        assert m_final[k].dtype == t_final[k].dtype, k
        np.testing.assert_allclose(m_final[k], t_final[k], rtol=1e-8, atol=1e-10, err_msg=k)


def test_cnn_tutorial_with_dropout_trains_and_evaluates_deterministically(tmp_path):
    images, labels = _data()
    minitf.manual_seed(0)
    _, losses, acc, final, same = _tutorial(_Lib(minitf), None, images, labels, tmp_path, p_drop=0.3, epochs=1)
    assert same and np.isfinite(losses).all() and final["features.1.num_batches_tracked"] == 3
