"""Error flow against closed forms, finite differences and the 1997 / Pascanu bounds."""
import math

import numpy as np
import pytest

from minilstm import analysis, backend
from minilstm.nn.gru import GRU
from minilstm.nn.rnn import RNN


def _rnn(xp, n_in, n_hidden, activation="tanh", **values):
    layer = RNN(n_in, n_hidden, activation=activation, seed=0, backend=backend.backend_name(xp))
    return layer.set_params({k: np.asarray(v, dtype=np.float64).reshape(layer.params[k].shape)
                             for k, v in values.items()})


def _sigma(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---- the 1997 closed form ---------------------------------------------------------------------------
@pytest.mark.parametrize("w", [1.0, 3.9, -3.0, 6.0])
def test_one_logistic_unit_matches_the_closed_form(xp, w):
    """1 unit, no input: ‖∂E/∂h(t−q)‖ = ∏_{m<q} |f'(a(t−m)) w| with f' = σ(1−σ)."""
    T, b, h0 = 12, 0.3, 0.7
    layer = _rnn(xp, 1, 1, "sigmoid", W=0.0, R=w, b=b)
    x = xp.zeros((T, 1, 1))
    flow = analysis.error_flow(layer, x, state=(xp.asarray([[h0]]),))
    h, hs = h0, []                                         # the unit's own recursion, in the test
    for _ in range(T):
        h = _sigma(w * h + b)
        hs.append(h)
    factors = [abs(hs[T - 1 - m] * (1 - hs[T - 1 - m]) * w) for m in range(T - 1)]
    expected = np.concatenate([[1.0], np.cumprod(factors)])
    assert flow.shape == (T,)
    np.testing.assert_allclose(flow, expected, rtol=1e-12)
    if abs(w) < analysis.critical_weight("sigmoid"):       # |w| < 4: every factor below 1
        assert analysis.scaling_factor_bound("sigmoid", w) < 1.0
        assert np.all(np.diff(flow) < 0)
        assert analysis.decay_rate(flow) <= math.log(analysis.scaling_factor_bound(0.25, w))


def test_bounds_and_factors():
    assert analysis.critical_weight("sigmoid") == 4.0 and analysis.critical_weight("tanh") == 1.0
    assert analysis.scaling_factor_bound("sigmoid", 4.0) == 1.0
    assert analysis.scaling_factor_bound(0.25, -2.0) == 0.5
    assert analysis.scaling_factor(0.2, -3.0) == pytest.approx(0.6)
    R = np.diag([0.5, -2.0, 1.0])
    assert analysis.scaling_factor_bound("tanh", R) == pytest.approx(2.0)
    layer = _rnn(np, 2, 3, "sigmoid", R=R)
    assert analysis.rnn_scaling_bound(layer) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="not a known activation"):
        analysis.scaling_factor_bound("relu", 1.0)
    with pytest.raises(ValueError, match="w must be a scalar or a 2-d matrix"):
        analysis.scaling_factor_bound(1.0, np.ones(3))
    with pytest.raises(TypeError, match="rnn_scaling_bound needs an RNN"):
        analysis.rnn_scaling_bound(GRU(2, 3))


def test_decay_rate_of_a_geometric_sequence():
    q = np.arange(10)
    flow = 3.0 * 0.8 ** q
    assert analysis.decay_rate(flow) == pytest.approx(math.log(0.8), rel=1e-12)
    assert analysis.decay_rate(flow, method="endpoints") == pytest.approx(math.log(0.8), rel=1e-12)
    flow[0] = np.nan                                        # NaN (the LSTM's c at lag 0) is dropped
    assert analysis.decay_rate(flow, start=0) == pytest.approx(math.log(0.8), rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 finite, positive norms"):
        analysis.decay_rate(flow[:2])
    with pytest.raises(ValueError, match="flow must be 1-d"):
        analysis.decay_rate(np.ones((3, 2)))


# ---- tanh RNN: vanishing below the bound, growth above it ----------------------------------------------
def test_small_weights_vanish_within_the_pascanu_bound(xp):
    rng = np.random.default_rng(0)
    H, T = 8, 30
    R = rng.standard_normal((H, H))
    R *= 0.7 / np.linalg.svd(R, compute_uv=False)[0]        # σ_max(R) = 0.7 < 1/γ = 1
    layer = _rnn(xp, 3, H, W=0.5 * rng.standard_normal((H, 3)), R=R, b=0.1 * rng.standard_normal(H))
    x = xp.asarray(rng.standard_normal((T, 4, 3)))
    bound = analysis.rnn_scaling_bound(layer)
    assert bound == pytest.approx(0.7)
    flow = analysis.error_flow(layer, x, reduce=None)        # (T, B): every sequence on its own
    q = np.arange(T)[:, None]
    assert np.all(flow <= bound ** q * (1 + 1e-12))          # ‖∂E/∂h(t−q)‖ ≤ (γ σ_max(R))^q
    for b in range(4):
        rate = analysis.decay_rate(flow[:, b])
        assert rate < 0 and rate <= math.log(bound)
    assert flow[-1].max() < 1e-4                             # vanished after 29 steps
    jac = analysis.jacobian_products(layer, x[:, :1])
    assert np.all(jac["sigma_max"] <= jac["product_bound"] * (1 + 1e-12))
    assert np.all(jac["step_sigma_max"][1:] <= bound * (1 + 1e-12))


def test_large_weights_can_explode(xp):
    """h = 0 and no input: J = diag(tanh'(0)) R = R, so with R = 1.5·(orthogonal) ‖∂E/∂h(t−q)‖ = 1.5^q."""
    H, T = 5, 15
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((H, H)))[0]
    layer = _rnn(xp, 2, H, W=np.ones((H, 2)), R=1.5 * Q, b=np.zeros(H))
    flow = analysis.error_flow(layer, xp.zeros((T, 1, 2)))
    np.testing.assert_allclose(flow, 1.5 ** np.arange(T), rtol=1e-11)
    assert analysis.decay_rate(flow) == pytest.approx(math.log(1.5), rel=1e-10)
    assert analysis.rnn_scaling_bound(layer) == pytest.approx(1.5)


