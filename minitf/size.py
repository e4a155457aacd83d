"""``mt.Size``: torch.Size, a tuple of dims with ``numel()``.

``Tensor.size()`` returns one; ``Tensor.shape`` stays a plain tuple (read many times per op
inside minitf, where building a tuple subclass costs about 80 ns more each time). Its repr is
the tuple's, so messages that show shapes read as before.
"""
from __future__ import annotations


class Size(tuple):
    """A shape: a tuple of ints, with torch.Size's ``numel()``."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for ``()``)."""
        n = 1
        for d in self:
            n *= d
        return n
