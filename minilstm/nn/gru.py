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

Speed (the loop in :mod:`minilstm.nn.recurrent`). Inside ``forward`` every step writes into arrays
allocated once for all T steps (``out=``): :math:`h(0..T)` ``(T+1, B, H)`` (``y`` is a view of it),
``[r, u]`` ``(T, B, 2H)`` and :math:`\tilde h` ``(T, B, H)``. ``backward`` reuses its per-step buffers
and, for small steps (B·H ≤ 1024, where the cost is the number of calls, not the work), first
computes the factors of the equations above that do not depend on :math:`\bar h` for all steps
in one pass (:meth:`GRU.backward_factors`), leaving 2 products and 7 elementwise calls per step. :math:`r\odot h(t-1)` is not kept per step: the weight gradient recomputes it for
all steps at once. Called on their own, the step functions allocate and compute the same
formulas (the tests check that both give the same numbers).
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..functional import fast_tanh, sigmoid_of_negative
from .recurrent import BackwardBuffers, Recurrent, SequenceBuffers, layer_args

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
        n_in, n_hidden, init_scale, dtype = layer_args(n_in=n_in, n_hidden=n_hidden,
                                                       init_scale=init_scale, seed=seed, dtype=dtype)
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
    def step_forward(self, params, a_t, state, out=None):
        """One step: ``a_t (B, 3H)`` = [W_r x + b_r, W_u x + b_u, W_h x + b_h]; returns ``(h, (h,), cache)``.

        ``cache = (h(t−1), [r, u] (B, 2H), h̃ (B, H))``. ``out``: optional ``(h, g, c, rh)``
        arrays ``(B, H), (B, 2H), (B, H), (B, H)`` to write ``h``, ``[r, u]``, ``h̃`` and the scratch
        ``r ⊙ h(t−1)`` into (the sequence loop passes views of its buffers); else new arrays.
        """
        (h_prev,) = state                                     # (B, H)
        xp, H = self.xp, self.n_hidden
        if out is None:
            B, dt = h_prev.shape[0], h_prev.dtype
            out = (xp.empty((B, H), dt), xp.empty((B, 2 * H), dt), xp.empty((B, H), dt), xp.empty((B, H), dt))
        h, g, c, rh = out
        xp.matmul(h_prev, self._gate_R(params).T, out=g)     # (B, 2H) [R_r; R_u] h(t−1)
        g += a_t[:, :2 * H]                                   # gate pre-activations
        xp.negative(g, out=g)                                 # r and u in one call:
        sigmoid_of_negative(xp, g, g)                         # σ(a) = 1/(1 + e^{−a})
        r, u = g[:, :H], g[:, H:]
        xp.multiply(r, h_prev, out=rh)                        # (B, H) reset before the product
        xp.matmul(rh, params["R_h"].T, out=c)                 # (B, H) R_h (r ⊙ h(t−1))
        c += a_t[:, 2 * H:]                                   # candidate pre-activation
        fast_tanh(xp, c, c)                                   # h̃
        xp.subtract(h_prev, c, out=h)                         # h = h̃ + u ⊙ (h(t−1) − h̃)
        h *= u
        h += c
        return h, (h,), (h_prev, g, c)

    def backward_factors(self, h_prev, g, c):
        r"""The factors of the step's backward pass that do not depend on :math:`\bar h`.

        For one step (arrays ``(B, ·)``, from its cache) or for all steps at once (``(T, B, ·)``).
        Returns ``k_uh (…, 2, H)`` = :math:`[(h(t-1)-\tilde h)\odot u(1-u),\ (1-u)\odot(1-\tilde h^2)]`
        and ``k_r (…, H)`` = :math:`h(t-1)\odot r(1-r)`, so that :math:`[\delta_u, \delta_h] =
        \bar h\odot k_{uh}` and :math:`\delta_r = \overline{rh}\odot k_r`.
        """
        xp, H = self.xp, self.n_hidden
        r, u = g[..., :H], g[..., H:]
        k_uh = xp.empty(c.shape[:-1] + (2, H), dtype=c.dtype)
        k_u, k_h = k_uh[..., 0, :], k_uh[..., 1, :]
        one_minus_u = 1.0 - u
        xp.subtract(h_prev, c, out=k_u)
        k_u *= u
        k_u *= one_minus_u                                    # (h(t−1) − h̃) ⊙ u(1−u)
        xp.multiply(c, c, out=k_h)
        xp.subtract(1.0, k_h, out=k_h)
        k_h *= one_minus_u                                    # (1−u) ⊙ (1 − h̃²)
        k_r = h_prev * r
        k_r *= 1.0 - r                                        # h(t−1) ⊙ r(1−r)
        return k_uh, k_r

    def step_backward(self, params, dy_t, dstate, cache_t, out=None, factors=None):
        """From ∂E/∂y(t) and the error carried from t+1: ``(δ (B, 3H), (∂E/∂h(t−1),))``.

        ``δ = [δ_r, δ_u, δ_h]``. ``out``: optional ``(δ (B, 3H), h̄, rh̄, dh)`` arrays to write into,
        the last three ``(B, H)`` scratch (``dh``, which receives ∂E/∂h(t−1), may be the array
        that ``dstate`` holds: it is read first). ``factors``: :meth:`backward_factors` of this
        step, if already computed. Else both are made here.
        """
        h_prev, g, c = cache_t
        (dh_next,) = dstate
        xp, H = self.xp, self.n_hidden
        B = h_prev.shape[0]
        k_uh, k_r = self.backward_factors(h_prev, g, c) if factors is None else factors
        if out is None:
            out = (xp.empty((B, 3 * H), h_prev.dtype),) + tuple(xp.empty((B, H), h_prev.dtype) for _ in range(3))
        da, hbar, drh, dh_prev = out
        r, u = g[:, :H], g[:, H:]
        d3 = da.reshape(B, 3, H)                              # [δ_r, δ_u, δ_h] as rows
        xp.add(dy_t, dh_next, out=hbar)                       # h̄(t), total derivative
        xp.multiply(hbar[:, None, :], k_uh, out=d3[:, 1:])    # δ_u, δ_h
        xp.matmul(d3[:, 2], params["R_h"], out=drh)           # (B, H) ∂E/∂(r ⊙ h(t−1)) = R_h^T δ_h
        xp.multiply(drh, k_r, out=d3[:, 0])                   # δ_r
        xp.matmul(da[:, :2 * H], self._gate_R(params), out=dh_prev)   # R_r^T δ_r + R_u^T δ_u
        hbar *= u
        dh_prev += hbar                                       # + h̄ ⊙ u
        drh *= r
        dh_prev += drh                                        # + rh̄ ⊙ r
        return da, (dh_prev,)

    # the sequence loop's buffers (see minilstm.nn.recurrent) -------------------------------------
    def _sequence_buffers(self, a, state0):
        xp, H, dt = self.xp, self.n_hidden, self.dtype
        T, B = a.shape[:2]
        hs = xp.empty((T + 1, B, H), dtype=dt)                # h(0), h(1) … h(T); y = hs[1:]
        hs[0] = state0[0]
        g = xp.empty((T, B, 2 * H), dtype=dt)                 # [r, u] at every step
        c = xp.empty((T, B, H), dtype=dt)                     # h̃ at every step
        rh = xp.empty((B, H), dtype=dt)                       # scratch r ⊙ h(t−1), reused
        step_kwargs = [{"out": (hs[t + 1], g[t], c[t], rh)} for t in range(T)]
        return SequenceBuffers(hs[1:], step_kwargs, {"h": hs, "g": g, "c": c})

    def _loop_errstate(self):
        return {"over": "ignore"}                             # e^{−a} overflows: exactly σ = 0

    def _backward_buffers(self, cache):
        xp, H, dt = self.xp, self.n_hidden, self.dtype
        hs, g, c = cache.extra["h"], cache.extra["g"], cache.extra["c"]
        T, B = c.shape[:2]
        da = xp.empty((T, B, 3 * H), dtype=dt)
        hbar, drh, dh = (xp.empty((B, H), dtype=dt) for _ in range(3))
        kwargs = [{"out": (da[t], hbar, drh, dh)} for t in range(T)]
        if B * H <= self._factors_at_once_max:
            k_uh, k_r = self.backward_factors(hs[:-1], g, c)  # all steps in one pass
            for t in range(T):
                kwargs[t]["factors"] = (k_uh[t], k_r[t])
        return BackwardBuffers(da, kwargs)

    # all steps at once ----------------------------------------------------------------------
    def _project(self, x):
        T, B, I = x.shape
        return (x.reshape(T * B, I) @ self._W.T + self._b).reshape(T, B, 3 * self.n_hidden)

    def _weight_grads(self, x, da, cache):
        T, B, I = x.shape
        H = self.n_hidden
        d2 = da.reshape(T * B, 3 * H)
        hs, g = cache.extra["h"], cache.extra["g"]
        h_prev = hs[:-1].reshape(T * B, H)                    # h(t−1) of every step (a view)
        rh = (g[:, :, :H] * hs[:-1]).reshape(T * B, H)        # r ⊙ h(t−1), recomputed for all steps
        dW = d2.T @ x.reshape(T * B, I)                       # (3H, I)
        dR_ru = d2[:, :2 * H].T @ h_prev                      # (2H, H)
        dR_h = d2[:, 2 * H:].T @ rh                           # (H, H)
        db = d2.sum(axis=0)                                   # (3H,)
        grads = {"W_r": dW[:H], "W_u": dW[H:2 * H], "W_h": dW[2 * H:],
                 "R_r": dR_ru[:H], "R_u": dR_ru[H:], "R_h": dR_h,
                 "b_r": db[:H], "b_u": db[H:2 * H], "b_h": db[2 * H:]}
        return (d2 @ self._W).reshape(T, B, I), grads
