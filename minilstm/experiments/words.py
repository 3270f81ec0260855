r"""The sentences of a result: our net, our method and the success criterion, from the settings.

Each is a function of the experiment and its resolved config, so that a result states what was
run with the numbers it was run with (``--set lr=0.1`` changes the method's words). They are
found by the names the experiment gives: :data:`NET` by ``exp.model`` (its builder in
:mod:`~minilstm.experiments.builders`), :data:`METHOD` and :data:`CRITERION` by ``exp.trainer``
(its loop in :mod:`~minilstm.experiments.trainers`). A result's ``net``, ``method.ours`` and
``criterion`` are :func:`net`, :func:`method` and :func:`criterion`.
"""
from __future__ import annotations

from ..nn.presets import EXPERIMENTS_1997
from .builders import task_sizes, timing_weights

__all__ = ["net", "method", "criterion", "NET", "METHOD", "CRITERION"]


def net(exp, cfg) -> str:
    """The network of ``exp`` with settings ``cfg``, in words, with its weight count."""
    return NET[exp.model](exp, cfg)


def method(exp, cfg) -> str:
    """Our training method in words (the result's ``method.ours``)."""
    return METHOD[exp.trainer](exp, cfg)


def criterion(exp, cfg) -> str:
    """How and how often success is checked, in words."""
    return CRITERION[exp.trainer](exp, cfg)


# ---- the nets ----------------------------------------------------------------------------------
def _exp1_net(exp, c):
    blocks, cells = {"3x2": (3, 2), "4x1": (4, 1)}[c["net"]]
    bias = c["output_gate_bias"] or [-float(n) for n in range(1, blocks + 1)]
    return (f"LSTM 1997, {blocks} blocks x {cells} cell{'s' * (cells > 1)}, fully recurrent, "
            f"g=4s-2, h=2s-1, no forget gate, output-gate biases {bias}, init "
            f"U[-{c['init_scale']}, {c['init_scale']}], 7 logistic outputs without bias: "
            f"{276 if cells == 2 else 264} weights")


def _net_1997(exp, cfg):
    spec = EXPERIMENTS_1997[exp.model_args["key"]]
    biases = ", ".join(f"{gate}-gate biases {cfg[k]}" for gate, k in (
        ("input", "input_gate_bias"), ("output", "output_gate_bias"))
        if cfg.get(k) is not None) or "gate biases drawn at random like every weight"
    cells = "biased cells and gates" if spec["cell_bias"] else "biased gates, unbiased cells"
    S, n_out = spec["cells_per_block"], spec["n_out"]
    return (f"LSTM 1997, {spec['n_blocks']} blocks x {S} cell{'s' * (S > 1)}, fully "
            f"recurrent, g=4s-2, h=2s-1, {cells}, {biases}, init U[-{cfg['init_scale']}, "
            f"{cfg['init_scale']}], {n_out} logistic output{'s' * (n_out > 1)} "
            f"{'with' if spec['output_bias'] else 'without'} bias: {spec['weights']} weights")


def _long_lag_2ab_net(exp, cfg):
    n = cfg["p"] + 1
    return (f"1 memory cell with an input gate (no output gate, no forget gate), g logistic, "
            f"h identity, no biases; cell and gate see the {n} inputs only, the {n} logistic "
            f"outputs see the inputs and the cell; init U[-{cfg['init_scale']}, "
            f"{cfg['init_scale']}]: {n * (n + 1) + 2 * n:,} weights")


def _long_lag_2c_net(exp, cfg):
    q, p = cfg["qp"]
    n_in = p + 4
    return (f"LSTM 1997, 2 blocks x 1 cell, fully recurrent, g=4s-2, h=2s-1, no biases, "
            f"{n_in} inputs (p = {p} distractors, e, b, x, y), 2 logistic outputs without bias, "
            f"init U[-{cfg['init_scale']}, {cfg['init_scale']}]: "
            f"{6 * (n_in + 6) + 4} weights")


def _elman_net(exp, c):
    n_in, n_out = task_sizes(exp, c)
    H = c["hidden"]
    outputs = f"{n_out} logistic output{'s' * (n_out > 1)} with bias"
    return (f"Elman RNN, {H} tanh units, init U[-{c['init_scale']}, {c['init_scale']}], "
            f"{outputs}: {H * (n_in + H + 1) + n_out * (H + 1)} weights")


def _cerg_net(exp, c):
    forget = exp.model_args["forget"]
    kind = "LSTM with forget gates" if forget else "LSTM 1997 (no forget gate)"
    return (f"{kind}, {c['blocks']} blocks x {c['cells_per_block']} cells, "
            "fully recurrent, g=4s-2, h=2s-1, input/output-gate biases -0.5..-2.0, "
            + ("forget-gate biases +0.5..+2.0, " if forget else "")
            + f"init U[-{c['init_scale']}, {c['init_scale']}]")


