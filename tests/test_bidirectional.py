"""The bidirectional layer: gradients, the two directions against layers run by hand, and errors."""
import numpy as np
import pytest

from minilstm import GRU, LSTM, RNN, backend
from minilstm.nn.bidirectional import Bidirectional
from minilstm.gradcheck import gradcheck


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_gradcheck(xp, merge):
    be = backend.backend_name(xp)
    layer = Bidirectional(LSTM(3, 4, init_scale=0.5, seed=1, backend=be),
                          GRU(3, 4, init_scale=0.6, seed=2, backend=be), merge=merge)
    x = xp.asarray(np.random.default_rng(0).standard_normal((4, 2, 3)))
    report = gradcheck(layer, x)
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report


def test_outputs_are_the_forward_and_the_time_reversed_pass(xp):
    """y(t) = [fwd(x)(t); bwd(x reversed)(T−1−t)], computed here with the two layers by hand."""
    be = backend.backend_name(xp)
    f, b = RNN(3, 4, seed=3, backend=be), RNN(3, 2, seed=4, backend=be)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    y, cache = Bidirectional(f, b).forward(xp.asarray(x))
    y_f = backend.to_numpy(f.forward(xp.asarray(x))[0])
    y_b, c_b = b.forward(xp.asarray(np.ascontiguousarray(x[::-1])))
    expected = np.concatenate([y_f, backend.to_numpy(y_b)[::-1]], axis=-1)
    np.testing.assert_allclose(backend.to_numpy(y), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(backend.to_numpy(cache.state[1]), backend.to_numpy(c_b.state[0]), rtol=1e-12)


def test_the_backward_direction_sees_the_future():
    """y(0) depends on x(T−1) through the backward half only."""
    layer = Bidirectional(RNN(1, 2, seed=5), RNN(1, 2, seed=6))
    x = np.zeros((4, 1, 1))
    x2 = x.copy(); x2[3] = 1.0
    d = layer.forward(x2)[0] - layer.forward(x)[0]
    assert np.abs(d[0, 0, :2]).max() == 0.0 and np.abs(d[0, 0, 2:]).max() > 1e-3


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="backward_layer.n_in must equal forward_layer.n_in = 3 .* got 2"):
        Bidirectional(RNN(3, 4), RNN(2, 4))
    with pytest.raises(ValueError, match="merge='sum' needs backward_layer.n_out = forward_layer.n_out = 4, got 2"):
        Bidirectional(RNN(3, 4), RNN(3, 2), merge="sum")
    with pytest.raises(ValueError, match="merge must be 'concat' or 'sum', got 'max'"):
        Bidirectional(RNN(3, 4), RNN(3, 4), merge="max")
    r = RNN(3, 4)
    with pytest.raises(ValueError, match="two layers"):
        Bidirectional(r, r)
    with pytest.raises(TypeError, match="part 'bwd' lives on"):
        Bidirectional(RNN(3, 4), RNN(3, 4, backend="strict"))
    layer = Bidirectional(RNN(3, 4), RNN(3, 2))
    with pytest.raises(ValueError, match=r"x must have 3 dimensions \(T, B, 3\), got shape \(2, 3\)"):
        layer.forward(np.zeros((2, 3)))
    y, cache = layer.forward(np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match=r"dstate\['bwd.h'\] contains 1 NaN"):
        layer.backward(np.zeros((2, 1, 6)), cache, dstate=(np.zeros((1, 4)), np.full((1, 2), [0, np.nan])))
