"""The shared sequence loop (minilstm.nn.recurrent): properties every layer's fast path must keep."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.nn.gru import GRU
from minilstm.nn.lstm import LSTM
from minilstm.nn.rnn import RNN

from reference_lstm import randomize

LAYERS = {"gru": lambda b: GRU(3, 4, backend=b), "lstm": lambda b: LSTM(3, 4, backend=b),
          "lstm_peepholes": lambda b: LSTM(3, 4, peepholes=True, backend=b),
          "rnn": lambda b: RNN(3, 4, backend=b)}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_caches_of_two_forward_calls_are_independent(xp, name):
    """The buffers are per call: a second forward does not change the first one's y or cache."""
    layer = randomize(LAYERS[name](backend.backend_name(xp)), seed=14)
    rng = np.random.default_rng(15)
    x1, x2 = (xp.asarray(rng.standard_normal((4, 2, 3))) for _ in range(2))
    dy = xp.asarray(rng.standard_normal((4, 2, 4)))
    y1, c1 = layer.forward(x1)
    y1_copy = backend.to_numpy(y1).copy()
    _, ref = layer.backward(dy, c1)
    layer.forward(x2)
    _, again = layer.backward(dy, c1)
    np.testing.assert_array_equal(backend.to_numpy(y1), y1_copy)
    assert set(again) == set(layer.params)
    for k in ref:
        np.testing.assert_array_equal(backend.to_numpy(again[k]), backend.to_numpy(ref[k]))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_saturating_pre_activations_give_no_warning_and_no_nan(xp, name):
    """Weights of ±50 and inputs of ±10: pre-activations in the thousands, where e^{−a}
    overflows to inf in the fast paths' logistic (exactly σ = 0): no RuntimeWarning, no NaN."""
    import warnings
    for dtype in ("float32", "float64"):
        layer = randomize(LAYERS[name](backend.backend_name(xp)).to(dtype=dtype), seed=16,
                          scale=50.0)
        x = xp.asarray((10 * np.random.default_rng(17).choice([-1.0, 1.0], (5, 2, 3))).astype(dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y, cache = layer.forward(x)
            dx, grads = layer.backward(xp.ones_like(y), cache)
        assert np.isfinite(backend.to_numpy(y)).all() and np.isfinite(backend.to_numpy(dx)).all()


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_names_its_width_n_hidden(name):
    """Generic code (trials, composites, sampling) reads one name for H, the width of y."""
    layer = LAYERS[name]("numpy")
    assert layer.n_hidden == layer.n_out == layer.state_sizes[0] == 4
    if isinstance(layer, LSTM):
        assert layer.n_cells == layer.n_hidden                 # the 1997 text's name stays
