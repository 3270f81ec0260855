r"""The LSTM's fast path: the equations of :mod:`minilstm.nn.lstm`, in fewer calls into reused buffers.

The sequence loop of :mod:`minilstm.nn.recurrent` takes this path (through the layer's
``_sequence_buffers`` / ``_backward_buffers`` hooks) for the configuration that most code trains:
one cell per block (S = 1), all three gates, :math:`g = h = \tanh`, ``recurrence='output'``, no
peepholes, CIFG or FGR (Greff et al.'s NP variant, ``presets.no_peepholes``, and the layer the
benchmarks compare with ``torch.nn.LSTM``). Every other configuration runs the plain step
functions of :class:`~minilstm.nn.lstm.LSTM`; the tests check that both paths agree.

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
  ``R`` (small), not to the projection (:func:`project`).
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

import numpy as np

from ..functional import fast_tanh, sigmoid_of_negative

__all__ = ["eligible", "column_scale", "project", "sequence_buffers", "step_forward",
           "backward_factors", "backward_buffers", "step_backward"]


def eligible(layer) -> bool:
    """Whether ``layer`` (an :class:`~minilstm.nn.lstm.LSTM`) has the configuration this path covers."""
    return (layer.cells_per_block == 1 and layer.gates == ("i", "f", "o") and not layer.peepholes
            and not layer.cifg and not layer.has_gate_state and layer.g == "tanh"
            and layer.h == "tanh")


def column_scale(layer):
    """``(G,)``: −2 for the z columns, −1 for the gate columns (see the module docstring)."""
    H, G = layer.n_cells, layer.G
    return np.concatenate([np.full(H, -2.0), np.full(G - H, -1.0)]).astype(layer.dtype)


def project(layer, x):
    r"""The input projection of all steps, its columns already scaled: ``(T, B, G)`` =
    :math:`s\odot(W x(t) + b)` with ``s =`` :func:`column_scale` (the scale is applied to the
    small ``W`` and ``b``, not to the large result)."""
    xp = layer.xp
    T, B, I = x.shape
    scale = xp.asarray(column_scale(layer))
    W = layer._span(layer.flat, *layer._W) * scale[:, None]                 # (G, I)
    a = x.reshape(T * B, I) @ W.T                                          # (T·B, G)
    if layer._bias is not None:
        a[:, layer.bias_cols] += layer._span(layer.flat, *layer._bias, 1)[0] * scale[layer.bias_cols]
    return a.reshape(T, B, layer.G)


def sequence_buffers(layer, a, state0):
    """The forward buffers; ``a (T, B, 4H)`` is :func:`project`'s scaled projection, used in place.

    Returns ``(y, step_kwargs, extra)`` for :meth:`minilstm.nn.recurrent.Recurrent.forward`:
    ``y = Y[1:]``, per step ``{"fused": (R_T, y(t), c(t), h(c(t)), scratch...)}`` and ``extra``
    with ``Y (T+1, B, H)``, ``C (T+1, B, H)``, ``HC (T, B, H)`` and ``A = a`` (the activations).
    """
    xp, H, dt = layer.xp, layer.n_cells, layer.dtype
    T, B, G = a.shape
    R = layer._span(layer.flat, *layer._R_groups[0])      # (G, H), a view of the parameters
    R_T = xp.empty((H, G), dtype=dt)                      # (H, G) contiguous: u @ R_T is one product
    R_T[...] = R.T
    R_T *= xp.asarray(column_scale(layer))[None, :]
    Y = xp.empty((T + 1, B, H), dtype=dt)                 # y(0) … y(T)
    C = xp.empty((T + 1, B, H), dtype=dt)                 # c(0) … c(T)
    Y[0], C[0] = state0[0], state0[1]
    HC = xp.empty((T, B, H), dtype=dt)                    # h(c(t))
    rec, iz = xp.empty((B, G), dtype=dt), xp.empty((B, H), dtype=dt)   # scratch, reused
    consts = tuple(xp.asarray(v, dtype=dt) for v in (1.0, 2.0, -2.0))  # 0-d: cheaper than floats
    step_kwargs = [{"fused": (R_T, Y[t + 1], C[t + 1], HC[t], rec, iz, consts)} for t in range(T)]
    return Y[1:], step_kwargs, {"Y": Y, "C": C, "HC": HC, "A": a}


def step_forward(layer, a_t, state, R_T, y, c, hc, rec, iz, consts):
    r"""One step, written into the buffers: ``a_t (B, 4H)`` (scaled by −2 and −1) becomes
    ``[z | i | f | o]``, then :math:`c = f\odot c(t-1) + i\odot z` and :math:`y = o\odot\tanh c`.
    Returns ``(y, c, z, i, f, o)``, the new arrays (views into the buffers)."""
    xp, H = layer.xp, layer.n_cells
    one, two, _ = consts
    y_prev, c_prev = state
    xp.dot(y_prev, R_T, out=rec)                          # (B, G) recurrent part, scaled
    a_t += rec
    sigmoid_of_negative(xp, a_t, a_t, one)                # σ(2 net_z), σ(net_i), σ(net_f), σ(net_o)
    z = a_t[:, :H]
    z *= two
    z -= one                                              # z = 2σ(2 net_z) − 1 = tanh(net_z)
    i, f, o = a_t[:, H:2 * H], a_t[:, 2 * H:3 * H], a_t[:, 3 * H:]
    xp.multiply(f, c_prev, out=c)
    xp.multiply(i, z, out=iz)
    c += iz                                               # c(t) = f ⊙ c(t−1) + i ⊙ z
    fast_tanh(xp, c, hc, *consts)                         # h(c(t)) = tanh c(t)
    xp.multiply(o, hc, out=y)                             # y(t) = o ⊙ h(c(t))
    return y, c, z, i, f, o


def backward_factors(layer, act, c_prev, hc):
    r"""``(K_o, K_c, K_zif, f)`` from one step's ``act (B, 4H)``, ``c(t-1)``, ``h(c(t))`` ``(B, H)``
    or from all steps' ``(T, B, ·)`` arrays at once; ``K_zif`` has shape ``(…, 3, H)``."""
    xp, H = layer.xp, layer.n_cells
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
    return K_o, K_c, K_zif, f


