r"""The 1997 learning rule (minilstm.rtrl1997): the truncated gradient, carried forward in time.

1. It equals central differences of an *independent* truncated network written here from the
   equations: the recurrent sources u(t-1) (and the peephole sources) are recorded in an ordinary
   run and then held fixed, so that only the cell state carries the weights' influence in time.
2. It equals full BPTT where the cut paths carry nothing: T = 1, and R_* = 0 (and p_* = 0), T > 1;
   and it differs from BPTT where they do carry something.
3. Its memory does not grow with T (measured), while BPTT's cache grows linearly.
4. Online (update after every step, as in 1997) it learns a small task.
"""
import tracemalloc

import numpy as np
import pytest

from minilstm import backend, presets
from minilstm.gradcheck import relative_error
from minilstm.rtrl1997 import TruncatedRTRL, sequence_gradient


# ---- an independent truncated LSTM, from the equations (host NumPy, float64) ------------------
def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


SQUASH = {"g1997": lambda a: 4.0 * _sig(a) - 2.0, "h1997": lambda a: 2.0 * _sig(a) - 1.0,
          "tanh": np.tanh, "sigmoid": _sig, "identity": lambda a: a}


def reference_net(P, cfg, x, frozen=None):
    r"""The LSTM equations for one batch; returns ``(y (T, B, H), record)``.

    ``frozen=None``: the ordinary network; ``record`` holds, per step, the recurrent source
    u(t-1) = [y, i, f, o](t-1) (or y(t-1)), c(t-1) (what p_i, p_f see) and c(t) (what p_o sees).
    ``frozen=record``: the *truncated* network: every net input reads u(t-1) and the peephole
    sources from the record, as constants; only c(t) = f c(t-1) + i z carries through time.
    """
    T, B, _ = x.shape
    H, S = cfg["n_cells"], cfg["cells_per_block"]
    nb = H // S
    has = {"i": cfg["input_gate"], "f": cfg["forget_gate"] and not cfg["cifg"], "o": cfg["output_gate"]}
    gates = [k for k in "ifo" if has[k]]
    gate_source = cfg["recurrence"] == "all" or cfg["fgr"]
    g, h = SQUASH[cfg["g"]], SQUASH[cfg["h"]]

    def cells(v):                                   # block value -> each of its S cells
        return np.repeat(v, S, axis=1)

    def blocksum(v):                                # (B, H) -> (B, nb): Σ over a block's cells
        return v.reshape(B, nb, S).sum(axis=2)

    def net(k, xt, u):                              # W_k x + R_k u + b_k (u truncated to R_k's width)
        R = P[f"R_{k}"]
        return xt @ P[f"W_{k}"].T + u[:, :R.shape[1]] @ R.T + P.get(f"b_{k}", 0.0)

    y, c = np.zeros((B, H)), np.zeros((B, H))
    act = {k: np.zeros((B, nb)) for k in gates}
    record = {"u": [], "c_prev": [], "c": []}
    ys = []
    for t in range(T):
        u = np.concatenate([y] + ([act[k] for k in gates] if gate_source else []), axis=1)
        peep_src = c
        if frozen is not None:
            u, peep_src = frozen["u"][t], frozen["c_prev"][t]
        record["u"].append(u.copy())
        record["c_prev"].append(c.copy())
        z = g(net("z", x[t], u))
        for k in ("i", "f"):
            if has[k]:
                a = net(k, x[t], u)
                if f"p_{k}" in P:
                    a = a + blocksum(P[f"p_{k}"] * peep_src)
                act[k] = _sig(a)
        i = act["i"] if has["i"] else np.ones((B, nb))
        f = (1.0 - i) if cfg["cifg"] else (act["f"] if has["f"] else np.ones((B, nb)))
        c = cells(f) * c + cells(i) * z             # the CEC: the one path through time
        record["c"].append(c.copy())
        if has["o"]:
            a = net("o", x[t], u)
            if "p_o" in P:
                a = a + blocksum(P["p_o"] * (c if frozen is None else frozen["c"][t]))
            act["o"] = _sig(a)
        o = act["o"] if has["o"] else np.ones((B, nb))
        y = cells(o) * h(c)
        ys.append(y)
    return np.stack(ys), record


