r"""Build one trial's network of an experiment from its config and seeds.

A builder is called as ``NETS[exp.model](exp, cfg, seeds)``: ``exp`` is the
:class:`~minilstm.experiments.spec.Experiment` (its ``model_args`` are the builder's fixed
arguments, e.g. which 1997 net), ``cfg`` the resolved settings, ``seeds`` one trial's
:func:`trial_seeds`. It returns a :class:`~minilstm.nn.model.SequenceModel`: the recurrent core,
a readout and the model's loss. Every net is the paper's where the paper says what it was; the
words that describe each net are in :mod:`minilstm.experiments.words`.

Seeds: trial k of a run with ``--seed S`` has seed ``S + k``; from it a
:class:`numpy.random.SeedSequence` spawns the streams for the core's initial weights, the
readout's, the training data and the test data, so trial k's numbers do not depend on how many
trials run beside it.
"""
from __future__ import annotations

import numpy as np

from ..nn.model import SequenceModel
from ..nn.presets import bias_staircase, lstm_1997, lstm_forget_1999, lstm_peephole_2000, net_1997
from ..nn.rnn import RNN
from ..tasks import TASKS
from .nets import InputToOutput

__all__ = ["trial_seeds", "task_kwargs", "test_kwargs", "task_sizes", "gate_biases", "NETS",
           "build_exp1", "build_1997", "build_long_lag_2ab", "build_long_lag_2c", "build_elman",
           "build_cerg", "build_timing", "timing_weights"]


def trial_seeds(seed: int) -> dict:
    """Independent seeds for one trial: ``core``, ``readout`` (ints), ``data``, ``test``
    (Generators), and the trial's ``seed`` itself."""
    core, readout, data, test = np.random.SeedSequence(int(seed)).spawn(4)
    return {"seed": int(seed),
            "core": int(core.generate_state(1)[0]), "readout": int(readout.generate_state(1)[0]),
            "data": np.random.default_rng(data), "test": np.random.default_rng(test)}


def _setting(cfg, source):
    """A setting's value: ``source`` is its name, or ``(name, index)`` for one element of a list
    setting (Exp. 2c's ``qp``)."""
    if isinstance(source, tuple):
        name, index = source
        return cfg[name][index]
    return cfg[source]


def task_kwargs(exp, cfg) -> dict:
    """The keyword arguments of the task's generator (``minilstm.tasks.TASKS[exp.task]``) for the
    training data: ``exp.task_args`` (setting names passed under their own names, or
    ``{argument: setting}``) and the fixed ``exp.task_fixed``."""
    args = exp.task_args
    pairs = args.items() if isinstance(args, dict) else ((a, a) for a in args)
    return {**{a: _setting(cfg, s) for a, s in pairs}, **exp.task_fixed}


def test_kwargs(exp, cfg) -> dict:
    """The generator arguments that differ for the test sequences: ``{argument: setting}`` of
    ``exp.test_args`` (e.g. the timing tasks' 1,000-spike test streams)."""
    return {a: _setting(cfg, s) for a, s in exp.test_args.items()}


def task_sizes(exp, cfg) -> tuple:
    """``(n_in, n_out)`` of the task's sequences with these settings, read from one sequence of
    its generator (drawn from a generator of its own: no trial's stream is touched)."""
    b = TASKS[exp.task](1, np.random.default_rng(0), **task_kwargs(exp, cfg))
    return int(b.x.shape[2]), int(b.y.shape[2])


def gate_biases(cfg) -> dict:
    """The gate-bias settings of a 1997 net that are set (None: the random draw)."""
    return {g: cfg[k] for g, k in (("i", "input_gate_bias"), ("o", "output_gate_bias"))
            if cfg.get(k) is not None}


# ---- Hochreiter & Schmidhuber (1997) ---------------------------------------------------------------
def build_exp1(exp, cfg, seeds):
    """Exp. 1: the 3 x 2 net (276 weights) or, with ``net = "4x1"``, the 4 x 1 net (264);
    output-gate biases ``output_gate_bias`` (None: the paper's −1, −2, −3 (, −4)), 7 logistic
    outputs without bias."""
    key = {"3x2": "1_3x2", "4x1": "1_4x1"}.get(cfg["net"])
    if key is None:
        raise ValueError(f"net={cfg['net']!r}: Exp. 1 has the nets '3x2' and '4x1'")
    bias = cfg["output_gate_bias"]
    core, n_out, out_bias = net_1997(key, seed=seeds["core"], init_scale=cfg["init_scale"],
                                     gate_bias_init=None if bias is None else {"o": bias},
                                     backend=cfg["backend"])
    return SequenceModel(core, n_out, loss="logistic_mse", readout_bias=out_bias,
                         init_scale=cfg["init_scale"], seed=seeds["readout"])


