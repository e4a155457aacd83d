"""The exceptions an op raises for a dtype it refuses, of torch's classes.

torch raises a RuntimeError where an op refuses a dtype (``bool_tensor - 1``, ``-mask``,
``int_tensor += 0.5``) and a NotImplementedError (itself a RuntimeError) where it has no kernel
for it (``bool_tensor ** bool_tensor``, ``float_tensor & 1``, ``abs`` of a bool). minitf raises
the same classes; both are TypeErrors too, what minitf raised for these before (and what NumPy
raises), so ``except TypeError`` keeps working.
"""

__all__ = ["DtypeError", "DtypeNotImplemented"]


class DtypeError(RuntimeError, TypeError):
    """An op refuses an operand's dtype (torch: RuntimeError)."""


class DtypeNotImplemented(NotImplementedError, DtypeError):
    """An op is not defined for a dtype (torch: NotImplementedError, '"abs_cpu" not implemented for 'Bool'')."""
