"""``minitf.nn.functional`` is :mod:`minitf.functional` itself, under PyTorch's module path.

``import minitf.nn.functional as F`` and ``from minitf.nn import functional as F`` give the
same module object as ``from minitf import functional as F``: one set of functions, no copy.
Importing this file replaces its own entry in ``sys.modules`` by that module (the import
system then hands that module out and binds it as ``minitf.nn.functional``).
"""
import sys

from .. import functional as _functional

sys.modules[__name__] = _functional
