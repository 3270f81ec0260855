"""Cell diagrams for the book, drawn from a layer's own configuration.

Each function takes a built layer and reads from it what to draw: which gates have parameters
(``layer.gates``), whether the forget gate is coupled to the input gate (``layer.cifg``), which
gates have peepholes (``layer.peephole_gates``), which squashing functions the cell uses
(``layer.g``, ``layer.h``), how many cells share a block's gates (``layer.cells_per_block``) and
what the recurrent source is (``layer.recurrence``, ``layer.fgr``), and for the sLSTM which
forget gate it has (``layer.forget``). A diagram therefore cannot show a gate or a peephole the
layer does not have.

Conventions, the same in every diagram: squares are squashing functions, circles with a letter
are gates (the logistic σ unless marked), small circles with × or + multiply or add, the wide box
is the cell state, solid arrows carry values, dashed arrows are peepholes (labelled with the
state they read), and a short arrow entering from outside carries the unit's inputs: x(t) and the
recurrent source at t−1, named in the caption under the drawing.
"""
import textwrap

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

FONT = 15          # symbols
SMALL = 12         # labels and the caption
_SQUASH = {"tanh": "tanh", "g1997": "g", "h1997": "h", "identity": "id", "sigmoid": "σ"}
_GATE_NAMES = {"i": "input", "f": "forget", "o": "output"}


UNIT = 0.43        # inches per drawing unit: 12.2 units across a 5.2-inch figure


def _figure(width, height):
    """A figure of ``width`` x ``height`` drawing units, equal aspect, no axes."""
    fig, ax = plt.subplots(figsize=(width * UNIT, height * UNIT))
    fig.subplots_adjust(0, 0, 1, 1)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, text, w=1.0, h=0.8, fc="#dbe8f6", fontsize=None):
    if fontsize is None:
        fontsize = FONT if len(text) <= 2 else SMALL
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                fc=fc, ec="black", lw=1.4, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _circle(ax, x, y, text, r=0.38, fc="#fbe3c4", fontsize=FONT):
    ax.add_patch(Circle((x, y), r, fc=fc, ec="black", lw=1.4, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _op(ax, x, y, text):
    _circle(ax, x, y, text, r=0.24, fc="white", fontsize=FONT - 1)


def _arrow(ax, a, b, style="-|>", ls="-", rad=0.0, color="black", lw=1.4, shrink=(0, 0)):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=14, lw=lw, ls=ls,
                                 color=color, connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=shrink[0], shrinkB=shrink[1], zorder=2))


def _feed(ax, x, y, dy=0.75, dx=0.0):
    """A short arrow from outside into a unit at (x, y): its inputs x(t) and u(t−1)."""
    _arrow(ax, (x + dx, y + dy), (x, y), shrink=(0, 14))


def _caption(ax, text, y=0.1, width=50):
    """Lines of text at the bottom, wrapped to ``width`` characters (the figure is narrow)."""
    lines = [w for line in text.split("\n") for w in textwrap.wrap(line, width)]
    ax.text(0.05, y, "\n".join(lines), ha="left", va="bottom", fontsize=SMALL)
    return len(lines)


def _recurrent_source(layer):
    gates = "".join(f", {k}" for k in layer.gates)
    if layer.recurrence == "all":
        return f"every unit reads x(t) and u(t−1) = [y{gates}](t−1)"
    if layer.fgr:
        return f"the cell input reads x(t), y(t−1); the gates x(t), [y{gates}](t−1)"
    return "every unit reads x(t) and y(t−1)"


