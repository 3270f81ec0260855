r"""The gated recurrent unit (GRU) of Cho et al. (2014).

Notation (the book's). Input :math:`x(t)\in\mathbb{R}^I`, hidden state :math:`h(t)\in\mathbb{R}^H`,
:math:`h(0)` given (zeros by default), σ the logistic:

.. math::

    r(t) &= \sigma\big(W_r x(t) + R_r h(t-1) + b_r\big)                 &&\text{reset gate}\\
    u(t) &= \sigma\big(W_u x(t) + R_u h(t-1) + b_u\big)                 &&\text{update gate}\\
    \tilde h(t) &= \tanh\big(W_h x(t) + R_h\,(r(t)\odot h(t-1)) + b_h\big) &&\text{candidate}\\
    h(t) &= u(t)\odot h(t-1) + (1-u(t))\odot\tilde h(t).

The output :math:`y(t)` is :math:`h(t)`. Shapes: ``W_r W_u W_h (H, I)``, ``R_r R_u R_h (H, H)``,
``b_r b_u b_h (H,)``; in code a batch is row vectors, ``x(t) (B, I)``, ``h (B, H)``.

**Concordance.** Cho et al. write the update gate :math:`z` and the recurrent weights :math:`U`:
their :math:`z, r, W, U, W_z, U_z, W_r, U_r` are our :math:`u, r, W_h, R_h, W_u, R_u, W_r, R_r`.
We call the update gate :math:`u` because this book keeps :math:`z` for the LSTM's cell input
(Greff et al. 2017). The convention :math:`h = u\odot h(t-1) + (1-u)\odot\tilde h` is Cho's
(u = 1 keeps the old state); some texts swap the roles of u and 1−u.

**Where the reset gate acts.** As in the paper, r multiplies :math:`h(t-1)` *before* the recurrent
product: :math:`R_h (r\odot h(t-1))`. Later implementations (cuDNN, and the frameworks built on it)
apply it after: :math:`r\odot(R_h h(t-1) + b'_h)`, a different model that is not this one.

**Backpropagation through time.** Write :math:`\bar h(t)=\mathrm{d}E/\mathrm{d}h(t)` for the
*total* derivative (through all later steps) and :math:`\partial E/\partial y(t)` for the error the
loss puts on :math:`h(t)` directly (a *partial* derivative: later steps held fixed). With
:math:`a_r, a_u, a_h` the pre-activations of :math:`r, u, \tilde h` and :math:`\delta_\cdot =
\partial E/\partial a_\cdot` at step t:

.. math::

    \bar h(t) &= \frac{\partial E}{\partial y(t)} + \Big[\frac{\partial E}{\partial h(t)}\Big]_{t+1}\\
    \delta_h &= \bar h\odot(1-u)\odot(1-\tilde h^2), \qquad
    \delta_u = \bar h\odot\big(h(t-1)-\tilde h\big)\odot u(1-u),\\
    \overline{rh} &= R_h^\top\delta_h, \qquad
    \delta_r = \overline{rh}\odot h(t-1)\odot r(1-r),\\
    \Big[\frac{\partial E}{\partial h(t-1)}\Big]_{t} &= \bar h\odot u + \overline{rh}\odot r
        + R_r^\top\delta_r + R_u^\top\delta_u,

where :math:`[\cdot]_t` is the part of the total derivative of :math:`h(t-1)` that flows through
step t (all of it, since :math:`h(t-1)` feeds the loss only through :math:`y(t-1)` and step t).
Weight gradients are sums over steps, computed after the loop as one product each:
:math:`\partial E/\partial W_\cdot = \sum_t \delta_\cdot(t)\,x(t)^\top`,
:math:`\partial E/\partial R_{r,u} = \sum_t \delta_{r,u}(t)\,h(t-1)^\top`,
:math:`\partial E/\partial R_h = \sum_t \delta_h(t)\,(r(t)\odot h(t-1))^\top`,
:math:`\partial E/\partial b_\cdot = \sum_t \delta_\cdot(t)`,
:math:`\partial E/\partial x(t) = W_r^\top\delta_r + W_u^\top\delta_u + W_h^\top\delta_h`.

Layout: ``W_r W_u W_h`` are adjacent in the fused buffer, so ``W = [W_r; W_u; W_h]`` ``(3H, I)``
projects the inputs of all T steps in one product; ``R_r R_u`` are adjacent, so both gates take one
recurrent product and one sigmoid call per step; ``R_h`` needs :math:`r(t)` first, so it is a
second, dependent product.
"""
from __future__ import annotations

