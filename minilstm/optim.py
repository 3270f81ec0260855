r"""Optimisers and gradient checks.

Each optimiser holds a reference to a model's ``params`` dict (name → array) and updates those
arrays **in place**, so a parameter that is a view into a fused buffer stays a view of it. A step
takes a ``grads`` dict with exactly the keys of ``params`` (what every layer's ``backward``
returns). Notation: θ a parameter, g its gradient, η the learning rate (``lr``, which may be
changed between steps).

* :class:`SGD`:       θ ← θ − η g
* :class:`Momentum`:  v ← μ v + g;  θ ← θ − η v   (Nesterov: θ ← θ − η (g + μ v) with the new v)
* :class:`Adam`:      m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);
  θ ← θ − η m̂ / (√v̂ + ε)   (Kingma & Ba 2015, Algorithm 1)

``state_dict()`` gives the hyper-parameters and step count as JSON-able scalars and the moment
buffers as copies of the arrays, which :mod:`minilstm.io` can save; ``load_state_dict`` restores
them into the existing buffers.

:func:`clip_grad_norm` rescales all gradients together when their global norm exceeds a bound
(Pascanu, Mikolov & Bengio 2013); :func:`check_finite_grads` stops training at the first NaN/inf
and names the parameter.
"""
from __future__ import annotations

import math

from .backend import get_array_module, to_numpy
from .validate import check_bool, check_number, check_same_backend

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "clip_grad_norm", "global_norm",
           "check_finite_grads"]


