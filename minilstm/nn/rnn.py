r"""The Elman RNN (Elman 1990), the net whose error vanishes.

Notation (the book's): input :math:`x(t)\in\mathbb{R}^I`, hidden state :math:`h(t)\in\mathbb{R}^H`,

.. math::

    a(t) = W x(t) + R\,h(t-1) + b, \qquad h(t) = f(a(t)), \qquad h(0) = 0,

with :math:`f` = tanh or the logistic σ. Shapes: ``W (H, I)``, ``R (H, H)``, ``b (H,)``.

Backpropagation through time. Write :math:`\bar h(t) = \mathrm{d}E/\mathrm{d}h(t)` for the *total*
derivative (through every later step) and :math:`\partial E/\partial y(t)` for the error that the
loss puts on :math:`h(t)` directly. Then

.. math::

    \bar h(t) = \frac{\partial E}{\partial y(t)} + R^\top \delta(t+1), \qquad
    \delta(t) = \bar h(t) \odot f'(a(t)),

and :math:`\partial E/\partial W=\sum_t \delta(t)\,x(t)^\top`, :math:`\partial E/\partial R =
\sum_t \delta(t)\,h(t-1)^\top`, :math:`\partial E/\partial b=\sum_t\delta(t)`,
:math:`\partial E/\partial x(t) = W^\top\delta(t)` (row-vector code: ``delta @ W``).
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..functional import activation as activation_fn
from .recurrent import Recurrent, layer_args

__all__ = ["RNN"]


class RNN(Recurrent):
    r"""Elman RNN layer: ``h(t) = f(W x(t) + R h(t−1) + b)``; the output ``y(t)`` is ``h(t)``.

    Parameters
    ----------
    n_in, n_hidden : I and H.
    activation : ``"tanh"`` (default) or ``"sigmoid"`` (the logistic of the 1991/1997 analysis).
    init_scale : weights and biases drawn uniformly from [−init_scale, init_scale]
        (default :math:`1/\sqrt{H}`).
    seed : int or None, for the host random generator.
    dtype : ``"float64"`` or ``"float32"``; backend : ``"numpy"``, ``"cupy"``, ``"strict"`` or
        None (``MINILSTM_BACKEND``).

    ``params``: ``W (H, I)``, ``R (H, H)``, ``b (H,)``; state: ``(h,)`` with ``h (B, H)``.
    """

    state_names = ("h",)

    def __init__(self, n_in, n_hidden, activation="tanh", init_scale=None, seed=None,
                 dtype="float64", backend=None):
        if activation not in ("tanh", "sigmoid"):
            raise ValueError(f"activation={activation!r} is not supported by RNN; expected 'tanh' or 'sigmoid'")
        n_in, n_hidden, init_scale, dtype = layer_args(n_in=n_in, n_hidden=n_hidden,
                                                       init_scale=init_scale, seed=seed, dtype=dtype)
        xp = _backend.get_backend(backend)
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), int(n_hidden)
        self.state_sizes = (self.n_hidden,)
        self.activation = activation
        self._f, self._df = activation_fn(activation, "activation")
        scale = 1.0 / np.sqrt(n_hidden) if init_scale is None else float(init_scale)
        self.config = dict(n_in=self.n_in, n_hidden=self.n_hidden, activation=activation,
                           init_scale=init_scale, seed=seed, dtype=np.dtype(dtype).name,
                           backend=_backend.backend_name(xp))
        H, I = self.n_hidden, self.n_in
        self._allocate({"W": (H, I), "R": (H, H), "b": (H,)}, xp, dtype)
        self._init_uniform(seed, scale)

    # one step -------------------------------------------------------------------------------
    def step_forward(self, params, a_t, state):
        """One step: ``a_t`` = W x(t) + b ``(B, H)``, state ``(h(t−1),)`` → ``h(t)``, ``(h(t),)``, cache."""
        (h_prev,) = state                                   # (B, H)
        a = a_t + h_prev @ params["R"].T                    # (B, H) pre-activation a(t)
        h = self._f(a, out=a)
        return h, (h,), (h_prev, h)

    def step_backward(self, params, dy_t, dstate, cache_t):
        """δ(t) = (∂E/∂y(t) + R^T δ(t+1)) ⊙ f'(a(t)) ``(B, H)``, and R^T δ(t) for step t−1."""
        h_prev, h = cache_t
        (dh_next,) = dstate                                 # R^T δ(t+1), carried back
        delta = (dy_t + dh_next) * self._df(h)              # δ(t) = h̄(t) ⊙ f'(a(t))
        return delta, (delta @ params["R"],)

    # all steps at once ----------------------------------------------------------------------
    def _project(self, x):
        T, B, I = x.shape
        return (x.reshape(T * B, I) @ self.params["W"].T + self.params["b"]).reshape(T, B, -1)

    def _weight_grads(self, x, da, cache):
        T, B, I = x.shape
        xp, H = self.xp, self.n_hidden
        d2 = da.reshape(T * B, H)
        h_prev = xp.stack([c[0] for c in cache.steps]).reshape(T * B, H)
        grads = {"W": d2.T @ x.reshape(T * B, I), "R": d2.T @ h_prev, "b": d2.sum(axis=0)}
        return (d2 @ self.params["W"]).reshape(T, B, I), grads

