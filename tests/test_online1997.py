"""The 1997 rule on a trial axis (minilstm.train.online1997, minilstm.experiments.online).

1. For every net of the 1997 paper, the stack's gradient of one sequence (weights fixed) equals
   central differences of an *independent* truncated network (test_rtrl1997.reference_net, the
   recurrent sources recorded and held fixed) with the readout and the squared error on top.
2. Trial k in a stack of K follows, bit for bit, the run of trial k alone: through resets at
   different steps, different learning rates, trials that stop (solved, out of budget) while
   the others go on, and a trial that diverges; on NumPy and on the strict stand-in.
3. The device verdict of the window rule is the host criterion minilstm.tasks.SUCCESS.
4. Memory: constant in T, linear in K.
"""
import numpy as np
import pytest

from minilstm import backend, strict
from minilstm.experiments import online
from minilstm.experiments.registry import EXPERIMENTS, trial_seeds
from minilstm.gradcheck import numerical_gradient
from minilstm.nn.model import SequenceModel
from minilstm.train.online1997 import Stack1997
from minilstm.nn.presets import lstm_forget_1999
from minilstm.tasks import SUCCESS, TASKS
from test_rtrl1997 import reference_net

# the 1997 nets: (experiment, settings that keep the test small)
NETS = {
    "exp1_3x2": ("exp1_reber", {}),
    "exp1_4x1": ("exp1_reber", {"net": "4x1"}),
    "exp2a": ("exp2a_long_lag", {"p": 5}),
    "exp2c": ("exp2c_very_long_lag", {"qp": [5, 5]}),
    "exp3a": ("exp3a_two_sequence", {}),
    "exp4": ("exp4_adding", {}),
    "exp5": ("exp5_multiplication", {}),
    "exp6a": ("exp6a_temporal_order", {}),
    "exp6b": ("exp6b_temporal_order", {}),
}


def _models(name, xp, seeds, scale=0.5):
    exp_name, over = NETS[name]
    exp = EXPERIMENTS[exp_name]
    cfg = {**exp.defaults, **over, "init_scale": scale, "backend": backend.backend_name(xp)}
    return [exp.build(cfg, trial_seeds(s)) for s in seeds], exp.loss


def _forget_models(xp, seeds):
    """A 1999 net (forget gates, 1997 wiring and squashing): the rule with f < 1."""
    return [SequenceModel(lstm_forget_1999(3, 2, 2, cell_bias=True, init_scale=0.5, seed=s,
                                           backend=backend.backend_name(xp),
                                           gate_bias_init={"f": [1.0, 2.0]}),
                          2, loss="logistic_mse", init_scale=0.5, seed=s + 100) for s in seeds]


def _truncated_error(model, P, V, cfg, x, target, mu, record, logistic):
    """E = Σ_t ½ μ_t Σ (ŷ − y*)² of the truncated network (host, float64)."""
    core = model.core
    y, _ = reference_net(P, cfg, x, frozen=record)
    parts = [y] + ([x] if getattr(core, "skip_input", False) else [])
    r = np.concatenate(parts, axis=2)
    a = r @ V["W"].T + V.get("b", 0.0)
    out = 1.0 / (1.0 + np.exp(-a)) if logistic else a
    return 0.5 * float((mu * (out - target) ** 2).sum())


@pytest.mark.parametrize("name", list(NETS) + ["forget_1999"])
def test_sequence_gradient_equals_central_differences_of_the_truncated_net(xp, name):
    rng = np.random.default_rng(3)
    models, loss = (_forget_models(xp, [4]), None) if name == "forget_1999" else _models(name, xp, [4])
    st = Stack1997(models, lr=0.0, loss=loss)
    model = models[0]
    inner = getattr(model.core, "inner", model.core)
    T, I, O = 5, st.I, st.O
    x = rng.normal(size=(T, 1, I))
    target = rng.random((T, 1, O))
    mu = (rng.random((T, 1, 1)) < 0.7).astype(float)
    mu[-1] = 1.0
    gW = np.zeros(st.W.shape[1:])
    gV = np.zeros(st.V.shape[1:])
    for t in range(T):
        st.step(backend.get_backend(xp).asarray(x[t][None]))
        a, b = st.gradient(xp.asarray(target[t][None]), xp.asarray(mu[t][None]))
        gW += backend.to_numpy(a[0])
        gV += backend.to_numpy(b[0])
    grads = st.named(gW, gV)
    host = st.trial_params(0)
    P = {k: backend.to_numpy(v).copy() for k, v in inner.params.items()}   # dropped ones are 0
    V = {k.split(".", 1)[1]: v.copy() for k, v in host.items() if k.startswith("readout.")}
    cfg = inner.config
    _, record = reference_net(P, cfg, x)                                    # the recorded sources
    E = lambda: _truncated_error(model, P, V, cfg, x, target, mu, record, st.logistic)  # noqa: E731
    for key, g in grads.items():
        part, pname = key.split(".", 1)
        num = numerical_gradient(E, P[pname] if part == "core" else V[pname], eps=1e-5)
        assert np.abs(num).max() > 0 or key.endswith(("R_z", "R_i")), key   # every array is live
        # central differences of an O(1) error with eps 1e-5 are good to about 1e-9 absolute
        err = np.abs(g - num).max() / max(1e-3, np.abs(num).max())
        assert err < 1e-6, (key, err)
    assert sorted(grads) == sorted(model.params)


