"""Lazy modules, as torch's: layers whose input size (``in_features``, ``in_channels``,
``num_features``) is read from their first input.

    layer = nn.LazyLinear(10)        # weight, bias: UninitializedParameter
    y = layer(x)                     # x: (..., 7): weight (10, 7), bias (10,); layer is now an nn.Linear

Until that first call a lazy module holds :class:`UninitializedParameter` (and
:class:`UninitializedBuffer`) placeholders: their dtype and device follow ``to()``, but they have
no shape (reading it raises, as torch's). The first call runs a forward pre-hook that sets the
size, *materialises* each placeholder (it becomes a Parameter / Tensor of the right shape, the
same object), initialises it as the ordinary layer would, removes the hooks and turns the
module into its ``cls_to_become`` (``LazyLinear`` -> ``Linear``). ``state_dict()`` holds the
placeholders themselves while uninitialised; ``load_state_dict`` of a full state dict
materialises them with the shapes it brings (the module stays lazy until its first call, as
torch's).

Differences from torch: an uninitialised parameter refuses ``shape``, ``numel()``, ``dim()``
(as torch's) but not arithmetic (torch refuses every torch function); LazyInstanceNorm*
read the channels of an unbatched input (C, *) from dim 0, where torch 2.13 reads dim 1 (and
then fails on its own check); a lazy conv or norm materialised by ``load_state_dict`` sets its
``in_channels`` / ``num_features`` at its first call, as torch 2.13 does only for LazyLinear
(its others keep 0, and LazyInstanceNorm* with affine=True then refuses every input); so does
a LazyInstanceNorm* with nothing to materialise (affine and track_running_stats False), where
torch keeps 0 and warns at every call.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..creation import get_default_dtype, resolve_device, tensor
from ..dtypes import _check_dtype
from ..errors import ShapeError
from ..tensor import Tensor
from .batchnorm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                        _BatchNorm)
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .parameter import Parameter

__all__ = ["UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "is_lazy", "LazyLinear",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]

_NO_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
             "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
             "`forward` to initialize the parameters before accessing their attributes.")


def _placeholder(device, dtype):
    """The empty (0,) array an uninitialised tensor holds: it carries the dtype and device (None:
    the default device, as a factory's)."""
    dtype = get_default_dtype() if dtype is None else _check_dtype(dtype)
    return backend.array_module(resolve_device(device)).empty(0, dtype)


class _UninitializedMixin:
    """What UninitializedParameter and UninitializedBuffer share (torch's UninitializedTensorMixin)."""

    __slots__ = ()
    _is_uninitialized = True
    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Become a ``cls_to_become`` (this same object) of ``shape``, with uninitialised values,
        on this one's device and dtype unless given."""
        dtype = self.data.dtype if dtype is None else _check_dtype(dtype)
        device = backend.device_of(self.data) if device is None else backend.check_device(device)
        self.data = backend.to_device(np.empty(tuple(int(n) for n in shape), dtype), device)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_NO_SHAPE)

    def numel(self):
        raise ValueError(f"Attempted to use an uninitialized parameter in numel(): call forward with a batch "
                         f"to initialize the {type(self).__name__} first")

    dim = numel

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, backend.device_of(self.data), self.data.dtype)
        return memo[id(self)]


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A Parameter whose shape is not known yet (torch's): ``materialize(shape)`` makes it a
    Parameter. ``device`` / ``dtype``: those it will have (default: the default device and dtype)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        Parameter.__init__(self, _placeholder(device, dtype), requires_grad=requires_grad)


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape is not known yet (torch's): ``materialize(shape)`` makes it a Tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        Tensor.__init__(self, _placeholder(device, dtype), requires_grad=requires_grad)


def is_lazy(t) -> bool:
    """Whether ``t`` is an UninitializedParameter or UninitializedBuffer (torch.nn.parameter.is_lazy)."""
    return isinstance(t, _UninitializedMixin)


class LazyModuleMixin:
    """Put first among the bases of a layer (``class LazyLinear(LazyModuleMixin, Linear)``) whose
    parameters are UninitializedParameter placeholders; define ``initialize_parameters(*args,
    **kwargs)`` (materialise them from the first input) and set ``cls_to_become``."""

    cls_to_become = None
    _lazy_zero_ok = True   # the layer's own __init__ takes a size of 0: the placeholder
    _size_name = ""        # the attribute the first input sets ("in_features", ...)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                        error_msgs):
        """Materialise each placeholder with the shape of the value loaded into it (inside
        load_state_dict, once every check passed: a failed load leaves the placeholders)."""
        from .state_dict import _record
        for name, t in list(self._parameters.items()) + list(self._buffers.items()):
            key = prefix + name
            if key in state_dict and is_lazy(t) and not is_lazy(state_dict[key]):
                shape = tuple(state_dict[key].shape)
                _record(key, None, None, lambda t=t, shape=shape: t.materialize(shape), local_metadata)

    def _placeholders(self, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """The ordinary layer's initialisation, once the parameters are materialised and sized."""
        if not self.has_uninitialized_params() and getattr(self, self._size_name) != 0:
            super().reset_parameters()

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        return any(is_lazy(t) for t in list(self._parameters.values()) + list(self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_parameters(self, module, args, kwargs=None):
        """The forward pre-hook of the first call: size, materialise, then become cls_to_become."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook, module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    """``nn.Linear`` with ``in_features`` read at the first call: x (..., in_features)."""

    cls_to_become = Linear
    _size_name = "in_features"

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, out_features, False)
        self._placeholders(bias, device, dtype)

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.in_features = int(input.shape[-1])
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:   # materialised by a load: torch's LazyLinear sets in_features too
            if input.shape[-1] != self.weight.shape[-1]:
                raise ShapeError(f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                                 f"in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = int(input.shape[-1])


class _LazyConvMixin(LazyModuleMixin):
    _size_name = "in_channels"

    def __init__(self, out_channels, kernel_size, *args, bias=True, device=None, dtype=None, **kwargs):
        super().__init__(0, out_channels, kernel_size, *args, bias=bias, **kwargs)
        self._placeholders(bias, device, dtype)

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """in_channels from x: (N, C_in, *S) or unbatched (C_in, *S), as torch's."""
        if not self.has_uninitialized_params() and self.in_channels != 0:
            return
        d = self._d
        if input.ndim not in (d + 1, d + 2):
            raise RuntimeError(f"Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {tuple(input.shape)}")
        self.in_channels = int(input.shape[1] if input.ndim == d + 2 else input.shape[0])
        if not self.has_uninitialized_params():   # materialised by a load: only the size was left to set
            return
        if self.in_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels must be divisible by groups "
                             f"({self.in_channels} and {self.groups})")
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight.materialize(shape)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


# torch's signatures: the ordinary class's without in_channels
def _lazy_conv_init(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                    padding_mode="zeros", device=None, dtype=None):
    _LazyConvMixin.__init__(self, out_channels, kernel_size, stride, padding, dilation=dilation, groups=groups,
                            bias=bias, padding_mode=padding_mode, device=device, dtype=dtype)


def _lazy_conv_transpose_init(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                              bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
    _LazyConvMixin.__init__(self, out_channels, kernel_size, stride, padding, output_padding=output_padding,
                            groups=groups, bias=bias, dilation=dilation, padding_mode=padding_mode, device=device,
                            dtype=dtype)


def _lazy_conv(base, doc):
    __init__ = _lazy_conv_transpose_init if base._transposed else _lazy_conv_init
    return type("Lazy" + base.__name__, (_LazyConvMixin, base),
                {"__init__": __init__, "cls_to_become": base, "__doc__": doc, "__module__": __name__})


LazyConv1d = _lazy_conv(Conv1d, "``nn.Conv1d`` with ``in_channels`` read at the first call: x (N, C_in, L) or (C_in, L).")
LazyConv2d = _lazy_conv(Conv2d, "``nn.Conv2d`` with ``in_channels`` read at the first call: x (N, C_in, H, W) or (C_in, H, W).")
LazyConv3d = _lazy_conv(Conv3d, "``nn.Conv3d`` with ``in_channels`` read at the first call: x (N, C_in, D, H, W) or unbatched.")
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d, "``nn.ConvTranspose1d`` with ``in_channels`` read at the first "
                                                  "call: x (N, C_in, L) or (C_in, L).")
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d, "``nn.ConvTranspose2d`` with ``in_channels`` read at the first "
                                                  "call: x (N, C_in, H, W) or (C_in, H, W).")
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d, "``nn.ConvTranspose3d`` with ``in_channels`` read at the first "
                                                  "call: x (N, C_in, D, H, W) or unbatched.")


class _LazyNormMixin(LazyModuleMixin):
    _size_name = "num_features"

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None):
        super().__init__(0, eps, momentum, False, False)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if self.affine:
            self._placeholders(True, device, dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype="int64", device=device)

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """num_features from the channel dim of x: (N, C, *) (or, instance norms, unbatched (C, *))."""
        if not self.has_uninitialized_params() and self.num_features != 0:
            return
        if isinstance(self, _BatchNorm):
            self._check_input_dim(input)
            channel_dim = 1
        else:
            if input.ndim not in self._dims:
                raise ValueError(f"expected {self._dims[0]}D or {self._dims[1]}D input (got {input.ndim}D input)")
            channel_dim = 0 if input.ndim == self._dims[0] else 1
        self.num_features = int(input.shape[channel_dim])
        if not self.has_uninitialized_params():   # materialised by a load: only the size was left to set
            return
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            if is_lazy(t):
                t.materialize((self.num_features,))
        self.reset_parameters()


def _lazy_norm(base, doc):
    return type("Lazy" + base.__name__, (_LazyNormMixin, base),
                {"cls_to_become": base, "__doc__": doc, "__module__": __name__})


LazyBatchNorm1d = _lazy_norm(BatchNorm1d, "``nn.BatchNorm1d`` with ``num_features`` read at the first call: x (N, C) or (N, C, L).")
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, "``nn.BatchNorm2d`` with ``num_features`` read at the first call: x (N, C, H, W).")
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, "``nn.BatchNorm3d`` with ``num_features`` read at the first call: x (N, C, D, H, W).")
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, "``nn.InstanceNorm1d`` with ``num_features`` read at the first call: "
                                                "x (N, C, L) or (C, L); affine and track_running_stats default to "
                                                "True, as torch's.")
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, "``nn.InstanceNorm2d`` with ``num_features`` read at the first call: "
                                                "x (N, C, H, W) or (C, H, W); affine and track_running_stats True by default.")
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, "``nn.InstanceNorm3d`` with ``num_features`` read at the first call: "
                                                "x (N, C, D, H, W) or unbatched; affine and track_running_stats True by default.")
