"""Training checkpoints: a model's and an optimizer's state dicts plus the run's metadata, checked on load."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .archive import CheckpointError, load, save

__all__ = ["TrainingCheckpoint", "save_training", "load_training"]


@dataclass
class TrainingCheckpoint:
    """What :func:`load_training` returns."""
    model_state: dict       # name -> np.ndarray
    optimizer_state: dict   # an Optimizer.state_dict() with NumPy arrays
    meta: dict              # everything else (iteration, RNG, config, vocabulary...)


def _jsonable(v):
    if hasattr(v, "shape") and tuple(v.shape) == ():
        # a 0-d state (the optimizers' step counts, 0-d Tensors as torch's): the number, an int
        # when it is one, so the metadata reads as minitf's checkpoints always have ("step": 5)
        v = v.item()
        return int(v) if isinstance(v, float) and v.is_integer() else v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return v


def save_training(path, model_state: dict, optimizer_state: dict, meta: dict) -> Path:
    """Save a model ``state_dict()``, an optimizer ``state_dict()`` and metadata, atomically."""
    arrays = {f"model/{k}": v for k, v in model_state.items()}
    scalars = {}
    for idx, s in optimizer_state["state"].items():
        for k, v in s.items():
            if hasattr(v, "shape") and not isinstance(v, np.generic) and tuple(v.shape) != ():
                arrays[f"optim/{idx}/{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = _jsonable(v)
    groups = [{k: _jsonable(v) for k, v in g.items()} for g in optimizer_state["param_groups"]]
    meta = {**meta, "model_keys": list(model_state.keys()),
            "optimizer": {"param_groups": groups, "scalars": scalars}}
    return save(path, arrays, meta)


def load_training(path) -> TrainingCheckpoint:
    """Read what :func:`save_training` wrote (see :func:`load` for the errors).

    The metadata entries every training checkpoint has (``model_keys``,
    ``iter``, ``elapsed_s``, the optimizer's groups and scalars) are checked
    for type and range here; a bad one is a :class:`CheckpointError` naming it.
    """
    arrays, meta = load(path)

    def bad(entry, why):
        return CheckpointError(f"checkpoint {path}: entry {entry!r} {why}")
    keys = meta.get("model_keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise bad("model_keys", "is missing or not a list of names: not a training checkpoint")
    missing = [k for k in keys if f"model/{k}" not in arrays]
    if missing:
        raise bad("model_keys", f"names arrays the archive lacks ({missing[:3]})")
    it = meta.get("iter")
    if not _is_int(it) or it < 0:
        raise bad("iter", f"must be an integer >= 0, got {_short(it)}")
    el = meta.get("elapsed_s", 0.0)
    if not _is_real(el) or not el >= 0:
        raise bad("elapsed_s", f"must be a number >= 0, got {_short(el)}")
    opt_meta = meta.get("optimizer")
    if not isinstance(opt_meta, dict) or not isinstance(opt_meta.get("param_groups"), list) \
            or not isinstance(opt_meta.get("scalars"), dict):
        raise bad("optimizer", "is missing or lacks 'param_groups' (a list) and 'scalars' (a mapping)")
    for i, g in enumerate(opt_meta["param_groups"]):
        if not isinstance(g, dict) or not isinstance(g.get("params"), list) or not all(map(_is_int, g["params"])):
            raise bad(f"optimizer.param_groups[{i}]", "must be a mapping with 'params', a list of integers")
        for k, v in g.items():
            ok = (k == "params" or (k == "name" and isinstance(v, str)) or isinstance(v, bool) or v is None
                  or (k == "param_names" and isinstance(v, list) and all(isinstance(n, str) for n in v))
                  or _finite(v) or (isinstance(v, list) and all(map(_finite, v))))
            if not ok:
                raise bad(f"optimizer.param_groups[{i}].{k}", f"must be a finite number, got {_short(v)}")
    state: dict = {}
    try:
        for idx, s in opt_meta["scalars"].items():
            if not isinstance(s, dict) or not all(_finite(v) for v in s.values()):
                raise bad(f"optimizer.scalars.{idx}", f"must map names to finite numbers, got {_short(s)}")
            state.setdefault(int(idx), {}).update(s)
        for name, arr in arrays.items():
            if name.startswith("optim/"):
                _, idx, key = name.split("/", 2)
                state.setdefault(int(idx), {})[key] = arr
    except ValueError:
        raise bad("optimizer", "has a state that is not indexed by parameter number") from None
    model_state = {k: arrays[f"model/{k}"] for k in keys}
    optimizer_state = {"state": state, "param_groups": opt_meta["param_groups"]}
    return TrainingCheckpoint(model_state, optimizer_state, meta)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v) -> bool:
    return _is_real(v) and math.isfinite(v)


def _short(v) -> str:
    """A value for an error message, cut short (a crafted entry can be huge)."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
