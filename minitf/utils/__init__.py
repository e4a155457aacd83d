"""Utilities under PyTorch's module paths: :mod:`minitf.utils.data` (``Dataset``, ``DataLoader``)."""
