"""Optimisers against hand-computed updates, in-place updates of views, state round trips,
global-norm clipping and the NaN guard."""
import json
import math

import numpy as np
import pytest

from minilstm import strict
from minilstm.backend import get_array_module, to_numpy
from minilstm.optim import SGD, Adam, Momentum, check_finite_grads, clip_grad_norm

W0 = np.array([[1.0, -2.0], [0.5, 3.0]])
B0 = np.array([0.25, -1.0])
G1 = {"W": np.array([[0.1, -0.2], [0.3, 0.4]]), "b": np.array([1.0, -0.5])}
G2 = {"W": np.array([[-0.3, 0.1], [0.2, -0.1]]), "b": np.array([0.5, 2.0])}


def make(xp):
    return {"W": xp.asarray(W0.copy()), "b": xp.asarray(B0.copy())}


def on(xp, grads):
    return {k: xp.asarray(v) for k, v in grads.items()}


def host(params):
    return {k: to_numpy(v).copy() for k, v in params.items()}


def test_sgd(xp):
    params = make(xp)
    opt = SGD(params, lr=0.1)
    opt.step(on(xp, G1))
    opt.lr = 0.01                                          # lr may change between steps
    opt.step(on(xp, G2))
    p = host(params)
    np.testing.assert_allclose(p["W"], W0 - 0.1 * G1["W"] - 0.01 * G2["W"], rtol=1e-15)
    np.testing.assert_allclose(p["b"], B0 - 0.1 * G1["b"] - 0.01 * G2["b"], rtol=1e-15)
    assert get_array_module(params["W"]) is xp


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_two_steps_by_hand(xp, nesterov):
    params = make(xp)
    opt = Momentum(params, lr=0.1, momentum=0.9, nesterov=nesterov)
    opt.step(on(xp, G1))
    opt.step(on(xp, G2))
    for k, p0 in (("W", W0), ("b", B0)):
        v1 = G1[k]                                         # v ← 0.9·0 + g1
        v2 = 0.9 * v1 + G2[k]
        if nesterov:
            expected = p0 - 0.1 * (G1[k] + 0.9 * v1) - 0.1 * (G2[k] + 0.9 * v2)
        else:
            expected = p0 - 0.1 * v1 - 0.1 * v2
        np.testing.assert_allclose(host(params)[k], expected, rtol=1e-14, err_msg=k)


def test_adam_first_two_steps_by_formula(xp):
    params = make(xp)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    opt = Adam(params, lr=lr, betas=(b1, b2), eps=eps)
    opt.step(on(xp, G1))
    after1 = host(params)
    opt.step(on(xp, G2))
    after2 = host(params)
    for k, p0 in (("W", W0), ("b", B0)):
        g1, g2 = G1[k], G2[k]
        # step 1: m̂ = g1, v̂ = g1², so the step is lr·g1/(|g1| + eps) ≈ lr·sign(g1)
        p1 = p0 - lr * g1 / (np.abs(g1) + eps)
        m = (1 - b1) * g1 * b1 + (1 - b1) * g2
        v = (1 - b2) * g1 ** 2 * b2 + (1 - b2) * g2 ** 2
        p2 = p1 - lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps)
        np.testing.assert_allclose(after1[k], p1, rtol=1e-13, err_msg=k)
        np.testing.assert_allclose(after2[k], p2, rtol=1e-13, err_msg=k)
    assert opt.t == 2


@pytest.mark.parametrize("make_opt", [lambda p: SGD(p, 0.1), lambda p: Momentum(p, 0.1),
                                      lambda p: Adam(p, 0.1)], ids=["sgd", "momentum", "adam"])
def test_updates_are_in_place_so_views_into_a_fused_buffer_stay_valid(xp, make_opt):
    fused = xp.zeros(10)                                   # one buffer, two parameters
    params = {"W": fused[:6].reshape(2, 3), "b": fused[6:]}
    ids = {k: id(v) for k, v in params.items()}
    opt = make_opt(params)
    opt.step({"W": xp.ones((2, 3)), "b": -xp.ones(4)})
    assert {k: id(v) for k, v in params.items()} == ids   # the same array objects
    f = to_numpy(fused)
    assert (f[:6] < 0).all() and (f[6:] > 0).all()         # the buffer itself moved
    np.testing.assert_array_equal(f[:6].reshape(2, 3), to_numpy(params["W"]))
    params["W"][0, 0] = 42.0                               # still a view after the step
    assert to_numpy(fused)[0] == 42.0


