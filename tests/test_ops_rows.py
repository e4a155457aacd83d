"""minitf.ops.rows: the last-axis sums and means against NumPy's, on views and odd sizes."""
import numpy as np
import pytest

from minitf.ops.rows import _EINSUM_MAX_ROW, row_mean, row_sum as _row_sum


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 37, 64, 255])
def test_row_sum_matches_numpy(k):
    # row_sum sums each row on its own, on views too
    rng = np.random.default_rng(k)
    a = rng.standard_normal((3, 2, 7, k)).astype(np.float32)
    for arr in (a, a[:, :, 1:6, : max(1, k - 1)], a[..., ::-1]):
        # float32: einsum sums a row in order, NumPy pairwise; the two round differently
        np.testing.assert_allclose(_row_sum(np, arr), arr.sum(axis=-1, keepdims=True), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_row_sum(np, arr, arr), (arr * arr).sum(axis=-1, keepdims=True),
                                   rtol=1e-5, atol=1e-5)


def test_long_float32_rows_keep_the_pairwise_sums_accuracy():
    # past _EINSUM_MAX_ROW the rows go to NumPy's pairwise sum: float32 error stays near 6.6e-8
    a = np.random.default_rng(0).random((4, 50257)).astype(np.float32)
    exact = a.astype(np.float64).sum(axis=-1, keepdims=True)
    assert a.shape[-1] > _EINSUM_MAX_ROW
    assert (np.abs(_row_sum(np, a) - exact) / exact).max() < 1.5e-7   # einsum here: 2.7e-7


def test_row_mean_over_the_last_axis_of_any_rank():
    a = np.random.default_rng(1).standard_normal((2, 3, 5))
    np.testing.assert_allclose(row_mean(np, a), a.mean(axis=-1, keepdims=True), rtol=1e-14, atol=1e-15)
