"""The model wrapper and the fit loop: learning happens, divergence is caught, nothing is lost."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.gradcheck import numerical_gradient, relative_error
from minilstm.nn.model import SequenceModel
from minilstm.optim import SGD, Adam, Momentum
from minilstm.nn.presets import lstm_1997
from minilstm.nn.rnn import RNN
from minilstm.train import Progress, TrainingDiverged, fit, fit_online


def _running_sum_data(seed):
    rng = np.random.default_rng(seed)
    def data(step):
        x = rng.uniform(-1, 1, (8, 16, 1))
        return x, 0.3 * np.cumsum(x, axis=0), None
    return data


def test_fit_learns_and_records_history(xp):
    model = SequenceModel(RNN(1, 8, seed=0, backend=backend.backend_name(xp)), 1, seed=1)
    seen = []
    history = fit(model, _running_sum_data(0), Adam(model.params, lr=0.01), steps=200,
                  evaluate=lambda m: {"w": float(abs(m.params["readout.W"]).sum())}, eval_every=50,
                  stop=lambda metrics: seen.append(metrics) and False)
    assert len(history.loss) == 200 and len(history.metrics["w"]) == 4
    assert np.mean(history.loss[-20:]) < 0.1 * np.mean(history.loss[:20])


def test_stop_ends_training_early():
    model = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    history = fit(model, _running_sum_data(1), SGD(model.params, lr=0.01), steps=100,
                  evaluate=lambda m: {}, eval_every=10, stop=lambda metrics: True)
    assert history.stopped_at == 10 and len(history.loss) == 10


def test_model_gradient_is_the_loss_gradient():
    model = SequenceModel(RNN(2, 3, seed=0), 2, loss="logistic", seed=1)
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((4, 2, 2)), (rng.uniform(size=(4, 2, 2)) > 0.5).astype(float)
    _, _, cache, da = model.loss(x, target)
    grads = model.backward(da, cache)
    assert set(grads) == set(model.params)
    for k, p in model.params.items():
        numeric = numerical_gradient(lambda: model.loss(x, target)[0], p)
        assert relative_error(grads[k], numeric) < 1e-7, k


def _assert_same_state(model, opt, ref_model, ref_opt):
    """Parameters and optimizer state (step count, every buffer) equal to the reference's."""
    for k, v in model.params.items():
        np.testing.assert_array_equal(backend.to_numpy(v), backend.to_numpy(ref_model.params[k]), k)
    got, want = opt.state_dict(), ref_opt.state_dict()
    assert got.keys() == want.keys() and got["t"] == want["t"]
    for b in opt._buffers:
        for k in got[b]:
            np.testing.assert_array_equal(backend.to_numpy(got[b][k]), backend.to_numpy(want[b][k]))


def _rnn_and_adam():
    model = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    return model, Adam(model.params, lr=0.01)


def _nan_target_at(step_bad, seed=2):
    """The running-sum data with one NaN target at update ``step_bad``."""
    data = _running_sum_data(seed)
    def poisoned(step):
        x, y, m = data(step)
        if step == step_bad:
            y = y.copy(); y[0, 0, 0] = np.nan
        return x, y, m
    return poisoned


def test_a_nan_loss_names_the_step_and_keeps_the_state_of_the_last_good_update():
    model, opt = _rnn_and_adam()
    with pytest.raises(TrainingDiverged, match="at update 7: the loss is nan") as info:
        fit(model, _nan_target_at(7), opt, steps=20)
    assert info.value.step == 7 and len(info.value.history.loss) == 7
    ref, ref_opt = _rnn_and_adam()                      # the same 7 good updates, then stop
    fit(ref, _running_sum_data(2), ref_opt, steps=7)
    _assert_same_state(model, opt, ref, ref_opt)


