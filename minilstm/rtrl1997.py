r"""The 1997 learning rule: the truncated gradient, computed forward in time (RTRL style).

Hochreiter & Schmidhuber (1997), Sec. 4 and App. A. LSTM was not trained by full backpropagation
through time in 1997. The paper *truncates* the gradient: the derivatives of the net inputs of
the cells and gates with respect to the recurrent activations :math:`u(t-1)` (all hidden units'
activations at t−1: :math:`y, i, f, o`) are set to zero. Error that reaches a net input changes
that unit's incoming weights, but it is not carried back in time through :math:`u(t-1)`; only the
constant error carousel, the cell state :math:`c` [:math:`s_c`], carries error back. With the
truncation the gradient can be computed *forward* in time, online, from the partial derivatives
of the cell states with respect to the weights, at a cost of :math:`O(W)` per step and storage
that does not grow with the sequence length T: local in space and time.

Notation (the book's; the 1997 names in brackets)
-------------------------------------------------
For one sequence (the code runs B at once, as the rows of ``(B, ·)`` arrays): H cells in
:math:`n_b = H/S` blocks of S cells; the block of cell j is :math:`k(j)`. Every cell and gate reads
the source vector

.. math:: v(t) = [\,x(t);\ 1;\ u(t-1)\,] \in \mathbb{R}^{M}, \qquad M = I + 1 + U

[the :math:`y^m(t-1)` of the paper: input units, the bias unit, the hidden units], so a weight
:math:`w_{l m}` [:math:`w_{lm}`] is an entry of the row of unit l in :math:`[W_l \mid b_l \mid R_l]`.
Pre-activations :math:`\bar z, \bar i, \bar f, \bar o` [:math:`net_c, net_{in}, net_\varphi,
net_{out}`]; :math:`z = g(\bar z)` [:math:`g(net_c)`], :math:`i, f, o` [:math:`y^{in}, y^\varphi,
y^{out}`], :math:`c` [:math:`s_c`], :math:`y = o\odot h(c)` [:math:`y^c`]. A missing gate is 1.

The forward partials (the rule's memory)
----------------------------------------
With the truncation, :math:`c_j(t) = f_{k}(t)\,c_j(t-1) + i_{k}(t)\,z_j(t)` depends on the weights
only through its own past and the step's net inputs, so its partial derivatives obey a forward
recursion (:math:`k = k(j)`; all partials 0 at the start of a sequence, when the activations are
reset too):

.. math::

    \frac{\partial c_j}{\partial w_{z_j, m}}(t) &= f_k(t)\,\frac{\partial c_j}{\partial w_{z_j, m}}(t-1)
        + g'(\bar z_j(t))\, i_k(t)\, v_m(t) \\
    \frac{\partial c_j}{\partial w_{i_k, m}}(t) &= f_k(t)\,\frac{\partial c_j}{\partial w_{i_k, m}}(t-1)
        + z_j(t)\, \sigma'(\bar i_k(t))\, v_m(t) \\
    \frac{\partial c_j}{\partial w_{f_k, m}}(t) &= f_k(t)\,\frac{\partial c_j}{\partial w_{f_k, m}}(t-1)
        + c_j(t-1)\, \sigma'(\bar f_k(t))\, v_m(t)

In the paper's symbols (1997, no forget gate; Gers et al. 2000 for :math:`\varphi`):

.. math::

    \frac{\partial s_c}{\partial w_{c m}}(t) &= \frac{\partial s_c}{\partial w_{c m}}(t-1)
        + g'(net_c(t))\, y^{in}(t)\, y^m(t-1) \\
    \frac{\partial s_c}{\partial w_{in, m}}(t) &= \frac{\partial s_c}{\partial w_{in, m}}(t-1)
        + g(net_c(t))\, f'_{in}(net_{in}(t))\, y^m(t-1) \\
    \frac{\partial s_c}{\partial w_{\varphi m}}(t) &= \frac{\partial s_c}{\partial w_{\varphi m}}(t-1)\,
        y^{\varphi}(t) + s_c(t-1)\, f'_{\varphi}(net_{\varphi}(t))\, y^m(t-1)

(with forget gates the old partials in the first two are multiplied by :math:`y^\varphi(t)` too).

Without a forget gate :math:`f \equiv 1` and these are running sums, exactly the 1997 equations.
Without an input gate :math:`i \equiv 1`. With a coupled input-forget gate (CIFG, :math:`f = 1-i`)
the input-gate term is :math:`(z_j(t) - c_j(t-1))\,\sigma'(\bar i_k(t))\,v_m(t)`.

Peepholes (Gers & Schmidhuber 2000; Gers et al. 2002). The peephole weights :math:`p_{i,r}, p_{f,r}`
from the cells r of block k to its input and forget gates count among the :math:`w_{lm}`, with the
cell state :math:`c_r(t-1)` as source :math:`v_m`, and are truncated like the recurrent ones (the
2002 rule lets no error flow back through the peepholes):

.. math::

    \frac{\partial c_j}{\partial p_{i, r}}(t) = f_k(t)\,\frac{\partial c_j}{\partial p_{i, r}}(t-1)
        + z_j(t)\,\sigma'(\bar i_k(t))\,c_r(t-1), \qquad r, j \in \text{block } k,

and likewise for :math:`p_f` with :math:`c_j(t-1)` in place of :math:`z_j(t)`.

The gradient at a step
----------------------
Given the error at the cell outputs :math:`\partial E/\partial y_j(t)` [:math:`\sum_k w_{k c}
\vartheta_k(t)`, from the readout and the loss],

.. math::

    e_j(t) &= \frac{\partial E}{\partial y_j(t)}\, o_k(t)\, h'(c_j(t)) \\
    \Delta_t w_{l m} &= \sum_{j \text{ fed by } l} e_j(t)\, \frac{\partial c_j}{\partial w_{l m}}(t),
        \qquad l \in \{z, i, f\} \\
    \delta_{o,k}(t) &= \sigma'(\bar o_k(t)) \sum_{j\in k} h(c_j(t))\,\frac{\partial E}{\partial y_j(t)} \\
    \Delta_t w_{o_k, m} &= \delta_{o,k}(t)\, v_m(t), \qquad \Delta_t p_{o, j} = \delta_{o,k}(t)\,c_j(t)

— the output gate gets its ordinary, non-recurrent gradient. In the paper's symbols
:math:`e_j` is :math:`e_{s_c}(t) = y^{out}(t)\,h'(s_c(t))\sum_k w_{kc}\vartheta_k(t)`,
:math:`\delta_o` is :math:`\vartheta_{out}(t)`, and :math:`\Delta_t w_{lm} = \sum_c e_{s_c}(t)\,
\partial s_c/\partial w_{lm}(t)` (times −α for the weight change).

The step's :math:`\Delta_t w` is :math:`\partial E(t)/\partial w` with the truncated paths cut, where E(t)
is the error at step t. Summed over the steps of a sequence with the weights held fixed it is the
gradient of :math:`E = \sum_t E(t)` of the truncated network (:func:`sequence_gradient`); applied
after every step it is the paper's online learning (:class:`TruncatedRTRL`). Full BPTT
(:meth:`minilstm.nn.lstm.LSTM.backward`) gives the same numbers where the cut paths carry nothing:
T = 1 (without an output-gate peephole), or all :math:`R_\ast = 0` and :math:`p_\ast = 0`.

Shapes (B sequences, K = 1 + the number of input/forget gates with weights)
---------------------------------------------------------------------------
``dc_dw (B, H, K, M)``: :math:`\partial c_j/\partial w_{l,m}` for cell j, unit l ∈ [z, i, f]
(the cell's own z unit and its block's gates), source m of :math:`v = [x, 1, u]`.
``dc_dp (B, n_b, S, K_p, S)``: :math:`\partial c_{k,s}/\partial p_{l,(k,r)}` for the peephole gates.
The rule also keeps the layer's state and the last step's cache; nothing depends on T.

Cost per step: :math:`O(B\,H\,K\,M)` time and memory for the partials, i.e. S times the number
of weights of the cells and input/forget gates per sequence (each cell carries the partials of its
block's gate weights), as in the paper; BPTT instead stores :math:`O(T\,B\,G)` activations.
"""
from __future__ import annotations

