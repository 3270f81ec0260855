"""One row per bad input a student can type: the exception type and that its message names the
argument the caller wrote (issue 16). Each row calls the public API as a new user would.

A row is ``(id, call, exception, pattern)``: ``call()`` must raise ``exception`` with a message
matching ``pattern`` (a regular expression; ``\\b`` around a name so that ``n_in`` is not found
inside ``n_in_total``). The objects the calls need are built lazily by the small helpers below,
so that building them is part of the row (and fast: every net is tiny).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import minilstm
from minilstm import GRU, LSTM, RNN, Linear, SequenceModel, TruncatedRTRL, analysis, losses
from minilstm import optim, presets, sequence_gradient, tasks
from minilstm.experiments.report import wilson
from minilstm.experiments.runner import ExperimentError, main, run_experiment
from minilstm.gradcheck import numerical_gradient
from minilstm.io import CheckpointError, load_checkpoint, load_into, save_checkpoint, save_model
from minilstm.train.online1997 import Stack1997
from minilstm.train import TrialBatch, fit, fit_online


# ---- tiny objects the rows use ------------------------------------------------------------------
def x3(T=2, B=1, I=3, dtype=np.float64):
    """A ``(T, B, I)`` input of ones."""
    return np.ones((T, B, I), dtype=dtype)


def rnn():
    return RNN(3, 4, seed=0)


def lstm():
    return LSTM(3, 4, seed=0)


def model(core=None, **kw):
    return SequenceModel(core if core is not None else rnn(), 2, seed=1, **kw)


def data(step):
    return x3(), np.zeros((2, 1, 2)), None


def fit_with(**kw):
    m = model()
    return fit(m, data, optim.SGD(m.params, lr=0.1), **{"steps": 2, **kw})


def fit_step_with(**kw):
    m = model(lstm())
    return fit(m, data, optim.SGD(m.params, lr=0.1), **{"steps": 1, "update": "step", **kw})


def fit_online_with(core=None, **kw):
    m = model(core if core is not None else lstm())
    return fit_online(m, data, optim.SGD(m.params, lr=0.1), **{"sequences": 1, **kw})


def params():
    return {"W": np.zeros((2, 2)), "b": np.zeros(2)}


def rule():
    return TruncatedRTRL(lstm()).reset(1)


def stack(**kw):
    m = SequenceModel(presets.lstm_1997(3, 2, seed=0), 1, loss="logistic_mse", seed=1)
    return Stack1997([m], **{"lr": 0.1, **kw})


def adding_batch():
    return tasks.adding(2, 0, T=20)


def saved(tmp_path_factory_dir):
    path = tmp_path_factory_dir / "ck.npz"
    save_model(path, model())
    return path


def cli(*args):
    """``main(args)``; the row expects SystemExit(2) (checked in the test)."""
    return main(list(args))


R = pytest.param
NAN = float("nan")

ROWS = [
    # ---- layers: constructors ------------------------------------------------------------------
    R(lambda: RNN(0, 4), ValueError, r"\bn_in\b", id="rnn-n_in-0"),
    R(lambda: RNN(3, -1), ValueError, r"\bn_hidden\b", id="rnn-n_hidden-negative"),
    R(lambda: RNN(2.5, 4), ValueError, r"\bn_in\b", id="rnn-n_in-float"),
    R(lambda: RNN(True, 4), TypeError, r"\bn_in\b", id="rnn-n_in-bool"),
    R(lambda: RNN("3", 4), TypeError, r"\bn_in\b", id="rnn-n_in-str"),
    R(lambda: RNN(3, 4, activation="relu"), ValueError, r"\bactivation\b", id="rnn-activation"),
    R(lambda: RNN(3, 4, init_scale=-1), ValueError, r"\binit_scale\b", id="rnn-init_scale-negative"),
    R(lambda: RNN(3, 4, init_scale="big"), TypeError, r"\binit_scale\b", id="rnn-init_scale-str"),
    R(lambda: RNN(3, 4, init_scale=NAN), ValueError, r"\binit_scale\b", id="rnn-init_scale-nan"),
    R(lambda: RNN(3, 4, seed=-1), ValueError, r"\bseed\b", id="rnn-seed-negative"),
    R(lambda: RNN(3, 4, seed="zero"), TypeError, r"\bseed\b", id="rnn-seed-str"),
    R(lambda: RNN(3, 4, dtype="int32"), TypeError, r"\bdtype\b", id="rnn-dtype-int"),
    R(lambda: RNN(3, 4, dtype="double-ish"), TypeError, r"\bdtype\b", id="rnn-dtype-unknown"),
    R(lambda: RNN(3, 4, backend="tpu"), minilstm.backend.BackendError, r"\bbackend\b",
      id="rnn-backend"),
    R(lambda: GRU(0, 4), ValueError, r"\bn_in\b", id="gru-n_in-0"),
    R(lambda: GRU(3, "4"), TypeError, r"\bn_hidden\b", id="gru-n_hidden-str"),
    R(lambda: GRU(3, 4, init_scale="x"), TypeError, r"\binit_scale\b", id="gru-init_scale-str"),
    R(lambda: GRU(3, 4, init_scale=-0.1), ValueError, r"\binit_scale\b", id="gru-init_scale-negative"),
    R(lambda: GRU(3, 4, dtype=np.float16), TypeError, r"\bdtype\b", id="gru-dtype-float16"),
    R(lambda: LSTM(0, 4), ValueError, r"\bn_in\b", id="lstm-n_in-0"),
    R(lambda: LSTM(3, 4, 3), ValueError, r"\bcells_per_block\b", id="lstm-cells_per_block-divide"),
    R(lambda: LSTM(3, 4, peepholes="yes"), TypeError, r"\bpeepholes\b", id="lstm-peepholes-str"),
    R(lambda: LSTM(3, 4, g="relu"), ValueError, r"\bg\b", id="lstm-g-unknown"),
    R(lambda: LSTM(3, 4, recurrence="some"), ValueError, r"\brecurrence\b", id="lstm-recurrence"),
    R(lambda: LSTM(3, 4, init_scale=float("inf")), ValueError, r"\binit_scale\b",
      id="lstm-init_scale-inf"),
    R(lambda: LSTM(3, 4, init_scale=None), TypeError, r"\binit_scale\b", id="lstm-init_scale-none"),
    R(lambda: LSTM(3, 4, gate_bias_init={"q": 1.0}), ValueError, r"\bgate_bias_init\b",
      id="lstm-gate_bias_init-unknown-gate"),
    R(lambda: LSTM(3, 4, gate_bias_init={"o": [1.0, 2.0]}), ValueError, r"\bgate_bias_init\b",
      id="lstm-gate_bias_init-length"),
    R(lambda: LSTM(3, 4, cifg=True, input_gate=False), ValueError, r"\binput_gate\b",
      id="lstm-cifg-without-input-gate"),
    R(lambda: LSTM(3, 4, seed=1.5), ValueError, r"\bseed\b", id="lstm-seed-float"),
    R(lambda: LSTM(3, 4, peeholes=True), TypeError, r"\bpeeholes\b", id="lstm-typo-keyword"),
    # ---- layers: forward, backward, state, set_params, to -------------------------------------
    R(lambda: rnn().forward([[[1.0, 2.0, 3.0]]]), TypeError, r"\bx\b", id="forward-x-list"),
    R(lambda: rnn().forward(np.ones((2, 3))), ValueError, r"\bx\b", id="forward-x-2d"),
    R(lambda: rnn().forward(x3(I=5)), ValueError, r"\bx\b", id="forward-x-width"),
    R(lambda: rnn().forward(x3(dtype=np.int64)), TypeError, r"\bx\b", id="forward-x-int"),
    R(lambda: rnn().forward(x3(dtype=np.float32)), TypeError, r"\bx\b", id="forward-x-float32"),
    R(lambda: rnn().forward(x3() * NAN), ValueError, r"\bx\b", id="forward-x-nan"),
    R(lambda: rnn().forward(x3(T=0)), ValueError, r"\bx\b", id="forward-x-empty"),
    R(lambda: rnn().forward(x3(), state=np.zeros((1, 4))), ValueError, r"\bstate\b",
      id="forward-state-not-tuple"),
    R(lambda: rnn().forward(x3(), state=(np.zeros((2, 4)),)), ValueError, r"\bstate\b",
      id="forward-state-shape"),
    R(lambda: lstm().forward(x3(), state=(np.zeros((1, 4)),)), ValueError, r"\bstate\b",
      id="forward-state-length"),
    R(lambda: rnn().forward(x3(), state=(np.full((1, 4), NAN),)), ValueError, r"\bstate\b",
      id="forward-state-nan"),
    R(lambda: rnn().forward(x3().tolist()), TypeError, r"\bx\b", id="forward-x-nested-list"),
    R(lambda: (lambda l: l.backward(np.ones((2, 1, 3)), l.forward(x3())[1]))(rnn()), ValueError,
      r"\bdy\b", id="backward-dy-shape"),
    R(lambda: (lambda l: l.backward(np.ones((2, 1, 4)), l.forward(x3())[1],
                                    dstate=(np.ones((1, 4)), np.ones((1, 4)))))(rnn()),
      ValueError, r"\bdstate\b", id="backward-dstate-length"),
    R(lambda: rnn().set_params({"V": np.zeros((4, 4))}), KeyError, r"\bV\b",
      id="set_params-unknown"),
    R(lambda: rnn().set_params({"R": np.zeros((3, 3))}), ValueError, r"\bvalues\['R'\]",
      id="set_params-shape"),
    R(lambda: rnn().to(dtype="int8"), TypeError, r"\bdtype\b", id="to-dtype"),
    R(lambda: rnn().init_state(0), ValueError, r"\bbatch\b", id="init_state-batch-0"),
    R(lambda: rnn().init_state(2.0), ValueError, r"\bbatch\b", id="init_state-batch-float"),
    # ---- presets ---------------------------------------------------------------------------------
    R(lambda: presets.lstm_1997(7, 0), ValueError, r"\bn_blocks\b", id="lstm_1997-n_blocks-0"),
    R(lambda: presets.lstm_1997(7, 3, 0), ValueError, r"\bcells_per_block\b",
      id="lstm_1997-cells_per_block-0"),
    R(lambda: presets.lstm_1997(7, 2.5), ValueError, r"\bn_blocks\b", id="lstm_1997-n_blocks-float"),
    R(lambda: presets.lstm_1997(7, 3, 2.0), ValueError, r"\bcells_per_block\b",
      id="lstm_1997-cells_per_block-float"),
    R(lambda: presets.lstm_forget_1999(7, -2), ValueError, r"\bn_blocks\b",
      id="lstm_forget_1999-n_blocks-negative"),
    R(lambda: presets.lstm_peephole_2000(7, 2, "2"), TypeError, r"\bcells_per_block\b",
      id="lstm_peephole_2000-cells_per_block-str"),
    R(lambda: presets.lstm_1997(7, 3, n_cells=5), TypeError, r"\bn_cells\b",
      id="lstm_1997-n_cells-override"),
    R(lambda: presets.lstm_1997(7, 3, init_scale=-0.2), ValueError, r"\binit_scale\b",
      id="lstm_1997-init_scale"),
    R(lambda: presets.vanilla(7, 0), ValueError, r"\bn_cells\b", id="vanilla-n_cells-0"),
    R(lambda: presets.cifg(0, 4), ValueError, r"\bn_in\b", id="cifg-n_in-0"),
    R(lambda: presets.nig(7, 4, peepholes="no"), TypeError, r"\bpeepholes\b", id="nig-peepholes-str"),
    R(lambda: presets.net_1997("7"), ValueError, r"\bname\b", id="net_1997-name"),
    R(lambda: presets.bias_staircase(-1, -1, -3), ValueError, r"\bn_blocks\b",
      id="bias_staircase-negative"),
    R(lambda: presets.bias_staircase(-1, -1, 2.5), ValueError, r"\bn_blocks\b",
      id="bias_staircase-float"),
    R(lambda: presets.bias_staircase("-1", -1, 2), TypeError, r"\bstart\b",
      id="bias_staircase-start-str"),
    # ---- the 1997 rule ---------------------------------------------------------------------------
    R(lambda: TruncatedRTRL(rnn()), TypeError, r"\blayer\b", id="rtrl-layer-rnn"),
    R(lambda: TruncatedRTRL(lstm()).reset(0), ValueError, r"\bbatch\b", id="rtrl-reset-batch-0"),
    R(lambda: TruncatedRTRL(lstm()).reset(1, state=(np.zeros((1, 4)),)), ValueError, r"\bstate\b",
      id="rtrl-reset-state"),
    R(lambda: rule().gradient(np.ones((1, 4))), RuntimeError, r"\bforward\b",
      id="rtrl-gradient-before-forward"),
    R(lambda: rule().forward(np.ones((1, 5))), ValueError, r"\bx_t\b", id="rtrl-forward-x_t-shape"),
    R(lambda: (lambda r: (r.forward(np.ones((1, 3))), r.gradient(np.ones((1, 2)))))(rule()),
      ValueError, r"\bdy_t\b", id="rtrl-gradient-dy_t-shape"),
    R(lambda: sequence_gradient(lstm(), x3(), np.ones((2, 1, 4)), chunk=0), ValueError,
      r"\bchunk\b", id="sequence_gradient-chunk"),
    R(lambda: sequence_gradient(lstm(), x3(), np.ones((2, 1, 3))), ValueError, r"\bdy\b",
      id="sequence_gradient-dy-shape"),
    R(lambda: sequence_gradient(rnn(), x3(), np.ones((2, 1, 4))), TypeError, r"\blayer\b",
      id="sequence_gradient-layer-rnn"),
    R(lambda: Stack1997([], lr=0.1), ValueError, r"\bmodels\b", id="stack-models-empty"),
    R(lambda: Stack1997([lstm()], lr=0.1), TypeError, r"\bmodels\[0\]", id="stack-models-layer"),
    R(lambda: Stack1997([model()], lr=0.1), TypeError, r"\bmodels\[0\]\.core\b",
      id="stack-models-rnn-core"),
    R(lambda: stack(lr=-0.1), ValueError, r"\blr\b", id="stack-lr-negative"),
    R(lambda: stack(lr=[0.1, 0.2]), ValueError, r"\blr\b", id="stack-lr-length"),
    R(lambda: stack(lr="fast"), TypeError, r"\blr\b", id="stack-lr-str"),
    R(lambda: stack(batch=0), ValueError, r"\bbatch\b", id="stack-batch-0"),
    R(lambda: stack(batch=2.5), ValueError, r"\bbatch\b", id="stack-batch-float"),
    R(lambda: stack(loss="hinge"), ValueError, r"\bloss\b", id="stack-loss"),
    # ---- readout, model and losses ---------------------------------------------------------------
    R(lambda: Linear(0, 2), ValueError, r"\bn_in\b", id="linear-n_in-0"),
    R(lambda: Linear(3, 2, init_scale="x"), TypeError, r"\binit_scale\b", id="linear-init_scale-str"),
    R(lambda: Linear(3, 2, init_scale=-1), ValueError, r"\binit_scale\b",
      id="linear-init_scale-negative"),
    R(lambda: Linear(3, 2, bias="yes"), TypeError, r"\bbias\b", id="linear-bias-str"),
    R(lambda: Linear(3, 2, rng="seed"), TypeError, r"\brng\b", id="linear-rng-str"),
    R(lambda: Linear(3, 2, dtype=int), TypeError, r"\bdtype\b", id="linear-dtype-int"),
    R(lambda: Linear(3, 2).forward(np.ones((2, 1, 4))), ValueError, r"\bx\b", id="linear-x-width"),
    R(lambda: Linear(3, 2).forward(np.ones(3)), ValueError, r"\bx\b", id="linear-x-1d"),
    R(lambda: SequenceModel(rnn(), 0), ValueError, r"\bn_out\b", id="model-n_out-0"),
    R(lambda: SequenceModel(rnn(), 2, loss="hinge"), ValueError, r"\bloss\b", id="model-loss"),
    R(lambda: SequenceModel(np.zeros(3), 2), TypeError, r"\bcore\b", id="model-core-array"),
    R(lambda: SequenceModel(rnn(), 2, readout_bias="no"), TypeError, r"\breadout_bias\b",
      id="model-readout_bias-str"),
    R(lambda: SequenceModel(rnn(), 2, seed="one"), TypeError, r"\bseed\b", id="model-seed-str"),
    R(lambda: losses.mse(np.ones((2, 1, 2)), np.ones((2, 1, 3))), ValueError, r"\btarget\b",
      id="mse-target-shape"),
    R(lambda: losses.mse(np.ones((2, 1, 2)), np.ones((2, 1, 2)), mask=np.ones((2, 2), bool)),
      ValueError, r"\bmask\b", id="mse-mask-shape"),
    R(lambda: losses.mse(np.ones((2, 1, 2)), np.ones((2, 1, 2)), mask=np.ones((2, 1))), TypeError,
      r"\bmask\b", id="mse-mask-float"),
    R(lambda: losses.mse([1.0], np.ones(1)), TypeError, r"\by\b", id="mse-y-list"),
    R(lambda: losses.cross_entropy(np.ones((2, 1, 3)), np.full((2, 1), 3)), ValueError,
      r"\btarget\b", id="cross_entropy-class-out-of-range"),
    R(lambda: losses.logistic(np.ones((2, 1, 2)), np.full((2, 1, 2), 2.0)), ValueError,
      r"\btarget\b", id="logistic-target-range"),
    # ---- optimizers ------------------------------------------------------------------------------
    R(lambda: optim.SGD({}, lr=0.1), TypeError, r"\bparams\b", id="sgd-params-empty"),
    R(lambda: optim.SGD(params(), lr=0), ValueError, r"\blr\b", id="sgd-lr-0"),
    R(lambda: optim.SGD(params(), lr=NAN), ValueError, r"\blr\b", id="sgd-lr-nan"),
    R(lambda: optim.SGD(params(), lr="0.1"), TypeError, r"\blr\b", id="sgd-lr-str"),
    R(lambda: optim.Momentum(params(), 0.1, momentum=1.5), ValueError, r"\bmomentum\b",
      id="momentum-momentum-range"),
    R(lambda: optim.Momentum(params(), 0.1, momentum="high"), TypeError, r"\bmomentum\b",
      id="momentum-momentum-str"),
    R(lambda: optim.Momentum(params(), 0.1, nesterov="yes"), TypeError, r"\bnesterov\b",
      id="momentum-nesterov-str"),
    R(lambda: optim.Adam(params(), betas=0.9), TypeError, r"\bbetas\b", id="adam-betas-scalar"),
    R(lambda: optim.Adam(params(), betas=(0.9, 1.5)), ValueError, r"\bbetas\[1\]",
      id="adam-betas-range"),
    R(lambda: optim.Adam(params(), eps=0), ValueError, r"\beps\b", id="adam-eps-0"),
    R(lambda: optim.SGD(params(), 0.1).step({"W": np.zeros((2, 2))}), ValueError, r"\bgrads\b",
      id="step-grads-missing"),
    R(lambda: optim.SGD(params(), 0.1).step({"W": np.zeros((2, 2)), "b": np.zeros(3)}),
      ValueError, r"\bgrads\['b'\]", id="step-grads-shape"),
    R(lambda: optim.clip_grad_norm(params(), 0), ValueError, r"\bmax_norm\b", id="clip-max_norm-0"),
    R(lambda: optim.SGD(params(), 0.1).load_state_dict([1]), TypeError, r"\bstate\b",
      id="load_state_dict-list"),
    # ---- gradcheck ----------------------------------------------------------------------------
    R(lambda: minilstm.gradcheck(rnn(), x3(), wrt=("weights",)), ValueError, r"\bwrt\b.*'weights'",
      id="gradcheck-wrt-unknown"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), wrt=()), ValueError, r"\bwrt\b", id="gradcheck-wrt-empty"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), wrt=3), TypeError, r"\bwrt\b", id="gradcheck-wrt-int"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), eps=0), ValueError, r"\beps\b", id="gradcheck-eps-0"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), eps=-1e-6), ValueError, r"\beps\b",
      id="gradcheck-eps-negative"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), eps=NAN), ValueError, r"\beps\b", id="gradcheck-eps-nan"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), eps="small"), TypeError, r"\beps\b",
      id="gradcheck-eps-str"),
    R(lambda: minilstm.gradcheck(rnn(), [[[1.0, 2.0, 3.0]]]), TypeError, r"\bx\b",
      id="gradcheck-x-list"),
    R(lambda: minilstm.gradcheck(rnn().to("strict"), x3()), TypeError, r"\bx\b.*\bstrict\b",
      id="gradcheck-x-backend"),
    R(lambda: minilstm.gradcheck(rnn(), np.ones((2, 3))), ValueError, r"\bx\b", id="gradcheck-x-2d"),
    R(lambda: minilstm.gradcheck(lambda: 0.0, x3()), TypeError, r"\blayer\b.*numerical_gradient",
      id="gradcheck-layer-function"),
    R(lambda: minilstm.gradcheck(Linear(3, 2), x3()), TypeError, r"\blayer\b.*init_state",
      id="gradcheck-layer-linear"),
    R(lambda: minilstm.gradcheck(rnn(), x3(), seed=-1), ValueError, r"\bseed\b",
      id="gradcheck-seed-negative"),
    R(lambda: numerical_gradient(lambda: 0.0, np.zeros(2), eps=0), ValueError, r"\beps\b",
      id="numerical_gradient-eps"),
    R(lambda: numerical_gradient(3.0, np.zeros(2)), TypeError, r"\bf\b", id="numerical_gradient-f"),
    # ---- analysis ------------------------------------------------------------------------------
    R(lambda: analysis.error_flow(rnn(), x3(), t_error=5), ValueError, r"\bt_error\b",
      id="error_flow-t_error"),
    R(lambda: analysis.error_flow(rnn(), x3(), reduce="max"), ValueError, r"\breduce\b",
      id="error_flow-reduce"),
    R(lambda: analysis.error_flow(Linear(3, 2), x3()), TypeError, r"\blayer\b",
      id="error_flow-layer"),
    R(lambda: analysis.critical_weight(0), ValueError, r"\bf_prime_max\b", id="critical_weight-0"),
    # ---- tasks ---------------------------------------------------------------------------------
    R(lambda: tasks.adding(0, 0), ValueError, r"\bbatch_size\b", id="adding-batch_size-0"),
    R(lambda: tasks.adding(2, "seed"), TypeError, r"\brng\b", id="adding-rng-str"),
    R(lambda: tasks.adding(2, -1), ValueError, r"\brng\b", id="adding-rng-negative"),
    R(lambda: tasks.adding(2, 0, T=5), ValueError, r"\bT\b", id="adding-T-small"),
    R(lambda: tasks.long_lag_2a(2, 0, p=1), ValueError, r"\bp\b", id="long_lag_2a-p"),
    R(lambda: tasks.long_lag_2c(2, 0, q=-1), ValueError, r"\bq\b", id="long_lag_2c-q"),
    R(lambda: tasks.temporal_order_problem(2, 0, n_relevant=5), ValueError, r"\bn_relevant\b",
      id="temporal_order-n_relevant"),
    R(lambda: tasks.two_sequence_problem(2, 0, variant="9z"), ValueError, r"\bvariant\b",
      id="two_sequence-variant"),
    R(lambda: tasks.reber.reber_strings(-1, 0), ValueError, r"\bn\b", id="reber_strings-n"),
    R(lambda: tasks.pfg(2, 0, shape="square"), ValueError, r"\bshape\b", id="pfg-shape"),
    R(lambda: tasks.msd(2, 0, period=0), ValueError, r"\bperiod\b", id="msd-period"),
    R(lambda: tasks.pfg(2, 0, period=1.5), ValueError, r"\bperiod\b", id="pfg-period-small"),
    R(lambda: tasks.pfg(2, 0, period="10"), TypeError, r"\bperiod\b", id="pfg-period-str"),
    R(lambda: tasks.embedded_reber(2, 0, dtype=np.int64), ValueError, r"\bdtype\b",
      id="embedded_reber-dtype"),
    R(lambda: tasks.adding_success(np.zeros((3, 2, 1)), adding_batch()), ValueError,
      r"\boutputs\b", id="adding_success-outputs-shape"),
    R(lambda: tasks.adding_success(adding_batch().y.tolist(), adding_batch()), ValueError,
      r"\boutputs\b", id="adding_success-outputs-list"),
    # ---- fit and fit_online ----------------------------------------------------------------------
    R(lambda: fit_with(steps=-3), ValueError, r"\bsteps\b", id="fit-steps-negative"),
    R(lambda: fit_with(check_every=0), ValueError, r"\bcheck_every\b", id="fit-check_every-0"),
    R(lambda: fit_with(check_every=2.5), ValueError, r"\bcheck_every\b", id="fit-check_every-float"),
    R(lambda: fit_with(steps=0), ValueError, r"\bsteps\b", id="fit-steps-0"),
    R(lambda: fit_with(steps=2.5), ValueError, r"\bsteps\b", id="fit-steps-float"),
    R(lambda: fit_with(steps="10"), TypeError, r"\bsteps\b", id="fit-steps-str"),
    R(lambda: fit_with(eval_every=0, evaluate=lambda m: {}), ValueError, r"\beval_every\b",
      id="fit-eval_every-0"),
    R(lambda: fit_with(clip=0), ValueError, r"\bclip\b", id="fit-clip-0"),
    R(lambda: fit_with(clip=-1.0), ValueError, r"\bclip\b", id="fit-clip-negative"),
    R(lambda: fit_with(evaluate="accuracy"), TypeError, r"\bevaluate\b", id="fit-evaluate-str"),
    R(lambda: fit_with(stop=True), TypeError, r"\bstop\b", id="fit-stop-bool"),
    R(lambda: fit_with(progress="yes"), TypeError, r"\bprogress\b", id="fit-progress-str"),
    R(lambda: fit(rnn(), data, optim.SGD(rnn().params, 0.1), steps=1), TypeError, r"\bmodel\b",
      id="fit-model-layer"),
    R(lambda: (lambda m: fit(m, [data(0)], optim.SGD(m.params, 0.1), steps=1))(model()), TypeError,
      r"\bdata\b", id="fit-data-list"),
    R(lambda: (lambda m: fit(m, lambda i: data(i)[:2], optim.SGD(m.params, 0.1), steps=1))(model()),
      TypeError, r"\bdata\(0\)", id="fit-data-returns-pair"),
    R(lambda: (lambda m: fit(m, data, optim.SGD(model().params, 0.1), steps=1))(model()), ValueError,
      r"\boptimizer\b", id="fit-optimizer-other-params"),
    R(lambda: (lambda m: fit(m, data, 0.1, steps=1))(model()), TypeError, r"\boptimizer\b",
      id="fit-optimizer-number"),
    R(lambda: fit_with(update="online"), ValueError, r"\bupdate\b", id="fit-update-unknown"),
    R(lambda: fit_step_with(gradient="full"), ValueError, r"\bgradient\b", id="fit-step-gradient-full"),
    R(lambda: fit_step_with(carry_state=True), ValueError, r"\bcarry_state\b",
      id="fit-step-carry_state"),
    R(lambda: fit_step_with(before_update=lambda step, a: None), ValueError, r"\bbefore_update\b",
      id="fit-step-before_update"),
    R(lambda: (lambda tb: fit(tb, data, optim.SGD(tb.params, 0.1), steps=1, update="step"))(
      TrialBatch([model(lstm()), model(lstm())])), TypeError, r"\bupdate='step'", id="fit-step-trials"),
    R(lambda: fit_online_with(sequences=-1), ValueError, r"\bsequences\b",
      id="fit_online-sequences-negative"),
    R(lambda: fit_online_with(update="batch"), ValueError, r"\bupdate\b", id="fit_online-update"),
    R(lambda: fit_online_with(core=GRU(3, 4, seed=0)), TypeError, r"\bmodel\.core\b",
      id="fit_online-core-gru"),
    R(lambda: fit_online_with(check_every=-1), ValueError, r"\bcheck_every\b",
      id="fit_online-check_every"),
    R(lambda: fit_online_with(eval_every=-5), ValueError, r"\beval_every\b",
      id="fit_online-eval_every"),
    R(lambda: fit_online_with(clip="1"), TypeError, r"\bclip\b", id="fit_online-clip-str"),
    # ---- experiments, called from Python -------------------------------------------------------
    R(lambda: wilson(5, 3), ValueError, r"\bk\b", id="wilson-k-above-n"),
    R(lambda: wilson(0, 0), ValueError, r"\bn\b", id="wilson-n-0"),
    R(lambda: run_experiment("exp4", trials=1), ExperimentError, r"\bexp4\b",
      id="run_experiment-name"),
    R(lambda: run_experiment("exp4_adding", trials=0), ExperimentError, r"\btrials\b",
      id="run_experiment-trials-0"),
    R(lambda: run_experiment("exp4_adding", trials=1, budget=-1), ExperimentError, r"\bbudget\b",
      id="run_experiment-budget-negative"),
    R(lambda: run_experiment("exp4_adding", trials=1, time_limit=0), ExperimentError,
      r"\btime_limit\b", id="run_experiment-time_limit-0"),
    R(lambda: run_experiment("exp4_adding", trials=1, overrides={"T": 0}), ExperimentError,
      r"--set T\b", id="run_experiment-set-T-0"),
]


@pytest.mark.parametrize("call, exc, pattern", ROWS)
def test_bad_input_is_refused_by_name(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ---- checkpoints: rows that need a file -----------------------------------------------------------
CHECKPOINT_ROWS = [
    R(lambda d: save_checkpoint(d / "a.npz", model_params={}, config={}), TypeError,
      r"\bmodel_params\b", id="save-model_params-empty"),
    R(lambda d: save_checkpoint(d / "a.npz", model_params={"W": [1.0]}, config={}), TypeError,
      r"\bmodel_params\['W'\]", id="save-model_params-list"),
    R(lambda d: save_checkpoint(d / "a.npz", model_params={"W": np.zeros(2)}, config=[1]), TypeError,
      r"\bconfig\b", id="save-config-list"),
    R(lambda d: save_checkpoint(d / "a.npz", model_params={"W": np.zeros(2)}, config={}, rng=5),
      TypeError, r"\brng\b", id="save-rng-int"),
    R(lambda d: save_model(d / "a.npz", model().params), TypeError, r"\bmodel\b",
      id="save_model-params-dict"),
    R(lambda d: save_model(d / "a.npz", model(), optimizer=0.1), TypeError, r"\boptimizer\b",
      id="save_model-optimizer-number"),
    R(lambda d: load_into(None, saved(d)), TypeError, r"\bmodel\b", id="load_into-model-none"),
    R(lambda d: load_checkpoint(d / "missing.npz"), FileNotFoundError, r"missing\.npz",
      id="load-missing"),
    R(lambda d: (d / "junk.npz").write_bytes(b"not a zip") and load_checkpoint(d / "junk.npz"),
      CheckpointError, r"junk\.npz", id="load-corrupted"),
    R(lambda d: load_checkpoint(saved(d), expected_config={"n_out": 3}), CheckpointError,
      r"\bexpected_config\b", id="load-expected_config"),
    R(lambda d: load_checkpoint(saved(d), backend="tpu"), minilstm.backend.BackendError,
      r"\bbackend\b", id="load-backend"),
    R(lambda d: load_into(SequenceModel(rnn(), 3, seed=1), saved(d)), CheckpointError,
      r"\bn_out\b", id="load_into-config"),
    R(lambda d: load_into(model(), saved(d), optimizer=optim.SGD(params(), 0.1)), CheckpointError,
      r"\boptimizer\b", id="load_into-no-optimizer-state"),
]


@pytest.mark.parametrize("call, exc, pattern", CHECKPOINT_ROWS)
def test_bad_checkpoint_input_is_refused_by_name(call, exc, pattern, tmp_path):
    with pytest.raises(exc, match=pattern):
        call(tmp_path)


# ---- the experiments command line: one line on stderr, exit status 2 ------------------------------
CLI_ROWS = [
    R(["no_such_experiment"], r"\bNAME\b.*no_such_experiment", id="cli-unknown-experiment"),
    R(["exp4_adding", "--set", "learning_rate=0.1"], r"--set learning_rate\b", id="cli-set-unknown-key"),
    R(["exp4_adding", "--set", "lr=fast"], r"--set lr\b.*'fast'", id="cli-set-unparsable"),
    R(["exp4_adding", "--set", "lr"], r"--set\b.*KEY=VALUE", id="cli-set-without-value"),
    R(["exp4_adding", "--set", "lr=-1"], r"--set lr\b.*-1", id="cli-set-negative-rate"),
    R(["exp4_adding", "--set", "T=2.5"], r"--set T\b.*2\.5", id="cli-set-fractional-int"),
    R(["exp1_reber", "--set", "net=5x5"], r"\bnet\b.*5x5", id="cli-set-unbuildable"),
    R(["exp4_adding", "--budget", "-5"], r"--budget\b.*-5", id="cli-budget-negative"),
    R(["exp4_adding", "--budget", "0"], r"--budget\b", id="cli-budget-0"),
    R(["exp4_adding", "--budget", "many"], r"--budget\b.*many", id="cli-budget-str"),
    R(["exp4_adding", "--trials", "0"], r"--trials\b", id="cli-trials-0"),
    R(["exp4_adding", "--time-limit", "-1"], r"--time-limit\b", id="cli-time-limit"),
]


@pytest.mark.parametrize("args, pattern", CLI_ROWS)
def test_bad_command_line_is_one_line_and_status_2(args, pattern, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        cli(*args, "--quiet", "--out", str(tmp_path / "r.json"))
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(pattern, err), err
    assert not (tmp_path / "r.json").exists()


def test_the_installed_command_answers_in_one_line_too():
    """The ``python -m`` entry point gives the same one line, status 2 (the BLAS thread count
    chosen, so that the command does not restart itself and say so)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "minilstm.experiments", "exp4_adding", "--set",
                           "lr=fast"], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--set lr='fast'" in proc.stderr, proc.stderr
    assert proc.stdout == ""
