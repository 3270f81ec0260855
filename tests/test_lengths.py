"""Variable-length batches: padded steps change neither the valid outputs, nor the final states,
nor any gradient. Every layer is run on a padded batch and, one sequence at a time, on each
sequence alone (no padding at all); the two must agree."""
import numpy as np
import pytest

from minilstm import GRU, LSTM, RNN, backend
from minilstm.nn.bidirectional import Bidirectional, reverse_sequences
from minilstm.gradcheck import gradcheck
from minilstm.nn.presets import PRESETS
from minilstm.nn.recurrent import check_lengths, valid_mask
from minilstm.nn.stack import Stack

LENGTHS = (5, 2, 4)   # T = 5; the first sequence fills the batch, the others are padded


def _layers(be):
    """name → a function building the layer on backend ``be`` (all of them with random, large
    enough weights that every gate matters)."""
    lstm = dict(init_scale=0.5, backend=be)
    out = {
        "rnn": lambda: RNN(3, 4, init_scale=0.6, seed=1, backend=be),
        "gru": lambda: GRU(3, 4, init_scale=0.6, seed=2, backend=be),
        "lstm_fast": lambda: LSTM(3, 4, seed=3, **lstm),
        "lstm_fast_factors_per_step": lambda: _per_step(LSTM(3, 4, seed=3, **lstm)),
        "stack": lambda: Stack([LSTM(3, 4, seed=4, **lstm), GRU(4, 3, init_scale=0.6, seed=5, backend=be),
                                RNN(3, 2, init_scale=0.6, seed=6, backend=be)], dropout=0.5, seed=0).eval(),
        "bidirectional_concat": lambda: Bidirectional(LSTM(3, 4, seed=7, **lstm),
                                                      GRU(3, 2, init_scale=0.6, seed=8, backend=be)),
        "bidirectional_sum": lambda: Bidirectional(RNN(3, 4, init_scale=0.6, seed=9, backend=be),
                                                   LSTM(3, 4, seed=10, peepholes=True, **lstm), merge="sum"),
        "stack_of_bidirectional": lambda: Stack([
            Bidirectional(LSTM(3, 3, seed=11, **lstm), LSTM(3, 3, seed=12, **lstm)),
            Bidirectional(LSTM(6, 2, seed=13, **lstm), LSTM(6, 2, seed=14, **lstm))]),
    }
    for name, make in PRESETS.items():
        out[f"preset_{name}"] = (lambda make=make: make(3, 4, seed=15, init_scale=0.5, backend=be))
    return out


def _per_step(layer):
    layer._factors_at_once_max = 0          # the fast path's other branch: factors inside each step
    return layer


def _host(a):
    return backend.to_numpy(a)


@pytest.mark.parametrize("name", sorted(_layers("numpy")))
def test_padding_changes_nothing(xp, name):
    layer = _layers(backend.backend_name(xp))[name]()
    rng = np.random.default_rng(0)
    T, B = max(LENGTHS), len(LENGTHS)
    x = rng.standard_normal((T, B, layer.n_in))
    x[1:, 1] = 1e3                                       # padding that would saturate everything
    s0 = [rng.standard_normal(s) for s in layer.state_shapes(B)]
    y, cache = layer.forward(xp.asarray(x), tuple(xp.asarray(s) for s in s0), lengths=list(LENGTHS))
    dy = rng.standard_normal(y.shape)
    v = [rng.standard_normal(s.shape) for s in cache.state]
    dx, grads, d0 = layer.backward(xp.asarray(dy), cache, dstate=tuple(xp.asarray(a) for a in v),
                                   return_dstate=True)
    y, dx = _host(y), _host(dx)
    total = {k: 0.0 for k in grads}
    for b, L in enumerate(LENGTHS):
        alone = lambda a: xp.asarray(np.ascontiguousarray(a))   # noqa: E731
        yb, cb = layer.forward(alone(x[:L, b:b + 1]), tuple(alone(s[b:b + 1]) for s in s0))
        np.testing.assert_allclose(y[:L, b], _host(yb)[:, 0], rtol=1e-10, atol=1e-13)
        assert not y[L:, b].any(), "outputs at padded steps are 0"
        for s, sb in zip(cache.state, cb.state):
            np.testing.assert_allclose(_host(s)[b], _host(sb)[0], rtol=1e-10, atol=1e-13)
        dxb, gb, d0b = layer.backward(alone(dy[:L, b:b + 1]), cb,
                                      dstate=tuple(alone(a[b:b + 1]) for a in v), return_dstate=True)
        np.testing.assert_allclose(dx[:L, b], _host(dxb)[:, 0], rtol=1e-10, atol=1e-13)
        assert not dx[L:, b].any(), "no error reaches a padded input"
        for a, ab in zip(d0, d0b):
            np.testing.assert_allclose(_host(a)[b], _host(ab)[0], rtol=1e-10, atol=1e-13)
        for k in grads:
            total[k] = total[k] + _host(gb[k])
    for k in grads:
        np.testing.assert_allclose(_host(grads[k]), total[k], rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm_fast", "preset_lstm_1997", "preset_vanilla",
                                  "bidirectional_sum"])
def test_gradcheck_with_lengths(xp, name):
    layer = _layers(backend.backend_name(xp))[name]()
    x = xp.asarray(np.random.default_rng(1).standard_normal((5, 3, layer.n_in)))
    report = gradcheck(layer, x, forward_kwargs={"lengths": LENGTHS})
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report


def test_reverse_sequences_reverses_each_within_its_length(xp):
    x = np.arange(5 * 3, dtype=np.float64).reshape(5, 3, 1)      # x[t, b] = 3t + b
    r = _host(reverse_sequences(xp.asarray(x), np.array([5, 2, 4])))[..., 0]
    np.testing.assert_array_equal(r[:, 0], [12, 9, 6, 3, 0])
    np.testing.assert_array_equal(r[:, 1], [4, 1, 7, 10, 13])     # steps 1, 0, then padding in place
    np.testing.assert_array_equal(r[:, 2], [11, 8, 5, 2, 14])
    again = _host(reverse_sequences(reverse_sequences(xp.asarray(x), [5, 2, 4]), [5, 2, 4]))
    np.testing.assert_array_equal(again, x)


def test_valid_mask_and_bad_lengths_are_named():
    np.testing.assert_array_equal(valid_mask([3, 1], 3), [[True, True], [True, False], [True, False]])
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\) \(one per sequence of the batch\), got \(3,\)"):
        check_lengths([1, 2, 3], 4, 2)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=4\], got values from 0 to 2"):
        check_lengths([0, 2], 4, 2)
    with pytest.raises(TypeError, match="lengths must be integers .* got dtype float64"):
        check_lengths([1.0, 2.0], 4, 2)
    layer = RNN(3, 4, seed=0)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=2\], got values from 1 to 3"):
        layer.forward(np.zeros((2, 2, 3)), lengths=[1, 3])
