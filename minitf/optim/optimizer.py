"""The optimizer base class (PyTorch's ``torch.optim.Optimizer``: param groups, state keyed
by the parameter, ``zero_grad``, ``step(closure)``, ``state_dict`` / ``load_state_dict``,
``add_param_group``) and the state helpers the optimizers share.

The state is torch's: ``opt.state[p]`` holds Tensors, the step count a 0-d host tensor.
``state_dict()`` snapshots the hyper-parameters and the per-parameter state as host copies;
``load_state_dict()`` restores them bit for bit, so a resumed run continues exactly as an
uninterrupted one.
"""
from __future__ import annotations

import warnings

import numpy as np

from collections import defaultdict

from .. import allocator, backend
from ..autograd import enable_grad, zero_grad_in_place
from ..tensor import Tensor
from . import multi_tensor
from .optimizer_hooks import OptimizerHookMethods, register_optimizer_step_post_hook, register_optimizer_step_pre_hook  # noqa: F401


def step_tensor(count: float = 0) -> Tensor:
    """A step count (or another per-parameter scalar: NAdam's ``mu_product``, ASGD's ``eta`` and
    ``mu``) as torch keeps it: a 0-d host tensor of the default float dtype (float32 unless
    changed; a count is exact up to 2**24 steps). The optimizers change its array in place."""
    from ..creation import get_default_dtype
    return Tensor._make(np.array(count, dtype=get_default_dtype()), None)


def check_betas(betas) -> tuple:
    """``betas`` as a tuple of two floats in [0, 1) (Adam's family), else a ValueError."""
    betas = tuple(float(b) for b in betas)
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"invalid betas {betas}: need two values in [0, 1)")
    return betas


def bump_step(state: dict) -> int:
    """Add one to ``state["step"]`` (a 0-d host tensor) in place; the new count as an int.
    An item read and write: a third of the cost of ``+= 1`` on a 0-d array (a ufunc call)."""
    count = state["step"].data
    t = int(count.item()) + 1
    count[()] = t
    return t


def zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state buffer of ``p``'s shape, dtype and device (moments, sums), as a Tensor."""
    xp = backend.get_array_module(p.data)
    return Tensor._make(xp.full_like(p.data, fill) if fill else xp.zeros_like(p.data), None)


def _host_array(v):
    """A saved buffer as a host array: a Tensor, an array of any device, or a torch tensor."""
    if isinstance(v, Tensor):
        v = v.data
    try:
        backend.device_of(v)
    except TypeError:   # not a minitf array: a torch tensor (detached and copied to the host first)
        if callable(getattr(v, "numpy", None)):
            v = v.detach().cpu().numpy() if hasattr(v, "detach") else v.numpy()
    return backend.to_numpy(v)


def _host_copy(v) -> Tensor:
    return Tensor._make(np.array(_host_array(v), copy=True), None)


def _scalar(v, k, idx) -> float:
    """A saved per-parameter scalar: a number or a 0-d tensor/array of one."""
    if hasattr(v, "shape"):
        host = _host_array(v)
        if host.shape != ():
            raise ValueError(f"optimizer state {k!r} of parameter {idx} must be a number, got shape {host.shape}")
        v = host.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, np.generic)):
        raise ValueError(f"optimizer state {k!r} of parameter {idx} must be a number, got {type(v).__name__}")
    return float(v)


def _count(v, k, idx) -> int:
    """A saved step count: an int, an integral float, or a 0-d tensor/array of one, >= 0."""
    if hasattr(v, "shape"):
        host = _host_array(v)
        v = host.item() if host.shape == () else v
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"optimizer state {k!r} of parameter {idx} must be an int >= 0, got {v!r}")
    return v