CONFIGS = {
    "lstm_1997": lambda **kw: presets.lstm_1997(3, 2, 2, cell_bias=True, **kw),
    "lstm_1997_exp1": lambda **kw: presets.lstm_1997(3, 3, 1, **kw),          # no cell bias
    "lstm_forget_1999": lambda **kw: presets.lstm_forget_1999(3, 2, 2, cell_bias=True, **kw),
    "lstm_peephole_2000": lambda **kw: presets.lstm_peephole_2000(3, 2, 2, cell_bias=True, **kw),
    "vanilla": lambda **kw: presets.vanilla(3, 3, **kw),
    "cifg": lambda **kw: presets.cifg(3, 3, **kw),
    "fgr": lambda **kw: presets.fgr(2, 2, **kw),
    "nig": lambda **kw: presets.nig(3, 3, **kw),
    "nog_niaf": lambda **kw: presets.nog(3, 3, g="identity", **kw),
}


def _layer(name, xp, seed=1, scale=0.6):
    layer = CONFIGS[name](init_scale=scale, seed=seed, backend=backend.backend_name(xp))
    for k, p in layer.params.items():              # every parameter of every gate random, non-zero
        assert float(abs(p).min()) > 0.0, k
    return layer


def _host_params(layer):
    return {k: backend.to_numpy(v).astype(np.float64).copy() for k, v in layer.params.items()}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_equals_central_differences_of_the_truncated_network(xp, name):
    layer = _layer(name, xp)
    rng = np.random.default_rng(11)
    T, B = 6, 2
    x = rng.standard_normal((T, B, layer.n_in))
    dy = rng.standard_normal((T, B, layer.n_out))
    P, cfg = _host_params(layer), layer.config
    y_ref, record = reference_net(P, cfg, x)
    y_rule, grads = sequence_gradient(layer, xp.asarray(x), xp.asarray(dy), return_y=True)
    # the reference is the same network (its wiring and order of u match the layer's)
    np.testing.assert_allclose(backend.to_numpy(y_rule), y_ref, rtol=1e-12, atol=1e-13)
    assert set(grads) == set(layer.params)

    def energy():                                   # E = Σ dy·y of the truncated network
        return float((dy * reference_net(P, cfg, x, frozen=record)[0]).sum())

    eps = 1e-6
    for k, p in P.items():
        num = np.zeros_like(p)
        for idx in np.ndindex(*p.shape):
            old = p[idx]
            p[idx] = old + eps
            plus = energy()
            p[idx] = old - eps
            minus = energy()
            p[idx] = old
            num[idx] = (plus - minus) / (2 * eps)
        assert float(np.abs(num).max()) > 0.0, k
        err = relative_error(grads[k], num)
        assert err < 1e-7, (k, err)


def _zero_paths(layer, recurrent=True, peepholes=True, output_peephole=True):
    for k in layer.params:
        if (recurrent and k.startswith("R_")) or (peepholes and k in ("p_i", "p_f")) or \
                (output_peephole and k == "p_o"):
            layer.params[k][...] = 0.0


@pytest.mark.parametrize("name", list(CONFIGS))
def test_equals_bptt_for_one_step(xp, name):
    # T = 1: u(0) and c(0) are constants, so only the in-step path c(1) -> p_o -> o is cut
    layer = _layer(name, xp)
    _zero_paths(layer, recurrent=False, peepholes=False)
    rng = np.random.default_rng(5)
    B = 3
    x = xp.asarray(rng.standard_normal((1, B, layer.n_in)))
    dy = xp.asarray(rng.standard_normal((1, B, layer.n_out)))
    state = tuple(xp.asarray(rng.uniform(0.1, 0.9, s)) for s in layer.state_shapes(B))
    _, cache = layer.forward(x, state)
    _, g_bptt = layer.backward(dy, cache)
    g_rule = sequence_gradient(layer, x, dy, state)
    for k in layer.params:
        assert relative_error(g_rule[k], g_bptt[k]) < 1e-12, k


