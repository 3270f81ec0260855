r"""Gradient checking by float64 central differences.

For a scalar :math:`E(\theta)`, each partial derivative is estimated by

.. math:: \frac{\partial E}{\partial\theta_k} \approx \frac{E(\theta+\epsilon e_k)-E(\theta-\epsilon e_k)}{2\epsilon},

whose error is :math:`O(\epsilon^2)`; with :math:`\epsilon=10^{-6}` in float64 the estimate agrees
with a correct analytic gradient to about :math:`10^{-9}` relative error. The comparison is

.. math:: \text{rel}(g, \hat g) = \frac{\lVert g-\hat g\rVert_2}{\lVert g\rVert_2+\lVert\hat g\rVert_2}.

For a recurrent layer the scalar is :math:`E = \sum_{t,b,k} u_{tbk}\,y_{tbk}(t) +
\sum_j\sum v_j\odot\text{state}_j(T)` with fixed random :math:`u, v`: its gradient with respect to
``y`` is ``u``, so ``layer.backward(u, cache, dstate=v)`` must return :math:`\partial E/\partial x`,
:math:`\partial E/\partial\theta` and :math:`\partial E/\partial\,\text{state}(0)`.
"""
from __future__ import annotations

import numpy as np

from . import backend

__all__ = ["gradcheck", "numerical_gradient", "relative_error", "GradcheckReport"]


def relative_error(analytic, numeric) -> float:
    """``‖a − n‖ / (‖a‖ + ‖n‖)`` on host float64 copies; 0 when both are exactly zero."""
    a = backend.to_numpy(analytic).astype(np.float64).ravel()
    n = backend.to_numpy(numeric).astype(np.float64).ravel()
    if a.shape != n.shape:
        raise ValueError(f"analytic gradient has {a.size} elements but numeric has {n.size}")
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0.0 else float(np.linalg.norm(a - n) / denom)


def numerical_gradient(f, a, eps=1e-6):
    """Central-difference gradient of the scalar ``f()`` with respect to array ``a``.

    ``a`` is perturbed in place, one element at a time, and restored; ``f`` must read it.
    Returns a host float64 array of ``a``'s shape.
    """
    if backend.to_numpy(a).dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {a.dtype}: "
                        "float32 rounding would swamp the differences")
    grad = np.zeros(a.shape)
    for idx in np.ndindex(*a.shape):
        old = float(a[idx])
        a[idx] = old + eps
        plus = float(f())
        a[idx] = old - eps
        minus = float(f())
        a[idx] = old
        grad[idx] = (plus - minus) / (2.0 * eps)
    return grad


class GradcheckReport(dict):
    """``{name: relative error}`` for ``x``, each parameter and each initial-state array."""

    @property
    def max_error(self) -> float:
        return max(self.values()) if self else 0.0

    @property
    def worst(self) -> str:
        return max(self, key=self.get)

    def __repr__(self):
        rows = "\n".join(f"  {k:<14s} {v:.2e}" for k, v in self.items())
        return f"GradcheckReport (relative errors; max {self.max_error:.2e} at {self.worst}):\n{rows}"


def gradcheck(layer, x, state=None, *, seed=0, eps=1e-6, wrt=("x", "params", "state")):
    """Check ``layer.backward`` against central differences; returns a :class:`GradcheckReport`.

    Parameters
    ----------
    layer : any object with ``params``, ``forward(x, state)`` and
        ``backward(dy, cache, dstate=..., return_dstate=True)`` — every recurrent layer of minilstm.
    x : ``(T, B, n_in)`` input; state : initial state tuple or None (zeros are then *checked too*,
        as the starting point of the state gradient).
    seed : for the random weights ``u``, ``v`` of the scalar E (see the module docstring).
    wrt : which gradients to check.

    A float32 layer gets its analytic gradient in float32 and its reference in a float64 copy
    (``layer.to(dtype="float64")``): expect relative errors near 1e-4–1e-6 then, not 1e-9.
    """
    xp = layer.xp
    if state is None:
        state = layer.init_state(x.shape[1])
    y, cache = layer.forward(x, state)
    rng = np.random.default_rng(seed)
    u = xp.asarray(rng.standard_normal(y.shape).astype(layer.dtype))
    v = tuple(xp.asarray(rng.standard_normal(s.shape).astype(layer.dtype)) for s in cache.state)
    dx, grads, dstate0 = layer.backward(u, cache, dstate=v, return_dstate=True)

    ref = layer if layer.dtype == np.float64 else layer.to(dtype="float64")
    x64 = xp.asarray(backend.to_numpy(x).astype(np.float64))
    s64 = tuple(xp.asarray(backend.to_numpy(s).astype(np.float64)) for s in state)
    u64 = u.astype(np.float64)
    v64 = tuple(a.astype(np.float64) for a in v)

    def energy():
        y_, c_ = ref.forward(x64, s64)
        e = float((u64 * y_).sum())
        return e + sum(float((a * b).sum()) for a, b in zip(v64, c_.state))

    report = GradcheckReport()
    if "x" in wrt:
        report["x"] = relative_error(dx, numerical_gradient(energy, x64, eps))
    if "params" in wrt:
        for k in layer.params:
            report[k] = relative_error(grads[k], numerical_gradient(energy, ref.params[k], eps))
    if "state" in wrt:
        for name, d, s in zip(layer.state_names, dstate0, s64):
            report[f"state0[{name}]"] = relative_error(d, numerical_gradient(energy, s, eps))
    return report
