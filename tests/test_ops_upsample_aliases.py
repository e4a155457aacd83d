"""torch's deprecated F.upsample, F.upsample_nearest and F.upsample_bilinear: interpolate under
torch's defaults (bilinear with align_corners=True), each with torch's warning, against torch 2.13."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .torch_compare import compare_with_torch

rng = np.random.default_rng(41)


@pytest.mark.parametrize("name, args, kwargs", [
    ("upsample", (None, 2), {}),                                    # nearest by default
    ("upsample", ((5, 7),), dict(mode="bilinear")),                 # align_corners None: False, as interpolate
    ("upsample", (None, 1.5), dict(mode="bicubic", align_corners=True)),
    ("upsample_nearest", ((6, 5),), {}),
    ("upsample_nearest", (None, (2, 3)), {}),
    ("upsample_bilinear", ((5, 7),), {}),                           # align_corners=True
    ("upsample_bilinear", (None, 2), {}),
])
def test_upsample_aliases_match_torch_and_warn(name, args, kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_with_torch(lambda t: getattr(F, name)(t, *args, **kwargs),
                           lambda t: getattr(torch.nn.functional, name)(t, *args, **kwargs), [x])
    with pytest.warns(UserWarning, match=rf"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                                         "instead.") as record:
        getattr(F, name)(mt.tensor(x), *args, **kwargs)
    assert record[0].filename == __file__    # the warning names the caller's line, as torch's


def test_upsample_bilinear_is_interpolate_with_align_corners(device):
    x = mt.tensor(rng.standard_normal((1, 2, 3, 3)), device=device)
    with pytest.warns(UserWarning):
        y = F.upsample_bilinear(x, scale_factor=2)
    want = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    assert y.device == mt.device(device)
    np.testing.assert_array_equal(y.numpy(), want.numpy())
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="either size or scale_factor"):
        F.upsample(x)
