"""minitf: a from-scratch tensor library with reverse-mode autograd on NumPy / CuPy.

    import minitf as mt
    from minitf import functional as F

    x = mt.tensor([[1.0, 2.0]], requires_grad=True)
    y = F.tanh(x @ x.T).sum()
    y.backward()
    x.grad
"""
from .tensor import Tensor, tensor  # noqa: F401
from .autograd import no_grad, enable_grad, is_grad_enabled, grad  # noqa: F401
from .backend import DeviceError, gpu_available, set_num_threads, num_threads  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError, max_relative_error  # noqa: F401
from .random import manual_seed  # noqa: F401
from .anomaly import detect_anomaly, AnomalyError  # noqa: F401
from .profiler import profile  # noqa: F401
from .dot import to_dot, draw_graph  # noqa: F401
from . import functional  # noqa: F401

__version__ = "0.1.0"


def __getattr__(name):
    # nn, optim, models... are imported on first use, keeping `import minitf` light
    import importlib
    if name in ("nn", "optim", "models", "data", "checkpoint", "train"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minitf' has no attribute {name!r}")


def zeros(*shape, dtype="float32", device="cpu", requires_grad=False) -> Tensor:
    """A tensor of zeros."""
    from . import backend
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    xp = backend.array_module(device)
    return Tensor(xp.zeros(tuple(shape), dtype=tensor_dtype(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype="float32", device="cpu", requires_grad=False) -> Tensor:
    """A tensor of ones."""
    from . import backend
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    xp = backend.array_module(device)
    return Tensor(xp.ones(tuple(shape), dtype=tensor_dtype(dtype)), requires_grad=requires_grad)


def randn(*shape, dtype="float32", device="cpu", requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples from the device's default generator (see ``manual_seed``)."""
    from .random import default_generator
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    gen = generator if generator is not None else default_generator(device)
    data = gen.standard_normal(tuple(shape), dtype=tensor_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def arange(*args, dtype="int64", device="cpu") -> Tensor:
    """Evenly spaced values, as ``numpy.arange``."""
    from . import backend
    return Tensor(backend.array_module(device).arange(*args, dtype=tensor_dtype(dtype)))


def tensor_dtype(dtype):
    from .tensor import _check_dtype
    return _check_dtype(dtype)


from .functional import (exp, log, sqrt, tanh, sigmoid, relu, matmul, where, concatenate,  # noqa: E402,F401
                         cat, stack, split, softmax, log_softmax)
