"""The GRU: gradients by central differences, forward by an independent reference loop."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.gradcheck import gradcheck
from minilstm.nn.gru import GRU

from bad_backward import assert_backward_refuses_bad_input
from layer_values import clear_random_values

NAMES = ("W_r", "W_u", "W_h", "R_r", "R_u", "R_h", "b_r", "b_u", "b_h")


def _random_layer(xp, n_in=3, n_hidden=4, seed=1, dtype="float64", scale=0.5):
    """Every parameter of every gate random and clearly non-zero: N(0, scale²), |θ| ≥ 0.05."""
    layer = GRU(n_in, n_hidden, seed=seed, dtype=dtype, backend=backend.backend_name(xp))
    return clear_random_values(layer, seed, scale)


def _sigma(a):
    return 1.0 / (1.0 + np.exp(-a))


def _reference(P, x, h0, reset_after=False):
    """The GRU equations of Cho et al. (2014), one sequence and one unit vector at a time.

    ``reset_after=True`` gives the later variant r ⊙ (R_h h(t−1)), for the negative test.
    """
    T, B, _ = x.shape
    hs, h = [], h0.copy()
    for t in range(T):
        new = np.empty_like(h)
        for n in range(B):
            xt, hp = x[t, n], h[n]
            r = _sigma(P["W_r"] @ xt + P["R_r"] @ hp + P["b_r"])
            u = _sigma(P["W_u"] @ xt + P["R_u"] @ hp + P["b_u"])
            if reset_after:
                cand = np.tanh(P["W_h"] @ xt + r * (P["R_h"] @ hp) + P["b_h"])
            else:
                cand = np.tanh(P["W_h"] @ xt + P["R_h"] @ (r * hp) + P["b_h"])
            new[n] = u * hp + (1.0 - u) * cand
        h = new
        hs.append(h)
    return np.stack(hs)


def _host_params(layer):
    return {k: backend.to_numpy(v).astype(np.float64) for k, v in layer.params.items()}


def test_gradcheck(xp):
    layer = _random_layer(xp)
    rng = np.random.default_rng(2)
    x = xp.asarray(rng.standard_normal((5, 2, 3)))
    state = (xp.asarray(0.8 * rng.standard_normal((2, 4))),)
    report = gradcheck(layer, x, state)
    assert set(report) == {"x", *NAMES, "state0[h]"}
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report            # every array reaches E: none passes by being idle


def test_forward_matches_reference_formula(xp):
    layer = _random_layer(xp, seed=3)
    rng = np.random.default_rng(4)
    x, h0 = rng.standard_normal((6, 2, 3)), 0.8 * rng.standard_normal((2, 4))
    y, cache = layer.forward(xp.asarray(x), (xp.asarray(h0),))
    ref = _reference(_host_params(layer), x, h0)
    np.testing.assert_allclose(backend.to_numpy(y), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(cache.state[0]), ref[-1], rtol=1e-12, atol=1e-12)


def test_reset_gate_acts_before_the_recurrent_product(xp):
    """R_h (r ⊙ h) and r ⊙ (R_h h) differ whenever r is not constant over units: the test must see it."""
    layer = _random_layer(xp, seed=5, scale=1.0)
    rng = np.random.default_rng(6)
    x, h0 = rng.standard_normal((4, 3, 3)), rng.standard_normal((3, 4))
    y, _ = layer.forward(xp.asarray(x), (xp.asarray(h0),))
    y = backend.to_numpy(y)
    P = _host_params(layer)
    before, after = _reference(P, x, h0), _reference(P, x, h0, reset_after=True)
    assert np.abs(before - after).max() > 1e-2          # the two models really differ here
    np.testing.assert_allclose(y, before, rtol=1e-12, atol=1e-12)
    assert np.abs(y - after).max() > 1e-2


def test_update_gate_convention_is_chos():
    """u → 1 keeps the old state (h = u h(t−1) + (1−u) h̃); u → 0 takes the candidate."""
    layer = GRU(2, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((1, 1, 2))
    h0 = np.array([[0.3, -0.2, 0.5]])
    layer.params["b_u"][...] = 40.0                       # u = σ(≈40) = 1 to 1e-17
    y, _ = layer.forward(x, (h0,))
    np.testing.assert_allclose(y[0], h0, rtol=0, atol=1e-12)
    layer.params["b_u"][...] = -40.0
    y, _ = layer.forward(x, (h0,))
    P = _host_params(layer)
    r = _sigma(P["W_r"] @ x[0, 0] + P["R_r"] @ h0[0] + P["b_r"])
    cand = np.tanh(P["W_h"] @ x[0, 0] + P["R_h"] @ (r * h0[0]) + P["b_h"])
    np.testing.assert_allclose(y[0, 0], cand, rtol=0, atol=1e-12)


def test_float32_against_float64_reference(xp):
    """float32 forward within 1e-5 of the float64 reference (T = 6, |θ| ~ 0.5); gradients 1e-4."""
    layer = _random_layer(xp, seed=7, dtype="float32")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    y, _ = layer.forward(xp.asarray(x))
    assert y.dtype == np.float32
    ref = _reference(_host_params(layer), x.astype(np.float64), np.zeros((2, 4)))
    np.testing.assert_allclose(backend.to_numpy(y), ref, rtol=0, atol=1e-5)
    report = gradcheck(layer, xp.asarray(x[:4]))
    assert report.max_error < 1e-4, report    # float32 analytic vs float64 central differences
    assert not report.zero, report


def test_backward_shapes_and_grad_keys(xp):
    layer = _random_layer(xp)
    x = xp.asarray(np.random.default_rng(0).standard_normal((3, 2, 3)))
    y, cache = layer.forward(x)
    assert y.shape == (3, 2, 4)
    dx, grads = layer.backward(xp.ones_like(y), cache)
    assert dx.shape == x.shape
    assert set(grads) == set(NAMES)
    for k in NAMES:
        assert grads[k].shape == layer.params[k].shape and grads[k].dtype == layer.dtype


def test_params_are_views_into_one_buffer_with_inputs_adjacent():
    layer = GRU(3, 4, init_scale=0.1, seed=0)
    H, I = 4, 3
    assert layer.n_params == 3 * H * I + 3 * H * H + 3 * H
    W = layer.flat[:3 * H * I].reshape(3 * H, I)          # the fused input weights [W_r; W_u; W_h]
    np.testing.assert_array_equal(W, np.concatenate([layer.params[k] for k in ("W_r", "W_u", "W_h")]))
    layer.flat[:] = 0.0
    assert float(np.abs(layer.params["R_h"]).sum()) == 0.0
    assert repr(layer).startswith("GRU(n_in=3, n_hidden=4")
    clone = GRU(3, 4, seed=0, init_scale=0.1).to(dtype="float32")
    assert clone.dtype == np.float32 and clone.config["n_hidden"] == 4


def test_seed_gives_the_same_numbers_on_every_backend(xp):
    a = GRU(3, 4, seed=11, backend=backend.backend_name(xp))
    b = GRU(3, 4, seed=11, backend="numpy")
    np.testing.assert_array_equal(backend.to_numpy(a.flat), b.flat)


def test_bad_input_is_named(xp):
    layer = GRU(3, 4, backend=backend.backend_name(xp))
    with pytest.raises(ValueError, match=r"x must have 3 dimensions"):
        layer.forward(xp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(\?, \?, 3\), got \(2, 1, 5\)"):
        layer.forward(xp.zeros((2, 1, 5)))
    with pytest.raises(TypeError, match="x must be a float32 or float64 array, got dtype int"):
        layer.forward(xp.zeros((2, 1, 3), dtype=xp.int64))
    with pytest.raises(TypeError, match="x has dtype float32 but the layer's parameters are float64"):
        layer.forward(xp.zeros((2, 1, 3), dtype=xp.float32))
    bad = np.zeros((2, 1, 3)); bad[0, 0, 1] = np.inf
    with pytest.raises(ValueError, match=r"x contains 1 NaN or inf value\(s\), the first at index \(0, 0, 1\)"):
        layer.forward(xp.asarray(bad))
    with pytest.raises(ValueError, match=r"state\['h'\] must have shape \(1, 4\), got \(1, 3\)"):
        layer.forward(xp.zeros((2, 1, 3)), (xp.zeros((1, 3)),))
    with pytest.raises(ValueError, match=r"state must be a tuple of 1 arrays"):
        layer.forward(xp.zeros((2, 1, 3)), xp.zeros((1, 4)))
    y, cache = layer.forward(xp.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 1, 4\), got \(2, 1, 3\)"):
        layer.backward(xp.zeros((2, 1, 3)), cache)
    layer.params["b_u"][1] = np.nan
    with pytest.raises(ValueError, match=r"params\['b_u'\] contains 1 NaN or inf"):
        layer.forward(xp.zeros((2, 1, 3)))


def test_backward_refuses_bad_dy_and_dstate(xp):
    assert_backward_refuses_bad_input(_random_layer(xp), xp.zeros((3, 2, 3)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_hidden must be an int >= 1, got 0"):
        GRU(3, 0)
    with pytest.raises(ValueError, match="n_in must be an int, got 2.5"):
        GRU(2.5, 3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        GRU(3, 4, dtype="int32")
    with pytest.raises(ValueError, match="init_scale must be a finite number"):
        GRU(3, 4, init_scale=-1.0)


def test_mixed_backends_are_refused():
    layer = GRU(3, 4, backend="strict")
    with pytest.raises(TypeError, match="x is a numpy array but the layer's parameters live on strict"):
        layer.forward(np.zeros((2, 1, 3)))


def test_step_functions_are_stateless_in_params():
    """step_forward/step_backward use the params they are given, not the layer's own."""
    a, b = GRU(2, 3, seed=1, init_scale=0.7), GRU(2, 3, seed=2, init_scale=0.7)
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((1, 2)), (rng.standard_normal((2, 3)),)
    a_t = x @ b._W.T + b._b                                 # b's input projection of one step
    y_a, _, cache = a.step_forward(b.params, a_t, h)
    y_b, _, cache_b = b.step_forward(b.params, a_t, h)
    np.testing.assert_array_equal(y_a, y_b)
    dy = rng.standard_normal((2, 3))
    da_a, (dh_a,) = a.step_backward(b.params, dy, (dy,), cache)
    da_b, (dh_b,) = b.step_backward(b.params, dy, (dy,), cache_b)
    np.testing.assert_allclose(da_a, da_b, rtol=1e-14)
    np.testing.assert_allclose(dh_a, dh_b, rtol=1e-14)


