"""F.ctc_loss and nn.CTCLoss against torch 2.13 in float64: values for every reduction, padded and
concatenated targets, unbatched input, repeated labels, a label equal to blank, empty targets,
impossible alignments (inf loss, zero_infinity), blank not 0; the gradient through log_softmax
equal to torch's, and the gradient to log_probs itself equal to torch's minus its exp(log_probs)
term; gradcheck on each device; errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn

T, N, C = 6, 4, 5
# rows: distinct labels; a repeat (needs a blank between: 2 frames more); a label equal to blank 0;
# an empty target
TARGETS = np.array([[1, 2, 3], [2, 2, 0], [4, 0, 1], [0, 0, 0]])
TARGET_LENGTHS = [3, 2, 3, 0]
INPUT_LENGTHS = [6, 5, 4, 3]


def _logits(seed=0, shape=(T, N, C)):
    return np.random.default_rng(seed).standard_normal(shape)


def _torch_loss(torch, z, targets, il, tl, through_softmax=True, **kw):
    zt = torch.tensor(z, requires_grad=True)
    lp = zt.log_softmax(-1) if through_softmax else zt
    return zt, torch.nn.functional.ctc_loss(lp, torch.tensor(targets), torch.tensor(il), torch.tensor(tl), **kw)


def _ours(z, targets, il, tl, through_softmax=True, **kw):
    x = mt.tensor(z, requires_grad=True)
    lp = F.log_softmax(x, -1) if through_softmax else x
    return x, F.ctc_loss(lp, mt.tensor(targets), il, tl, **kw)


def _check(torch, z, targets, il, tl, rtol=1e-10, atol=1e-12, **kw):
    """Values, and the gradients to the logits through log_softmax, equal torch's."""
    zt, ref = _torch_loss(torch, z, targets, il, tl, **kw)
    x, ours = _ours(z, targets, il, tl, **kw)
    assert ours.shape == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    u = np.random.default_rng(1).standard_normal(ours.shape)
    (ref * torch.tensor(u)).sum().backward()
    (ours * mt.tensor(u)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), zt.grad.numpy(), rtol=rtol, atol=atol)
    return ours


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("blank", [0, 4])
def test_matches_torch(reduction, blank):
    torch = pytest.importorskip("torch")
    targets = np.where(TARGETS == blank, (blank + 1) % C, TARGETS) if blank else TARGETS
    _check(torch, _logits(), targets, INPUT_LENGTHS, TARGET_LENGTHS, reduction=reduction, blank=blank)