def lstm_cell(layer, title=None):
    """Draw one LSTM memory cell (or one block of two cells) of ``layer``, an ``minilstm.LSTM``.

    The drawing follows ``layer``: a gate appears only if it is in ``layer.gates`` (or, coupled,
    ``layer.cifg``); peepholes only for ``layer.peephole_gates``, from c(t−1) to the input and
    forget gates and from c(t) to the output gate, the order in which the layer computes them;
    the self-loop of the carousel carries weight 1 without a forget gate and is multiplied by f
    with one. With ``cells_per_block`` > 1 two cells of the block are drawn, sharing its gates.
    Returns the figure.
    """
    gates = set(layer.gates)
    has_i, has_o = "i" in gates, "o" in gates
    has_f = "f" in gates or layer.cifg
    peep = set(layer.peephole_gates)
    rows = 2 if layer.cells_per_block > 1 else 1
    lines = [_recurrent_source(layer)]
    if rows > 1:
        lines.append(f"a block of {layer.cells_per_block} cells shares one set of gates "
                     f"(two cells drawn)")
    if layer.cifg:
        lines.append("CIFG: the forget gate is f = 1 − i, with no weights of its own")
    if peep:
        reads = [f"{k} reads c(t)" if k == "o" else f"{k} reads c(t−1)"
                 for k in layer.peephole_gates]
        lines.append("dashed: peepholes (" + "; ".join(reads) + ")")
    n_lines = sum(len(textwrap.wrap(line, 50)) for line in lines)
    y_last = 1.1 + 0.62 * n_lines
    ys = [y_last + 2.6 * (rows - 1 - k) for k in range(rows)]
    y_gate = ys[0] + 2.5
    fig, ax = _figure(12.2, y_gate + 1.2)
    xg, xi, xc, xh, xo, xy = 1.5, 3.3, 5.6, 8.0, 9.6, 11.4
    for k, y in enumerate(ys):
        cell = "" if rows == 1 else f"{k + 1}"
        _feed(ax, xg, y, dy=0.0, dx=-1.0)
        _box(ax, xg, y, _SQUASH.get(layer.g, layer.g), w=1.3)
        if has_i:
            _op(ax, xi, y, "×")
            _arrow(ax, (xg + 0.65, y), (xi - 0.24, y))
            _arrow(ax, (xi + 0.24, y), (xc - 0.9, y))
        else:
            _arrow(ax, (xg + 0.65, y), (xc - 0.9, y))
        ax.text((xg + xi) / 2 + 0.25, y - 0.5, f"z{cell}", ha="center", fontsize=SMALL)
        _box(ax, xc, y, f"c{cell}", w=1.8, h=0.9, fc="#d7f0d2")
        # the carousel: a self-loop of weight 1, or f
        loop_y = y + 1.05
        _arrow(ax, (xc + 0.6, y + 0.45), (xc - 0.6, y + 0.45), rad=1.1)
        if not has_f:
            ax.text(xc, loop_y + 0.12, "1.0", ha="center", va="bottom", fontsize=SMALL)
        if has_f:
            _op(ax, xc, loop_y, "×")
        _box(ax, xh, y, _SQUASH.get(layer.h, layer.h), w=1.3)
        _arrow(ax, (xc + 0.9, y), (xh - 0.65, y))
        if has_o:
            _op(ax, xo, y, "×")
            _arrow(ax, (xh + 0.65, y), (xo - 0.24, y))
            _arrow(ax, (xo + 0.24, y), (xy, y))
        else:
            _arrow(ax, (xh + 0.65, y), (xy, y))
        ax.text(xy + 0.1, y, f"y{cell}", ha="left", va="center", fontsize=FONT)
    # the gates, shared by the cells of the block
    ytop = ys[0]
    if has_i:
        _circle(ax, xi, y_gate, "i")
        _feed(ax, xi, y_gate, dx=-0.5)
        for n, y in enumerate(ys):
            _arrow(ax, (xi, y_gate - 0.38), (xi, y + 0.24), rad=0.2 * n)
    if has_f:
        _circle(ax, xc, y_gate, "f", fc="#fbe3c4" if not layer.cifg else "#f3d6f0")
        if layer.cifg:
            _arrow(ax, (xi + 0.38, y_gate), (xc - 0.38, y_gate))
            ax.text((xi + xc) / 2, y_gate + 0.15, "1 − i", ha="center", va="bottom",
                    fontsize=SMALL)
        else:
            _feed(ax, xc, y_gate, dx=-0.5)
        _arrow(ax, (xc, y_gate - 0.38), (xc, ytop + 1.05 + 0.24))
    if has_o:
        _circle(ax, xo, y_gate, "o")
        _feed(ax, xo, y_gate, dx=0.5)
        for n, y in enumerate(ys):
            _arrow(ax, (xo, y_gate - 0.38), (xo, y + 0.24), rad=-0.2 * n)
    # peepholes, from the first cell: c(t-1) to i and f, c(t) to o
    for k in sorted(peep):
        x_gate = {"i": xi, "f": xc, "o": xo}[k]
        if k == "f":
            start, end, rad = (xc + 0.9, ytop + 0.3), (xc + 0.36, y_gate - 0.15), 0.45
            label_at = (xc + 1.75, (ytop + y_gate) / 2 + 0.1)
        elif k == "i":
            start, end, rad = (xc - 0.7, ytop + 0.45), (xi + 0.3, y_gate - 0.25), -0.25
            label_at = (xi - 0.95, (ytop + y_gate) / 2 + 0.3)
        else:
            start, end, rad = (xc + 0.7, ytop + 0.45), (xo - 0.3, y_gate - 0.25), 0.25
            label_at = ((xc + xo) / 2 + 0.6, (ytop + y_gate) / 2 + 0.55)
        _arrow(ax, start, end, ls="--", rad=rad, color="#b03a2e")
        ax.text(*label_at, "c(t)" if k == "o" else "c(t−1)", color="#b03a2e", fontsize=SMALL,
                ha="center", va="center")
    _caption(ax, "\n".join(lines))
    if title:
        ax.set_title(title, fontsize=FONT)
    return fig


