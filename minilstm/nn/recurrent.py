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

* ``_sequence_buffers(a, state0) ->`` :class:`SequenceBuffers` ``(y, step_kwargs, extra,
  step_forward)``: arrays for all T steps, allocated once. ``a (T, B, G)`` is the input
  projection, the loop's own array: a layer may use ``a[t]`` as step t's pre-activation buffer.
  ``step_kwargs[t]`` (e.g. ``{"out": views of step t}``) is passed to the step function, which
  writes its results there (``out=``), so that ``y (T, B, n_out)`` is filled without copies;
  ``extra`` is kept as ``cache.extra`` (the ``(T, ·)`` arrays, for ``_weight_grads``).
* ``_backward_buffers(cache) ->`` :class:`BackwardBuffers` ``(da, step_kwargs, step_backward)``:
  ``da (T, B, G)`` and, per step, keyword arguments for the step function: scratch ``out=``
  buffers reused at every step and, where that is faster, the elementwise factors that do not
  depend on the recurrence (gate derivatives and the like) computed for all T steps at once
  before the loop.

The step functions are the layer's own ``step_forward``/``step_backward`` (the GRU: the same
formulas, written into the buffers), unless the buffers name others: the LSTM's fast path
(:mod:`minilstm.nn.lstm_fast`) computes the same function in other calls. The tests compare
both paths.

**Variable-length batches** (``lengths``). A batch may hold sequences of different lengths
:math:`L_b \le T`, padded at the end. With the mask :math:`m_b(t) = [t < L_b]` (:func:`valid_mask`)
the loop runs every step for the whole batch and then, for the padded rows only, undoes it:

.. math::

    \text{state}_b(t) = m_b(t)\,\text{step}(\text{state}_b(t-1), x_b(t))
        + (1 - m_b(t))\,\text{state}_b(t-1), \qquad y_b(t) = 0 \text{ where } m_b(t) = 0,

so the final state of sequence b is its state after step :math:`L_b - 1`. Backwards, at a padded
step the error at the pre-activations is set to 0 and the state's error passes unchanged,
:math:`\bar{\text{state}}_b(t-1) = \bar{\text{state}}_b(t)`: padded steps add nothing to any
weight gradient, :math:`\partial E/\partial x_b(t) = 0` there, and the error of the final state
reaches step :math:`L_b - 1` intact. The selection is a ``where`` on the device (the padded steps
are known on the host from ``lengths``, so nothing is read back inside the loop); each batch row
is computed on its own, so what the padded rows hold never reaches the valid ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import backend
from ..validate import (all_finite, as_float_dtype, check_array, check_finite, check_finite_params,
                       check_int, check_number, check_seed)

__all__ = ["Recurrent", "SequenceCache", "SequenceBuffers", "BackwardBuffers", "Span", "layer_args",
           "check_lengths", "check_states", "flat_offsets", "flat_views", "forward_part", "valid_mask"]


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


def check_lengths(lengths, T: int, B: int):
    """``lengths`` as a host int array ``(B,)`` with every :math:`L_b` in ``[1, T]``, or None.

    Accepts a list, a NumPy array or a device array (read back once, before any loop). The errors
    name the argument, what was expected and what was received.
    """
    if lengths is None:
        return None
    L = backend.to_numpy(lengths) if hasattr(lengths, "shape") else np.asarray(lengths)
    if L.dtype.kind not in "iu":
        raise TypeError(f"lengths must be integers (one per sequence), got dtype {L.dtype}")
    if L.shape != (B,):
        raise ValueError(f"lengths must have shape ({B},) (one per sequence of the batch), "
                         f"got {tuple(L.shape)}")
    if L.min() < 1 or L.max() > T:
        raise ValueError(f"lengths must lie in [1, T={T}], got values from {int(L.min())} "
                         f"to {int(L.max())}")
    return L.astype(np.int64)


