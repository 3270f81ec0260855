#!/usr/bin/env python
r"""minilstm on a GPU (CuPy) against torch.nn.LSTM / torch.nn.GRU with cuDNN, and against itself on NumPy.

Run by ``benchmarks/gpu_check.sh`` (which runs it once with TF32 off and once with it on, then
merges the two); by hand::

    CUPY_TF32=0 .venv/bin/python benchmarks/bench_gpu.py --tf32 0 --out /tmp/tf32-off.json
    CUPY_TF32=1 .venv/bin/python benchmarks/bench_gpu.py --tf32 1 --out /tmp/tf32-on.json --numpy
    .venv/bin/python benchmarks/bench_gpu.py --report /tmp/tf32-*.json --out benchmarks/results/gpu-NAME

What is measured, for (B, T, I, H) = (64, 100, 64, 256) and (256, 200, 256, 1024), float32:

* minilstm's ``LSTM(I, H)`` (forget gate, no peepholes: Greff's NP, the cell cuDNN computes) and
  ``GRU(I, H)`` on CuPy: forward + backward (∂E/∂x and every weight gradient, ∂E/∂y given),
  median of ``--repeats`` timed calls after two warm-up calls, the device synchronised before
  the clock is read;
* the same for ``torch.nn.LSTM(I, H)`` / ``torch.nn.GRU(I, H)`` on the GPU (cuDNN) with autograd;
* ``--numpy``: minilstm on NumPy at the larger size (the GPU/CPU ratio);
* the 1997 rule on the trial axis (``Stack1997``, Exp. 4's net) at K = 1,000 trials: µs per
  trial-step (one online step of every trial: forward, partials, gradient, update).

**TF32.** On Ampere and later GPUs, float32 matrix products may run on tensor cores in TF32
(10-bit mantissa). CuPy does so only when ``CUPY_TF32=1`` is set before its first product;
PyTorch's cuDNN allows it by default (``torch.backends.cudnn.allow_tf32``) and its plain matrix
products do not (``torch.backends.cuda.matmul.allow_tf32``). This script sets both of torch's
flags to ``--tf32`` and refuses to run when ``CUPY_TF32`` disagrees, so each row compares the
two libraries at the same precision, and the report states it.

``--dry-run``: the same code on the strict stand-in for CuPy (``minilstm.strict``) at tiny
sizes, without torch and with K = 10 trials: what CI runs to keep this script working where
there is no GPU. Its times mean nothing; it also counts the device-to-host transfers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from minilstm import GRU, LSTM, backend, strict  # noqa: E402

SIZES = [(64, 100, 64, 256), (256, 200, 256, 1024)]          # (B, T, I, H)
DRY_SIZES = [(4, 6, 3, 8), (8, 10, 5, 16)]
TARGETS = {"vs_cudnn": 2.0, "vs_numpy": 10.0}                 # minilstm/torch <=, numpy/minilstm >=


def _sync(xp):
    if backend.backend_name(xp) == "cupy":
        xp.cuda.Device().synchronize()


def _median_time(run, repeats, sync):
    for _ in range(2):                                         # warm-up: kernels compiled, cached
        run()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _layer(model, I, H, backend_name):
    if model == "lstm":
        return LSTM(I, H, forget_gate=True, peepholes=False, seed=0, dtype="float32",
                    backend=backend_name)
    return GRU(I, H, seed=0, dtype="float32", backend=backend_name)


def time_minilstm(model, size, backend_name, repeats):
    """Seconds per forward + backward of minilstm's layer on ``backend_name``, and its transfers."""
    B, T, I, H = size
    xp = backend.get_backend(backend_name)
    layer = _layer(model, I, H, backend_name)
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal((T, B, I)).astype(np.float32))
    dy = xp.asarray(rng.standard_normal((T, B, H)).astype(np.float32))

    def run():
        y, cache = layer.forward(x)
        layer.backward(dy, cache)

    seconds = _median_time(run, repeats, lambda: _sync(xp))
    with strict.Transfers() as seen:
        run()
    return seconds, seen.total


