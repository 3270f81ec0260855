"""The LSTM layer: gradients for flag combinations, truncated windows, float32, bad input, layout."""
import json

import numpy as np
import pytest

from minilstm import backend, strict
from minilstm.gradcheck import gradcheck
from minilstm.nn.lstm import LSTM, LSTMStep

from bad_backward import assert_backward_refuses_bad_input
from reference_lstm import randomize, random_input, random_state

COMBOS = {  # flag combinations beyond the presets (tests/test_lstm_presets.py checks those)
    "blocks_S2_peep": dict(n_cells=4, cells_per_block=2, peepholes=True),
    "blocks_S3_all": dict(n_cells=6, cells_per_block=3, peepholes=True, recurrence="all"),
    "all_forget_peep_1997": dict(n_cells=4, cells_per_block=2, recurrence="all", peepholes=True,
                                 g="g1997", h="h1997", cell_bias=False),
    "fgr_S2": dict(n_cells=4, cells_per_block=2, fgr=True, peepholes=True),
    "fgr_cifg_nog": dict(n_cells=3, fgr=True, cifg=True, output_gate=False, peepholes=True),
    "cifg_all": dict(n_cells=4, cells_per_block=2, cifg=True, recurrence="all", peepholes=True),
    "no_gates_all": dict(n_cells=3, input_gate=False, forget_gate=False, output_gate=False,
                         recurrence="all", g="sigmoid", h="identity"),
    "no_biases": dict(n_cells=3, cell_bias=False, gate_bias=False, peepholes=True),
}


def _name(xp):
    return backend.backend_name(xp)


@pytest.mark.parametrize("combo", sorted(COMBOS))
def test_gradcheck_flag_combinations(xp, combo):
    layer = LSTM(3, seed=0, backend=_name(xp), **COMBOS[combo])
    randomize(layer, seed=21)
    report = gradcheck(layer, random_input(layer, 4, 2, seed=22), random_state(layer, 2, seed=23))
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report            # every array reaches E (empty ones are not listed)


def test_carried_state_equals_the_concatenated_sequence(xp):
    """forward(x2, state=final state of x1) == the second half of forward([x1, x2])."""
    layer = randomize(LSTM(3, 4, 2, peepholes=True, recurrence="all", backend=_name(xp)), seed=1)
    x = random_input(layer, 6, 2, seed=2)
    y, cache = layer.forward(x)
    y1, c1 = layer.forward(x[:2])
    y2, c2 = layer.forward(x[2:], c1.state)
    np.testing.assert_allclose(backend.to_numpy(y[:2]), backend.to_numpy(y1), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(backend.to_numpy(y[2:]), backend.to_numpy(y2), rtol=1e-13, atol=1e-13)
    for a, b in zip(cache.state, c2.state):
        np.testing.assert_allclose(backend.to_numpy(a), backend.to_numpy(b), rtol=1e-13, atol=1e-13)


def test_backward_over_two_windows_with_dstate_equals_full_bptt(xp):
    """Passing ∂E/∂state(T) of window 1 = the state-gradient returned by window 2 reproduces BPTT
    over the whole sequence: for x, every parameter and the initial state."""
    layer = randomize(LSTM(3, 4, fgr=True, peepholes=True, backend=_name(xp)), seed=3)
    x = random_input(layer, 6, 2, seed=4)
    s0 = random_state(layer, 2, seed=5)
    dy = xp.asarray(np.random.default_rng(6).standard_normal((6, 2, 4)))
    y, cache = layer.forward(x, s0)
    dx, grads, ds0 = layer.backward(dy, cache, return_dstate=True)
    _, c1 = layer.forward(x[:3], s0)
    _, c2 = layer.forward(x[3:], c1.state)
    dx2, g2, ds_mid = layer.backward(dy[3:], c2, return_dstate=True)
    dx1, g1, ds0_w = layer.backward(dy[:3], c1, dstate=ds_mid, return_dstate=True)
    close = lambda a, b: np.testing.assert_allclose(backend.to_numpy(a), backend.to_numpy(b),
                                                    rtol=1e-11, atol=1e-12)
    close(dx[:3], dx1)
    close(dx[3:], dx2)
    for k in grads:
        close(grads[k], g1[k] + g2[k])
    for a, b in zip(ds0, ds0_w):
        close(a, b)


def test_float32_forward_and_gradcheck(xp):
    layer64 = randomize(LSTM(3, 4, 2, peepholes=True, recurrence="all", backend=_name(xp)), seed=7)
    layer32 = layer64.to(dtype="float32")
    assert layer32.dtype == np.float32 and layer32.config["dtype"] == "float32"
    x = random_input(layer64, 5, 2, seed=8)
    y64, _ = layer64.forward(x)
    y32, c32 = layer32.forward(x.astype(np.float32))
    assert y32.dtype == np.float32 and all(s.dtype == np.float32 for s in c32.state)
    np.testing.assert_allclose(backend.to_numpy(y32), backend.to_numpy(y64), rtol=1e-5, atol=1e-6)
    report = gradcheck(layer32, x.astype(np.float32), random_state(layer32, 2, seed=9))
    assert report.max_error < 1e-4, report   # float32 analytic vs float64 central differences
    assert not report.zero, report


def test_gradients_are_float32_for_a_float32_layer(xp):
    layer = LSTM(3, 4, peepholes=True, dtype="float32", seed=0, backend=_name(xp))
    x = random_input(layer, 3, 2, seed=1)
    y, cache = layer.forward(x)
    dx, grads = layer.backward(xp.ones_like(y), cache)
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())


