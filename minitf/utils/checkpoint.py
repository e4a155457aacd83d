"""``torch.utils.checkpoint`` under its own names, over :func:`minitf.recompute` (gradient
checkpointing: keep a function's inputs, not its activations, and run it again in backward).

    from minitf.utils.checkpoint import checkpoint, checkpoint_sequential
    y = checkpoint(block, x, use_reentrant=False)            # as block(x), without its activations
    y = checkpoint_sequential(model, 2, x, use_reentrant=False)   # an nn.Sequential in 2 segments

minitf has one implementation, which behaves as torch's ``use_reentrant=False``: tensors the
function reads from a closure or from keyword arguments get their gradients too, and
``torch.autograd.grad`` works through it. ``use_reentrant=True`` gives the same gradients.
The default random generator is always replayed, so dropout draws the same masks in the
recomputation (torch's ``preserve_rng_state=True``; False is accepted with the same effect).
The function must return one Tensor (torch also takes tuples: a clear error here).
"""
from __future__ import annotations

import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]


def _check_reentrant(use_reentrant, name: str):
    if use_reentrant is None:   # torch 2.13 warns the same way; its default is still True
        warnings.warn(f"minitf.utils.checkpoint.{name}: pass use_reentrant explicitly, as torch asks; "
                      "use_reentrant=False is recommended (minitf gives the same gradients either way)",
                      stacklevel=3)
    elif not isinstance(use_reentrant, bool):
        raise TypeError(f"{name}: use_reentrant must be True, False or None, got {use_reentrant!r}")


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)`` with its activations recomputed during backward, as
    ``torch.utils.checkpoint.checkpoint``; the same value and the same gradients as a plain call.

    ``args`` may hold tensors of any shape and other values; ``function`` returns one Tensor.
    Keyword arguments are passed on as torch's non-reentrant variant does (torch's reentrant
    variant refuses them: so does this one with ``use_reentrant=True``). ``context_fn``,
    ``determinism_check``, ``debug`` and ``early_stop`` are torch's knobs of its implementation
    and are accepted with their defaults only (a ``context_fn`` is refused).
    """
    from ..ops.recompute import recompute
    _check_reentrant(use_reentrant, "checkpoint")
    if use_reentrant and kwargs:
        raise ValueError("checkpoint: unexpected keyword arguments with use_reentrant=True: " + ",".join(kwargs))
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn (selective checkpointing) is not supported")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}")
    fn = function if not kwargs else (lambda *a: function(*a, **kwargs))
    params = function.parameters() if callable(getattr(function, "parameters", None)) else ()
    return recompute(fn, *args, params=params)


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):
    """``functions`` (an ``nn.Sequential`` or a list of modules / functions) applied in order to
    ``input``, in ``segments`` checkpointed runs, as ``torch.utils.checkpoint.checkpoint_sequential``:
    each of the first ``segments - 1`` runs covers ``len(functions) // segments`` of them and is
    recomputed in backward; the last run (the rest) keeps its activations, as torch's."""
    _check_reentrant(use_reentrant, "checkpoint_sequential")
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("checkpoint_sequential: unexpected keyword arguments: " + ",".join(kwargs))
    if not isinstance(segments, int) or isinstance(segments, bool) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments!r}")
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(functions) // segments
    if size == 0:
        raise ValueError(f"checkpoint_sequential: {segments} segments for {len(functions)} functions; "
                         f"segments must be at most the number of functions")

    def run(part):
        def forward(x):
            for f in part:
                x = f(x)
            return x
        forward.parameters = lambda: [p for f in part if hasattr(f, "parameters") for p in f.parameters()]
        return forward

    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(run(functions[start:end]), input, use_reentrant=bool(use_reentrant),
                           preserve_rng_state=preserve)
    return run(functions[end:])(input)
