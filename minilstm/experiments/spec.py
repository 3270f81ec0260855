r"""What an experiment is: :class:`Experiment`, a specification written as data.

An experiment names its task (``minilstm.tasks.TASKS``), its net (a builder of
:data:`~minilstm.experiments.builders.NETS` and the builder's fixed arguments), its trainer (a
loop of :data:`~minilstm.experiments.trainers.TRAINERS`, which also fixes the rule, the
optimizer, the engine and the unit of the budget), its settings with their defaults, its default
trials and budget, the notes on where it differs from the paper, and the settings of a tiny run
(used by the tests). Everything else is derived: the words of a result
(:mod:`~minilstm.experiments.words`), the settings that may be null, the comparison of a 1997
experiment (:func:`with_comparison`), the tiny run's command-line arguments.

Adding an experiment is one :class:`Experiment` in :mod:`~minilstm.experiments.registry` and
its row in :data:`~minilstm.experiments.published.PUBLISHED`; the tests, ``--help`` and the
report tables find it there.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from . import builders, trainers, words

__all__ = ["Experiment", "with_comparison", "nullable_settings", "ONLINE_DEFAULTS",
           "BPTT_DEFAULTS"]


@dataclass(frozen=True)
class Experiment:
    """One paper experiment, runnable as ``python -m minilstm.experiments NAME``.

    ``defaults``: the settings (``--set KEY=VALUE`` overrides each); ``model`` and
    ``model_args``: the builder and its fixed arguments; ``trainer``: the loop; ``task_args``:
    the settings passed to the task's generator (names, or ``{argument: setting}`` where a
    setting may be ``(name, index)``), ``task_fixed`` fixed generator arguments, ``test_args``
    ``{argument: setting}`` for the test sequences only; ``loss``: the engine's output units
    and error; ``notes``: where we differ from the paper, and why; ``nullable``: settings
    beyond those with a None default that may be set to null; ``tiny``: the settings of the
    smallest run that still runs every part of it (``"budget"`` and settings).
    The paper's own method and numbers are in :data:`minilstm.experiments.published.PUBLISHED`.
    """
    name: str
    title: str
    summary: str                 # one line for --help
    task: str                    # the minilstm.tasks.TASKS name of its data
    model: str                   # builders.NETS name
    trainer: str                 # trainers.TRAINERS name
    defaults: dict
    trials: int                  # default number of trials
    budget: int                  # default training budget per trial
    tiny: dict
    model_args: dict = field(default_factory=dict)
    task_args: tuple | dict = ()
    task_fixed: dict = field(default_factory=dict)
    test_args: dict = field(default_factory=dict)
    loss: str = "logistic_mse"
    notes: list = field(default_factory=list)
    nullable: tuple = ()

    def __post_init__(self):
        if self.model not in builders.NETS:
            raise ValueError(f"{self.name}: model {self.model!r} is not one of {sorted(builders.NETS)}")
        if self.trainer not in trainers.TRAINERS:
            raise ValueError(f"{self.name}: trainer {self.trainer!r} is not one of "
                             f"{sorted(trainers.TRAINERS)}")
        unknown = set(self.tiny) - set(self.defaults) - {"budget"}
        if unknown:
            raise ValueError(f"{self.name}: tiny settings {sorted(unknown)} are not settings")

    # ---- what the trainer fixes
    @property
    def rule(self) -> str:
        """``"rtrl1997"`` (the paper's online rule), ``"bptt"`` or ``"truncated_bptt"``."""
        return trainers.TRAINERS[self.trainer].rule

    @property
    def optimizer(self) -> str:
        """``"sgd"`` (the paper's) or ``"adam"``; recorded in every result."""
        return trainers.TRAINERS[self.trainer].optimizer

    @property
    def engine(self) -> str:
        """``"stack"`` (trials on one array axis) or ``"trialbatch"`` (packed trials)."""
        return trainers.TRAINERS[self.trainer].engine

    @property
    def unit(self) -> str:
        """What the budget and the counts count: sequences, strings or symbols."""
        return trainers.TRAINERS[self.trainer].unit

    # ---- building, training, words
    def build(self, cfg, seeds):
        """One trial's model from the resolved config and the trial's
        :func:`~minilstm.experiments.builders.trial_seeds`."""
        return builders.NETS[self.model](self, cfg, seeds)

    def train(self, engine, cfg, seeds, budget, progress=None, time_limit=None):
        """Train the K trials held by ``engine``; a list of K per-trial dicts."""
        return trainers.TRAINERS[self.trainer].run(self, engine, cfg, seeds, budget, progress,
                                                   time_limit)

    def net_words(self, cfg) -> str:
        """The network, in words (:func:`minilstm.experiments.words.net`)."""
        return words.net(self, cfg)

    def method_words(self, cfg) -> str:
        """Our method, in words (:func:`minilstm.experiments.words.method`)."""
        return words.method(self, cfg)

    def criterion_words(self, cfg) -> str:
        """How and how often success is checked (:func:`minilstm.experiments.words.criterion`)."""
        return words.criterion(self, cfg)

    # ---- derived settings
    @property
    def nullable_settings(self) -> set:
        """The settings this experiment lets be null: those with a None default and ``nullable``."""
        return {k for k, v in self.defaults.items() if v is None} | set(self.nullable)

    def tiny_args(self) -> list:
        """The command-line arguments of the tiny run: ``["--budget", N, "--set", "k=v", ...]``."""
        out = ["--budget", str(self.tiny["budget"])]
        for k, v in self.tiny.items():
            if k != "budget":
                value = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
                out += ["--set", f"{k}={value}"]
        return out


ONLINE_DEFAULTS = dict(window=2000, mean_error_below=None, n_test=2560, check_every_steps=10_000)
"""What every 1997 experiment trained by its own rule (the ``online_last_step`` trainer) shares;
each adds the paper's learning rate and its net's and task's settings."""

BPTT_DEFAULTS = dict(batch=16, lr=0.01, lr_half_life=None, clip=None, window=2000,
                     mean_error_below=None, n_test=2560)
"""What every experiment trained by mini-batch BPTT on masked targets shares (ours, not the
paper's: it trained online); each adds its net's and task's settings."""


def with_comparison(paper: Experiment, *, settings: dict, comparison: dict = None,
                    budget: int, trials: int = 10, notes=()) -> dict:
    """A 1997 experiment trained as the paper did, and ``NAME_bptt``, its comparison.

    ``paper`` has the paper's method (``online_last_step``) and defaults
    ``{**ONLINE_DEFAULTS, **settings, <the paper's rate>}``; its summary gets "; the 1997 rule".
    The comparison is the same net, task and notes, trained by mini-batch BPTT with Adam
    (``minibatch_last_step``) with defaults ``{**BPTT_DEFAULTS, **settings, **comparison}``,
    ``budget``, ``trials``, and ``notes`` added to the paper row's; its tiny run is the paper
    row's without ``check_every_steps`` (the online rule's) and with 4 sequences per update.
    Returns ``{name: paper, name_bptt: comparison}``.
    """
    assert paper.trainer == "online_last_step", paper.name
    tiny = {k: v for k, v in paper.tiny.items() if k != "check_every_steps"}
    bptt = replace(
        paper, name=f"{paper.name}_bptt", title=f"{paper.title}, trained by BPTT + Adam (a comparison)",
        summary=paper.summary + "; BPTT + Adam (comparison)", trainer="minibatch_last_step",
        defaults={**BPTT_DEFAULTS, **settings, **(comparison or {})}, trials=trials,
        budget=budget, tiny={**tiny, "batch": 4},
        notes=["mini-batch BPTT + Adam instead of the paper's online truncated rule"]
        + list(paper.notes) + list(notes))
    return {paper.name: replace(paper, summary=paper.summary + "; the 1997 rule"), bptt.name: bptt}


def nullable_settings(experiments) -> set:
    """The settings that may be set to null (off) in a run of any of ``experiments``: the union
    of their :attr:`Experiment.nullable_settings`."""
    return set().union(*(e.nullable_settings for e in experiments))