def backward_buffers(layer, cache):
    """``(da (T, B, 4H), step_kwargs)`` for :meth:`minilstm.nn.recurrent.Recurrent.backward`."""
    xp, H, dt = layer.xp, layer.n_cells, layer.dtype
    A, C, HC = cache.extra["A"], cache.extra["C"], cache.extra["HC"]
    T, B, G = A.shape
    R = layer._span(layer.flat, *layer._R_groups[0])      # (G, H)
    da = xp.empty((T, B, G), dtype=dt)
    scratch = tuple(xp.empty((B, H), dtype=dt) for _ in range(4))   # ȳ, c̄, ȳ(t−1), c̄(t−1)
    if B * H <= layer._factors_at_once_max:
        K_o, K_c, K_zif, f = backward_factors(layer, A, C[:-1], HC)
        factors = [(K_o[t], K_c[t], K_zif[t], f[t]) for t in range(T)]
    else:
        factors = [None] * T
    kwargs = [{"fused": (R, da[t], factors[t]) + scratch} for t in range(T)]
    return da, kwargs


def step_backward(layer, dy_t, dstate, cache_t, R, da_t, factors, ybar, cbar, dy_prev, dc_prev):
    r"""One step of BPTT into ``da_t (B, 4H)``; returns ``(da_t, (ȳ(t−1), c̄(t−1)))``.

    ``dstate`` may hold the scratch arrays ``dy_prev``/``dc_prev`` themselves (the previous
    step's result): they are read before they are overwritten."""
    xp, H = layer.xp, layer.n_cells
    if factors is None:
        factors = backward_factors(layer, cache_t.act, cache_t.c_prev, cache_t.hc)
    K_o, K_c, K_zif, f = factors
    d4 = da_t.reshape(da_t.shape[0], 4, H)                # [δ_z, δ_i, δ_f, δ_o] as rows
    xp.add(dy_t, dstate[0], out=ybar)                     # ȳ(t), the total derivative
    xp.multiply(ybar, K_o, out=d4[:, 3])                  # δ_o
    xp.multiply(ybar, K_c, out=cbar)
    cbar += dstate[1]                                     # c̄(t)
    xp.multiply(cbar[:, None, :], K_zif, out=d4[:, :3])   # δ_z, δ_i, δ_f
    xp.multiply(cbar, f, out=dc_prev)                     # c̄(t−1) = c̄ ⊙ f
    xp.dot(da_t, R, out=dy_prev)                          # ȳ(t−1) = Rᵀ δ   (B, H)
    return da_t, (dy_prev, dc_prev)
