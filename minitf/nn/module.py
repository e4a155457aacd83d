"""Module and Parameter: the containers that layers and models are built from.

A :class:`Module` registers every :class:`Parameter` and sub-module assigned
to one of its attributes, in assignment order, so that

    model.named_parameters()   ->  ("transformer.h.0.attn.c_attn.weight", p), ...
    model.state_dict()         ->  {name: tensor}  (detached, sharing data)
    model.load_state_dict(sd)  ->  copies into the existing parameters

work with PyTorch's names and conventions. The values also stay plain
attributes (``self.weight``), so a forward pass pays no lookup overhead.

A parameter shared by two modules (tied weights) is one object: it appears
under both names in :meth:`Module.state_dict` but once in
:meth:`Module.parameters` and :meth:`Module.num_parameters`.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from .. import allocator as _allocator
from .. import backend
from ..autograd import zero_grad_in_place
from ..tensor import Tensor, _check_dtype


class Parameter(Tensor):
    """A Tensor that a Module owns as a learnable weight (requires grad by default).

    ``Parameter(data)`` takes a Tensor (its data is shared, not copied) or a
    backend array; the data must be floating point.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data.data
        elif not hasattr(data, "dtype") or isinstance(data, np.generic):
            data = np.asarray(data, dtype=np.float32)
        if data.dtype.kind != "f":
            raise TypeError(f"Parameter: data must be floating point, got dtype {data.dtype}")
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(RuntimeError):
    """load_state_dict() found missing, unexpected or mis-shaped keys (all listed)."""


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _as_array(value, name: str):
    """A state-dict value as an array minitf can copy from: a device array as it is, else host NumPy.

    Foreign tensors are duck-typed, never imported: ``.detach()``, ``.cpu()``
    and ``.numpy()`` as PyTorch has them (a dtype NumPy lacks, e.g. bfloat16,
    is widened with ``.float()`` first), else ``__array__`` or a sequence.
    """
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.generic):
        return np.asarray(value)
    try:
        backend.device_of(value)      # NumPy, CuPy or the fake device: moved later, on copy
        return value
    except TypeError:
        pass
    try:
        if callable(getattr(value, "numpy", None)):
            v = value
            for step in ("detach", "cpu"):
                if callable(getattr(v, step, None)):
                    v = getattr(v, step)()
            try:
                return np.asarray(v.numpy())
            except TypeError:          # torch: "Got unsupported ScalarType BFloat16"
                if callable(getattr(v, "float", None)):
                    return np.asarray(v.float().numpy())
                raise
        return np.asarray(value)
    except Exception as e:
        raise TypeError(f"state_dict value {name!r} of type {type(value).__name__} cannot be read as an "
                        f"array ({type(e).__name__}: {e})") from None


def _grad_array(p):
    """The backend array of ``p.grad`` (or None), whether ``.grad`` holds an array or a Tensor."""
    g = p.grad
    return g.data if isinstance(g, Tensor) else g


def _set_grad_array(p, a) -> None:
    """Replace the gradient's values by array ``a``, keeping a Tensor ``.grad`` the same object."""
    if isinstance(p.grad, Tensor):
        p.grad.data = a
    else:
        p.grad = a