class Optimizer(OptimizerHookMethods):
    """Base class: parameter groups, ``zero_grad``, ``state_dict`` / ``load_state_dict``.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The tensors to optimise, or parameter groups: dicts with a ``"params"``
        list and any hyper-parameter overriding ``defaults`` for that group.
    defaults : dict
        Hyper-parameters of every group that does not set its own.
    """

    # the per-parameter state a subclass keeps: name -> "array" (the parameter's shape), "count"
    # (an int >= 0) or "scalar" (a number, kept as a 0-d host tensor); load_state_dict checks a restored state against it (None: no check)
    state_keys: dict | None = None
    # the entries of state_keys a state may lack (made when first needed, e.g. RMSprop's momentum_buffer)
    optional_state_keys: frozenset = frozenset()

    def __init__(self, params, defaults: dict):
        allocator.tune_host_allocator()  # once: reuse freed step buffers (see minitf/allocator.py)
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        # param -> its state, as torch's (a Tensor hashes by identity; its == is elementwise but a
        # dict never needs it: distinct live tensors have distinct hashes)
        self.state: defaultdict = defaultdict(dict)
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors or of dicts, got a single Tensor: "
                            "wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)
        if not any(g["params"] for g in self.param_groups):
            raise ValueError("optimizer got an empty parameter list")

    def add_param_group(self, group: dict) -> None:
        """Add a group (a dict with ``"params"`` and optional hyper-parameters). ``"params"`` may be
        tensors or (name, tensor) pairs (``model.named_parameters()``, as torch 2.13 takes): the
        names go to the group's ``"param_names"``."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with a 'params' key, got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        named = bool(params) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params)
        names = [n for n, _ in params] if named else None
        if named:
            params = [p for _, p in params]
        if self.param_groups and named != ("param_names" in self.param_groups[0]):
            raise ValueError("all optimizer param groups should be with/without names. cannot add param group "
                             f"{'with' if named else 'without'} names to the optimizer")
        unique, seen = [], set()
        for p in params:  # a tied weight listed twice is one parameter, updated once
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if p.data.dtype.kind != "f":
                raise TypeError(f"optimizer can only optimize floating-point tensors, got dtype {p.dtype}")
            if not p.is_leaf:
                raise ValueError("optimizer can only optimize leaf tensors (parameters), not results of ops")
            if id(p) not in seen:
                seen.add(id(p))
                unique.append(p)
        if len(unique) != len(params):   # torch's warning; minitf updates such a parameter once
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this "
                          "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=4)   # the line that built the optimizer
        if names is not None and len(unique) != len(names):  # a tied weight: its first name
            first = {}
            for n, p in zip(names, params):
                first.setdefault(id(p), n)
            names = [first[id(p)] for p in unique]
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & seen:
            raise ValueError("some parameters appear in more than one parameter group")
        new = dict(self.defaults)
        new.update({k: v for k, v in group.items() if k not in ("params", "param_names")})
        unknown = set(new) - set(self.defaults) - {"initial_lr", "name"}
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for {type(self).__name__}; "
                             f"expected some of {sorted(self.defaults)}")
        self._check_hyper(new)
        new["params"] = unique
        if names is not None:
            new["param_names"] = names
        self.param_groups.append(new)

    def _check_hyper(self, group: dict) -> None:
        if not group["lr"] >= 0.0:
            raise ValueError(f"invalid learning rate {group['lr']}: must be >= 0")
        if not group.get("weight_decay", 0.0) >= 0.0:
            raise ValueError(f"invalid weight_decay {group['weight_decay']}: must be >= 0")

    def __getstate__(self):
        # pickle and deepcopy leave out the flat buffers of the multi-tensor update (keyed by the
        # parameters' ids, meaningless in a copy, which rebuilds them on its first flat step)
        state = dict(self.__dict__)
        state.pop("_flat_states", None)
        return state

    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (``None``, or zeros in place)."""
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                zero_grad_in_place(p.grad)

    def step(self, closure=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _with_grad(self, init):
        """``(group, p, state, t)`` for each parameter with a gradient, group by group: its state made
        by ``init(p, group)`` the first time (or after an empty one was loaded), its step count
        bumped (``t``: the new count)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = init(p, group)
                yield group, p, state, bump_step(state)

    @staticmethod
    def _gradient(group: dict, p, decoupled: bool = False):
        """The direction of descent: g = -grad if the group's ``maximize`` else grad (the array), with
        its ``weight_decay``: L2 in g, or (``decoupled``) p <- p (1 - lr wd) in place."""
        g = -p.grad.data if group.get("maximize") else p.grad.data
        wd = group.get("weight_decay", 0)
        if wd != 0:
            if decoupled:
                p.data *= 1 - group["lr"] * wd
            else:
                g = g + wd * p.data
        return g

    @staticmethod
    def _evaluate(closure):
        """torch's closure protocol: ``closure()`` (which re-evaluates the loss and calls backward)
        runs with gradients enabled before the update; its loss is what ``step`` returns."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """A snapshot: ``{"state": {index: {name: Tensor | number}}, "param_groups": [...]}``.

        Parameters are named by their position across the groups (0, 1, ...),
        as PyTorch does; the state's tensors are host copies (torch's hold the
        tensors themselves), safe to keep while training goes on.
        """
        state, groups, index = {}, [], 0
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                s = self.state.get(p)
                if s:
                    state[index] = {k: (_host_copy(v) if hasattr(v, "shape") else v) for k, v in s.items()}
                ids.append(index)
                index += 1
            groups.append({**{k: (list(v) if isinstance(v, tuple) else v)
                              for k, v in g.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` snapshot (hyper-parameters and buffers).

        The groups must hold as many parameters as when it was taken, with
        the same shapes; buffers move to each parameter's device and dtype.
        Each parameter's state must have exactly the entries this optimizer
        keeps (Adam: ``step``, ``exp_avg``, ``exp_avg_sq``; those in
        ``optional_state_keys`` may be absent), buffers of the parameter's
        shape: anything else is a ValueError naming the parameter's index and
        the entry, raised before anything is changed. Buffers may be Tensors,
        arrays of any device, or torch tensors (anything with ``.numpy()``); a
        step count an int (minitf before 0.1's Tensor states), an integral
        float, or a 0-d tensor (torch's).
        """
        try:
            groups, state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError("not an optimizer state dict: expected keys 'state' and 'param_groups'") from None
        if len(groups) != len(self.param_groups):
            raise ValueError(f"optimizer state has {len(groups)} parameter group(s), "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"parameter group {i}: optimizer state has {len(saved['params'])} "
                                 f"parameters, this optimizer has {len(mine['params'])}")
        new_state = {}
        for saved, mine in zip(groups, self.param_groups):
            for idx, p in zip(saved["params"], mine["params"]):
                s = state.get(idx, state.get(str(idx)))
                if not s:
                    continue
                if not isinstance(s, dict):
                    raise ValueError(f"optimizer state of parameter {idx} is a {type(s).__name__}, not a dict")
                self._check_state_keys(idx, s)
                restored = {}
                for k, v in s.items():
                    kind = (self.state_keys or {}).get(k)
                    if kind in ("count", "scalar"):
                        restored[k] = step_tensor(_count(v, k, idx) if kind == "count" else _scalar(v, k, idx))
                        continue
                    if isinstance(v, np.generic):
                        v = v.item()
                    if kind == "array" and not hasattr(v, "shape"):
                        raise ValueError(f"optimizer state {k!r} of parameter {idx} must be an array of the "
                                         f"parameter's shape {p.shape}, got {type(v).__name__}")
                    if hasattr(v, "shape"):
                        host = _host_array(v)
                        want = self._state_shape(k, p)
                        if tuple(host.shape) != want:
                            raise ValueError(f"optimizer state {k!r} of parameter {idx} has shape "
                                             f"{tuple(host.shape)}, expected {want} (the parameter has shape "
                                             f"{p.shape})")
                        xp = backend.get_array_module(p.data)
                        arr = np.array(host, dtype=p.data.dtype, copy=True)
                        restored[k] = Tensor._make(arr if xp is np else xp.asarray(arr), None)
                    else:
                        restored[k] = v
                new_state[p] = restored
        for saved, mine in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    mine[k] = tuple(v) if isinstance(self.defaults.get(k), tuple) else v
        self.state = defaultdict(dict, new_state)
        multi_tensor.forget(self)   # flat buffers of the replaced state (optim/multi_tensor.py)

    @staticmethod
    def _state_shape(key: str, p) -> tuple:
        """The shape of state buffer ``key`` of parameter ``p``: ``p``'s own (Adafactor's factors differ)."""
        return tuple(p.shape)

    def _check_state_keys(self, idx, s: dict) -> None:
        if self.state_keys is None:
            return
        missing = [k for k in self.state_keys if k not in s and k not in self.optional_state_keys]
        unknown = [k for k in s if k not in self.state_keys]
        if missing or unknown:
            problems = ([f"lacks {', '.join(map(repr, missing))}"] if missing else []) + \
                       ([f"has unknown {', '.join(map(repr, unknown))}"] if unknown else [])
            raise ValueError(f"optimizer state of parameter {idx} {' and '.join(problems)} (a "
                             f"{type(self).__name__} state holds {', '.join(map(repr, self.state_keys))})")

    def __repr__(self):
        # torch's layout: each group's hyper-parameters (minitf's own set), sorted, one a line
        text = f"{type(self).__name__} ("
        for i, g in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n" + "".join(f"    {k}: {g[k]}\n" for k in sorted(g) if k != "params")
        return text + ")"
