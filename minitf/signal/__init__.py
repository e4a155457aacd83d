"""torch.signal: its one module, :mod:`minitf.signal.windows` (the window functions with torch's
``sym=`` keyword). Imported on first use of ``mt.signal``."""
from . import windows  # noqa: F401

__all__ = ["windows"]
