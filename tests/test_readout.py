"""The readout layer and softmax: reference forward, central-difference gradients, clear errors."""
import json

import numpy as np
import pytest

from minilstm import strict
from minilstm.backend import backend_name, get_array_module, to_numpy
from minilstm.nn.readout import Linear, log_softmax, softmax
from minilstm.gradcheck import numerical_gradient


def central_diff(f, a, eps=1e-5):
    """∂f/∂a by float64 central differences (the package's own, :func:`numerical_gradient`)."""
    return numerical_gradient(f, a, eps)


def test_params_config_and_size(xp):
    layer = Linear(4, 3, rng=0, backend=xp)
    assert set(layer.params) == {"W", "b"}
    assert layer.params["W"].shape == (3, 4) and layer.params["b"].shape == (3,)
    assert all(get_array_module(p) is xp and p.dtype == np.float64 for p in layer.params.values())
    assert layer.n_params == 3 * 4 + 3
    config = json.loads(json.dumps(layer.config))
    assert config == {"n_in": 4, "n_out": 3, "bias": True, "init_scale": 0.1, "dtype": "float64"}
    again = Linear(**config, rng=0, backend=xp)
    np.testing.assert_array_equal(to_numpy(again.params["W"]), to_numpy(layer.params["W"]))
    W = to_numpy(layer.params["W"])
    assert np.abs(W).max() <= 0.1 and np.abs(W).min() > 0  # every weight random and non-zero

    nobias = Linear(4, 3, bias=False, rng=0, backend=xp)
    assert set(nobias.params) == {"W"} and nobias.n_params == 12
    assert backend_name(xp) in repr(nobias)


def test_same_seed_gives_the_same_weights_on_every_backend(xp):
    a, b = Linear(5, 2, rng=7, backend=xp), Linear(5, 2, rng=7, backend="numpy")
    for k in a.params:
        np.testing.assert_array_equal(to_numpy(a.params[k]), b.params[k])


@pytest.mark.parametrize("shape", [(6, 3, 4), (3, 4)], ids=["TBD", "BD"])
def test_forward_matches_the_formula(xp, shape, rng):
    layer = Linear(4, 2, rng=1, init_scale=0.5, backend=xp)
    x = rng.standard_normal(shape)
    y, _ = layer.forward(xp.asarray(x))
    assert get_array_module(y) is xp and y.shape == shape[:-1] + (2,)
    W, b = (to_numpy(layer.params[k]) for k in ("W", "b"))
    expected = np.einsum("...i,oi->...o", x, W) + b       # y_t = W x_t + b, step by step
    np.testing.assert_allclose(to_numpy(y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3, 4), (3, 4)], ids=["TBD", "BD"])
def test_backward_matches_central_differences(xp, rng, bias, shape):
    layer = Linear(4, 3, bias=bias, rng=2, init_scale=0.5, backend=xp)
    host = {k: to_numpy(v).copy() for k, v in layer.params.items()}
    x = rng.standard_normal(shape)
    R = rng.standard_normal(shape[:-1] + (3,))           # L = Σ R ⊙ y, so ∂L/∂y = R

    def loss():
        layer.params = {k: xp.asarray(v) for k, v in host.items()}
        y, _ = layer.forward(xp.asarray(x))
        return float((to_numpy(y) * R).sum())

    loss()
    _, cache = layer.forward(xp.asarray(x))
    dx, grads = layer.backward(xp.asarray(R), cache)
    assert set(grads) == set(layer.params)
    assert dx.shape == x.shape and get_array_module(dx, *grads.values()) is xp
    np.testing.assert_allclose(to_numpy(dx), central_diff(loss, x), rtol=1e-6, atol=1e-8)
    for k in host:
        assert grads[k].shape == host[k].shape
        np.testing.assert_allclose(to_numpy(grads[k]), central_diff(loss, host[k]),
                                   rtol=1e-6, atol=1e-8, err_msg=k)


def test_weight_gradient_sums_the_per_step_outer_products(rng):
    layer = Linear(3, 2, rng=0)
    x, dy = rng.standard_normal((7, 4, 3)), rng.standard_normal((7, 4, 2))
    _, grads = layer.backward(dy, layer.forward(x)[1])
    outer = sum(dy[t, b][:, None] * x[t, b][None, :] for t in range(7) for b in range(4))
    np.testing.assert_allclose(grads["W"], outer, rtol=1e-12)
    np.testing.assert_allclose(grads["b"], dy.sum((0, 1)), rtol=1e-12)


