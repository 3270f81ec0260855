#!/usr/bin/env python
r"""minilstm against PyTorch on the CPU: time and peak memory; and full BPTT against the 1997 rule.

Run from the repository root (torch is optional: ``.venv/bin/pip install torch==2.13.0``)::

    .venv/bin/python benchmarks/bench_torch.py            # full run: ~2.5 min on 2 quiet cores (longer under load)
    .venv/bin/python benchmarks/bench_torch.py --quick    # ~30 s: 3 repeats, T <= 1000 in part 2

Part 1 (needs torch): forward, and forward + backward, of ``minilstm.nn.lstm.LSTM(I, H,
forget_gate=True, peepholes=False)`` (the ``no_peepholes`` preset, Greff's NP) against
``torch.nn.LSTM(I, H)``, and of ``minilstm.nn.gru.GRU`` against ``torch.nn.GRU``, for
(B, T, I, H) = (32, 100, 32, 128), (64, 100, 64, 256), (1, 1000, 8, 32), in float32 and float64.
Both libraries run in this one process, interleaved (mini, torch, torch, mini, ...), each after
warm-up runs and each timed call right after an untimed one of its own (see ``interleaved``);
the table gives medians and the ratio minilstm / torch. The LSTM weights are copied
into torch and the outputs and gradients compared, so both compute the same function. torch's GRU
is a *different* model (reset gate after the recurrent product, cuDNN style), of the same cost.

Part 2 (minilstm only): time and peak memory against the sequence length T of the full gradient
(BPTT: ``forward`` + ``backward``) and of the 1997 truncated rule
(``minilstm.rtrl1997.sequence_gradient``), when that module is present and working.

What is measured
----------------
* Time: wall clock (``time.perf_counter``) of one call, garbage collector off during the call (as
  ``timeit`` does). minilstm ``forward`` keeps its cache for ``backward``, so torch's forward is
  run with autograd on (``x.requires_grad``); forward + backward returns ∂E/∂x and every weight
  gradient in both, with ∂E/∂y given.
* Memory, minilstm: ``tracemalloc`` peak over the call minus what was traced before it (NumPy
  reports its data buffers to tracemalloc; Python objects count too).
* Memory, torch: the peak of "Total Allocated" of torch's CPU allocator over the call, from the
  profiler's memory events (``torch.profiler``, ``profile_memory=True``): tensor storage,
  including what autograd saves; not Python objects, not the BLAS's private buffers.
* Threads: the same count for both (``--threads``, default 2): ``OPENBLAS_NUM_THREADS``,
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``torch.set_num_threads``. They are set before
  NumPy is imported, with ``OPENBLAS_THREAD_TIMEOUT=20`` so that OpenBLAS's idle threads go to
  sleep quickly instead of spinning on torch's cores.

The results go to ``benchmarks/results/`` as JSON (every sample) and Markdown (the tables).
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [(32, 100, 32, 128), (64, 100, 64, 256), (1, 1000, 8, 32)]      # (B, T, I, H)
DTYPES = ("float64", "float32")
MODELS = ("lstm", "gru")
#: targets for the ratio minilstm / torch of forward + backward: {dtype: (B >= 32, B = 1)}
TARGETS = {"float64": (1.0, 0.5), "float32": (2.0, 2.5)}
INSTALL_HINT = (".venv/bin/pip install torch==2.13.0   (a CPU build; torch is never a dependency "
                "of minilstm or of its tests)")

np = torch = None            # imported in main(), after the thread settings


# ---- set-up ---------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repeats and shorter T (about 1 minute)")
    p.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    p.add_argument("--parts", default="compare,scaling",
                   help="comma-separated: compare (vs torch), scaling (BPTT vs the 1997 rule against T)")
    p.add_argument("--models", default=",".join(MODELS), help="lstm,gru (default both)")
    p.add_argument("--dtypes", default=",".join(DTYPES), help="float64,float32 (default both)")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"),
                   help="folder for the JSON and Markdown results ('' to write nothing)")
    p.add_argument("--no-torch", action="store_true", help="behave as if torch were not installed")
    p.add_argument("--clock", choices=("wall", "thread"), default="wall",
                   help="wall: time.perf_counter (default); thread: CPU time of this thread "
                        "(time.thread_time), which other processes on a busy machine do not inflate; "
                        "only meaningful with --threads 1, where all the work runs on this thread")
    args = p.parse_args(argv)
    if args.clock == "thread" and args.threads != 1:
        p.error("--clock thread measures this thread only: use it with --threads 1")
    return args


def set_threads(n):
    """Thread settings that the BLAS libraries read when they load: call before importing NumPy."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")


