"""The stack: gradients by central differences (with dropout masks held fixed), the composition it
computes, dropout on in training and off at evaluation, and named errors."""
import numpy as np
import pytest

from minilstm import GRU, LSTM, RNN, backend
from minilstm.gradcheck import gradcheck
from minilstm.nn.stack import Stack


def _stack(be, dropout=0.4):
    return Stack([LSTM(3, 4, init_scale=0.5, seed=1, backend=be),
                  GRU(4, 3, init_scale=0.6, seed=2, backend=be),
                  RNN(3, 2, init_scale=0.6, seed=3, backend=be)], dropout=dropout, seed=0)


def test_gradcheck_with_dropout(xp):
    stack = _stack(backend.backend_name(xp))
    x = xp.asarray(np.random.default_rng(0).standard_normal((4, 2, 3)))
    report = gradcheck(stack, x, forward_kwargs={"rng": 5})      # the same masks at every call
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report
    assert set(report) == {"x"} | set(stack.params) | {f"state0[{n}]" for n in stack.state_names}


def test_forward_is_the_composition_with_inverted_dropout(xp):
    """y = L3(d2 ⊙ L2(d1 ⊙ L1(x)) ), d = Bernoulli(1−p)/(1−p) drawn from the given seed."""
    be = backend.backend_name(xp)
    stack, p = _stack(be), 0.4
    x = xp.asarray(np.random.default_rng(1).standard_normal((4, 2, 3)))
    y, _ = stack.forward(x, rng=7)
    gen = np.random.default_rng(7)
    h = stack.layers[0].forward(x)[0]
    for layer in stack.layers[1:]:
        d = (gen.random(h.shape) < 1 - p) / (1 - p)
        h = layer.forward(h * xp.asarray(d))[0]
    np.testing.assert_allclose(backend.to_numpy(y), backend.to_numpy(h), rtol=1e-12, atol=1e-14)


def test_dropout_is_seeded_in_training_and_off_at_evaluation(xp):
    be = backend.backend_name(xp)
    x = xp.asarray(np.random.default_rng(2).standard_normal((6, 3, 3)))
    a, b = _stack(be), _stack(be)
    y1, y2 = backend.to_numpy(a.forward(x)[0]), backend.to_numpy(a.forward(x)[0])
    assert np.abs(y1 - y2).max() > 1e-3                          # new masks at every call
    np.testing.assert_array_equal(backend.to_numpy(b.forward(x)[0]), y1)   # same seed, same masks
    plain = _stack(be, dropout=0.0)
    ye = backend.to_numpy(a.eval().forward(x)[0])
    np.testing.assert_array_equal(ye, backend.to_numpy(plain.forward(x)[0]))
    assert not a.training and a.train().training


def test_dropout_keeps_the_expectation():
    """E[d/(1−p)] = 1: averaged over many units the scaled mask is close to 1, and about p of it is 0."""
    stack = Stack([RNN(2, 400, seed=0), RNN(400, 2, seed=1)], dropout=0.3, seed=0)
    masks = stack._masks([(50, 20, 400)], None)[0]
    assert abs(masks.mean() - 1.0) < 0.01 and abs((masks == 0).mean() - 0.3) < 0.01


def test_params_state_and_step():
    stack = _stack("numpy", dropout=0.0)
    assert stack.n_params == sum(layer.n_params for layer in stack.layers)
    assert stack.params["1.W_r"] is stack.layers[1].params["W_r"]
    assert stack.state_names == ("0.y", "0.c", "1.h", "2.h")
    x = np.random.default_rng(3).standard_normal((5, 2, 3))
    y, cache = stack.forward(x)
    state = stack.init_state(2)
    for t in range(5):                                            # one step at a time, same numbers
        y_t, state = stack.step(x[t], state)
        np.testing.assert_allclose(y_t, y[t], rtol=1e-12, atol=1e-14)
    for a, b in zip(state, cache.state):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"layers\[1\].n_in must equal layers\[0\].n_out = 4 .* got 3"):
        Stack([RNN(3, 4), RNN(3, 2)])
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\), got 1.0"):
        Stack([RNN(3, 4)], dropout=1.0)
    with pytest.raises(TypeError, match="part '1' has dtype float32, part '0' float64"):
        Stack([RNN(3, 4), RNN(4, 2, dtype="float32")])
    stack = _stack("numpy")
    with pytest.raises(ValueError, match=r"state must be a tuple of 4 arrays .* got tuple of length 1"):
        stack.forward(np.zeros((2, 1, 3)), (np.zeros((1, 4)),))
    with pytest.raises(ValueError, match=r"state\['1.h'\] must have shape \(1, 3\), got \(1, 4\)"):
        stack.forward(np.zeros((2, 1, 3)), (np.zeros((1, 4)), np.zeros((1, 4)), np.zeros((1, 4)), np.zeros((1, 2))))
    with pytest.raises(ValueError, match=r"x must have shape \(\?, \?, 3\), got \(2, 1, 5\)"):
        stack.forward(np.zeros((2, 1, 5)))
    y, cache = stack.forward(np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 1, 2\), got \(2, 1, 3\)"):
        stack.backward(np.zeros((2, 1, 3)), cache)