def rnn_unit(layer, title=None):
    """Draw one unit of ``layer``, a ``minilstm.RNN`` (Elman): h(t) = f(W x + R h(t−1) + b)."""
    fig, ax = _figure(12.2, 5.4)
    y = 3.5
    ax.text(0.2, y, "x(t)", ha="left", va="center", fontsize=FONT)
    _op(ax, 3.6, y, "+")
    _arrow(ax, (1.3, y), (3.36, y))
    ax.text(2.3, y + 0.2, "W", ha="center", va="bottom", fontsize=SMALL)
    _box(ax, 6.0, y, layer.config["activation"], w=1.4)
    _arrow(ax, (3.84, y), (5.3, y))
    _arrow(ax, (6.7, y), (10.0, y))
    ax.text(10.1, y, "h(t)", ha="left", va="center", fontsize=FONT)
    # the recurrent connection: h(t-1) back into the sum, through R
    _arrow(ax, (8.6, y), (3.6, y - 0.24), rad=-0.55)
    ax.text(6.0, y - 1.75, "R h(t−1)", ha="center", va="center", fontsize=SMALL)
    _caption(ax, "one unit of the layer; the bias b enters the sum as well")
    if title:
        ax.set_title(title, fontsize=FONT)
    return fig


def gru_unit(layer, title=None):
    """Draw one unit of ``layer``, a ``minilstm.GRU`` (reset gate r before the recurrent product).

    h(t) = u ⊙ h(t−1) + (1 − u) ⊙ h̃(t), h̃(t) = tanh(W_h x + R_h (r ⊙ h(t−1)) + b_h).
    """
    assert {"R_r", "R_u", "R_h"} <= set(layer.params), "not a GRU"
    fig, ax = _figure(12.2, 7.8)
    y_top, y_mid = 7.0, 4.4
    ax.text(0.15, y_top, "h(t−1)", ha="left", va="center", fontsize=FONT)
    _op(ax, 6.6, y_top, "×")
    _op(ax, 9.6, y_top, "+")
    _arrow(ax, (1.7, y_top), (6.36, y_top))
    _arrow(ax, (6.84, y_top), (9.36, y_top))
    _arrow(ax, (9.84, y_top), (11.0, y_top))
    ax.text(11.05, y_top, "h(t)", ha="left", va="center", fontsize=FONT)
    # reset gate, then the candidate
    _circle(ax, 2.4, y_mid - 1.5, "r")
    _feed(ax, 2.4, y_mid - 1.5, dy=-0.8)
    _op(ax, 3.4, y_mid, "×")
    _arrow(ax, (2.4, y_top), (3.4, y_mid + 0.24), rad=0.25)
    _arrow(ax, (2.4 + 0.3, y_mid - 1.5 + 0.25), (3.4 - 0.17, y_mid - 0.17))
    _box(ax, 5.2, y_mid, "tanh", w=1.3)
    _arrow(ax, (3.64, y_mid), (4.55, y_mid))
    ax.text(4.1, y_mid + 0.2, "$R_h$", ha="center", va="bottom", fontsize=SMALL)
    _feed(ax, 5.2, y_mid - 0.4, dy=-0.8)
    ax.text(6.35, y_mid - 0.45, "h̃", ha="center", fontsize=FONT)
    _op(ax, 8.0, y_mid, "×")
    _arrow(ax, (5.85, y_mid), (7.76, y_mid))
    _arrow(ax, (8.24, y_mid), (9.6, y_top - 0.24), rad=0.3)
    # update gate: u multiplies h(t-1), 1 - u multiplies the candidate
    y_u = y_mid + 1.35
    _circle(ax, 6.6, y_u, "u")
    _feed(ax, 6.6 - 0.38, y_u, dx=-0.8, dy=0.0)
    _arrow(ax, (6.6, y_u + 0.38), (6.6, y_top - 0.24))
    _arrow(ax, (6.6 + 0.3, y_u - 0.24), (8.0 - 0.17, y_mid + 0.17))
    ax.text(7.5, y_u - 0.2, "1 − u", ha="left", va="bottom", fontsize=SMALL)
    _caption(ax, "inputs of r, u and the candidate: x(t) and h(t−1); r acts before $R_h$")
    if title:
        ax.set_title(title, fontsize=FONT)
    return fig