def import_torch(disabled):
    if disabled:
        return None
    try:
        import torch as _torch
    except ImportError:
        return None
    return _torch


def machine_info(threads):
    def cpu_model():
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
            for line in out.splitlines():
                if line.startswith("Model name"):
                    return line.split(":", 1)[1].strip()
        except (OSError, subprocess.SubprocessError):
            pass
        return platform.processor() or "unknown"

    def git_commit():
        try:
            return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=10).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:       # older NumPy: no dict mode
        pass
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "threads": threads,
        "clock": "wall (time.perf_counter)" if CLOCK is time.perf_counter else "CPU time of the thread (time.thread_time)",
        "python": platform.python_version(), "numpy": np.__version__, "numpy_blas": blas,
        "torch": getattr(torch, "__version__", None), "git_commit": git_commit(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                               "MKL_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")},
        "loadavg_start": list(os.getloadavg()),
    }
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        pi = torch.__config__.parallel_info().splitlines()
        info["torch_parallel"] = [s.strip() for s in pi if "backend" in s or "Math Kernel" in s or "MKL-DNN" in s]
    return info


# ---- timing ---------------------------------------------------------------------------------
CLOCK = time.perf_counter


def timed(fn):
    """Seconds (``CLOCK``) of one call of ``fn`` with the garbage collector off.

    (No ``gc.collect()`` before it: with torch imported a full collection takes ~0.15 s; the
    objects that exist at start-up are frozen out of the collector's sight in ``main``.)"""
    gc.disable()
    try:
        t0 = CLOCK()
        fn()
        return CLOCK() - t0
    finally:
        gc.enable()


def interleaved(fns, repeats, warmup):
    """Run ``fns`` (a dict name -> callable) in turn, the order reversed every other round.

    Each timed call comes right after an untimed call of the same function. Without it, a call
    just after the other library's pays for that library's idle threads: torch's OpenMP
    (libgomp) workers spin-wait after a parallel region, on the core that NumPy's OpenBLAS wants
    for its second thread (measured: minilstm's float32 LSTM forward at B = 32 took 28 ms right
    after a torch call, 16 ms on its own). The settling call lets those threads go to sleep, so
    each library is timed as it runs alone, its own threads' spinning included."""
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    samples = {n: [] for n in names}
    for r in range(repeats):
        for n in (names if r % 2 == 0 else names[::-1]):
            fns[n]()                                  # settling call (see the docstring)
            samples[n].append(timed(fns[n]))
    return samples


def summary(s):
    q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0]] * 3
    return {"median_ms": 1e3 * statistics.median(s), "q1_ms": 1e3 * q[0], "q3_ms": 1e3 * q[2],
            "min_ms": 1e3 * min(s), "n": len(s)}