@pytest.mark.parametrize("cls", [SGD, Momentum, Adam])
def test_state_dict_round_trip_resumes_exactly(xp, cls):
    a, b = make(xp), make(xp)
    opt_a = cls(a, lr=0.05)
    for g in (G1, G2):
        opt_a.step(on(xp, g))
    state = opt_a.state_dict()
    scalars = {k: v for k, v in state.items() if not isinstance(v, dict)}
    assert json.loads(json.dumps(scalars)) == scalars      # JSON-able scalars only
    for k, v in state.items():
        if isinstance(v, dict):                            # buffers: copies of arrays
            assert all(get_array_module(x) is xp for x in v.values())
    for k in b:
        b[k][...] = a[k]
    opt_b = cls(b, lr=1.0)
    opt_b.load_state_dict(state)
    assert opt_b.lr == 0.05 and opt_b.t == 2
    opt_a.step(on(xp, G1))
    opt_b.step(on(xp, G1))
    for k in a:
        np.testing.assert_array_equal(to_numpy(a[k]), to_numpy(b[k]))


def test_state_dict_holds_copies_and_loads_across_backends():
    params = make(np)
    opt = Adam(params, lr=0.1)
    opt.step(G1)
    state = opt.state_dict()
    saved = state["m"]["W"].copy()
    opt.step(G2)
    np.testing.assert_array_equal(state["m"]["W"], saved)  # not changed by later steps
    other = Adam(make(strict), lr=0.1)
    other.load_state_dict(state)                           # host arrays moved to the stand-in
    assert isinstance(other.state["m"]["W"], strict.ndarray)
    np.testing.assert_array_equal(other.state["m"]["W"].get(), saved)


def test_load_state_dict_errors():
    opt = Adam(make(np))
    with pytest.raises(ValueError, match="state is for optimizer 'SGD', not 'Adam'"):
        opt.load_state_dict(SGD(make(np), 0.1).state_dict())
    state = opt.state_dict()
    state["m"]["W"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"state\['m'\]\['W'\] has shape \(3, 3\), the parameter has \(2, 2\)"):
        opt.load_state_dict(state)
    state = opt.state_dict()
    del state["v"]["b"]
    with pytest.raises(ValueError, match=r"state\['v'\] must hold the parameters \['W', 'b'\], got \['W'\]"):
        opt.load_state_dict(state)


def test_bad_grads_and_arguments_give_clear_errors(xp):
    opt = SGD(make(xp), lr=0.1)
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        opt.step({"W": xp.zeros((2, 2)), "c": xp.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['b'\] must have the shape of params\['b'\] \(2,\), got \(3,\)"):
        opt.step({"W": xp.zeros((2, 2)), "b": xp.zeros(3)})
    other = np if xp is not np else strict
    with pytest.raises(TypeError, match="different backends"):
        opt.step({"W": other.zeros((2, 2)), "b": xp.zeros(2)})
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            opt.lr = bad
    with pytest.raises(TypeError, match="lr must be a finite number"):
        opt.lr = "0.1"
    with pytest.raises(ValueError, match="momentum"):
        Momentum(make(xp), 0.1, momentum=1.0)
    with pytest.raises(ValueError, match="betas"):
        Adam(make(xp), betas=(0.9, 1.5))
    with pytest.raises(TypeError, match="params must be a non-empty dict"):
        SGD({}, 0.1)
    with pytest.raises(TypeError, match=r"params\['i'\] must be a float array"):
        SGD({"i": xp.zeros(2, dtype=np.int64)}, 0.1)


def test_clip_grad_norm_scales_all_gradients_together(xp):
    g = {"W": xp.asarray([[3.0, 0.0], [0.0, 0.0]]), "b": xp.asarray([0.0, 4.0])}   # ‖g‖ = 5
    total = clip_grad_norm(g, 10.0)
    assert type(total) is float and total == 5.0
    np.testing.assert_array_equal(to_numpy(g["b"]), [0.0, 4.0])                 # below: untouched
    W_before = g["W"]
    total = clip_grad_norm(g, 1.0)
    assert total == 5.0 and g["W"] is W_before                                # scaled in place
    np.testing.assert_allclose(to_numpy(g["W"]), [[0.6, 0.0], [0.0, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(to_numpy(g["b"]), [0.0, 0.8], rtol=1e-15)      # g ← v·g/‖g‖
    new = math.sqrt(sum(float((to_numpy(v) ** 2).sum()) for v in g.values()))
    assert new == pytest.approx(1.0, rel=1e-15)
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        clip_grad_norm(g, 0)


def test_non_finite_gradients_are_named(xp):
    good = {"W": xp.ones((2, 2)), "b": xp.ones(2)}
    assert check_finite_grads(good) is None
    bad = {"W": xp.ones((2, 2)), "b": xp.asarray([np.nan, np.inf]), "c": xp.asarray([np.nan])}
    with pytest.raises(FloatingPointError, match=r"'b' \(shape \(2,\): 1 NaN, 1 inf\), 'c'"):
        check_finite_grads(bad)
    with pytest.raises(FloatingPointError, match="'b'"):
        clip_grad_norm(bad, 1.0)
