"""``minitf.backends``: torch's ``torch.backends`` switches, so scripts that set them run.

    mt.backends.cuda.matmul.allow_tf32 = True     # nanoGPT's train.py
    mt.backends.cudnn.allow_tf32 = True

They are plain settable attributes with torch's defaults, and **minitf reads none of them**:
on the host NumPy computes in the arrays' own dtype, and on a GPU CuPy chooses its matmul
precision itself (its ``CUPY_TF32`` environment variable, read when CuPy starts); minitf has no
cuDNN kernels. Not to be confused with :mod:`minitf.backend`, minitf's NumPy/CuPy layer.
An unknown attribute is an AttributeError, as torch's, so a misspelt switch is not silently kept.
"""
from __future__ import annotations

__all__ = ["cuda", "cudnn", "mps"]


class _Switches:
    """A namespace of named flags: only the names it was made with can be set."""

    def __init__(self, name: str, **flags):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_flags", dict(flags))

    def __getattr__(self, name):
        flags = object.__getattribute__(self, "_flags")
        if name in flags:
            return flags[name]
        raise AttributeError(f"{self._name} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name not in self._flags:
            raise AttributeError(f"{self._name} has no attribute {name!r} (known: {', '.join(sorted(self._flags))})")
        self._flags[name] = value

    def __repr__(self):
        return f"<{self._name}: " + ", ".join(f"{k}={v!r}" for k, v in self._flags.items()) + ">"


class _Cuda:
    """``backends.cuda``: ``matmul``'s switches; ``is_built()`` says whether CuPy is importable."""

    def __init__(self):
        self.matmul = _Switches("minitf.backends.cuda.matmul", allow_tf32=False,
                                allow_fp16_reduced_precision_reduction=True,
                                allow_bf16_reduced_precision_reduction=True)

    @staticmethod
    def is_built() -> bool:
        from . import backend
        return backend.gpu_available()


class _Cudnn(_Switches):
    """``backends.cudnn``: torch's switches (minitf has no cuDNN: ``is_available()`` is False)."""

    def __init__(self):
        super().__init__("minitf.backends.cudnn", enabled=True, benchmark=False, deterministic=False,
                         allow_tf32=True)

    @staticmethod
    def is_available() -> bool:
        return False


class _Mps:
    """``backends.mps``: minitf has no Metal backend."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False


cuda = _Cuda()
cudnn = _Cudnn()
mps = _Mps()
