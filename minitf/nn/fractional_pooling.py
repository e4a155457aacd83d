"""``FractionalMaxPool2d``/``3d``: the layers of :mod:`minitf.ops.fractional_pooling`, as torch's."""
from __future__ import annotations

from ..ops import fractional_pooling
from .module import Module


def _ntuple(value, d):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * d


class _FractionalMaxPoolNd(Module):
    d = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None):
        super().__init__()
        name = type(self).__name__
        ks = _ntuple(kernel_size, self.d)
        if not all(k > 0 for k in ks):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = ks
        self.return_indices = return_indices
        # a buffer, as torch's (None unless given: each forward then draws new samples)
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, self.d) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, self.d) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        fn = fractional_pooling.fractional_max_pool2d if self.d == 2 else fractional_pooling.fractional_max_pool3d
        return fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                  _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling: x (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), with
    (H_out, W_out) = ``output_size`` or int((H, W) * output_ratio); fresh random windows every
    forward unless ``_random_samples`` (N, C, 2) is given (see ``F.fractional_max_pool2d``)."""
    d = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling: x (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    d = 3
