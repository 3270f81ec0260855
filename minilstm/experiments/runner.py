r"""Run an experiment: resolve its settings, build the trials, train them, summarise, write
JSON, format the table of one result.

The command line that calls it is :mod:`~minilstm.experiments.cli`. From Python: ``result = run_experiment("exp4_adding", trials=2, budget=640)``, then
``print(format_table(result))``.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__, backend
from ..train.fit import Progress
from ..train.online1997 import Stack1997
from ..train.trials import TrialBatch
from ..validate import check_int, check_number
from .published import published_for
from .builders import trial_seeds
from .registry import EXPERIMENTS
from .spec import nullable_settings

__all__ = ["run_experiment", "summarise", "format_table", "write_json", "save_params", "main",
           "ExperimentError",
           "git_commit"]


class ExperimentError(ValueError):
    """A bad experiment name, option or override, with a message saying what would be valid."""


_NONNEGATIVE = {"data_seed", "max_wrong"}
"""Numeric settings that may be 0. Every other setting whose default is a positive number must
stay positive (a size, a rate, a count), and one whose default is an int must stay an int
(except those of :data:`_FRACTIONAL`)."""

_FRACTIONAL = {"period"}
"""Settings with an int default that may be fractional (the period of the PFG task)."""


def _check_setting(key, value, default):
    """A ``--set`` value of a numeric setting, by the rules of :data:`_NONNEGATIVE`."""
    try:
        if key in _NONNEGATIVE:
            check_int(f"--set {key}", value, minimum=0)
        elif isinstance(default, int) and key not in _FRACTIONAL:
            check_int(f"--set {key}", value, minimum=1 if default > 0 else None)
        elif default > 0:
            check_number(f"--set {key}", value, above=0)
        else:
            check_number(f"--set {key}", value)
    except (TypeError, ValueError) as e:
        raise ExperimentError(f"{e} (default {default!r})") from None


def _parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def resolve_config(exp, overrides=None, backend_name="numpy"):
    """The experiment's defaults with ``overrides`` applied (unknown keys are an error).

    A setting may be set to null (off) where some experiment's default for it is None or an
    experiment names it in ``nullable`` (:func:`~minilstm.experiments.spec.nullable_settings`);
    a value must have its default's type (a number, a bool, a JSON list)."""
    cfg = dict(exp.defaults)
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise ExperimentError(f"--set {key}=...: {exp.name} has no setting {key!r}; "
                                  f"its settings are {', '.join(sorted(cfg))}")
        if isinstance(value, str):
            value = _parse_value(value)
        default = exp.defaults[key]
        if value is None and key in nullable_settings(EXPERIMENTS.values()):
            cfg[key] = None
            continue
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ExperimentError(f"--set {key}={value!r}: expected true or false")
        if isinstance(default, (int, float)) and not isinstance(default, bool) \
                and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ExperimentError(f"--set {key}={value!r}: expected a number like {default!r}")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            _check_setting(key, value, default)
        if isinstance(default, list) and not isinstance(value, list):
            raise ExperimentError(f"--set {key}={value!r}: expected a JSON list like {default!r}")
        cfg[key] = value
    cfg["backend"] = backend_name
    return cfg


