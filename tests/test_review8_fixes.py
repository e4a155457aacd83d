"""Round-8 review fixes (complex math at its edges, matmul's empty 1-D operands, the fills of a
complex value into a real tensor ...), each against torch 2.13."""
import numpy as np
import pytest

import minitf as mt


pytestmark = pytest.mark.usefixtures("complex_isolated")   # (tests/conftest.py: some make complex tensors)


@pytest.mark.parametrize("sa,sb", [((0,), (2, 0, 4)), ((2, 3, 0), (0,)), ((3,), (2, 3, 0)), ((0,), (0,))])
@pytest.mark.parametrize("kind", ["float64", "complex128"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_matmul_backward_with_an_empty_1d_operand_and_batch_dims_as_torch(sa, sb, kind, create_graph, device):
    # a 1-D operand of length 0 against a batched one: its gradient (zeros of its shape) used a
    # reshape(-1, 0), which neither NumPy nor minitf's reshape can infer for an empty array
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)

    def draw(shape):
        x = rng.standard_normal(shape)
        return x + 1j * rng.standard_normal(shape) if kind == "complex128" else x

    a, b = draw(sa), draw(sb)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    g = draw(tuple((at @ bt).shape))
    want = torch.autograd.grad(at @ bt, (at, bt), torch.tensor(g))
    am, bm = (mt.tensor(v, device=device, requires_grad=True) for v in (a, b))
    got = mt.autograd.grad(am @ bm, (am, bm), mt.tensor(g, device=device), create_graph=create_graph)
    for x, w in zip(got, want):
        assert x.shape == tuple(w.shape)
        np.testing.assert_allclose(x.detach().numpy(), w.numpy(), rtol=1e-12, atol=0)
