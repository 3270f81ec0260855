r"""Named presets: the historical LSTM configurations as :class:`minilstm.nn.lstm.LSTM` layers.

Notation as in :mod:`minilstm.nn.lstm` (Greff et al. 2017): cell input :math:`z`, gates :math:`i, f,
o`, cell state :math:`c`, output :math:`y`, recurrent source :math:`u(t-1)`; H cells in
:math:`n_b` blocks of S cells. The vanilla LSTM of Greff et al. is

.. math::

    z &= g(W_z x + R_z y(t-1) + b_z) \\
    i &= \sigma(W_i x + R_i y(t-1) + p_i\odot c(t-1) + b_i) \\
    f &= \sigma(W_f x + R_f y(t-1) + p_f\odot c(t-1) + b_f) \\
    c &= f\odot c(t-1) + i\odot z \\
    o &= \sigma(W_o x + R_o y(t-1) + p_o\odot c(t) + b_o) \\
    y &= o\odot h(c), \qquad g = h = \tanh,

and each preset's docstring says what changes. Every preset takes keyword overrides that go
straight to :class:`~minilstm.nn.lstm.LSTM` (``seed``, ``dtype``, ``backend``, ``init_scale``, or any
flag), so ``lstm_1997(7, 4, seed=1, backend='strict')`` works.

The 1997 family (:func:`lstm_1997`, :func:`lstm_forget_1999`, :func:`lstm_peephole_2000`) is
called with ``(n_in, n_blocks, cells_per_block=1)``; Greff's (:func:`vanilla` and the variants)
with ``(n_in, n_cells)`` (blocks of one cell, as in that paper). With one cell per block the two
coincide, which is how :data:`PRESETS` is used uniformly: ``PRESETS[name](n_in, n)``.

The weight counts of the 1997 paper are reproduced by :data:`EXPERIMENTS_1997` and
:func:`net_1997`: the count is ``layer.n_weights_1997(n_out, output_bias)``, i.e. the real layer's
``n_params`` plus a readout from the cells.
"""
from __future__ import annotations

from .lstm import LSTM
from ..validate import check_int, check_number

__all__ = ["lstm_1997", "lstm_forget_1999", "lstm_peephole_2000", "vanilla", "nig", "nfg", "nog",
           "niaf", "noaf", "no_peepholes", "np_", "cifg", "fgr", "PRESETS", "EXPERIMENTS_1997",
           "net_1997", "bias_staircase"]


def _build(defaults, overrides):
    return LSTM(**{**defaults, **overrides})


def _check_blocks(n_blocks, cells_per_block, overrides):
    """The 1997 family's sizes, by the names the caller wrote (``n_cells`` is derived from them)."""
    check_int("n_blocks", n_blocks)
    check_int("cells_per_block", cells_per_block)
    if "n_cells" in overrides:
        raise TypeError(f"n_cells={overrides['n_cells']!r} cannot be given here: the 1997 presets "
                        f"have n_blocks * cells_per_block cells; change n_blocks or cells_per_block")


def bias_staircase(start, step, n_blocks):
    r"""One bias per block, :math:`b_k = \text{start} + k\cdot\text{step}` for
    :math:`k = 0, \dots, n_b-1`: a list of ``n_blocks`` floats, the shape ``(nb,)`` of a gate
    bias ``b_i, b_f, b_o``. E.g. ``bias_staircase(-1, -1, 3)`` = ``[-1, -2, -3]`` (the 1997
    output-gate recipe) or ``bias_staircase(0.5, 0.5, 4)`` (the forget-gate biases of Gers et
    al. 2000)."""
    start, step = check_number("start", start), check_number("step", step)
    return [float(start + k * step) for k in range(check_int("n_blocks", n_blocks))]


