"""Benchmark: the 1997 rule with the trials on one array axis (minilstm.train.online1997.Stack1997).

Measures, on one BLAS thread (set before NumPy is imported):

1. time per trial-step of one online step of the 1997 rule with SGD (forward, partials,
   gradient, update) for K = 1, 5, 10, 30, 100 on the nets of Exp. 1 (3x2, 276 weights) and
   Exp. 4 (2x2, 93 weights), each the median of ``--repeats`` runs of ``--steps`` steps;
2. the command-line run of the issue, ``python -m minilstm.experiments exp1_reber --trials K
   --budget 3000 --set check_every_steps=1000000 --quiet`` for K = 5 and 40 (wall clock of the
   whole process), with ``--reference DIR`` also in the checkout DIR (e.g. the commit before the
   trial axis: ``git worktree add /tmp/ref f7c3dc7``), side by side in this run;
3. memory: bytes held by the stack per trial, after 10 and after 1,000 steps;
4. one update of mini-batch BPTT + Adam (16 sequences of T = 100 per trial, Exp. 4's net) on the
   trial axis and, side by side, with the block-diagonal packing of minilstm.train.trials (K ≤ 40);
5. array operations per step and device-to-host transfers per step, counted on the strict
   stand-in for CuPy (every call it forwards to NumPy, and every write into an array, counts as
   one operation: on a GPU each is a kernel launch).

Usage: ``python benchmarks/bench_trials.py [--out benchmarks/results/NAME] [--reference DIR]``;
writes NAME.json and NAME.md. Timings depend on the machine and its load: the table names the
CPU, and only ratios within one run compare.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minilstm import backend, strict  # noqa: E402
from minilstm.experiments.registry import EXPERIMENTS, trial_seeds  # noqa: E402
from minilstm.experiments.runner import resolve_config  # noqa: E402
from minilstm.train.online1997 import Stack1997  # noqa: E402

NETS = {"exp1 (3x2, 276 weights)": "exp1_reber", "exp4 (2x2, 93 weights)": "exp4_adding"}


def _stack(name, K, xp_name="numpy"):
    exp = EXPERIMENTS[name]
    cfg = resolve_config(exp, backend_name=xp_name)
    return Stack1997([exp.build(cfg, trial_seeds(s)) for s in range(K)], lr=cfg["lr"],
                     loss=exp.loss)


def _inputs(st, steps, xp):
    rng = np.random.default_rng(0)
    K = st.K
    x = xp.asarray(rng.random((steps, K, 1, st.I)))
    y = xp.asarray(rng.random((steps, K, 1, st.O)))
    m = xp.asarray(np.ones((steps, K, 1, 1)))
    return x, y, m


def _steps(st, x, y, m):
    for t in range(x.shape[0]):
        st.step(x[t])
        st.update(*st.gradient(y[t], m[t]))


def time_per_trial_step(name, K, steps, repeats):
    st = _stack(name, K)
    x, y, m = _inputs(st, steps, np)
    _steps(st, x[:50], y[:50], m[:50])                      # settle
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _steps(st, x, y, m)
        runs.append(time.perf_counter() - t0)
    return float(np.median(runs)) / (steps * K) * 1e6        # µs per trial-step


def memory_per_trial(name, K):
    st = _stack(name, K)
    x, y, m = _inputs(st, 1000, np)
    _steps(st, x[:10], y[:10], m[:10])
    after10 = st.nbytes
    _steps(st, x[10:], y[10:], m[10:])
    return after10 / K, st.nbytes / K


class _Counter:
    """Counts what the strict stand-in forwards to NumPy, array writes, and host transfers."""

    def __init__(self):
        self.ops = self.transfers = 0

    def __enter__(self):
        self._call, self._setitem = strict._call, strict.StrictArray.__setitem__
        self._conv = {n: getattr(strict.StrictArray, n) for n in ("__float__", "__int__", "__bool__",
                                                                   "get", "__repr__", "__str__")}
        counter = self

        def call(*a, **k):
            counter.ops += 1
            return counter._call(*a, **k)

        def setitem(arr, key, value):
            counter.ops += 1
            return counter._setitem(arr, key, value)
        strict._call = call
        strict.StrictArray.__setitem__ = setitem
        for n, f in self._conv.items():
            def conv(arr, *a, _f=f, **k):
                counter.transfers += 1
                return _f(arr, *a, **k)
            setattr(strict.StrictArray, n, conv)
        return self

    def __exit__(self, *exc):
        strict._call = self._call
        strict.StrictArray.__setitem__ = self._setitem
        for n, f in self._conv.items():
            setattr(strict.StrictArray, n, f)


def bptt_update_ms(K, engine, batch=16, T=100, repeats=3):
    """ms per update of mini-batch BPTT + Adam on Exp. 4's net (93 weights), K trials: on the
    trial axis (``"stack"``) or packed block-diagonally (``"trialbatch"``, minilstm.train.trials)."""
    from minilstm.optim import Adam
    from minilstm.tasks import TASKS
    from minilstm.train import fit
    from minilstm.train.trials import TrialBatch
    exp = EXPERIMENTS["exp4_adding_bptt"]
    cfg = resolve_config(exp)
    models = [exp.build(cfg, trial_seeds(s)) for s in range(K)]
    bs = [TASKS["adding"](batch, np.random.default_rng(k), T=T) for k in range(K)]
    Tm = max(b.T for b in bs)
    if engine == "stack":
        st = Stack1997(models, lr=0.0, loss=exp.loss)
        opt = Adam(st.optimizer_params(), lr=0.01)
        pad = lambda arrs: np.stack([np.pad(a, ((0, Tm - a.shape[0]), (0, 0), (0, 0)))  # noqa: E731
                                     for a in arrs], axis=1)
        x, y = pad([b.x for b in bs]), pad([b.y for b in bs])
        m = pad([b.mask[..., None].astype(float) for b in bs])

        def update():
            gW, gV, _ = st.bptt(x, y, m)
            st.step_optimizer(opt, gW, gV)
    else:                                  # one update of fit, its guard read included
        tb = TrialBatch(models, loss=exp.loss)
        opt = Adam(tb.params, lr=0.01)
        data = [tb.pack([b.x for b in bs]), tb.pack([b.y for b in bs]), tb.pack([b.mask for b in bs])]

        def update():
            fit(tb, lambda u: data, opt, steps=1)
    update()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        update()
        runs.append(time.perf_counter() - t0)
    return float(np.median(runs)) * 1e3


def operations_per_step(name, K=10, steps=20):
    xp = backend.get_backend("strict")
    st = _stack(name, K, "strict")
    x, y, m = _inputs(st, steps, xp)
    with _Counter() as c:
        _steps(st, x, y, m)
    return c.ops / steps, c.transfers / steps


def cli_seconds(K, cwd):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=str(cwd))
    cmd = [sys.executable, "-m", "minilstm.experiments", "exp1_reber", "--trials", str(K),
           "--budget", "3000", "--set", "check_every_steps=1000000", "--quiet", "--out",
           os.devnull]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="write OUT.json and OUT.md")
    p.add_argument("--reference", default=None,
                   help="a checkout to run the same command-line runs in, side by side")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--Ks", default="1,5,10,30,100")
    args = p.parse_args(argv)
    Ks = [int(k) for k in args.Ks.split(",")]
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpu": cpu_name(),
           "numpy": np.__version__, "python": platform.python_version(),
           "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
           "load_average": os.getloadavg(), "per_trial_step_us": {}, "memory_bytes_per_trial": {},
           "ops_per_step": {}, "cli": {}}
    for label, name in NETS.items():
        res["per_trial_step_us"][label] = {K: time_per_trial_step(name, K, args.steps, args.repeats)
                                           for K in Ks}
        res["memory_bytes_per_trial"][label] = {K: memory_per_trial(name, K) for K in (1, 10, 100)}
        res["ops_per_step"][label] = dict(zip(("operations", "host_transfers"),
                                              operations_per_step(name)))
    res["bptt_update_ms"] = {engine: {K: bptt_update_ms(K, engine) for K in Ks if K <= 40 or
                                      engine == "stack"}
                             for engine in ("stack", "trialbatch")}
    trees = {"this checkout": ROOT}
    if args.reference:
        trees["reference " + args.reference] = Path(args.reference).resolve()
    for tree, path in trees.items():
        res["cli"][tree] = {K: cli_seconds(K, path) for K in (5, 40)}
    md = [f"# The 1997 rule on a trial axis: benchmark ({res['date']})", "",
          f"CPU: {res['cpu']}; NumPy {res['numpy']}, Python {res['python']}, "
          f"{res['blas_threads']} BLAS thread; load average at the start "
          f"{', '.join(f'{v:.2f}' for v in res['load_average'])}.", "",
          "## µs per trial-step (forward, partials, gradient, SGD update)", "",
          "| net | " + " | ".join(f"K = {K}" for K in Ks) + " |",
          "|---|" + "---|" * len(Ks)]
    for label, row in res["per_trial_step_us"].items():
        md.append(f"| {label} | " + " | ".join(f"{row[K]:.2f}" for K in Ks) + " |")
    md += ["", "## Memory (bytes per trial, after 10 and after 1,000 steps)", "",
           "| net | K = 1 | K = 10 | K = 100 |", "|---|---|---|---|"]
    for label, row in res["memory_bytes_per_trial"].items():
        md.append(f"| {label} | " + " | ".join(f"{a:,.0f} / {b:,.0f}" for a, b in row.values()) + " |")
    md += ["", "## Array operations per online step (strict stand-in, K = 10)", "",
           "| net | operations | device-to-host transfers |", "|---|---|---|"]
    for label, row in res["ops_per_step"].items():
        md.append(f"| {label} | {row['operations']:.1f} | {row['host_transfers']:.1f} |")
    md += ["", "## Mini-batch BPTT + Adam, one update of 16 sequences (T = 100) per trial, Exp. 4's "
               "net: ms per update (ms per trial)", "",
           "| engine | " + " | ".join(f"K = {K}" for K in Ks) + " |", "|---|" + "---|" * len(Ks)]
    for engine, row in res["bptt_update_ms"].items():
        md.append(f"| {engine} | " + " | ".join(
            f"{row[K]:.0f} ({row[K] / K:.1f})" if K in row else "–" for K in Ks) + " |")
    md += ["", "## `python -m minilstm.experiments exp1_reber --trials K --budget 3000 "
               "--set check_every_steps=1000000 --quiet` (s, whole process)", "",
           "| checkout | K = 5 | K = 40 | ratio K = 40 / K = 5 |", "|---|---|---|---|"]
    for tree, row in res["cli"].items():
        md.append(f"| {tree} | {row[5]:.1f} | {row[40]:.1f} | {row[40] / row[5]:.2f} |")
    text = "\n".join(md) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str) + "\n")
        out.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
