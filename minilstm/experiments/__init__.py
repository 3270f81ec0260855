"""Reproduce the papers' experiments: ``python -m minilstm.experiments NAME ...``.

Modules: :mod:`~minilstm.experiments.registry` (the experiments, their nets, defaults and where
they differ from the papers), :mod:`~minilstm.experiments.loops` (training loops for K trials in
one :class:`~minilstm.trials.TrialBatch`), :mod:`~minilstm.experiments.published` (the papers'
numbers), :mod:`~minilstm.experiments.runner` (JSON results, the side-by-side table, the command
line), :mod:`~minilstm.experiments.nets` (a net no preset builds: Exp. 2's direct input-to-output
weights). ``python -m minilstm.experiments --help`` lists every experiment and task.

>>> from minilstm.experiments import EXPERIMENTS
>>> sorted(EXPERIMENTS)[:2]
['cerg_forget', 'cerg_no_forget']
"""
from .published import PUBLISHED, published_for
from .registry import EXPERIMENTS, Experiment, trial_seeds
from .runner import ExperimentError, format_table, main, run_experiment, summarise, write_json

__all__ = ["EXPERIMENTS", "Experiment", "PUBLISHED", "published_for", "ExperimentError", "run_experiment",
           "format_table", "summarise", "write_json", "main", "trial_seeds"]
