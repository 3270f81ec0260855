"""No device-to-host transfer per time step: counted on the strict stand-in (minilstm.strict).

On a GPU every read of a device value (``bool``, ``float``, ``.item()``, ``.get()``...) makes
the host wait for the device. The stand-in counts them (``strict.Transfers``); each test runs the
same code at T = 10 and T = 20 and asserts the count does not grow with T, and that it is the
stated constant:

* a layer's forward: 1 (NaN/inf in ``x`` and in the parameters, one read for both); its
  backward: 1 (``dy``); inside ``deferred_value_checks`` (the training loops): 0;
* the 1997 rule: 1 per sequence (the parameters, at ``reset``), 0 per step; the trial stack
  (``Stack1997``): 0 per step;
* ``fit``: one read per ``check_every`` updates (and at the end); online (``update="step"``,
  ``fit_online``): one read per
  sequence, plus one per ``check_every`` updates within it;
* ``fit`` on a batch of trials (``TrialBatch``): 1 per update (the guard, every trial's loss,
  norm and weight sum), 2 with ``clip`` (the trials' norms); the BPTT experiments' loop over it
  (``loops.bptt_last_step``): 2 per update (the guard, and the outputs for the success criterion);
* ``fit`` on 1997 nets on an array axis (``StackBPTT``): the 1997 comparisons' loops read 2 per
  update where the stopping rule runs on the device after every sequence
  (``online.minibatch_last_step``: the guard, read every update there, and the trials still
  learning), none per update where it runs every N strings (``online.minibatch_reber``: the guard
  every 100 updates on a GPU).
"""
import numpy as np
import pytest

from minilstm import GRU, LSTM, RNN, SequenceModel, TruncatedRTRL, backend, optim, presets, strict
from minilstm.train.online1997 import Stack1997
from minilstm.train import fit, fit_online
from minilstm.validate import deferred_value_checks
from test_online1997 import _models

xp = backend.get_backend("strict")

LAYERS = {
    "rnn": lambda: RNN(3, 4, seed=0, backend="strict"),
    "gru": lambda: GRU(3, 4, seed=0, backend="strict"),
    "lstm": lambda: LSTM(3, 4, seed=0, backend="strict"),
    "lstm_float32": lambda: LSTM(3, 4, seed=0, backend="strict", dtype="float32"),
    "lstm_1997": lambda: presets.lstm_1997(3, 2, 2, seed=0, backend="strict"),
    "forget_1999": lambda: presets.lstm_forget_1999(3, 2, 2, seed=0, backend="strict"),
    "peephole_2000": lambda: presets.lstm_peephole_2000(3, 2, 2, seed=0, backend="strict"),
    "vanilla": lambda: presets.vanilla(3, 4, seed=0, backend="strict"),
    "cifg": lambda: presets.cifg(3, 4, seed=0, backend="strict"),
    "fgr": lambda: presets.fgr(3, 4, seed=0, backend="strict"),
    "nig": lambda: presets.nig(3, 4, seed=0, backend="strict"),
    "noaf": lambda: presets.noaf(3, 4, seed=0, backend="strict"),
}


def _layer_counts(make, T, deferred):
    layer = make()
    x = xp.asarray(np.random.default_rng(T).standard_normal((T, 2, 3)).astype(layer.dtype))
    with strict.Transfers() as fwd, strict.Transfers() as all_:
        if deferred:
            with deferred_value_checks():
                y, cache = layer.forward(x)
        else:
            y, cache = layer.forward(x)
    with strict.Transfers() as bwd:
        if deferred:
            with deferred_value_checks():
                layer.backward(xp.ones(y.shape, dtype=y.dtype), cache)
        else:
            layer.backward(xp.ones(y.shape, dtype=y.dtype), cache)
    return fwd.total, bwd.total, all_.kinds


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_read_nothing_per_step(name):
    counts = [_layer_counts(LAYERS[name], T, deferred=False)[:2] for T in (10, 20)]
    assert counts == [(1, 1), (1, 1)], counts                 # the entry checks, whatever T
    deferred = [_layer_counts(LAYERS[name], T, deferred=True)[:2] for T in (10, 20)]
    assert deferred == [(0, 0), (0, 0)], deferred


