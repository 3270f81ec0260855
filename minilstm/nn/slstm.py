r"""The sLSTM of xLSTM (Beck et al. 2024): exponential gates, a normalizer state, a stabilizer state.

Notation (the book's, chapter 12). Input :math:`x(t)\in\mathbb{R}^I`, H cells; a bar marks a
pre-activation, :math:`\bar v = W_v x(t) + R_v y(t-1) + b_v` for :math:`v \in \{z, i, f, o\}`;
σ the logistic. The cell as the paper writes it:

.. math::

    z(t) &= \tanh \bar z(t), \qquad i(t) = \exp \bar i(t), \qquad
    f(t) = \sigma(\bar f(t)) \text{ or } \exp \bar f(t), \qquad o(t) = \sigma(\bar o(t)), \\
    c(t) &= f(t)\odot c(t-1) + i(t)\odot z(t), \\
    n(t) &= f(t)\odot n(t-1) + i(t), \\
    y(t) &= o(t)\odot c(t) / n(t).

:math:`n` is the *normalizer*: with :math:`c(0) = n(0) = 0`, :math:`c/n` is a weighted average
of the cell inputs :math:`z(\tau)`, inside :math:`(-1, 1)`. The output :math:`y(t)` is fed back
(:math:`R_v y(t-1)`), the ``recurrence='output'`` wiring of :mod:`minilstm.nn.lstm`; Beck et al.
make the :math:`R_v` block-diagonal, one block per head: this layer is one head (full
:math:`R_v`).

**The stabilizer.** :math:`\exp \bar i` overflows beyond :math:`\bar i \approx 709` (float64; 88
in float32). The layer computes instead, with the *stabilizer* state :math:`m`,

.. math::

    m(t) &= \max\big(\log f(t) + m(t-1),\ \bar i(t)\big), \\
    i'(t) &= \exp\big(\bar i(t) - m(t)\big), \\
    f'(t) &= \exp\big(\log f(t) + m(t-1) - m(t)\big), \\
    c'(t) &= f'(t)\odot c'(t-1) + i'(t)\odot z(t), \\
    n'(t) &= f'(t)\odot n'(t-1) + i'(t), \\
    y(t) &= o(t)\odot c'(t)/n'(t),

with :math:`\log f = \log\sigma(\bar f) = \min(\bar f, 0) - \log(1 + e^{-|\bar f|})` or
:math:`\log f = \bar f`. By induction :math:`c'(t) = e^{-m(t)}c(t)` and
:math:`n'(t) = e^{-m(t)}n(t)` for *any* sequence :math:`m`, so :math:`y` is exactly the formula
above: :math:`m` changes no output, it only keeps the exponents at most 0. The state is
:math:`(y, c', n', m)`, named ``("y", "c", "n", "m")``: the stored ``c`` and ``n`` are the
scaled :math:`c', n'`, and :math:`c = e^{m} c'`.

What can still go wrong. :math:`i', f' \le 1`, and one of them is 1 at every step (the one the
max picked), so :math:`n'(t) \le n'(t-1) + 1` and :math:`n'(t) \ge \min(1, n'(t-1))`: nothing
overflows, and once :math:`n' \ge 1` it stays so. The zero state has :math:`m(0) = 0`; its first
step gives :math:`n'(1) = i'(1) = e^{\bar i(1) - m(1)}`, which underflows to 0 (and
:math:`y(1)` to 0/0) only if :math:`\bar i(1) < \log f(1) - 745` (float64; −103 in float32),
where the formula without stabilizer, :math:`e^{\bar i}z/e^{\bar i}`, is 0/0 as well.

**Backpropagation through time.** Write :math:`\delta v = \mathrm{d}E/\mathrm{d}v` for the *total*
derivative (through every later step) and :math:`[\delta v]_{t+1}` for the part that arrives from
step t+1 (the ``dstate`` of the loop); :math:`r = c'/n'`. At step t:

.. math::

    \delta y &= \partial E/\partial y(t) + [\delta y]_{t+1}, \qquad
    \delta c' = [\delta c']_{t+1} + \delta y\odot o / n', \qquad
    \delta n' = [\delta n']_{t+1} - \delta y\odot o\odot r / n', \\
    \delta\bar o &= \delta y\odot r\odot o(1-o), \qquad
    \delta\bar z = \delta c'\odot i'\odot(1 - z^2), \\
    g_i &= (\delta c'\odot z + \delta n')\odot i', \qquad
    g_f = (\delta c'\odot c'(t-1) + \delta n'\odot n'(t-1))\odot f', \\
    \mu &= [\delta m]_{t+1} - g_i - g_f, \\
    \delta\bar i &= g_i + (1 - s)\odot\mu, \qquad
    \lambda = g_f + s\odot\mu, \qquad
    \delta\bar f = \lambda\odot\sigma(-\bar f) \text{ (σ forget gate) or } \lambda \text{ (exp)}, \\
    [\delta y]_t &= R^\top[\delta\bar z, \delta\bar i, \delta\bar f, \delta\bar o], \qquad
    [\delta c']_t = \delta c'\odot f', \qquad [\delta n']_t = \delta n'\odot f', \qquad
    [\delta m]_t = \lambda,

where :math:`s = [\log f(t) + m(t-1) \ge \bar i(t)]` marks the branch that the max took (the
derivative of the max; ties have probability 0) and :math:`\mu` is the total derivative at
:math:`m(t)`, through its use in :math:`i'(t), f'(t)` and in step t+1; since :math:`c'(t)` and
:math:`n'(t)` scale as :math:`e^{-m(t)}`, :math:`g_i + g_f = c'\odot\delta c' + n'\odot\delta n'`.

**Does the gradient flow through m?** Yes: the backward pass above is the exact gradient of the
stabilised computation, so it is also right for a loss on the state itself (a truncated window
passes :math:`[\delta m]_{t+1}` on; :func:`minilstm.gradcheck.gradcheck` puts a random weight on
every state array). For a loss on the outputs alone it carries nothing: :math:`y` does not depend
on :math:`m` (see above), so :math:`\mu(t) = 0` at every step up to rounding, and the weight
gradients equal those of the formula without stabilizer, and those obtained by treating
:math:`m` as a constant. The stabilizer changes neither the outputs nor the gradients, only
whether the exponentials overflow.

Weight gradients are summed after the loop as one product each over all T·B rows:
:math:`\partial E/\partial W_v = \sum_t \delta\bar v(t)\,x(t)^\top`, :math:`\partial E/\partial
R_v = \sum_t \delta\bar v(t)\,y(t-1)^\top`, :math:`\partial E/\partial b_v = \sum_t\delta\bar v(t)`,
:math:`\partial E/\partial x(t) = W^\top[\delta\bar z, \delta\bar i, \delta\bar f, \delta\bar o]`.

Shapes: ``W_z W_i W_f W_o (H, I)``, ``R_z R_i R_f R_o (H, H)``, ``b_z b_i b_f b_o (H,)``; in code
a batch is row vectors, ``x(t) (B, I)``, each state array ``(B, H)``. ``W = [W_z; W_i; W_f; W_o]``
``(4H, I)`` and ``R = [R_z; R_i; R_f; R_o]`` ``(4H, H)`` are adjacent in the fused buffer: one
product projects the inputs of all T steps, one product per step does the recurrence.
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..functional import sigmoid
from ..validate import check_choice
from .recurrent import Recurrent, layer_args

__all__ = ["SLSTM"]

GATES = ("z", "i", "f", "o")


class SLSTM(Recurrent):
    r"""sLSTM layer (Beck et al. 2024), stabilised; one head, full recurrent matrices.

    .. math::

        m = \max(\log f + m_{-},\ \bar i),\quad i' = e^{\bar i - m},\quad
        f' = e^{\log f + m_{-} - m},\quad c = f' c_{-} + i' z,\quad n = f' n_{-} + i',\quad
        y = o\, c / n

    with :math:`z = \tanh\bar z`, :math:`o = \sigma(\bar o)`, :math:`f = \sigma(\bar f)` or
    :math:`e^{\bar f}`, :math:`\bar v = W_v x + R_v y_{-} + b_v`, and :math:`v_{-} = v(t-1)`
    (the module docstring has the unstabilised form, which gives the same :math:`y`).

    Parameters
    ----------
    n_in, n_hidden : I and H.
    forget : ``"sigmoid"`` (default, :math:`f = \sigma(\bar f)`) or ``"exp"``
        (:math:`f = e^{\bar f}`): the paper's two forget gates.
    init_scale : weights and biases drawn uniformly from [−init_scale, init_scale]
        (default :math:`1/\sqrt{H}`).
    seed : int or None, for the host random generator.
    dtype : ``"float64"`` or ``"float32"``; backend : ``"numpy"``, ``"cupy"``, ``"strict"`` or
        None (``MINILSTM_BACKEND``).

    ``params``: ``W_z W_i W_f W_o (H, I)``, ``R_z R_i R_f R_o (H, H)``, ``b_z b_i b_f b_o (H,)``,
    views into one buffer ``flat``; state ``(y, c, n, m)``, each ``(B, H)`` (``c``, ``n`` scaled
    by :math:`e^{-m}`); ``forward(x (T, B, I)) -> y (T, B, H)``.
    """

    state_names = ("y", "c", "n", "m")

    def __init__(self, n_in, n_hidden, forget="sigmoid", init_scale=None, seed=None,
                 dtype="float64", backend=None):
        check_choice("forget", forget, ("sigmoid", "exp"))
        n_in, n_hidden, init_scale, dtype = layer_args(n_in=n_in, n_hidden=n_hidden,
                                                       init_scale=init_scale, seed=seed, dtype=dtype)
        xp = _backend.get_backend(backend)
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), int(n_hidden)
        self.state_sizes = (self.n_hidden,) * 4
        self.forget = forget
        scale = 1.0 / np.sqrt(n_hidden) if init_scale is None else float(init_scale)
        self.config = dict(n_in=self.n_in, n_hidden=self.n_hidden, forget=forget,
                           init_scale=init_scale, seed=seed, dtype=np.dtype(dtype).name,
                           backend=_backend.backend_name(xp))
        H, I = self.n_hidden, self.n_in
        shapes = {f"W_{v}": (H, I) for v in GATES}
        shapes.update({f"R_{v}": (H, H) for v in GATES})
        shapes.update({f"b_{v}": (H,) for v in GATES})
        self._allocate(shapes, xp, dtype)
        self._init_uniform(seed, scale)
        # fused views into flat: W (4H, I), R (4H, H), b (4H,), rows in the order z, i, f, o
        self._W = self._fused("W_z", "W_o", 4 * H)
        self._R = self._fused("R_z", "R_o", 4 * H)
        self._b = self._fused("b_z", "b_o", 4 * H).reshape(-1)

    def _recurrent(self, params):
        """``R = [R_z; R_i; R_f; R_o] (4H, H)``: the fused view for the layer's own params."""
        if params is self.params:
            return self._R
        return self.xp.concatenate([params[f"R_{v}"] for v in GATES], axis=0)

    # one step -------------------------------------------------------------------------------
    def step_forward(self, params, a_t, state):
        r"""One step: ``a_t (B, 4H)`` = :math:`[W_z x + b_z, W_i x + b_i, W_f x + b_f, W_o x + b_o]`,
        state :math:`(y, c', n', m)(t-1)`, each ``(B, H)`` → ``(y, (y, c', n', m), cache)``.

        :math:`m = \max(\log f + m(t-1), \bar i)`, :math:`c' = f' c'(t-1) + i' z`,
        :math:`n' = f' n'(t-1) + i'`, :math:`y = o\,c'/n'` (module docstring). ``cache`` holds
        :math:`y(t-1), c'(t-1), n'(t-1), z, o, i', f'`, the derivative
        :math:`\mathrm{d}\log f/\mathrm{d}\bar f`, :math:`r = c'/n'`, :math:`n'` and the bool
        :math:`s = [\log f + m(t-1) \ge \bar i]`, each ``(B, H)``.
        """
        y_prev, c_prev, n_prev, m_prev = state                # (B, H) each
        xp, H = self.xp, self.n_hidden
        a = a_t + y_prev @ self._recurrent(params).T           # (B, 4H) [z̄ | ī | f̄ | ō]
        z = xp.tanh(a[:, :H])
        i_bar, f_bar = a[:, H:2 * H], a[:, 2 * H:3 * H]
        o = sigmoid(a[:, 3 * H:])
        if self.forget == "sigmoid":                           # log σ(f̄), never overflows
            log_f = xp.minimum(f_bar, 0.0) - xp.log1p(xp.exp(-xp.abs(f_bar)))
            dlog_f = sigmoid(-f_bar)                           # d log σ(f̄)/df̄ = 1 − σ(f̄)
        else:
            log_f, dlog_f = f_bar, None                        # log e^{f̄} = f̄, derivative 1
        lfm = log_f + m_prev                                   # log f + m(t−1)
        m = xp.maximum(lfm, i_bar)                             # the stabilizer m(t)
        i_s = xp.exp(i_bar - m)                                # i' ≤ 1
        f_s = xp.exp(lfm - m)                                  # f' ≤ 1
        c = f_s * c_prev + i_s * z                             # c' = e^{−m} c
        n = f_s * n_prev + i_s                                 # n' = e^{−m} n
        r = c / n                                              # c'/n' = c/n
        y = o * r
        s = lfm >= i_bar                                       # which branch the max took
        return y, (y, c, n, m), (y_prev, c_prev, n_prev, z, o, i_s, f_s, dlog_f, r, n, s)

    def step_backward(self, params, dy_t, dstate, cache_t):
        r"""From :math:`\partial E/\partial y(t)` ``dy_t (B, H)`` and the state's error from t+1,
        ``dstate`` = :math:`[\delta y, \delta c', \delta n', \delta m]_{t+1}` (each ``(B, H)``):
        returns ``(δ (B, 4H), dstate_prev)``.

        ``δ = [δz̄, δī, δf̄, δō]`` and ``dstate_prev`` =
        :math:`(R^\top\delta, \delta c'\odot f', \delta n'\odot f', \lambda)`, the equations of
        the module docstring.
        """
        y_prev, c_prev, n_prev, z, o, i_s, f_s, dlog_f, r, n, s = cache_t
        dy_next, dc_next, dn_next, dm_next = dstate
        xp, H = self.xp, self.n_hidden
        dy = dy_t + dy_next                                    # δy(t), total
        dr = dy * o                                            # error at r = c'/n'
        dc = dc_next + dr / n                                  # δc'(t)
        dn = dn_next - dr * r / n                              # δn'(t)
        da = xp.empty((dy.shape[0], 4 * H), dtype=dy.dtype)    # [δz̄ | δī | δf̄ | δō]
        da[:, :H] = dc * i_s * (1.0 - z * z)                   # δz̄
        da[:, 3 * H:] = dy * r * o * (1.0 - o)                 # δō
        g_i = (dc * z + dn) * i_s                              # through i' = e^{ī − m}
        g_f = (dc * c_prev + dn * n_prev) * f_s                # through f' = e^{log f + m(t−1) − m}
        mu = dm_next - g_i - g_f                               # δm(t), total: ≈ 0 for losses on y
        mu_s = mu * s                                          # μ where the max took log f + m(t−1)
        lam = g_f + mu_s                                       # δ(log f + m(t−1))
        da[:, H:2 * H] = g_i + (mu - mu_s)                     # δī
        da[:, 2 * H:3 * H] = lam if dlog_f is None else lam * dlog_f   # δf̄
        dy_prev = da @ self._recurrent(params)                 # (B, H) R^T δ
        return da, (dy_prev, dc * f_s, dn * f_s, lam)

    # all steps at once ----------------------------------------------------------------------
    def _project(self, x):
        T, B, I = x.shape
        return (x.reshape(T * B, I) @ self._W.T + self._b).reshape(T, B, 4 * self.n_hidden)

    def _weight_grads(self, x, da, cache):
        T, B, I = x.shape
        H = self.n_hidden
        d2 = da.reshape(T * B, 4 * H)
        y_prev = self.xp.stack([step[0] for step in cache.steps]).reshape(T * B, H)
        dW, dR, db = d2.T @ x.reshape(T * B, I), d2.T @ y_prev, d2.sum(axis=0)   # (4H, ·)
        grads = {}
        for k, v in enumerate(GATES):
            rows = slice(k * H, (k + 1) * H)
            grads[f"W_{v}"], grads[f"R_{v}"], grads[f"b_{v}"] = dW[rows], dR[rows], db[rows]
        return (d2 @ self._W).reshape(T, B, I), grads