@pytest.mark.parametrize("name", list(CONFIGS))
def test_equals_bptt_without_recurrent_weights(xp, name):
    layer = _layer(name, xp)
    rng = np.random.default_rng(6)
    T, B = 7, 3
    x = xp.asarray(rng.standard_normal((T, B, layer.n_in)))
    dy = xp.asarray(rng.standard_normal((T, B, layer.n_out)))
    # with the cut paths live, the truncated gradient is *not* BPTT's (the test can tell)
    _, cache = layer.forward(x)
    _, g_bptt = layer.backward(dy, cache)
    g_rule = sequence_gradient(layer, x, dy)
    assert max(relative_error(g_rule[k], g_bptt[k]) for k in layer.params) > 1e-3
    # R_* = 0 and p_* = 0: only the CEC connects the steps, and both agree to rounding
    _zero_paths(layer)
    _, cache = layer.forward(x)
    _, g_bptt = layer.backward(dy, cache)
    g_rule = sequence_gradient(layer, x, dy)
    for k in layer.params:
        assert float(abs(backend.to_numpy(g_bptt[k])).max()) > 0.0, k
        assert relative_error(g_rule[k], g_bptt[k]) < 1e-12, k


def test_online_steps_sum_to_the_sequence_gradient(xp):
    layer = _layer("lstm_forget_1999", xp)
    rng = np.random.default_rng(7)
    T, B = 5, 2
    x = xp.asarray(rng.standard_normal((T, B, layer.n_in)))
    dy = xp.asarray(rng.standard_normal((T, B, layer.n_out)))
    y_seq, _ = layer.forward(x)
    rule = TruncatedRTRL(layer).reset(B)
    total = {k: xp.zeros_like(p) for k, p in layer.params.items()}
    for t in range(T):
        y_t, g_t = rule.step(x[t], lambda y, t=t: dy[t])
        np.testing.assert_allclose(backend.to_numpy(y_t), backend.to_numpy(y_seq[t]), rtol=1e-13)
        assert set(g_t) == set(layer.params)
        for k in total:
            total[k] += g_t[k]
    g_seq = sequence_gradient(layer, x, dy, chunk=2)
    for k in layer.params:
        assert relative_error(total[k], g_seq[k]) < 1e-14, k


def test_float32(xp):
    layer = _layer("lstm_1997", xp).to(dtype="float32")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 2, layer.n_in))
    dy = rng.standard_normal((6, 2, layer.n_out))
    g32 = sequence_gradient(layer, xp.asarray(x.astype(np.float32)), xp.asarray(dy.astype(np.float32)))
    g64 = sequence_gradient(layer.to(dtype="float64"), xp.asarray(x), xp.asarray(dy))
    for k in layer.params:
        assert g32[k].dtype == np.float32
        assert relative_error(g32[k], g64[k]) < 1e-5, k


