"""One helper for the tests that compare a minitf op with PyTorch's in float64: forward values
and the gradients of a random cotangent, to every float input."""
import numpy as np

import minitf as mt

from .test_functional_fixes import grad_of


def compare_with_torch(ours, theirs, arrays, seed=0, rtol=1e-10, atol=1e-12, grad=None):
    """``ours(*tensors)`` and ``theirs(*torch_tensors)`` on the same float64 ``arrays``: equal
    values and equal gradients of <cotangent, output> for the inputs listed in ``grad``
    (indices; every float array by default). Returns the minitf output."""
    import torch
    grad = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"] if grad is None else grad
    xs = [mt.tensor(a, dtype="float64" if np.asarray(a).dtype.kind == "f" else None, requires_grad=i in grad)
          for i, a in enumerate(arrays)]
    ts = [torch.tensor(np.asarray(a), requires_grad=i in grad) for i, a in enumerate(arrays)]
    y, yt = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    assert y.shape == tuple(yt.shape)
    cot = np.random.default_rng(seed).standard_normal(y.shape)
    (y * mt.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    for i in grad:
        np.testing.assert_allclose(grad_of(xs[i]), ts[i].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    return y
