r"""One configurable LSTM layer that covers the history, 1997 to Greff et al. (2017), by flags.

Notation (the book's, Greff et al. 2017; the 1997 paper's symbols in brackets):

* :math:`x(t)\in\mathbb{R}^I` — the input at step t;
* :math:`H` cells grouped in :math:`n_b = H/S` memory blocks of :math:`S` cells each; the S cells
  of a block share one input, one forget and one output gate;
* :math:`z(t)\in\mathbb{R}^H` — the squashed cell input, :math:`g(\text{net}_c)` [:math:`g(net_c)`];
* :math:`i, f, o \in\mathbb{R}^{n_b}` — input, forget, output gate activations
  [:math:`y^{in}, y^{\varphi}, y^{out}`];
* :math:`c(t)\in\mathbb{R}^H` — the cell state [:math:`s_c`]; :math:`y(t)\in\mathbb{R}^H` — the
  cell output [:math:`y^c`];
* :math:`u(t-1)\in\mathbb{R}^U` — the recurrent source: :math:`y(t-1)` (``recurrence='output'``,
  the modern wiring) or :math:`[y(t-1), i(t-1), f(t-1), o(t-1)]` (``recurrence='all'``, the 1997
  fully recurrent wiring, every hidden unit sees every hidden unit);
* :math:`W_\ast` input weights, :math:`R_\ast` recurrent weights, :math:`b_\ast` biases,
  :math:`p_\ast` peepholes; :math:`P_\ast c` is the per-block sum
  :math:`(P_\ast c)_k = \sum_{j\in\text{block }k} p_{\ast,j}\,c_j`;
* :math:`\sigma` the logistic; :math:`g, h` the cell input and output squashing functions;
  gates act on all S cells of their block (broadcast, written :math:`\odot`).

Equations (one step; a missing gate is the constant 1):

.. math::

    z(t) &= g\big(W_z x(t) + R_z u(t-1) + b_z\big) \\
    i(t) &= \sigma\big(W_i x(t) + R_i u(t-1) + P_i c(t-1) + b_i\big) \\
    f(t) &= \sigma\big(W_f x(t) + R_f u(t-1) + P_f c(t-1) + b_f\big)
            \quad(\text{CIFG: } f = 1 - i) \\
    c(t) &= f(t)\odot c(t-1) + i(t)\odot z(t)
            \quad(\text{no forget gate: } c(t) = c(t-1) + i(t)\odot z(t), \text{ the 1997 CEC}) \\
    o(t) &= \sigma\big(W_o x(t) + R_o u(t-1) + P_o c(t) + b_o\big)
            \quad(\text{after the cell update: the peephole order}) \\
    y(t) &= o(t)\odot h(c(t))

With full gate recurrence (``fgr=True``, Greff's FGR) the gates' :math:`R_i, R_f, R_o` also read the
previous gate activations: their source is :math:`[y(t-1), i(t-1), f(t-1), o(t-1)]` while
:math:`R_z` reads :math:`y(t-1)` only.

Backward (BPTT, one step; :math:`\bar v = \mathrm{d}E/\mathrm{d}v` the *total* derivative, through
every later step; :math:`\delta_\ast` the error at a pre-activation, :math:`\Sigma_k` the sum over a
block's cells):

.. math::

    \bar y &= \partial E/\partial y(t) + [R^\top\delta(t+1)]_y \\
    \delta_o &= \big(\Sigma_k(\bar y\odot h(c)) + \bar o_{\text{rec}}\big)\,o(1-o) \\
    \bar c &= \bar c_{\text{next}} + \bar y\odot o\odot h'(c) + p_o\odot\delta_o \\
    \delta_z &= \bar c\odot i\odot g'(z), \quad
    \delta_i = \big(\Sigma_k(\bar c\odot z) + \bar i_{\text{rec}}\big)\,i(1-i), \quad
    \delta_f = \big(\Sigma_k(\bar c\odot c(t-1)) + \bar f_{\text{rec}}\big)\,f(1-f) \\
    \bar c(t-1) &= \bar c\odot f + p_i\odot\delta_i + p_f\odot\delta_f, \qquad
    \bar u(t-1) = R^\top \delta

(with CIFG, :math:`\delta_i` also receives :math:`-\Sigma_k(\bar c\odot c(t-1))`.) Weight
gradients are summed after the loop as large matrix products over all T·B rows:
:math:`\partial E/\partial W = \sum_t \delta(t)^\top x(t)`, :math:`\partial E/\partial R = \sum_t
\delta(t)^\top u(t-1)`, :math:`\partial E/\partial p_i = \sum_t \delta_i(t)\odot c(t-1)` (per cell),
:math:`\partial E/\partial p_o = \sum_t \delta_o(t)\odot c(t)`.

Layout (what other code may rely on)
-----------------------------------
``flat`` holds, in this order, the parameters that exist (a gate that is off, a bias that is off,
a peephole that is off are *absent*, not frozen at zero)::

    W_z (H, I), W_i (nb, I), W_f (nb, I), W_o (nb, I),        # fused: W (G, I)
    R_z (H, Uz), R_i (nb, Ug), R_f (nb, Ug), R_o (nb, Ug),    # fused: R (G, U) when Uz == Ug
    b_z (H,), b_i (nb,), b_f (nb,), b_o (nb,),                # fused: b over columns bias_cols
    p_i (H,), p_f (H,), p_o (H,)

``G = H + n_gates·nb`` columns of pre-activations, ordered ``[z | i | f | o]`` (existing gates
with parameters only; the CIFG forget gate has none). ``W_f``/``R_f``/``b_f``/``p_f`` are absent
with CIFG. ``Uz = Ug = U`` except with ``fgr=True`` (``Uz = H``, ``Ug = H + n_gates·nb``).

State: ``(y, c)`` with shapes ``(B, H)``, plus ``gates (B, n_gates·nb)`` = ``[i, f, o]`` of the
previous step when ``recurrence='all'`` or ``fgr=True``.

All of this is computed once, in :class:`LSTMLayout` (``layer.layout``), which the layer's step
functions and its fast path (:mod:`minilstm.nn.lstm_fast`) read; ``layer.fused``
(:class:`FusedWeights`) holds the fused views ``W``, ``R``, ``b`` into ``flat``.

Per-step cache: :class:`LSTMStep`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from .. import backend as _backend
from . import lstm_fast as _fast_path
from ..functional import activation as _activation, sigmoid as _sigmoid
from .recurrent import Recurrent, Span, flat_offsets, flat_views, layer_args
from ..validate import check_bool, check_int

__all__ = ["LSTM", "LSTMStep", "LSTMLayout", "FusedWeights", "to_cells", "to_blocks"]

_GATES = ("i", "f", "o")


def to_cells(v, S):
    r"""A block quantity ``(…, nb)`` spread over each block's S cells, :math:`v_j = v_k` for the
    cells j of block k: ``(…, nb·S)`` (``v`` itself when S = 1); any leading axes, e.g. ``(B, ·)``."""
    return v if S == 1 else _backend.get_array_module(v).repeat(v, S, axis=-1)


def to_blocks(v, S):
    r"""A cell quantity ``(…, nb·S)`` summed over each block's S cells, :math:`(\Sigma v)_k =
    \sum_{j\in\text{block }k} v_j`: ``(…, nb)`` (``v`` itself when S = 1); any leading axes,
    e.g. ``(B, H) -> (B, nb)``."""
    return v if S == 1 else v.reshape(v.shape[:-1] + (-1, S)).sum(axis=-1)


class LSTMStep(NamedTuple):
    r"""What :meth:`LSTM.step_forward` keeps of one step (all ``(B, ·)`` arrays).

    Fields
    ------
    u_prev : ``(B, U)`` the recurrent source :math:`u(t-1)`: :math:`y(t-1)`, or
        :math:`[y(t-1), \text{gates}(t-1)]` with ``recurrence='all'`` or ``fgr=True``.
    c_prev : ``(B, H)`` :math:`c(t-1)`.
    act : ``(B, G)`` activations ``[z | i | f | o]`` of the units with parameters
        (:math:`z = g(\cdot)`, gates :math:`\sigma(\cdot)`); the next four fields are views into it.
    z : ``(B, H)`` :math:`z(t) = g(\text{net}_z)`.
    i, f, o : ``(B, nb)`` gate activations, or ``None`` for a gate that is off (the constant 1).
        With CIFG ``f`` is :math:`1 - i` (a separate array, not in ``act``).
    c : ``(B, H)`` :math:`c(t)`.
    hc : ``(B, H)`` :math:`h(c(t))`; the output is :math:`y(t) = o\odot h(c(t))`.
    """
    u_prev: object
    c_prev: object
    act: object
    z: object
    i: Optional[object]
    f: Optional[object]
    o: Optional[object]
    c: object
    hc: object


@dataclass(frozen=True)
class LSTMLayout:
    r"""Where everything of one LSTM configuration lives: the columns of the ``(B, G)``
    pre-activations, the parameters' order and shapes in ``flat``, and the fused matrices over it.

    Built once by the layer (:meth:`build`) and read by :mod:`minilstm.nn.lstm` and its fast path
    :mod:`minilstm.nn.lstm_fast`. With H cells in :math:`n_b` blocks and the gates with
    parameters ``gates`` (of ``i, f, o``; the CIFG forget gate has none):

    * ``cols`` ``{'z': slice, 'i': ..., 'f': ..., 'o': ...}``: the columns of each unit in the
      pre-activations ``[z | i | f | o]``, :math:`G = H + n_\text{gates} n_b` in all;
    * ``shapes`` ``{name: shape}`` in the order of ``flat`` (see the module docstring);
    * ``W`` the :class:`~minilstm.nn.recurrent.Span` of :math:`[W_z; W_i; W_f; W_o]` ``(G, I)``;
      ``R_groups`` the spans of the recurrent weights, ``(R (G, U),)`` when every unit reads
      :math:`u(t-1)` (``R_uniform``), else (FGR) ``(R_z (H, H), [R_i; R_f; R_o] (n_\text{gates}
      n_b, U))``; ``bias`` the span of the biases ``(1, ·)`` over the columns ``bias_cols``, or
      None;
    * ``early`` the columns of the gates squashed before the cell update; ``o_late``: the output
      gate is squashed after it (it has a peephole, it sees :math:`c(t)`);
    * ``U`` the size of the recurrent source :math:`u(t-1)`, ``U_z`` the width of ``R_z``
      (:math:`H` with FGR, else U); ``has_gate_state``: the state carries ``gates (B, n_gates·nb)``.
    """
    n_in: int
    n_cells: int
    cells_per_block: int
    n_blocks: int
    gates: tuple
    peephole_gates: tuple
    cifg: bool
    has_gate_state: bool
    G: int
    U: int
    U_z: int
    cols: dict
    early: slice
    o_late: bool
    shapes: dict
    W: Span
    R_groups: tuple
    R_uniform: bool
    bias: Optional[Span]
    bias_cols: Optional[slice]

    @classmethod
    def build(cls, n_in, n_cells, cells_per_block, gates, *, peepholes, cifg, fgr, recurrence,
              cell_bias, gate_bias) -> "LSTMLayout":
        """The layout of a checked configuration (the arguments of :class:`LSTM`; ``gates``: those
        with parameters, in the order ``i, f, o``)."""
        I, H, S = n_in, n_cells, cells_per_block
        nb = H // S
        Ng = len(gates) * nb
        G = H + Ng
        has_gate_state = recurrence == "all" or fgr
        U = H + (Ng if has_gate_state else 0)
        U_z = H if fgr else U
        cols = {"z": slice(0, H)}
        for n, k in enumerate(gates):
            cols[k] = slice(H + n * nb, H + (n + 1) * nb)
        o_late = "o" in gates and peepholes
        n_early = len(gates) - (1 if o_late else 0)
        shapes = {"W_z": (H, I)}
        shapes.update({f"W_{k}": (nb, I) for k in gates})
        shapes["R_z"] = (H, U_z)
        shapes.update({f"R_{k}": (nb, U) for k in gates})
        bias_names = (["b_z"] if cell_bias else []) + ([f"b_{k}" for k in gates] if gate_bias else [])
        shapes.update({k: ((H,) if k == "b_z" else (nb,)) for k in bias_names})
        peephole_gates = gates if peepholes else ()
        shapes.update({f"p_{k}": (H,) for k in peephole_gates})
        offsets = flat_offsets(shapes)
        last_gate = gates[-1] if gates else "z"
        R_uniform = U_z == U
        R_groups = ((Span.between(offsets, "R_z", f"R_{last_gate}", G),) if R_uniform else
                    (Span.between(offsets, "R_z", "R_z", H),
                     Span.between(offsets, f"R_{gates[0]}", f"R_{last_gate}", Ng)))
        return cls(n_in=I, n_cells=H, cells_per_block=S, n_blocks=nb, gates=tuple(gates),
                   peephole_gates=peephole_gates, cifg=cifg, has_gate_state=has_gate_state,
                   G=G, U=U, U_z=U_z, cols=cols, early=slice(H, H + n_early * nb), o_late=o_late,
                   shapes=shapes, W=Span.between(offsets, "W_z", f"W_{last_gate}", G),
                   R_groups=R_groups, R_uniform=R_uniform,
                   bias=Span.between(offsets, bias_names[0], bias_names[-1], 1) if bias_names else None,
                   bias_cols=(slice(0 if cell_bias else H, G if gate_bias else H)
                              if bias_names else None))

    def fused(self, buf) -> "FusedWeights":
        """The fused matrices as views into ``buf`` (``flat``, or a gradient laid out like it)."""
        return FusedWeights(W=self.W.of(buf), R=self.R_groups[0].of(buf) if self.R_uniform else None,
                            b=self.bias.of(buf)[0] if self.bias is not None else None)


class FusedWeights(NamedTuple):
    """Views of the fused matrices into one flat buffer (:meth:`LSTMLayout.fused`).

    ``W (G, I)`` = :math:`[W_z; W_i; W_f; W_o]`; ``R (G, U)`` = :math:`[R_z; R_i; R_f; R_o]`, or
    None with FGR (where ``R_z`` is narrower); ``b`` the biases over the columns
    ``layout.bias_cols``, or None.
    """
    W: object
    R: Optional[object]
    b: Optional[object]


class LSTM(Recurrent):
    r"""A layer of LSTM memory blocks, configurable from Hochreiter & Schmidhuber (1997) to Greff et al. (2017).

    Notation: x(t) ∈ R^I; H cells in nb = H/S blocks of S cells; z cell input, i f o gates (one per
    block, broadcast over its S cells), c cell state, y output, u(t−1) the recurrent source
    (``y(t-1)``, or ``[y, i, f, o](t-1)`` with ``recurrence='all'``); :math:`(P c)_k = \sum_{j\in k}
    p_j c_j`. A gate that is off is the constant 1.

    .. math::

        z &= g(W_z x(t) + R_z u(t-1) + b_z) & (B, H) \\
        i &= \sigma(W_i x(t) + R_i u(t-1) + P_i c(t-1) + b_i) & (B, n_b) \\
        f &= \sigma(W_f x(t) + R_f u(t-1) + P_f c(t-1) + b_f) \;\text{or}\; 1 - i \text{ (CIFG)} & (B, n_b) \\
        c(t) &= f\odot c(t-1) + i\odot z & (B, H) \\
        o &= \sigma(W_o x(t) + R_o u(t-1) + P_o c(t) + b_o) & (B, n_b) \\
        y(t) &= o\odot h(c(t)) & (B, H)

    The module docstring gives the backward equations and the exact layout of ``flat``, the
    state and the per-step cache (:class:`LSTMStep`). :mod:`minilstm.nn.presets` builds the
    historical configurations.

    Parameters
    ----------
    n_in : I, the input size.
    n_cells : H, the number of memory cells (the output size).
    cells_per_block : S, cells per memory block (default 1); must divide H. ``nb = H // S``.
    input_gate, forget_gate, output_gate : bool, which gates exist (default all). A missing gate
        is the constant 1; without a forget gate :math:`c(t) = c(t-1) + i\odot z` (the CEC).
    peepholes : bool, peephole weights :math:`p_i, p_f, p_o` (for the gates that have parameters).
    g, h : names in :data:`minilstm.functional.ACTIVATIONS` ('tanh', 'sigmoid', 'g1997', 'h1997',
        'identity'): cell input and cell output squashing (default 'tanh').
    cifg : bool, coupled input-forget gate :math:`f = 1 - i` (needs ``input_gate=True``; the
        forget gate then has no parameters of its own).
    fgr : bool, full gate recurrence: gates also see all gate activations at t−1.
    recurrence : ``'output'`` (:math:`u = y(t-1)`) or ``'all'`` (1997: :math:`u = [y, i, f, o](t-1)`).
    cell_bias, gate_bias : bool, whether cells (:math:`b_z`) and gates (:math:`b_i, b_f, b_o`)
        have a bias. Off means absent from ``params`` (the 1997 weight counts depend on it).
    init_scale : every parameter starts from U[−init_scale, init_scale] (default 0.1).
    gate_bias_init : optional ``{'i': v, 'f': v, 'o': v}`` where ``v`` is a number or a list of
        ``nb`` numbers (one per block), overriding the random gate biases after the draw, e.g.
        the 1997 recipe ``{'o': [-1, -2, -3]}`` or Gers et al. (2000) ``{'f': [0.5, 1.0, 1.5]}``.
    seed : int or None; dtype : ``'float64'`` or ``'float32'``; backend : ``'numpy'``,
        ``'cupy'``, ``'strict'`` or None (``MINILSTM_BACKEND``).

    Attributes
    ----------
    params : dict of views into ``flat`` (see the module docstring for names, shapes and order).
    config : the constructor's arguments (JSON-serialisable); ``LSTM(**config)`` rebuilds the layer.
    state_names : ``('y', 'c')`` or ``('y', 'c', 'gates')``.
    n_hidden, n_out : H (``n_hidden`` is every recurrent layer's name for the width of y).
    G : the number of pre-activation columns. U : the recurrent source size.
    layout : the :class:`LSTMLayout`; fused : the :class:`FusedWeights` views into ``flat``.
    """

    def __init__(self, n_in, n_cells, cells_per_block=1, *, input_gate=True, forget_gate=True,
                 output_gate=True, peepholes=False, g="tanh", h="tanh", cifg=False, fgr=False,
                 recurrence="output", cell_bias=True, gate_bias=True, init_scale=0.1,
                 gate_bias_init=None, seed=None, dtype="float64", backend=None):
        I, H, S, init_scale, dtype = layer_args(n_in=n_in, n_cells=n_cells,
                                                cells_per_block=cells_per_block,
                                                init_scale=init_scale, seed=seed, dtype=dtype,
                                                scale_none_ok=False)
        init_scale = float(init_scale)
        if H % S:
            raise ValueError(f"cells_per_block={S} must divide n_cells={H} (memory blocks of S cells)")
        flags = {k: check_bool(k, v) for k, v in dict(
            input_gate=input_gate, forget_gate=forget_gate, output_gate=output_gate,
            peepholes=peepholes, cifg=cifg, fgr=fgr, cell_bias=cell_bias, gate_bias=gate_bias).items()}
        self._g, self._dg = _activation(g, "g")
        self._h, self._dh = _activation(h, "h")
        if recurrence not in ("output", "all"):
            raise ValueError(f"recurrence={recurrence!r} is not known; expected 'output' (u = y(t-1)) "
                             "or 'all' (the 1997 wiring: u = [y, i, f, o](t-1))")
        if flags["cifg"] and not flags["input_gate"]:
            raise ValueError("cifg=True couples the forget gate to the input gate (f = 1 - i) and needs "
                             "input_gate=True, got input_gate=False")
        if flags["cifg"] and not flags["forget_gate"]:
            raise ValueError("cifg=True makes the forget gate f = 1 - i; it cannot be combined with "
                             "forget_gate=False (no forget gate at all)")
        gates = tuple(k for k, on in zip(_GATES, (flags["input_gate"],
                                                 flags["forget_gate"] and not flags["cifg"],
                                                 flags["output_gate"])) if on)
        if flags["peepholes"] and not gates:
            raise ValueError("peepholes=True needs at least one gate with parameters "
                             "(input_gate, forget_gate or output_gate), but all are off")
        if flags["fgr"] and not gates:
            raise ValueError("fgr=True (full gate recurrence) needs at least one gate, but all are off")
        if flags["fgr"] and recurrence == "all":
            raise ValueError("fgr=True adds the gate activations to the gates' recurrent inputs, which "
                             "recurrence='all' already does for every unit; use one or the other")
        nb = H // S
        bias_init = self._check_gate_bias_init(gate_bias_init, gates, flags["gate_bias"], nb)
        layout = LSTMLayout.build(I, H, S, gates, peepholes=flags["peepholes"], cifg=flags["cifg"],
                                  fgr=flags["fgr"], recurrence=recurrence,
                                  cell_bias=flags["cell_bias"], gate_bias=flags["gate_bias"])

        xp = _backend.get_backend(backend)
        self.layout = layout
        self.n_in, self.n_cells, self.cells_per_block, self.n_blocks = I, H, S, nb
        self.n_hidden = self.n_out = H
        self.gates = gates                                   # gates with parameters, in order
        self.recurrence, self.g, self.h = recurrence, g, h
        for k, v in flags.items():
            setattr(self, k, v)
        self.G, self.U, self.cols, self.bias_cols = layout.G, layout.U, layout.cols, layout.bias_cols
        self.has_gate_state, self.peephole_gates = layout.has_gate_state, layout.peephole_gates
        self.state_names = ("y", "c", "gates") if self.has_gate_state else ("y", "c")
        self.state_sizes = (H, H, self.G - H) if self.has_gate_state else (H, H)
        self.config = dict(n_in=I, n_cells=H, cells_per_block=S, **{k: flags[k] for k in (
            "input_gate", "forget_gate", "output_gate", "peepholes")}, g=g, h=h, cifg=flags["cifg"],
            fgr=flags["fgr"], recurrence=recurrence, cell_bias=flags["cell_bias"],
            gate_bias=flags["gate_bias"], init_scale=init_scale, gate_bias_init=bias_init,
            seed=seed, dtype=np.dtype(dtype).name, backend=_backend.backend_name(xp))

        self._allocate(layout.shapes, xp, dtype)
        self._init_uniform(seed, init_scale)
        for k, v in bias_init.items():
            self.params[f"b_{k}"][...] = xp.asarray(np.asarray(v, dtype=self.dtype))
        self.fused = layout.fused(self.flat)                 # views: W (G, I), R (G, U), b
        # short names for the step functions (chapter 9 prints step_backward as it is)
        self._R_groups, self._R_uniform, self._o_late = layout.R_groups, layout.R_uniform, layout.o_late
        self._fast = (_fast_path.FastPath(layout, self.fused, step_cache=LSTMStep)
                      if _fast_path.eligible(self) else None)   # the sequence loop's fast path

    @staticmethod
    def _check_gate_bias_init(spec, gates, gate_bias, nb):
        if spec is None:
            return {}
        if not isinstance(spec, dict):
            raise TypeError(f"gate_bias_init must be a dict like {{'o': [-1, -2, -3]}}, got {spec!r}")
        out = {}
        for k, v in spec.items():
            if k not in _GATES:
                raise ValueError(f"gate_bias_init key {k!r} is not a gate; expected 'i', 'f' or 'o'")
            if not gate_bias:
                raise ValueError(f"gate_bias_init sets b_{k} but gate_bias=False (gates have no biases)")
            if k not in gates:
                raise ValueError(f"gate_bias_init sets b_{k} but this layer has no {k!r} gate with "
                                 f"parameters (its gates: {list(gates)})")
            vals = np.broadcast_to(np.asarray(v, dtype=np.float64), (nb,)) if np.ndim(v) == 0 else \
                np.asarray(v, dtype=np.float64)
            if vals.shape != (nb,):
                raise ValueError(f"gate_bias_init[{k!r}] must be a number or a list of nb={nb} numbers "
                                 f"(one per memory block), got {len(vals)} values")
            if not np.isfinite(vals).all():
                raise ValueError(f"gate_bias_init[{k!r}] contains NaN or inf: {list(vals)}")
            out[k] = [float(a) for a in vals]
        return out

    # ---- fused views (valid for the layer's own params; a copy for a foreign params dict) -------
    def _fused_from(self, params, names, start, stop, rows):
        """The parameters of a :class:`~minilstm.nn.recurrent.Span` stacked as one ``(rows, -1)``
        matrix: a view of ``flat`` when ``params`` holds the layer's own arrays, else a
        concatenated copy."""
        if params is self.params or all(params[k] is self.params[k] for k in names):
            return self.flat[start:stop].reshape(rows, -1)
        return self.xp.concatenate([params[k] for k in names], axis=0).reshape(rows, -1)

    # ---- helpers: gates act on whole blocks --------------------------------------------------
    def _cells(self, v):
        """A block quantity ``(B, nb)`` spread over the block's S cells: ``(B, H)`` (:func:`to_cells`)."""
        return to_cells(v, self.cells_per_block)

    def _blocks(self, v):
        """A cell quantity ``(B, H)`` summed over each block's S cells: ``(B, nb)`` (:func:`to_blocks`)."""
        return to_blocks(v, self.cells_per_block)

    # ---- one step ---------------------------------------------------------------------------
    def step_forward(self, params, a_t, state):
        r"""One step forward; stateless (reads only ``params``, ``a_t``, ``state``).

        ``a_t (B, G)`` is the step's input projection :math:`W x(t) + b` (from :meth:`project`);
        ``state`` is ``(y(t-1), c(t-1)[, gates(t-1)])``. Returns ``y(t) (B, H)``, the new state
        and the cache :class:`LSTMStep`. (Inside :meth:`forward` the fast path's step,
        :meth:`minilstm.nn.lstm_fast.FastPath.step_forward`, may run instead: the same function.)
        """
        xp, H, cols = self.xp, self.n_cells, self.cols
        y_prev, c_prev = state[0], state[1]
        u_prev = xp.concatenate([y_prev, state[2]], axis=1) if self.has_gate_state else y_prev
        if self._R_uniform:                                  # one product for every unit
            a = a_t + u_prev @ self._fused_from(params, *self._R_groups[0]).T      # (B, G)
        else:                                                # FGR: z sees y, gates see [y, gates]
            a = xp.empty_like(a_t)
            a[:, :H] = a_t[:, :H] + y_prev @ params["R_z"].T
            a[:, H:] = a_t[:, H:] + u_prev @ self._fused_from(params, *self._R_groups[1]).T
        for k in self.peephole_gates:                        # i, f see c(t-1)
            if k != "o":
                a[:, cols[k]] += self._blocks(c_prev * params[f"p_{k}"])
        early = self.layout.early
        if early.stop > early.start:                         # the gates that can, in one call
            _sigmoid(a[:, early], out=a[:, early])
        z = self._g(a[:, :H], out=a[:, :H])
        i = a[:, cols["i"]] if "i" in cols else None
        f = (1.0 - i) if self.cifg else (a[:, cols["f"]] if "f" in cols else None)
        c = c_prev * self._cells(f) if f is not None else c_prev.copy()
        c += self._cells(i) * z if i is not None else z
        o = None
        if "o" in cols:
            o = a[:, cols["o"]]
            if self._o_late:                                 # o sees c(t): after the update
                o += self._blocks(c * params["p_o"])
                _sigmoid(o, out=o)
        hc = self._h(c)
        y = hc * self._cells(o) if o is not None else hc.copy()
        state = (y, c, a[:, H:]) if self.has_gate_state else (y, c)
        return y, state, LSTMStep(u_prev, c_prev, a, z, i, f, o, c, hc)

    def step_backward(self, params, dy_t, dstate, cache_t):
        r"""One step of BPTT; stateless. See the module docstring for the equations.

        ``dy_t (B, H)`` is :math:`\partial E/\partial y(t)` from above; ``dstate`` the total
        derivative at ``state(t)`` from later steps. Returns ``delta (B, G)`` (the error at the
        pre-activations, columns ``[z | i | f | o]``) and the derivative at ``state(t-1)``.
        (Inside :meth:`backward` the fast path's step may run instead: the same function.)
        """
        xp, H, cols = self.xp, self.n_cells, self.cols
        s = cache_t
        dy = dy_t + dstate[0]                                # ȳ(t)
        dgates = dstate[2] if self.has_gate_state else None  # (B, Ng): errors at i, f, o (t) from t+1
        delta = xp.empty_like(s.act)                         # (B, G)

        def rec(k):                                          # gate error arriving through the state
            return 0.0 if dgates is None else dgates[:, cols[k].start - H:cols[k].stop - H]

        if s.o is not None:
            d_o = delta[:, cols["o"]]
            d_o[...] = (self._blocks(dy * s.hc) + rec("o")) * (s.o * (1.0 - s.o))
            dhc = dy * self._cells(s.o)
        else:
            dhc = dy
        dc = dstate[1] + dhc * self._dh(s.hc)                # c̄(t)
        if self._o_late:
            dc += self._cells(delta[:, cols["o"]]) * params["p_o"]
        if s.i is not None:
            delta[:, :H] = dc * self._cells(s.i) * self._dg(s.z)
            di = self._blocks(dc * s.z) + rec("i")
        else:
            delta[:, :H] = dc * self._dg(s.z)
        dc_prev = dc * self._cells(s.f) if s.f is not None else dc.copy()
        if "f" in cols:
            delta[:, cols["f"]] = (self._blocks(dc * s.c_prev) + rec("f")) * (s.f * (1.0 - s.f))
        elif self.cifg:                                      # f = 1 - i
            di -= self._blocks(dc * s.c_prev)
        if s.i is not None:
            delta[:, cols["i"]] = di * (s.i * (1.0 - s.i))
        for k in self.peephole_gates:
            if k != "o":
                dc_prev += self._cells(delta[:, cols[k]]) * params[f"p_{k}"]
        if self._R_uniform:
            du = delta @ self._fused_from(params, *self._R_groups[0])             # (B, U)
        else:
            du = delta[:, H:] @ self._fused_from(params, *self._R_groups[1])
            du[:, :H] += delta[:, :H] @ params["R_z"]
        if self.has_gate_state:
            return delta, (du[:, :H], dc_prev, du[:, H:])
        return delta, (du, dc_prev)

    # ---- all steps at once ------------------------------------------------------------------
    def project(self, x):
        r"""The input projection of all steps in one product: ``(T, B, G)`` = :math:`W x(t) + b`."""
        T, B, I = x.shape
        W, b = self.fused.W, self.fused.b
        a = x.reshape(T * B, I) @ W.T                                           # (T·B, G)
        if b is not None:
            a[:, self.bias_cols] += b
        return a.reshape(T, B, self.G)

    def _project(self, x):
        """The sequence loop's projection: :meth:`project`, or the fast path's scaled one (which
        only ``_sequence_buffers`` below may receive: the two go together)."""
        return self._fast.project(x) if self._fast else self.project(x)

    # ---- the sequence loop's fast path (see minilstm.nn.recurrent and minilstm.nn.lstm_fast) ---------
    def _loop_errstate(self):
        return {"over": "ignore"} if self._fast else {}   # exp overflows: exactly σ = 0

    def _sequence_buffers(self, a, state0):
        return self._fast.sequence_buffers(a, state0) if self._fast else None

    def _backward_buffers(self, cache):
        if not isinstance(cache.extra, _fast_path.FastSequence):   # the plain loop ran forward
            return None
        B, H = cache.extra.C.shape[1:]
        return self._fast.backward_buffers(cache.extra, factors_at_once=B * H <= self._factors_at_once_max)

    def _weight_grads(self, x, da, cache):
        xp, H, cols = self.xp, self.n_cells, self.cols
        T, B, I = x.shape
        TB = T * B
        d2 = da.reshape(TB, self.G)                                             # (T·B, G)
        x2 = x.reshape(TB, I)
        dflat = xp.zeros_like(self.flat)
        grads = flat_views(dflat, self.layout.shapes)
        dfused = self.layout.fused(dflat)
        dfused.W[...] = d2.T @ x2                                               # ∂E/∂W (G, I)
        if isinstance(cache.extra, _fast_path.FastSequence):                    # y(t−1): a view
            u2 = cache.extra.Y[:-1].reshape(TB, self.U)                         # (T·B, U)
        else:
            u2 = xp.stack([s.u_prev for s in cache.steps]).reshape(TB, self.U)  # (T·B, U)
        if self._R_uniform:
            dfused.R[...] = d2.T @ u2                                           # ∂E/∂R (G, U)
        else:
            grads["R_z"][...] = d2[:, :H].T @ u2[:, :H]
            self._R_groups[1].of(dflat)[...] = d2[:, H:].T @ u2
        if dfused.b is not None:
            dfused.b[...] = d2[:, self.bias_cols].sum(axis=0)
        if self.peephole_gates:
            c_prev2 = xp.stack([s.c_prev for s in cache.steps]).reshape(TB, H)
            for k in self.peephole_gates:
                c_src = xp.stack([s.c for s in cache.steps]).reshape(TB, H) if k == "o" else c_prev2
                grads[f"p_{k}"][...] = (self._cells(d2[:, cols[k]]) * c_src).sum(axis=0)
        dx = d2 @ self.fused.W                                                  # (T·B, I)
        return dx.reshape(T, B, I), grads

    # ---- packed trials (minilstm.train.trials) -------------------------------------------------
    def axis_kinds(self) -> dict:
        r"""``{param name: (axis kind, ...)}`` for packing trials (see
        :meth:`minilstm.nn.recurrent.Recurrent.axis_kinds`): rows of ``z`` and peepholes run over
        ``'cell'``, rows of the gates over ``'block'``; ``W_*`` columns over ``'in'``, ``R_*``
        columns over ``'u'`` (the recurrent source :math:`u(t-1)`), or ``'cell'`` for ``R_z``
        with FGR."""
        out = {}
        for name in self.params:
            kind, unit = name.split("_", 1)
            row = "cell" if (unit == "z" or kind == "p") else "block"
            if kind == "W":
                out[name] = (row, "in")
            elif kind == "R":
                out[name] = (row, "cell" if (self.fgr and unit == "z") else "u")
            else:                                           # b_*, p_*
                out[name] = (row,)
        return out

    def axis_sizes(self) -> dict:
        r"""One trial's widths: ``'in'`` (I,), ``'cell'`` (H,), ``'block'`` (:math:`n_b`,) and
        ``'u'`` :math:`(H, n_b, …)`, the recurrent source :math:`[y, i, f, o]` of the 1997 wiring
        (gate-major in the wide layer: ``[y (K·H) | i (K·nb) | f (K·nb) | o (K·nb)]``)."""
        nb = self.n_blocks
        n_gate_state = len(self.gates) if self.has_gate_state else 0
        return {"in": (self.n_in,), "cell": (self.n_cells,), "block": (nb,),
                "u": (self.n_cells,) + (nb,) * n_gate_state}

    def widen(self, K: int):
        """An LSTM of this configuration with K·I inputs and K·H cells (K·nb blocks), every
        parameter 0 (``gate_bias_init`` dropped: the trials' own values are copied in)."""
        K = check_int("K", K)
        return type(self)(**{**self.config, "n_in": K * self.n_in, "n_cells": K * self.n_cells,
                             "gate_bias_init": None, "seed": None, "init_scale": 0.0})

    # ---- 1997 bookkeeping -------------------------------------------------------------------
    def n_weights_1997(self, n_out, output_bias=False):
        r"""The 1997 paper's weight count: this layer's ``n_params`` plus a readout from the H cell
        outputs to ``n_out`` output units, with or without a bias each:
        :math:`W = n_\text{params} + n_\text{out}(H + [\text{output\_bias}])`."""
        return self.n_params + check_int("n_out", n_out) * (self.n_cells + int(bool(output_bias)))