def check_states(what: str, state, names, shapes, dtype, xp) -> tuple:
    """A state (or its error ``dstate``): a tuple of one array per name in ``names``, each of its
    shape in ``shapes``, float ``dtype``, on ``xp`` and finite; errors name ``what[name]``."""
    if not isinstance(state, (tuple, list)) or len(state) != len(names):
        got = type(state).__name__ + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else "")
        raise ValueError(f"{what} must be a tuple of {len(names)} arrays {tuple(names)} with shapes "
                         f"{tuple(tuple(s) for s in shapes)}, got {got}")
    for name, s, shape in zip(names, state, shapes):
        check_array(f"{what}[{name!r}]", s, shape=tuple(shape), dtype=dtype, xp=xp, finite=True)
    return tuple(state)


def forward_part(layer, x, state, lengths):
    """``layer.forward(x, state)``, with ``lengths`` only when there are any: composites and
    models pass it on this way, so that a part whose ``forward`` takes no ``lengths`` (a
    hand-written layer, say) still works in full-length batches."""
    return layer.forward(x, state) if lengths is None else layer.forward(x, state, lengths)


def valid_mask(lengths, T: int, xp=np):
    r"""The mask :math:`m_b(t) = [t < L_b]`: a bool array ``(T, B)`` on ``xp``, True at valid steps.

    ``lengths``: host ints ``(B,)`` (see :func:`check_lengths`). This is also the ``mask`` that
    the losses of :mod:`minilstm.losses` take to score only the valid steps.
    """
    L = np.asarray(lengths)
    return xp.asarray(np.arange(T)[:, None] < L[None, :])


def flat_offsets(shapes: dict) -> dict:
    """``{name: (start, stop)}``: where each parameter of ``shapes`` (``{name: shape}``, in the
    order given) lies in one flat buffer of ``sum(prod(shape))`` numbers."""
    offsets, start = {}, 0
    for name, shape in shapes.items():
        stop = start + int(np.prod(shape))
        offsets[name] = (start, stop)
        start = stop
    return offsets


def flat_views(buf, shapes: dict) -> dict:
    """``{name: view}``: the parameters of ``shapes`` (``{name: shape}``, in that order) as views
    into the 1-d buffer ``buf`` (the layer's ``flat``, or a gradient laid out like it)."""
    return {name: buf[a:b].reshape(shapes[name]) for name, (a, b) in flat_offsets(shapes).items()}


class Span(NamedTuple):
    """Parameters ``names``, adjacent in ``flat`` at ``start:stop``, seen as one ``(rows, -1)``
    matrix (e.g. ``W = [W_z; W_i; W_f; W_o]`` ``(G, I)``)."""
    names: tuple
    start: int
    stop: int
    rows: int

    @classmethod
    def between(cls, offsets: dict, first: str, last: str, rows: int) -> "Span":
        """The span from parameter ``first`` to ``last`` (inclusive) of :func:`flat_offsets`' result."""
        names = list(offsets)
        names = tuple(names[names.index(first):names.index(last) + 1])
        return cls(names, offsets[first][0], offsets[last][1], rows)

    def of(self, buf):
        """The ``(rows, -1)`` view of ``buf[start:stop]`` (``buf``: ``flat`` or a gradient like it)."""
        return buf[self.start:self.stop].reshape(self.rows, -1)


class SequenceBuffers(NamedTuple):
    """What a layer's fast path hands the forward loop (:meth:`Recurrent._sequence_buffers`).

    ``y (T, B, n_out)`` the output, filled by the steps; ``step_kwargs[t]`` the keyword arguments
    of step t (views of the buffers it writes into); ``extra`` kept as ``cache.extra``;
    ``step_forward`` the step function to call, or None for the layer's own.
    """
    y: object
    step_kwargs: list
    extra: object
    step_forward: object = None