# ---- against finite differences and exact Jacobians ---------------------------------------------------
def test_error_flow_matches_finite_differences(xp):
    """E = e·y(t); ∂E/∂h(t−q) by central differences on h(t−q), re-running steps t−q+1..t."""
    rng = np.random.default_rng(2)
    layer = _rnn(xp, 3, 4, W=0.8 * rng.standard_normal((4, 3)), R=0.8 * rng.standard_normal((4, 4)),
                 b=0.3 * rng.standard_normal(4))
    T, t = 7, 5
    x = rng.standard_normal((T, 1, 3))
    e = rng.standard_normal((1, 4))
    flow = analysis.error_flow(layer, xp.asarray(x), t_error=t, error=xp.asarray(e))
    assert flow.shape == (t + 1,)
    assert flow[0] == pytest.approx(np.linalg.norm(e), rel=1e-14)
    y, _ = layer.forward(xp.asarray(x))
    hs = backend.to_numpy(y)
    eps = 1e-6
    for q in range(1, t + 1):
        s = t - q
        grad = np.zeros(4)
        for i in range(4):
            def energy(sign):
                h = hs[s].copy()
                h[0, i] += sign * eps
                y_, _ = layer.forward(xp.asarray(x[s + 1:t + 1]), (xp.asarray(h),))
                return float((e * backend.to_numpy(y_[-1])).sum())
            grad[i] = (energy(+1) - energy(-1)) / (2 * eps)
        assert flow[q] == pytest.approx(np.linalg.norm(grad), rel=1e-7, abs=1e-12), q