def test_concatenated_targets_and_tensor_lengths_match_torch():
    torch = pytest.importorskip("torch")
    flat = np.concatenate([row[:n] for row, n in zip(TARGETS, TARGET_LENGTHS)])
    ours = _check(torch, _logits(2), flat, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    x, padded = _ours(_logits(2), TARGETS, mt.tensor(INPUT_LENGTHS), tuple(TARGET_LENGTHS), reduction="none")
    np.testing.assert_allclose(padded.numpy(), ours.numpy(), rtol=1e-13)


def test_unbatched_matches_torch():
    torch = pytest.importorskip("torch")
    z = _logits(3, (T, C))
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.ctc_loss(zt.log_softmax(-1), torch.tensor([1, 1, 2]), torch.tensor(T), torch.tensor(3),
                                       reduction="none")
    x = mt.tensor(z, requires_grad=True)
    ours = F.ctc_loss(F.log_softmax(x, -1), mt.tensor([1, 1, 2]), T, 3, reduction="none")
    assert ours.shape == () == tuple(ref.shape)
    np.testing.assert_allclose(ours.item(), ref.item(), rtol=1e-12)
    ref.backward()
    ours.backward()
    np.testing.assert_allclose(x.grad.numpy(), zt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignments_match_torch(zero_infinity):
    torch = pytest.importorskip("torch")
    # row 1: target (2, 2) needs 3 frames, it gets 2; row 3: a target and no frames at all
    il, tl = [6, 2, 4, 0], [3, 2, 3, 1]
    zt, ref = _torch_loss(torch, _logits(4), TARGETS, il, tl, reduction="none", zero_infinity=zero_infinity)
    x, ours = _ours(_logits(4), TARGETS, il, tl, reduction="none", zero_infinity=zero_infinity)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-10)
    assert np.isinf(ours.numpy()[[1, 3]]).all() != zero_infinity
    ours.sum().backward()
    ref.sum().backward()
    # equal gradients, NaN where torch's are NaN (the impossible row's frames without zero_infinity)
    np.testing.assert_allclose(x.grad.numpy(), zt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.isnan(x.grad.numpy()).any() != zero_infinity
    if zero_infinity:
        assert not x.grad.numpy()[:, [1, 3]].any()
        _check(torch, _logits(4), TARGETS, il, tl, reduction="mean", zero_infinity=True)


def test_gradient_to_log_probs_is_torchs_without_its_softmax_term():
    # torch's gradient to log_probs themselves adds exp(log_probs) on each sequence's frames (it
    # assumes a log_softmax before, whose backward removes that term); minitf's is the derivative
    torch = pytest.importorskip("torch")
    lp = torch.tensor(_logits(5)).log_softmax(-1).numpy()
    zt, ref = _torch_loss(torch, lp, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, through_softmax=False, reduction="sum")
    x, ours = _ours(lp, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, through_softmax=False, reduction="sum")
    ref.backward()
    ours.backward()
    frames = np.arange(T)[:, None] < np.array(INPUT_LENGTHS)[None, :]
    np.testing.assert_allclose(x.grad.numpy(), zt.grad.numpy() - np.exp(lp) * frames[:, :, None], atol=1e-12)


def test_gradcheck(device):
    # raw log-probabilities (not normalised): the gradient is the loss's own derivative
    x = mt.tensor(_logits(6, (5, 3, 4)) - 1.5, dtype="float64", device=device, requires_grad=True)
    targets = mt.tensor([[1, 1, 2], [3, 0, 0], [2, 0, 0]], device=device)
    for reduction in ("none", "mean"):
        assert mt.gradcheck(lambda x: F.ctc_loss(x, targets, [5, 4, 2], [3, 1, 0], reduction=reduction), [x])
    loss = nn.CTCLoss(blank=0, reduction="sum")(x, targets, [5, 4, 2], [3, 1, 0])
    assert loss.device == x.device and np.isfinite(loss.item())


def test_module_as_torchs():
    torch = pytest.importorskip("torch")
    assert repr(nn.CTCLoss(blank=2)) == repr(torch.nn.CTCLoss(blank=2)) == "CTCLoss()"
    z = _logits(7)
    ref = torch.nn.CTCLoss(zero_infinity=True)(torch.tensor(z).log_softmax(-1), torch.tensor(TARGETS),
                                               torch.tensor(INPUT_LENGTHS), torch.tensor(TARGET_LENGTHS))
    ours = nn.CTCLoss(zero_infinity=True)(F.log_softmax(mt.tensor(z), -1), mt.tensor(TARGETS), INPUT_LENGTHS,
                                          TARGET_LENGTHS)
    np.testing.assert_allclose(ours.item(), ref.item(), rtol=1e-12)
    assert ours.dtype == "float64"
    assert F.ctc_loss(F.log_softmax(mt.tensor(z, dtype="float32"), -1), mt.tensor(TARGETS), INPUT_LENGTHS,
                      TARGET_LENGTHS).dtype == "float32"


def test_errors_name_the_problem():
    lp = F.log_softmax(mt.tensor(_logits()), -1)
    tg = mt.tensor(TARGETS)
    with pytest.raises(ValueError, match="at most 6, but got value 7"):
        F.ctc_loss(lp, tg, [7, 5, 4, 3], TARGET_LENGTHS)
    with pytest.raises(ValueError, match="at least 0"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, [3, 2, -1, 0])
    with pytest.raises(ValueError, match="S >= the largest target length"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, [4, 2, 3, 0])
    with pytest.raises(ValueError, match="one length per batch element"):
        F.ctc_loss(lp, tg, [6, 5], TARGET_LENGTHS)
    with pytest.raises(ValueError, match="blank must be in label range"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, TARGET_LENGTHS, blank=5)
    with pytest.raises(IndexError, match=r"target labels must be in \[0, 5\)"):
        F.ctc_loss(lp, mt.tensor([[1, 7, 3], [2, 2, 0], [4, 0, 1], [0, 0, 0]]), INPUT_LENGTHS, TARGET_LENGTHS)
    with pytest.raises(ValueError, match="sum\\(target_lengths\\) = 8"):
        F.ctc_loss(lp, mt.tensor([1, 2, 3]), INPUT_LENGTHS, TARGET_LENGTHS)
    with pytest.raises(ValueError, match="reduction"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, TARGET_LENGTHS, reduction="avg")
    with pytest.raises(TypeError, match="integer"):
        F.ctc_loss(lp, tg.float(), INPUT_LENGTHS, TARGET_LENGTHS)
    with pytest.raises(ValueError, match="reduction"):
        nn.CTCLoss(reduction="avg")