# ---- the fast path (buffers, precomputed factors) against the plain step functions -------------
def _plain_loop(layer, x, state0, dy, dstate):
    """Forward and BPTT by calling the step functions on their own: every array allocated per
    step, the backward factors computed inside each step. Weight gradients by per-step sums."""
    xp, H = layer.xp, layer.n_hidden
    P = layer.params
    a = layer._project(x)
    state, caches, ys = state0, [], []
    for t in range(x.shape[0]):
        y_t, state, cache_t = layer.step_forward(P, a[t], state)
        ys.append(y_t)
        caches.append(cache_t)
    g = {k: xp.zeros_like(v) for k, v in P.items()}
    dxs = [None] * x.shape[0]
    for t in range(x.shape[0] - 1, -1, -1):
        da, dstate = layer.step_backward(P, dy[t], dstate, caches[t])
        h_prev, gate, _ = caches[t]
        d_r, d_u, d_h = da[:, :H], da[:, H:2 * H], da[:, 2 * H:]
        rh = gate[:, :H] * h_prev
        for k, d in (("r", d_r), ("u", d_u), ("h", d_h)):        # per-step outer products
            g[f"W_{k}"] += d.T @ x[t]
            g[f"b_{k}"] += d.sum(axis=0)
            g[f"R_{k}"] += d.T @ (rh if k == "h" else h_prev)
        dxs[t] = d_r @ P["W_r"] + d_u @ P["W_u"] + d_h @ P["W_h"]
    return xp.stack(ys), xp.stack(dxs), g, dstate