# ---- memory ---------------------------------------------------------------------------------
def numpy_peak_bytes(fn):
    """tracemalloc peak over one call of ``fn``, minus what was traced before it."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def torch_peak_bytes(fn):
    """Peak of torch's CPU allocator ("Total Allocated") over one call, from the profiler, and its
    peak before the first backward op (the forward's share, with what autograd keeps).

    Also returns which path torch took: the names of its recurrent ops (e.g. the fused oneDNN
    ``aten::mkldnn_rnn_layer``, or per-step cells) and how many ops it ran."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
        del result
    with tempfile.TemporaryDirectory() as d:            # the trace, not key_averages(): much faster
        path = os.path.join(d, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    mem = [(e["ts"], e["args"]["Total Allocated"]) for e in events
           if e.get("name") == "[memory]" and e.get("args", {}).get("Device Type", 0) == 0]
    ops = [e for e in events if e.get("cat") == "cpu_op"]
    t_backward = min((e["ts"] for e in ops if "autograd::engine" in e["name"] or "Backward" in e["name"]),
                     default=float("inf"))
    peak = max((m for _, m in mem), default=0)
    peak_forward = max((m for ts, m in mem if ts < t_backward), default=0)
    rnn_ops = sorted({e["name"] for e in ops if any(k in e["name"].lower() for k in ("rnn", "lstm", "gru"))})
    return peak, peak_forward, {"recurrent_ops": rnn_ops, "n_ops": len(ops)}


# ---- part 1: against torch ------------------------------------------------------------------
def build_pair(kind, I, H, dtype, seed=0):
    """The minilstm layer and the torch module with the same weights (torch's hidden bias 0)."""
    from minilstm.nn.gru import GRU
    from minilstm.nn.lstm import LSTM
    tdt = getattr(torch, dtype)
    if kind == "lstm":
        m = LSTM(I, H, forget_gate=True, peepholes=False, seed=seed, dtype=dtype)
        t = torch.nn.LSTM(I, H).to(tdt)
        order = ("i", "f", "z", "o")                         # torch's gate order is i, f, g, o
    else:
        m = GRU(I, H, seed=seed, dtype=dtype)
        t = torch.nn.GRU(I, H).to(tdt)
        order = ("r", "u", "h")                              # torch's r, z, n: z is our u
    p = m.params
    with torch.no_grad():
        t.weight_ih_l0.copy_(torch.from_numpy(np.concatenate([p[f"W_{k}"] for k in order])))
        t.weight_hh_l0.copy_(torch.from_numpy(np.concatenate([p[f"R_{k}"] for k in order])))
        t.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([p[f"b_{k}"] for k in order])))
        t.bias_hh_l0.zero_()
    return m, t, order


def lstm_agreement(m, t, order, x, dy):
    """Largest relative differences of y, ∂E/∂x and the weight gradients (LSTM only)."""
    y, cache = m.forward(x)
    dx, grads = m.backward(dy, cache)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    t.zero_grad(set_to_none=True)
    yt, _ = t(xt)
    yt.backward(torch.from_numpy(dy))

    def rel(a, b):
        return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
    dW = np.concatenate([grads[f"W_{k}"] for k in order])
    dR = np.concatenate([grads[f"R_{k}"] for k in order])
    return {"y": rel(y, yt.detach().numpy()), "dx": rel(dx, xt.grad.numpy()),
            "dW": rel(dW, t.weight_ih_l0.grad.numpy()), "dR": rel(dR, t.weight_hh_l0.grad.numpy())}


def compare_one(kind, dtype, size, repeats, warmup):
    B, T, I, H = size
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, I)).astype(dtype)
    dy = rng.standard_normal((T, B, H)).astype(dtype)
    m, t, order = build_pair(kind, I, H, dtype)
    xt = torch.from_numpy(x).requires_grad_(True)
    dyt = torch.from_numpy(dy)

    def mini_fwd():
        return m.forward(x)

    def mini_fb():
        y, cache = m.forward(x)
        return m.backward(dy, cache)

    def torch_fwd():
        return t(xt)

    def torch_fb():
        t.zero_grad(set_to_none=True)
        xt.grad = None
        y, _ = t(xt)
        y.backward(dyt)
        return xt.grad

    s = interleaved({"mini_fwd": mini_fwd, "torch_fwd": torch_fwd, "mini_fb": mini_fb, "torch_fb": torch_fb},
                    repeats, warmup)
    row = {"model": kind, "dtype": dtype, "B": B, "T": T, "I": I, "H": H,
           **{k: summary(v) for k, v in s.items()},
           "samples_ms": {k: [1e3 * a for a in v] for k, v in s.items()}}
    for what in ("fwd", "fb"):
        row[f"ratio_{what}"] = row[f"mini_{what}"]["median_ms"] / row[f"torch_{what}"]["median_ms"]
        row[f"ratio_{what}_paired"] = statistics.median(
            a / b for a, b in zip(s[f"mini_{what}"], s[f"torch_{what}"]))
        row[f"ratio_{what}_min"] = row[f"mini_{what}"]["min_ms"] / row[f"torch_{what}"]["min_ms"]
    target = TARGETS[dtype][1 if B == 1 else 0]
    row["target_fb"] = target
    row["target_met"] = row["ratio_fb"] <= target
    row["mem_mini_fwd"] = numpy_peak_bytes(mini_fwd)
    row["mem_mini_fb"] = numpy_peak_bytes(mini_fb)
    row["mem_torch_fb"], row["mem_torch_fwd"], row["torch_path"] = torch_peak_bytes(torch_fb)
    if kind == "lstm":
        row["agreement"] = lstm_agreement(m, t, order, x, dy)
    return row


