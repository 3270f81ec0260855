r"""K trials of a 1997 net on a leading array axis, trained online by the 1997 truncated rule.

The rule of :mod:`minilstm.rtrl1997` (equations there) for K independent nets at once: every
weight, state, forward partial and learning rate has a leading trial axis, and each step costs
a handful of batched products (``matmul`` on stacked arrays), so K trials cost about K times
the arithmetic of one and the Python overhead of one. Trial k's numbers never mix with another
trial's: every operation acts on slice k alone, and the tests check bit for bit that trial k
in a stack of K equals trial k run alone.

Notation (one trial; the leading axis k is left out)
----------------------------------------------------
Every hidden unit l (cell input :math:`z_j`, gates :math:`i, f, o` of block k) reads the source
vector :math:`v(t) = [x(t);\ 1;\ u(t-1)] \in \mathbb{R}^M`, :math:`M = I + 1 + U`, through row l
of one fused matrix

.. math:: W = \begin{bmatrix} W_z & b_z & R_z \\ W_i & b_i & R_i \\ W_f & b_f & R_f \\
          W_o & b_o & R_o \end{bmatrix} \in \mathbb{R}^{G \times M}, \qquad
          \bar a(t) = W v(t) = [\bar z; \bar i; \bar f; \bar o],

the :math:`w_{lm}` of the paper (rows of missing gates are absent). A fixed 0/1 connectivity
mask :math:`C` of the shape of W holds the weights the net does not have (a unit without bias,
the recurrent weights Exp. 2a's cell and gate lack) at 0: they start at 0 and their update is
multiplied by 0. The readout reads :math:`r(t) = [y(t);\ x(t) \text{ (Exp. 2a/2b only)};\ 1
\text{ (with an output bias)}]` through :math:`V \in \mathbb{R}^{O \times R}`:
:math:`\hat y(t) = \phi(V r(t))`, :math:`\phi` the logistic (the 1997 output units) or the
identity.

One online step t of trial k (``step``, then ``update``):

.. math::

    \delta_{\text{out}}(t) &= \mu(t)\,(\hat y(t) - y^\ast(t))\odot\phi'
        \qquad [\vartheta_k(t) \text{ of the output units}] \\
    \frac{\partial E(t)}{\partial y(t)} &= V_y^\top \delta_{\text{out}}(t), \qquad
    \Delta_t V = \delta_{\text{out}}(t)\, r(t)^\top \\
    \Delta_t w_{lm} &= \text{the truncated gradient of } E(t)
        \text{ (module :mod:`minilstm.rtrl1997`)} \\
    W &\leftarrow W - \alpha_k\, C \odot \Delta_t W, \qquad V \leftarrow V - \alpha_k\,\Delta_t V,

with :math:`\mu(t) \in \{0, 1\}` the target mask (1 where the task gives a target: every step
in Exp. 1, 2a, 2b, the last step in the others), :math:`E(t) = \tfrac12 \sum \mu(\hat y -
y^\ast)^2`, and :math:`\alpha_k` trial k's learning rate, 0 once the trial has stopped (solved,
out of budget or diverged), so a stopped trial's weights stay exactly as they were.

Shapes (K trials, B sequences per trial, 1 in the paper's online learning)
---------------------------------------------------------------------------
``W (K, G, M)``, ``V (K, O, R)``, ``v (K, B, M)``, ``c (K, B, H)``, partials
``P (K, B, H, n_u, M)`` with :math:`P_{j,n,m} = \partial c_j/\partial w_{l_n(j), m}` for
:math:`l_0 = z_j` and the block's input and forget gates; nothing depends on T.
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..functional import activation, sigmoid
from ..nn.lstm import LSTM, to_blocks, to_cells
from ..validate import check_choice, check_int, check_number

__all__ = ["Stack1997", "StackBPTT"]

_PHI = {"logistic_mse": "logistic", "mse": "identity"}


def _core_of(model, k=0):
    """``(lstm layer, names of its parameters held at 0, skip_input)`` of a model's core
    (``model`` is ``models[k]``, named so in errors)."""
    if not hasattr(model, "core") or not hasattr(model, "readout"):
        raise TypeError(f"models[{k}] must be a minilstm SequenceModel, got {type(model).__name__}")
    core = model.core
    inner = getattr(core, "inner", core)
    dropped = tuple(getattr(core, "drop", ()))
    if not isinstance(inner, LSTM):
        raise TypeError(f"models[{k}].core must be an LSTM for Stack1997, got {type(inner).__name__}")
    if inner.peepholes or inner.cifg or inner.fgr:
        raise ValueError("Stack1997 runs the nets of 1997-2000 (no peepholes, CIFG or FGR); "
                         f"got peepholes={inner.peepholes}, cifg={inner.cifg}, fgr={inner.fgr}")
    return inner, dropped, bool(getattr(core, "skip_input", False))


class Stack1997:
    r"""K 1997 nets, weights stacked on a leading trial axis, trained online by the truncated rule.

    Parameters
    ----------
    models : list of K :class:`~minilstm.nn.model.SequenceModel` with one configuration (seeds
        apart): an :class:`~minilstm.nn.lstm.LSTM` core without peepholes, CIFG or FGR (any 1997
        net, with or without forget gates; or that layer inside
        :class:`~minilstm.experiments.nets.InputToOutput`), a readout, and the loss
        ``"logistic_mse"`` (logistic outputs, squared error: the paper's) or
        ``"mse"`` (linear outputs). Their weights are copied in; the models are not used after.
    lr : learning rate, a number or K numbers (trial k's :math:`\alpha_k`).
    batch : B sequences per trial stepped side by side (1: the paper's online learning).
    loss : overrides the models' loss (the names above).

    Attributes
    ----------
    W ``(K, G, M)``, V ``(K, O, R)`` : the stacked weights (module docstring); ``C (G, M)`` the
    connectivity mask. ``active`` : device bool ``(K,)``, trials still learning; ``lr`` : host
    ``(K,)``. ``K, B, I, H, S, nb, O, M, R``: sizes. ``xp`` : the backend.
    """

    def __init__(self, models, *, lr, batch=1, loss=None):
        models = list(models)
        if not models:
            raise ValueError("models must be a non-empty list of SequenceModel")
        core, dropped, skip = _core_of(models[0], 0)
        for k, m in enumerate(models[1:], start=1):
            c = _core_of(m, k)[0]
            if {k: v for k, v in c.config.items() if k not in ("seed", "gate_bias_init")} != \
                    {k: v for k, v in core.config.items() if k not in ("seed", "gate_bias_init")}:
                raise ValueError("every trial must have the same net (seeds and initial gate "
                                 "biases apart)")
        loss = models[0].loss_name if loss is None else loss
        check_choice("loss", loss, sorted(_PHI))
        self.logistic = _PHI[loss] == "logistic"
        self.K, self.B = K, B = len(models), check_int("batch", batch)
        self.xp = xp = core.xp
        self.dtype = core.dtype
        I, H, S, nb = core.n_in, core.n_cells, core.cells_per_block, core.n_blocks
        self.I, self.H, self.S, self.nb, self.U = I, H, S, nb, core.U
        self.M = M = I + 1 + core.U
        self.G = core.G
        self.gates, self.cols, self.all_gates = core.gates, core.cols, core.has_gate_state
        self._gate_cols = {k: slice(s.start - H, s.stop - H) for k, s in core.cols.items()
                           if k != "z"}                 # columns of each gate in σ(a[..., H:])
        self.units = ("z",) + tuple(k for k in core.gates if k in ("i", "f"))
        self.g_name, self.h_name = core.g, core.h
        self._g, self._dg = activation(core.g, "g")
        self._h, self._dh = activation(core.h, "h")
        readout = models[0].readout
        self.O, self.skip_input, self.out_bias = readout.n_out, skip, readout.bias
        self.R = H + (I if skip else 0) + (1 if readout.bias else 0)
        self.dropped = dropped
        self.param_names = list(models[0].params)
        # the connectivity mask C: which entries of W are weights of the net
        C = np.zeros((self.G, M))
        for name, (rows, cols) in self._layout().items():
            if f"core.{name}" in self.param_names:
                C[rows, cols] = 1.0
        self.C = xp.asarray(C.astype(self.dtype))
        self.n_params_per_trial = int(C.sum()) + self.O * self.R
        W = np.zeros((K, self.G, M))
        V = np.zeros((K, self.O, self.R))
        for k, m in enumerate(models):
            W[k], V[k] = self._pack({n: _backend.to_numpy(p) for n, p in m.params.items()})
        self.W = xp.asarray(W.astype(self.dtype))
        self.V = xp.asarray(V.astype(self.dtype))
        rates = list(lr) if isinstance(lr, (list, tuple)) or np.ndim(lr) > 0 else [lr] * K
        if len(rates) != K:
            raise ValueError(f"lr must be one number or K={K} numbers (one per trial), got {len(rates)}")
        self.lr = np.array([check_number("lr", r, minimum=0) for r in rates])
        self.active = xp.ones(K, dtype=bool)
        self._guarded = False              # set by restore(): updates select instead of multiply
        self._set_rates()
        self.reset()

    # ---- layout: names of the single model <-> entries of W and V --------------------------------
    def _layout(self):
        """``{core parameter name: (row slice, column slice)}`` of its block of W."""
        I, U, out = self.I, self.U, {}
        for unit, rows in self.cols.items():
            out[f"W_{unit}"] = (rows, slice(0, I))
            out[f"b_{unit}"] = (rows, I)
            out[f"R_{unit}"] = (rows, slice(I + 1, I + 1 + U))
        return out

    def _pack(self, params):
        W = np.zeros((self.G, self.M))
        for name, (rows, cols) in self._layout().items():
            if f"core.{name}" in params:
                W[rows, cols] = params[f"core.{name}"]
        V = np.zeros((self.O, self.R))
        V[:, :self.R - self.out_bias] = params["readout.W"]
        if self.out_bias:
            V[:, -1] = params["readout.b"]
        return W, V

    def trial_params(self, k) -> dict:
        """Trial k's weights as host arrays with the single model's names and shapes."""
        return self.named(self.W[k], self.V[k])

    def named(self, W, V) -> dict:
        """One trial's ``W (G, M)`` and ``V (O, R)`` (weights or gradients) as host arrays named
        like the single model's ``params``."""
        W, V = _backend.to_numpy(W), _backend.to_numpy(V)
        out = {f"core.{n}": np.array(W[rows, cols]) for n, (rows, cols) in self._layout().items()
               if f"core.{n}" in self.param_names}
        out["readout.W"] = V[:, :self.R - self.out_bias].copy()
        if self.out_bias:
            out["readout.b"] = V[:, -1].copy()
        return {n: out[n] for n in self.param_names}

    def arrays(self) -> dict:
        """Every array the stack holds between steps: weights, rates, state, partials, buffers."""
        return {k: a for k, a in vars(self).items() if hasattr(a, "nbytes") and hasattr(a, "shape")}

    @property
    def nbytes(self) -> int:
        """Bytes held by :meth:`arrays`: linear in K and B, constant in T."""
        return int(sum(a.nbytes for a in self.arrays().values()))

    # ---- learning rates and stopping -------------------------------------------------------------
    def _set_rates(self):
        xp = self.xp
        rate = xp.where(self.active, xp.asarray(self.lr.astype(self.dtype)), 0.0)   # (K,)
        self._rate_W = rate[:, None, None] * self.C                                 # α_k C
        self._rate_V = rate[:, None, None]                                          # α_k

    def stop(self, which):
        """Stop trials (host indices, or a device bool ``(K,)``): their rate becomes 0 at once."""
        xp = self.xp
        if hasattr(which, "dtype") and which.dtype == bool and getattr(which, "shape", None) == (self.K,):
            self.active &= ~which
        else:
            idx = np.asarray(which, dtype=np.int64).reshape(-1)
            if idx.size:
                self.active[xp.asarray(idx)] = False
        self._set_rates()

    # ---- sequences ---------------------------------------------------------------------------------
    def reset(self, keep=None, partials=True):
        r"""Start new sequences: activations and partials to 0, for every trial (``keep=None``)
        or where ``keep (K, 1, 1)`` (device, 0/1) is 0 — other trials' values are untouched."""
        xp, K, B, dt = self.xp, self.K, self.B, self.dtype
        if keep is None:
            self.v = xp.zeros((K, B, self.M), dt)
            self.v[:, :, self.I] = 1.0                      # the bias unit
            self.c = xp.zeros((K, B, self.H), dt)
            self.P = xp.zeros((K, B, self.H, len(self.units), self.M), dt) if partials else None
            self.r = xp.zeros((K, B, self.R), dt)
            if self.out_bias:
                self.r[:, :, -1] = 1.0
            self._u_next = None
            return
        self.c *= keep
        self.P *= keep[..., None, None]
        if self._u_next is not None:
            for a in self._u_next:
                a *= keep

    def _cells(self, a):
        return to_cells(a, self.S)

    def _blocks(self, a):
        return to_blocks(a, self.S)

    def _forward(self, x_t):
        """The forward step shared by :meth:`step` and :meth:`outputs`: v(t), the units, y(t)."""
        xp, I, H, gc = self.xp, self.I, self.H, self._gate_cols
        v = self.v
        if self._u_next is not None:                          # u(t-1) = [y, i, f, o](t-1)
            y_prev, gates_prev = self._u_next
            v[:, :, I + 1:I + 1 + H] = y_prev
            if self.all_gates:
                v[:, :, I + 1 + H:] = gates_prev
        v[:, :, :I] = x_t                                     # v(t) = [x(t), 1, u(t-1)]
        a = xp.matmul(v, self.W.transpose(0, 2, 1))           # (K, B, G) = W v(t)
        z = self._g(a[..., :H])                               # g(z̄)
        gates = sigmoid(a[..., H:])                           # (K, B, n_gates·nb) σ(ī, f̄, ō)
        i = self._cells(gates[..., gc["i"]]) if "i" in gc else None
        f = self._cells(gates[..., gc["f"]]) if "f" in gc else None
        o = gates[..., gc["o"]] if "o" in gc else None
        c_prev = self.c
        c = c_prev * f if f is not None else c_prev.copy()
        c += i * z if i is not None else z                    # c = f⊙c(t-1) + i⊙z
        hc = self._h(c)
        y = self._cells(o) * hc if o is not None else hc      # y = o⊙h(c)
        self.c, self._u_next = c, (y, gates)
        r = self.r                                            # r(t) = [y(t), x(t)?, 1?]
        r[:, :, :H] = y
        if self.skip_input:
            r[:, :, H:H + I] = x_t
        a_out = xp.matmul(r, self.V.transpose(0, 2, 1))       # (K, B, O)
        out = sigmoid(a_out) if self.logistic else a_out
        return out, z, i, f, o, c_prev, hc

    def step(self, x_t):
        r"""One forward step of every trial: ``x_t (K, B, I)`` → outputs :math:`\hat y(t)` ``(K, B, O)``.

        Carries the state and moves the partials :math:`\partial c/\partial w` to t.
        """
        xp = self.xp
        out, z, i, f, o, c_prev, hc = self._forward(x_t)
        # ∂c_j(t)/∂net_l(t), l = z, i, f   (K, B, H, n_u)
        dnet = xp.empty(c_prev.shape + (len(self.units),), self.dtype)
        dz = self._dg(z)
        dnet[..., 0] = dz * i if i is not None else dz
        for n, unit in enumerate(self.units[1:], start=1):
            s = (i if unit == "i" else f)
            dnet[..., n] = s * (1.0 - s) * (z if unit == "i" else c_prev)
        P = self.P
        if f is not None:                                     # the CEC, scaled by the forget gate
            P *= f[..., None, None]
        P += dnet[..., None] * self.v[:, :, None, None, :]    # + ∂c/∂net ⊗ v(t)
        self.out, self._hc, self._o = out, hc, o
        return out

    def gradient(self, target, mask):
        r"""The step's truncated gradient: ``(ΔW (K, G, M), ΔV (K, O, R))`` of
        :math:`E(t) = \tfrac12\sum \mu(\hat y - y^\ast)^2`, summed over the B sequences.

        ``target (K, B, O)``, ``mask (K, B, 1)`` (0/1: where the step has a target).
        """
        xp, H, nb, S = self.xp, self.H, self.nb, self.S
        out, v, hc, o = self.out, self.v, self._hc, self._o
        d = (out - target) * mask                             # ∂E/∂ŷ
        if self.logistic:
            d *= out * (1.0 - out)                            # δ_out = ∂E/∂(net of the outputs)
        gV = xp.matmul(d.transpose(0, 2, 1), self.r)          # (K, O, R)
        dy = xp.matmul(d, self.V[:, :, :H])                   # (K, B, H) ∂E(t)/∂y(t)
        e = dy * self._cells(o) if o is not None else dy
        e *= self._dh(hc)                                     # e_j = ∂E/∂y_j o h'(c_j)
        t = (e[..., None, None] * self.P).sum(axis=1)         # (K, H, n_u, M) Σ_b e_j ∂c_j/∂w
        gW = xp.zeros_like(self.W)
        gW[:, :H] = t[:, :, 0]
        for n, unit in enumerate(self.units[1:], start=1):    # a gate's row feeds its S cells
            gW[:, self.cols[unit]] = t[:, :, n] if S == 1 else \
                t[:, :, n].reshape(self.K, nb, S, self.M).sum(axis=2)
        if o is not None:                                     # the output gate's own gradient
            delta_o = self._blocks(dy * hc) * (o * (1.0 - o))  # (K, B, nb) [ϑ_out]
            gW[:, self.cols["o"]] = xp.matmul(delta_o.transpose(0, 2, 1), v)
        return gW, gV

    def update(self, gW, gV):
        r""":math:`W \leftarrow W - \alpha_k C\odot\Delta W`, :math:`V \leftarrow V - \alpha_k \Delta V`
        (stopped trials have :math:`\alpha_k = 0`)."""
        if self._guarded:                  # after a divergence: 0 · inf must not reach a weight
            xp = self.xp
            gW = xp.where(self._rate_W > 0, gW * self._rate_W, 0.0)
            gV = xp.where(self._rate_V > 0, gV * self._rate_V, 0.0)
        else:
            gW *= self._rate_W
            gV *= self._rate_V
        self.W -= gW
        self.V -= gV

    def restore(self, which, W, V):
        """Give trials ``which`` (host ints) the weights ``W[which], V[which]`` and stop them; from
        then on updates select by rate instead of multiplying (a stopped trial's gradient may be
        inf or NaN, and 0 · inf = NaN)."""
        kd = self.xp.asarray(np.asarray(which, dtype=np.int64))
        self.W[kd] = W[kd]
        self.V[kd] = V[kd]
        self._guarded = True
        self.stop(which)

    def finite(self):
        """Device bool ``(K,)``: trial k's weights are all finite."""
        xp = self.xp
        return xp.isfinite(self.W).all(axis=(1, 2)) & xp.isfinite(self.V).all(axis=(1, 2))

    # ---- full BPTT on the same axis (the comparison runs) -------------------------------------------
    def bptt(self, x, target, mask):
        r"""The full gradient (BPTT, no truncation) of :math:`E = \sum_t \tfrac12 \mu(t)\,
        \lVert\hat y(t) - y^\ast(t)\rVert^2` for every trial, weights fixed, from the zero state.

        ``x (T, K, B, I)``, ``target (T, K, B, O)``, ``mask (T, K, B, 1)``. Returns
        ``(ΔW (K, G, M), ΔV (K, O, R), outputs ŷ (T, K, B, O))``; the online state is left as it
        was. Backward through time, with :math:`\bar a = [\bar z; \bar i; \bar f; \bar o]`:

        .. math::

            \delta_c(t) &= \frac{\partial E}{\partial y(t)}\odot o\odot h'(c(t))
                + \delta_c(t+1)\odot f(t+1), \qquad
            \frac{\partial E}{\partial y(t)} = V_y^\top\delta_{\text{out}}(t)
                + \Big[W_u^\top\frac{\partial E}{\partial\bar a(t+1)}\Big]_y \\
            \frac{\partial E}{\partial \bar z} &= \delta_c \odot i \odot g'(\bar z),\quad
            \frac{\partial E}{\partial \bar\imath} = \sigma'\odot\Big(\textstyle\sum_{\text{block}}
                \delta_c\odot z + \Big[W_u^\top\frac{\partial E}{\partial\bar a(t+1)}\Big]_i\Big) \\
            &\quad \text{(likewise } f \text{ with } c(t-1),\ o \text{ with } h(c)\text{)} \\
            \Delta W &= \textstyle\sum_t \frac{\partial E}{\partial\bar a(t)}\, v(t)^\top,

        :math:`W_u` the columns of W that read :math:`u(t-1)` (all the cut paths of the 1997 rule
        are kept here).
        """
        xp, I, H, gc = self.xp, self.I, self.H, self._gate_cols
        T, K, N = x.shape[:3]
        saved = (self.B, self.v, self.c, self.P, self.r, self._u_next)
        self.B = N
        self.reset(partials=False)
        steps = []
        try:
            for t in range(T):
                out, z, i, f, o, c_prev, hc = self._forward(x[t])
                steps.append((self.v.copy(), self.r.copy(), out, z, i, f, o, c_prev, self.c, hc))
        finally:
            self.B, self.v, self.c, self.P, self.r, self._u_next = saved
        gV = xp.zeros_like(self.V)
        gW = xp.zeros_like(self.W)
        Wu = self.W[:, :, I + 1:]                            # (K, G, U): the recurrent columns
        du = None                                            # ∂E/∂u(t) from step t+1
        dc_next = f_next = None
        outs = xp.empty((T, K, N, self.O), self.dtype)
        for t in range(T - 1, -1, -1):
            v, r, out, z, i, f, o, c_prev, c, hc = steps[t]
            outs[t] = out
            d = (out - target[t]) * mask[t]
            if self.logistic:
                d *= out * (1.0 - out)                       # δ_out(t)
            gV += xp.matmul(d.transpose(0, 2, 1), r)
            dy = xp.matmul(d, self.V[:, :, :H])
            if du is not None:
                dy += du[:, :, :H]
            da = xp.empty((K, N, self.G), self.dtype)
            dgates = da[:, :, H:]
            if o is not None:
                do = self._blocks(dy * hc)
                if du is not None and self.all_gates:
                    do += du[:, :, H + gc["o"].start:H + gc["o"].stop]
                dgates[..., gc["o"]] = do * o * (1.0 - o)
                dc = dy * self._cells(o) * self._dh(hc)
            else:
                dc = dy * self._dh(hc)
            if dc_next is not None:
                dc += dc_next * f_next if f_next is not None else dc_next
            dz = dc * i if i is not None else dc
            da[:, :, :H] = dz * self._dg(z)
            for unit, src in (("i", z), ("f", c_prev)):
                if unit in gc:
                    g = i if unit == "i" else f
                    dg = self._blocks(dc * src)
                    if du is not None and self.all_gates:
                        dg += du[:, :, H + gc[unit].start:H + gc[unit].stop]
                    gate = g[..., ::self.S]                  # the block's gate value
                    dgates[..., gc[unit]] = dg * gate * (1.0 - gate)
            gW += xp.matmul(da.transpose(0, 2, 1), v)      # Σ_b ∂E/∂ā(t) v(t)ᵀ
            du = xp.matmul(da, Wu)                           # (K, N, U) ∂E/∂u(t-1)
            dc_next, f_next = dc, f
        return gW, gV, outs

    def optimizer_params(self) -> dict:
        """``{"W": W, "V": V}``: the arrays an optimizer of :mod:`minilstm.optim` updates in place
        (e.g. ``Adam(stack.optimizer_params(), lr=0.01)``) for :meth:`step_optimizer`."""
        return {"W": self.W, "V": self.V}

    def step_optimizer(self, optimizer, gW, gV, clip=None):
        r"""One step of ``optimizer`` on the gradients of every trial; stopped trials keep their
        weights exactly (selected back, so momentum cannot move them), and the connectivity mask
        C keeps absent weights at 0. ``clip``: each trial's gradient :math:`g_k` (its ΔW and ΔV)
        is scaled by ``clip / ‖g_k‖`` where that norm is larger, one trial apart from another."""
        xp = self.xp
        gW = gW * self.C
        if clip is not None:
            norm = xp.sqrt((gW * gW).sum(axis=(1, 2)) + (gV * gV).sum(axis=(1, 2)))   # (K,)
            scale = xp.minimum(1.0, clip / xp.maximum(norm, 1e-300))[:, None, None]
            gW, gV = gW * scale, gV * scale
        before = (self.W.copy(), self.V.copy())
        optimizer.step({"W": gW, "V": gV})
        keep = self.active[:, None, None]
        self.W[...] = xp.where(keep, self.W, before[0])
        self.V[...] = xp.where(keep, self.V, before[1])

    # ---- whole sequences, weights fixed (tests of success) -----------------------------------------
    def outputs(self, x):
        r"""Outputs :math:`\hat y` ``(T, K, N, O)`` of every trial for ``x (T, K, N, I)``, from the
        zero state, weights fixed; the online state, partials and batch size are left as they were.
        """
        saved = (self.B, self.v, self.c, self.P, self.r, self._u_next)
        T, K, N = x.shape[:3]
        xp = self.xp
        self.B = N
        self.reset(partials=False)
        out = xp.empty((T, K, N, self.O), self.dtype)
        try:
            for t in range(T):
                out[t] = self._forward(x[t])[0]
        finally:
            self.B, self.v, self.c, self.P, self.r, self._u_next = saved
        return out

    def __repr__(self):
        return (f"Stack1997(K={self.K}, B={self.B}, I={self.I}, H={self.H}, S={self.S}, "
                f"gates={self.gates}, O={self.O}, weights per trial={self.n_params_per_trial})")


class StackBPTT:
    r"""A :class:`Stack1997` as :func:`minilstm.train.fit` trains it by mini-batch BPTT: full
    gradients of every trial from :meth:`Stack1997.bptt`, K trials on the stack's axis (the
    protocol of :mod:`minilstm.train.fit`, batch side; ``fit(StackBPTT(stack), data, optimizer,
    ...)`` with the optimizer built on ``stack.optimizer_params()``).

    Data: ``x (T, K, B, I)``, ``target (T, K, B, O)``, ``mask (T, K, B, 1)`` (0/1 floats).
    Trial k's loss is :math:`\tfrac1B \sum_{t, b} \tfrac12 \mu\,\lVert\hat y - y^\ast\rVert^2`,
    the error whose gradient :meth:`Stack1997.bptt` computes. The second item of :meth:`loss`,
    which ``before_update`` receives, is the outputs :math:`\hat y` ``(T, K, B, O)``. The norm,
    the clip and the update are those of :meth:`Stack1997.step_optimizer` (per trial, absent
    weights masked by C, stopped trials held). Trials never share a product here
    (``shares_products = False``), so a diverged trial cannot reach another and ``fit``'s guard is
    read every ``check_every`` updates as for one model (1 on NumPy, 100 on a GPU): a trial that
    diverged goes back to its weights of the last clean read and stops (:meth:`Stack1997.restore`).

    Attributes: ``stack``; ``params`` (``stack.optimizer_params()``); ``active``, a host copy of
    ``stack.active``, kept by :meth:`stop` (read once after the next update where trials were
    stopped on the device); ``diverged_at``, host int ``(K,)``: -1, or the update whose result
    was not finite.
    """

    shares_products = False

    def __init__(self, stack):
        self.stack, self.xp = stack, stack.xp
        self.params = stack.optimizer_params()
        self.n_trials = stack.K
        self.updates = 0
        self.diverged_at = np.full(stack.K, -1, dtype=np.int64)
        self.active = _backend.to_numpy(stack.active).copy()
        self._stale = False                  # trials stopped on the device since the last read

    def check_target(self, target, mask=None):
        """Nothing to check: the squared error takes any target (Exp. 3c's noisy targets leave
        [0, 1] although the output units are logistic)."""

    def loss(self, x, target, mask=None, state=None, lengths=None, *, as_array=False):
        """``(losses (K,), outputs ŷ, cache, None)`` with the gradients in ``cache``: one
        :meth:`Stack1997.bptt` from the zero state (``state`` and ``lengths`` must be None)."""
        if state is not None or lengths is not None:
            raise ValueError("state and lengths must be None: Stack1997.bptt starts every "
                             "sequence from the zero state and takes a mask")
        xp = self.xp
        gW, gV, out = self.stack.bptt(x, target, mask)
        err = (out - target) ** 2 if mask is None else (out - target) ** 2 * mask
        losses = 0.5 * err.sum(axis=(0, 2, 3)).astype(xp.float64) / x.shape[2]
        return (losses if as_array else _backend.to_numpy(losses)), out, (gW, gV), None

    def backward(self, da_out, cache, gradient=None):
        """``{"W": ΔW, "V": ΔV}`` from the cache of :meth:`loss` (full BPTT only)."""
        if gradient is not None:
            raise ValueError("gradient must be 'full' for a Stack1997 trained by BPTT (the "
                             "truncated rule is fit_online's and online_last_step's)")
        gW, gV = cache
        return {"W": gW, "V": gV}

    def clip_grad_norm(self, grads, max_norm=None):
        r"""Each trial's norm :math:`\sqrt{\lVert C\odot\Delta W_k\rVert^2 + \lVert\Delta V_k\rVert^2}`
        before clipping (device ``(K,)``); with ``max_norm`` each trial's gradient is scaled by
        ``max_norm / norm`` where that is larger, as :meth:`Stack1997.step_optimizer` does. No read."""
        xp = self.xp
        gW, gV = grads["W"] * self.stack.C, grads["V"]
        norm = xp.sqrt((gW * gW).sum(axis=(1, 2)) + (gV * gV).sum(axis=(1, 2)))   # (K,)
        if max_norm is not None:
            scale = xp.minimum(1.0, max_norm / xp.maximum(norm, 1e-300))[:, None, None]
            gW, gV = gW * scale, gV * scale
        grads["W"], grads["V"] = gW, gV
        return norm

    def update(self, optimizer, grads):
        """:meth:`Stack1997.step_optimizer` (grads already clipped); then, if trials were stopped
        on the device since the last update, one read of the trials still learning."""
        self.stack.step_optimizer(optimizer, grads["W"], grads["V"])
        self.updates += 1
        if self._stale:
            self.active = _backend.to_numpy(self.stack.active).copy()
            self._stale = False

    def weight_sum(self):
        r"""Each trial's :math:`\Sigma w` (W and V, in float64), a device ``(K,)``; no read."""
        xp, st = self.xp, self.stack
        return st.W.sum(axis=(1, 2), dtype=xp.float64) + st.V.sum(axis=(1, 2), dtype=xp.float64)

    def stop(self, which):
        """Stop trials ``which``: :meth:`Stack1997.stop`. Host indices update the host copy at
        once; a device bool ``(K,)`` (no read) marks it to be read after the next update."""
        self.stack.stop(which)
        if not (hasattr(which, "dtype") and which.dtype == bool):
            self.active[np.asarray(which, dtype=np.int64).reshape(-1)] = False
        elif isinstance(which, np.ndarray):                 # NumPy: the device is the host
            self.active &= ~which
        else:
            self._stale = True

    def restore_trial(self, arrays, saved, k):
        """Trial k back to ``saved["W"], saved["V"]`` and stopped (:meth:`Stack1997.restore`)."""
        self.stack.restore([k], saved["W"], saved["V"])
        self.active[k] = False

    def mark_diverged(self, k, update):
        """Record that trial k's ``update`` was not finite (it is stopped by :meth:`restore_trial`)."""
        self.diverged_at[k] = int(update)