def test_jacobian_products_are_the_exact_rnn_matrices(xp):
    """P(q) = ∏ diag(f'(a(τ))) R, computed here from the forward's h(τ) and R."""
    rng = np.random.default_rng(3)
    R = 0.9 * rng.standard_normal((4, 4))
    layer = _rnn(xp, 2, 4, "sigmoid", W=rng.standard_normal((4, 2)), R=R, b=0.2 * rng.standard_normal(4))
    x = rng.standard_normal((6, 1, 2))
    h0 = 0.5 * rng.standard_normal((1, 4))
    jac = analysis.jacobian_products(layer, xp.asarray(x), t=4, state=(xp.asarray(h0),),
                                     return_products=True)
    hs = backend.to_numpy(layer.forward(xp.asarray(x), (xp.asarray(h0),))[0])[:, 0]
    P = np.eye(4)
    for q in range(5):
        if q:
            h = hs[4 - q + 1]
            J = np.diag(h * (1 - h)) @ R
            P = P @ J
            assert jac["step_sigma_max"][q] == pytest.approx(np.linalg.norm(J, 2), rel=1e-12)
        np.testing.assert_allclose(jac["products"][q], P, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(jac["singular_values"][q], np.linalg.svd(P, compute_uv=False),
                                   rtol=1e-10, atol=1e-15)
    np.testing.assert_array_equal(jac["q"], np.arange(5))
    assert np.isnan(jac["step_sigma_max"][0]) and jac["product_bound"][0] == 1.0


def test_jacobian_products_of_a_gru_match_finite_differences():
    """The step_backward construction is generic: check it on the GRU, against forward differences."""
    layer = GRU(2, 3, init_scale=0.8, seed=4)
    rng = np.random.default_rng(5)
    x, h0 = rng.standard_normal((4, 1, 2)), 0.5 * rng.standard_normal((1, 3))
    jac = analysis.jacobian_products(layer, x, state=(h0,), return_products=True)
    # with t = 3, P(3) = ∂h(3)/∂h(0), h(0) being the state after step 0 (not h0)
    eps = 1e-6
    h = layer.forward(x[:1], (h0,))[0][0]
    num = np.zeros((3, 3))
    for j in range(3):
        hp, hm = h.copy(), h.copy()
        hp[0, j] += eps
        hm[0, j] -= eps
        num[:, j] = (layer.forward(x[1:], (hp,))[0][-1, 0] - layer.forward(x[1:], (hm,))[0][-1, 0]) / (2 * eps)
    np.testing.assert_allclose(jac["products"][3], num, rtol=1e-7, atol=1e-9)


# ---- the map ----------------------------------------------------------------------------------------
def test_error_flow_map_rows_are_error_flows(xp):
    rng = np.random.default_rng(6)
    layer = GRU(3, 4, init_scale=0.9, seed=6, backend=backend.backend_name(xp))
    T, B = 8, 2
    x = xp.asarray(rng.standard_normal((T, B, 3)))
    h0 = (xp.asarray(0.3 * rng.standard_normal((B, 4))),)
    M = analysis.error_flow_map(layer, x, state=h0, seed=3, reduce=None)
    assert M.shape == (T, T, B)
    for t in range(T):
        row = analysis.error_flow(layer, x, t_error=t, state=h0, seed=3, reduce=None)
        np.testing.assert_allclose(M[t, :t + 1], row, rtol=1e-12, atol=1e-300)
        assert np.all(np.isnan(M[t, t + 1:]))
    Mmean = analysis.error_flow_map(layer, x, state=h0, seed=3)
    np.testing.assert_allclose(Mmean, M.mean(axis=-1), rtol=1e-15)


def test_bad_arguments_are_named(xp):
    layer = RNN(2, 3, backend=backend.backend_name(xp))
    x = xp.zeros((5, 2, 2))
    with pytest.raises(ValueError, match=r"t_error must be an int step index in \[0, 5\)"):
        analysis.error_flow(layer, x, t_error=5)
    with pytest.raises(ValueError, match=r"error must have shape \(2, 3\), got \(1, 3\)"):
        analysis.error_flow(layer, x, error=xp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"reduce='max' is not known"):
        analysis.error_flow(layer, x, reduce="max")
    with pytest.raises(ValueError, match=r"jacobian_products takes one sequence"):
        analysis.jacobian_products(layer, x)
    with pytest.raises(ValueError, match=r"x must have 3 dimensions"):
        analysis.error_flow_map(layer, xp.zeros((5, 2)))
    with pytest.raises(TypeError, match="must be a minilstm recurrent layer"):
        analysis.error_flow(object(), x)
    np.testing.assert_allclose(analysis.error_flow(layer, x, t_error=-1),
                               analysis.error_flow(layer, x, t_error=4), rtol=0)


# ---- the LSTM's constant error carousel -----------------------------------------------------------------
def test_lstm_cec_carries_the_error_unchanged(xp):
    """No forget gate and input gates shut (b_i = −20): c(t) = c(t−1) + i⊙z with i ≈ 2e−9, so
    ∂c(t)/∂c(t−1) = I and ‖∂E/∂c(t−q)‖ is the same at every lag q ≥ 1 (the CEC), while the
    error at y, which flows only through the gates' recurrent weights, vanishes. With a forget
    gate at f ≈ 1/2 the same error decays by about log(1/2) per step."""
    lstm = pytest.importorskip("minilstm.nn.lstm")
    x = xp.asarray(np.random.default_rng(7).standard_normal((20, 2, 2)))
    kw = dict(init_scale=0.5, seed=1, backend=backend.backend_name(xp))
    cec = lstm.LSTM(2, 3, forget_gate=False, gate_bias_init={"i": -20.0}, **kw)
    flow = analysis.error_flow(cec, x)
    assert set(flow) == set(cec.state_names) >= {"y", "c"}
    assert flow["y"][0] == pytest.approx(1.0) and np.isnan(flow["c"][0])
    np.testing.assert_allclose(flow["c"][1:], flow["c"][1], rtol=1e-7)
    assert flow["c"][1] > 0.1 and flow["y"][1:].max() < 1e-6
    assert abs(analysis.decay_rate(flow["c"])) < 1e-8
    M = analysis.error_flow_map(cec, x[:8])
    for t in range(1, 8):
        np.testing.assert_allclose(M["c"][t, 1:t + 1], M["c"][t, 1], rtol=1e-7)
    forget = lstm.LSTM(2, 3, gate_bias_init={"i": -20.0, "f": 0.0}, **kw)
    rate = analysis.decay_rate(analysis.error_flow(forget, x)["c"])
    assert -1.0 < rate < -0.4                                # log(1/2) = −0.69, weights shift f
