"""nn.AdaptiveLogSoftmaxWithLoss against torch 2.13 in float64: torch's state-dict keys (a torch state
dict loads, strict), forward's output and loss and every gradient, log_prob and predict, unbatched
input, batches that miss some clusters; the fake device; errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn

D, K, CUTOFFS = 64, 20, [4, 10, 15]   # (tails 64 -> 16, 4, 1 wide: none empty)


def _twins(torch, **kw):
    torch.manual_seed(0)
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(D, K, CUTOFFS, **kw).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(D, K, CUTOFFS, **kw).double()
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("targets", [[0, 3, 4, 9, 10, 14, 15, 19, 2, 12], [1, 2, 3, 0], [16, 17, 5, 19]],
                         ids=["all-clusters", "shortlist-only", "some-clusters"])
@pytest.mark.parametrize("head_bias", [False, True])
def test_forward_matches_torch(targets, head_bias):
    torch = pytest.importorskip("torch")
    ref, ours = _twins(torch, head_bias=head_bias, div_value=2.0)
    x = np.random.default_rng(0).standard_normal((len(targets), D))
    xt, xm = torch.tensor(x, requires_grad=True), mt.tensor(x, requires_grad=True)
    out_t, loss_t = ref(xt, torch.tensor(targets))
    out, loss = ours(xm, mt.tensor(targets))
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
    u = np.random.default_rng(1).standard_normal(len(targets))
    ((out_t * torch.tensor(u)).sum() + loss_t).backward()
    ((out * mt.tensor(u)).sum() + loss).backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    grads = {k: p.grad for k, p in ref.named_parameters()}
    for k, p in ours.named_parameters():
        g = grads[k]
        if g is None:   # a cluster no row reached: torch leaves no gradient, minitf's path never used it
            assert p.grad is None, k
        else:
            np.testing.assert_allclose(p.grad.numpy(), g.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


def test_log_prob_predict_and_unbatched_match_torch():
    torch = pytest.importorskip("torch")
    ref, ours = _twins(torch)
    x = np.random.default_rng(2).standard_normal((12, D)) * 3
    lp, lp_t = ours.log_prob(mt.tensor(x)), ref.log_prob(torch.tensor(x))
    np.testing.assert_allclose(lp.numpy(), lp_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(lp.numpy()).sum(1), 1.0, rtol=1e-12)
    assert ours.predict(mt.tensor(x)).tolist() == ref.predict(torch.tensor(x)).tolist()
    out, loss = ours(mt.tensor(x[0]), mt.tensor(11))
    out_t, loss_t = ref(torch.tensor(x[0]), torch.tensor(11))
    assert out.shape == () and np.isclose(out.item(), out_t.item(), rtol=1e-12)
    assert ours.log_prob(mt.tensor(x[0])).shape == (K,)
    # (torch's predict needs a batch; minitf's also takes one row, as its log_prob does)
    assert ours.predict(mt.tensor(x[0])).item() == ref.predict(torch.tensor(x[:1])).item()


def test_runs_on_device(device):
    layer = nn.AdaptiveLogSoftmaxWithLoss(D, K, CUTOFFS).to(device, "float64")
    x = mt.randn(6, D, dtype="float64", device=device, requires_grad=True)
    out, loss = layer(x, mt.tensor([0, 5, 11, 16, 19, 3], device=device))
    loss.backward()
    assert out.device == x.device and x.grad.device == x.device
    assert layer.log_prob(x).shape == (6, K) and layer.predict(x).shape == (6,)
    assert mt.gradcheck(lambda x: layer(x, mt.tensor([0, 5, 11, 16, 19, 3], device=device)).output,
                        [x.detach().requires_grad_()])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique"):
        nn.AdaptiveLogSoftmaxWithLoss(D, K, [4, 4, 10])
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(D, K, [4, 20])
    layer = nn.AdaptiveLogSoftmaxWithLoss(D, K, CUTOFFS)
    with pytest.raises(IndexError, match="target values should be in"):
        layer(mt.randn(2, D), mt.tensor([1, 20]))
    with pytest.raises(ValueError, match="same size in the batch dimension"):
        layer(mt.randn(3, D), mt.tensor([1, 2]))