class BackwardBuffers(NamedTuple):
    """What a layer's fast path hands the backward loop (:meth:`Recurrent._backward_buffers`).

    ``da (T, B, G)`` the errors at the pre-activations, filled by the steps; ``step_kwargs[t]`` the
    keyword arguments of step t; ``step_backward`` the step function to call, or None for the
    layer's own.
    """
    da: object
    step_kwargs: list
    step_backward: object = None


@dataclass
class SequenceCache:
    """What ``forward`` keeps for ``backward``.

    ``x`` the input ``(T, B, I)``; ``state0`` the initial state; ``state`` the final state (use it
    to carry on with the next window); ``steps`` the per-step caches; ``extra`` what the layer's
    fast path keeps for all T steps (:class:`SequenceBuffers`), None after the plain loop;
    ``lengths`` the host ``(B,)`` lengths or None; ``padded`` the device ``(T, B, 1)`` bool mask
    :math:`1 - m_b(t)`, True at padded steps (None without ``lengths``).
    """
    x: object
    state0: tuple
    state: tuple
    steps: list
    extra: object = None
    lengths: object = None
    padded: object = None


class Recurrent:
    """Base class: ``params`` (views into one fused buffer ``flat``), ``forward``, ``backward``.

    Subclasses call :meth:`_allocate` with their parameter shapes and define ``state_names``,
    ``state_sizes``, ``n_in``, ``n_hidden``, ``n_out``, ``step_forward``, ``step_backward``,
    ``_project(x)``, ``_weight_grads(x, da, cache)`` and ``config``.
    """

    state_names: tuple = ("h",)

    # ---- parameters ------------------------------------------------------------------------
    def _allocate(self, shapes: dict, xp, dtype):
        """One contiguous buffer ``flat`` holding every parameter; ``params`` are views into it."""
        dtype = as_float_dtype("dtype", dtype)
        self._offsets = flat_offsets(shapes)
        self.flat = xp.zeros(sum(b - a for a, b in self._offsets.values()), dtype=dtype)
        self._xp = backend.get_array_module(self.flat)
        self.params = flat_views(self.flat, shapes)

    def _init_uniform(self, seed, scale):
        """Fill every parameter from U[−scale, scale], drawn on the host (same numbers on every backend)."""
        self.flat[...] = backend.uniform(seed, -scale, scale, (self.flat.size,),
                                         xp=self.xp, dtype=self.dtype)

    def _fused(self, first: str, last: str, rows: int):
        """A ``(rows, -1)`` view spanning parameters ``first`` .. ``last`` (adjacent in ``flat``)."""
        return Span.between(self._offsets, first, last, rows).of(self.flat)

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

    # ---- packed trials (minilstm.train.trials) -------------------------------------------------
    def axis_kinds(self) -> dict:
        r"""``{param name: (axis kind, ...)}``: what each axis of each parameter runs over, for
        packing K trials into one K times wider layer (:class:`minilstm.train.trials.TrialBatch`):
        ``'in'`` the inputs, ``'cell'`` the hidden units, or another kind of :meth:`axis_sizes`.

        The default serves any layer whose parameters are ``W_* (H, I)``, ``R_* (H, H)`` and
        ``b_* (H,)`` (or ``W``, ``R``, ``b``), with H = ``n_hidden`` and I = ``n_in``, such as the
        RNN and the GRU; a layer laid out otherwise overrides :meth:`axis_kinds`,
        :meth:`axis_sizes` and :meth:`widen` (the LSTM does).
        """
        kinds = {"W": ("cell", "in"), "R": ("cell", "cell"), "b": ("cell",)}
        width = {"cell": self.n_hidden, "in": self.n_in}
        out = {}
        for name, p in self.params.items():
            k = kinds.get(name.split("_", 1)[0])
            if k is None or tuple(p.shape) != tuple(width[a] for a in k):
                raise TypeError(f"cannot pack trials of a {type(self).__name__}: its parameter {name!r} "
                                f"{tuple(p.shape)} is not W_* (H, I), R_* (H, H) or b_* (H,) with H = "
                                f"{self.n_hidden}, I = {self.n_in}; give the layer its own axis_kinds, "
                                "axis_sizes and widen")
            out[name] = k
        return out

    def axis_sizes(self) -> dict:
        """``{axis kind: (n, ...)}``: one trial's width of each axis kind of :meth:`axis_kinds`,
        in segments. In the K times wider layer a segment of n becomes K·n long and trial k owns
        its entries ``k·n .. k·n + n − 1``. Default: ``{'in': (I,), 'cell': (H,)}``; the output
        y (the readout's input) is the cells unless a ``'y'`` entry says otherwise."""
        return {"in": (self.n_in,), "cell": (self.n_hidden,)}

    def widen(self, K: int):
        """A layer of this class and configuration with K times the inputs and hidden units
        (``n_in`` K·I, ``n_hidden`` K·H) and every parameter 0: the frame for K packed trials."""
        K = check_int("K", K)
        return type(self)(**{**self.config, "n_in": K * self.n_in, "n_hidden": K * self.n_hidden,
                             "seed": None, "init_scale": 0.0})

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
        if not all_finite(x, self.flat):                     # one device read for both
            check_finite("x", x)                             # then name the culprit
            check_finite_params(self.params, self.flat)
        B = x.shape[1]
        if state is None:
            return self.init_state(B)
        return check_states("state", state, self.state_names, self.state_shapes(B), self.dtype, self.xp)

    # ---- the shared sequence loop ----------------------------------------------------------
    def forward(self, x, state=None, lengths=None):
        """Run the layer over a sequence batch.

        Parameters
        ----------
        x : array ``(T, B, n_in)``, float32/float64 like the parameters, on their backend.
        state : tuple of arrays ``(B, n)`` (see ``state_names``), or None for zeros.
        lengths : optional ints ``(B,)``, :math:`1 \\le L_b \\le T`: sequence b is
            ``x[:L_b, b]`` and the rest is padding (module docstring, *Variable-length batches*).

        Returns
        -------
        y : array ``(T, B, n_out)``. On the fast path it is the buffer that :meth:`backward`
            reads too (no copy is made): copy it before changing it in place. With ``lengths``
            it is a new array, 0 at the padded steps.
        cache : :class:`SequenceCache` (``cache.state`` is the final state: with ``lengths``,
            each sequence's state after its own last valid step).
        """
        state0 = self._check_input(x, state)
        lengths = check_lengths(lengths, *x.shape[:2])
        return self._run(x, state0, lengths)

    def step(self, x_t, state):
        """One step ``x_t (B, n_in)`` → ``(y_t (B, n_out), state)``, without the input checks of
        :meth:`forward` (which read a flag back from the device): for generating one step at a
        time (:mod:`minilstm.nn.sampling`). The same loop and formulas as :meth:`forward`."""
        y, cache = self._run(x_t[None], tuple(state), None)
        return y[0], cache.state

    def _run(self, x, state0, lengths):
        T, B = x.shape[:2]
        a = self._project(x)                                   # (T, B, G): all steps at once
        steps, state, params = [], state0, self.params
        padded, first_padded = None, T
        if lengths is not None:
            padded = self.xp.asarray(~valid_mask(lengths, T)[:, :, None])     # (T, B, 1)
            first_padded = int(lengths.min())                  # host: steps from here hold padding
        buffers = self._sequence_buffers(a, state0)
        if buffers is None:                                    # plain loop: each step allocates
            y, extra, step_kwargs = self.xp.empty((T, B, self.n_out), dtype=self.dtype), None, [{}] * T
            step_forward = self.step_forward
        else:                                                  # fast path: steps write into buffers
            y, step_kwargs, extra = buffers.y, buffers.step_kwargs, buffers.extra
            step_forward = buffers.step_forward or self.step_forward
        with np.errstate(**self._loop_errstate()):
            for t in range(T):
                y_t, new, cache_t = step_forward(params, a[t], state, **step_kwargs[t])
                if buffers is None:
                    y[t] = y_t
                if t >= first_padded:                          # padded rows keep their state
                    new = self._keep_padded(new, state, padded[t])
                state = new
                steps.append(cache_t)
        if padded is not None:
            y = self.xp.where(padded, 0.0, y).astype(self.dtype, copy=False)
        return y, SequenceCache(x=x, state0=state0, state=state, steps=steps, extra=extra,
                                lengths=lengths, padded=padded)

    def _keep_padded(self, new, old, padded_t):
        """``new`` with the rows where ``padded_t (B, 1)`` is True set back to ``old`` (in place)."""
        for n, o in zip(new, old):
            self.xp.copyto(n, o, where=padded_t)
        return new

    def backward(self, dy, cache: SequenceCache, dstate=None, return_dstate=False):
        """Backpropagation through time.

        Parameters
        ----------
        dy : array ``(T, B, n_out)``, :math:`\\partial E/\\partial y(t)` from above at every step
            (what it holds at padded steps is ignored).
        cache : what :meth:`forward` returned.
        dstate : optional tuple like the state: :math:`\\partial E/\\partial\\,\\text{state}(T)`, the
            error arriving at the final state (from a later window in truncated BPTT).
        return_dstate : also return :math:`\\partial E/\\partial\\,\\text{state}(0)`.

        Returns
        -------
        dx : ``(T, B, n_in)`` (0 at padded steps); grads : dict with exactly the keys of
        ``params``; and, with ``return_dstate``, the tuple ``dstate0``.
        """
        xp, x = self.xp, cache.x
        T, B = x.shape[:2]
        check_array("dy", dy, shape=(T, B, self.n_out), dtype=self.dtype, xp=xp, finite=True)
        if dstate is None:
            dstate = tuple(xp.zeros_like(s) for s in cache.state)
        else:
            dstate = check_states("dstate", dstate, self.state_names, [s.shape for s in cache.state],
                                  self.dtype, xp)
        params, steps, padded = self.params, cache.steps, cache.padded
        first_padded = T if cache.lengths is None else int(cache.lengths.min())
        buffers = self._backward_buffers(cache)
        if buffers is None:                                    # plain loop
            da, step_kwargs, step_backward = None, [{}] * T, self.step_backward
        else:
            da, step_kwargs = buffers.da, buffers.step_kwargs
            step_backward = buffers.step_backward or self.step_backward
        for t in range(T - 1, -1, -1):
            carried = tuple(d.copy() for d in dstate) if t >= first_padded else None
            da_t, new = step_backward(params, dy[t], dstate, steps[t], **step_kwargs[t])
            if da is None:                                     # plain loop
                da = xp.empty((T,) + da_t.shape, dtype=self.dtype)   # (T, B, G)
            if buffers is None:
                da[t] = da_t
            if carried is not None:                            # padded rows: no error at this
                xp.copyto(da[t], 0.0, where=padded[t])         # step, the state's passes through
                new = self._keep_padded(new, carried, padded[t])
            dstate = new
        dx, grads = self._weight_grads(x, da, cache)
        assert set(grads) == set(self.params), "a layer's grads must have exactly the keys of params"
        return (dx, grads, tuple(dstate)) if return_dstate else (dx, grads)

    # ---- fast-path hooks (see the module docstring); the defaults select the plain loop -------
    def _sequence_buffers(self, a, state0):
        """``None``, or a :class:`SequenceBuffers`: buffers for all T steps that the step function
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
        """``None``, or a :class:`BackwardBuffers`: ``da (T, B, G)`` that the step function fills
        through its keyword arguments ``step_kwargs[t]`` (scratch buffers, precomputed factors)."""
        return None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"