# ---- bad input ------------------------------------------------------------------------------
def test_bad_input_is_named(xp):
    layer = LSTM(3, 4, recurrence="all", backend=_name(xp))
    ok = xp.zeros((2, 1, 3))
    with pytest.raises(ValueError, match=r"x must have 3 dimensions"):
        layer.forward(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(\?, \?, 3\), got \(2, 1, 5\)"):
        layer.forward(xp.zeros((2, 1, 5)))
    with pytest.raises(TypeError, match="x must be a float32 or float64 array, got dtype int"):
        layer.forward(xp.zeros((2, 1, 3), dtype=xp.int64))
    with pytest.raises(TypeError, match="x has dtype float32 but the layer's parameters are float64"):
        layer.forward(xp.zeros((2, 1, 3), dtype=xp.float32))
    bad = np.zeros((2, 1, 3)); bad[1, 0, 2] = np.inf
    with pytest.raises(ValueError, match=r"x contains 1 NaN or inf value\(s\), the first at index \(1, 0, 2\)"):
        layer.forward(xp.asarray(bad))
    with pytest.raises(ValueError, match=r"state must be a tuple of 3 arrays \('y', 'c', 'gates'\)"):
        layer.forward(ok, (xp.zeros((1, 4)), xp.zeros((1, 4))))
    with pytest.raises(ValueError, match=r"state\['gates'\] must have shape \(1, 12\), got \(1, 4\)"):
        layer.forward(ok, (xp.zeros((1, 4)), xp.zeros((1, 4)), xp.zeros((1, 4))))
    nan_state = np.zeros((1, 4)); nan_state[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"state\['c'\] contains 1 NaN"):
        layer.forward(ok, (xp.zeros((1, 4)), xp.asarray(nan_state), xp.zeros((1, 12))))
    with pytest.raises(TypeError, match=r"state\['y'\] has dtype float32 but the layer's parameters are float64"):
        layer.forward(ok, (xp.zeros((1, 4), dtype=xp.float32), xp.zeros((1, 4)), xp.zeros((1, 12))))
    y, cache = layer.forward(ok)
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 1, 4\)"):
        layer.backward(xp.zeros((2, 1, 3)), cache)
    with pytest.raises(ValueError, match=r"dstate\['c'\] must have shape \(1, 4\)"):
        layer.backward(xp.zeros((2, 1, 4)), cache, dstate=(xp.zeros((1, 4)), xp.zeros((1, 3)), xp.zeros((1, 12))))
    layer.params["R_f"][0, 1] = np.nan
    with pytest.raises(ValueError, match=r"params\['R_f'\] contains 1 NaN or inf"):
        layer.forward(ok)


