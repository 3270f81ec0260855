"""Forward passes against an independent scalar implementation of the equations (reference_lstm)."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.nn.lstm import LSTM
from minilstm.nn.presets import PRESETS, lstm_1997

from reference_lstm import SQUASH, randomize, random_input, random_state, reference_forward

EXTRA = {  # flag combinations beyond the presets
    "blocks_S2": dict(n_cells=4, cells_per_block=2, peepholes=True),
    "blocks_S3_all": dict(n_cells=6, cells_per_block=3, peepholes=True, recurrence="all"),
    "all_forget_peep": dict(n_cells=4, recurrence="all", peepholes=True, g="g1997", h="h1997"),
    "fgr_S2_cifg": dict(n_cells=4, cells_per_block=2, fgr=True, cifg=True, peepholes=True),
    "no_gates": dict(n_cells=3, input_gate=False, forget_gate=False, output_gate=False),
    "sigmoid_g_nobias": dict(n_cells=3, g="sigmoid", h="identity", cell_bias=False, gate_bias=False),
}


def _host(layer):
    return {k: backend.to_numpy(v) for k, v in layer.params.items()}


def _check_against_reference(layer, T=5, B=2, seed=0):
    randomize(layer, seed=seed + 1)
    x = random_input(layer, T, B, seed=seed + 2)
    state = random_state(layer, B, seed=seed + 3)
    y, cache = layer.forward(x, state)
    y_ref, state_ref = reference_forward(_host(layer), layer.config, backend.to_numpy(x),
                                         tuple(backend.to_numpy(s) for s in state))
    np.testing.assert_allclose(backend.to_numpy(y), y_ref, rtol=1e-12, atol=1e-12)
    assert len(cache.state) == len(state_ref)
    for a, b in zip(cache.state, state_ref):
        np.testing.assert_allclose(backend.to_numpy(a), b, rtol=1e-12, atol=1e-12)
    # and from the zero state (the papers reset activations at the start of a sequence)
    y0, _ = layer.forward(x)
    np.testing.assert_allclose(backend.to_numpy(y0),
                               reference_forward(_host(layer), layer.config, backend.to_numpy(x))[0],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_forward_matches_reference(xp, name):
    layer = PRESETS[name](3, 4, seed=0, backend=backend.backend_name(xp))
    _check_against_reference(layer)


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_flag_combinations_match_reference(xp, name):
    layer = LSTM(3, seed=0, backend=backend.backend_name(xp), **EXTRA[name])
    _check_against_reference(layer)


def test_output_gate_sees_the_updated_cell_state(xp):
    """The peephole order: o(t) is computed from c(t), after the cell update. A layer that used
    c(t−1) would match the wrong reference instead; the test tells the two apart."""
    layer = PRESETS["vanilla"](3, 4, seed=0, backend=backend.backend_name(xp))
    randomize(layer, seed=5, scale=1.0)
    x = random_input(layer, 5, 2, seed=6)
    y = backend.to_numpy(layer.forward(x)[0])
    right, _ = reference_forward(_host(layer), layer.config, backend.to_numpy(x), output_peephole_sees="c(t)")
    wrong, _ = reference_forward(_host(layer), layer.config, backend.to_numpy(x), output_peephole_sees="c(t-1)")
    assert np.abs(right - wrong).max() > 1e-3      # the two orders differ visibly here
    np.testing.assert_allclose(y, right, rtol=1e-12, atol=1e-12)
    assert np.abs(y - wrong).max() > 1e-3


def test_1997_squashing_functions_are_used(xp):
    """g(a) = 4σ(a) − 2 and h(a) = 2σ(a) − 1: a one-cell net with all gates pinned open shows them."""
    layer = lstm_1997(1, 1, seed=0, backend=backend.backend_name(xp), init_scale=0.0,
                      gate_bias_init={"i": 40.0, "o": 40.0})      # i = o = 1 to machine precision
    layer.params["W_z"][...] = 1.0
    a = np.array([0.3, -1.2, 2.5])
    y, _ = layer.forward(xp.asarray(a.reshape(3, 1, 1)))
    s = 1 / (1 + np.exp(-a))
    c = np.cumsum(4 * s - 2)                                      # the CEC sums g(net_c)
    np.testing.assert_allclose(backend.to_numpy(y).ravel(), 2 / (1 + np.exp(-c)) - 1, rtol=1e-12)
    assert SQUASH["g1997"](100.0) == pytest.approx(2.0) and SQUASH["h1997"](-100.0) == pytest.approx(-1.0)


def test_reference_detects_a_swapped_gate(xp):
    """Sanity of the reference itself: exchanging two gates' biases changes its output."""
    layer = PRESETS["vanilla"](3, 4, seed=0, backend=backend.backend_name(xp))
    randomize(layer, seed=8)
    x = backend.to_numpy(random_input(layer, 4, 2, seed=9))
    p = _host(layer)
    q = dict(p, b_i=p["b_f"], b_f=p["b_i"])
    assert np.abs(reference_forward(p, layer.config, x)[0] - reference_forward(q, layer.config, x)[0]).max() > 1e-4
