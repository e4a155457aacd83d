"""Utilities under PyTorch's module paths: :mod:`minitf.utils.data` (``Dataset``, ``DataLoader``) and
:mod:`minitf.utils.checkpoint` (gradient checkpointing).

``mt.utils.data.DataLoader`` works without importing ``minitf.utils.data`` first, as
``torch.utils.data.DataLoader`` does; the submodule is imported on that first use.
"""


def __getattr__(name):
    if name in ("data", "checkpoint"):  # imported on first use, keeping `import minitf` light
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minitf.utils' has no attribute {name!r}")
