"""The ``Distribution`` base class: shapes, argument validation and the methods every distribution has.

A distribution holds a batch of independent distributions (``batch_shape``), each over events of
``event_shape``; ``sample(sample_shape)`` has shape ``(*sample_shape, *batch_shape, *event_shape)``
and ``log_prob(value)`` takes a value broadcasting with ``(*batch_shape, *event_shape)`` and
answers ``(*broadcast batch,)``. As in torch, arguments are validated by default
(``Distribution.set_default_validate_args(False)`` or ``validate_args=False`` turns it off): a
parameter outside its constraint, or a value outside the support, raises
:class:`minitf.errors.ConstraintError` (a ValueError) with torch's message.
"""
from __future__ import annotations

from ..errors import ConstraintError
from ..size import Size
from ..tensor import Tensor
from . import constraints
from .utils import lazy_property

__all__ = ["Distribution"]


class Distribution:
    """Base class of the probability distributions (``torch.distributions.Distribution``)."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn the default validation of arguments and values on or off (on, as torch)."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue   # a parameter derived from the one given (probs from logits) is not checked
                value = getattr(self, param)
                if not bool(constraint.check(value).all()):
                    raise ConstraintError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                        f"but found invalid values:\n{value}")

    # ------------------------------------------------------------------ shapes

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> Size:
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def expand(self, batch_shape, _instance=None):
        """The distribution with its parameters expanded (views) to ``batch_shape``; no new checks."""
        raise NotImplementedError

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                                      "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def _expand_params(self, cls, names, batch_shape, _instance=None):
        """The common body of ``expand``: every parameter in ``names`` expanded to ``batch_shape``."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = Size(batch_shape)
        for name in names:
            if name in self.__dict__:
                value = self.__dict__[name]
                new.__dict__[name] = value.expand(tuple(batch_shape) + tuple(value.shape[len(self._batch_shape):]))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # ------------------------------------------------------------------ statistics

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    # ------------------------------------------------------------------ draws and densities

    def sample(self, sample_shape=()) -> Tensor:
        """A draw of shape ``(*sample_shape, *batch_shape, *event_shape)``, not differentiable."""
        from ..grad_modes import no_grad
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """A reparameterised draw: differentiable with respect to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError

    def _validate_sample(self, value) -> None:
        if not isinstance(value, Tensor):
            raise ConstraintError("The value argument to log_prob must be a Tensor")
        shape, event = Size(value.shape), self._event_shape
        if tuple(shape[len(shape) - len(event):]) != tuple(event):
            raise ConstraintError(f"The right-most size of value must match event_shape: {shape} vs {event}.")
        expected = tuple(self._batch_shape) + tuple(event)
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ConstraintError(f"Value is not broadcastable with batch_shape+event_shape: "
                                      f"{shape} vs {Size(expected)}.")
        support = self.support
        if not bool(support.check(value).all()):
            raise ConstraintError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be within "
                f"the support ({support!r}) of the distribution {self!r}, but found invalid values:\n{value}")

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = [f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else self.__dict__[p].shape}"
                 for p in names]
        return type(self).__name__ + "(" + ", ".join(parts) + ")"
