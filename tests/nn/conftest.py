"""Helpers for layer tests: gradcheck a module with respect to its inputs and every parameter."""
import minitf as mt


def gradcheck_module(module, inputs, call=None, **kw):
    """Check d(output)/d(input) for every float input that requires grad and d(output)/d(p) for
    every parameter of ``module`` (float64 central differences; tensors above ``max_elements``
    along random directions). ``call(*inputs)`` defaults to ``module(*inputs)``."""
    params = list(module.parameters())
    n = len(inputs)
    call = call or module
    kw.setdefault("rtol", 1e-6)
    kw.setdefault("atol", 1e-8)
    return mt.gradcheck(lambda *args: call(*args[:n]), list(inputs) + params, **kw)


def worst_error(module, inputs, call=None, **kw):
    """The worst relative error over the same checks (for reports)."""
    params = list(module.parameters())
    n = len(inputs)
    call = call or module
    return mt.max_relative_error(lambda *args: call(*args[:n]), list(inputs) + params, **kw)