# ---- the 1997 family ------------------------------------------------------------------------
def lstm_1997(n_in, n_blocks, cells_per_block=1, *, cell_bias=False, init_scale=0.1,
              gate_bias_init=None, **overrides):
    r"""Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*: no forget gate, no peepholes.

    .. math::

        z &= g(W_z x + R_z u(t-1) + b_z), \quad g(a) = 4\sigma(a) - 2 \in (-2, 2) \\
        i &= \sigma(W_i x + R_i u(t-1) + b_i), \quad o = \sigma(W_o x + R_o u(t-1) + b_o) \\
        c &= c(t-1) + i\odot z \quad\text{(the constant error carousel, } f \equiv 1) \\
        y &= o\odot h(c), \quad h(a) = 2\sigma(a) - 1 \in (-1, 1)

    with the fully recurrent wiring :math:`u(t-1) = [y(t-1), i(t-1), o(t-1)]` (``recurrence='all'``:
    every gate and cell sees every hidden unit at t−1; this is how the paper counts weights).
    Gates are biased; the cell bias :math:`b_z` is off by default (Exp. 1) and on in Exp. 3a, 4, 5,
    6. ``init_scale``: 0.2 in Exp. 1–2, 0.1 elsewhere. ``gate_bias_init``: e.g. ``{'o': [-1, -2,
    -3]}`` (Exp. 1) or ``{'i': [-1, -3, -5], 'o': [-2, -4, -6]}`` (Exp. 3a).
    The 1997 *learning rule* (truncated gradient) is not part of the layer.

    Shapes, with :math:`H = n_b S` cells and :math:`U = H + 2n_b` sources in :math:`u(t-1)`:
    ``W_z (H, I)``, ``R_z (H, U)``, ``b_z (H,)``; ``W_i, W_o (nb, I)``, ``R_i, R_o (nb, U)``,
    ``b_i, b_o (nb,)``; ``x (T, B, I)`` → ``y (T, B, H)``; state ``y, c (B, H)``, ``gates (B, 2 nb)``.
    """
    _check_blocks(n_blocks, cells_per_block, overrides)
    return _build(dict(n_in=n_in, n_cells=n_blocks * cells_per_block,
                       cells_per_block=cells_per_block, input_gate=True, forget_gate=False,
                       output_gate=True, peepholes=False, g="g1997", h="h1997", recurrence="all",
                       cell_bias=cell_bias, gate_bias=True, init_scale=init_scale,
                       gate_bias_init=gate_bias_init), overrides)


def lstm_forget_1999(n_in, n_blocks, cells_per_block=1, *, cell_bias=False, init_scale=0.1,
                     gate_bias_init=None, **overrides):
    r"""Gers, Schmidhuber & Cummins (1999/2000), *Learning to Forget*: :func:`lstm_1997` plus a
    forget gate per block, which can reset the cell state.

    .. math::

        f &= \sigma(W_f x + R_f u(t-1) + b_f) \\
        c &= f\odot c(t-1) + i\odot z

    with :math:`u(t-1) = [y(t-1), i(t-1), f(t-1), o(t-1)]`, g = 4σ − 2, h = 2σ − 1 as in 1997.
    The paper's CERG net: 4 blocks × 2 cells, input and output gate biases −0.5, −1.0, −1.5, −2.0,
    forget-gate biases +0.5, +1.0, +1.5, +2.0, e.g. ``gate_bias_init={'i': bias_staircase(-0.5,
    -0.5, 4), 'o': bias_staircase(-0.5, -0.5, 4), 'f': bias_staircase(0.5, 0.5, 4)}``.

    Shapes as :func:`lstm_1997` with :math:`U = H + 3n_b` and the forget gate's own
    ``W_f (nb, I)``, ``R_f (nb, U)``, ``b_f (nb,)``; state ``gates (B, 3 nb)``.
    """
    return lstm_1997(n_in, n_blocks, cells_per_block, cell_bias=cell_bias, init_scale=init_scale,
                     gate_bias_init=gate_bias_init, **{"forget_gate": True, **overrides})


def lstm_peephole_2000(n_in, n_blocks, cells_per_block=1, *, cell_bias=False, init_scale=0.1,
                       gate_bias_init=None, **overrides):
    r"""Gers & Schmidhuber (2000) / Gers, Schraudolph & Schmidhuber (2002), *Learning Precise
    Timing*: :func:`lstm_forget_1999` plus peephole weights from the cells to their gates.

    .. math::

        i &= \sigma(W_i x + R_i u(t-1) + P_i c(t-1) + b_i), \quad
        f = \sigma(W_f x + R_f u(t-1) + P_f c(t-1) + b_f) \\
        c &= f\odot c(t-1) + i\odot z \\
        o &= \sigma(W_o x + R_o u(t-1) + P_o c(t) + b_o) \quad\text{(computed after the cell update)}

    where :math:`(P c)_k = \sum_{j\in\text{block }k} p_j c_j`. The timing nets of the 2002 paper drop
    h and use g = identity: pass ``g='identity', h='identity'``. (The paper's own learning rule
    lets no error flow back through the peepholes; this layer computes the full gradient.)

    Shapes as :func:`lstm_forget_1999`, plus one peephole weight per cell: ``p_i, p_f, p_o (H,)``.
    """
    return lstm_1997(n_in, n_blocks, cells_per_block, cell_bias=cell_bias, init_scale=init_scale,
                     gate_bias_init=gate_bias_init,
                     **{"forget_gate": True, "peepholes": True, **overrides})


