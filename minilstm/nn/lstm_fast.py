r"""The LSTM's fast path: the equations of :mod:`minilstm.nn.lstm`, in fewer calls into reused buffers.

The sequence loop of :mod:`minilstm.nn.recurrent` takes this path (a :class:`FastPath` that the
layer builds once; its buffers name its own step functions, which the loop then calls) for the
configuration that most code trains:
one cell per block (S = 1), all three gates, :math:`g = h = \tanh`, ``recurrence='output'``, no
peepholes, CIFG or FGR (Greff et al.'s NP variant, ``presets.no_peepholes``, and the layer the
benchmarks compare with ``torch.nn.LSTM``). Every other configuration runs the plain step
functions of :class:`~minilstm.nn.lstm.LSTM`; the tests check that both paths agree. It reads
the layer only through its :class:`~minilstm.nn.lstm.LSTMLayout` and the views of its fused
weights (:class:`~minilstm.nn.lstm.FusedWeights`).

With S = 1 the pre-activation columns are ``[z | i | f | o]``, H each (G = 4H). What changes
against the plain step, and why it computes the same function:

* **One exponential for all four units.** :math:`\sigma(a) = 1/(1 + e^{-a})` and
  :math:`\tanh a = 2\sigma(2a) - 1`. The pre-activation columns are scaled, the z columns by −2
  and the gate columns by −1 (both exact in binary floating point), so that one ``exp``, one ``+ 1`` and one
  reciprocal over the ``(B, G)`` step give σ of every column; two calls on the z columns finish
  :math:`z = 2\sigma(2\,\text{net}_z) - 1`. (NumPy's float64 ``tanh`` costs about twice its
  ``exp`` on CPUs without AVX-512, so in float64 :math:`h(c) = \tanh c` is computed the same way;
  :math:`e^{-a}` may overflow to ``inf`` for very negative ``a``, which gives the exact limit
  σ = 0: those warnings are silenced for the loop.) The scale is applied to ``W``, ``b`` and
  ``R`` (small), not to the projection (:meth:`FastPath.project`).
* **Buffers for all T steps, allocated once:** :math:`y(0..T)` ``(T+1, B, H)`` (so that
  :math:`u(t-1) = y(t-1)` of every step is the view ``Y[:-1]``, no stacking for the weight
  gradients), :math:`c(0..T)` ``(T+1, B, H)``, :math:`h(c)` ``(T, B, H)``; the activations are
  written into ``a[t]`` itself.
* **Backward: the factors that do not depend on the recurrence**,

  .. math::

      K_o = h(c)\odot o(1-o), \quad K_c = o\odot(1-h(c)^2), \quad
      K_{zif} = \big[\,i\odot(1-z^2),\; z\odot i(1-i),\; c(t-1)\odot f(1-f)\,\big],

  computed for all steps at once (small steps) or inside each step (large ones), so that a step is

  .. math::

      \bar y = \partial E/\partial y(t) + \bar y_{\text{next}}, \quad \delta_o = \bar y\odot K_o,
      \quad \bar c = \bar y\odot K_c + \bar c_{\text{next}}, \quad
      [\delta_z, \delta_i, \delta_f] = \bar c\odot K_{zif}, \\
      \bar c(t-1) = \bar c\odot f, \qquad \bar y(t-1) = R^\top\delta

  (with :math:`\bar y_{\text{next}} = R^\top\delta(t+1)` from the step after): seven calls.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..functional import fast_tanh, sigmoid_of_negative
from .recurrent import BackwardBuffers, SequenceBuffers

__all__ = ["eligible", "column_scale", "FastPath", "FastSequence", "ForwardScratch",
           "BackwardScratch", "BackwardFactors"]


def eligible(layer) -> bool:
    """Whether ``layer`` (an :class:`~minilstm.nn.lstm.LSTM`) has the configuration this path covers."""
    return (layer.cells_per_block == 1 and layer.gates == ("i", "f", "o") and not layer.peepholes
            and not layer.cifg and not layer.has_gate_state and layer.g == "tanh"
            and layer.h == "tanh")


def column_scale(layout, dtype):
    """``(G,)`` host array: −2 for the z columns, −1 for the gate columns (see the module
    docstring); ``layout`` an :class:`~minilstm.nn.lstm.LSTMLayout`."""
    H, G = layout.n_cells, layout.G
    return np.concatenate([np.full(H, -2.0), np.full(G - H, -1.0)]).astype(dtype)


class FastSequence(NamedTuple):
    """What the fast forward keeps for all T steps (``cache.extra``; all on the layer's backend).

    ``Y (T+1, B, H)`` :math:`y(0) … y(T)`; ``C (T+1, B, H)`` :math:`c(0) … c(T)`; ``HC (T, B, H)``
    :math:`h(c(t))`; ``A (T, B, 4H)`` the activations ``[z | i | f | o]`` of every step.
    """
    Y: object
    C: object
    HC: object
    A: object


class ForwardScratch(NamedTuple):
    r"""The arrays every forward step of one sequence shares: ``R_T (H, 4H)`` the scaled
    :math:`R^\top`, contiguous; ``rec (B, 4H)`` and ``iz (B, H)`` scratch; the 0-d constants
    ``one``, ``two``, ``minus_two`` of the dtype (cheaper per call than Python floats)."""
    R_T: object
    rec: object
    iz: object
    one: object
    two: object
    minus_two: object


class BackwardScratch(NamedTuple):
    r"""The arrays every backward step of one sequence shares: ``R (4H, H)`` a view of the
    parameters; ``ybar``, ``cbar`` (B, H) scratch for :math:`\bar y(t), \bar c(t)`; ``dy_prev``,
    ``dc_prev`` (B, H) the results :math:`\bar y(t-1), \bar c(t-1)` (reused at every step)."""
    R: object
    ybar: object
    cbar: object
    dy_prev: object
    dc_prev: object


class BackwardFactors(NamedTuple):
    r"""The backward factors that do not depend on the recurrence (module docstring), of one step
    ``(B, ·)`` or all steps ``(T, B, ·)``: ``K_o`` :math:`h(c)\odot o(1-o)`, ``K_c``
    :math:`o\odot(1-h(c)^2)`, ``K_zif (…, 3, H)`` the rows for :math:`\delta_z, \delta_i,
    \delta_f`, and ``f``."""
    K_o: object
    K_c: object
    K_zif: object
    f: object


class FastPath:
    """The fast path of one :class:`~minilstm.nn.lstm.LSTM` (built once by the layer when
    :func:`eligible`): its input projection, the sequence loop's buffers and the step functions
    the loop calls instead of the layer's own.

    Parameters
    ----------
    layout : the layer's :class:`~minilstm.nn.lstm.LSTMLayout` (``n_cells`` H, ``G`` = 4H,
        ``bias_cols``).
    fused : the layer's :class:`~minilstm.nn.lstm.FusedWeights`: views ``W (4H, I)``,
        ``R (4H, H)``, ``b`` into its parameters (read at every call: in-place updates count).
    step_cache : the per-step cache type, :class:`~minilstm.nn.lstm.LSTMStep`.
    """

    def __init__(self, layout, fused, step_cache):
        self.layout, self.fused, self.step_cache = layout, fused, step_cache
        self.xp = backend.get_array_module(fused.W)
        self.scale = column_scale(layout, fused.W.dtype)            # host (G,)

    def project(self, x):
        r"""The input projection of all steps, its columns already scaled: ``(T, B, G)`` =
        :math:`s\odot(W x(t) + b)` with ``s =`` :func:`column_scale` (the scale is applied to the
        small ``W`` and ``b``, not to the large result)."""
        xp, layout, fused = self.xp, self.layout, self.fused
        T, B, I = x.shape
        scale = xp.asarray(self.scale)
        W = fused.W * scale[:, None]                                # (G, I)
        a = x.reshape(T * B, I) @ W.T                               # (T·B, G)
        if fused.b is not None:
            a[:, layout.bias_cols] += fused.b * scale[layout.bias_cols]
        return a.reshape(T, B, layout.G)

    # ---- forward --------------------------------------------------------------------------------
    def sequence_buffers(self, a, state0) -> SequenceBuffers:
        """The forward buffers; ``a (T, B, 4H)`` is :meth:`project`'s scaled projection, used in place.

        Returns a :class:`~minilstm.nn.recurrent.SequenceBuffers`: ``y = Y[1:]``, per step
        ``{"y": y(t), "c": c(t), "hc": h(c(t)), "scratch":`` :class:`ForwardScratch` ``}``,
        ``extra`` a :class:`FastSequence` (``A = a``: the activations) and :meth:`step_forward`.
        """
        xp, H = self.xp, self.layout.n_cells
        T, B, G = a.shape
        dt = self.fused.W.dtype
        R_T = xp.empty((H, G), dtype=dt)                      # (H, G) contiguous: u @ R_T is one product
        R_T[...] = self.fused.R.T
        R_T *= xp.asarray(self.scale)[None, :]
        Y = xp.empty((T + 1, B, H), dtype=dt)                 # y(0) … y(T)
        C = xp.empty((T + 1, B, H), dtype=dt)                 # c(0) … c(T)
        Y[0], C[0] = state0[0], state0[1]
        HC = xp.empty((T, B, H), dtype=dt)                    # h(c(t))
        scratch = ForwardScratch(R_T, xp.empty((B, G), dtype=dt), xp.empty((B, H), dtype=dt),
                                 *(xp.asarray(v, dtype=dt) for v in (1.0, 2.0, -2.0)))
        step_kwargs = [{"y": Y[t + 1], "c": C[t + 1], "hc": HC[t], "scratch": scratch}
                       for t in range(T)]
        return SequenceBuffers(Y[1:], step_kwargs, FastSequence(Y, C, HC, a), self.step_forward)

    def step_forward(self, params, a_t, state, *, y, c, hc, scratch):
        r"""One step, written into the buffers ``y, c, hc (B, H)``: ``a_t (B, 4H)`` (scaled by −2
        and −1) becomes ``[z | i | f | o]``, then :math:`c = f\odot c(t-1) + i\odot z` and
        :math:`y = o\odot\tanh c`. Returns ``(y, (y, c), cache)`` like the layer's step, the
        cache a :class:`~minilstm.nn.lstm.LSTMStep` of views into the buffers. ``params`` is
        not read: the weights are in ``scratch.R_T`` and the projection."""
        xp, H = self.xp, self.layout.n_cells
        one, two = scratch.one, scratch.two
        y_prev, c_prev = state
        xp.dot(y_prev, scratch.R_T, out=scratch.rec)          # (B, G) recurrent part, scaled
        a_t += scratch.rec
        sigmoid_of_negative(xp, a_t, a_t, one)                # σ(2 net_z), σ(net_i), σ(net_f), σ(net_o)
        z = a_t[:, :H]
        z *= two
        z -= one                                              # z = 2σ(2 net_z) − 1 = tanh(net_z)
        i, f, o = a_t[:, H:2 * H], a_t[:, 2 * H:3 * H], a_t[:, 3 * H:]
        xp.multiply(f, c_prev, out=c)
        xp.multiply(i, z, out=scratch.iz)
        c += scratch.iz                                       # c(t) = f ⊙ c(t−1) + i ⊙ z
        fast_tanh(xp, c, hc, one, two, scratch.minus_two)     # h(c(t)) = tanh c(t)
        xp.multiply(o, hc, out=y)                             # y(t) = o ⊙ h(c(t))
        return y, (y, c), self.step_cache(y_prev, c_prev, a_t, z, i, f, o, c, hc)

    # ---- backward -------------------------------------------------------------------------------
    def backward_factors(self, act, c_prev, hc) -> BackwardFactors:
        r""":class:`BackwardFactors` from one step's ``act (B, 4H)``, ``c(t-1)``, ``h(c(t))``
        ``(B, H)`` or from all steps' ``(T, B, ·)`` arrays at once; ``K_zif`` has shape ``(…, 3, H)``."""
        xp, H = self.xp, self.layout.n_cells
        z, i, f, o = act[..., :H], act[..., H:2 * H], act[..., 2 * H:3 * H], act[..., 3 * H:]
        K_o = o * (1.0 - o)
        K_o *= hc                                             # h(c) ⊙ o(1−o)
        K_c = hc * hc
        xp.subtract(1.0, K_c, out=K_c)
        K_c *= o                                              # o ⊙ (1 − h(c)²)
        K_zif = xp.empty(hc.shape[:-1] + (3, H), dtype=hc.dtype)
        k_z, k_i, k_f = K_zif[..., 0, :], K_zif[..., 1, :], K_zif[..., 2, :]
        xp.multiply(z, z, out=k_z)
        xp.subtract(1.0, k_z, out=k_z)
        k_z *= i                                              # i ⊙ (1 − z²)
        xp.subtract(1.0, i, out=k_i)
        k_i *= i
        k_i *= z                                              # z ⊙ i(1−i)
        xp.subtract(1.0, f, out=k_f)
        k_f *= f
        k_f *= c_prev                                         # c(t−1) ⊙ f(1−f)
        return BackwardFactors(K_o, K_c, K_zif, f)

    def backward_buffers(self, seq: FastSequence, factors_at_once: bool) -> BackwardBuffers:
        """The backward buffers for the forward pass ``seq``, a :class:`~minilstm.nn.recurrent.BackwardBuffers`:
        ``da (T, B, 4H)``, per step ``{"da_t": da[t], "factors": …, "scratch":``
        :class:`BackwardScratch` ``}`` and :meth:`step_backward`. ``factors_at_once``: compute
        the :class:`BackwardFactors` of all steps before the loop (small steps), else in each step."""
        xp, H = self.xp, self.layout.n_cells
        T, B, G = seq.A.shape
        dt = self.fused.W.dtype
        da = xp.empty((T, B, G), dtype=dt)
        scratch = BackwardScratch(self.fused.R, *(xp.empty((B, H), dtype=dt) for _ in range(4)))
        if factors_at_once:
            K = self.backward_factors(seq.A, seq.C[:-1], seq.HC)
            factors = [BackwardFactors(K.K_o[t], K.K_c[t], K.K_zif[t], K.f[t]) for t in range(T)]
        else:
            factors = [None] * T
        kwargs = [{"da_t": da[t], "factors": factors[t], "scratch": scratch} for t in range(T)]
        return BackwardBuffers(da, kwargs, self.step_backward)

    def step_backward(self, params, dy_t, dstate, cache_t, *, da_t, factors, scratch):
        r"""One step of BPTT into ``da_t (B, 4H)``; returns ``(da_t, (ȳ(t−1), c̄(t−1)))``.

        ``factors``: this step's :class:`BackwardFactors`, or None to compute them from
        ``cache_t``. ``dstate`` may hold ``scratch.dy_prev``/``scratch.dc_prev`` themselves (the
        previous step's result): they are read before they are overwritten. ``params`` is not
        read: ``scratch.R`` is the parameters' view."""
        xp, H = self.xp, self.layout.n_cells
        if factors is None:
            factors = self.backward_factors(cache_t.act, cache_t.c_prev, cache_t.hc)
        K_o, K_c, K_zif, f = factors
        ybar, cbar, dy_prev, dc_prev = scratch.ybar, scratch.cbar, scratch.dy_prev, scratch.dc_prev
        d4 = da_t.reshape(da_t.shape[0], 4, H)                # [δ_z, δ_i, δ_f, δ_o] as rows
        xp.add(dy_t, dstate[0], out=ybar)                     # ȳ(t), the total derivative
        xp.multiply(ybar, K_o, out=d4[:, 3])                  # δ_o
        xp.multiply(ybar, K_c, out=cbar)
        cbar += dstate[1]                                     # c̄(t)
        xp.multiply(cbar[:, None, :], K_zif, out=d4[:, :3])   # δ_z, δ_i, δ_f
        xp.multiply(cbar, f, out=dc_prev)                     # c̄(t−1) = c̄ ⊙ f
        xp.dot(da_t, scratch.R, out=dy_prev)                  # ȳ(t−1) = Rᵀ δ   (B, H)
        return da_t, (dy_prev, dc_prev)
