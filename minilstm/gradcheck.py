r"""Gradient checking by float64 central differences.

For a scalar :math:`E(\theta)`, each partial derivative is estimated by

.. math:: \frac{\partial E}{\partial\theta_k} \approx \frac{E(\theta+\epsilon e_k)-E(\theta-\epsilon e_k)}{2\epsilon},

whose error is :math:`O(\epsilon^2)`; with :math:`\epsilon=10^{-6}` in float64 the estimate agrees
with a correct analytic gradient to about :math:`10^{-9}` relative error. The comparison is

.. math:: \text{rel}(g, \hat g) = \frac{\lVert g-\hat g\rVert_2}{\lVert g\rVert_2+\lVert\hat g\rVert_2}.

The report also holds, per array, the largest per-element error (:func:`max_elementwise_error`),
which a single wrong entry cannot hide in, and lists the arrays whose gradient is identically
zero on both sides (``report.zero``): a parameter that does not affect :math:`E` passes every
tolerance with error 0, so a check that should cover it must also assert that it is not there.

For a recurrent layer the scalar is :math:`E = \sum_{t,b,k} u_{tbk}\,y_{tbk}(t) +
\sum_j\sum v_j\odot\text{state}_j(T)` with fixed random :math:`u, v`: its gradient with respect to
``y`` is ``u``, so ``layer.backward(u, cache, dstate=v)`` must return :math:`\partial E/\partial x`,
:math:`\partial E/\partial\theta` and :math:`\partial E/\partial\,\text{state}(0)`.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .validate import check_array, check_callable, check_number, check_seed

__all__ = ["gradcheck", "numerical_gradient", "relative_error", "max_elementwise_error",
           "GradcheckReport"]


def _host_pair(analytic, numeric):
    """Host float64 flat copies of the two gradients, which must have the same number of elements."""
    a = backend.to_numpy(analytic).astype(np.float64).ravel()
    n = backend.to_numpy(numeric).astype(np.float64).ravel()
    if a.shape != n.shape:
        raise ValueError(f"analytic gradient has {a.size} elements but numeric has {n.size}")
    return a, n


def relative_error(analytic, numeric) -> float:
    r"""The relative error of a whole array in the 2-norm, on host float64 copies:

    .. math:: \text{rel}(g, \hat g) = \frac{\lVert g-\hat g\rVert_2}{\lVert g\rVert_2+\lVert\hat g\rVert_2}
              \in [0, 1],

    :math:`g` the analytic and :math:`\hat g` the numeric gradient, two arrays of one shape
    (e.g. ``(H, I)`` for ``W_z``, ``(T, B, I)`` for ``x``); 0 when both are exactly zero.
    """
    a, n = _host_pair(analytic, numeric)
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0.0 else float(np.linalg.norm(a - n) / denom)


def max_elementwise_error(analytic, numeric) -> float:
    r"""The largest error of one element, relative to the array's largest entry:

    .. math:: \text{rel}_\infty(g, \hat g) = \frac{\max_k |g_k-\hat g_k|}
              {\max(\lVert g\rVert_\infty, \lVert\hat g\rVert_\infty)} \in [0, 1],

    for two arrays of one shape (any); 0 when both are exactly zero. A single wrong entry among
    n entries of similar size moves :func:`relative_error` by only about :math:`1/\sqrt{n}` of
    its error; this measure by all of it.
    """
    a, n = _host_pair(analytic, numeric)
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(n).max(initial=0.0)))
    return 0.0 if scale == 0.0 else float(np.abs(a - n).max() / scale)


def numerical_gradient(f, a, eps=1e-6):
    r"""Central-difference gradient of the scalar ``f()`` with respect to array ``a``:

    .. math:: \hat g_k = \frac{f(a + \epsilon e_k) - f(a - \epsilon e_k)}{2\epsilon}
              \quad\text{for every element } k \text{ of } a.

    ``a`` (float64, any shape, e.g. ``(H, I)`` for ``W_z``) is perturbed in place, one element
    at a time, and restored; ``f`` must read it. Returns a host float64 array of ``a``'s shape.
    """
    check_callable("f", f, "f() -> float (it must read a)")
    check_number("eps", eps, above=0)
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        raise TypeError(f"a must be an array, got {type(a).__name__}")
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
    r"""``{name: relative error}`` (:func:`relative_error`) for ``x (T, B, I)``, each parameter and
    each initial-state array ``(B, n)``, with two more fields:

    * ``elementwise`` : ``{name: max per-element error}`` (:func:`max_elementwise_error`);
    * ``zero`` : the names whose numeric gradient :math:`\hat g = \partial E/\partial\theta` is
      identically zero while the analytic :math:`g` is too. Their errors are 0 and pass any
      tolerance, yet the check proved nothing there: :math:`E` does not depend on that array (a
      parameter with no effect, a gate nobody reads, a state that is overwritten). Where every
      array should matter, assert ``not report.zero``. Empty arrays (e.g. the ``(B, 0)`` gate
      state of an LSTM without gates) are not listed: there is nothing in them to check.

    A gradient that is zero on one side only has relative error 1 and fails by itself.
    """

    def __init__(self):
        super().__init__()
        self.elementwise = {}
        self.zero = []

    def add(self, name, analytic, numeric):
        """Compare one array's analytic and numeric gradients (one shape) and record the result."""
        self[name] = relative_error(analytic, numeric)
        self.elementwise[name] = max_elementwise_error(analytic, numeric)
        numeric, analytic = backend.to_numpy(numeric), backend.to_numpy(analytic)
        if numeric.size and not np.any(numeric) and not np.any(analytic):
            self.zero.append(name)                           # (an empty array has nothing to hide)
        return self

    @property
    def max_error(self) -> float:
        """The largest relative error over the checked arrays (0 for an empty report)."""
        return max(self.values()) if self else 0.0

    @property
    def max_elementwise_error(self) -> float:
        """The largest per-element error over the checked arrays (0 for an empty report)."""
        return max(self.elementwise.values()) if self.elementwise else 0.0

    @property
    def worst(self) -> str:
        """The name with the largest relative error."""
        return max(self, key=self.get)

    def __repr__(self):
        head = "GradcheckReport (relative error, max per-element error"
        if self:
            head += f"; max {self.max_error:.2e} at {self.worst}"
        if self.zero:
            head += f"; no effect on E: {', '.join(self.zero)}"
        rows = "\n".join(f"  {k:<14s} {v:.2e}   {self.elementwise.get(k, float('nan')):.2e}"
                         + ("   (both gradients identically 0)" if k in self.zero else "")
                         for k, v in self.items())
        return f"{head}):\n{rows}"


