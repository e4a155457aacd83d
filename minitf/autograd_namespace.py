"""torch.autograd's namespace beyond the engine (:mod:`minitf.autograd`): the module-level
``__getattr__`` that finds torch.autograd's functions on first use (backprop imports the engine, so
they cannot be imported with it), and the submodules ``functional`` (jacobian, hessian...), ``graph``
(Node, GradientEdge, the saved-tensor hooks) and ``forward_ad`` (dual tensors), registered under the
engine's name too, so that ``from minitf.autograd.functional import jacobian`` and
``import minitf.autograd.forward_ad as fwAD`` work. Imported by minitf.autograd, at its end.
"""
from __future__ import annotations

import sys

# light modules: graph's saved-tensor part (minitf/saved_tensors.py) and forward_ad's rules load on first use
from . import autograd_functional as functional, autograd_graph as graph, forward_ad

for _name, _module in (("functional", functional), ("graph", graph), ("forward_ad", forward_ad)):
    sys.modules["minitf.autograd." + _name] = _module
del _name, _module


def __getattr__(name):
    # torch.autograd's functions, from the general walk (imported on first use: backprop imports
    # this module)
    if name in ("grad", "backward"):
        from . import backprop
        return getattr(backprop, name)
    if name == "function":  # torch.autograd.function: once_differentiable and the custom Functions' ctx
        from . import custom_function
        return custom_function
    if name == "detect_anomaly":  # torch.autograd.detect_anomaly, as mt.detect_anomaly
        from .anomaly import detect_anomaly
        return detect_anomaly
    if name == "set_detect_anomaly":  # tensor gaps group: torch.autograd.set_detect_anomaly
        from .settings import set_detect_anomaly
        return set_detect_anomaly
    if name in ("set_grad_enabled", "inference_mode"):  # torch.autograd's names of mt's grad modes
        from . import grad_modes
        return getattr(grad_modes, name)
    if name in ("gradcheck", "gradgradcheck"):  # torch.autograd.gradcheck: mt.gradcheck itself
        import importlib   # the module: minitf.gradcheck is rebound to the function in the package
        return getattr(importlib.import_module(".gradcheck", __package__), name)
    if name in ("Variable", "set_multithreading_enabled", "is_multithreading_enabled"):   # torch's compatibility names
        from . import autograd_legacy
        return getattr(autograd_legacy, name)
    raise AttributeError(f"module 'minitf.autograd' has no attribute {name!r}")