class Optimizer:
    r"""The common part: the params reference, ``lr``, checks of ``grads``, state (de)serialisation.

    Every optimiser here updates each parameter in place, :math:`\theta \leftarrow \theta -
    \eta\,d(g)`, with a step direction :math:`d` of the gradient history (:math:`d(g) = g` for
    :class:`SGD`). ``params`` and ``grads``: dicts name → array, each gradient of its parameter's
    shape (e.g. ``W_z (H, I)``, ``b_i (nb,)``); the per-parameter buffers have that shape too.

    Subclasses name their per-parameter buffers in ``_buffers`` (e.g. ``("m", "v")``) and their
    scalar hyper-parameters in ``_scalars``, and implement ``_update(p, g, bufs)``.
    """

    _buffers: tuple = ()
    _scalars: tuple = ("lr",)

    def __init__(self, params, lr):
        if not isinstance(params, dict) or not params:
            raise TypeError(f"params must be a non-empty dict name -> array, got {params!r:.80}")
        for name, p in params.items():
            if not hasattr(p, "dtype") or p.dtype.kind != "f":
                raise TypeError(f"params[{name!r}] must be a float array, got "
                                f"{getattr(p, 'dtype', type(p).__name__)}")
        check_same_backend(**{f"params[{k!r}]": v for k, v in params.items()})
        self.params = params                 # the model's dict itself, not a copy
        self.lr = lr
        self.t = 0                           # number of steps taken
        xp = get_array_module(*params.values())
        self.state = {b: {name: xp.zeros_like(p) for name, p in params.items()}
                      for b in self._buffers}

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_number("lr", value, above=0)

    def step(self, grads):
        """Update every parameter in place from ``grads`` (same keys, shapes and backend)."""
        self._check_grads(grads)
        self.t += 1
        for name, p in self.params.items():
            self._update(p, grads[name], {b: self.state[b][name] for b in self._buffers})

    def _update(self, p, g, bufs):
        raise NotImplementedError

    def _check_grads(self, grads):
        if not isinstance(grads, dict):
            raise TypeError(f"grads must be a dict name -> array, got {type(grads).__name__}")
        if grads.keys() != self.params.keys():
            missing = sorted(set(self.params) - set(grads))
            extra = sorted(set(grads) - set(self.params))
            raise ValueError(f"grads must have exactly the keys of params; missing {missing}, "
                             f"unexpected {extra}")
        for name, p in self.params.items():
            g = grads[name]
            if not hasattr(g, "shape"):
                raise TypeError(f"grads[{name!r}] must be an array, got {type(g).__name__}")
            if tuple(g.shape) != tuple(p.shape):
                raise ValueError(f"grads[{name!r}] must have the shape of params[{name!r}] "
                                 f"{tuple(p.shape)}, got {tuple(g.shape)}")
            check_same_backend(**{f"params[{name!r}]": p, f"grads[{name!r}]": g})

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"type", "t", <hyper-parameters>, <buffer name>: {param name: array copy}}``.

        Only arrays and JSON-able scalars (numbers, bools, lists of numbers, strings).
        """
        state = {"type": type(self).__name__, "t": self.t}
        for s in self._scalars:
            value = getattr(self, s)
            state[s] = list(value) if isinstance(value, tuple) else value
        for b in self._buffers:
            state[b] = {name: a.copy() for name, a in self.state[b].items()}
        return state

    def load_state_dict(self, state: dict):
        """Restore what :meth:`state_dict` gave: hyper-parameters, step count, and the buffers
        (copied into the existing arrays, moved to the parameters' backend if needed)."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict, got {type(state).__name__}")
        kind = state.get("type")
        if kind != type(self).__name__:
            raise ValueError(f"state is for optimizer {kind!r}, not {type(self).__name__!r}")
        missing = [k for k in ("t",) + self._scalars + self._buffers if k not in state]
        if missing:
            raise ValueError(f"state for {kind} lacks the entries {missing}")
        for b in self._buffers:
            saved, own = state[b], self.state[b]
            if not isinstance(saved, dict) or saved.keys() != own.keys():
                found = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
                raise ValueError(f"state[{b!r}] must hold the parameters {sorted(own)}, got {found}")
            for name, a in saved.items():
                if tuple(a.shape) != tuple(own[name].shape):
                    raise ValueError(f"state[{b!r}][{name!r}] has shape {tuple(a.shape)}, "
                                     f"the parameter has {tuple(own[name].shape)}")
        xp = get_array_module(*self.params.values())
        for b in self._buffers:
            for name, a in state[b].items():
                if get_array_module(a) is not xp:
                    a = xp.asarray(to_numpy(a))
                self.state[b][name][...] = a
        for s in self._scalars:
            value = state[s]
            setattr(self, s, tuple(value) if isinstance(value, list) else value)
        self.t = int(state["t"])


class SGD(Optimizer):
    """Plain gradient descent: θ ← θ − η g, with g of the shape of θ (any, e.g. ``R_z (H, U)``)."""

    def __init__(self, params, lr):
        super().__init__(params, lr)

    def _update(self, p, g, bufs):
        p -= self.lr * g


class Momentum(Optimizer):
    """Gradient descent with momentum μ (``momentum``):

    v ← μ v + g;  θ ← θ − η v.   With ``nesterov=True``: θ ← θ − η (g + μ v), v the new velocity.

    (The form of Sutskever et al. 2013 / PyTorch: the velocity is kept in gradient units, so a
    change of η between steps acts at once.) The velocity v has the shape of its parameter θ.
    """

    _buffers = ("velocity",)
    _scalars = ("lr", "momentum", "nesterov")

    def __init__(self, params, lr, momentum=0.9, nesterov=False):
        self.momentum = check_number("momentum", momentum, minimum=0, below=1)
        self.nesterov = check_bool("nesterov", nesterov)
        super().__init__(params, lr)

    def _update(self, p, g, bufs):
        v = bufs["velocity"]
        v *= self.momentum
        v += g
        if self.nesterov:
            p -= self.lr * (g + self.momentum * v)
        else:
            p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): with t the step count (1 at the first step),

    m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;
    θ ← θ − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε),

    elementwise (g² = g ⊙ g); the moments m and v have the shape of their parameter θ.
    """

    _buffers = ("m", "v")
    _scalars = ("lr", "betas", "eps")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), each in [0, 1), got {betas!r}")
        self.betas = tuple(check_number(f"betas[{k}]", b, minimum=0, below=1)
                           for k, b in enumerate(betas))
        self.eps = check_number("eps", eps, above=0)
        super().__init__(params, lr)

    def _update(self, p, g, bufs):
        xp = get_array_module(p)
        b1, b2 = self.betas
        m, v = bufs["m"], bufs["v"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        denom = xp.sqrt(v / (1.0 - b2 ** self.t))            # √v̂
        denom += self.eps
        p -= (self.lr / (1.0 - b1 ** self.t)) * m / denom    # η m̂ / (√v̂ + ε)


# ---- gradient checks ---------------------------------------------------------------------------
def check_finite_grads(grads):
    """Raise ``FloatingPointError`` naming every gradient that holds NaN or ±inf; else return None."""
    bad = []
    for name, g in grads.items():
        xp = get_array_module(g)
        if not bool(xp.isfinite(g).all()):
            n_nan = int(xp.isnan(g).sum())
            n_inf = int(xp.isinf(g).sum())
            bad.append(f"{name!r} (shape {tuple(g.shape)}: {n_nan} NaN, {n_inf} inf)")
    if bad:
        raise FloatingPointError("non-finite gradient for parameter " + ", ".join(bad))


def global_norm(grads):
    r"""The global gradient norm :math:`\|g\| = \sqrt{\sum_{\text{arrays}}\sum g^2}` as a 0-d
    float64 array (shape ``()``) on the gradients' backend (nothing is read from the device);
    ``grads``: dict name → array, any shapes.

    Each array's sum of squares is taken in its own dtype, then the sums are added in float64 in
    the order of ``grads``. NaN or inf in any gradient makes the norm NaN or inf.
    """
    xp = get_array_module(*grads.values())
    total = None
    for g in grads.values():
        sq = xp.sum(g * g).astype(xp.float64)
        total = sq if total is None else total + sq
    return xp.sqrt(total)


def clip_grad_norm(grads, max_norm, *, as_array=False):
    r"""Global-norm clipping: with :math:`\|g\|` from :func:`global_norm`, if
    :math:`\|g\| > v` (``max_norm``) every gradient is scaled in place, :math:`g \leftarrow v\,g/\|g\|`.

    ``grads``: dict name → array of any shapes (all arrays on one backend), scaled in place.
    Returns the norm *before* clipping as a Python float. Raises ``FloatingPointError`` (naming
    the parameter) when a gradient is not finite, since no rescaling can repair that.

    ``as_array=True``: the norm is returned as a 0-d float64 array and nothing is read from the
    device (the training loops' way): the scale :math:`v/\max(\|g\|, v)` is applied on the
    device (exactly 1 when no clipping is needed, and when the norm is NaN), and a non-finite
    gradient is not refused here but left for the caller's guard to find in the norm.
    """
    check_number("max_norm", max_norm, above=0)
    if not isinstance(grads, dict) or not grads:
        raise TypeError(f"grads must be a non-empty dict name -> array, got {grads!r:.80}")
    check_same_backend(**{f"grads[{k!r}]": v for k, v in grads.items()})
    total = global_norm(grads)
    if as_array:
        xp = get_array_module(*grads.values())
        scale = max_norm / xp.fmax(total, max_norm)
        for g in grads.values():
            g *= scale.astype(g.dtype)
        return total
    total = float(total)
    if not math.isfinite(total):
        check_finite_grads(grads)
        raise FloatingPointError(f"the global gradient norm overflowed ({total}) although every "
                                 "gradient is finite")
    if total > max_norm:
        scale = max_norm / total
        for g in grads.values():
            g *= scale
    return total