import numpy as np

from . import backend as _backend
from .functional import sigmoid
from .recurrent import Recurrent

__all__ = ["GRU"]


class GRU(Recurrent):
    r"""GRU layer (Cho et al. 2014), reset gate before the recurrent product; ``y(t) = h(t)``.

    .. math::

        r = \sigma(W_r x + R_r h_{-} + b_r),\quad u = \sigma(W_u x + R_u h_{-} + b_u),\quad
        \tilde h = \tanh(W_h x + R_h (r\odot h_{-}) + b_h),\quad h = u\odot h_{-} + (1-u)\odot\tilde h

    with :math:`h_{-} = h(t-1)`; ``u`` is Cho's update gate ``z`` (see the module docstring).

    Parameters
    ----------
    n_in, n_hidden : I and H.
    init_scale : weights and biases drawn uniformly from [−init_scale, init_scale]
        (default :math:`1/\sqrt{H}`).
    seed : int or None, for the host random generator.
    dtype : ``"float64"`` or ``"float32"``; backend : ``"numpy"``, ``"cupy"``, ``"strict"`` or
        None (``MINILSTM_BACKEND``).

    ``params``: ``W_r W_u W_h (H, I)``, ``R_r R_u R_h (H, H)``, ``b_r b_u b_h (H,)``, views into
    one buffer ``flat``; state: ``(h,)`` with ``h (B, H)``; ``forward(x (T, B, I)) -> y (T, B, H)``.
    """

    state_names = ("h",)

    def __init__(self, n_in, n_hidden, init_scale=None, seed=None, dtype="float64", backend=None):
        for name, v in (("n_in", n_in), ("n_hidden", n_hidden)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if init_scale is not None and not (float(init_scale) >= 0.0 and np.isfinite(float(init_scale))):
            raise ValueError(f"init_scale must be a finite number >= 0 or None, got {init_scale!r}")
        xp = _backend.get_backend(backend)
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), int(n_hidden)
        self.state_sizes = (self.n_hidden,)
        scale = 1.0 / np.sqrt(n_hidden) if init_scale is None else float(init_scale)
        self.config = dict(n_in=self.n_in, n_hidden=self.n_hidden, init_scale=init_scale, seed=seed,
                           dtype=np.dtype(dtype).name, backend=_backend.backend_name(xp))
        H, I = self.n_hidden, self.n_in
        self._allocate({"W_r": (H, I), "W_u": (H, I), "W_h": (H, I),
                        "R_r": (H, H), "R_u": (H, H), "R_h": (H, H),
                        "b_r": (H,), "b_u": (H,), "b_h": (H,)}, xp, dtype)
        self._init_uniform(seed, scale)
        # fused views into flat: W = [W_r; W_u; W_h] (3H, I), R_ru = [R_r; R_u] (2H, H), b (3H,)
        self._W = self._fused("W_r", "W_h", 3 * H)
        self._R_ru = self._fused("R_r", "R_u", 2 * H)
        self._b = self._fused("b_r", "b_h", 3 * H).reshape(-1)

    def _gate_R(self, params):
        """``[R_r; R_u] (2H, H)``: the fused view for the layer's own params, else a concatenation."""
        if params is self.params:
            return self._R_ru
        return self.xp.concatenate([params["R_r"], params["R_u"]], axis=0)

    # one step -------------------------------------------------------------------------------
    def step_forward(self, params, a_t, state):
        """``a_t (B, 3H)`` = [W_r x + b_r, W_u x + b_u, W_h x + b_h]; returns ``(h, (h,), cache)``."""
        (h_prev,) = state                                     # (B, H)
        H = self.n_hidden
        g = a_t[:, :2 * H] + h_prev @ self._gate_R(params).T  # (B, 2H) gate pre-activations
        sigmoid(g, out=g)                                     # r and u in one call
        r, u = g[:, :H], g[:, H:]
        rh = r * h_prev                                       # (B, H) reset before the product
        c = a_t[:, 2 * H:] + rh @ params["R_h"].T             # (B, H) candidate pre-activation
        self.xp.tanh(c, out=c)                                # h̃
        h = h_prev - c                                        # h = h̃ + u ⊙ (h(t−1) − h̃)
        h *= u
        h += c
        return h, (h,), (h_prev, g, c, rh)

    def step_backward(self, params, dy_t, dstate, cache_t):
        """From ∂E/∂y(t) and the error carried from t+1: ``(δ (B, 3H), (∂E/∂h(t−1),))``."""
        h_prev, g, c, rh = cache_t
        (dh_next,) = dstate
        xp, H = self.xp, self.n_hidden
        r, u = g[:, :H], g[:, H:]
        hbar = dy_t + dh_next                                 # h̄(t), total derivative
        da = xp.empty((h_prev.shape[0], 3 * H), dtype=h_prev.dtype)   # (B, 3H) = [δ_r, δ_u, δ_h]
        d_r, d_u, d_h = da[:, :H], da[:, H:2 * H], da[:, 2 * H:]
        xp.multiply(hbar, 1.0 - u, out=d_h)
        d_h *= 1.0 - c * c                                    # δ_h = h̄ ⊙ (1−u) ⊙ (1 − h̃²)
        xp.subtract(h_prev, c, out=d_u)
        d_u *= hbar
        d_u *= u * (1.0 - u)                                  # δ_u = h̄ ⊙ (h(t−1) − h̃) ⊙ u(1−u)
        drh = d_h @ params["R_h"]                             # (B, H) ∂E/∂(r ⊙ h(t−1))
        xp.multiply(drh, h_prev, out=d_r)
        d_r *= r * (1.0 - r)                                  # δ_r
        dh_prev = hbar * u
        dh_prev += drh * r
        dh_prev += da[:, :2 * H] @ self._gate_R(params)       # R_r^T δ_r + R_u^T δ_u
        return da, (dh_prev,)

    # all steps at once ----------------------------------------------------------------------
    def _project(self, x):
        T, B, I = x.shape
        return (x.reshape(T * B, I) @ self._W.T + self._b).reshape(T, B, 3 * self.n_hidden)

    def _weight_grads(self, x, da, cache):
        T, B, I = x.shape
        xp, H = self.xp, self.n_hidden
        d2 = da.reshape(T * B, 3 * H)
        h_prev = xp.stack([c[0] for c in cache.steps]).reshape(T * B, H)
        rh = xp.stack([c[3] for c in cache.steps]).reshape(T * B, H)
        dW = d2.T @ x.reshape(T * B, I)                       # (3H, I)
        dR_ru = d2[:, :2 * H].T @ h_prev                      # (2H, H)
        dR_h = d2[:, 2 * H:].T @ rh                           # (H, H)
        db = d2.sum(axis=0)                                   # (3H,)
        grads = {"W_r": dW[:H], "W_u": dW[H:2 * H], "W_h": dW[2 * H:],
                 "R_r": dR_ru[:H], "R_u": dR_ru[H:], "R_h": dR_h,
                 "b_r": db[:H], "b_u": db[H:2 * H], "b_h": db[2 * H:]}
        return (d2 @ self._W).reshape(T, B, I), grads
