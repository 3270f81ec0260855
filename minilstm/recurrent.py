r"""What every recurrent layer shares: fused parameters, input checks, and the sequence loop.

A recurrent layer is a pair of **stateless** step functions plus a parameter holder:

``step_forward(params, a_t, state) -> (y_t, state, cache_t)``
    one time step; ``a_t`` is the step's input projection :math:`W x(t) + b`, shape ``(B, G)``
    (computed for all T steps at once, in one matrix product, before the loop).
``step_backward(params, dy_t, dstate, cache_t) -> (da_t, dstate_prev)``
    the same step backwards: from :math:`\partial E/\partial y(t)` (the total derivative arriving
    from above) and :math:`\partial E/\partial \text{state}(t)` (arriving from step t+1), the error
    at the step's pre-activations ``da_t`` and at the previous state.

The weight gradients are not summed step by step: after the loop they are large matrix products
over all T·B rows, e.g. :math:`\partial E/\partial W = \sum_t \delta a(t)^\top x(t)` as one
``(G, T·B) @ (T·B, I)`` product. Layers say how, in ``_weight_grads``.

The loop itself (forward in time, then BPTT backwards) is written once, here.

**Fast path (optional, per layer).** Called on their own, the step functions allocate their
results. Inside the loop a layer may do better through two hooks (the defaults return None: plain
loop):

* ``_sequence_buffers(a, state0) -> (y, step_kwargs, extra)``: arrays for all T steps,
  allocated once. ``a (T, B, G)`` is the input projection, the loop's own array: a layer may use
  ``a[t]`` as step t's pre-activation buffer. ``step_kwargs[t]`` (e.g. ``{"out": views of step
  t}``) is passed to ``step_forward``, which writes its results there (``out=``), so that
  ``y (T, B, n_out)`` is filled without copies; ``extra`` is kept as ``cache.extra`` (the
  ``(T, ·)`` arrays, for ``_weight_grads``).
* ``_backward_buffers(cache) -> (da, step_kwargs)``: ``da (T, B, G)`` and, per step, keyword
  arguments for ``step_backward``: scratch ``out=`` buffers reused at every step and, where that
  is faster, the elementwise factors that do not depend on the recurrence (gate derivatives and
  the like) computed for all T steps at once before the loop.

Both paths run the same step functions on the same formulas; the tests compare them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import backend
from .validate import (as_float_dtype, check_array, check_finite, check_finite_params, check_int,
                       check_number, check_seed)

__all__ = ["Recurrent", "SequenceCache", "layer_args"]


def layer_args(*, init_scale, seed, dtype, scale_none_ok=True, **sizes):
    """Check the constructor arguments every recurrent layer has, by the names the caller wrote.

    ``sizes`` : e.g. ``n_in=..., n_hidden=...``, each an int >= 1; ``init_scale`` : a finite
    number >= 0 (or None where ``scale_none_ok``: the layer's default); ``seed`` : None or an
    int >= 0; ``dtype`` : float32 or float64. Returns ``(*sizes as ints, init_scale, dtype)``
    with ``init_scale`` as given (it goes into ``config``) and ``dtype`` a NumPy dtype.
    """
    ints = tuple(check_int(name, v) for name, v in sizes.items())
    check_number("init_scale", init_scale, minimum=0, none_ok=scale_none_ok)
    check_seed("seed", seed)
    return (*ints, init_scale, as_float_dtype("dtype", dtype))


@dataclass
class SequenceCache:
    """What ``forward`` keeps for ``backward``.

    ``x`` the input ``(T, B, I)``; ``state0`` the initial state; ``state`` the final state (use it
    to carry on with the next window); ``steps`` the per-step caches; ``extra`` layer-specific.
    """
    x: object
    state0: tuple
    state: tuple
    steps: list
    extra: dict = field(default_factory=dict)


class Recurrent:
    """Base class: ``params`` (views into one fused buffer ``flat``), ``forward``, ``backward``.

    Subclasses define ``state_names``, ``n_out``, ``_param_shapes()``, ``step_forward``,
    ``step_backward``, ``_project(x)``, ``_weight_grads(x, da, cache)`` and ``config``.
    """

    state_names: tuple = ("h",)

    # ---- parameters ------------------------------------------------------------------------
    def _allocate(self, shapes: dict, xp, dtype):
        """One contiguous buffer ``flat`` holding every parameter; ``params`` are views into it."""
        dtype = as_float_dtype("dtype", dtype)
        sizes = {k: int(np.prod(s)) for k, s in shapes.items()}
        self.flat = xp.zeros(sum(sizes.values()), dtype=dtype)
        self._xp = backend.get_array_module(self.flat)
        self.params, offset = {}, 0
        for k, s in shapes.items():
            self.params[k] = self.flat[offset:offset + sizes[k]].reshape(s)
            offset += sizes[k]
        self._offsets = {}
        offset = 0
        for k in shapes:
            self._offsets[k] = (offset, offset + sizes[k])
            offset += sizes[k]

    def _init_uniform(self, seed, scale):
        """Fill every parameter from U[−scale, scale], drawn on the host (same numbers on every backend)."""
        self.flat[...] = backend.uniform(backend.default_rng(seed), -scale, scale, (self.flat.size,),
                                         xp=self.xp, dtype=self.dtype)

    def _fused(self, first: str, last: str, rows: int):
        """A ``(rows, -1)`` view spanning parameters ``first`` .. ``last`` (adjacent in ``flat``)."""
        return self.flat[self._offsets[first][0]:self._offsets[last][1]].reshape(rows, -1)

    @property
    def xp(self):
        """The array module of the parameters (remembered by :meth:`_allocate`: it is on the hot path)."""
        xp = self.__dict__.get("_xp")
        return xp if xp is not None else backend.get_array_module(self.flat)

    @property
    def dtype(self):
        return self.flat.dtype

    @property
    def n_params(self) -> int:
        """The number of scalar parameters (weights, biases, peepholes)."""
        return int(self.flat.size)

    def set_params(self, values: dict):
        """Copy arrays into ``params`` (in place, so views stay valid); names and shapes checked."""
        unknown = set(values) - set(self.params)
        if unknown:
            raise KeyError(f"unknown parameter name(s) {sorted(unknown)}; this layer has {sorted(self.params)}")
        for k, v in values.items():
            v = self.xp.asarray(backend.to_numpy(v) if backend.get_array_module(v) is not self.xp else v)
            check_array(f"values[{k!r}]", v, shape=self.params[k].shape)
            self.params[k][...] = v
        return self

    def to(self, backend_name=None, dtype=None):
        """A copy of the layer on another backend and/or dtype (same configuration and values)."""
        xp = backend.get_backend(backend_name) if backend_name is not None else self.xp
        dtype = as_float_dtype("dtype", dtype) if dtype is not None else self.dtype
        clone = type(self)(**{**self.config, "dtype": dtype.name, "backend": backend.backend_name(xp)})
        clone.flat[...] = xp.asarray(backend.to_numpy(self.flat).astype(dtype))
        return clone

    # ---- state -----------------------------------------------------------------------------
    def state_shapes(self, batch: int) -> tuple:
        """Shapes of the state arrays for a batch of ``batch`` sequences."""
        batch = check_int("batch", batch)
        return tuple((batch, n) for n in self.state_sizes)

    def init_state(self, batch: int) -> tuple:
        """The zero state (the papers reset activations to 0 at the start of each sequence)."""
        return tuple(self.xp.zeros(s, dtype=self.dtype) for s in self.state_shapes(batch))

    # ---- checks ----------------------------------------------------------------------------
    def _check_input(self, x, state):
        check_array("x", x, ndim=3, xp=self.xp)
        check_array("x", x, shape=(None, None, self.n_in), dtype=self.dtype)
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x must hold at least one step and one sequence, got shape {tuple(x.shape)}")
        check_finite("x", x)
        check_finite_params(self.params, self.flat)
        B = x.shape[1]
        if state is None:
            return self.init_state(B)
        if not isinstance(state, (tuple, list)) or len(state) != len(self.state_names):
            raise ValueError(f"state must be a tuple of {len(self.state_names)} arrays "
                             f"{self.state_names} with shapes {self.state_shapes(B)}, got "
                             f"{type(state).__name__}{'' if not isinstance(state, (tuple, list)) else f' of length {len(state)}'}")
        for name, s, shape in zip(self.state_names, state, self.state_shapes(B)):
            check_array(f"state[{name!r}]", s, shape=shape, dtype=self.dtype, xp=self.xp, finite=True)
        return tuple(state)

    # ---- the shared sequence loop ----------------------------------------------------------
    def forward(self, x, state=None):
        """Run the layer over a sequence batch.

        Parameters
        ----------
        x : array ``(T, B, n_in)``, float32/float64 like the parameters, on their backend.
        state : tuple of arrays ``(B, n)`` (see ``state_names``), or None for zeros.

        Returns
        -------
        y : array ``(T, B, n_out)``. On the fast path it is the buffer that :meth:`backward`
            reads too (no copy is made): copy it before changing it in place.
        cache : :class:`SequenceCache` (``cache.state`` is the final state).
        """
        state0 = self._check_input(x, state)
        T, B = x.shape[:2]
        a = self._project(x)                                   # (T, B, G): all steps at once
        steps, state, params = [], state0, self.params
        buffers = self._sequence_buffers(a, state0)
        with np.errstate(**self._loop_errstate()):
            if buffers is None:                                # plain loop: each step allocates
                y, extra = self.xp.empty((T, B, self.n_out), dtype=self.dtype), {}
                for t in range(T):
                    y[t], state, cache_t = self.step_forward(params, a[t], state)
                    steps.append(cache_t)
            else:                                              # fast path: steps write into buffers
                y, step_kwargs, extra = buffers
                for t in range(T):
                    _, state, cache_t = self.step_forward(params, a[t], state, **step_kwargs[t])
                    steps.append(cache_t)
        return y, SequenceCache(x=x, state0=state0, state=state, steps=steps, extra=extra)

    def backward(self, dy, cache: SequenceCache, dstate=None, return_dstate=False):
        """Backpropagation through time.

        Parameters
        ----------
        dy : array ``(T, B, n_out)``, :math:`\\partial E/\\partial y(t)` from above at every step.
        cache : what :meth:`forward` returned.
        dstate : optional tuple like the state: :math:`\\partial E/\\partial\\,\\text{state}(T)`, the
            error arriving at the final state (from a later window in truncated BPTT).
        return_dstate : also return :math:`\\partial E/\\partial\\,\\text{state}(0)`.

        Returns
        -------
        dx : ``(T, B, n_in)``; grads : dict with exactly the keys of ``params``;
        and, with ``return_dstate``, the tuple ``dstate0``.
        """
        xp, x = self.xp, cache.x
        T, B = x.shape[:2]
        check_array("dy", dy, shape=(T, B, self.n_out), dtype=self.dtype, xp=xp, finite=True)
        if dstate is None:
            dstate = tuple(xp.zeros_like(s) for s in cache.state)
        else:
            if len(dstate) != len(self.state_names):
                raise ValueError(f"dstate must be a tuple of {len(self.state_names)} arrays {self.state_names}")
            for name, d, s in zip(self.state_names, dstate, cache.state):
                check_array(f"dstate[{name!r}]", d, shape=s.shape, dtype=self.dtype, xp=xp, finite=True)
        params, steps = self.params, cache.steps
        buffers = self._backward_buffers(cache)
        if buffers is None:                                    # plain loop
            da = None
            for t in range(T - 1, -1, -1):
                da_t, dstate = self.step_backward(params, dy[t], dstate, steps[t])
                if da is None:
                    da = xp.empty((T,) + da_t.shape, dtype=self.dtype)   # (T, B, G)
                da[t] = da_t
        else:                                                  # fast path: writes da[t] in place
            da, step_kwargs = buffers
            for t in range(T - 1, -1, -1):
                _, dstate = self.step_backward(params, dy[t], dstate, steps[t], **step_kwargs[t])
        dx, grads = self._weight_grads(x, da, cache)
        assert set(grads) == set(self.params), "a layer's grads must have exactly the keys of params"
        return (dx, grads, tuple(dstate)) if return_dstate else (dx, grads)

    # ---- fast-path hooks (see the module docstring); the defaults select the plain loop -------
    def _sequence_buffers(self, a, state0):
        """``None``, or ``(y, step_kwargs, extra)``: buffers for all T steps that ``step_forward``
        fills through its keyword arguments ``step_kwargs[t]``; ``extra`` goes to ``cache.extra``.
        ``a (T, B, G)`` is the input projection, which the layer may use in place."""
        return None

    #: Fast paths compute the backward factors that do not depend on the recurrence for all
    #: steps at once when a step has at most this many values (B·H), else inside each step.
    #: Measured (NumPy, benchmarks/): with small steps the ~10 calls per step cost more than the
    #: work; with large ones the one pass over strided ``(T, B, ·)`` views streams through memory
    #: and is slower.
    _factors_at_once_max = 1024

    def _loop_errstate(self):
        """Keyword arguments of ``numpy.errstate`` for the forward loop: ``{}`` (NumPy's defaults),
        or e.g. ``{"over": "ignore"}`` for a layer whose logistic overflows to its exact limit
        (:func:`minilstm.functional.sigmoid_of_negative`)."""
        return {}

    def _backward_buffers(self, cache):
        """``None``, or ``(da, step_kwargs)``: ``da (T, B, G)`` that ``step_backward`` fills through
        its keyword arguments ``step_kwargs[t]`` (scratch buffers, precomputed factors)."""
        return None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"