def _run(models, loss, lr, xp, task, kwargs, seeds, **kw):
    st = Stack1997(models, lr=lr, loss=loss)
    res = online.online_last_step(st, task, kwargs, [trial_seeds(s)["data"] for s in seeds],
                                  [trial_seeds(s)["test"] for s in seeds], n_test=8, **kw)
    return st, res


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
@pytest.mark.parametrize("case", ["solved_and_budget", "diverged"])
def test_trials_in_a_stack_equal_trials_alone_bit_for_bit(xp, case):
    seeds = [0, 1, 2, 3]
    lrs = [0.5, 1.0, 0.2, 0.8]
    loss = "logistic_mse"
    if case == "diverged":                                # linear outputs: an error that grows
        lrs[1], loss = 1e300, "mse"                       # with the weights; trial 1 overflows
    # the window rule with an error bound only (max_wrong = window): trials 0-2 reach it within
    # the budget at different sequences, trial 3 runs out of budget
    kw = dict(budget=20, window=4, max_wrong=4, mean_error_below=0.01, check_every_steps=50)
    task, kwargs = "adding", {"T": 12}
    models, _ = _models("exp4", xp, seeds, scale=0.1)
    st, res = _run(models, loss, lrs, xp, task, kwargs, seeds, **kw)
    if case == "solved_and_budget":
        assert 0 < sum(r["success"] for r in res) < len(seeds)       # both kinds of stop happen
    else:
        assert res[1]["diverged"] and not any(r["diverged"] for k, r in enumerate(res) if k != 1)
        assert all(np.isfinite(v).all() for v in st.trial_params(1).values())
    for k, s in enumerate(seeds):
        alone_models, _ = _models("exp4", xp, [s], scale=0.1)
        alone, res1 = _run(alone_models, loss, [lrs[k]], xp, task, kwargs, [s], **kw)
        assert res1[0] == res[k], k
        for name, v in alone.trial_params(0).items():
            assert np.array_equal(v, st.trial_params(k)[name]), (k, name)


def test_a_stopped_trial_keeps_its_weights_exactly(xp):
    models, loss = _models("exp4", xp, [0, 1])
    st = Stack1997(models, lr=0.5, loss=loss)
    before = st.trial_params(1)
    st.stop([1])
    rng = np.random.default_rng(0)
    for t in range(20):
        st.step(xp.asarray(rng.normal(size=(2, 1, 2))))
        st.update(*st.gradient(xp.asarray(rng.random((2, 1, 1))), xp.asarray(np.ones((2, 1, 1)))))
    after = st.trial_params(1)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert not all(np.array_equal(backend.to_numpy(models[0].params[k]), st.trial_params(0)[k])
                   for k in before)


@pytest.mark.parametrize("task,kwargs", [
    ("long_lag_2a", {"p": 6}), ("long_lag_2b", {"p": 6}), ("long_lag_2c", {"q": 6, "p": 6}),
    ("two_sequence", {"T": 12, "N": 3, "variant": "3a"}),
    ("two_sequence", {"T": 12, "N": 3, "variant": "3c"}), ("adding", {"T": 12}),
    ("multiplication", {"T": 12}), ("temporal_order_6a", {}), ("temporal_order_6b", {})])
def test_device_verdict_is_the_tasks_success_criterion(xp, task, kwargs):
    rng = np.random.default_rng(5)
    stream = online.SequenceStream(task, kwargs, rng, per_draw=16)
    tol = online.verdict_spec(task, kwargs)[0]
    seen = set()
    for _ in range(40):
        s = stream()
        # outputs near the judged target: each entry off by up to 2·tol, so both verdicts occur
        out = s.jy + rng.uniform(-2 * tol, 2 * tol, s.jy.shape) * (rng.random() < 0.5)
        rule = online.WindowRule(xp, 1, 1, tol=tol)
        for t in range(len(s.x)):
            rule.judge_step(xp.asarray(out[t][None, None]), xp.asarray(s.jy[t][None, None]),
                            xp.asarray(s.judge[t:t + 1]), xp.asarray(s.y[t][None, None]),
                            xp.asarray(s.mu[t].reshape(1, 1, 1)))
        device_ok = not bool(backend.to_numpy(rule.seq_bad)[0])
        # the host criterion on the same sequence as a batch of one
        b = TASKS[task](1, np.random.default_rng(0), **kwargs)
        L = len(s.x)
        b.x, b.y, b.mask, b.lengths = s.x[:, None], s.y[:, None], s.mu[:, None] > 0, np.array([L])
        if "clean_target" in b.info:
            b.info["clean_target"] = np.array([s.jy[-1, 0]])
        host_ok = bool(SUCCESS[task](out[:, None], b)[0])
        assert device_ok == host_ok
        seen.add(host_ok)
    assert seen == {True, False}