def time_torch(model, size, tf32, repeats):
    """Seconds per forward + backward of torch's cuDNN layer, or None without torch or CUDA."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    B, T, I, H = size
    net = (torch.nn.LSTM if model == "lstm" else torch.nn.GRU)(I, H).cuda().float()
    x = torch.randn(T, B, I, device="cuda", requires_grad=True)
    dy = torch.randn(T, B, H, device="cuda")

    def run():
        y, _ = net(x)
        y.backward(dy)

    return _median_time(run, repeats, torch.cuda.synchronize)


def time_trials(K, steps, backend_name):
    """µs per trial-step of the 1997 rule on the trial axis (Exp. 4's net), and transfers per step."""
    from bench_trials import _inputs, _stack, _steps
    xp = backend.get_backend(backend_name)
    st = _stack("exp4_adding", K, backend_name)
    x, y, m = _inputs(st, steps, xp)
    _steps(st, x[:5], y[:5], m[:5])
    _sync(xp)
    t0 = time.perf_counter()
    with strict.Transfers() as seen:
        _steps(st, x, y, m)
    _sync(xp)
    return (time.perf_counter() - t0) / (steps * K) * 1e6, seen.total / steps


def device_name(backend_name):
    if backend_name == "cupy":
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    return f"{backend_name} on {platform.processor() or platform.machine()} (no GPU)"


def measure(args):
    backend_name = "strict" if args.dry_run else "cupy"
    env_tf32 = os.environ.get("CUPY_TF32", "0")
    if not args.dry_run and int(env_tf32) != args.tf32:
        sys.exit(f"bench_gpu.py: --tf32 {args.tf32} but CUPY_TF32={env_tf32}: set both alike")
    sizes = DRY_SIZES if args.dry_run else SIZES
    rows = []
    for model in ("lstm", "gru"):
        for size in sizes:
            ours, transfers = time_minilstm(model, size, backend_name, args.repeats)
            theirs = None if args.dry_run else time_torch(model, size, args.tf32, args.repeats)
            row = {"model": model, "size": list(size), "dtype": "float32", "tf32": args.tf32,
                   "minilstm_s": ours, "torch_s": theirs, "transfers_per_call": transfers}
            if args.numpy and size == sizes[-1]:
                row["numpy_s"] = time_minilstm(model, size, "numpy", max(1, args.repeats // 3))[0]
            rows.append(row)
            print(json.dumps(row), flush=True)
    K = 10 if args.dry_run else args.trials
    us, per_step = time_trials(K, 20 if args.dry_run else args.trial_steps, backend_name)
    return {"device": device_name(backend_name), "backend": backend_name, "tf32": args.tf32,
            "cupy": _version("cupy"), "torch": _version("torch"), "numpy": np.__version__,
            "dry_run": args.dry_run, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rows": rows, "trials": {"K": K, "us_per_trial_step": us,
                                     "transfers_per_step": per_step}}


def _version(name):
    try:
        return __import__(name).__version__
    except ImportError:
        return None


def _ms(s):
    return "–" if s is None else f"{s * 1e3:.2f}"


def report(runs):
    """One Markdown page from the runs (one per TF32 setting)."""
    first = runs[0]
    lines = [f"# minilstm on a GPU: {first['device']}", "",
             f"{first['date']}; CuPy {first['cupy']}, torch {first['torch']}, NumPy {first['numpy']}."
             + (" **Dry run on the strict stand-in: the times mean nothing.**" if first["dry_run"]
                else ""), "",
             "Forward + backward, float32, median of the timed calls; ratio = minilstm / torch "
             f"(target ≤ {TARGETS['vs_cudnn']:g}); NumPy / GPU at the larger size (target ≥ "
             f"{TARGETS['vs_numpy']:g}). TF32: the same setting on both sides (CuPy's CUPY_TF32, "
             "torch's cuDNN and matmul flags).", "",
             "| model | (B, T, I, H) | TF32 | minilstm ms | torch (cuDNN) ms | ratio | NumPy ms | NumPy / GPU | transfers |",
             "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for r in run["rows"]:
            ratio = "–" if r["torch_s"] is None else f"{r['minilstm_s'] / r['torch_s']:.2f}"
            speed = "–" if "numpy_s" not in r else f"{r['numpy_s'] / r['minilstm_s']:.1f}"
            lines.append(f"| {r['model']} | {tuple(r['size'])} | {'on' if r['tf32'] else 'off'} | "
                         f"{_ms(r['minilstm_s'])} | {_ms(r['torch_s'])} | {ratio} | "
                         f"{_ms(r.get('numpy_s'))} | {speed} | {r['transfers_per_call']} |")
    lines += ["", "The 1997 rule on the trial axis (Exp. 4's net, one online step of every trial):", ""]
    for run in runs:
        t = run["trials"]
        lines.append(f"- TF32 {'on' if run['tf32'] else 'off'}: K = {t['K']}: "
                     f"{t['us_per_trial_step']:.3f} µs per trial-step, "
                     f"{t['transfers_per_step']:g} device-to-host transfers per step")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tf32", type=int, choices=(0, 1), default=0)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--numpy", action="store_true", help="also minilstm on NumPy at the larger size")
    p.add_argument("--trials", type=int, default=1000, help="K for the trial-axis timing")
    p.add_argument("--trial-steps", type=int, default=200)
    p.add_argument("--dry-run", action="store_true", help="strict stand-in, tiny sizes, no torch")
    p.add_argument("--report", nargs="+", metavar="JSON", help="merge runs into OUT.md and OUT.json")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.report:
        runs = [json.loads(Path(f).read_text()) for f in args.report]
        Path(args.out + ".json").write_text(json.dumps(runs, indent=1) + "\n")
        Path(args.out + ".md").write_text(report(runs))
        print(f"wrote {args.out}.md and {args.out}.json")
        return
    Path(args.out).write_text(json.dumps(measure(args), indent=1) + "\n")


if __name__ == "__main__":
    main()
