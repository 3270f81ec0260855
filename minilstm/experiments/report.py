r"""Tables of result files: our rows beside the paper's, with intervals and a verdict in words.

Used by chapter 6, ``results/README.md`` and ``python -m minilstm.experiments --table DIR``.
Every row comes from one JSON file written by :func:`~minilstm.experiments.runner.write_json`;
rows trained by the paper's own method (``config["rule"] == "rtrl1997"`` with plain gradient
descent) come first, then the comparisons.

The success rate's 95% interval is Wilson's score interval for k successes of n trials:

.. math::

    \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}
         {1 + \frac{z^2}{n}}, \qquad \hat p = k/n,\ z = 1.96.

The verdict (:func:`verdict`) is a fixed rule, so that no row is judged by hand:

* no trial solved: *not reproduced*;
* the paper states a success rate above our interval, or states none (it reports the means of
  its solved trials) and our interval lies below 50%: *not reproduced* (rate);
* otherwise, with r = our mean / the paper's mean over solved trials: *reproduced* for
  r ≤ 1.5 (*reproduced, faster* below 2/3), *slower by a factor r* above 1.5;
* the paper gives no number for the row: *no published number*; a paper row of 0% success
  (a method that failed) and none of ours solved: *as the paper (0%)*.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..validate import check_int
from .registry import EXPERIMENTS

__all__ = ["wilson", "verdict", "load", "table", "is_paper_method"]

#: the order of the experiments in tables: the registry's (the papers' order), then any other
#: name found in a result file, by name
ORDER = tuple(EXPERIMENTS)


def wilson(k: int, n: int, z: float = 1.96) -> tuple:
    """Wilson's 95% score interval ``(lo, hi)`` for k successes in n trials (module docstring)."""
    n = check_int("n", n)                              # trials
    k = check_int("k", k, 0, n)                        # successes
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def is_paper_method(result) -> bool:
    """True for a run trained as the paper did: the 1997 rule with plain gradient descent."""
    cfg = result["config"]
    return cfg.get("rule") == "rtrl1997" and cfg.get("optimizer") == "sgd"


def verdict(result) -> str:
    """The row's verdict in words, by the fixed rule of the module docstring."""
    s, p = result["summary"], result["published"]
    k, n = s["n_success"], s["n_trials"]
    if p.get("mean") is None and p.get("success") is None:
        return "no published number"
    if p.get("success") == 0.0:
        return "as the paper (0%)" if k == 0 else "better than the paper's 0%"
    if k == 0:
        return "not reproduced"
    lo, hi = wilson(k, n)
    if p.get("success") is not None and hi < p["success"]:
        return f"not reproduced: {k}/{n} solved, paper {p['success']:.0%}"
    if p.get("success") is None and hi < 0.5:             # the paper reports its solved trials
        return f"not reproduced: {k}/{n} solved"
    if p.get("mean") is None:
        return "success rate as the paper's"
    r = s["mean_to_success"] / p["mean"]
    if r > 1.5:
        return f"slower by a factor {r:.1f}"
    return "reproduced, faster" if r < 2 / 3 else "reproduced"


def load(folder, prefix=("exp", "elman")) -> dict:
    """``{file stem: result}`` of the JSON results in ``folder`` whose experiment name starts with
    ``prefix``, paper-method rows first, each group in the paper's order of experiments."""
    found = {}
    for path in sorted(Path(folder).glob("*.json")):
        r = json.loads(path.read_text())
        if r.get("experiment", "").startswith(prefix):
            found[path.stem] = r

    def key(item):
        stem, r = item
        base = r["experiment"].removesuffix("_bptt")
        rank = ORDER.index(base) if base in ORDER else len(ORDER)
        return (not is_paper_method(r), rank, base, stem)
    return dict(sorted(found.items(), key=key))


def _count(x):
    return "–" if x is None else f"{x:,.0f}"


def _rate(x):
    return "n/a" if x is None else f"{x:.0%}"


def _row_label(stem, r):
    rule = {"rtrl1997": "1997 rule", "bptt": "BPTT", "truncated_bptt": "truncated BPTT"}
    how = rule.get(r["config"].get("rule"), "?") + (
        "" if r["config"].get("optimizer") == "sgd" else " + Adam")
    extra = stem[len(r["experiment"]):].strip("_").replace("_", " ")
    return f"`{r['experiment']}`{(' ' + extra) if extra else ''} ({how})"


def table(results: dict, columns: str = "all") -> str:
    """A markdown table: one row per result, the paper's numbers beside ours, and the verdict.

    ``columns="all"``: the run (experiment, variant, method); the paper's trials, success rate
    and mean sequences to success; our trials and seeds, budget, solved with its 95% Wilson
    interval, mean / median / range of sequences to success over the solved trials, test
    sequences wrong (range over trials, where the run tests), wall time; the verdict.
    ``"summary"``: the run, the paper's three numbers, ours (trials, solved, interval, mean) and
    the verdict; ``"detail"``: the run, seeds, budget, median, range, test wrong and wall time.
    A time limit that stopped unsolved trials before their budget is marked ``†``.
    """
    if columns not in ("all", "summary", "detail"):
        raise ValueError(f"columns must be 'all', 'summary' or 'detail', got {columns!r}")
    names = {"run": "run", "pt": "paper: trials", "ps": "success", "pm": "mean",
             "ot": "ours: trials", "seeds": "seeds", "budget": "budget", "solved": "solved",
             "ci": "95% CI", "mean": "mean", "median": "median", "range": "range",
             "test": "test wrong", "wall": "wall", "verdict": "verdict"}
    keep = {"all": ["run", "pt", "ps", "pm", "ot", "seeds", "budget", "solved", "ci", "mean",
                    "median", "range", "test", "wall", "verdict"],
            "summary": ["run", "pt", "ps", "pm", "ot", "solved", "ci", "mean", "verdict"],
            "detail": ["run", "seeds", "budget", "median", "range", "test", "wall"]}[columns]
    lines = ["| " + " | ".join(names[c] for c in keep) + " |",
             "|" + "|".join(":--" if c in ("run", "verdict") else "--:" for c in keep) + "|"]
    for stem, r in results.items():
        s, p, seeds = r["summary"], r["published"], r["seeds"]
        lo, hi = wilson(s["n_success"], s["n_trials"])
        wrong = [t["test_wrong"] for t in r["per_trial"] if t.get("test_wrong") is not None]
        test = "–"
        if wrong:
            n_test = r["per_trial"][0]["test_sequences"]
            test = f"{min(wrong):,}–{max(wrong):,} of {n_test:,}"
        cell = {
            "run": _row_label(stem, r), "pt": "n/a" if p.get("trials") is None else str(p["trials"]),
            "ps": _rate(p.get("success")), "pm": _count(p.get("mean")), "ot": str(r["trials"]),
            "seeds": f"{seeds[0]}–{seeds[-1]}",
            "budget": f"{r['budget'] / 1000:,.0f}k" + (" †" if r.get("time_limit_hit") else ""),
            "solved": f"{s['n_success']}/{s['n_trials']}", "ci": f"{lo:.0%}–{hi:.0%}",
            "mean": _count(s["mean_to_success"]), "median": _count(s["median_to_success"]),
            "range": ("–" if s["min_to_success"] is None else
                      f"{s['min_to_success']:,}–{s['max_to_success']:,}"),
            "test": test, "wall": f"{r['wall_time_s'] / 60:,.0f} min", "verdict": verdict(r)}
        lines.append("| " + " | ".join(cell[c] for c in keep) + " |")
    return "\n".join(lines)
