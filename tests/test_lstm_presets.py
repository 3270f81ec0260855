"""The named presets: what each one switches, gradients of every preset, the 1997 weight counts."""
import json

import numpy as np
import pytest

from minilstm import backend, presets
from minilstm.gradcheck import gradcheck
from minilstm.nn.lstm import LSTM
from minilstm.nn.presets import EXPERIMENTS_1997, PRESETS, net_1997

from reference_lstm import randomize, random_input, random_state

NAMES = sorted(PRESETS)


def test_registry_has_every_preset():
    assert set(PRESETS) == {"lstm_1997", "lstm_forget_1999", "lstm_peephole_2000", "vanilla", "nig",
                            "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr"}
    for name, fn in PRESETS.items():
        assert fn.__doc__ and len(fn.__doc__) > 60, name
    assert presets.np_ is presets.no_peepholes is PRESETS["np"]


@pytest.mark.parametrize("name", NAMES)
def test_preset_gradcheck_with_every_parameter_random(xp, name):
    """x, every parameter and the initial state, against float64 central differences, with every
    parameter of every gate non-zero (zero biases hide gate bugs) and a random initial state."""
    layer = PRESETS[name](3, 4, seed=0, backend=backend.backend_name(xp))
    randomize(layer, seed=11)
    x = random_input(layer, 4, 2, seed=12)
    report = gradcheck(layer, x, random_state(layer, 2, seed=13))
    assert set(report) == {"x", *layer.params, *(f"state0[{n}]" for n in layer.state_names)}
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report            # every array reaches E: none passes by being idle


@pytest.mark.parametrize("name", NAMES)
def test_preset_float32_gradcheck_against_float64_reference(xp, name):
    """The float32 layer's analytic gradients (computed in float32) against float64 central
    differences of the same layer cast up (gradcheck uses ``layer.to(dtype="float64")`` as the
    reference): x, every parameter and the initial state, every parameter random and non-zero."""
    layer = randomize(PRESETS[name](3, 4, seed=0, backend=backend.backend_name(xp)), seed=11)
    layer32 = layer.to(dtype="float32")
    x = random_input(layer32, 4, 2, seed=12)
    state = random_state(layer32, 2, seed=13)
    assert x.dtype == np.float32 and all(s.dtype == np.float32 for s in state)
    report = gradcheck(layer32, x, state)
    assert set(report) == {"x", *layer.params, *(f"state0[{n}]" for n in layer.state_names)}
    # Tolerance 1e-5, relative and per element: float32 rounds at ε = 6e-8 and T = 4 steps of
    # matrix products and squashing add a few dozen ε to the analytic gradient, while the float64
    # reference is good to ~1e-9. Measured on NumPy: at most 2.5e-7 relative, 4.7e-7 per element.
    assert report.max_error < 1e-5 and report.max_elementwise_error < 1e-5, report
    assert not report.zero, report


EXPECTED_PARAMS = {  # which parameter names each preset has (I = 3 inputs, 4 blocks of 1 cell)
    "lstm_1997": {"W_z", "W_i", "W_o", "R_z", "R_i", "R_o", "b_i", "b_o"},
    "lstm_forget_1999": {"W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o", "b_i", "b_f", "b_o"},
    "lstm_peephole_2000": {"W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o", "b_i", "b_f",
                           "b_o", "p_i", "p_f", "p_o"},
    "vanilla": {"W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o", "b_z", "b_i", "b_f", "b_o",
                "p_i", "p_f", "p_o"},
    "nig": {"W_z", "W_f", "W_o", "R_z", "R_f", "R_o", "b_z", "b_f", "b_o", "p_f", "p_o"},
    "nfg": {"W_z", "W_i", "W_o", "R_z", "R_i", "R_o", "b_z", "b_i", "b_o", "p_i", "p_o"},
    "nog": {"W_z", "W_i", "W_f", "R_z", "R_i", "R_f", "b_z", "b_i", "b_f", "p_i", "p_f"},
    "np": {"W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o", "b_z", "b_i", "b_f", "b_o"},
    "cifg": {"W_z", "W_i", "W_o", "R_z", "R_i", "R_o", "b_z", "b_i", "b_o", "p_i", "p_o"},
}