def test_a_nan_gradient_names_the_step_and_parameter_and_keeps_the_last_good_state():
    model, opt = _rnn_and_adam()
    backward, calls = model.backward, []
    def nan_at_4(da, cache):                            # a finite loss whose gradient is not
        grads = backward(da, cache)
        if len(calls) == 4:
            grads["core.R"][1, 2] = np.nan
        calls.append(1)
        return grads
    model.backward = nan_at_4
    with pytest.raises(TrainingDiverged, match="at update 4: the gradient of core.R holds NaN or inf"):
        fit(model, _running_sum_data(4), opt, steps=10)
    ref, ref_opt = _rnn_and_adam()
    fit(ref, _running_sum_data(4), ref_opt, steps=4)
    _assert_same_state(model, opt, ref, ref_opt)


def _overflowing(cls, at, name="core.R"):
    """``cls`` whose update number ``at`` (0-based) overflows one weight, as a huge step would."""
    class Overflowing(cls):
        def step(self, grads):
            super().step(grads)
            if self.t == at + 1:
                self.params[name][0, 0] = np.inf
    return Overflowing


@pytest.mark.parametrize("cls,kw", [(SGD, {}), (Momentum, {"momentum": 0.9}), (Adam, {})])
def test_an_exploding_update_is_rolled_back_with_the_optimizer_state(cls, kw):
    """Parameters and optimizer state (t; momentum's velocity; Adam's m and v) after the rollback
    equal those of a run that stopped before the bad update."""
    model = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    opt = _overflowing(cls, at=3)(model.params, lr=0.01, **kw)
    with pytest.raises(TrainingDiverged, match=r"at update 3: the update made core.R NaN or inf"):
        fit(model, _running_sum_data(3), opt, steps=5)
    ref = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    ref_opt = cls(ref.params, lr=0.01, **kw)
    fit(ref, _running_sum_data(3), ref_opt, steps=3)
    assert opt.t == 3
    _assert_same_state(model, opt, ref, ref_opt)


# ---- online learning with the 1997 rule ----------------------------------------------------------
def _lstm_model(seed=0, zero_recurrent=False):
    core = lstm_1997(2, 2, 2, cell_bias=True, init_scale=0.5, seed=seed)
    if zero_recurrent:                                  # the cut paths then carry nothing
        for k, p in core.params.items():
            if k.startswith("R_"):
                p[...] = 0.0
    return SequenceModel(core, 2, loss="mse", init_scale=0.5, seed=seed + 1)


def _sequences(seed, T=6, B=3):
    rng = np.random.default_rng(seed)
    def data(n):
        x = rng.uniform(-1, 1, (T, B, 2))
        return x, np.tanh(np.cumsum(x, axis=0)), rng.uniform(size=(T, B)) > 0.3
    return data


def _bptt_update(model, x, y, m, lr):
    """θ − lr·∂L/∂θ with the full BPTT gradient of the whole sequence (host copies)."""
    _, _, cache, da = model.loss(x, y, m)
    grads = model.backward(da, cache)
    return {k: v - lr * grads[k] for k, v in model.params.items()}


def test_fit_online_first_update_is_the_gradient_of_the_first_step():
    """At t = 0 nothing is cut (u(−1) = 0), so the first online update is plain gradient descent
    on E(0), as BPTT of the one-step sequence computes it."""
    model = _lstm_model()
    x, y, m = _sequences(0, T=1)(0)
    m[:] = True
    want = _bptt_update(model, x, y, m, lr=0.1)
    fit_online(model, lambda n: (x, y, m), SGD(model.params, lr=0.1), sequences=1)
    for k, v in model.params.items():
        np.testing.assert_allclose(v, want[k], rtol=0, atol=1e-12, err_msg=k)


def test_fit_online_per_sequence_is_bptt_where_the_cut_paths_carry_nothing():
    """With R = 0 the truncation cuts nothing, so one update per sequence is BPTT's."""
    model = _lstm_model(zero_recurrent=True)
    x, y, m = _sequences(1)(0)
    loss = model.loss(x, y, m)[0]
    want = _bptt_update(model, x, y, m, lr=0.1)
    history = fit_online(model, lambda n: (x, y, m), SGD(model.params, lr=0.1), sequences=1,
                         update="sequence")
    for k, v in model.params.items():
        np.testing.assert_allclose(v, want[k], rtol=0, atol=1e-12, err_msg=k)
    assert history.loss == [pytest.approx(loss, rel=1e-12)]   # the sum of E(t), weights fixed