def run_compare(args, report):
    repeats = {(1, 1000, 8, 32): 11, (32, 100, 32, 128): 11, (64, 100, 64, 256): 9}
    rows = []
    for size in SIZES:
        for dtype in args.dtypes:
            for kind in args.models:
                n = 3 if args.quick else repeats[size]
                w = 1 if (args.quick or size[0] == 64) else 2           # warm-up rounds
                row = compare_one(kind, dtype, size, n, w)
                rows.append(row)
                ok = "yes" if row["target_met"] else "NO"
                print(f"  {kind:4s} {dtype} B,T,I,H={size}: fwd {row['mini_fwd']['median_ms']:8.1f} / "
                      f"{row['torch_fwd']['median_ms']:8.1f} ms = {row['ratio_fwd']:5.2f}   fwd+bwd "
                      f"{row['mini_fb']['median_ms']:8.1f} / {row['torch_fb']['median_ms']:8.1f} ms = "
                      f"{row['ratio_fb']:5.2f} (target <= {row['target_fb']}: {ok})", flush=True)
    report["compare"] = rows


# ---- part 2: BPTT against the 1997 rule, against T --------------------------------------------
def rtrl_status():
    """``(sequence_gradient, None)`` when minilstm.rtrl1997 is there and passes a check, else ``(None, why)``."""
    try:
        from minilstm import rtrl1997
        from minilstm.nn.lstm import LSTM
        fn = rtrl1997.sequence_gradient
    except Exception as e:                                   # absent or broken on import
        return None, f"minilstm.rtrl1997 not usable: {type(e).__name__}: {e}"
    try:                                                     # T = 1: the truncated gradient is the full one
        layer = LSTM(3, 4, forget_gate=True, peepholes=False, seed=0, init_scale=0.5)
        rng = np.random.default_rng(0)
        x, dy = rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 2, 4))
        g = fn(layer, x, dy)
        _, ref = layer.backward(dy, layer.forward(x)[1])
        err = max(float(np.abs(g[k] - ref[k]).max()) for k in ref)
        if not err < 1e-10:
            return None, f"minilstm.rtrl1997.sequence_gradient differs from BPTT at T = 1 by {err:.1e}"
    except Exception as e:
        return None, f"minilstm.rtrl1997.sequence_gradient failed its check: {type(e).__name__}: {e}"
    return fn, None


def run_scaling(args, report):
    from minilstm.nn.lstm import LSTM
    B, I, H, dtype = 1, 8, 32, "float64"
    Ts = [100, 300, 1000] if args.quick else [100, 300, 1000, 3000, 10000]
    rtrl, why = rtrl_status()
    if why:
        print(f"  note: {why}; only BPTT is measured", flush=True)
    layer = LSTM(I, H, forget_gate=True, peepholes=False, seed=0, dtype=dtype)
    rows = []
    for T in Ts:
        rng = np.random.default_rng(2)
        x = rng.standard_normal((T, B, I))
        dy = rng.standard_normal((T, B, H))

        def bptt():
            y, cache = layer.forward(x)
            return layer.backward(dy, cache)

        fns = {"bptt": bptt}
        if rtrl is not None:
            fns["rtrl1997"] = lambda: rtrl(layer, x, dy)
        n = 3 if (args.quick or T >= 3000) else 5
        s = interleaved(fns, n, 1)
        row = {"T": T, "B": B, "I": I, "H": H, "dtype": dtype}
        for k, v in s.items():
            row[k] = {**summary(v), "peak_bytes": numpy_peak_bytes(fns[k])}
        rows.append(row)
        print(f"  T={T:6d}: " + "   ".join(f"{k} {row[k]['median_ms']:8.1f} ms, peak "
                                           f"{row[k]['peak_bytes'] / 2**20:7.2f} MiB" for k in s), flush=True)
    report["scaling"] = {"rows": rows, "rtrl1997": why or "included",
                         "input_bytes_per_step": B * (I + H) * 8}