def _is_dtype(x) -> bool:
    """Whether ``x`` names a dtype rather than a device (``Module.to``'s first argument may be either)."""
    try:
        backend.check_device(x)
        return False
    except backend.DeviceError:
        pass
    try:
        _check_dtype(x)
    except TypeError:
        return False
    return True


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign parameters and
    sub-modules as attributes, and define ``forward``; ``module(x)`` calls it.
    """

    def __init__(self):
        _allocator.tune_host_allocator()  # once: reuse freed activation buffers (minitf/allocator.py)
        d = self.__dict__
        d["_parameters"] = OrderedDict()   # name -> Parameter or None (e.g. bias=False)
        d["_modules"] = OrderedDict()      # name -> Module
        d["training"] = True

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = d["_parameters"], d["_modules"]
        if isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} of "
                                f"{type(self).__name__}: wrap it in nn.Parameter (or assign None)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to sub-module {name!r} of "
                                f"{type(self).__name__} (a Module or None is expected)")
            del modules[name]
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared-but-absent parameter) under ``name``."""
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = ""):
        """Yield (dotted name, module) for this module and every descendant, each once."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _all_named_parameters(self):
        """Every (dotted name, Parameter), tied parameters under each of their names."""
        for mname, m in self._named_modules_all():
            for pname, p in m._parameters.items():
                if p is not None:
                    yield (f"{mname}.{pname}" if mname else pname), p

    def _named_modules_all(self, prefix=""):
        """Like named_modules, but a shared sub-module is visited under every name."""
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def named_parameters(self, prefix: str = ""):
        """Yield (dotted name, Parameter); a tied parameter only under its first name."""
        seen = set()
        for name, p in self._all_named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self):
        """Every distinct Parameter, in registration order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        """Number of scalars in distinct parameters.

        ``exclude_embeddings=True`` leaves out every parameter owned by an
        :class:`~minitf.nn.Embedding` (and so any weight tied to one), as
        Kaplan et al. count "non-embedding" parameters.
        """
        skip = set()
        if exclude_embeddings:
            from .embedding import Embedding
            skip = {id(p) for m in self.modules() if isinstance(m, Embedding) for p in m._parameters.values()}
        return int(sum(p.numel() for p in self.parameters() if id(p) not in skip))

    # ------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active) for this module and all descendants."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: drop it (None, the default as in PyTorch 2.x), or with
        ``set_to_none=False`` fill it with zeros in place (a gradient that is None stays None)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                zero_grad_in_place(p.grad)

    def requires_grad_(self, flag: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every descendant (children first) and on self."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    def to(self, device=None, dtype=None) -> "Module":
        """Move / cast every parameter (and its grad) in place; tied weights stay tied.

        As PyTorch's: ``to("fake")``, ``to(dtype="float64")``, ``to("float64")``
        (a dtype in the first place), ``to("cpu", "float64")``. The Parameter
        objects stay the same, so an optimizer built before sees the change.
        """
        if device is not None and dtype is None and _is_dtype(device):
            device, dtype = None, device
        device = backend.check_device(device) if device is not None else None
        dtype = _check_dtype(dtype) if dtype is not None else None
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to: parameters must stay floating point, got dtype {dtype}")

        def convert(a):
            if device is not None:
                a = backend.to_device(a, device)
            return a.astype(dtype) if dtype is not None and a.dtype != dtype else a

        for p in self.parameters():
            p.data = convert(p.data)
            g = _grad_array(p)
            if g is not None:
                _set_grad_array(p, convert(g))
        return self

    def double(self) -> "Module":
        """Cast every parameter (and gradient) to float64 in place: ``to(dtype="float64")``."""
        return self.to(dtype="float64")

    def float(self) -> "Module":
        """Cast every parameter (and gradient) to float32 in place: ``to(dtype="float32")``."""
        return self.to(dtype="float32")

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> "OrderedDict[str, Tensor]":
        """Ordered name -> Tensor, detached and sharing data with the parameters.

        A tied parameter appears under each of its names.
        """
        return OrderedDict((name, p.detach()) for name, p in self._all_named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the existing parameters.

        A value may be a Tensor, an array of any minitf device, or any
        array-like: an object with a ``.numpy()`` method (a PyTorch tensor, on
        any device: it is detached and copied to the host first, without minitf
        importing torch) or ``__array__``, or nested lists.
        Values are moved to each parameter's device and cast to its dtype;
        parameters keep their identity (optimizers holding them see the new
        values). Everything is checked before anything is copied: with
        ``strict=True`` missing or unexpected keys raise :class:`StateDictError`
        listing all of them; a shape mismatch always raises. Returns the
        (missing_keys, unexpected_keys) found.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of parameter names to tensors (such as "
                            f"model.state_dict()), got {type(state_dict).__name__}")
        own = OrderedDict(self._all_named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        values, misshaped, not_numbers = {}, [], []
        for k, p in own.items():
            if k not in state_dict:
                continue
            a = _as_array(state_dict[k], k)
            if tuple(a.shape) != p.shape:
                misshaped.append(f"{k}: got shape {tuple(a.shape)}, the model has shape {p.shape}")
            elif a.dtype.kind not in "biuf":
                not_numbers.append(f"{k} (dtype {a.dtype})")
            values[k] = a
        problems = []
        if strict and missing:
            problems.append("missing key(s): " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected key(s): " + ", ".join(unexpected))
        if misshaped:
            problems.append("size mismatch for " + "; ".join(misshaped))
        if not_numbers:
            problems.append("not numeric: " + ", ".join(not_numbers))
        if strict and any(k.startswith("_orig_mod.") for k in unexpected):
            problems.append("(keys starting with '_orig_mod.' come from a torch.compile'd model: remove the "
                            "prefix; GPT.load_nanogpt_state_dict does so for nanoGPT checkpoints)")
        if not problems:
            problems = self._check_tied(own, values)
        if problems:
            raise StateDictError(f"error(s) in loading state_dict for {type(self).__name__}:\n  "
                                 + "\n  ".join(problems))
        for k, a in values.items():
            p = own[k]
            a = backend.to_device(a, p.device)
            p.data[...] = a if a.dtype == p.dtype else a.astype(p.dtype)
        return IncompatibleKeys(missing, unexpected)

    @staticmethod
    def _check_tied(own, values):
        """Two names of one tied parameter must not be given different values."""
        first = {}
        for k, a in values.items():
            pid = id(own[k])
            if pid in first:
                k0 = first[pid]
                if not np.array_equal(backend.to_numpy(values[k0]), backend.to_numpy(a)):
                    return [f"tied parameters {k0} and {k} are one parameter but were given different values"]
            else:
                first[pid] = k
        return []

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n  " + "\n  ".join(lines) + "\n)" if lines else ")")


# the containers live in container.py (a concept of their own); still importable from here
from .container import ModuleList, ModuleDict  # noqa: E402,F401