# ---- Greff et al. (2017), LSTM: A Search Space Odyssey ---------------------------------------
def vanilla(n_in, n_cells, **overrides):
    r"""Greff et al. (2017), the vanilla LSTM: all three gates, peepholes, g = h = tanh, biases on
    every unit, and the modern wiring :math:`u(t-1) = y(t-1)` (the equations of the module
    docstring).

    Shapes, H = ``n_cells`` (blocks of one cell): ``W_z, W_i, W_f, W_o (H, I)``,
    ``R_z, R_i, R_f, R_o (H, H)``, ``b_z, b_i, b_f, b_o (H,)``, ``p_i, p_f, p_o (H,)``;
    ``x (T, B, I)`` → ``y (T, B, H)``; state ``y, c (B, H)``."""
    return _build(dict(n_in=n_in, n_cells=n_cells, input_gate=True, forget_gate=True,
                       output_gate=True, peepholes=True, g="tanh", h="tanh", recurrence="output",
                       cell_bias=True, gate_bias=True, init_scale=0.1), overrides)


def nig(n_in, n_cells, **overrides):
    r"""Greff's NIG, no input gate: :math:`i \equiv 1`, so :math:`c = f\odot c(t-1) + z`.

    Shapes as :func:`vanilla` (``x (T, B, I)`` → ``y (T, B, H)``) without ``W_i, R_i, b_i, p_i``."""
    return vanilla(n_in, n_cells, **{"input_gate": False, **overrides})


def nfg(n_in, n_cells, **overrides):
    r"""Greff's NFG, no forget gate: :math:`f \equiv 1`, so :math:`c = c(t-1) + i\odot z` (the
    1997 CEC).

    Shapes as :func:`vanilla` (``x (T, B, I)`` → ``y (T, B, H)``) without ``W_f, R_f, b_f, p_f``."""
    return vanilla(n_in, n_cells, **{"forget_gate": False, **overrides})


def nog(n_in, n_cells, **overrides):
    r"""Greff's NOG, no output gate: :math:`o \equiv 1`, so :math:`y = h(c)`.

    Shapes as :func:`vanilla` (``x (T, B, I)`` → ``y (T, B, H)``) without ``W_o, R_o, b_o, p_o``."""
    return vanilla(n_in, n_cells, **{"output_gate": False, **overrides})


def niaf(n_in, n_cells, **overrides):
    r"""Greff's NIAF, no input activation function: :math:`g = \mathrm{id}`,
    :math:`z = W_z x + R_z y(t-1) + b_z`.

    Shapes as :func:`vanilla`: the same parameters, ``x (T, B, I)`` → ``y (T, B, H)``."""
    return vanilla(n_in, n_cells, **{"g": "identity", **overrides})


def noaf(n_in, n_cells, **overrides):
    r"""Greff's NOAF, no output activation function: :math:`h = \mathrm{id}`, :math:`y = o\odot c`.

    Shapes as :func:`vanilla`: the same parameters, ``x (T, B, I)`` → ``y (T, B, H)``."""
    return vanilla(n_in, n_cells, **{"h": "identity", **overrides})


def no_peepholes(n_in, n_cells, **overrides):
    r"""Greff's NP, no peepholes: the :math:`p_i\odot c(t-1)`, :math:`p_f\odot c(t-1)` and
    :math:`p_o\odot c(t)` terms are removed (and with them the parameters ``p_i, p_f, p_o``).

    Shapes as :func:`vanilla` (``x (T, B, I)`` → ``y (T, B, H)``) without ``p_i, p_f, p_o``."""
    return vanilla(n_in, n_cells, **{"peepholes": False, **overrides})


np_ = no_peepholes


def cifg(n_in, n_cells, **overrides):
    r"""Greff's CIFG, coupled input and forget gate: :math:`f = 1 - i` (no ``W_f, R_f, b_f, p_f``),
    so :math:`c = (1 - i)\odot c(t-1) + i\odot z`.

    Shapes as :func:`vanilla` (``x (T, B, I)`` → ``y (T, B, H)``) without ``W_f, R_f, b_f, p_f``."""
    return vanilla(n_in, n_cells, **{"cifg": True, **overrides})


def fgr(n_in, n_cells, **overrides):
    r"""Greff's FGR, full gate recurrence: every gate also receives the previous activations of all
    gates,

    .. math:: i = \sigma(W_i x + R_i [y(t-1), i(t-1), f(t-1), o(t-1)] + p_i\odot c(t-1) + b_i)

    (likewise f and o); ``R_i, R_f, R_o`` have H + 3H columns, ``R_z`` keeps H. The state carries
    the gate activations (``state_names = ('y', 'c', 'gates')``).

    Shapes as :func:`vanilla` except ``R_i, R_f, R_o (H, 4H)``; state ``y, c (B, H)``,
    ``gates (B, 3H)``."""
    return vanilla(n_in, n_cells, **{"fgr": True, **overrides})