def gradcheck(layer, x, state=None, *, seed=0, eps=1e-6, wrt=("x", "params", "state"),
              forward_kwargs=None):
    r"""Check ``layer.backward`` against central differences; returns a :class:`GradcheckReport`.

    Parameters
    ----------
    layer : any object with ``params``, ``forward(x, state)`` and
        ``backward(dy, cache, dstate=..., return_dstate=True)`` — every recurrent layer of minilstm.
    x : ``(T, B, n_in)`` input; state : initial state tuple or None (zeros are then *checked too*,
        as the starting point of the state gradient).
    seed : for the random weights ``u``, ``v`` of the scalar E (see the module docstring).
    eps : the step :math:`\epsilon` of the central differences, a finite number > 0.
    wrt : which gradients to check: names among ``"x"``, ``"params"`` (every parameter),
        ``"state"`` (the initial state) and the layer's parameter names (e.g. ``"W_z"``); a
        single name may be given as a string. An unknown name is an error (a typo must not
        read as a passing check).
    forward_kwargs : optional dict passed to every ``layer.forward`` call, e.g.
        ``{"lengths": [5, 2]}`` for a variable-length batch, or a fixed dropout seed
        ``{"rng": 0}`` for a :class:`~minilstm.nn.stack.Stack` (E must be the same function of the
        parameters at every call).

    The scalar is :math:`E = \sum_{t,b,k} u_{tbk}\,y_{tbk}(t) + \sum_j \sum v_j \odot
    \text{state}_j(T)` with ``u`` of the shape of ``y (T, B, n_out)`` and ``v`` of the state's
    ``(B, n)``; each array :math:`\theta` is compared as :math:`\text{rel}(\partial E/\partial\theta,
    \widehat{\partial E/\partial\theta})` (module docstring).

    A float32 layer gets its analytic gradient in float32 and its reference in a float64 copy
    (``layer.to(dtype="float64")``): expect relative errors near 1e-4–1e-6 then, not 1e-9.
    """
    wrt = _check_gradcheck_args(layer, x, eps, wrt)
    check_seed("seed", seed)
    xp = layer.xp
    if state is None:
        state = layer.init_state(x.shape[1])
    kw = dict(forward_kwargs or {})
    y, cache = layer.forward(x, state, **kw)
    rng = backend.default_rng(seed)
    u = backend.normal(rng, y.shape, xp=xp, dtype=layer.dtype)
    v = tuple(backend.normal(rng, s.shape, xp=xp, dtype=layer.dtype) for s in cache.state)
    dx, grads, dstate0 = layer.backward(u, cache, dstate=v, return_dstate=True)

    ref = layer if layer.dtype == np.float64 else layer.to(dtype="float64")
    x64 = xp.asarray(backend.to_numpy(x).astype(np.float64))
    s64 = tuple(xp.asarray(backend.to_numpy(s).astype(np.float64)) for s in state)
    u64 = u.astype(np.float64)
    v64 = tuple(a.astype(np.float64) for a in v)

    def energy():
        y_, c_ = ref.forward(x64, s64, **kw)
        e = float((u64 * y_).sum())
        return e + sum(float((a * b).sum()) for a, b in zip(v64, c_.state))

    report = GradcheckReport()
    if "x" in wrt:
        report.add("x", dx, numerical_gradient(energy, x64, eps))
    for k in layer.params:
        if "params" in wrt or k in wrt:
            report.add(k, grads[k], numerical_gradient(energy, ref.params[k], eps))
    if "state" in wrt:
        for name, d, s in zip(layer.state_names, dstate0, s64):
            report.add(f"state0[{name}]", d, numerical_gradient(energy, s, eps))
    return report


