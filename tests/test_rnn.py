"""The Elman RNN: gradients by central differences, forward by an independent reference loop."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.gradcheck import gradcheck
from minilstm.nn.rnn import RNN

from bad_backward import assert_backward_refuses_bad_input


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_gradcheck(xp, activation):
    layer = RNN(3, 4, activation=activation, init_scale=0.8, seed=1, backend=backend.backend_name(xp))
    rng = np.random.default_rng(2)
    x = xp.asarray(rng.standard_normal((5, 2, 3)))
    state = (xp.asarray(rng.standard_normal((2, 4))),)
    report = gradcheck(layer, x, state)
    assert set(report) == {"x", "W", "R", "b", "state0[h]"}
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report            # every array reaches E: none passes by being idle


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_forward_matches_reference_formula(xp, activation):
    """h(t) = φ(W x(t) + R h(t-1) + b) from a random h(0), φ = tanh or the logistic
    σ(a) = 1 / (1 + e^{-a}), written here one sequence at a time."""
    phi = {"tanh": np.tanh, "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a))}[activation]
    layer = RNN(3, 4, activation=activation, init_scale=0.8, seed=3, backend=backend.backend_name(xp))
    rng = np.random.default_rng(4)
    x, h0 = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 4))
    y, cache = layer.forward(xp.asarray(x), (xp.asarray(h0),))
    W, R, b = (backend.to_numpy(layer.params[k]) for k in ("W", "R", "b"))
    assert float(np.abs(b).min()) > 0.0           # a bias that is really there
    h = h0
    for t in range(6):
        h = np.stack([phi(W @ x[t, n] + R @ h[n] + b) for n in range(2)])
        np.testing.assert_allclose(backend.to_numpy(y[t]), h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(cache.state[0]), h, rtol=1e-12)


def test_float32_gradcheck_against_float64_reference(xp):
    layer = RNN(3, 4, seed=1, dtype="float32", backend=backend.backend_name(xp))
    x = xp.asarray(np.random.default_rng(2).standard_normal((4, 2, 3)).astype(np.float32))
    report = gradcheck(layer, x)
    assert report.max_error < 1e-4, report  # float32 analytic vs float64 central differences
    assert not report.zero, report


def test_bad_input_is_named(xp):
    layer = RNN(3, 4, backend=backend.backend_name(xp))
    with pytest.raises(ValueError, match=r"x must have 3 dimensions"):
        layer.forward(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(\?, \?, 3\), got \(2, 1, 5\)"):
        layer.forward(xp.zeros((2, 1, 5)))
    with pytest.raises(TypeError, match="x must be a float32 or float64 array, got dtype int"):
        layer.forward(xp.zeros((2, 1, 3), dtype=xp.int64))
    with pytest.raises(TypeError, match="x has dtype float32 but the layer's parameters are float64"):
        layer.forward(xp.zeros((2, 1, 3), dtype=xp.float32))
    bad = np.zeros((2, 1, 3)); bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN or inf value\(s\), the first at index \(1, 0, 2\)"):
        layer.forward(xp.asarray(bad))
    with pytest.raises(ValueError, match=r"state\['h'\] must have shape \(1, 4\), got \(2, 4\)"):
        layer.forward(xp.zeros((2, 1, 3)), (xp.zeros((2, 4)),))
    with pytest.raises(ValueError, match="activation='relu' is not supported"):
        RNN(3, 4, activation="relu")
    layer.params["R"][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"params\['R'\] contains 1 NaN or inf"):
        layer.forward(xp.zeros((2, 1, 3)))


def test_backward_refuses_bad_dy_and_dstate(xp):
    layer = RNN(3, 4, seed=0, backend=backend.backend_name(xp))
    assert_backward_refuses_bad_input(layer, xp.zeros((3, 2, 3)))


def test_mixed_backends_are_refused():
    layer = RNN(3, 4, backend="strict")
    with pytest.raises(TypeError, match="x is a numpy array but the layer's parameters live on strict"):
        layer.forward(np.zeros((2, 1, 3)))


def test_params_are_views_into_one_buffer():
    layer = RNN(3, 4)
    assert layer.n_params == 4 * 3 + 4 * 4 + 4
    layer.flat[:] = 0.0
    assert float(np.abs(layer.params["R"]).sum()) == 0.0