def test_float32_stays_float32(xp):
    layer = Linear(3, 2, rng=0, dtype=np.float32, backend=xp)
    y, cache = layer.forward(xp.ones((2, 3, 3), dtype=np.float32))
    dx, grads = layer.backward(xp.ones_like(y), cache)
    assert y.dtype == dx.dtype == grads["W"].dtype == grads["b"].dtype == np.float32
    assert layer.config["dtype"] == "float32"


def test_bad_inputs_give_clear_errors(xp):
    layer = Linear(4, 3, rng=0, backend=xp)
    with pytest.raises(ValueError, match=r"x must have shape \(\?, \?, 4\), got \(2, 5, 3\)"):
        layer.forward(xp.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=r"x must be \(T, B, 4\) or \(B, 4\), got shape \(4,\)"):
        layer.forward(xp.ones(4))
    with pytest.raises(TypeError, match="x has dtype float32 but the layer's parameters are float64"):
        layer.forward(xp.ones((2, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="x must be a float32 or float64 array, got dtype int64"):
        layer.forward(xp.ones((2, 4), dtype=np.int64))
    with pytest.raises(TypeError, match="x must be an array, got list"):
        layer.forward([[1.0] * 4])
    other = np if xp is not np else strict
    with pytest.raises(TypeError, match="different backends"):
        layer.forward(other.ones((2, 4)))
    y, cache = layer.forward(xp.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 5, 3\) \(the shape of y\), got \(5, 2, 3\)"):
        layer.backward(xp.ones((5, 2, 3)), cache)


def test_nan_and_inf_are_named(xp):
    """NaN/inf in x, in dy and in the parameters are refused by name, not passed on silently."""
    layer = Linear(4, 3, rng=0, backend=xp)
    bad = np.ones((2, 5, 4)); bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN or inf value\(s\), the first at index \(1, 2, 3\)"):
        layer.forward(xp.asarray(bad))
    y, cache = layer.forward(xp.ones((2, 5, 4)))
    bad_dy = np.ones((2, 5, 3)); bad_dy[0, 0, 1] = -np.inf
    with pytest.raises(ValueError, match=r"dy contains 1 NaN or inf value\(s\), the first at index \(0, 0, 1\)"):
        layer.backward(xp.asarray(bad_dy), cache)
    layer.params["b"][2] = np.inf
    with pytest.raises(ValueError, match=r"params\['b'\] contains 1 NaN or inf value\(s\), the first at index \(2,\)"):
        layer.forward(xp.ones((5, 4)))
    layer.params["b"][2] = 0.0
    layer.params["W"][1, 0] = np.nan
    with pytest.raises(ValueError, match=r"params\['W'\] contains 1 NaN or inf value\(s\), the first at index \(1, 0\)"):
        layer.forward(xp.ones((5, 4)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_in must be an int >= 1, got 0"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="n_out must be an int, got 2.5"):
        Linear(3, 2.5)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int32"):
        Linear(3, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="init_scale"):
        Linear(3, 2, init_scale=-1)
    with pytest.raises(TypeError, match="rng must be"):
        Linear(3, 2, rng="seed")


def test_softmax_is_a_stable_distribution(xp, rng):
    a = rng.standard_normal((4, 3, 5))
    p = softmax(xp.asarray(a))
    assert get_array_module(p) is xp and p.shape == a.shape
    e = np.exp(a)
    np.testing.assert_allclose(to_numpy(p), e / e.sum(-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(softmax(xp.asarray(a), axis=0)),
                               e / e.sum(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(log_softmax(xp.asarray(a))),
                               np.log(e / e.sum(-1, keepdims=True)), rtol=1e-12)
    big = xp.asarray([[1000.0, 1001.0, -1000.0], [-1e300, 0.0, 1e300]])
    p = to_numpy(softmax(big))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(-1), 1.0)
    np.testing.assert_allclose(p[0, :2], [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-12)
    assert np.isfinite(to_numpy(log_softmax(big))[0]).all()
