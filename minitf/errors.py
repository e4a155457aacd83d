"""minitf's error classes: each derives from the class minitf raised before and from the one
PyTorch raises for the same mistake, so that both ``except ValueError:`` (minitf's code and
tests) and a port's ``except RuntimeError:`` / ``except IndexError:`` catch it, while the
message stays minitf's own (it names the op and the shapes).

    >>> import minitf as mt
    >>> try:
    ...     mt.ones(2) + mt.ones(3)
    ... except RuntimeError as e:        # torch's class; ValueError catches it too
    ...     print(type(e).__name__)
    ShapeError

No imports: the Tensor module and every op module import this one.
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together: broadcasting, matmul and linear, view/reshape sizes,
    cat/stack, split sizes, expand (torch: RuntimeError)."""


class DimError(ValueError, IndexError):
    """A dim out of range for the tensor's number of dims (torch: IndexError)."""


class ArgumentError(ValueError, RuntimeError):
    """A value torch refuses with a RuntimeError: arange's step 0, an integer to a negative
    integer power."""


class DtypeError(TypeError, RuntimeError):
    """A dtype an op refuses (torch: RuntimeError): requires_grad on an integer tensor, a mask
    that is not bool, ``bool_tensor - 1``, ``-mask``, ``int_tensor += 0.5``."""


class DtypeNotImplemented(NotImplementedError, DtypeError):
    """An op with no kernel for a dtype (torch: NotImplementedError, itself a RuntimeError:
    '"abs_cpu" not implemented for 'Bool''): ``bool_tensor ** bool_tensor``, ``float_tensor & 1``."""


class ScalarConversionError(TypeError, ValueError, RuntimeError):
    """A tensor of several elements where one number is needed: ``item()``, ``bool(t)``
    (torch: RuntimeError), ``float(t)``, ``int(t)`` (torch: ValueError)."""


class ArgumentTypeError(TypeError, ValueError):
    """An argument of a type torch refuses with a TypeError where minitf raised ValueError: a
    size that is not an integer (``zeros(2.0)``)."""


class IndexRangeError(IndexError, RuntimeError):
    """An index out of a dim's range where torch raises a RuntimeError (gather, scatter,
    scatter_add, scatter_reduce: 'index 5 is out of bounds for dimension 0 with size 3');
    index_select and index_add raise torch's IndexError, a plain IndexError here too."""


def broadcast_error(name: str, *shapes) -> ShapeError:
    """The error for shapes that do not broadcast, naming the op and every shape."""
    listed = ", ".join(str(tuple(s)) for s in shapes[:-1]) + f" and {tuple(shapes[-1])}"
    return ShapeError(f"{name}: shapes {listed} cannot be broadcast together")


class LinAlgError(ValueError, RuntimeError):
    """A matrix a linalg op cannot factor: singular in inv or solve, not positive-definite in
    cholesky (torch: ``torch.linalg.LinAlgError``, a RuntimeError)."""


# distributed training (minitf.distributed's, defined here so that its modules can import it in any order)
class DistributedError(RuntimeError):
    """Distributed training cannot start (no mpi4py, a bad setting...); the message says why."""


# distributions group (round 4)
class ConstraintError(ValueError):
    """A distribution's parameter outside its constraint, a value outside its support, or an
    impossible parametrisation (both ``probs`` and ``logits``) (torch: ValueError)."""