def build_1997(exp, cfg, seeds):
    """The 1997 net ``exp.model_args["key"]`` of :data:`~minilstm.nn.presets.EXPERIMENTS_1997`
    with the gate biases of :func:`gate_biases` and the paper's output units: logistic, squared
    error."""
    core, n_out, out_bias = net_1997(exp.model_args["key"], seed=seeds["core"],
                                     init_scale=cfg["init_scale"], gate_bias_init=gate_biases(cfg),
                                     backend=cfg["backend"])
    return SequenceModel(core, n_out, loss="logistic_mse", readout_bias=out_bias,
                         init_scale=cfg["init_scale"], seed=seeds["readout"])


def build_long_lag_2ab(exp, cfg, seeds):
    """Exp. 2a/2b: one cell with an input gate (g logistic, h identity), no output gate, no
    biases; cell and gate see the inputs only; the outputs see the inputs and the cell
    (:class:`~minilstm.experiments.nets.InputToOutput`)."""
    n = cfg["p"] + 1
    inner = lstm_1997(n, 1, output_gate=False, g="sigmoid", h="identity", recurrence="output",
                      gate_bias=False, init_scale=cfg["init_scale"], seed=seeds["core"],
                      backend=cfg["backend"])
    return SequenceModel(InputToOutput(inner, drop=("R_z", "R_i")), n, loss="logistic_mse",
                         readout_bias=False, init_scale=cfg["init_scale"], seed=seeds["readout"])


def build_long_lag_2c(exp, cfg, seeds):
    """Exp. 2c: 2 blocks x 1 cell, no biases, p + 4 inputs, 2 logistic outputs without bias."""
    q, p = cfg["qp"]
    core = lstm_1997(p + 4, 2, 1, gate_bias=False, init_scale=cfg["init_scale"],
                     seed=seeds["core"], backend=cfg["backend"])
    return SequenceModel(core, 2, loss="logistic_mse", readout_bias=False,
                         init_scale=cfg["init_scale"], seed=seeds["readout"])


# ---- baselines ----------------------------------------------------------------------------------
def build_elman(exp, cfg, seeds):
    """An Elman RNN of ``hidden`` tanh units with a biased readout; its input and output sizes
    are the task's (:func:`task_sizes`)."""
    n_in, n_out = task_sizes(exp, cfg)
    core = RNN(n_in, cfg["hidden"], activation="tanh", init_scale=cfg["init_scale"],
               seed=seeds["core"], backend=cfg["backend"])
    return SequenceModel(core, n_out, loss="mse", readout_bias=True, init_scale=cfg["init_scale"],
                         seed=seeds["readout"])


# ---- Gers, Schmidhuber & Cummins (2000) -----------------------------------------------------------
def build_cerg(exp, cfg, seeds):
    """The continual embedded Reber net: ``blocks`` x ``cells_per_block`` 1997 cells, input- and
    output-gate biases −0.5, −1.0, …; with ``exp.model_args["forget"]`` forget gates with biases
    +0.5, +1.0, …; 7 outputs."""
    nb = cfg["blocks"]
    bias = {"i": bias_staircase(-0.5, -0.5, nb), "o": bias_staircase(-0.5, -0.5, nb)}
    make = lstm_1997
    if exp.model_args["forget"]:
        bias["f"] = bias_staircase(0.5, 0.5, nb)
        make = lstm_forget_1999
    core = make(7, nb, cfg["cells_per_block"], init_scale=cfg["init_scale"],
                gate_bias_init=bias, seed=seeds["core"], backend=cfg["backend"])
    return SequenceModel(core, 7, loss="mse", readout_bias=cfg["output_bias"],
                         init_scale=cfg["init_scale"], seed=seeds["readout"])


# ---- Gers, Schraudolph & Schmidhuber (2002) --------------------------------------------------------
def build_timing(exp, cfg, seeds):
    """The timing nets: 1 input, 1 block of 1 cell, g = h = identity, gate biases from the
    settings; peepholes with ``exp.model_args["peepholes"]``; 1 linear output with bias."""
    make = lstm_peephole_2000 if exp.model_args["peepholes"] else lstm_forget_1999
    bias = {"i": cfg["input_gate_bias"], "f": cfg["forget_gate_bias"],
            "o": cfg["output_gate_bias"]}
    core = make(1, 1, 1, g="identity", h="identity", init_scale=cfg["init_scale"],
                gate_bias_init=bias, seed=seeds["core"], backend=cfg["backend"])
    return SequenceModel(core, 1, loss="mse", readout_bias=True,
                         init_scale=cfg["init_scale"], seed=seeds["readout"])


def timing_weights(peepholes: bool) -> int:
    """The weights of a timing net: the 1-cell layer's plus its readout's 2."""
    return (lstm_peephole_2000 if peepholes else lstm_forget_1999)(1, 1).n_params + 2


NETS = {
    "exp1": build_exp1,
    "lstm_1997": build_1997,
    "long_lag_2ab": build_long_lag_2ab,
    "long_lag_2c": build_long_lag_2c,
    "elman": build_elman,
    "cerg": build_cerg,
    "timing": build_timing,
}
"""The builders by the name an experiment gives in ``model``: ``(exp, cfg, seeds) -> model``."""
