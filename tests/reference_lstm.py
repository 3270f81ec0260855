"""An independent, deliberately slow LSTM written from the equations, one scalar unit at a time.

Used only by the tests, to check :mod:`minilstm.nn.lstm` without sharing any of its code. Host NumPy
float64, one sequence of the batch at a time, one unit at a time:

    z_j  = g( Σ_m W_z[j,m] x_m + Σ_n R_z[j,n] u_n(t-1) + b_z[j] )           cell j
    i_k  = σ( Σ_m W_i[k,m] x_m + Σ_n R_i[k,n] u_n(t-1) + Σ_{j∈k} p_i[j] c_j(t-1) + b_i[k] )
    f_k  = σ( ... same with W_f, R_f, p_f, b_f ... )          (CIFG: f_k = 1 - i_k)
    c_j  = f_k c_j(t-1) + i_k z_j                             (k = the block of cell j = j // S)
    o_k  = σ( Σ_m W_o[k,m] x_m + Σ_n R_o[k,n] u_n(t-1) + Σ_{j∈k} p_o[j] c_j(t) + b_o[k] )
    y_j  = o_k h(c_j)

A missing gate is 1. u(t-1) = y(t-1) for recurrence='output'; [y, i, f, o](t-1) (the gates with
parameters, in that order) for recurrence='all'; with FGR the gates read [y, i, f, o](t-1) and the
cells y(t-1).
"""
import math

import numpy as np


def sigma(a):
    return 1.0 / (1.0 + math.exp(-a))


SQUASH = {
    "sigmoid": sigma,
    "tanh": math.tanh,
    "g1997": lambda a: 4.0 * sigma(a) - 2.0,     # 1997 cell input squashing, range (-2, 2)
    "h1997": lambda a: 2.0 * sigma(a) - 1.0,     # 1997 cell output squashing, range (-1, 1)
    "identity": lambda a: a,
}


def reference_forward(params, cfg, x, state0=None, output_peephole_sees="c(t)"):
    """Run the equations above.

    params : dict name -> host float64 array (names and shapes as in minilstm.nn.lstm).
    cfg : the layer's ``config`` dict (only the flags are read).
    x : host array (T, B, I). state0 : tuple of host arrays like the layer's state, or None.
    output_peephole_sees : "c(t)" (the correct, peephole order) or "c(t-1)" (a deliberately wrong
        variant, to show that the tests can tell the two apart).
    Returns y (T, B, H) and the final state tuple (y, c[, gates]).
    """
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    T, B, I = x.shape
    H, S = cfg["n_cells"], cfg["cells_per_block"]
    nb = H // S
    has = {"i": cfg["input_gate"], "f": cfg["forget_gate"] and not cfg["cifg"], "o": cfg["output_gate"]}
    gates = [k for k in "ifo" if has[k]]                       # gates with parameters
    carry_gates = cfg["recurrence"] == "all" or cfg["fgr"]
    g, h = SQUASH[cfg["g"]], SQUASH[cfg["h"]]

    def net(name, row, xb, u, c_for_peephole):
        """The net input of one unit: weights from x, from u, peepholes of its block, bias."""
        W, R = P["W_" + name], P["R_" + name]
        s = 0.0
        for m in range(I):
            s += W[row, m] * xb[m]
        for n in range(R.shape[1]):
            s += R[row, n] * u[n]
        if name != "z" and ("p_" + name) in P:
            for j in range(row * S, (row + 1) * S):
                s += P["p_" + name][j] * c_for_peephole[j]
        if ("b_" + name) in P:
            s += P["b_" + name][row]
        return s

    y_out = np.zeros((T, B, H))
    finals = []
    for b in range(B):
        y = [0.0] * H if state0 is None else list(state0[0][b])
        c = [0.0] * H if state0 is None else list(state0[1][b])
        gprev = [0.0] * (len(gates) * nb) if state0 is None or not carry_gates else list(state0[2][b])
        for t in range(T):
            xb = x[t, b]
            u_all = y + gprev                                  # [y, i, f, o](t-1)
            u_cells = u_all if cfg["recurrence"] == "all" else y
            u_gates = u_all if carry_gates else y
            z = [g(net("z", j, xb, u_cells, None)) for j in range(H)]
            i = [sigma(net("i", k, xb, u_gates, c)) if has["i"] else 1.0 for k in range(nb)]
            if cfg["cifg"]:
                f = [1.0 - i[k] for k in range(nb)]
            else:
                f = [sigma(net("f", k, xb, u_gates, c)) if has["f"] else 1.0 for k in range(nb)]
            c_new = [f[j // S] * c[j] + i[j // S] * z[j] for j in range(H)]
            seen = c_new if output_peephole_sees == "c(t)" else c
            o = [sigma(net("o", k, xb, u_gates, seen)) if has["o"] else 1.0 for k in range(nb)]
            y = [o[j // S] * h(c_new[j]) for j in range(H)]
            c = c_new
            acts = {"i": i, "f": f, "o": o}
            gprev = [a for k in gates for a in acts[k]] if carry_gates else []
            y_out[t, b] = y
        finals.append((y, c, gprev))
    state = (np.array([s[0] for s in finals]), np.array([s[1] for s in finals]))
    if carry_gates:
        state += (np.array([s[2] for s in finals]),)
    return y_out, state


# ---- helpers shared by the LSTM tests -------------------------------------------------------
def randomize(layer, seed, scale=0.5):
    """Set EVERY parameter of every gate to an independent non-zero random value:
    |v| uniform in [0.2·scale, scale], random sign (so no bias, weight or peephole hides at 0)."""
    rng = np.random.default_rng(seed)
    n = layer.flat.size
    v = rng.uniform(0.2 * scale, scale, n) * rng.choice([-1.0, 1.0], n)
    layer.flat[...] = layer.xp.asarray(v.astype(layer.dtype))
    return layer


def random_state(layer, batch, seed, scale=0.5):
    """A random initial state (gate activations drawn in (0, 1), as gates are)."""
    rng = np.random.default_rng(seed)
    out = []
    for name, shape in zip(layer.state_names, layer.state_shapes(batch)):
        v = rng.uniform(0.05, 0.95, shape) if name == "gates" else scale * rng.standard_normal(shape)
        out.append(layer.xp.asarray(v.astype(layer.dtype)))
    return tuple(out)


def random_input(layer, T, B, seed):
    rng = np.random.default_rng(seed)
    return layer.xp.asarray(rng.standard_normal((T, B, layer.n_in)).astype(layer.dtype))