def test_memory_is_constant_in_T_and_linear_in_K():
    def nbytes(K, T):
        models, loss = _models("exp4", np, list(range(K)))
        st = Stack1997(models, lr=0.5, loss=loss)
        rng = np.random.default_rng(0)
        for t in range(T):
            st.step(rng.normal(size=(K, 1, 2)))
            st.update(*st.gradient(rng.random((K, 1, 1)), np.ones((K, 1, 1))))
        return st.nbytes - st.C.nbytes                   # the mask C is shared by all trials
    assert nbytes(3, 5) == nbytes(3, 50)
    assert nbytes(30, 5) == 10 * nbytes(3, 5)


def test_bad_configurations_are_named():
    models, loss = _models("exp4", np, [0])
    with pytest.raises(ValueError, match="lr"):
        Stack1997(models, lr=-1.0, loss=loss)
    with pytest.raises(ValueError, match="loss"):
        Stack1997(models, lr=0.1, loss="cross_entropy")
    with pytest.raises(ValueError, match="task"):
        online.verdict_spec("reber", {})


@pytest.mark.parametrize("name", list(NETS) + ["forget_1999"])
def test_bptt_on_the_axis_equals_each_models_own_backward(xp, name):
    """Stack1997.bptt against SequenceModel.backward (the layers' own BPTT) of each trial."""
    rng = np.random.default_rng(0)
    seeds = [1, 2, 3]
    models, loss = (_forget_models(xp, seeds), None) if name == "forget_1999" \
        else _models(name, xp, seeds)
    st = Stack1997(models, lr=0.1, loss=loss)
    T, K, N = 6, len(seeds), 2
    x = rng.normal(size=(T, K, N, st.I))
    y = rng.random((T, K, N, st.O))
    m = (rng.random((T, K, N, 1)) < 0.7) * 1.0
    gW, gV, outs = st.bptt(xp.asarray(x), xp.asarray(y), xp.asarray(m))
    for k, model in enumerate(models):
        a_out, cache = model.forward(xp.asarray(x[:, k]))
        a = backend.to_numpy(a_out)
        out = 1.0 / (1.0 + np.exp(-a)) if st.logistic else a
        d = (out - y[:, k]) * m[:, k]
        if st.logistic:
            d *= out * (1.0 - out)
        ref = {n: backend.to_numpy(g) for n, g in model.backward(xp.asarray(d), cache).items()}
        got = st.named(gW[k], gV[k])
        assert sorted(got) == sorted(ref)
        for n in got:
            np.testing.assert_allclose(got[n], ref[n], rtol=1e-9, atol=1e-12, err_msg=n)
        np.testing.assert_allclose(backend.to_numpy(outs[:, k]), out, rtol=1e-12, atol=1e-14)


def test_minibatch_trials_on_the_axis_equal_trials_alone_bit_for_bit(xp):
    from minilstm.optim import Adam
    seeds = [0, 1, 2]
    kw = dict(batch=4, budget=40, window=4, max_wrong=4, mean_error_below=0.02, n_test=8)
    task, kwargs = "adding", {"T": 12}

    def run(ss):
        models, loss = _models("exp4", xp, ss, scale=0.1)
        st = Stack1997(models, lr=0.0, loss=loss)
        res = online.minibatch_last_step(
            st, task, kwargs, [trial_seeds(s)["data"] for s in ss],
            [trial_seeds(s)["test"] for s in ss], optimizer=Adam(st.optimizer_params(), lr=0.05),
            **kw)
        return st, res
    st, res = run(seeds)
    assert 0 < sum(r["success"] for r in res) < len(seeds)
    for k, s in enumerate(seeds):
        alone, res1 = run([s])
        assert res1[0] == res[k], k
        for name, v in alone.trial_params(0).items():
            assert np.array_equal(v, st.trial_params(k)[name]), (k, name)


@pytest.mark.parametrize("loop", ["online", "minibatch"])
def test_host_transfers_do_not_grow_with_the_number_of_steps(loop):
    """The online loop reads the device only at its checks, the mini-batch loop once per update
    (and the tests afterwards): the count of transfers is the same for 10 and for 20 steps per
    sequence (T = 12 and T = 24 for the adding problem), with one check or the same updates."""
    from minilstm.optim import Adam
    xp = backend.get_backend("strict")
    counts = []
    for T in (12, 24):
        models, loss = _models("exp4", xp, [0, 1], scale=0.1)
        st = Stack1997(models, lr=0.5, loss=loss)
        rngs = [trial_seeds(s)["data"] for s in (0, 1)]
        tests = [trial_seeds(s)["test"] for s in (0, 1)]
        with strict.Transfers() as seen:
            if loop == "online":
                online.online_last_step(st, "adding", {"T": T}, rngs, tests, budget=6, window=3,
                                        n_test=4, check_every_steps=10_000)
            else:
                online.minibatch_last_step(st, "adding", {"T": T}, rngs, tests, batch=2, budget=6,
                                           window=3, n_test=4,
                                           optimizer=Adam(st.optimizer_params(), lr=0.01))
        counts.append(seen.total)
    assert counts[0] == counts[1] and 0 < counts[0] < 30, counts      # some reads, a constant