# ---- output ---------------------------------------------------------------------------------
def markdown(report):
    info = report["machine"]
    lines = [f"# minilstm vs torch on the CPU ({'quick' if report['quick'] else 'full'} run)", "",
             f"- date: {info['date']}; commit {info['git_commit']} (the working tree may differ)",
             f"- CPU: {info['cpu']}, {info['logical_cpus']} logical CPUs; threads: {info['threads']} for both; "
             f"clock: {info['clock']}",
             f"- Python {info['python']}, NumPy {info['numpy']} ({info['numpy_blas']}), torch {info['torch']}"
             + (f" ({'; '.join(info.get('torch_parallel', []))})" if info.get("torch_parallel") else ""),
             f"- load average (1, 5, 15 min) at start {fmt_load(info['loadavg_start'])}, at end "
             f"{fmt_load(info.get('loadavg_end', []))}: other processes on the machine share its cores",
             ""]
    if report.get("torch_missing"):
        lines += [f"torch is not installed: part 1 was skipped. Install it with `{INSTALL_HINT}`.", ""]
    if report.get("compare"):
        lines += ["## Part 1: minilstm / torch, medians of interleaved runs (ms)", "",
                  "**f+b ratio** = median(minilstm) / median(torch) of forward + backward; in brackets the "
                  "median of the per-round ratios and the ratio of the minima (less sensitive to other "
                  "processes on the machine).", "",
                  "| model | dtype | B, T, I, H | fwd minilstm | fwd torch | fwd ratio | f+b minilstm "
                  "| f+b torch | **f+b ratio** (paired, min) | target | peak MiB f+b minilstm / torch |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report["compare"]:
            mark = "met" if r["target_met"] else "**not met**"
            lines.append(
                f"| {r['model'].upper()} | {r['dtype']} | {r['B']}, {r['T']}, {r['I']}, {r['H']} "
                f"| {r['mini_fwd']['median_ms']:.1f} | {r['torch_fwd']['median_ms']:.1f} | {r['ratio_fwd']:.2f} "
                f"| {r['mini_fb']['median_ms']:.1f} | {r['torch_fb']['median_ms']:.1f} "
                f"| **{r['ratio_fb']:.2f}** ({r['ratio_fb_paired']:.2f}, {r['ratio_fb_min']:.2f}) "
                f"| ≤ {r['target_fb']} {mark} "
                f"| {r['mem_mini_fb'] / 2**20:.1f} / {r['mem_torch_fb'] / 2**20:.1f} |")
        lines += ["", "Peak memory of the forward pass alone (MiB, minilstm / torch): " + "; ".join(
            f"{r['model'].upper()} {r['dtype']} B={r['B']}: {r['mem_mini_fwd'] / 2**20:.1f} / "
            f"{r['mem_torch_fwd'] / 2**20:.1f}" for r in report["compare"]) + ".", ""]
        agree = [r for r in report["compare"] if "agreement" in r]
        if agree:
            lines += ["LSTM agreement with torch (same weights; largest difference relative to the largest "
                      "value): " + "; ".join(
                          f"{r['dtype']} B={r['B']}: y {r['agreement']['y']:.0e}, dx {r['agreement']['dx']:.0e}, "
                          f"dW {r['agreement']['dW']:.0e}, dR {r['agreement']['dR']:.0e}" for r in agree) + ".", ""]
        lines += ["torch's path (its recurrent ops in forward + backward, and the number of ops it ran): "
                  + "; ".join(f"{r['model'].upper()} {r['dtype']} B={r['B']}: "
                              f"{', '.join(r['torch_path']['recurrent_ops'])} ({r['torch_path']['n_ops']} ops)"
                              for r in report["compare"]) + ".", ""]
    sc = report.get("scaling")
    if sc:
        has_rtrl = any("rtrl1997" in r for r in sc["rows"])
        lines += ["## Part 2: full BPTT vs the 1997 truncated rule, against T (minilstm, float64)", "",
                  f"LSTM(I={sc['rows'][0]['I']}, H={sc['rows'][0]['H']}, forget gate, no peepholes), "
                  f"B = {sc['rows'][0]['B']}; time: median ms; memory: tracemalloc peak MiB over the call "
                  f"(x and ∂E/∂y, {sc['input_bytes_per_step']} bytes per step, exist before it). "
                  f"1997 rule: {sc['rtrl1997']}.", "",
                  "| T | BPTT ms | BPTT peak MiB |" + (" 1997 rule ms | 1997 rule peak MiB |" if has_rtrl else ""),
                  "|---:|---:|---:|" + ("---:|---:|" if has_rtrl else "")]
        for r in sc["rows"]:
            line = f"| {r['T']} | {r['bptt']['median_ms']:.1f} | {r['bptt']['peak_bytes'] / 2**20:.2f} |"
            if has_rtrl:
                line += f" {r['rtrl1997']['median_ms']:.1f} | {r['rtrl1997']['peak_bytes'] / 2**20:.2f} |"
            lines.append(line)
        lines.append("")
    lines.append(f"Total benchmark time: {report['seconds']:.0f} s.")
    return "\n".join(lines) + "\n"


def fmt_load(load):
    return ", ".join(f"{v:.1f}" for v in load) if load else "?"


def main(argv=None):
    global np, torch, CLOCK
    args = parse_args(argv)
    CLOCK = time.thread_time if args.clock == "thread" else time.perf_counter
    set_threads(args.threads)
    import numpy
    np = numpy
    sys.path.insert(0, ROOT)                                 # minilstm from this checkout
    torch = import_torch(args.no_torch)
    if torch is not None:
        torch.set_num_threads(args.threads)
    args.models = [m for m in args.models.split(",") if m]
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    parts = {p for p in args.parts.split(",") if p}
    gc.collect()
    gc.freeze()                                              # start-up objects: out of the collector's way
    t_start = time.perf_counter()
    report = {"quick": args.quick, "machine": machine_info(args.threads)}
    print(f"{report['machine']['cpu']}, {args.threads} threads; NumPy {np.__version__}, "
          f"torch {report['machine']['torch'] or '(not installed)'}", flush=True)
    if "compare" in parts:
        if torch is None:
            report["torch_missing"] = True
            print(f"torch is not installed, so minilstm is not compared with it. Install it with\n"
                  f"    {INSTALL_HINT}", flush=True)
        else:
            print("Part 1: minilstm / torch (median ms)", flush=True)
            run_compare(args, report)
    if "scaling" in parts:
        print("Part 2: full BPTT vs the 1997 rule, against T", flush=True)
        run_scaling(args, report)
    report["seconds"] = time.perf_counter() - t_start
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    if args.out and (report.get("compare") or report.get("scaling")):
        os.makedirs(args.out, exist_ok=True)
        stem = "bench-" + datetime.datetime.now().strftime("%Y%m%d-%H%M") + f"-{args.threads}t" + (
            "-cpuclock" if args.clock == "thread" else "") + ("-quick" if args.quick else "")
        with open(os.path.join(args.out, stem + ".json"), "w") as f:
            json.dump(report, f, indent=1)
        with open(os.path.join(args.out, stem + ".md"), "w") as f:
            f.write(markdown(report))
        print(f"wrote {os.path.join(args.out, stem)}.json and .md", flush=True)
    print(f"done in {report['seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
