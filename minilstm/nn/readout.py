r"""The readout layer.

:class:`Linear` maps the hidden activations of a recurrent layer to the outputs, the same affine
map at every time step:

.. math::

    y_t = W\,x_t + b, \qquad\text{in rows: } Y = X W^\top + b,

with ``W`` of shape ``(n_out, n_in)`` — outputs × inputs, the layout of the recurrent layers'
``W_*: (H, I)`` — and ``b`` of shape ``(n_out,)``. It accepts a sequence batch ``(T, B, n_in)``
or one step ``(B, n_in)``; all leading axes are flattened into rows, so the backward pass
computes the weight gradient as one matrix product over all :math:`T\cdot B` rows:

.. math::

    \frac{\partial L}{\partial X} = \frac{\partial L}{\partial Y} W, \qquad
    \frac{\partial L}{\partial W} = \Big(\frac{\partial L}{\partial Y}\Big)^{\!\top} X, \qquad
    \frac{\partial L}{\partial b} = \sum_{\text{rows}} \frac{\partial L}{\partial Y}.

The output squashing of the 1997 paper (logistic output units) belongs to the loss here:
:func:`minilstm.losses.logistic` applies σ inside, stably, and :func:`minilstm.losses.cross_entropy`
applies :func:`~minilstm.functional.softmax` inside.
"""
from __future__ import annotations

import numpy as np

from ..backend import backend_name, default_rng, get_array_module, get_backend, uniform
from ..functional import log_softmax, softmax  # noqa: F401  (their home is functional)
from ..validate import (as_float_dtype, check_array, check_bool, check_finite, check_finite_params,
                       check_float_dtype, check_int, check_number, check_same_backend, check_seed)

__all__ = ["Linear"]


class Linear:
    r"""Affine readout :math:`y = W x + b`, applied to every time step.

    Parameters
    ----------
    n_in, n_out : int
        Input width (e.g. the hidden size H) and output width (the number of targets K).
    bias : bool
        Whether there is a bias ``b``; without it ``params`` has only ``"W"``.
    init_scale : float
        Weights and bias are drawn uniformly from ``[-init_scale, init_scale]`` (the 1997 paper
        initialises in [−0.1, 0.1] or [−0.2, 0.2]).
    rng : int, numpy.random.Generator or None
        Seed or generator; numbers are drawn on the host, so a seed gives the same weights on
        every backend.
    dtype : float32 or float64
    backend : "numpy", "cupy", "strict", an array module, or None (``MINILSTM_BACKEND``, else NumPy)

    Attributes
    ----------
    params : dict
        ``{"W": (n_out, n_in), "b": (n_out,)}``.
    config : dict
        The JSON-serialisable constructor arguments (``Linear(**layer.config)`` rebuilds the
        architecture; ``rng`` and ``backend`` are not part of it).
    """

    def __init__(self, n_in, n_out, *, bias=True, init_scale=0.1, rng=None, dtype=np.float64,
                 backend=None):
        n_in, n_out = check_int("n_in", n_in), check_int("n_out", n_out)
        check_bool("bias", bias)
        check_number("init_scale", init_scale, minimum=0)
        dt = as_float_dtype("dtype", dtype)
        xp = get_backend(backend)
        gen = default_rng(check_seed("rng", rng, generator=True))
        self.n_in, self.n_out, self.bias = int(n_in), int(n_out), bool(bias)
        self.init_scale, self.dtype = float(init_scale), dt
        s = self.init_scale
        self.params = {"W": uniform(gen, -s, s, (self.n_out, self.n_in), xp=xp, dtype=dt)}
        if self.bias:
            self.params["b"] = uniform(gen, -s, s, (self.n_out,), xp=xp, dtype=dt)

    @property
    def config(self) -> dict:
        """JSON-serialisable constructor arguments: ``Linear(**config)`` rebuilds the architecture."""
        return {"n_in": self.n_in, "n_out": self.n_out, "bias": self.bias,
                "init_scale": self.init_scale, "dtype": self.dtype.name}

    @property
    def n_params(self) -> int:
        """Number of trainable scalars: ``n_out·n_in (+ n_out)``."""
        return sum(int(p.size) for p in self.params.values())

    @property
    def xp(self):
        """The array module holding the parameters."""
        return get_array_module(self.params["W"])

    def __repr__(self):
        return (f"Linear(n_in={self.n_in}, n_out={self.n_out}, bias={self.bias}, "
                f"dtype={self.dtype.name}, backend={backend_name(self.xp)!r})")

    def forward(self, x):
        """``y = x @ W.T + b``; ``x``: ``(T, B, n_in)`` or ``(B, n_in)`` → ``y``: same leading axes, ``n_out``.

        Returns ``(y, cache)``; the cache holds ``x`` for :meth:`backward`. NaN or inf in ``x``
        or in ``params`` is refused by name.
        """
        self._check_input("x", x, self.n_in)
        check_finite_params(self.params)
        return self.affine(x), x

    def affine(self, x):
        """``x @ W.T + b`` for ``x (..., n_in)`` → ``(..., n_out)``, without the checks of
        :meth:`forward` (for one step of generation; :meth:`forward` computes through it)."""
        x2 = x.reshape(-1, self.n_in)                      # (T·B, n_in)
        y2 = x2 @ self.params["W"].T                       # (T·B, n_out)
        if self.bias:
            y2 += self.params["b"]
        return y2.reshape(x.shape[:-1] + (self.n_out,))

    def backward(self, dy, cache):
        """Gradients from ``dy = ∂L/∂y`` (shape of ``y``): returns ``(dx, grads)``.

        ``dx`` has the shape of ``x``; ``grads`` has exactly the keys of ``params``:
        ``dW = dyᵀ x`` over all rows (one matrix product), ``db = Σ_rows dy``.
        """
        x = cache
        self._check_input("dy", dy, self.n_out)
        if dy.shape[:-1] != x.shape[:-1]:
            raise ValueError(f"dy must have shape {x.shape[:-1] + (self.n_out,)} (the shape of y), "
                             f"got {tuple(dy.shape)}")
        dy2 = dy.reshape(-1, self.n_out)                   # (T·B, n_out)
        x2 = x.reshape(-1, self.n_in)                      # (T·B, n_in)
        grads = {"W": dy2.T @ x2}                          # (n_out, n_in)
        if self.bias:
            grads["b"] = dy2.sum(axis=0)                   # (n_out,)
        dx = (dy2 @ self.params["W"]).reshape(x.shape)     # (T·B, n_in) → shape of x
        return dx, grads

    def _check_input(self, name, a, width):
        W = self.params["W"]
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(f"{name} must be an array, got {type(a).__name__}")
        check_same_backend(**{name: a, "W": W})
        if a.ndim not in (2, 3):
            raise ValueError(f"{name} must be (T, B, {width}) or (B, {width}), "
                             f"got shape {tuple(getattr(a, 'shape', ()))}")
        check_array(name, a, shape=(None,) * (a.ndim - 1) + (width,), xp=self.xp)
        check_float_dtype(name, a, W.dtype)
        check_finite(name, a)