def test_the_1997_rule_reads_once_per_sequence_and_never_per_step():
    counts = []
    for T in (10, 20):
        layer = presets.lstm_1997(3, 2, 2, seed=0, backend="strict")
        rule = TruncatedRTRL(layer)
        x = xp.asarray(np.random.default_rng(0).standard_normal((T, 2, 3)))
        with strict.Transfers() as reset:
            rule.reset(2)
        with strict.Transfers() as steps:
            for t in range(T):
                rule.forward(x[t])
                rule.gradient(xp.ones((2, 4)))
        counts.append((reset.total, steps.total))
    assert counts == [(1, 0), (1, 0)], counts


def test_the_trial_stack_reads_nothing_per_step():
    counts = []
    for T in (10, 20):
        models, loss = _models("exp4", xp, [0, 1, 2], scale=0.1)
        st = Stack1997(models, lr=0.5, loss=loss)
        rng = np.random.default_rng(1)
        x = xp.asarray(rng.uniform(-1, 1, (T, 3, 1, st.I)))
        target = xp.asarray(rng.uniform(0, 1, (3, 1, st.O)))
        with strict.Transfers() as seen:
            for t in range(T):
                st.step(x[t])
                st.update(*st.gradient(target, xp.ones((3, 1, 1))))
        counts.append(seen.total)
    assert counts == [0, 0], counts


def _data(T, B=2):
    rng = np.random.default_rng(T)
    return lambda n: (rng.standard_normal((T, B, 3)), rng.uniform(size=(T, B, 2)), None)


