"""``nn.utils.skip_init``: a module whose parameters are left uninitialised (torch.nn.utils.init)."""
from __future__ import annotations

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with uninitialised parameters and buffers, on ``device``
    (a keyword, default "cpu"), as ``torch.nn.utils.skip_init``: for values filled afterwards
    (``load_state_dict``, an ``nn.init`` call).

    torch builds the module on its "meta" device (no storage, no initialisation) and then calls
    ``to_empty``; minitf has no meta device, so the module is built (and initialised) on the
    host, then given new, uninitialised storage on ``device`` by :meth:`Module.to_empty`: the
    same result, without the time torch saves. Nor does minitf need ``module_cls`` to take a
    ``device`` argument (torch does, to pass "meta").
    """
    from ..module import Module
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    device = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs).to_empty(device=device)
