"""The model wrapper and the fit loop: learning happens, divergence is caught, nothing is lost."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.gradcheck import numerical_gradient, relative_error
from minilstm.model import SequenceModel
from minilstm.optim import SGD, Adam
from minilstm.rnn import RNN
from minilstm.train import TrainingDiverged, fit


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


def test_divergence_names_the_step_and_keeps_the_last_good_weights():
    model = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    data = _running_sum_data(2)
    def poisoned(step):
        x, y, m = data(step)
        if step == 7:
            y = y.copy(); y[0, 0, 0] = np.nan
        return x, y, m
    opt = SGD(model.params, lr=0.01)
    with pytest.raises(TrainingDiverged, match="at update 7: the loss is nan") as info:
        fit(model, poisoned, opt, steps=20)
    assert info.value.step == 7 and len(info.value.history.loss) == 7
    assert all(np.isfinite(backend.to_numpy(p)).all() for p in model.params.values())


def test_an_exploding_update_is_rolled_back():
    model = SequenceModel(RNN(1, 4, seed=0), 1, seed=1)
    before = {k: v.copy() for k, v in model.params.items()}

    class Overflowing(SGD):  # an update that overflows one weight, as a huge step would
        def step(self, grads):
            super().step(grads)
            self.params["core.R"][0, 0] = np.inf

    with pytest.raises(TrainingDiverged, match=r"at update 0: the update made core.R NaN or inf"):
        fit(model, _running_sum_data(3), Overflowing(model.params, lr=0.01), steps=5)
    for k, v in model.params.items():
        np.testing.assert_array_equal(v, before[k])


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="loss='hinge' is not known"):
        SequenceModel(RNN(1, 2), 1, loss="hinge")