def test_fit_online_learns_and_records_one_entry_per_sequence():
    """Echo the input of the step before (half as large): a one-step memory in the cells."""
    rng = np.random.default_rng(2)
    def data(n):
        x = rng.uniform(-1, 1, (6, 3, 2))
        y = np.zeros_like(x)
        y[1:] = 0.5 * x[:-1]
        return x, y, None
    model = _lstm_model(seed=2)
    history = fit_online(model, data, Adam(model.params, lr=0.05), sequences=60,
                         evaluate=lambda m: {"n": 1}, eval_every=20)
    assert len(history.loss) == len(history.grad_norm) == 60
    assert [c for c, _ in history.metrics["n"]] == [20, 40, 60]
    assert np.mean(history.loss[-10:]) < 0.5 * np.mean(history.loss[:10])


def test_fit_online_divergence_names_update_sequence_and_step_and_keeps_the_state():
    data = _sequences(3)
    def poisoned(n):
        x, y, m = data(n)
        if n == 2:
            y = y.copy(); y[0] = np.nan; m[0] = True
        return x, y, m
    model = _lstm_model(seed=3)
    opt = Adam(model.params, lr=0.01)
    with pytest.raises(TrainingDiverged, match=r"at update 12 \(sequence 2, step 0\): the loss is nan") as info:
        fit_online(model, poisoned, opt, sequences=5)
    assert info.value.step == 12 and len(info.value.history.loss) == 2
    ref = _lstm_model(seed=3)
    ref_opt = Adam(ref.params, lr=0.01)
    fit_online(ref, _sequences(3), ref_opt, sequences=2)
    _assert_same_state(model, opt, ref, ref_opt)

    model = _lstm_model(seed=3)                          # an update that overflows: rolled back
    opt = _overflowing(Momentum, at=8, name="core.R_z")(model.params, lr=0.01)
    with pytest.raises(TrainingDiverged, match=r"at update 8 \(sequence 1, step 2\): the update made"):
        fit_online(model, _sequences(3), opt, sequences=5)
    ref = _lstm_model(seed=3)
    ref_opt = Momentum(ref.params, lr=0.01)
    fit_online(ref, _sequences(3), ref_opt, sequences=1)
    data = _sequences(3)
    data(0)
    x, y, m = data(1)
    fit_online(ref, lambda n: (x[:2], y[:2], m[:2]), ref_opt, sequences=1)
    _assert_same_state(model, opt, ref, ref_opt)


def test_fit_online_is_fits_online_update_and_keeps_frozen_weights():
    """fit_online(update="step") is fit(update="step"): the same updates, the same history; with
    frozen names those weights stay as they were and the others move."""
    a, b = _lstm_model(seed=4), _lstm_model(seed=4)
    ha = fit_online(a, _sequences(5), SGD(a.params, lr=0.1), sequences=3)
    hb = fit(b, _sequences(5), SGD(b.params, lr=0.1), steps=3, update="step")
    assert ha.loss == hb.loss and ha.grad_norm == hb.grad_norm
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    c = _lstm_model(seed=4)
    before = {k: v.copy() for k, v in c.params.items()}
    fit(c, _sequences(5), SGD(c.params, lr=0.1), steps=2, update="step",
        frozen=("readout.W", "readout.b"))
    for k in ("readout.W", "readout.b"):
        np.testing.assert_array_equal(c.params[k], before[k], err_msg=k)
    assert not np.array_equal(c.params["core.W_z"], before["core.W_z"])