def slstm_cell(layer, title=None):
    """Draw one cell of ``layer``, a ``minilstm.SLSTM`` (Beck et al. 2024).

    c(t) = f c(t−1) + i z, n(t) = f n(t−1) + i, y = o c/n, with i = exp(ī) and f = σ(f̄) or
    exp(f̄) as ``layer.forget`` says. The stabilizer m, which scales c and n by a common factor
    and changes no output, is not drawn.
    """
    assert {"R_z", "R_i", "R_f", "R_o"} <= set(layer.params) and "n" in layer.state_names, "not an SLSTM"
    forget = layer.forget
    fig, ax = _figure(12.2, 8.4)
    xg, xi, xc, xd, xo, xy = 1.5, 3.3, 5.6, 8.0, 9.6, 11.4
    y_gate, yc, yn = 7.5, 4.9, 2.4
    _feed(ax, xg, yc, dy=0.0, dx=-1.0)
    _box(ax, xg, yc, "tanh", w=1.3)
    _op(ax, xi, yc, "×")
    _arrow(ax, (xg + 0.65, yc), (xi - 0.24, yc))
    _arrow(ax, (xi + 0.24, yc), (xc - 0.9, yc))
    ax.text((xg + xi) / 2 + 0.05, yc - 0.45, "z", ha="center", fontsize=SMALL)
    for y, name in ((yc, "c"), (yn, "n")):
        _box(ax, xc, y, name, w=1.8, h=0.9, fc="#d7f0d2")
        _arrow(ax, (xc + 0.6, y + 0.45), (xc - 0.6, y + 0.45), rad=1.1)
        _op(ax, xc, y + 1.05, "×")
    _circle(ax, xi, y_gate, "exp", fontsize=SMALL)
    ax.text(xi - 0.55, y_gate, "i", ha="right", va="center", fontsize=FONT)
    _feed(ax, xi, y_gate, dx=-0.5)
    _arrow(ax, (xi, y_gate - 0.38), (xi, yc + 0.24))
    _arrow(ax, (xi, y_gate - 0.38), (xc - 0.9, yn), rad=0.35)   # i also adds to n
    _circle(ax, xc, y_gate, "σ" if forget == "sigmoid" else "exp",
            fontsize=FONT if forget == "sigmoid" else SMALL)
    ax.text(xc + 0.55, y_gate, "f", ha="left", va="center", fontsize=FONT)
    _feed(ax, xc, y_gate, dx=-0.5)
    _arrow(ax, (xc, y_gate - 0.38), (xc, yc + 1.05 + 0.24))
    _arrow(ax, (xc - 0.3, y_gate - 0.25), (xc - 0.24, yn + 1.05), rad=0.45)
    _op(ax, xd, yc, "÷")
    _arrow(ax, (xc + 0.9, yc), (xd - 0.24, yc))
    _arrow(ax, (xc + 0.9, yn), (xd, yc - 0.24), rad=0.3)
    _op(ax, xo, yc, "×")
    _arrow(ax, (xd + 0.24, yc), (xo - 0.24, yc))
    _circle(ax, xo, y_gate, "o")
    _feed(ax, xo, y_gate, dx=0.5)
    _arrow(ax, (xo, y_gate - 0.38), (xo, yc + 0.24))
    _arrow(ax, (xo + 0.24, yc), (xy, yc))
    ax.text(xy + 0.1, yc, "y", ha="left", va="center", fontsize=FONT)
    _caption(ax, "n: the normalizer, the same sum as c with z = 1;\n"
                 "y = o · c / n replaces the output squashing h;\n"
                 "every unit reads x(t) and y(t−1)")
    if title:
        ax.set_title(title, fontsize=FONT)
    return fig