@pytest.mark.parametrize("factors_at_once", [True, False], ids=["factors-at-once", "factors-per-step"])
def test_fast_path_equals_the_plain_step_functions(xp, factors_at_once):
    layer = _random_layer(xp, n_in=3, n_hidden=5, seed=9)
    layer._factors_at_once_max = 10**9 if factors_at_once else 0
    rng = np.random.default_rng(10)
    x = xp.asarray(rng.standard_normal((7, 3, 3)))
    state0 = (xp.asarray(rng.standard_normal((3, 5))),)
    dy = xp.asarray(rng.standard_normal((7, 3, 5)))
    dstate = (xp.asarray(rng.standard_normal((3, 5))),)
    y, cache = layer.forward(x, state0)
    dx, grads, dstate0 = layer.backward(dy, cache, dstate=dstate, return_dstate=True)
    y_ref, dx_ref, g_ref, dstate0_ref = _plain_loop(layer, x, state0, dy, dstate)
    close = dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(backend.to_numpy(y), backend.to_numpy(y_ref), **close)
    np.testing.assert_allclose(backend.to_numpy(dx), backend.to_numpy(dx_ref), **close)
    np.testing.assert_allclose(backend.to_numpy(dstate0[0]), backend.to_numpy(dstate0_ref[0]), **close)
    for k in NAMES:
        np.testing.assert_allclose(backend.to_numpy(grads[k]), backend.to_numpy(g_ref[k]), err_msg=k, **close)


def test_gradcheck_with_factors_computed_per_step(xp):
    layer = _random_layer(xp, seed=12)
    layer._factors_at_once_max = 0                       # the path taken by large batches
    rng = np.random.default_rng(13)
    report = gradcheck(layer, xp.asarray(rng.standard_normal((5, 2, 3))),
                       (xp.asarray(0.8 * rng.standard_normal((2, 4))),))
    assert report.max_error < 1e-7, report
    assert not report.zero, report


def test_step_backward_on_the_cache_of_a_sequence(xp):
    """What analysis code does: step_backward alone on cache.steps[t] gives the loop's δ(t)."""
    layer = _random_layer(xp, seed=16)
    rng = np.random.default_rng(17)
    x = xp.asarray(rng.standard_normal((3, 2, 3)))
    dy = xp.asarray(rng.standard_normal((3, 2, 4)))
    y, cache = layer.forward(x)
    kwargs = layer._backward_buffers(cache).step_kwargs
    dstate = (xp.zeros((2, 4)),)
    for t in (2, 1, 0):
        da_alone, dstate_alone = layer.step_backward(layer.params, dy[t], dstate, cache.steps[t])
        da_fast, dstate = layer.step_backward(layer.params, dy[t], dstate, cache.steps[t], **kwargs[t])
        np.testing.assert_allclose(backend.to_numpy(da_alone), backend.to_numpy(da_fast), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(backend.to_numpy(dstate_alone[0]), backend.to_numpy(dstate[0]), rtol=1e-14, atol=1e-15)
        dstate = (dstate[0].copy(),)                     # the fast path reuses its scratch buffer