def _timing_net(exp, c):
    peepholes = exp.model_args["peepholes"]
    kind = "peephole LSTM" if peepholes else "LSTM with forget gate, no peepholes"
    return (f"{kind}, 1 block x 1 cell, fully recurrent, g = h = identity, no cell "
            f"bias, gate "
            f"biases input {c['input_gate_bias']}, forget {c['forget_gate_bias']}, "
            f"output {c['output_gate_bias']}, init U[-{c['init_scale']}, "
            f"{c['init_scale']}], 1 linear output with bias: {timing_weights(peepholes)} weights")


NET = {"exp1": _exp1_net, "lstm_1997": _net_1997, "long_lag_2ab": _long_lag_2ab_net,
       "long_lag_2c": _long_lag_2c_net, "elman": _elman_net, "cerg": _cerg_net,
       "timing": _timing_net}
"""The net's words by the experiment's ``model`` (one per builder of
:data:`~minilstm.experiments.builders.NETS`)."""


# ---- the methods ---------------------------------------------------------------------------------
def _online_words(exp, cfg):
    return (f"online truncated RTRL-style rule (minilstm.train.online1997), weights changed after every "
            f"step, plain gradient descent lr {cfg['lr']} (the paper's rule)")


def _exp1_words(exp, c):
    return _online_words(exp, c) + ("" if c["target"] == "legal" else
                                    "; targets: the actual next symbol (one-hot), not the paper's")


def _exp1_bptt_words(exp, c):
    return f"BPTT mini-batch ({c['batch']} string(s)/update), Adam lr {c['lr']}, full gradient"


def _bptt_words(exp, cfg):
    clip = f", per-trial gradient-norm clipping at {cfg['clip']}" if cfg.get("clip") else ""
    decay = (f" halved every {cfg['lr_half_life']:,} sequences" if cfg.get("lr_half_life") else "")
    return (f"BPTT mini-batch ({cfg['batch']} sequences/update), Adam lr {cfg['lr']}{decay}{clip}, "
            "full gradient")


def _cerg_words(exp, cfg):
    return (f"truncated BPTT, windows of {cfg['window']} symbols with the state carried, "
            f"{cfg['batch']} streams/update, training streams of {cfg['stream_len']:,} symbols, "
            f"Adam lr {cfg['lr']}")


METHOD = {"online_reber": _exp1_words, "minibatch_reber": _exp1_bptt_words,
          "online_last_step": _online_words, "minibatch_last_step": _bptt_words,
          "bptt_last_step": _bptt_words, "continual_reber": _cerg_words}
"""Our method's words by the experiment's ``trainer`` (one per trainer of
:data:`~minilstm.experiments.trainers.TRAINERS`)."""


# ---- the success criteria ----------------------------------------------------------------------
def _reber_check(cfg, every):
    return (f"{every}: every symbol of all {cfg['n_train']} training and {cfg['n_test']} test "
            "strings predicted (tasks.reber.reber_success)")


def _exp1_check(exp, c):
    return _reber_check(c, f"every {c['check_every_steps']:,} time steps (about "
                           f"{c['check_every_steps'] / 11:.0f} strings)")


def _exp1_bptt_check(exp, c):
    return _reber_check(c, f"every {c['check_every']} strings")


def _last_step_check(exp, cfg):
    wrong = cfg.get("max_wrong", 0)
    correct = (f"at most {wrong} of the {cfg['window']:,} most recent training sequences wrong"
               if wrong else f"the {cfg['window']:,} most recent training sequences correct")
    error = ("" if cfg["mean_error_below"] is None else
             f" and their mean squared error < {cfg['mean_error_below']}")
    counted = (f" (counted: the sequences before those {cfg['window']:,})"
               if cfg.get("count") == "start" else "")
    return (f"after every training sequence: {correct}{error}{counted}; then "
            f"{cfg['n_test']:,} fresh test sequences")


def _cerg_check(exp, cfg):
    return (f"every {cfg['check_every']:,} training symbols: {cfg['test_len']:,} successive "
            f"symbols of a fresh test stream correct (all output errors < 0.49); at the end "
            f"'perfect' = {cfg['final_test_len']:,} successive symbols")


CRITERION = {"online_reber": _exp1_check, "minibatch_reber": _exp1_bptt_check,
             "online_last_step": _last_step_check, "minibatch_last_step": _last_step_check,
             "bptt_last_step": _last_step_check, "continual_reber": _cerg_check}
"""The success criterion's words by the experiment's ``trainer``."""