@pytest.mark.parametrize("update", ["step", "sequence"])
@pytest.mark.parametrize("check_every", [None, 7])
def test_fit_online_reads_per_sequence_not_per_step(update, check_every):
    counts = []
    for T in (10, 20):
        model = SequenceModel(presets.lstm_1997(3, 2, 2, seed=0, backend="strict"), 2,
                              loss="logistic_mse", seed=1)
        with strict.Transfers() as seen:
            fit_online(model, _data(T), optim.SGD(model.params, lr=0.1), sequences=3,
                       update=update, check_every=check_every)
        counts.append(seen.total)
    if update == "sequence":                                  # one update per sequence: fit's
        assert counts == [1, 1], counts                       # reads (every check_every, the end)
    elif check_every is None:
        assert counts == [3, 3], counts                       # one read per sequence
    else:                                                     # and one per 7 updates within it
        assert counts == [3 * (1 + 10 // 7), 3 * (1 + 20 // 7)], counts


@pytest.mark.parametrize("clip", [None, 1.0])
def test_fit_reads_once_per_check_whatever_the_length(clip):
    counts = []
    for T in (10, 20):
        for check_every in (None, 1, 2):
            model = SequenceModel(LSTM(3, 4, seed=0, backend="strict"), 2, seed=1)
            with strict.Transfers() as seen:
                fit(model, _data(T), optim.Adam(model.params, lr=0.01), steps=4, clip=clip,
                    check_every=check_every)
            counts.append(seen.total)
    assert counts == [1, 4, 2] * 2, counts                    # None: every 100 (and at the end)


@pytest.mark.parametrize("clip", [None, 1.0])
def test_fit_reads_a_batch_of_trials_once_per_update_whatever_the_length(clip):
    from minilstm.train.trials import TrialBatch
    counts = []
    for T in (10, 20):
        tb = TrialBatch([SequenceModel(LSTM(3, 4, seed=s, backend="strict"), 2, seed=s + 9)
                         for s in range(3)])
        data = _data(T)
        packed = lambda n: tuple(tb.pack([a] * 3) for a in data(n)[:2]) + (None,)
        with strict.Transfers() as seen:
            fit(tb, packed, optim.Adam(tb.params, lr=0.01), steps=4, clip=clip)
        counts.append(seen.total)
    assert counts == [4 * (1 if clip is None else 2)] * 2, counts


def test_the_trial_batch_loop_reads_twice_per_update_whatever_the_length():
    """The BPTT experiments' loop (loops.bptt_last_step over fit on a TrialBatch, here the Elman
    adding run): per update one read of the guard (the K losses, norms and weight sums) and one of
    the outputs for the success criterion; nothing grows with T."""
    from minilstm.experiments.runner import run_experiment
    counts = {}
    for T in (20, 40):
        for budget in (64, 128):                                   # 16 or 32 updates of batch 4
            with strict.Transfers() as seen:
                run_experiment("elman_adding", trials=2, budget=budget, backend_name="strict",
                               overrides={"T": T, "n_test": 4, "batch": 4, "window": 1000,
                                          "mean_error_below": None})
            counts[T, budget] = seen.total
    assert counts[20, 64] == counts[40, 64] and counts[20, 128] == counts[40, 128], counts
    assert counts[20, 128] - counts[20, 64] == 2 * 16, counts


@pytest.mark.parametrize("name,overrides,per_update", [
    ("exp4_adding_bptt", {"T": 20, "n_test": 4, "batch": 4, "window": 1000,
                          "mean_error_below": None}, 2),
    ("exp1_reber_bptt", {"n_train": 6, "n_test": 6, "check_every": 1000, "batch": 4}, 0),
])
def test_the_stack_bptt_loops_read_a_fixed_number_per_update(name, overrides, per_update):
    from minilstm.experiments.runner import run_experiment
    counts = []
    for budget in (64, 128):                                       # 16 or 32 updates of batch 4
        with strict.Transfers() as seen:
            run_experiment(name, trials=2, budget=budget, backend_name="strict",
                           overrides=overrides)
        counts.append(seen.total)
    assert counts[1] - counts[0] == per_update * 16, counts


def test_composites_and_sampling_read_nothing_per_step():
    """Stack and Bidirectional make their parts' entry checks (1 per part forward), with or
    without lengths; sampling reads its prime's checks and the drawn tokens once, at the end."""
    from minilstm.nn.bidirectional import Bidirectional
    from minilstm.nn.embedding import Embedding
    from minilstm.nn.sampling import sample
    from minilstm.nn.stack import Stack
    counts = []
    for T in (10, 20):
        stack = Stack([LSTM(3, 4, seed=0, backend="strict"), GRU(4, 5, seed=1, backend="strict")],
                      dropout=0.2, seed=0)
        bi = Bidirectional(LSTM(3, 4, seed=0, backend="strict"), RNN(3, 4, seed=1, backend="strict"))
        x = xp.asarray(np.random.default_rng(0).standard_normal((T, 2, 3)))
        row = []
        for layer in (stack, bi):
            with strict.Transfers() as fwd:
                y, cache = layer.forward(x)
            with strict.Transfers() as bwd:
                layer.backward(xp.ones(y.shape), cache)
            with strict.Transfers() as padded:
                layer.forward(x, lengths=[T, 3])
            row += [fwd.total, bwd.total, padded.total]
        model = SequenceModel(LSTM(3, 4, seed=0, backend="strict"), 7, loss="cross_entropy",
                              seed=1, embedding=Embedding(7, 3, seed=0, backend="strict"))
        with strict.Transfers() as drawn:
            sample(model, [1, 2], T, temperature=1.0, seed=0)
        counts.append(row + [drawn.total, drawn.kinds.get("get", 0)])
    assert counts[0] == counts[1], counts
    assert counts[0][:6] == [2, 3, 2, 2, 3, 2] and counts[0][7] == 1, counts
