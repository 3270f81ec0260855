r"""Error flow back in time: the vanishing-gradient analysis, measured on any minilstm layer.

Hochreiter (1991) and Hochreiter & Schmidhuber (1997, Sec. 3) follow an error injected at one unit
at time t back to a unit at time t−q. For a recurrent net with units
:math:`h_j(\tau) = f(a_j(\tau))`, :math:`a(\tau) = W x(\tau) + R h(\tau-1) + b`, the error reaching
:math:`h(t-q)` from :math:`\partial E/\partial h(t)` is a product of step Jacobians,

.. math::

    \frac{\partial E}{\partial h(t-q)} = \frac{\partial E}{\partial h(t)}
        \prod_{\tau=t}^{t-q+1} J(\tau), \qquad
    J(\tau) = \frac{\partial h(\tau)}{\partial h(\tau-1)} = \mathrm{diag}\big(f'(a(\tau))\big)\,R

(row vectors on the left, the product ordered :math:`J(t)J(t-1)\cdots J(t-q+1)`). For one unit
with self-weight w this is :math:`\prod_{m=0}^{q-1} f'(a(t-m))\,w`: if
:math:`|f'(a)\,w| < 1` at every step the error decays exponentially with the lag q, if
:math:`> 1` it explodes. The logistic has :math:`f' \le 1/4`, so :math:`|w| < 4` always vanishes
(1997, Sec. 3.1). For matrices, with :math:`\gamma = \max f'` (1 for tanh, 1/4 for σ),
:math:`\lVert J(\tau)\rVert_2 \le \gamma\,\sigma_{\max}(R)`, so :math:`\sigma_{\max}(R) < 1/\gamma`
is sufficient for vanishing (Pascanu, Mikolov & Bengio 2013):

.. math:: \Big\lVert\frac{\partial E}{\partial h(t-q)}\Big\rVert \le
    \big(\gamma\,\sigma_{\max}(R)\big)^q\,\Big\lVert\frac{\partial E}{\partial h(t)}\Big\rVert .

The LSTM's constant error carousel escapes this: with no forget gate the cell state obeys
:math:`c(t) = c(t-1) + i(t)\odot z(t)`, so :math:`\partial c(t)/\partial c(t-1) = I` along the
carousel and :math:`\lVert\partial E/\partial c(t-q)\rVert` stays constant.

Everything here uses only a layer's public API — ``forward``, ``step_backward``, the cache's
``steps`` and ``params`` — so it works on the RNN, the GRU and every LSTM variant: the errors are
backpropagated by the layer's own ``step_backward``, on the layer's backend. Results come back to
the host as NumPy arrays (:func:`minilstm.backend.to_numpy`), since they are for plotting.

Time indexing: ``y[t]`` (0-based, ``0 <= t < T``) is the output after step t; a state at lag q
from t is the state after step t−q, so ``q = 0 .. t``. Total derivatives are meant throughout:
:math:`\partial E/\partial\,\text{state}(t-q)` includes every path from the state to the error.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend
from .validate import check_array

__all__ = ["F_PRIME_MAX", "error_flow", "error_flow_map", "jacobian_products", "scaling_factor",
           "scaling_factor_bound", "critical_weight", "rnn_scaling_bound", "decay_rate"]

#: γ = max f'(a) for the squashing functions of :mod:`minilstm.functional`.
F_PRIME_MAX = {"sigmoid": 0.25, "tanh": 1.0, "g1997": 1.0, "h1997": 0.5, "identity": 1.0}


# ---- helpers ------------------------------------------------------------------------------------
def _check_layer(layer):
    for attr in ("forward", "step_backward", "params", "state_names"):
        if not hasattr(layer, attr):
            raise TypeError(f"layer must be a minilstm recurrent layer (with forward, step_backward, "
                            f"params and state_names); {type(layer).__name__} has no {attr!r}")


def _check_t(t, T, name="t_error"):
    if t is None:
        return T - 1
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not -T <= t < T:
        raise ValueError(f"{name} must be an int step index in [0, {T}) (or negative from the end) "
                         f"for a sequence of T = {T} steps, got {t!r}")
    return int(t) % T


def _unit_errors(seed, B, n, xp, dtype):
    """``(B, n)`` random unit vectors, drawn on the host (same numbers on every backend)."""
    e = backend.default_rng(seed).standard_normal((B, n))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return xp.asarray(e.astype(dtype))


def _error(error, seed, B, n, xp, dtype):
    if error is None:
        return _unit_errors(seed, B, n, xp, dtype)
    check_array("error", error, shape=(B, n), dtype=dtype, xp=xp, finite=True)
    return error.copy()


def _norms(d):
    """Euclidean norm of each row: ``(B, n) -> (B,)``."""
    return backend.get_array_module(d).sqrt((d * d).sum(axis=1))


def _output_state(y_last, state):
    """Index of the state array that *is* the output (h of the RNN/GRU, y of the LSTM), or None."""
    xp = backend.get_array_module(y_last)
    for k, s in enumerate(state):
        if s.shape == y_last.shape and bool(xp.array_equal(s, y_last)):
            return k
    return None


def _reduce(a, reduce):
    """Reduce the last (batch) axis of a host array: mean, geometric mean or none."""
    if reduce in (None, "none"):
        return a
    if reduce == "mean":
        return a.mean(axis=-1)
    if reduce == "geomean":
        with np.errstate(divide="ignore"):
            return np.exp(np.log(a).mean(axis=-1))
    raise ValueError(f"reduce={reduce!r} is not known; expected 'mean', 'geomean' or None")


def _package(flows, names, reduce, axis):
    """One array for a one-state layer, else a dict keyed by state name; ``axis`` indexes the state."""
    flows = _reduce(flows, reduce)
    if len(names) == 1:
        return np.take(flows, 0, axis=axis)
    return {name: np.take(flows, k, axis=axis) for k, name in enumerate(names)}


# ---- error flow -----------------------------------------------------------------------------------
def error_flow(layer, x, t_error=None, state=None, seed=0, error=None, reduce="mean"):
    r"""The norm of the error :math:`\lVert\partial E/\partial\,\text{state}(t-q)\rVert` against the lag q.

    A unit-norm random error :math:`\partial E/\partial y(t)` is injected at the one step
    ``t = t_error`` (default the last), and nowhere else, and backpropagated by the layer's
    ``step_backward``; the result is the norm of the total derivative of E with respect to each
    state array at step t−q, for q = 0..t.

    Parameters
    ----------
    layer : a minilstm recurrent layer (RNN, GRU, LSTM...).
    x : ``(T, B, n_in)`` input; state : initial state tuple or None (zeros).
    t_error : the step that receives the error (0-based; default T−1).
    seed : for the random error direction, one unit vector per sequence (drawn on the host);
        error : or an explicit ``(B, n_out)`` array :math:`\partial E/\partial y(t)`, used as is.
    reduce : ``"mean"`` (default) or ``"geomean"`` over the B sequences, or None to keep them.

    Returns
    -------
    For a one-state layer (RNN, GRU: the state is h), a host array ``(t+1,)`` (``(t+1, B)`` with
    ``reduce=None``), entry q = :math:`\lVert\partial E/\partial h(t-q)\rVert`; entry 0 is the
    injected error's norm. For a layer with several states (the LSTM: ``y`` and ``c``), a dict
    of such arrays keyed by ``layer.state_names``. At lag 0, a state that is not the output
    itself (the LSTM's ``c``) gets NaN: the error it receives from :math:`y(t)` stays inside
    the step's backward pass, which does not hand it out.
    """
    _check_layer(layer)
    xp = layer.xp
    y, cache = layer.forward(x, state)
    T, B, n_out = y.shape
    t = _check_t(t_error, T)
    names = tuple(layer.state_names)
    e = _error(error, seed, B, n_out, xp, layer.dtype)
    k_out = _output_state(y[T - 1], cache.state)
    lag0 = xp.full((len(names), B), xp.nan, dtype=layer.dtype)
    if k_out is not None:
        lag0[k_out] = _norms(e)
    rows = [lag0]                                              # rows[q]: (n_states, B)
    dstate = tuple(xp.zeros_like(s) for s in cache.state)
    for tau in range(t, 0, -1):                                # step τ hands back state(τ−1)
        dy = e.copy() if tau == t else xp.zeros_like(e)
        _, dstate = layer.step_backward(layer.params, dy, dstate, cache.steps[tau])
        rows.append(xp.stack([_norms(d) for d in dstate]))
    return _package(backend.to_numpy(xp.stack(rows)), names, reduce, axis=1)


def error_flow_map(layer, x, state=None, seed=0, reduce="mean"):
    r"""The matrix :math:`M[t, q] = \lVert\partial E_t/\partial\,\text{state}(t-q)\rVert` over error time and lag.

    :math:`E_t` has its (unit-norm, random) error at step t only; row t of the map is
    ``error_flow(layer, x, t_error=t, seed=seed)``, and entries with q > t are NaN. Instead of T
    separate backward passes, the T·B sequences are run as one batch of T copies of ``x``, copy
    k receiving its error at step k: one forward and one backward pass of T steps, each step on
    a batch of T·B rows (memory grows as T²·B·H; fine for T ≤ a few hundred).

    Parameters as in :func:`error_flow`. Returns a host array ``(T, T)`` (``(T, T, B)`` with
    ``reduce=None``) for a one-state layer, else a dict of them keyed by state name.
    """
    _check_layer(layer)
    xp = layer.xp
    check_array("x", x, ndim=3, xp=xp)
    T, B = x.shape[:2]
    xr = xp.tile(x, (1, T, 1))                                 # (T, T·B, I): copy k at rows kB..kB+B−1
    sr = None if state is None else tuple(xp.tile(s, (T, 1)) for s in state)
    y, cache = layer.forward(xr, sr)
    n_out = y.shape[2]
    names = tuple(layer.state_names)
    e = _unit_errors(seed, B, n_out, xp, layer.dtype)         # the same directions as error_flow
    k_out = _output_state(y[T - 1], cache.state)
    G = xp.full((T, len(names), T, B), xp.nan, dtype=layer.dtype)   # G[s, :, k]: state(s), error at k
    dstate = tuple(xp.zeros_like(s_) for s_ in cache.state)
    for tau in range(T - 1, 0, -1):
        dy = xp.zeros((T * B, n_out), dtype=layer.dtype)
        dy[tau * B:(tau + 1) * B] = e                          # copy τ gets its error at step τ
        _, dstate = layer.step_backward(layer.params, dy, dstate, cache.steps[tau])
        G[tau - 1] = xp.stack([_norms(d).reshape(T, B) for d in dstate])
    G = backend.to_numpy(G)
    M = np.full((T, T, len(names), B), np.nan, dtype=G.dtype)  # M[t, q, state, b]
    if k_out is not None:
        M[:, 0, k_out, :] = backend.to_numpy(_norms(e))
    for q in range(1, T):
        t = np.arange(q, T)
        M[t, q] = G[t - q, :, t, :]
    return _package(M, names, reduce, axis=2)


# ---- Jacobian products --------------------------------------------------------------------------
def jacobian_products(layer, x, t=None, state=None, return_products=False):
    r"""Products of step Jacobians :math:`P(q) = \partial s(t)/\partial s(t-q) = J(t)\cdots J(t-q+1)`.

    ``s`` is the layer's whole state, its arrays concatenated (``h`` for the RNN and GRU; ``[y, c]``
    for the LSTM), of size S. For the RNN :math:`J(\tau) = \mathrm{diag}(f'(a(\tau)))\,R`. The
    matrices are exact (to rounding): S copies of the sequence run as one batch, and the layer's
    ``step_backward`` with zero output error carries the rows of the identity back,
    :math:`e_i^\top \mapsto e_i^\top J(t) J(t-1)\cdots`; S more copies, reset to the identity
    at every step, give each single :math:`J(\tau)`.

    Parameters
    ----------
    layer : a minilstm recurrent layer; x : ``(T, 1, n_in)``, one sequence; state : its initial
        state (tuple of ``(1, n)`` arrays) or None; t : the last step (0-based, default T−1).
    return_products : also return the matrices.

    Returns
    -------
    dict of host arrays, each indexed by the lag q = 0..t:

    * ``"q"`` ``(t+1,)``;
    * ``"singular_values"`` ``(t+1, S)`` of :math:`P(q)`, largest first; ``"sigma_max"`` ``(t+1,)``
      is :math:`\lVert P(q)\rVert_2`;
    * ``"step_sigma_max"`` ``(t+1,)``: :math:`\lVert J(t-q+1)\rVert_2`, the factor that lag q
      adds (NaN at q = 0);
    * ``"product_bound"`` ``(t+1,)``: :math:`\prod_{m=1}^{q}\lVert J(t-m+1)\rVert_2 \ge
      \lVert P(q)\rVert_2` (1 at q = 0);
    * ``"products"`` ``(t+1, S, S)`` with ``[q, i, j]`` = :math:`\partial s_i(t)/\partial s_j(t-q)`,
      if asked for.
    """
    _check_layer(layer)
    xp = layer.xp
    check_array("x", x, ndim=3, xp=xp)
    if x.shape[1] != 1:
        raise ValueError(f"jacobian_products takes one sequence, x of shape (T, 1, n_in); got "
                         f"{tuple(x.shape)}: pass x[:, b:b+1] for sequence b")
    if state is None:
        state = layer.init_state(1)
    sizes = [int(s.shape[1]) for s in state]
    S = sum(sizes)
    xr = xp.tile(x, (1, 2 * S, 1))                             # rows 0..S−1 carry P, S..2S−1 one J
    sr = tuple(xp.tile(s, (2 * S, 1)) for s in state)
    y, cache = layer.forward(xr, sr)
    T, _, n_out = y.shape
    t = _check_t(t, T, "t")
    eye = xp.eye(S, dtype=layer.dtype)
    bounds = np.cumsum([0] + sizes)
    D = xp.concatenate([eye, eye], axis=0)                     # (2S, S)
    products, steps = [eye], []
    for tau in range(t, 0, -1):
        dstate = tuple(xp.ascontiguousarray(D[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:]))
        dy = xp.zeros((2 * S, n_out), dtype=layer.dtype)
        _, dstate = layer.step_backward(layer.params, dy, dstate, cache.steps[tau])
        D = xp.concatenate(dstate, axis=1)                     # rows e_i^T P(q) and e_i^T J(τ)
        products.append(D[:S].copy())
        steps.append(D[S:].copy())
        D[S:] = eye
    P = xp.stack(products)                                     # (t+1, S, S)
    sv = backend.to_numpy(xp.linalg.svd(P, compute_uv=False))
    step = np.full(t + 1, np.nan, dtype=sv.dtype)
    if steps:
        step[1:] = backend.to_numpy(xp.linalg.svd(xp.stack(steps), compute_uv=False))[:, 0]
    out = {"q": np.arange(t + 1), "singular_values": sv, "sigma_max": sv[:, 0],
           "step_sigma_max": step, "product_bound": np.concatenate([[1.0], np.cumprod(step[1:])])}
    if return_products:
        out["products"] = backend.to_numpy(P)
    return out


# ---- bounds and rates -----------------------------------------------------------------------------
def _f_prime_max(f_prime_max):
    if isinstance(f_prime_max, str):
        try:
            return F_PRIME_MAX[f_prime_max]
        except KeyError:
            raise ValueError(f"f_prime_max={f_prime_max!r} is not a known activation; expected a "
                             f"number or one of {sorted(F_PRIME_MAX)}") from None
    if isinstance(f_prime_max, bool) or not isinstance(f_prime_max, numbers.Real) \
            or not f_prime_max > 0 or not math.isfinite(f_prime_max):
        raise ValueError(f"f_prime_max must be a finite number > 0 or an activation name, got {f_prime_max!r}")
    return float(f_prime_max)


def scaling_factor(f_prime, w):
    r"""The 1997 per-step error scaling factor :math:`|f'(a)\,w|` (element-wise, on ``f_prime``'s backend).

    The error carried from a unit back one step along a connection of weight w is multiplied by
    :math:`f'(a)\,w`; the error over q steps of a single self-connected unit is the product of q
    such factors. ``f_prime`` and ``w``: scalars or arrays that broadcast (e.g. ``(T, B, H)``
    against ``(H,)``); the result has their broadcast shape.
    """
    if hasattr(f_prime, "shape") or hasattr(w, "shape"):
        return backend.get_array_module(f_prime, w).abs(f_prime * w)
    return abs(f_prime * w)


def scaling_factor_bound(f_prime_max, w) -> float:
    r"""The largest per-step error scaling factor: :math:`\gamma|w|`, or :math:`\gamma\,\sigma_{\max}(w)` for a matrix.

    ``f_prime_max`` is γ = max f' (a number, or an activation name: ``"sigmoid"`` → 1/4,
    ``"tanh"`` → 1); ``w`` a scalar or a 2-d matrix, e.g. ``R (H, H)``; returns a float.
    Below 1, the error flow vanishes at least as fast as this factor to the power
    of the lag (Hochreiter & Schmidhuber 1997, Sec. 3; Pascanu et al. 2013); its log bounds
    the decay rate of :func:`decay_rate`.
    """
    gamma = _f_prime_max(f_prime_max)
    if hasattr(w, "ndim") and w.ndim == 2:
        xp = backend.get_array_module(w)
        return gamma * float(xp.linalg.svd(w, compute_uv=False)[0])
    if hasattr(w, "ndim") and w.ndim > 0:
        raise ValueError(f"w must be a scalar or a 2-d matrix, got shape {tuple(w.shape)}")
    return gamma * abs(float(w))


def critical_weight(f_prime_max) -> float:
    r""":math:`1/\gamma`: the self-weight (or largest singular value) below which the error surely vanishes.

    4.0 for the logistic σ (the 1997 paper's "|w| < 4.0"), 1.0 for tanh.
    """
    return 1.0 / _f_prime_max(f_prime_max)


def rnn_scaling_bound(layer) -> float:
    r""":math:`\gamma\,\sigma_{\max}(R)` for an :class:`~minilstm.nn.rnn.RNN` (γ from its activation),
    with ``R`` of shape ``(H, H)``; a float."""
    if "R" not in layer.params or not hasattr(layer, "activation"):
        raise TypeError(f"rnn_scaling_bound needs an RNN (params['R'] and an activation), got "
                        f"{type(layer).__name__}; use scaling_factor_bound(f_prime_max, R) instead")
    return scaling_factor_bound(layer.activation, layer.params["R"])


def decay_rate(flow, q=None, start=0, stop=None, method="fit") -> float:
    r"""The exponential rate λ of an error flow, :math:`\lVert\cdot\rVert(q) \approx C e^{\lambda q}`.

    ``method="fit"``: the least-squares slope of :math:`\log\lVert\cdot\rVert` against q;
    ``method="endpoints"``: :math:`\log(\lVert\cdot\rVert(q_1)/\lVert\cdot\rVert(q_0))/(q_1-q_0)`
    between the first and last point used. λ < 0 vanishes, λ > 0 explodes; compare it with
    :math:`\log` of :func:`scaling_factor_bound`: from lag 0, the endpoint rate can never exceed
    it, and a fit over a steady decay does not either.

    ``flow`` is a 1-d array of shape ``(n,)`` over lags (from :func:`error_flow`); ``q`` its lags,
    shape ``(n,)`` (default 0, 1, ...); points ``start:stop`` are used, and NaN, inf or zero
    entries dropped. Returns a float.
    """
    f = backend.to_numpy(flow).astype(np.float64)
    if f.ndim != 1:
        raise ValueError(f"flow must be 1-d (one norm per lag), got shape {f.shape}; pick one state "
                         "of a dict, or reduce over the batch")
    lags = np.arange(f.size, dtype=np.float64) if q is None else backend.to_numpy(q).astype(np.float64)
    if lags.shape != f.shape:
        raise ValueError(f"q has shape {lags.shape} but flow has {f.shape}")
    f, lags = f[start:stop], lags[start:stop]
    keep = np.isfinite(f) & (f > 0)
    f, lags = f[keep], lags[keep]
    if f.size < 2:
        raise ValueError(f"decay_rate needs at least 2 finite, positive norms; got {f.size}")
    if method == "fit":
        return float(np.polyfit(lags, np.log(f), 1)[0])
    if method == "endpoints":
        return float(np.log(f[-1] / f[0]) / (lags[-1] - lags[0]))
    raise ValueError(f"method={method!r} is not known; expected 'fit' or 'endpoints'")
