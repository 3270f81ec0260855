r"""Train one group of trials of an experiment: the calls into the training loops.

A trainer is called as ``TRAINERS[exp.trainer].run(exp, engine, cfg, seeds, budget, progress,
time_limit)``: ``engine`` holds the K trials (a :class:`~minilstm.train.online1997.Stack1997`
or a :class:`~minilstm.train.trials.TrialBatch`, as the trainer's ``engine`` says), ``seeds``
the K trials' :func:`~minilstm.experiments.builders.trial_seeds`. It passes the settings to one
loop of :mod:`~minilstm.experiments.online` (the 1997 nets on the trial axis) or
:mod:`~minilstm.experiments.loops` (the BPTT loops of packed trials) and returns its per-trial
dicts. Each :class:`Trainer` also says how its runs learn (``rule``, ``optimizer``: recorded in
every result's config), which engine holds the trials and what its budget counts.

The docstring of each ``train_*`` function states every choice that differs from the paper;
the notes of each experiment (``Experiment.notes``) add what is particular to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..optim import Adam
from ..tasks.reber import train_test_strings
from . import loops, online
from .builders import task_kwargs, test_kwargs

__all__ = ["Trainer", "TRAINERS", "exp1_data", "train_exp1", "train_exp1_bptt", "train_online",
           "train_minibatch", "train_bptt", "train_cerg"]


def exp1_data(cfg, seeds):
    """Each trial's generator and training/test strings. ``data_sets = None``: every trial draws
    its own sets; ``data_sets = n``: the paper's protocol, n pairs of sets drawn from
    ``data_seed``, trial with seed s using pair s mod n (10 initialisations per pair for 30 trials)."""
    data = []
    n = cfg.get("data_sets")
    for s in seeds:
        rng = (s["data"] if n is None else
               np.random.default_rng([int(cfg["data_seed"]), s["seed"] % int(n)]))
        train, test = train_test_strings(rng, cfg["n_train"], cfg["n_test"], embedded=True)
        data.append({"rng": s["data"], "train": train, "test": test})
    return data


def train_exp1(exp, stack, cfg, seeds, budget, progress, time_limit):
    r"""Exp. 1 with the paper's own learning rule, on the trial axis (:mod:`minilstm.train.online1997`).

    As in the paper: the 3 × 2 net (276 weights; ``net = "4x1"``: 264), fully recurrent
    wiring, g = 4σ − 2, h = 2σ − 1, no forget gate, output-gate biases −1, −2, −3 (−4),
    every weight from U[−0.2, 0.2], logistic output units without bias, squared error, the
    truncated RTRL-style gradient, plain gradient descent at ``lr`` after every step,
    activations and partials reset at every string, 256 training and 256 test strings; with
    ``data_sets = 3`` (the paper's protocol) three pairs of training/test sets, 10 trials each.

    Our choices where the paper is silent: a training string is drawn uniformly with
    replacement from the 256; success is checked every ``check_every_steps`` time steps
    (1,000 steps: about 90 strings of 11 steps), and a trial's count is the number of strings
    it started up to the first check it passes. ``target = "next"`` trains on the actual next
    symbol (one-hot) instead of the set of legal ones, a reading of the paper tested in
    ``results/README.md`` (which also records what we saw of the failed trials).
    """
    return online.online_reber(stack, exp1_data(cfg, seeds), budget=budget,
                               check_every_steps=cfg["check_every_steps"], target=cfg["target"],
                               progress=progress, time_limit=time_limit)


def train_exp1_bptt(exp, stack, cfg, seeds, budget, progress, time_limit):
    r"""Exp. 1's net, data and success test, trained by BPTT with Adam instead of the 1997 rule.

    Same net (276 weights, output-gate biases −1, −2, −3, U[−0.2, 0.2]), same 256/256 strings
    per trial, same success test. Differences: the full BPTT gradient of ``batch`` strings per
    update (default 1: one update per string, as the paper's count of strings), Adam with step
    size ``lr`` instead of per-step gradient descent; success checked every ``check_every``
    strings. This run separates the net from the rule: see ``results/README.md``.
    """
    return online.minibatch_reber(stack, exp1_data(cfg, seeds),
                                  optimizer=Adam(stack.optimizer_params(), lr=cfg["lr"]),
                                  batch=cfg["batch"], budget=budget,
                                  check_every=cfg["check_every"], progress=progress,
                                  time_limit=time_limit)


def train_online(exp, stack, cfg, seeds, budget, progress, time_limit):
    r"""The paper's method for Exp. 2–6 (:func:`online.online_last_step
    <minilstm.experiments.online.online_last_step>`): the truncated RTRL-style gradient,
    weights changed after every time step by plain gradient descent at the paper's learning
    rate, activations and partials reset at the start of every sequence, the error injected
    where the task has a target, K trials on one array axis (:mod:`minilstm.train.online1997`).
    Stop: the paper's window rule on the training sequences, evaluated after every sequence;
    then fresh test sequences judged by ``minilstm.tasks.SUCCESS``.
    """
    return online.online_last_step(
        stack, exp.task, task_kwargs(exp, cfg), [s["data"] for s in seeds],
        [s["test"] for s in seeds], budget=budget, window=cfg["window"], n_test=cfg["n_test"],
        max_wrong=cfg.get("max_wrong", 0), mean_error_below=cfg["mean_error_below"],
        count=cfg.get("count", "end"), test_kwargs=test_kwargs(exp, cfg),
        check_every_steps=cfg["check_every_steps"], progress=progress, time_limit=time_limit)


def train_minibatch(exp, stack, cfg, seeds, budget, progress, time_limit):
    r"""The comparison of a 1997 experiment (:func:`online.minibatch_last_step
    <minilstm.experiments.online.minibatch_last_step>`): mini-batch BPTT with Adam where the
    paper used its online rule (its learning rate is in the experiment's ``method.paper``),
    the K trials on one array axis (:meth:`~minilstm.train.online1997.Stack1997.bptt`).

    Net, wiring, squashing functions, initialisation, gate biases, output units and squared
    error are the paper's. Success is the paper's stopping rule (the ``window`` most recent
    training sequences correct, at most ``max_wrong`` of them wrong where the experiment
    allows that, and their mean squared error below the threshold where it has one),
    checked after every sequence; the count is of training sequences presented, as in the
    paper (with ``count = "start"``: those before the successful window). Differences: the
    gradient is the full BPTT gradient (the paper: truncated) summed over a mini-batch, Adam
    instead of plain gradient descent; within a mini-batch the weights are fixed.
    """
    return online.minibatch_last_step(
        stack, exp.task, task_kwargs(exp, cfg), [s["data"] for s in seeds],
        [s["test"] for s in seeds], optimizer=Adam(stack.optimizer_params(), lr=cfg["lr"]),
        batch=cfg["batch"], budget=budget, window=cfg["window"], n_test=cfg["n_test"],
        max_wrong=cfg.get("max_wrong", 0), mean_error_below=cfg["mean_error_below"],
        count=cfg.get("count", "end"), clip=cfg["clip"], lr_half_life=cfg["lr_half_life"],
        test_kwargs=test_kwargs(exp, cfg), progress=progress, time_limit=time_limit)


def train_bptt(exp, tb, cfg, seeds, budget, progress, time_limit):
    r"""Mini-batch BPTT with Adam on packed trials (:func:`loops.bptt_last_step
    <minilstm.experiments.loops.bptt_last_step>`): the nets the trial axis does not hold (the
    Elman baselines, the timing nets of 2002).

    Where the paper trained online (its learning rate is in the experiment's
    ``method.paper``), full BPTT on mini-batches of ``batch`` sequences with Adam runs the
    same number of sequences in a fraction of the time on 2 CPU cores. Success is the paper's
    stopping rule (the ``window`` most recent training sequences correct, at most
    ``max_wrong`` of them wrong where the experiment allows that, and their mean squared error
    below the threshold where it has one), checked after every sequence; the count is of
    training sequences presented, as in the paper (with ``count = "start"``: those before the
    successful window). Differences: the gradient is the full BPTT gradient (the paper:
    truncated) averaged over a mini-batch, Adam instead of plain gradient descent; within a
    mini-batch the weights are fixed.
    """
    return loops.bptt_last_step(
        tb, exp.task, task_kwargs(exp, cfg), [s["data"] for s in seeds],
        [s["test"] for s in seeds], batch=cfg["batch"], lr=cfg["lr"], budget=budget,
        window=cfg["window"], mean_error_below=cfg["mean_error_below"], clip=cfg["clip"],
        lr_half_life=cfg["lr_half_life"], n_test=cfg["n_test"],
        max_wrong=cfg.get("max_wrong", 0), count=cfg.get("count", "end"),
        test_kwargs=test_kwargs(exp, cfg), progress=progress, time_limit=time_limit)


def train_cerg(exp, tb, cfg, seeds, budget, progress, time_limit):
    r"""The continual embedded Reber grammar (Gers, Schmidhuber & Cummins 2000),
    :func:`loops.bptt_continual_reber <minilstm.experiments.loops.bptt_continual_reber>`.

    As in the paper: 4 blocks × 2 cells, 1997 squashing functions and fully recurrent wiring,
    input- and output-gate biases −0.5, −1.0, −1.5, −2.0 and (with forget gates) forget-gate
    biases +0.5 … +2.0, logistic outputs with squared error, no reset inside a training stream,
    a symbol correct when every output's error is below 0.49, test streams that start from the
    zero state and are never reset.

    Differences: truncated BPTT over windows of ``window`` symbols with Adam (the paper: its
    online RTRL-style rule, lr 0.5); ``batch`` parallel streams per trial; training streams of
    ``stream_len`` symbols (default 1,000; the paper: 10^5). We shortened them because with
    ~10^4 updates a net otherwise sees the zero state at a stream's start too rarely to learn the
    first symbols, and a test stream starts there (measured: with 2,000-symbol streams the first
    error of every test stream came at symbol 1 or 3). The test streams are as long as the paper's
    (no reset for ``test_len`` and ``final_test_len`` symbols), so drift still shows. The stopping test is
    ``test_len`` successive correct symbols on a fresh stream, checked every ``check_every``
    training symbols, and the paper's "perfect" (10^6 successive symbols) is tested once at the
    end (``final_test_len``); weights from U[−``init_scale``, ``init_scale``] and the readout
    bias are our choice. Far fewer trials than the paper's 100.
    """
    return loops.bptt_continual_reber(
        tb, [s["data"] for s in seeds], [s["test"] for s in seeds], batch=cfg["batch"],
        window=cfg["window"], stream_len=cfg["stream_len"], lr=cfg["lr"], budget=budget,
        check_every=cfg["check_every"], test_len=cfg["test_len"],
        final_test_len=cfg["final_test_len"], clip=cfg["clip"], progress=progress,
        time_limit=time_limit)


@dataclass(frozen=True)
class Trainer:
    """A training method of the experiments: ``run(exp, engine, cfg, seeds, budget, progress,
    time_limit) -> per-trial dicts``; ``rule`` (``"rtrl1997"``: the paper's online rule,
    ``"bptt"``, ``"truncated_bptt"``) and ``optimizer`` (``"sgd"``, the paper's, or
    ``"adam"``), recorded in every result; ``engine`` (``"stack"``: trials on one array axis,
    :mod:`minilstm.train.online1997`; ``"trialbatch"``: block-diagonal packing,
    :mod:`minilstm.train.trials`); ``unit``: what the budget and the counts count."""
    run: Callable
    rule: str
    optimizer: str
    engine: str
    unit: str


TRAINERS = {
    "online_reber": Trainer(train_exp1, "rtrl1997", "sgd", "stack", "strings"),
    "minibatch_reber": Trainer(train_exp1_bptt, "bptt", "adam", "stack", "strings"),
    "online_last_step": Trainer(train_online, "rtrl1997", "sgd", "stack", "sequences"),
    "minibatch_last_step": Trainer(train_minibatch, "bptt", "adam", "stack", "sequences"),
    "bptt_last_step": Trainer(train_bptt, "bptt", "adam", "trialbatch", "sequences"),
    "continual_reber": Trainer(train_cerg, "truncated_bptt", "adam", "trialbatch", "symbols"),
}
"""The trainers by the name an experiment gives in ``trainer`` (the name of the loop each calls)."""
