"""Reproduce the papers' experiments: ``python -m minilstm.experiments NAME ...``.

Modules, from the data to the command line:

* :mod:`~minilstm.experiments.registry` — the experiments as data (:data:`EXPERIMENTS`): for
  each, its task, its net, its trainer, its settings and defaults, trials and budget, where it
  differs from the paper, and the settings of a tiny test run; :mod:`~minilstm.experiments.spec`
  — what such an entry is (:class:`Experiment`) and what is derived from it;
  :mod:`~minilstm.experiments.published` — the papers' numbers beside which ours are printed.
* :mod:`~minilstm.experiments.builders` — one trial's network from its config and seeds
  (:mod:`~minilstm.experiments.nets`: a net no preset builds, Exp. 2's direct input-to-output
  weights); :mod:`~minilstm.experiments.trainers` — the calls into the training loops, each
  with the rule and optimizer it uses and its differences from the paper;
  :mod:`~minilstm.experiments.words` — the sentences a result states about our net, our method
  and the success criterion.
* The loops: :mod:`~minilstm.experiments.online` (the 1997 experiments trained as the paper
  did: its online truncated rule for K trials on one array axis,
  :class:`~minilstm.train.online1997.Stack1997`, and their BPTT comparisons) and
  :mod:`~minilstm.experiments.loops` (the BPTT loops of the baselines and of the later papers,
  K trials in one :class:`~minilstm.train.trials.TrialBatch`).
* :mod:`~minilstm.experiments.runner` (run the trials, JSON results, the side-by-side table),
  :mod:`~minilstm.experiments.report` (tables of many result files, with intervals and
  verdicts), :mod:`~minilstm.experiments.cli` (the command line).

``python -m minilstm.experiments --help`` lists every experiment and task. Every 1997
experiment ``NAME`` runs the paper's method; ``NAME_bptt`` is the same net trained by mini-batch
BPTT with Adam, a comparison; each result records ``rule`` and ``optimizer`` in its config.
Adding an experiment is one entry in the registry and its row in ``PUBLISHED``.

>>> from minilstm.experiments import EXPERIMENTS
>>> sorted(EXPERIMENTS)[:2]
['cerg_forget', 'cerg_no_forget']
"""
from .builders import trial_seeds
from .cli import main
from .published import PUBLISHED, published_for
from .registry import EXPERIMENTS
from .runner import ExperimentError, format_table, run_experiment, summarise, write_json
from .spec import Experiment

__all__ = ["EXPERIMENTS", "Experiment", "PUBLISHED", "published_for", "ExperimentError", "run_experiment",
           "format_table", "summarise", "write_json", "main", "trial_seeds"]