@pytest.mark.parametrize("name", NAMES)
def test_preset_configuration(name):
    layer = PRESETS[name](3, 4, seed=0)
    cfg = layer.config
    expected = EXPECTED_PARAMS.get(name, EXPECTED_PARAMS["vanilla"])
    assert set(layer.params) == expected
    assert (cfg["g"], cfg["h"]) == {"lstm_1997": ("g1997", "h1997"), "lstm_forget_1999": ("g1997", "h1997"),
                                    "lstm_peephole_2000": ("g1997", "h1997"), "niaf": ("identity", "tanh"),
                                    "noaf": ("tanh", "identity")}.get(name, ("tanh", "tanh"))
    assert cfg["recurrence"] == ("all" if name.startswith("lstm_") else "output")
    assert layer.state_names == (("y", "c", "gates") if name.startswith("lstm_") or name == "fgr"
                                 else ("y", "c"))
    if name == "fgr":   # gates read [y, i, f, o](t-1), cells y(t-1)
        assert layer.params["R_i"].shape == (1 * 4, 4 + 3 * 4)
        assert layer.params["R_z"].shape == (4, 4)
    if name == "lstm_1997":  # 1997 wiring: every unit sees [y, i, o](t-1): 4 + 4 + 4 sources
        assert layer.params["R_z"].shape == (4, 12) and layer.params["R_o"].shape == (4, 12)
    json.dumps(cfg)
    clone = LSTM(**cfg)
    np.testing.assert_array_equal(backend.to_numpy(clone.flat), backend.to_numpy(layer.flat))


@pytest.mark.parametrize("name,weights", [(k, v["weights"]) for k, v in EXPERIMENTS_1997.items()])
def test_1997_weight_counts(name, weights):
    """Exp. 1: 264 (4×1) and 276 (3×2); 3a: 102; 4 and 5: 93; 6a: 156; 6b: 308 — from the real
    layer's n_params plus a readout from the cells (see EXPERIMENTS_1997 for the configurations)."""
    layer, n_out, output_bias = net_1997(name, seed=0)
    assert layer.n_weights_1997(n_out, output_bias) == weights
    spec = EXPERIMENTS_1997[name]
    H = spec["n_blocks"] * spec["cells_per_block"]
    assert layer.n_weights_1997(n_out, output_bias) == layer.n_params + n_out * (H + output_bias)


def test_1997_weight_counts_stated_in_the_issue():
    def count(I, O, nb, S, cell_bias, output_bias):
        return presets.lstm_1997(I, nb, S, cell_bias=cell_bias).n_weights_1997(O, output_bias)
    assert count(7, 7, 4, 1, False, False) == 264      # Exp. 1: gates biased, cells and outputs not
    assert count(7, 7, 3, 2, False, False) == 276
    assert count(2, 1, 2, 2, True, True) == 93         # Exp. 4: all non-input units biased
    assert count(1, 1, 3, 1, True, False) == 102       # Exp. 3a: 1 in, 1 out, output unbiased
    assert count(8, 4, 2, 2, True, True) == 156        # Exp. 6a
    assert count(8, 8, 3, 2, True, True) == 308        # Exp. 6b


def test_1997_bias_recipes_are_applied():
    layer, _, _ = net_1997("3a", seed=0)
    np.testing.assert_array_equal(backend.to_numpy(layer.params["b_i"]), [-1, -3, -5])
    np.testing.assert_array_equal(backend.to_numpy(layer.params["b_o"]), [-2, -4, -6])
    w = backend.to_numpy(layer.params["W_z"])
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0
    layer = presets.lstm_forget_1999(2, 4, 2, gate_bias_init={"f": presets.bias_staircase(0.5, 0.5, 4)})
    np.testing.assert_array_equal(backend.to_numpy(layer.params["b_f"]), [0.5, 1.0, 1.5, 2.0])
    with pytest.raises(ValueError, match="name='7' is not a 1997 experiment"):
        net_1997("7")