from .functional import activation
from .nn.lstm import LSTM, to_blocks, to_cells
from .nn.recurrent import check_states
from .validate import check_array, check_finite, check_finite_params, check_int

__all__ = ["TruncatedRTRL", "sequence_gradient"]


class TruncatedRTRL:
    r"""The 1997 truncated gradient of an :class:`~minilstm.nn.lstm.LSTM` layer, forward in time.

    Wraps a layer (any :class:`~minilstm.nn.lstm.LSTM`: :func:`~minilstm.nn.presets.lstm_1997`,
    :func:`~minilstm.nn.presets.lstm_forget_1999`, :func:`~minilstm.nn.presets.lstm_peephole_2000`,
    Greff's variants...) and runs it one step at a time with :meth:`LSTM.step_forward
    <minilstm.nn.lstm.LSTM.step_forward>`, carrying the partial derivatives of the cell states
    forward (equations in the module docstring). Each sequence of the batch has its own partials.

    Online use, as in 1997 (update the weights after every step)::

        rule = TruncatedRTRL(layer)
        rule.reset(B)                          # activations and partials to 0
        for t in range(T):
            y_t = rule.forward(x[t])           # (B, H): one step, partials updated
            dy_t = ...                         # ∂E(t)/∂y(t) from the readout and the loss
            opt.step(rule.gradient(dy_t))      # Δ_t w for every key of layer.params

    or ``y_t, grads = rule.step(x[t], dy)`` with ``dy`` an array or a function ``y_t -> dy_t``.
    The weights may change between steps; the partials are then, as in RTRL and in the paper,
    those accumulated under the weights of the earlier steps.

    Parameters
    ----------
    layer : :class:`~minilstm.nn.lstm.LSTM`; its ``params`` are read at every step (in place updates
        by an optimizer take effect at the next step).

    Attributes
    ----------
    dc_dw : ``(B, H, K, M)`` the partials :math:`\partial c_j/\partial w_{l,m}`; ``units`` names
        the K axis (``('z', 'i', 'f')`` or fewer), the M axis is ``v = [x (I), 1, u (U)]``.
    dc_dp : ``(B, nb, S, Kp, S)`` the peephole partials, or None; ``peephole_units`` names Kp.
    state : the layer's state after the last step; ``cache`` : its :class:`~minilstm.nn.lstm.LSTMStep`.
    nbytes : bytes held by all of the rule's arrays (constant in T).
    """

    def __init__(self, layer):
        if not isinstance(layer, LSTM):
            raise TypeError(f"layer must be a minilstm.nn.lstm.LSTM layer (any preset) for TruncatedRTRL, "
                            f"got {type(layer).__name__}")
        self.layer = layer
        H, I, U = layer.n_cells, layer.n_in, layer.U
        self.H, self.I, self.U = H, I, U
        self.S, self.nb = layer.cells_per_block, layer.n_blocks
        self.M = I + 1 + U                                   # v = [x, 1, u]
        self.Uz = layer.layout.U_z                           # U, or H with FGR (z reads y only)
        # the units whose weights reach c(t) through the CEC: z and the gates before the update
        self.units = ("z",) + tuple(k for k in layer.gates if k in ("i", "f"))
        self.peephole_units = tuple(k for k in self.units[1:] if f"p_{k}" in layer.params)
        self._dg = activation(layer.g, "g")[1]
        self._dh = activation(layer.h, "h")[1]
        self.batch = None
        self.state = self.cache = self.dc_dw = self.dc_dp = None

    # ---- helpers ----------------------------------------------------------------------------------
    @property
    def xp(self):
        return self.layer.xp

    # ---- sequence start ------------------------------------------------------------------------
    def reset(self, batch, state=None):
        """Start B new sequences: the state to zero (or ``state``) and every partial to zero.

        ``state`` : optional tuple like the layer's (``layer.state_shapes(batch)``); the partials
        still start at 0, since an initial state does not depend on the weights.
        """
        layer, xp = self.layer, self.xp
        B = self.batch = check_int("batch", batch)
        check_finite_params(layer.params, layer.flat)        # once per sequence, not per step
        if state is None:
            self.state = layer.init_state(B)
        else:
            state = check_states("state", state, layer.state_names, layer.state_shapes(B), layer.dtype, xp)
            self.state = tuple(s.copy() for s in state)
        dt, H, K, M = layer.dtype, self.H, len(self.units), self.M
        self.dc_dw = xp.zeros((B, H, K, M), dtype=dt)        # ∂c_j/∂w_{l,m}  [∂s_c/∂w_lm]
        self._tmp = xp.empty((B, H, K, M), dtype=dt)         # scratch for the new outer products
        self._dc_dnet = xp.empty((B, H, K), dtype=dt)        # ∂c_j(t)/∂(net of unit l) this step
        self._v = xp.zeros((B, M), dtype=dt)                 # v(t) = [x(t), 1, u(t-1)]
        self._v[:, self.I] = 1.0
        Kp = len(self.peephole_units)
        self.dc_dp = xp.zeros((B, self.nb, self.S, Kp, self.S), dtype=dt) if Kp else None
        self.cache = self._x = None
        return self

    # ---- one step ------------------------------------------------------------------------------
    def forward(self, x_t):
        r"""One step: :math:`y(t)` from :math:`x(t)` and the carried state; the partials move to t.

        ``x_t (B, I)`` on the layer's backend and dtype. Returns ``y_t (B, H)``.
        Starts a new batch of sequences (:meth:`reset`) if none was started. A step reads nothing
        from the device: its values are not checked (NaN or inf in ``x_t`` gives NaN outputs and
        partials, which the guard of :func:`~minilstm.train.fit` reports); the parameters are
        checked once per sequence, at :meth:`reset`.
        """
        layer = self.layer
        check_array("x_t", x_t, ndim=2, xp=self.xp)
        if self.batch is None:
            self.reset(x_t.shape[0])
        check_array("x_t", x_t, shape=(self.batch, self.I), dtype=layer.dtype)
        a_t = layer.project(x_t[None])[0]                    # (B, G) = W x(t) + b
        return self._advance(x_t, a_t)

    def _advance(self, x_t, a_t):
        layer, xp, H, I = self.layer, self.xp, self.H, self.I
        y_t, self.state, s = layer.step_forward(layer.params, a_t, self.state)
        self.cache, self._x = s, x_t
        v, dc_dnet = self._v, self._dc_dnet
        v[:, :I] = x_t                                       # x(t)     [input units]
        v[:, I + 1:] = s.u_prev                              # u(t-1)   [all hidden units at t-1]
        # ∂c_j(t)/∂net_l(t) for l = z, i, f; c = f⊙c(t-1) + i⊙z
        dz = self._dg(s.z)                                   # g'(z̄)    [g'(net_c)]
        dc_dnet[:, :, 0] = dz * to_cells(s.i, self.S) if s.i is not None else dz
        for n, k in enumerate(self.units[1:], start=1):
            if k == "i":                                     # z σ'(ī)  [g(net_c) f'_in(net_in)]
                d = to_cells(s.i * (1.0 - s.i), self.S)
                dc_dnet[:, :, n] = d * (s.z - s.c_prev) if layer.cifg else d * s.z
            else:                                            # c(t-1) σ'(f̄)  [s_c(t-1) f'_φ]
                dc_dnet[:, :, n] = to_cells(s.f * (1.0 - s.f), self.S) * s.c_prev
        P = self.dc_dw
        if s.f is not None:                                  # the CEC, scaled by the forget gate
            P *= to_cells(s.f, self.S)[:, :, None, None]
        xp.multiply(dc_dnet[:, :, :, None], v[:, None, None, :], out=self._tmp)
        P += self._tmp                                       # + ∂c/∂net ⊗ v(t)
        if self.dc_dp is not None:                           # peepholes: source c(t-1) of the block
            B, nb, S = self.batch, self.nb, self.S
            Q = self.dc_dp                                   # (B, nb, S, Kp, S)
            if s.f is not None:
                Q *= to_cells(s.f, self.S).reshape(B, nb, S, 1, 1)
            cp = [self.units.index(k) for k in self.peephole_units]
            Q += dc_dnet[:, :, cp].reshape(B, nb, S, len(cp), 1) * s.c_prev.reshape(B, nb, 1, 1, S)
        return y_t

    def gradient(self, dy_t, into=None):
        r"""The truncated gradient contribution :math:`\Delta_t w` of the current step.

        ``dy_t (B, H)`` : :math:`\partial E(t)/\partial y(t)`, the error at the cell outputs at
        this step (summed over the batch: each sequence uses its own partials); its values are
        not checked (no device read per step, as in :meth:`forward`).
        ``into`` : optional dict like ``layer.params`` to *add* the contribution to (in place).
        Returns a dict with exactly the keys of ``layer.params`` (``into`` itself when given).
        """
        if self.cache is None:
            raise RuntimeError("gradient() needs a step first: call forward(x_t) (or step)")
        layer, xp, s = self.layer, self.xp, self.cache
        B, H, I, nb, S, M = self.batch, self.H, self.I, self.nb, self.S, self.M
        check_array("dy_t", dy_t, shape=(B, H), dtype=layer.dtype, xp=xp)
        hc = s.hc                                            # h(c(t))
        dyo = dy_t * to_cells(s.o, self.S) if s.o is not None else dy_t
        e = dyo * self._dh(hc)                               # e_j(t) = ∂E/∂y_j o_k h'(c_j)  [e_{s_c}]
        dw = xp.einsum("bh,bhkm->hkm", e, self.dc_dw)        # (H, K, M): Σ_b e_j ∂c_j/∂w_{l,m}
        out = {}
        # the cells' own weights: row j of [W_z | b_z | R_z]
        out["W_z"] = dw[:, 0, :I]
        if "b_z" in layer.params:
            out["b_z"] = dw[:, 0, I]
        out["R_z"] = dw[:, 0, I + 1:I + 1 + self.Uz]
        if len(self.units) > 1:                              # a gate's row feeds all S cells of its block
            dw_gates = dw[:, 1:, :] if S == 1 else dw[:, 1:, :].reshape(nb, S, -1, M).sum(axis=1)
            for n, k in enumerate(self.units[1:]):
                out[f"W_{k}"] = dw_gates[:, n, :I]
                if f"b_{k}" in layer.params:
                    out[f"b_{k}"] = dw_gates[:, n, I]
                out[f"R_{k}"] = dw_gates[:, n, I + 1:]
        if self.dc_dp is not None:                           # Σ_b Σ_{s∈k} e_{k,s} ∂c_{k,s}/∂p_{l,(k,r)}
            dp = xp.einsum("bns,bnslr->lnr", e.reshape(B, nb, S), self.dc_dp)
            for n, k in enumerate(self.peephole_units):
                out[f"p_{k}"] = dp[n].reshape(H)
        if s.o is not None:                                  # ordinary gradient of the output gate
            delta_o = to_blocks(dy_t * hc, self.S) * (s.o * (1.0 - s.o))   # (B, nb)  [ϑ_out]
            out["W_o"] = delta_o.T @ self._x
            if "b_o" in layer.params:
                out["b_o"] = delta_o.sum(axis=0)
            out["R_o"] = delta_o.T @ s.u_prev
            if "p_o" in layer.params:                        # o sees c(t); no error back into c
                out["p_o"] = (to_cells(delta_o, self.S) * s.c).sum(axis=0)
        assert set(out) == set(layer.params), (sorted(out), sorted(layer.params))
        if into is None:
            return {k: out[k].copy() for k in layer.params}
        for k in layer.params:
            into[k] += out[k]
        return into

    def step(self, x_t, dy=None):
        r"""``forward(x_t)`` and, if ``dy`` is given, ``gradient``: returns ``(y_t, grads)``.

        ``dy`` : ``(B, H)`` array :math:`\partial E(t)/\partial y(t)`, or a function
        ``y_t -> dy_t`` (the readout and the loss), or None (then ``grads`` is None).
        """
        y_t = self.forward(x_t)
        if dy is None:
            return y_t, None
        dy_t = dy(y_t) if callable(dy) else dy
        return y_t, self.gradient(dy_t)

    # ---- bookkeeping ---------------------------------------------------------------------------
    def arrays(self) -> dict:
        """Every array the rule holds between steps (partials, scratch, state, last cache)."""
        out = {"dc_dw": self.dc_dw, "dc_dp": self.dc_dp, "tmp": getattr(self, "_tmp", None),
               "dc_dnet": getattr(self, "_dc_dnet", None), "v": getattr(self, "_v", None),
               "x_t": self._x}
        for n, a in enumerate(self.state or ()):
            out[f"state[{n}]"] = a
        if self.cache is not None:
            for name, a in self.cache._asdict().items():
                out[f"cache.{name}"] = a
        return {k: a for k, a in out.items() if a is not None}

    @property
    def nbytes(self) -> int:
        """Bytes held by :meth:`arrays` (views counted at their own size): constant in T."""
        return int(sum(a.nbytes for a in self.arrays().values()))

    def __repr__(self):
        return (f"TruncatedRTRL({self.layer!r}, batch={self.batch}, units={self.units}, "
                f"peepholes={self.peephole_units})")


