r"""The command line: ``python -m minilstm.experiments NAME ...``.

``python -m minilstm.experiments NAME [--trials K] [--seed S] [--backend numpy|cupy|strict]
[--budget N] [--out results/NAME.json] [--progress | --quiet] [--set KEY=VALUE ...]
[--trials-per-batch G] [--time-limit S] [--save-params NPZ]``, or ``--list``, ``--show JSON``,
``--table DIR``. ``--help`` lists every experiment with its settings and every task; it is
built from :data:`~minilstm.experiments.registry.EXPERIMENTS`, so a new experiment appears there
without an edit here. The work is done by :func:`~minilstm.experiments.runner.run_experiment`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..tasks import DESCRIPTIONS, TASKS
from .registry import EXPERIMENTS
from .runner import ExperimentError, format_table, run_experiment, save_params, write_json

__all__ = ["build_parser", "main"]


# ---- the command line ------------------------------------------------------------------------------
def _epilog():
    width = max(map(len, EXPERIMENTS))
    exps = "\n".join(f"  {n:<{width}}  {e.summary}" for n, e in EXPERIMENTS.items())
    settings = "\n".join(f"  {n:<{width}}  " + ", ".join(f"{k}={json.dumps(v)}" for k, v in e.defaults.items())
                         for n, e in EXPERIMENTS.items())
    used = {}
    for n, e in EXPERIMENTS.items():
        used.setdefault(e.task, []).append(n)
    tw = max(map(len, TASKS))
    with_exp = "\n".join(f"  {t:<{tw}}  {DESCRIPTIONS[t]}  [{', '.join(used[t])}]"
                         for t in TASKS if t in used)
    without = "\n".join(f"  {t:<{tw}}  {DESCRIPTIONS[t]}" for t in TASKS if t not in used)
    return (f"experiments:\n{exps}\n\nsettings (--set KEY=VALUE) and their defaults:\n{settings}\n\n"
            f"tasks with an experiment above (minilstm.tasks.TASKS; [the experiments]):\n{with_exp}\n\n"
            "tasks available as data generators only (minilstm.tasks.TASKS[name](batch, rng, ...)), "
            f"no experiment yet:\n{without}\n\n"
            "Trials run as one batch (trial k: seed SEED+k); see minilstm.train.trials.\n"
            "Example: python -m minilstm.experiments exp4_adding --trials 10 --seed 0 "
            "--out results/exp4_adding.json")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose every error is one line on stderr and exit status 2 (the usage
    block of argparse is left to ``--help``)."""

    def error(self, message):
        """Print ``PROG: error: MESSAGE (see --help)`` as one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())} (see --help)\n")


def build_parser():
    """The parser of ``python -m minilstm.experiments``: its flags, and an epilog that lists
    every experiment, its settings with their defaults, and the tasks."""
    p = _Parser(
        prog="python -m minilstm.experiments",
        description="Reproduce a paper experiment with many trials; write a JSON result and print "
                    "our numbers beside the paper's.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", nargs="?", choices=list(EXPERIMENTS),
                   help="the experiment: " + ", ".join(EXPERIMENTS))
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--show", metavar="JSON", default=None,
                   help="print the table of a result file (e.g. results/exp4_adding.json) and exit")
    p.add_argument("--table", metavar="DIR", default=None,
                   help="print one markdown table of the 1997 results in DIR (e.g. results), "
                        "paper-method rows first, with intervals and verdicts, and exit")
    p.add_argument("--trials", type=int, default=None, help="number of trials (default: per experiment)")
    p.add_argument("--seed", type=int, default=0, help="seed of trial 0; trial k uses SEED+k (default 0)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy", "strict"],
                   help="array backend (default numpy)")
    p.add_argument("--budget", type=int, default=None,
                   help="max training sequences (strings, symbols) per trial (default: per experiment)")
    p.add_argument("--out", default=None, help="JSON result path (default results/NAME.json)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting (JSON values), e.g. --set lr=0.005; repeatable")
    p.add_argument("--trials-per-batch", type=int, default=None,
                   help="train at most this many trials as one batch (default: all at once)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="stop training a batch of trials after this many seconds")
    g = p.add_mutually_exclusive_group()
    p.add_argument("--save-params", metavar="NPZ", default=None,
                   help="also write every trial's final weights to NPZ (keys 'trial{k}/{name}')")
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress on stderr: sequences per trial, rate and ETA (a tqdm bar, "
                        "or lines without tqdm); the default when stderr is a terminal")
    g.add_argument("--quiet", dest="progress", action="store_false",
                   help="no progress display; print only the table")
    return p


def main(argv=None):
    """Command-line entry: parse ``argv``, run the experiment (or ``--show`` a result), print the table."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{n}  {e.summary}" for n, e in EXPERIMENTS.items()))
        return 0
    if args.show:
        try:
            result = json.loads(Path(args.show).read_text())
            print(format_table(result))
        except (OSError, ValueError, KeyError, TypeError) as e:
            parser.error(f"--show {args.show}: not a readable result file ({type(e).__name__}: {e})")
        return 0
    if args.table:
        if not Path(args.table).is_dir():
            parser.error(f"--table {args.table}: not a directory of result files")
        from .report import load, table
        print(table(load(args.table)))
        return 0
    if args.name is None:
        parser.error("NAME is required; choose one of " + ", ".join(EXPERIMENTS))
    if args.trials is not None and args.trials < 1:
        parser.error(f"--trials must be >= 1, got {args.trials}")
    if args.budget is not None and args.budget < 1:
        parser.error(f"--budget must be >= 1, got {args.budget}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    if args.trials_per_batch is not None and args.trials_per_batch < 1:
        parser.error(f"--trials-per-batch must be >= 1, got {args.trials_per_batch}")
    if args.time_limit is not None and not args.time_limit > 0:
        parser.error(f"--time-limit must be > 0, got {args.time_limit}")
    overrides = {}
    for item in args.overrides:
        if "=" not in item:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v
    out = Path(args.out) if args.out else Path("results") / f"{args.name}.json"
    if out.exists() and out.is_dir():
        parser.error(f"--out {out} is a directory; give a file path like {out / (args.name + '.json')}")
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = True if show else None
    try:
        result = run_experiment(args.name, trials=args.trials, seed=args.seed,
                                backend_name=args.backend, budget=args.budget,
                                overrides=overrides, trials_per_batch=args.trials_per_batch,
                                progress=progress, time_limit=args.time_limit, argv=argv,
                                return_params=args.save_params is not None)
    except ExperimentError as e:
        parser.error(str(e))
    if args.save_params:
        save_params(result, args.save_params)
    path = write_json(result, out)
    print(format_table(result))
    print(f"result written to {path}")
    return 0
