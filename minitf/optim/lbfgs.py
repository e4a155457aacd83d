"""L-BFGS (PyTorch's ``torch.optim.LBFGS``): a quasi-Newton method over all parameters as one
flat vector, with an optional strong-Wolfe line search.

Each ``step(closure)`` runs up to ``max_iter`` iterations (``max_eval`` evaluations of the
closure). An iteration builds the direction d = -H g from the gradient g and the last
``history_size`` pairs (s, y) = (the step taken, the change of gradient) by the two-loop
recursion, with the initial inverse Hessian scaled by (y . s) / (y . y) of the newest pair;
a pair is kept only when y . s > 1e-10 (curvature). The step length is ``lr`` (the first
iteration ever: min(1, 1 / |g|_1) * lr), moved along d as is or chosen by the strong-Wolfe
line search (``line_search_fn="strong_wolfe"``: sufficient decrease c1 = 1e-4, curvature
c2 = 0.9, cubic interpolation between bracketing points, at most ``max_eval`` evaluations
in all). The iterations stop when the largest |g| is at most ``tolerance_grad``, when the
step or the change of loss is under ``tolerance_change``, or d is not a descent direction.

The whole method works on flat backend arrays of the parameters' array module; the state
(torch's entries, kept for the first parameter as torch does) persists across steps.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import bump_version, enable_grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, _host_array


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    ``bounds`` (default: between x1 and x2); their midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length along ``d`` satisfying the strong Wolfe conditions (Nocedal & Wright,
    algorithms 3.5 and 3.6): bracket, then zoom by safeguarded cubic interpolation.
    ``evaluate(t) -> (loss, flat gradient)`` at x + t d. Returns (loss, grad, t, evaluations)."""
    d_norm = abs(d).max().item()
    f_new, g_new = evaluate(t)
    evals, it = 1, 0
    gtd_new = (g_new @ d).item()
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    while it < max_ls:  # bracketing: grow t until an interval holds a point that satisfies them
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            br, br_f, br_g, br_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            br, br_f, br_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            br, br_f, br_g, br_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = (g_new @ d).item()
        it += 1
    if it == max_ls:
        br, br_f, br_g = [0.0, t], [f, f_new], [g, g_new]
    insufficient = False
    low, high = (0, 1) if br_f[0] <= br_f[-1] else (1, 0)
    while not done and it < max_ls:  # zoom: shrink the bracket around a point satisfying them
        if abs(br[1] - br[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(br[0], br_f[0], br_gtd[0], br[1], br_f[1], br_gtd[1])
        # a trial too near an end makes little progress: twice in a row (or outside), move it
        # a tenth of the bracket inside
        eps = 0.1 * (max(br) - min(br))
        if min(max(br) - t, t - min(br)) < eps:
            if insufficient or t >= max(br) or t <= min(br):
                t = max(br) - eps if abs(t - max(br)) < abs(t - min(br)) else min(br) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = (g_new @ d).item()
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= br_f[low]:  # not low enough: the new high end
            br[high], br_f[high], br_g[high], br_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if br_f[0] <= br_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[high] - br[low]) >= 0:  # the old low end becomes the high one
                br[high], br_f[high], br_g[high], br_gtd[high] = br[low], br_f[low], br_g[low], br_gtd[low]
            br[low], br_f[low], br_g[low], br_gtd[low] = t, f_new, g_new, gtd_new
    return br_f[low], br_g[low], br[low], evals


class LBFGS(Optimizer):
    """L-BFGS, as ``torch.optim.LBFGS`` (see the module docstring for the method).

    Parameters
    ----------
    params : iterable of Tensor
        One group only (L-BFGS treats all parameters as one vector), on one device.
    lr : float
        Step length (1).
    max_iter : int
        Iterations per ``step`` (20).
    max_eval : int, optional
        Closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad, tolerance_change : float
        Stop when max |grad| <= tolerance_grad (1e-7), or when the step or the change of loss
        is under tolerance_change (1e-9).
    history_size : int
        (s, y) pairs kept (100).
    line_search_fn : None or "strong_wolfe"
    """

    state_keys = None  # one global state (flat vectors and lists): checked by load_state_dict below

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval=None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100, line_search_fn=None):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._plist = self.param_groups[0]["params"]

    def add_param_group(self, group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(group)

    # ------------------------------------------------------------ the flat vector
    def _xp(self):
        return backend.get_array_module(self._plist[0].data)

    def _flat_grad(self):
        xp = self._xp()
        return xp.concatenate([xp.zeros(p.data.size, p.data.dtype) if p._grad is None else p._grad.data.reshape(-1)
                               for p in self._plist])

    def _add(self, t: float, d) -> None:
        """x <- x + t d, in place (each parameter's version bumped, as any optimizer's update)."""
        offset = 0
        for p in self._plist:
            n = p.data.size
            p.data += t * d[offset:offset + n].reshape(p.data.shape)
            bump_version(p)
            offset += n

    def _set(self, saved) -> None:
        for p, a in zip(self._plist, saved):
            p.data[...] = a
            bump_version(p)

    def _loss(self, closure) -> float:
        with enable_grad():
            out = closure()
        return out, float(out.item() if isinstance(out, Tensor) else out)

    def step(self, closure):
        """Up to ``max_iter`` L-BFGS iterations. ``closure()`` (required) re-evaluates the loss
        with gradients (zero_grad, forward, backward) and returns it; called with gradients
        enabled, several times. Returns the loss of the first evaluation."""
        if not callable(closure):
            raise TypeError("LBFGS.step() needs a closure: a function that zeroes the gradients, "
                            "recomputes the loss, calls backward() and returns the loss")
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search, history = group["line_search_fn"], group["history_size"]
        state = self.state[self._plist[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, loss = self._loss(closure)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if abs(g).max().item() <= tol_grad:
            return orig_loss

        arr = lambda k: None if state.get(k) is None else state[k].data  # noqa: E731
        d, t, prev_g, prev_loss = arr("d"), state.get("t"), arr("prev_flat_grad"), state.get("prev_loss")
        dirs = [y.data for y in state.get("old_dirs", [])]
        steps = [s.data for s in state.get("old_stps", [])]
        ro, h_diag = list(state.get("ro", [])), state.get("H_diag", 1.0)
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, dirs, steps, ro, h_diag = -g, [], [], [], 1.0
            else:
                y, s = g - prev_g, d * t
                ys = (y @ s).item()
                if ys > 1e-10:  # curvature condition: only such pairs keep H positive definite
                    if len(dirs) == history:
                        dirs.pop(0), steps.pop(0), ro.pop(0)
                    dirs.append(y)
                    steps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / (y @ y).item()
                # the two-loop recursion: d = -H g
                al = [0.0] * len(dirs)
                q = -g
                for i in range(len(dirs) - 1, -1, -1):
                    al[i] = (steps[i] @ q).item() * ro[i]
                    q = q - al[i] * dirs[i]
                d = q * h_diag
                for i in range(len(dirs)):
                    be = (dirs[i] @ d).item() * ro[i]
                    d = d + (al[i] - be) * steps[i]
            prev_g = g.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / abs(g).sum().item()) * lr if state["n_iter"] == 1 else lr
            gtd = (g @ d).item()
            if gtd > -tol_change:  # not a descent direction (any more)
                break
            used = 0
            if line_search is not None:
                x0 = [p.data.copy() for p in self._plist]

                def evaluate(step_len):
                    self._add(step_len, d)
                    f = self._loss(closure)[1]
                    fg = self._flat_grad()
                    self._set(x0)
                    return f, fg

                loss, g, t, used = _strong_wolfe(evaluate, t, d, loss, g, gtd, max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = abs(g).max().item() <= tol_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss would go unused: not evaluated
                    loss = self._loss(closure)[1]
                    g = self._flat_grad()
                    opt_cond = abs(g).max().item() <= tol_grad
                    used = 1
            evals += used
            state["func_evals"] += used
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if abs(d * t).max().item() <= tol_change or abs(loss - prev_loss) < tol_change:
                break  # no progress
        wrap = lambda a: Tensor._make(a, None)  # noqa: E731
        state.update(d=wrap(d), t=float(t), old_dirs=[wrap(a) for a in dirs], old_stps=[wrap(a) for a in steps],
                     ro=ro, H_diag=float(h_diag), prev_flat_grad=wrap(prev_g), prev_loss=prev_loss)
        return orig_loss

    # ------------------------------------------------------------ state dicts
    _VECTORS = ("d", "prev_flat_grad")
    _LISTS = ("old_dirs", "old_stps")
    _NUMBERS = ("t", "H_diag", "prev_loss")
    _COUNTS = ("func_evals", "n_iter")

    def state_dict(self) -> dict:
        """torch's layout: the state of parameter 0 holds the counts, the flat vectors (host
        copies) and the history lists."""
        sd = super().state_dict()
        s = sd["state"].get(0)
        if s:
            copy = lambda v: Tensor._make(np.array(_host_array(v), copy=True), None)  # noqa: E731
            for k in self._LISTS:
                if k in s:
                    s[k] = [copy(v) for v in s[k]]
            s["ro"] = list(s.get("ro", []))
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` (minitf's or torch's LBFGS): one group of as many
        parameters; vectors of the parameters' total size go to their device and dtype."""
        try:
            groups, state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError("not an optimizer state dict: expected keys 'state' and 'param_groups'") from None
        if len(groups) != 1 or len(groups[0]["params"]) != len(self._plist):
            raise ValueError(f"LBFGS state has {len(groups)} group(s) of "
                             f"{[len(g['params']) for g in groups]} parameters, this optimizer has one of "
                             f"{len(self._plist)}")
        p0, n = self._plist[0], sum(p.data.size for p in self._plist)
        s = state.get(groups[0]["params"][0], state.get(str(groups[0]["params"][0])))
        restored = {}
        xp = self._xp()

        def vector(v, k):
            host = np.asarray(_host_array(v)).reshape(-1)
            if host.size != n:
                raise ValueError(f"LBFGS state {k!r} has {host.size} elements, the parameters have {n}")
            a = np.array(host, dtype=p0.data.dtype, copy=True)
            return Tensor._make(a if xp is np else xp.asarray(a), None)

        scalar = lambda v: float(np.asarray(_host_array(v)).item()) if hasattr(v, "shape") else float(v)  # noqa: E731
        for k, v in (s or {}).items():
            if k in self._COUNTS:
                restored[k] = int(scalar(v))
            elif k in self._VECTORS:
                restored[k] = None if v is None else vector(v, k)
            elif k in self._LISTS:
                restored[k] = [vector(a, k) for a in v]
            elif k == "ro":
                restored[k] = [scalar(a) for a in v]
            elif k in self._NUMBERS:
                restored[k] = None if v is None else scalar(v)
            elif k != "al":  # torch's scratch buffer of the two-loop recursion: rebuilt each step
                raise ValueError(f"LBFGS state has unknown entry {k!r}")
        if (len(restored.get("old_dirs", [])) != len(restored.get("old_stps", []))
                or len(restored.get("old_dirs", [])) != len(restored.get("ro", []))):
            raise ValueError("LBFGS state: old_dirs, old_stps and ro must have one entry per kept pair")
        for k, v in groups[0].items():
            if k != "params":
                self.param_groups[0][k] = v
        self.state.clear()
        if restored:
            self.state[p0] = restored