#: name → preset function; every one is called as ``PRESETS[name](n_in, n, **overrides)``.
PRESETS = {
    "lstm_1997": lstm_1997,
    "lstm_forget_1999": lstm_forget_1999,
    "lstm_peephole_2000": lstm_peephole_2000,
    "vanilla": vanilla,
    "nig": nig,
    "nfg": nfg,
    "nog": nog,
    "niaf": niaf,
    "noaf": noaf,
    "np": no_peepholes,
    "cifg": cifg,
    "fgr": fgr,
}


#: The networks of Hochreiter & Schmidhuber (1997) whose weight counts the paper states.
#: The count rule (each hidden unit: its inputs + all hidden units + a bias if it has one; each
#: output: the cells + a bias if it has one) is what ``lstm_1997(...).n_weights_1997`` computes.
#: Exp. 3a: the paper gives 3 blocks × 1 cell and 102 weights; 1 input, 1 output, biased cells
#: and gates, unbiased output gives 33 + 66 + 3 = 102 (the only other split that gives 102,
#: 1 input with 2 unbiased outputs and unbiased cells, 30 + 66 + 6, does not fit a one-output
#: classification task).
EXPERIMENTS_1997 = {
    "1_4x1": dict(n_in=7, n_out=7, n_blocks=4, cells_per_block=1, cell_bias=False,
                  output_bias=False, init_scale=0.2, gate_bias_init={"o": [-1.0, -2.0, -3.0, -4.0]},
                  weights=264),
    "1_3x2": dict(n_in=7, n_out=7, n_blocks=3, cells_per_block=2, cell_bias=False,
                  output_bias=False, init_scale=0.2, gate_bias_init={"o": [-1.0, -2.0, -3.0]},
                  weights=276),
    "3a": dict(n_in=1, n_out=1, n_blocks=3, cells_per_block=1, cell_bias=True, output_bias=False,
               init_scale=0.1, gate_bias_init={"i": [-1.0, -3.0, -5.0], "o": [-2.0, -4.0, -6.0]},
               weights=102),
    "4": dict(n_in=2, n_out=1, n_blocks=2, cells_per_block=2, cell_bias=True, output_bias=True,
              init_scale=0.1, gate_bias_init={"i": [-3.0, -6.0]}, weights=93),
    "5": dict(n_in=2, n_out=1, n_blocks=2, cells_per_block=2, cell_bias=True, output_bias=True,
              init_scale=0.1, gate_bias_init=None, weights=93),
    "6a": dict(n_in=8, n_out=4, n_blocks=2, cells_per_block=2, cell_bias=True, output_bias=True,
               init_scale=0.1, gate_bias_init={"i": [-2.0, -4.0]}, weights=156),
    "6b": dict(n_in=8, n_out=8, n_blocks=3, cells_per_block=2, cell_bias=True, output_bias=True,
               init_scale=0.1, gate_bias_init={"i": [-2.0, -4.0, -6.0]}, weights=308),
}


def net_1997(name, **overrides):
    r"""The LSTM layer of a 1997 experiment (a key of :data:`EXPERIMENTS_1997`) and its readout.

    Returns ``(layer, n_out, output_bias)``: ``layer`` is :func:`lstm_1997` with the spec's
    sizes (shapes there: ``x (T, B, I)`` → ``y (T, B, H)``, :math:`H = n_b S`), and the readout
    :math:`\hat y(t) = \sigma(W_y\,y(t) + b_y)` the paper puts on the cells has ``W_y (n_out, H)``
    and, with ``output_bias``, ``b_y (n_out,)``. The paper's weight count is
    ``layer.n_weights_1997(n_out, output_bias)`` = ``layer.n_params`` + :math:`n_{out}(H + \beta)`,
    :math:`\beta = 1` with an output bias and 0 without (e.g. 264 for ``'1_4x1'``).
    """
    try:
        spec = dict(EXPERIMENTS_1997[name])
    except KeyError:
        raise ValueError(f"name={name!r} is not a 1997 experiment; expected one of "
                         f"{sorted(EXPERIMENTS_1997)}") from None
    n_out, output_bias = spec.pop("n_out"), spec.pop("output_bias")
    spec.pop("weights")
    layer = lstm_1997(spec.pop("n_in"), spec.pop("n_blocks"), **{**spec, **overrides})
    return layer, n_out, output_bias