def test_bad_input_is_named(xp):
    layer = _layer("lstm_1997", xp)
    rule = TruncatedRTRL(layer)
    with pytest.raises(RuntimeError, match="call forward"):
        rule.gradient(xp.zeros((2, 4)))
    rule.reset(2)
    with pytest.raises(ValueError, match=r"x_t must have shape \(2, 3\), got \(2, 5\)"):
        rule.forward(xp.zeros((2, 5)))
    rule.forward(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dy_t must have shape \(2, 4\)"):
        rule.gradient(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 1, 4\)"):
        sequence_gradient(layer, xp.zeros((4, 1, 3)), xp.zeros((4, 1, 3)))
    with pytest.raises(TypeError, match="layer must be a minilstm.nn.lstm.LSTM layer"):
        TruncatedRTRL(object())


def test_nan_and_inf_are_named_per_sequence_and_not_read_per_step(xp):
    """NaN/inf in the layer's parameters are refused by name when a sequence starts (reset) and
    for a whole sequence (sequence_gradient, which checks x and dy too); a single step reads
    nothing from the device, so NaN in x(t) flows into y(t) for the training loop's guard."""
    layer = _layer("lstm_1997", xp)
    rule = TruncatedRTRL(layer).reset(2)
    bad_x = np.zeros((2, 3)); bad_x[1, 2] = np.nan
    y = backend.to_numpy(rule.forward(xp.asarray(bad_x)))
    assert np.isnan(y[1]).any() and np.isfinite(y[0]).all()
    bad_dy = np.zeros((4, 1, 4)); bad_dy[2, 0, 3] = np.nan
    with pytest.raises(ValueError, match=r"dy contains 1 NaN or inf value\(s\), the first at index \(2, 0, 3\)"):
        sequence_gradient(layer, xp.zeros((4, 1, 3)), xp.asarray(bad_dy))
    layer.params["R_i"][1, 0] = np.inf
    with pytest.raises(ValueError, match=r"params\['R_i'\] contains 1 NaN or inf value\(s\), the first at index \(1, 0\)"):
        rule.reset(2)
    with pytest.raises(ValueError, match=r"params\['R_i'\] contains 1 NaN or inf"):
        sequence_gradient(layer, xp.zeros((4, 1, 3)), xp.zeros((4, 1, 4)))


def test_integer_dtype_is_named(xp):
    layer = _layer("lstm_1997", xp)
    rule = TruncatedRTRL(layer).reset(2)
    with pytest.raises(TypeError, match="x_t must be a float32 or float64 array, got dtype int64"):
        rule.forward(xp.zeros((2, 3), dtype=xp.int64))
    rule.forward(xp.zeros((2, 3)))
    with pytest.raises(TypeError, match="dy_t must be a float32 or float64 array, got dtype int64"):
        rule.gradient(xp.zeros((2, 4), dtype=xp.int64))
    with pytest.raises(TypeError, match="dy_t has dtype float32 but the layer's parameters are float64"):
        rule.gradient(xp.zeros((2, 4), dtype=xp.float32))


@pytest.mark.parametrize("layer_backend,other", [("strict", "numpy"), ("numpy", "strict")])
def test_mixed_backends_are_refused(layer_backend, other):
    layer = presets.lstm_1997(3, 2, 2, seed=1, backend=layer_backend)
    xp_other = backend.get_backend(other)
    rule = TruncatedRTRL(layer).reset(2)
    with pytest.raises(TypeError, match=f"x_t is a {other} array but the layer's parameters live on {layer_backend}"):
        rule.forward(xp_other.zeros((2, 3)))
    rule.forward(layer.xp.zeros((2, 3)))
    with pytest.raises(TypeError, match=f"dy_t is a {other} array but the layer's parameters live on {layer_backend}"):
        rule.gradient(xp_other.zeros((2, 4)))
    with pytest.raises(TypeError, match=f"x is a {other} array but the layer's parameters live on {layer_backend}"):
        sequence_gradient(layer, xp_other.zeros((4, 1, 3)), layer.xp.zeros((4, 1, 4)))


# ---- memory: measured -------------------------------------------------------------------------
def _peak_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def test_memory_does_not_grow_with_sequence_length():
    layer = presets.lstm_1997(4, 4, 2, seed=3, init_scale=0.2, backend="numpy")
    rng = np.random.default_rng(9)
    B = 4
    held, peak_rule, peak_bptt, cache_bytes = {}, {}, {}, {}
    for T in (50, 200, 800):
        x = rng.standard_normal((T, B, layer.n_in))
        dy = rng.standard_normal((T, B, layer.n_out))
        rule = TruncatedRTRL(layer).reset(B)
        for t in range(T):                           # online: what the rule holds after T steps
            rule.step(x[t], dy[t])
        held[T] = rule.nbytes
        peak_rule[T] = _peak_bytes(lambda: sequence_gradient(layer, x, dy, chunk=10))

        def bptt():
            _, cache = layer.forward(x)
            cache_bytes[T] = sum(a.nbytes for s in cache.steps for a in s if a is not None)
            layer.backward(dy, cache)
        peak_bptt[T] = _peak_bytes(bptt)
    # the rule: exactly the same arrays whatever T; peak within a small constant
    print(f"rule holds {held} B; peak rule {peak_rule} B; peak BPTT {peak_bptt} B; "
          f"BPTT cache {cache_bytes} B")
    assert held[50] == held[200] == held[800]
    assert peak_rule[800] < 1.05 * peak_rule[50] + 2048, peak_rule
    # BPTT: the cache grows linearly with T, and so does the peak
    assert cache_bytes[800] == 16 * cache_bytes[50]
    assert peak_bptt[800] > 10 * peak_bptt[50], peak_bptt
    assert peak_bptt[800] > 10 * peak_rule[800], (peak_bptt, peak_rule)


# ---- online learning -----------------------------------------------------------------------------
def _sign_task(rng, B, T):
    """Output, at every step, the sign given at step 1 (channel 0), over T−1 steps of noise
    (channel 1): the sign must be stored in a cell from the first step on."""
    x = np.zeros((T, B, 2))
    s = rng.choice([-1.0, 1.0], size=B)
    x[0, :, 0] = s
    x[1:, :, 1] = rng.uniform(-1, 1, size=(T - 1, B))
    return x, s[:, None]


def _train_online(xp, train_lstm, n_sequences=40, T=8, lr=0.5):
    """One sequence at a time, weights changed after every step (1997). Returns the test loss
    ½·mean (ŷ(T) − s)² on 64 held-out sequences, before and after."""
    rng = np.random.default_rng(1997)
    layer = presets.lstm_1997(2, 2, 1, init_scale=0.2, seed=4, backend=backend.backend_name(xp),
                              gate_bias_init={"o": [-1.0, -2.0]})
    W_out = xp.asarray(rng.uniform(-0.2, 0.2, (1, layer.n_out)))   # linear readout ŷ = W_out y
    x_test, s_test = (xp.asarray(a) for a in _sign_task(np.random.default_rng(0), 64, T))

    def test_loss():
        y, _ = layer.forward(x_test)
        return 0.5 * float((((y[-1] @ W_out.T) - s_test) ** 2).mean())

    before = test_loss()
    rule, n_updates = TruncatedRTRL(layer), 0
    for _ in range(n_sequences):
        x, s = (xp.asarray(a) for a in _sign_task(rng, 1, T))
        rule.reset(1)                               # activations and partials reset per sequence
        for t in range(T):
            y_t = rule.forward(x[t])
            err = y_t @ W_out.T - s                 # ∂E(t)/∂ŷ(t), E(t) = ½(ŷ(t) − s)²
            grads = rule.gradient(err @ W_out)      # from ∂E(t)/∂y(t) = W_outᵀ err
            W_out -= lr * (err.T @ y_t)             # the readout's own (ordinary) gradient
            if train_lstm:
                for k, g in grads.items():
                    layer.params[k] -= lr * g
            n_updates += 1
    return before, test_loss(), n_updates


def test_online_learning_reduces_the_loss(xp):
    before, after, n_updates = _train_online(xp, train_lstm=True)
    _, readout_only, _ = _train_online(xp, train_lstm=False)
    assert n_updates == 320
    assert after < 0.05 * before, (before, after)             # measured: 0.499 -> 0.0012
    assert after < 0.1 * readout_only, (after, readout_only)  # the LSTM's weights did the work