def test_fit_takes_a_gradient_function_given_the_forward_pass():
    """gradient=f: fit calls f(model, da_out, cache) once per update and steps with what it
    returns; with f = truncated_gradient that is gradient='truncated'."""
    from minilstm.train.fit import truncated_gradient
    calls = []
    def counted(model, da, cache):
        calls.append(len(cache))
        return truncated_gradient(model, da, cache)
    a, b = _lstm_model(seed=6), _lstm_model(seed=6)
    fit(a, _sequences(6), SGD(a.params, lr=0.1), steps=3, gradient=counted)
    fit(b, _sequences(6), SGD(b.params, lr=0.1), steps=3, gradient="truncated")
    assert calls == [2, 2, 2]                        # (core cache, readout cache), each update
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


def test_fit_online_refuses_an_unknown_update_and_a_core_without_the_rule():
    model = _lstm_model()
    with pytest.raises(ValueError, match="update must be one of 'step', 'sequence'"):
        fit_online(model, _sequences(0), SGD(model.params, lr=0.1), sequences=1, update="batch")
    rnn = SequenceModel(RNN(2, 3, seed=0), 2, seed=1)
    with pytest.raises(TypeError, match="model.core must be an LSTM"):
        fit_online(rnn, _sequences(0), SGD(rnn.params, lr=0.1), sequences=1)


# ---- progress: silent when asked, rate and ETA otherwise ------------------------------------------
def test_silent_by_default_and_when_asked(capfd):
    model, opt = _rnn_and_adam()
    fit(model, _running_sum_data(0), opt, steps=30)
    fit(model, _running_sum_data(0), opt, steps=30, progress=False)
    online = _lstm_model()
    fit_online(online, _sequences(0), SGD(online.params, lr=0.1), sequences=3)
    assert capfd.readouterr() == ("", "")


def test_progress_with_tqdm_shows_rate_and_eta(capsys):
    pytest.importorskip("tqdm")
    model, opt = _rnn_and_adam()
    fit(model, _running_sum_data(0), opt, steps=30, progress=True, desc="bptt")
    err = capsys.readouterr().err
    assert "bptt" in err and "30/30" in err and "updates/s" in err and "00:00<" in err  # elapsed<ETA


def test_progress_without_tqdm_prints_rate_and_eta_lines(capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)   # import tqdm.auto -> ImportError
    online = _lstm_model()
    fit_online(online, _sequences(0), SGD(online.params, lr=0.1), sequences=20, progress=True,
               desc="online")
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 10                  # one line per tenth
    assert lines[-1].startswith("online: 20/20 sequences (100%), ")
    assert all(" sequences/s, ETA " in line and ", loss " in line for line in lines)
    p = Progress(100, "x", "steps", use_tqdm=False)
    p.update_to(50)
    p.close()                                             # the last position is always shown
    assert capsys.readouterr().err.splitlines()[-1].startswith("x: 50/100 steps (50%)")


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="loss must be one of .*; got 'hinge'"):
        SequenceModel(RNN(1, 2), 1, loss="hinge")


def test_a_guard_read_every_n_updates_still_names_the_step_and_keeps_the_last_checked_state():
    """check_every=5: the NaN loss of update 7 is found at the read after update 9; the error
    names update 7, and the model, the optimizer and the history are those of the check after
    update 4 (5 updates)."""
    model, opt = _rnn_and_adam()
    with pytest.raises(TrainingDiverged, match="at update 7: the loss is nan") as info:
        fit(model, _nan_target_at(7), opt, steps=20, check_every=5)
    assert info.value.step == 7 and len(info.value.history.loss) == 5
    ref, ref_opt = _rnn_and_adam()
    fit(ref, _running_sum_data(2), ref_opt, steps=5)
    _assert_same_state(model, opt, ref, ref_opt)


def test_the_guard_reads_change_no_number():
    """Reading every update or every 7 gives the same losses, norms and weights."""
    runs = []
    for every in (1, 7):
        model, opt = _rnn_and_adam()
        h = fit(model, _running_sum_data(5), opt, steps=20, clip=0.5, check_every=every)
        runs.append((h.loss, h.grad_norm, {k: v.copy() for k, v in model.params.items()}))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    for k in runs[0][2]:
        np.testing.assert_array_equal(runs[0][2][k], runs[1][2][k])