def sequence_gradient(layer, x, dy, state=None, *, return_y=False, chunk=64):
    r"""The truncated gradient of a whole sequence batch, with the weights held fixed.

    :math:`\sum_t \Delta_t w` (module docstring): the gradient of :math:`E = \sum_t E(t)` when the
    paths into the net inputs of cells and gates through :math:`u(t-1)` (and through the
    peepholes) are cut. Memory does not grow with T beyond ``x`` and ``dy`` themselves: the input
    projection is computed ``chunk`` steps at a time.

    Parameters
    ----------
    layer : :class:`~minilstm.nn.lstm.LSTM`. x : ``(T, B, I)``. dy : ``(T, B, H)``,
        :math:`\partial E/\partial y(t)` at every step. state : initial state or None (zeros).
    return_y : also return the outputs ``y (T, B, H)``.

    Returns
    -------
    grads : dict with exactly the keys of ``layer.params`` (and ``y`` first with ``return_y``).
    """
    if not isinstance(layer, LSTM):
        raise TypeError(f"layer must be a minilstm.nn.lstm.LSTM layer (any preset), got {type(layer).__name__}")
    check_int("chunk", chunk)
    xp = layer.xp
    check_array("x", x, ndim=3, xp=xp)
    check_array("x", x, shape=(None, None, layer.n_in), dtype=layer.dtype)
    T, B = x.shape[:2]
    check_array("dy", dy, shape=(T, B, layer.n_out), dtype=layer.dtype, xp=xp)
    check_finite("x", x)
    check_finite("dy", dy)
    check_finite_params(layer.params, layer.flat)
    rule = TruncatedRTRL(layer).reset(B, state)
    grads = {k: xp.zeros_like(p) for k, p in layer.params.items()}
    y = xp.empty((T, B, layer.n_out), dtype=layer.dtype) if return_y else None
    for t0 in range(0, T, chunk):
        a = layer.project(x[t0:t0 + chunk])                 # (≤chunk, B, G)
        for t in range(t0, min(T, t0 + chunk)):
            y_t = rule._advance(x[t], a[t - t0])
            if return_y:
                y[t] = y_t
            rule.gradient(dy[t], into=grads)
    return (y, grads) if return_y else grads