_LAYER_API = ("params", "forward", "backward", "init_state", "state_names", "xp", "dtype")


def _check_gradcheck_args(layer, x, eps, wrt) -> tuple:
    """Refuse what :func:`gradcheck` cannot check, naming the argument; returns ``wrt`` as a tuple."""
    missing = [a for a in _LAYER_API if not hasattr(layer, a)]
    if missing:
        hint = (" (for a scalar function f() of an array a, use numerical_gradient(f, a))"
                if callable(layer) and not hasattr(layer, "params") else "")
        raise TypeError(f"layer must be a recurrent layer of minilstm (RNN, GRU, LSTM or a preset), with "
                        f"{', '.join(_LAYER_API)}; got {type(layer).__name__} without "
                        f"{', '.join(missing)}{hint}")
    if layer.dtype != np.float64 and not hasattr(layer, "to"):
        raise TypeError(f"layer is {np.dtype(layer.dtype).name} and {type(layer).__name__} has no "
                        "to(dtype='float64') for the float64 reference; build it in float64")
    check_array("x", x, ndim=3, xp=layer.xp)
    check_number("eps", eps, above=0)
    names = (wrt,) if isinstance(wrt, str) else wrt
    try:
        names = tuple(names)
    except TypeError:
        raise TypeError(f"wrt must be a name or a tuple of names, got {wrt!r}") from None
    known = ("x", "params", "state", *layer.params)
    unknown = [n for n in names if not isinstance(n, str) or n not in known]
    if unknown or not names:
        raise ValueError(f"wrt must name what to check among {', '.join(map(repr, known))}; "
                         f"got {wrt!r}" + (f" (unknown: {', '.join(map(repr, unknown))})" if unknown else ""))
    return names