def test_fit_passes_lengths_to_the_model():
    """A fourth item of data(step), lengths (B,), makes the batch variable-length: the first
    recorded loss is the model's loss with those lengths (padding neither read nor scored)."""
    import minilstm
    model = minilstm.SequenceModel(minilstm.GRU(2, 3, seed=0), 2, loss="mse", seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3, 2)), rng.standard_normal((5, 3, 2))
    lengths = np.array([5, 2, 3])
    expected = model.loss(x, y, lengths=lengths)[0]
    assert expected != model.loss(x, y)[0]
    history = minilstm.train.fit(model, lambda step: (x, y, None, lengths),
                                 minilstm.optim.SGD(model.params, lr=1e-3), steps=1)
    assert history.loss[0] == expected


# ---- fit's options for streams, fixed weights, the truncated gradient and callbacks ---------------
def _stream(seed, T=5, B=2, n=6):
    """n consecutive windows of one stream per row: x (n·T, B, 1) cut into windows of T."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n * T, B, 1))
    y = 0.3 * np.cumsum(x, axis=0)
    return [(x[i * T:(i + 1) * T], y[i * T:(i + 1) * T]) for i in range(n)]


@pytest.mark.parametrize("carry", [True, 2])
def test_fit_carries_the_state_across_windows(carry):
    """carry_state: each window starts from the final state of the one before (True), or within
    runs of N windows (an int); the same as passing the state by hand."""
    windows = _stream(0)
    model, opt = _rnn_and_adam()
    history = fit(model, lambda i: (*windows[i], None), opt, steps=len(windows), carry_state=carry)
    ref, ref_opt = _rnn_and_adam()
    state, losses = None, []
    for i, (x, y) in enumerate(windows):
        if carry is not True and i % carry == 0:
            state = None
        loss, _, cache, da = ref.loss(x, y, state=state)
        state = cache[0].state
        ref_opt.step(ref.backward(da, cache))
        losses.append(loss)
    assert history.loss == losses
    _assert_same_state(model, opt, ref, ref_opt)


def test_fit_keeps_frozen_parameters_fixed():
    model, opt = _rnn_and_adam()
    before = {k: v.copy() for k, v in model.params.items()}
    fit(model, _running_sum_data(0), opt, steps=5, frozen=("readout.W", "readout.b"))
    for k, v in model.params.items():
        assert np.array_equal(v, before[k]) == k.startswith("readout."), k


def test_fit_with_the_truncated_gradient_takes_the_1997_rules_step():
    """gradient="truncated": the core's gradient is rtrl1997.sequence_gradient, the readout's
    exact; one SGD step moves the weights by -lr times it."""
    from minilstm.rtrl1997 import sequence_gradient
    model = _lstm_model()
    x, y, m = _sequences(0)(0)
    _, _, (core_cache, ro_cache), da = model.loss(x, y, m)
    dy, g_out = model.readout.backward(da, ro_cache)
    want = {**{"core." + k: v for k, v in sequence_gradient(model.core, x, dy).items()},
            **{"readout." + k: v for k, v in g_out.items()}}
    assert any(relative_error(want[k], g) > 1e-3 for k, g in
               model.backward(da, model.loss(x, y, m)[2]).items())   # not BPTT's gradient
    before = {k: v.copy() for k, v in model.params.items()}
    fit(model, lambda i: (x, y, m), SGD(model.params, lr=0.1), steps=1, gradient="truncated")
    for k, v in model.params.items():
        np.testing.assert_allclose(v, before[k] - 0.1 * want[k], rtol=0, atol=1e-14, err_msg=k)
    rnn = SequenceModel(RNN(2, 3, seed=0), 2, seed=1)
    with pytest.raises(TypeError, match=r"model\.core must be an LSTM .* \(gradient='truncated'\)"):
        fit(rnn, _sequences(0), SGD(rnn.params, lr=0.1), steps=1, gradient="truncated")


def test_fit_calls_before_and_after_update():
    """before_update(step, a_out) sees the outputs the update trains on and may set the learning
    rate of that update; after_update(count, history) may end training."""
    model = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    opt = SGD(model.params, lr=0.01)
    data = _running_sum_data(6)
    seen = []

    def before(step, a_out):
        seen.append(("before", step, a_out.shape))
        opt.lr = 1e-12 if step == 1 else 0.01

    def after(count, history):
        seen.append(("after", count, len(history.loss)))
        if count == 2:
            return False
        return count == 3

    weights = []
    history = fit(model, data, opt, steps=10, before_update=before,
                  after_update=lambda c, h: weights.append(model.params["core.R"].copy()) or after(c, h))
    assert seen == [("before", 0, (8, 16, 1)), ("after", 1, 1), ("before", 1, (8, 16, 1)),
                    ("after", 2, 2), ("before", 2, (8, 16, 1)), ("after", 3, 3)]
    assert len(history.loss) == 3 and history.stopped_at is None
    moved = [np.abs(b - a).max() for a, b in zip(weights, weights[1:])]
    assert moved[0] < 1e-9 < 1e-4 < moved[1]


def test_fit_names_its_new_arguments():
    model, opt = _rnn_and_adam()
    data = _running_sum_data(0)
    with pytest.raises(ValueError, match=r"frozen names \['readout.V'\]"):
        fit(model, data, opt, steps=1, frozen=("readout.V",))
    with pytest.raises(TypeError, match="frozen must be a tuple of parameter names"):
        fit(model, data, opt, steps=1, frozen="readout.W")
    with pytest.raises(ValueError, match="gradient must be one of"):
        fit(model, data, opt, steps=1, gradient="rtrl")
    with pytest.raises(TypeError, match="carry_state"):
        fit(model, data, opt, steps=1, carry_state="yes")
    with pytest.raises(TypeError, match="before_update"):
        fit(model, data, opt, steps=1, before_update=3)


# ---- fit on K 1997 nets on an array axis (StackBPTT) ---------------------------------------------
@pytest.mark.parametrize("every,clean", [(None, 2), (3, 0)])
def test_fit_drives_a_stack_and_stops_a_diverging_trial_the_others_bit_for_bit(every, clean):
    """Trials on the stack's axis never share a product, so with trial 1's targets poisoned at
    update 2 (inf: its loss and update are not finite) trials 0 and 2 end bit for bit where a run
    without the poison ends, and trial 1 where that run was at the last clean read: after update
    1 when the guard is read every update, before any update when it is read every 3."""
    from minilstm.train.online1997 import Stack1997, StackBPTT
    from test_online1997 import _models

    def run(poison, steps=5):
        models, loss = _models("exp4", np, [0, 1, 2], scale=0.1)
        st = Stack1997(models, lr=0.0, loss=loss)
        trials = StackBPTT(st)
        rng = np.random.default_rng(0)
        def data(step):
            x = rng.uniform(-1, 1, (8, 3, 4, st.I))
            y = rng.uniform(0, 1, (8, 3, 4, st.O))
            if poison and step == 2:
                y[:, 1] = np.inf
            return x, y, np.ones((8, 3, 4, 1))
        history = fit(trials, data, Adam(st.optimizer_params(), lr=0.01), steps=steps,
                      check_every=every)
        return st, trials, history

    with np.errstate(invalid="ignore", over="ignore"):
        st, trials, history = run(poison=True)
    ref, ref_trials, ref_history = run(poison=False)
    if clean:
        two = run(poison=False, steps=clean)[0]
    else:                                                    # the initial weights
        models, loss = _models("exp4", np, [0, 1, 2], scale=0.1)
        two = Stack1997(models, lr=0.0, loss=loss)
    assert trials.diverged_at.tolist() == [-1, 2, -1] and trials.active.tolist() == [True, False, True]
    assert len(history.loss) == 5 and not np.isfinite(history.loss[2][1])
    for k, src in ((0, ref), (1, two), (2, ref)):
        got, want = st.trial_params(k), src.trial_params(k)
        for name in got:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"trial {k} {name}")
    np.testing.assert_array_equal(np.array(history.loss)[:, [0, 2]],
                                  np.array(ref_history.loss)[:, [0, 2]])