@pytest.mark.parametrize("kwargs", [dict(), dict(recurrence="all", peepholes=True)],
                         ids=["state_y_c", "state_y_c_gates"])
def test_backward_refuses_bad_dy_and_dstate(xp, kwargs):
    layer = randomize(LSTM(3, 4, backend=_name(xp), **kwargs), seed=2)
    assert_backward_refuses_bad_input(layer, xp.zeros((3, 2, 3)))


def test_mixed_backends_are_refused():
    layer = LSTM(3, 4, backend="strict")
    with pytest.raises(TypeError, match="x is a numpy array but the layer's parameters live on strict"):
        layer.forward(np.zeros((2, 1, 3)))
    with pytest.raises(TypeError, match=r"state\['c'\] is a numpy array but the layer's parameters live on strict"):
        layer.forward(strict.asarray(np.zeros((2, 1, 3))), (strict.zeros((1, 4)), np.zeros((1, 4))))


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(cifg=True, input_gate=False), ValueError, r"cifg=True .* needs input_gate=True, got input_gate=False"),
    (dict(cifg=True, forget_gate=False), ValueError, r"cifg=True .* cannot be combined with forget_gate=False"),
    (dict(cells_per_block=3), ValueError, r"cells_per_block=3 must divide n_cells=4"),
    (dict(cells_per_block=0), ValueError, r"cells_per_block must be an int >= 1, got 0"),
    (dict(g="relu"), ValueError, r"g='relu' is not a known squashing function; expected one of"),
    (dict(h="softsign"), ValueError, r"h='softsign' is not a known squashing function"),
    (dict(peepholes=True, input_gate=False, forget_gate=False, output_gate=False), ValueError,
     r"peepholes=True needs at least one gate"),
    (dict(fgr=True, input_gate=False, forget_gate=False, output_gate=False), ValueError,
     r"fgr=True .* needs at least one gate"),
    (dict(fgr=True, recurrence="all"), ValueError, r"fgr=True .* recurrence='all' already does"),
    (dict(recurrence="full"), ValueError, r"recurrence='full' is not known; expected 'output'"),
    (dict(peepholes=1), TypeError, r"peepholes must be True or False, got 1"),
    (dict(gate_bias_init={"o": [-1, -2]}), ValueError, r"gate_bias_init\['o'\] must be a number or a list of nb=4"),
    (dict(gate_bias_init={"x": 1.0}), ValueError, r"gate_bias_init key 'x' is not a gate"),
    (dict(gate_bias_init={"f": 1.0}, cifg=True), ValueError, r"sets b_f but this layer has no 'f' gate"),
    (dict(gate_bias_init={"o": 1.0}, gate_bias=False), ValueError, r"sets b_o but gate_bias=False"),
    (dict(init_scale=-1), ValueError, r"init_scale must be a finite number >= 0, got -1"),
    (dict(dtype="int32"), TypeError, r"dtype must be float32 or float64"),
])
def test_impossible_configurations_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        LSTM(3, 4, **kwargs)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="n_in must be an int >= 1, got 0"):
        LSTM(0, 4)
    with pytest.raises(ValueError, match=r"n_cells must be an int, got 2.5"):
        LSTM(3, 2.5)


# ---- layout, configuration, statelessness ---------------------------------------------------
def test_flat_layout_and_fused_views():
    layer = LSTM(3, 4, 2, peepholes=True, recurrence="all")        # H = 4, nb = 2, U = 4 + 3·2
    assert list(layer.params) == ["W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o",
                                  "b_z", "b_i", "b_f", "b_o", "p_i", "p_f", "p_o"]
    shapes = {k: v.shape for k, v in layer.params.items()}
    assert shapes == {"W_z": (4, 3), "W_i": (2, 3), "W_f": (2, 3), "W_o": (2, 3),
                      "R_z": (4, 10), "R_i": (2, 10), "R_f": (2, 10), "R_o": (2, 10),
                      "b_z": (4,), "b_i": (2,), "b_f": (2,), "b_o": (2,),
                      "p_i": (4,), "p_f": (4,), "p_o": (4,)}
    assert (layer.G, layer.U) == (10, 10) and layer.n_params == layer.flat.size == 10 * 3 + 10 * 10 + 10 + 12
    offset = 0
    for k, v in layer.params.items():      # params are consecutive views into flat, in this order
        assert np.shares_memory(v, layer.flat)
        np.testing.assert_array_equal(v.ravel(), layer.flat[offset:offset + v.size])
        offset += v.size
    assert layer.cols == {"z": slice(0, 4), "i": slice(4, 6), "f": slice(6, 8), "o": slice(8, 10)}


