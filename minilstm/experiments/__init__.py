"""Reproduce the papers' experiments: ``python -m minilstm.experiments NAME ...``.

Modules: :mod:`~minilstm.experiments.registry` (the experiments, their nets, defaults and where
they differ from the papers), :mod:`~minilstm.experiments.online` (the 1997 experiments trained
as the paper did: its online truncated rule for K trials on one array axis,
:class:`~minilstm.train.online1997.Stack1997`), :mod:`~minilstm.experiments.loops` (the BPTT loops
of the comparisons and of the later papers, K trials in one :class:`~minilstm.train.trials.TrialBatch`), :mod:`~minilstm.experiments.published` (the papers'
numbers), :mod:`~minilstm.experiments.runner` (JSON results, the side-by-side table, the command
line), :mod:`~minilstm.experiments.nets` (a net no preset builds: Exp. 2's direct input-to-output
weights). ``python -m minilstm.experiments --help`` lists every experiment and task. Every 1997
experiment ``NAME`` runs the paper's method; ``NAME_bptt`` is the same net trained by mini-batch
BPTT with Adam, a comparison; each result records ``rule`` and ``optimizer`` in its config.

>>> from minilstm.experiments import EXPERIMENTS
>>> sorted(EXPERIMENTS)[:2]
['cerg_forget', 'cerg_no_forget']
"""
from .published import PUBLISHED, published_for
from .registry import EXPERIMENTS, Experiment, trial_seeds
from .runner import ExperimentError, format_table, main, run_experiment, summarise, write_json

__all__ = ["EXPERIMENTS", "Experiment", "PUBLISHED", "published_for", "ExperimentError", "run_experiment",
           "format_table", "summarise", "write_json", "main", "trial_seeds"]
