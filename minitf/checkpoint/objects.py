"""``minitf.save`` / ``minitf.load``: any nesting of dicts, lists and tuples of tensors and scalars, without pickle."""
from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .. import backend
from ..tensor import Tensor
from .archive import CheckpointError, load, save

__all__ = ["save_object", "load_object", "resolve_map_location"]

_MAX_DEPTH = 64  # a crafted structure cannot recurse deeper than this


def save_object(obj, path) -> Path:
    """Save ``obj`` to ``path`` atomically, without pickle (``minitf.save``).

    ``obj`` is a state dict, an optimizer's ``state_dict()``, or any nesting
    of dicts (keys: str, int, float, bool or None), lists and tuples whose
    leaves are Tensors, NumPy/CuPy arrays, ints, floats, strings, bools or
    None. A tensor that appears twice is stored once and comes back as one
    object. An ``OrderedDict`` comes back as one, with its ``_metadata``
    attribute if it has one (what ``Module.state_dict()`` records: each
    module's ``{"version": ...}``, which ``load_state_dict`` hands to the
    modules' loaders), as torch.save keeps it. Anything else is a
    ``TypeError`` naming where it is.
    """
    arrays: dict = {}
    seen: dict = {}

    def enc(v, where, depth):
        if depth > _MAX_DEPTH:
            raise ValueError(f"cannot save {where}: nested more than {_MAX_DEPTH} levels deep")
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            return {"float": repr(v)} if not math.isfinite(v) else v
        if isinstance(v, np.generic):
            return enc(v.item(), where, depth)
        if isinstance(v, Tensor) or hasattr(v, "__array_interface__") or hasattr(v, "__cuda_array_interface__"):
            kind = "tensor" if isinstance(v, Tensor) else "array"
            if id(v) not in seen:
                seen[id(v)] = (f"obj/{len(seen)}", v)  # keeps v alive, so that its id stays its own
                arrays[seen[id(v)][0]] = v
            out = {kind: seen[id(v)][0]}
            if kind == "tensor" and v.requires_grad:
                out["requires_grad"] = True
            return out
        if isinstance(v, dict):
            items = []
            for k, x in v.items():
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(f"cannot save {where}: a key of type {type(k).__name__} ({k!r:.40}); "
                                    f"keys are str, int, float, bool or None")
                items.append([enc(k, where, depth + 1), enc(x, f"{where}[{k!r}]", depth + 1)])
            if not isinstance(v, OrderedDict):
                return {"dict": items}
            # (a second entry: a reader from before it loads the items as a plain dict)
            metadata = getattr(v, "_metadata", None)
            return {"dict": items, "ordered": True if metadata is None else enc(metadata, f"{where}._metadata",
                                                                                 depth + 1)}
        if isinstance(v, (list, tuple)):
            return {type(v).__name__: [enc(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(v)]}
        raise TypeError(f"cannot save {where}: a {type(v).__name__}; minitf.save stores dicts, lists and tuples "
                        f"of tensors, arrays, ints, floats, strings, bools and None")
    structure = enc(obj, "obj", 0)
    return save(path, arrays, {"object": structure})


def load_object(path, device: str | None = None, map_tensor=None):
    """Read what :func:`save_object` wrote (``minitf.load``); never unpickles.

    Tensors come back as minitf Tensors and arrays as arrays, on ``device``
    (``"cpu"``, ``"gpu"``, ``"fake"``) if given, else on the host; ``map_tensor(t)``, if given,
    is called with each tensor loaded and what it returns (a Tensor) takes its place. ``path``
    is a path or a binary file object. A file that is not such an object, or whose structure is
    damaged, raises :class:`CheckpointError` naming the problem.
    """
    if not hasattr(path, "read") or isinstance(path, (str, os.PathLike)):
        path = Path(path)
    arrays, meta = load(path)
    if not isinstance(path, Path):
        path = f"the {type(path).__name__}"
    if "object" not in meta:
        raise CheckpointError(f"{path} is a minitf checkpoint but holds no saved object (it was not written by "
                              f"minitf.save; a training checkpoint reads with checkpoint.load_training)")
    if device is not None:
        device = backend.check_device(device)
    made: dict = {}

    def bad(where, why):
        return CheckpointError(f"{path}: entry {where} {why}")

    def dec(v, where, depth):
        if depth > _MAX_DEPTH:
            raise bad(where, f"is nested more than {_MAX_DEPTH} levels deep")
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list) or not isinstance(v, dict) or len(v) not in (1, 2):
            raise bad(where, "is not a saved value")
        kind = next(iter(v))
        body = v[kind]
        if kind in ("tensor", "array"):
            if body not in arrays or set(v) - {kind, "requires_grad"}:
                raise bad(where, f"refers to a missing array ({str(body)[:40]!r})")
            if (kind, body) not in made:
                arr = arrays[body]
                if device not in (None, "cpu"):
                    arr = backend.to_device(arr, device)
                if kind == "tensor":
                    if arr.dtype.kind == "c":   # a complex tensor: from now on ops check their inputs
                        from ..complex_guard import arm
                        arm()
                    grad = v.get("requires_grad", False) is True and arr.dtype.kind in "fc"
                    arr = Tensor(arr, requires_grad=grad)
                    if map_tensor is not None:
                        arr = map_tensor(arr)
                made[(kind, body)] = arr
            return made[(kind, body)]
        if kind == "float" and isinstance(body, str) and body in ("nan", "inf", "-inf"):
            return float(body)
        if kind in ("list", "tuple") and isinstance(body, list):
            out = [dec(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(body)]
            return out if kind == "list" else tuple(out)
        if kind == "dict" and isinstance(body, list):
            ordered = v.get("ordered")
            out = {} if ordered is None else OrderedDict()
            for item in body:
                if not (isinstance(item, list) and len(item) == 2):
                    raise bad(where, "has a malformed dict item")
                k = dec(item[0], where, depth + 1)
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise bad(where, "has a key that is not a scalar")
                out[k] = dec(item[1], f"{where}[{k!r}]", depth + 1)
            if ordered is not None and ordered is not True:
                metadata = dec(ordered, f"{where}._metadata", depth + 1)
                if not isinstance(metadata, dict):
                    raise bad(where, "has a _metadata that is not a dict")
                out._metadata = metadata
            return out
        raise bad(where, f"has an unknown kind {kind[:20]!r}")
    return dec(meta["object"], "obj", 0)


def resolve_map_location(map_location, device, weights_only, mmap):
    """``minitf.load``'s torch arguments as ``(device, map_tensor)`` for :func:`load_object`.

    ``map_location``: a device for every tensor; a dict of saved location -> device, of which only
    a ``"cpu"`` key can apply (minitf saves every tensor from the host; "cuda:1" and the like name
    locations no minitf file has, so they are ignored, not refused); or a callable
    ``fn(tensor, "cpu")`` as torch's ``fn(storage, location)``, whose returned Tensor (None: the
    tensor as loaded) takes each tensor's place. ``weights_only`` changes nothing: nothing is
    ever unpickled. ``mmap=True`` is refused.
    """
    if mmap:
        raise ValueError("load: mmap=True is not supported (minitf's archives are read into memory)")
    if weights_only is not None and not isinstance(weights_only, (bool, int)):
        raise TypeError(f"load: weights_only must be a bool or None, got {type(weights_only).__name__}")
    map_tensor = None
    if map_location is not None:
        if device is not None:
            raise TypeError("load: give map_location or device, not both")
        if isinstance(map_location, dict):
            device = next((v for k, v in map_location.items()
                           if isinstance(k, str) and k.lower().partition(":")[0] == "cpu"), None)
        elif callable(map_location) and not isinstance(map_location, str):
            def map_tensor(t):
                out = map_location(t, "cpu")
                if out is None:
                    return t
                if not isinstance(out, Tensor):
                    raise TypeError(f"load: map_location returned {type(out).__name__}, not a Tensor or None")
                return out
        else:
            device = map_location
    return (None if device is None else backend.check_device(device)), map_tensor