def test_config_round_trip_and_to(xp):
    layer = LSTM(3, 6, 3, peepholes=True, cifg=True, fgr=True, g="g1997", h="identity",
                 gate_bias_init={"o": [-1, -2]}, seed=4, backend=_name(xp))
    cfg = json.loads(json.dumps(layer.config))
    clone = LSTM(**cfg)
    np.testing.assert_array_equal(backend.to_numpy(clone.flat), backend.to_numpy(layer.flat))
    moved = layer.to("numpy", dtype="float32")
    np.testing.assert_allclose(backend.to_numpy(moved.flat), backend.to_numpy(layer.flat), rtol=1e-6)
    assert "LSTM(n_in=3, n_cells=6" in repr(layer)


def test_step_forward_cache_layout_and_statelessness(xp):
    """What the truncated 1997 learning rule relies on: step_forward's cache fields and shapes, and
    that a step reads only its arguments (a foreign params dict gives the same numbers)."""
    layer = randomize(LSTM(3, 4, 2, forget_gate=False, recurrence="all", g="g1997", h="h1997",
                           backend=_name(xp)), seed=3)
    x = random_input(layer, 2, 5, seed=4)
    a = layer.project(x)
    assert a.shape == (2, 5, layer.G) == (2, 5, 4 + 2 * 2)
    state = layer.init_state(5)
    assert layer.state_names == ("y", "c", "gates") and [s.shape for s in state] == [(5, 4), (5, 4), (5, 4)]
    y, state1, s = layer.step_forward(layer.params, a[0], state)
    assert isinstance(s, LSTMStep) and s.f is None
    assert s.u_prev.shape == (5, 8) and s.act.shape == (5, 8) and s.z.shape == s.c.shape == s.hc.shape == (5, 4)
    assert s.i.shape == s.o.shape == (5, 2)
    np.testing.assert_allclose(backend.to_numpy(y), backend.to_numpy(xp.repeat(s.o, 2, axis=1) * s.hc))
    np.testing.assert_allclose(backend.to_numpy(state1[2]), backend.to_numpy(s.act[:, 4:]))
    copies = {k: v.copy() for k, v in layer.params.items()}            # not views of flat
    y_b, state1_b, _ = layer.step_forward(copies, a[0], state)
    y2, _, _ = layer.step_forward(layer.params, a[1], state1)
    y2_b, _, _ = layer.step_forward(copies, a[1], state1_b)
    for p, q in ((y, y_b), (y2, y2_b)):
        np.testing.assert_allclose(backend.to_numpy(p), backend.to_numpy(q), rtol=1e-14, atol=1e-15)
    delta, dstate = layer.step_backward(copies, xp.ones_like(y2), layer.init_state(5), s)
    delta_b, _ = layer.step_backward(layer.params, xp.ones_like(y2), layer.init_state(5), s)
    np.testing.assert_allclose(backend.to_numpy(delta), backend.to_numpy(delta_b), rtol=1e-14)
    assert delta.shape == (5, layer.G) and [d.shape for d in dstate] == [(5, 4), (5, 4), (5, 4)]


def test_gate_bias_init_and_init_scale():
    layer = LSTM(2, 6, 2, gate_bias_init={"i": [-1, -3, -5], "f": 1.0}, init_scale=0.2, seed=0)
    np.testing.assert_array_equal(layer.params["b_i"], [-1, -3, -5])
    np.testing.assert_array_equal(layer.params["b_f"], [1, 1, 1])
    assert 0.1 < np.abs(layer.params["W_z"]).max() <= 0.2
    assert layer.config["gate_bias_init"] == {"i": [-1.0, -3.0, -5.0], "f": [1.0, 1.0, 1.0]}