def run_experiment(name, *, trials=None, seed=0, backend_name="numpy", budget=None, overrides=None,
                   trials_per_batch=None, progress=None, time_limit=None, return_params=False,
                   argv=None):
    """Run ``trials`` trials of experiment ``name`` and return the result as a JSON-able dict.

    ``progress`` : None (silent), True (a :class:`~minilstm.train.Progress` per group of trials
    on stderr: a tqdm bar, or lines, with the sequences per trial so far, their rate and the
    ETA) or a callable taking one message string. ``time_limit`` : seconds per group of trials
    after which training stops (counted as not solved; stated in the result).
    ``return_params`` adds ``"_params"`` (trial k's final weights, host arrays; not JSON).
    """
    if name not in EXPERIMENTS:
        raise ExperimentError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[name]
    trials = exp.trials if trials is None else trials
    budget = exp.budget if budget is None else budget
    try:
        for label, v, lo in (("trials", trials, 1), ("budget", budget, 1), ("seed", seed, 0)):
            check_int(label, v, lo)
        if trials_per_batch is not None:
            check_int("trials_per_batch", trials_per_batch)
        check_number("time_limit", time_limit, above=0, none_ok=True)
    except (TypeError, ValueError) as e:
        raise ExperimentError(str(e)) from None
    try:
        backend.get_backend(backend_name)
    except backend.BackendError as e:
        raise ExperimentError(str(e)) from None
    cfg = resolve_config(exp, overrides, backend_name)
    group = trials if trials_per_batch is None else int(trials_per_batch)
    seeds = [seed + k for k in range(trials)]
    per_trial, params, groups = [], [], []
    t_start = time.perf_counter()
    for g0 in range(0, trials, group):
        g_seeds = seeds[g0:g0 + group]
        streams = [trial_seeds(s) for s in g_seeds]
        t0 = time.perf_counter()
        try:                        # the settings build the nets, or say which does not
            models = [exp.build(cfg, s) for s in streams]
            tb = (Stack1997(models, lr=cfg["lr"], loss=exp.loss) if exp.engine == "stack"
                  else TrialBatch(models, loss=exp.loss))
        except (TypeError, ValueError) as e:
            raise ExperimentError(f"{name} cannot build its nets with these settings: {e}") from None
        label = f"trials {g0}..{g0 + len(g_seeds) - 1}"
        shown = (Progress(budget, f"{name} {label}", exp.unit) if progress is True
                 else progress)
        if shown is not None:
            shown(f"{name}: {label} (seeds {g_seeds[0]}..{g_seeds[-1]}) as one batch of "
                  f"{len(g_seeds)}")
        try:
            res = exp.train(tb, cfg, streams, budget, shown, time_limit)
            if progress is True:                   # where the group ended, and how
                shown.update_to(max(r["sequences_presented"] for r in res),
                                f"{sum(r['success'] for r in res)}/{len(res)} solved")
        finally:
            if progress is True:
                shown.close()
        groups.append({"trials": len(g_seeds), "wall_time_s": round(time.perf_counter() - t0, 2)})
        for k, (s, r) in enumerate(zip(g_seeds, res)):
            per_trial.append({"trial": g0 + k, "seed": s, **r})
            if return_params:
                params.append(tb.trial_params(k))
        n_weights = tb.n_params_per_trial
    wall = time.perf_counter() - t_start
    pub = published_for(name, cfg)
    result = {
        "experiment": name,
        "title": exp.title,
        "command": "python -m minilstm.experiments " + " ".join(shlex.quote(a) for a in (argv or [name])),
        "net": exp.net_words(cfg),
        "weights_per_trial": n_weights,
        "config": {**cfg, "rule": exp.rule, "optimizer": exp.optimizer, "engine": exp.engine},
        "method": {"ours": exp.method_words(cfg), "paper": pub["method"]},
        "criterion": exp.criterion_words(cfg),
        "differences_from_paper": list(exp.notes),
        "unit": exp.unit,
        "trials": trials,
        "seed": seed,
        "seeds": seeds,
        "trials_per_batch": group,
        "budget": budget,
        "time_limit_s": time_limit,
        "per_trial": per_trial,
        "summary": summarise(per_trial),
        "published": pub,
        "wall_time_s": round(wall, 2),
        "groups": groups,
        "versions": {"minilstm": __version__, "numpy": np.__version__,
                     "python": platform.python_version(), "platform": platform.platform(),
                     "backend": backend_name,
                     "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                     "git_commit": git_commit()},
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    result["time_limit_hit"] = _time_limit_hit(result)
    if return_params:
        result["_params"] = params
    return result


def git_commit():
    """The commit of the minilstm checkout (``+dirty`` if it has uncommitted changes), or None
    where there is no git or no repository (an installed package, a copied tree)."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def summarise(per_trial):
    """Success rate and statistics of the counts to success over the successful trials."""
    n = len(per_trial)
    counts = [r["sequences_to_success"] for r in per_trial if r["success"]]
    out = {"n_trials": n, "n_success": len(counts), "success_rate": len(counts) / n if n else None,
           "mean_to_success": None, "median_to_success": None, "min_to_success": None,
           "max_to_success": None, "std_to_success": None}
    if counts:
        c = np.asarray(counts, dtype=float)
        out.update(mean_to_success=float(c.mean()), median_to_success=float(np.median(c)),
                   min_to_success=int(c.min()), max_to_success=int(c.max()),
                   std_to_success=float(c.std(ddof=1)) if len(c) > 1 else 0.0)
    extra = {}
    for key in ("test_wrong", "final_test_run", "perfect_final", "solved_at_end", "diverged"):
        vals = [r[key] for r in per_trial if key in r]
        if vals:
            extra[key] = vals
    if "perfect_final" in extra:
        out["perfect_final_rate"] = float(np.mean(extra["perfect_final"]))
    if "diverged" in extra:
        out["n_diverged"] = int(np.sum(extra["diverged"]))
    return out


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _num(x):
    return "n/a" if x is None else f"{x:,.0f}"


def format_table(result) -> str:
    """Our numbers beside the paper's, with trials, seeds, budget, method and wall time."""
    s, p = result["summary"], result["published"]
    unit = result["unit"]
    ours_succ = f"{_pct(s['success_rate'])} ({s['n_success']}/{s['n_trials']})"
    if "perfect_final_rate" in s:             # the papers' "perfect" is the comparable number
        n_perfect = int(round(s["perfect_final_rate"] * s["n_trials"]))
        ours_succ = f"{_pct(s['perfect_final_rate'])} ({n_perfect}/{s['n_trials']}) perfect"
    ours_mean = _num(s["mean_to_success"])
    if s["n_success"] > 1:
        ours_mean += f" (median {_num(s['median_to_success'])}, {_num(s['min_to_success'])}-{_num(s['max_to_success'])})"
    rows = [("", "trials", "success", f"mean {unit} to success", "method"),
            ("paper", "n/a" if p["trials"] is None else str(p["trials"]), _pct(p["success"]),
             _num(p["mean"]), p["method"]),
            ("ours", str(result["trials"]), ours_succ, ours_mean, result["method"]["ours"])]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [result["title"], "=" * min(100, len(result["title"]))]
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    seeds = result["seeds"]
    seed_txt = (f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0]))
    lines += [
        f"paper: {p['source']}" + (f"; {p['other']}" if p.get("other") else ""),
        f"ours:  {result['net']} ({result['weights_per_trial']} parameters per trial)",
        f"       {result['trials']} trials, seeds {seed_txt} (trial k: seed {result['seed']}+k), "
        f"budget {result['budget']:,} {unit} per trial, {result['trials_per_batch']} trials per batch",
        f"       success: {result['criterion']}",
    ]
    if "perfect_final_rate" in s:
        runs = [r.get("final_test_run") for r in result["per_trial"]]
        final_len = result["config"].get("final_test_len")
        lines.append(f"       success column: 'perfect' = {final_len:,} successive correct symbols "
                     f"on a fresh stream at the end; successive correct symbols per trial: {runs}")
        lines.append(f"       stop test passed ({result['config'].get('test_len'):,} successive): "
                     f"{_pct(s['success_rate'])} ({s['n_success']}/{s['n_trials']}); the mean "
                     f"column counts training symbols until it was passed")
    if any("test_wrong" in r for r in result["per_trial"]):
        wrong = [r["test_wrong"] for r in result["per_trial"]]
        lines.append(f"       test: wrong of {result['per_trial'][0]['test_sequences']:,} fresh "
                     f"sequences per trial: {wrong}")
    if _time_limit_hit(result):
        lines.append(f"       a time limit of {result['time_limit_s']:g} s per batch of trials stopped "
                     "training before the budget: unsolved trials saw fewer sequences (see "
                     "sequences_presented in the JSON)")
    lines.append(f"       backend {result['versions']['backend']}, wall time "
                 f"{result['wall_time_s']:.1f} s")
    return "\n".join(lines)


def _time_limit_hit(result):
    """True when a time limit stopped some unsolved trial before its budget."""
    return bool(result.get("time_limit_s")) and any(
        not r["success"] and r["sequences_presented"] < result["budget"]
        for r in result["per_trial"])


def save_params(result, path):
    """Write the trials' final weights of a ``return_params`` result to an ``.npz`` file
    (``trial{k}/{name}``: host arrays with the single model's names and shapes), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"trial{k}/{name}": v for k, p in enumerate(result["_params"]) for name, v in p.items()}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    result["params_file"] = str(path)
    return path


def write_json(result, path):
    """Write ``result`` (without private keys) as indented JSON, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in result.items() if not k.startswith("_")}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(clean, indent=1, default=_json_default) + "\n")
    tmp.replace(path)
    return path


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def main(argv=None):
    """The command line (:func:`minilstm.experiments.cli.main`), kept here for the callers of
    ``runner.main``."""
    from .cli import main as cli_main
    return cli_main(argv)
