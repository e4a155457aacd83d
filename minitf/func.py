"""``torch.func``'s module-level functional API that minitf has: :func:`functional_call` (a module
called with other parameters and buffers; see :mod:`minitf.nn.utils.stateless`)."""
from .nn.utils.stateless import _functional_call as functional_call  # noqa: F401

__all__ = ["functional_call"]
