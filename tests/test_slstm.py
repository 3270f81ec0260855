"""The sLSTM (Beck et al. 2024): gradients by central differences, the forward pass against the
formula without stabilizer, the stabilizer's claims (same outputs, no overflow), padding,
float32, the backends, and the argument checks."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.gradcheck import gradcheck
from minilstm.nn.slstm import SLSTM

from bad_backward import assert_backward_refuses_bad_input, assert_forward_refuses_bad_input
from test_transfers import _layer_counts
from layer_values import clear_random_values

NAMES = tuple(f"{k}_{v}" for k in "WRb" for v in "zifo")
STATES = ("y", "c", "n", "m")
FORGETS = ("sigmoid", "exp")


def _random_layer(xp, n_in=3, n_hidden=4, seed=1, dtype="float64", scale=0.5, forget="sigmoid"):
    """Every parameter of every gate random and clearly non-zero: N(0, scale²), |θ| ≥ 0.05."""
    layer = SLSTM(n_in, n_hidden, forget=forget, seed=seed, dtype=dtype, backend=backend.backend_name(xp))
    return clear_random_values(layer, seed, scale)


def _random_state(rng, B, H):
    """A state as a run leaves it: y in (−1, 1), n' > 0, c' with |c'| < n', any m."""
    n = rng.uniform(0.5, 2.0, (B, H))
    return (np.tanh(rng.standard_normal((B, H))), n * rng.uniform(-0.9, 0.9, (B, H)), n,
            rng.standard_normal((B, H)))


def _host_params(layer):
    return {k: backend.to_numpy(v).astype(np.float64) for k, v in layer.params.items()}


def _reference(P, x, state0, forget="sigmoid"):
    """The sLSTM as the paper writes it, *without* the stabilizer: one sequence, one unit at a
    time, in Python floats. c and n are the true states, c(0) = e^{m(0)} c'(0) (same for n).
    Returns y ``(T, B, H)`` and the true c, n of the last step; inf and NaN where exp overflows."""
    T, B, _ = x.shape
    H = P["b_z"].shape[0]
    y0, c0, n0, m0 = (np.asarray(s, dtype=np.float64) for s in state0)
    ys = np.zeros((T, B, H))
    c_end, n_end = np.zeros((B, H)), np.zeros((B, H))
    with np.errstate(over="ignore", invalid="ignore"):
        for b in range(B):
            y_prev = y0[b].copy()
            c, n = np.exp(m0[b]) * c0[b], np.exp(m0[b]) * n0[b]
            for t in range(T):
                pre = {v: P[f"W_{v}"] @ x[t, b] + P[f"R_{v}"] @ y_prev + P[f"b_{v}"] for v in "zifo"}
                z, i = np.tanh(pre["z"]), np.exp(pre["i"])
                f = 1.0 / (1.0 + np.exp(-pre["f"])) if forget == "sigmoid" else np.exp(pre["f"])
                o = 1.0 / (1.0 + np.exp(-pre["o"]))
                c = f * c + i * z
                n = f * n + i
                y_prev = o * c / n
                ys[t, b] = y_prev
            c_end[b], n_end[b] = c, n
    return ys, c_end, n_end


# ---- gradients -----------------------------------------------------------------------------------
@pytest.mark.parametrize("forget", FORGETS)
def test_gradcheck_with_an_initial_state(xp, forget):
    """Every parameter, the input and every array of the initial state, m included: the loss of
    gradcheck puts random weights on the final state too, so the gradient through m is tested."""
    layer = _random_layer(xp, forget=forget)
    rng = np.random.default_rng(2)
    x = xp.asarray(rng.standard_normal((5, 2, 3)))
    state = tuple(xp.asarray(s) for s in _random_state(rng, 2, 4))
    report = gradcheck(layer, x, state)
    assert set(report) == {"x", *NAMES, *(f"state0[{s}]" for s in STATES)}
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report            # every array reaches E: none passes by being idle


@pytest.mark.parametrize("forget", FORGETS)
def test_gradcheck_from_the_zero_state(xp, forget):
    """From c' = n' = 0 the state's m only sets the scale of later states: its exact gradient can
    be 0, where a relative error measures rounding, so x and the parameters are checked here (the
    state in the test above)."""
    layer = _random_layer(xp, seed=3, forget=forget)
    x = xp.asarray(np.random.default_rng(4).standard_normal((6, 3, 3)))
    report = gradcheck(layer, x, wrt=("x", "params"))
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report


def test_gradcheck_with_lengths_and_an_initial_state(xp):
    layer = _random_layer(xp, seed=5)
    rng = np.random.default_rng(6)
    x = xp.asarray(rng.standard_normal((5, 3, 3)))
    state = tuple(xp.asarray(s) for s in _random_state(rng, 3, 4))
    report = gradcheck(layer, x, state, forward_kwargs={"lengths": [5, 2, 4]})
    assert report.max_error < 1e-7 and report.max_elementwise_error < 1e-6, report
    assert not report.zero, report


def test_backward_shapes_and_grad_keys(xp):
    layer = _random_layer(xp)
    x = xp.asarray(np.random.default_rng(0).standard_normal((3, 2, 3)))
    y, cache = layer.forward(x)
    assert y.shape == (3, 2, 4) and [s.shape for s in cache.state] == [(2, 4)] * 4
    dx, grads = layer.backward(xp.ones_like(y), cache)
    assert dx.shape == x.shape and set(grads) == set(NAMES)
    for k in NAMES:
        assert grads[k].shape == layer.params[k].shape and grads[k].dtype == layer.dtype


# ---- the forward pass and the stabilizer -------------------------------------------------------
@pytest.mark.parametrize("forget", FORGETS)
def test_forward_matches_the_formula_without_stabilizer(xp, forget):
    """Moderate pre-activations, where exp does not overflow: y, and the true states c = e^m c',
    n = e^m n', equal the paper's formula computed without any stabilizer."""
    layer = _random_layer(xp, seed=7, forget=forget)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 2, 3))
    state0 = _random_state(rng, 2, 4)
    y, cache = layer.forward(xp.asarray(x), tuple(xp.asarray(s) for s in state0))
    ref, c, n = _reference(_host_params(layer), x, state0, forget)
    np.testing.assert_allclose(backend.to_numpy(y), ref, rtol=1e-12, atol=1e-13)
    _, c_s, n_s, m = (backend.to_numpy(s) for s in cache.state)
    np.testing.assert_allclose(np.exp(m) * c_s, c, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.exp(m) * n_s, n, rtol=1e-12)
    np.testing.assert_array_equal(backend.to_numpy(cache.state[0]), backend.to_numpy(y)[-1])


def _driven_cell(xp, dtype="float64", forget="sigmoid"):
    """H = 1 cell whose four pre-activations are the four inputs: x(t) = [z̄, ī, f̄, ō]."""
    layer = SLSTM(4, 1, forget=forget, dtype=dtype, backend=backend.backend_name(xp))
    layer.flat[...] = 0.0
    for k, v in enumerate("zifo"):
        layer.params[f"W_{v}"][0, k] = 1.0
    return layer


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_huge_preactivations_overflow_nothing_and_change_no_output(xp, dtype):
    """Input-gate pre-activations of size ~500, both signs, beyond exp's range (709 in float64,
    88 in float32): the formula without stabilizer (in float64) overflows to inf, then NaN; the
    layer raises no overflow, division or invalid-value error, is finite at every step, and
    equals the formula wherever that is finite. The first step starts from the zero state with
    ī(1) ≥ 0 (the docstring's one exception, an underflow at ī(1) < log f(1) − 745, is not this
    test's subject)."""
    rng = np.random.default_rng(9)
    T, B, limit = 200, 3, 709.0
    x = np.stack([rng.standard_normal((T, B)), rng.normal(0.0, 500.0, (T, B)),
                  rng.normal(2.0, 1.0, (T, B)), rng.standard_normal((T, B))], axis=-1)
    x[0, :, 1] = np.abs(x[0, :, 1])
    assert (x[..., 1] > limit).any() and (x[..., 1] < -limit).any()   # both signs, out of range
    layer = _driven_cell(xp, dtype)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y, cache = layer.forward(xp.asarray(x.astype(dtype)))
    y = backend.to_numpy(y)[..., 0]
    assert np.isfinite(y).all() and all(np.isfinite(backend.to_numpy(s)).all() for s in cache.state)
    assert (backend.to_numpy(cache.state[2]) >= 1.0).all()    # n' ≥ 1 once ī(1) ≥ log f(1)
    plain = _reference(_host_params(layer), x.astype(dtype).astype(np.float64), [np.zeros((B, 1))] * 4)[0][..., 0]
    finite = np.isfinite(plain)
    assert 0 < finite.sum() < finite.size / 2, "the formula must overflow at most steps here"
    tol = 1e-10 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(y[finite], plain[finite], rtol=tol, atol=tol)
    assert np.abs(y).max() < 1.0               # |c/n| ≤ max |z| < 1: an average of the z


def test_the_outputs_do_not_depend_on_the_scale_m(xp):
    """Only c = e^m c' and n = e^m n' matter: (c' e^{−d}, n' e^{−d}, m + d) gives the same y, for
    any d; the stabilizer picks d so that exp stays at most 1."""
    layer = _random_layer(xp, seed=10, scale=1.0)
    rng = np.random.default_rng(11)
    x = xp.asarray(rng.standard_normal((8, 2, 3)))
    y0, c, n, m = _random_state(rng, 2, 4)
    y, _ = layer.forward(x, tuple(xp.asarray(s) for s in (y0, c, n, m)))
    for d in (-300.0, 7.5, 300.0):
        shifted = (y0, c * np.exp(-d), n * np.exp(-d), m + d)
        y_d, _ = layer.forward(x, tuple(xp.asarray(s) for s in shifted))
        np.testing.assert_allclose(backend.to_numpy(y_d), backend.to_numpy(y), rtol=1e-11, atol=1e-13)


def test_the_exp_forget_gate_is_exp():
    """forget='exp': f = e^{f̄}; with f̄ = 0 (f = 1) and no input written after step 1
    (ī = −30 against m ≈ 0), c/n stays z(1): the cell keeps its first input."""
    layer = _driven_cell(np, forget="exp")
    x = np.zeros((5, 1, 4))
    x[:, 0, 1] = -30.0
    x[0, 0] = [0.7, 0.0, 0.0, 20.0]          # step 1 writes z = tanh(0.7), o ≈ 1
    x[1:, 0, 3] = 20.0
    y, cache = layer.forward(x)
    z1 = np.tanh(0.7)
    w = np.exp(-30.0)                           # the weight of each later z = tanh(0) = 0
    expected = [z1 / (1 + k * w) for k in range(5)]
    np.testing.assert_allclose(y[:, 0, 0], np.array(expected) / (1 + np.exp(-20.0)), rtol=1e-12)


# ---- padding, float32, backends --------------------------------------------------------------------
def test_padding_changes_nothing(xp):
    """A padded batch with lengths equals each sequence run alone: outputs, final states, dx,
    the initial state's error and the summed weight gradients."""
    lengths = (5, 2, 4)
    layer = _random_layer(xp, seed=12, scale=0.7)
    rng = np.random.default_rng(13)
    T, B = max(lengths), len(lengths)
    x = rng.standard_normal((T, B, 3))
    x[2:, 1] = 1e3                                     # padding that would overflow exp
    s0 = _random_state(rng, B, 4)
    on = lambda a: xp.asarray(np.ascontiguousarray(a))   # noqa: E731
    y, cache = layer.forward(on(x), tuple(map(on, s0)), lengths=list(lengths))
    dy, v = rng.standard_normal(y.shape), [rng.standard_normal(s.shape) for s in cache.state]
    dx, grads, d0 = layer.backward(on(dy), cache, dstate=tuple(map(on, v)), return_dstate=True)
    y, dx = backend.to_numpy(y), backend.to_numpy(dx)
    total = {k: 0.0 for k in grads}
    close = dict(rtol=1e-10, atol=1e-13)
    for b, L in enumerate(lengths):
        yb, cb = layer.forward(on(x[:L, b:b + 1]), tuple(on(s[b:b + 1]) for s in s0))
        dxb, gb, d0b = layer.backward(on(dy[:L, b:b + 1]), cb, dstate=tuple(on(a[b:b + 1]) for a in v),
                                      return_dstate=True)
        np.testing.assert_allclose(y[:L, b], backend.to_numpy(yb)[:, 0], **close)
        np.testing.assert_allclose(dx[:L, b], backend.to_numpy(dxb)[:, 0], **close)
        assert not y[L:, b].any() and not dx[L:, b].any()
        for s, sb in zip([*cache.state, *d0], [*cb.state, *d0b]):
            np.testing.assert_allclose(backend.to_numpy(s)[b], backend.to_numpy(sb)[0], **close)
        for k in grads:
            total[k] = total[k] + backend.to_numpy(gb[k])
    for k in grads:
        np.testing.assert_allclose(backend.to_numpy(grads[k]), total[k], err_msg=k, **close)


@pytest.mark.parametrize("forget", FORGETS)
def test_float32_against_float64(xp, forget):
    """float32 forward within 1e-5 of the float64 formula (T = 6, |θ| ~ 0.5); gradients 1e-4."""
    layer = _random_layer(xp, seed=14, dtype="float32", forget=forget)
    rng = np.random.default_rng(15)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    y, cache = layer.forward(xp.asarray(x))
    assert y.dtype == np.float32 and all(s.dtype == np.float32 for s in cache.state)
    ref, _, _ = _reference(_host_params(layer), x.astype(np.float64), [np.zeros((2, 4))] * 4, forget)
    np.testing.assert_allclose(backend.to_numpy(y), ref, rtol=0, atol=1e-5)
    report = gradcheck(layer, xp.asarray(x[:4]), wrt=("x", "params"))
    assert report.max_error < 1e-4, report    # float32 analytic vs float64 central differences
    assert not report.zero, report


def test_seed_gives_the_same_numbers_on_every_backend(xp):
    a = SLSTM(3, 4, seed=11, backend=backend.backend_name(xp))
    b = SLSTM(3, 4, seed=11, backend="numpy")
    np.testing.assert_array_equal(backend.to_numpy(a.flat), b.flat)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    np.testing.assert_array_equal(backend.to_numpy(a.forward(xp.asarray(x))[0]), b.forward(x)[0])


def test_no_device_read_per_step():
    """On the stand-in for CuPy: the entry checks read the device once per call, whatever T."""
    make = lambda: SLSTM(3, 4, seed=0, backend="strict")   # noqa: E731
    assert [_layer_counts(make, T, deferred=False)[:2] for T in (10, 20)] == [(1, 1), (1, 1)]
    assert [_layer_counts(make, T, deferred=True)[:2] for T in (10, 20)] == [(0, 0), (0, 0)]


def test_params_are_views_into_one_buffer_with_inputs_adjacent():
    layer = SLSTM(3, 4, init_scale=0.1, seed=0)
    H, I = 4, 3
    assert layer.n_params == 4 * H * I + 4 * H * H + 4 * H
    W = layer.flat[:4 * H * I].reshape(4 * H, I)          # the fused input weights [W_z; W_i; W_f; W_o]
    np.testing.assert_array_equal(W, np.concatenate([layer.params[f"W_{v}"] for v in "zifo"]))
    layer.flat[:] = 0.0
    assert float(np.abs(layer.params["R_o"]).sum()) == 0.0
    assert repr(layer).startswith("SLSTM(n_in=3, n_hidden=4, forget='sigmoid'")
    clone = SLSTM(3, 4, forget="exp", seed=0).to(dtype="float32", backend_name="strict")
    assert clone.dtype == np.float32 and clone.forget == "exp"


def test_step_functions_are_stateless_in_params():
    """step_forward/step_backward use the params they are given, not the layer's own."""
    a, b = SLSTM(2, 3, seed=1, init_scale=0.7), SLSTM(2, 3, seed=2, init_scale=0.7)
    rng = np.random.default_rng(0)
    x, state = rng.standard_normal((1, 2)), _random_state(rng, 2, 3)
    a_t = x @ b._W.T + b._b                                # b's input projection of one step
    y_a, _, cache_a = a.step_forward(b.params, a_t, state)
    y_b, _, cache_b = b.step_forward(b.params, a_t, state)
    np.testing.assert_array_equal(y_a, y_b)
    dy, dstate = rng.standard_normal((2, 3)), _random_state(rng, 2, 3)
    da_a, ds_a = a.step_backward(b.params, dy, dstate, cache_a)
    da_b, ds_b = b.step_backward(b.params, dy, dstate, cache_b)
    np.testing.assert_allclose(da_a, da_b, rtol=1e-14)
    for s_a, s_b in zip(ds_a, ds_b):
        np.testing.assert_allclose(s_a, s_b, rtol=1e-14)


# ---- bad input --------------------------------------------------------------------------------------
def test_bad_input_is_named(xp):
    assert_forward_refuses_bad_input(SLSTM(3, 4, backend=backend.backend_name(xp)))
    layer = SLSTM(3, 4, backend=backend.backend_name(xp))
    zeros = [xp.zeros((1, 4)) for _ in STATES]
    with pytest.raises(TypeError, match=r"state\['m'\] has dtype float32 but the layer's parameters are float64"):
        layer.forward(xp.zeros((2, 1, 3)), (*zeros[:3], xp.zeros((1, 4), dtype=xp.float32)))
    with pytest.raises(ValueError, match=r"state\['n'\] must have shape \(1, 4\), got \(1, 3\)"):
        layer.forward(xp.zeros((2, 1, 3)), (zeros[0], zeros[1], xp.zeros((1, 3)), zeros[3]))


def test_backward_refuses_bad_dy_and_dstate(xp):
    assert_backward_refuses_bad_input(_random_layer(xp), xp.zeros((3, 2, 3)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="forget must be one of 'sigmoid', 'exp'; got 'tanh'"):
        SLSTM(3, 4, forget="tanh")
    with pytest.raises(ValueError, match="n_hidden must be an int >= 1, got 0"):
        SLSTM(3, 0)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        SLSTM(3, 4, dtype="float16")
    with pytest.raises(ValueError, match="init_scale must be a finite number"):
        SLSTM(3, 4, init_scale=np.inf)


def test_mixed_backends_are_refused():
    layer = SLSTM(3, 4, backend="strict")
    with pytest.raises(TypeError, match="x is a numpy array but the layer's parameters live on strict"):
        layer.forward(np.zeros((2, 1, 3)))


# ---- found without being listed ------------------------------------------------------------------
def test_the_api_page_and_the_docstring_test_find_the_module():
    import test_docstrings
    from api_modules import make_api
    api = make_api()
    assert "minilstm.nn.slstm" in api.public_modules() and "nn.slstm" in test_docstrings.NUMERICS
    api_page = api.render()
    assert "## `minilstm.nn.slstm`" in api_page and "### `SLSTM`" in api_page
