"""``python -m minilstm.experiments NAME ...`` (see :mod:`minilstm.experiments.cli`).

The nets are tiny, so a multi-threaded BLAS only adds contention (measured: 10 packed trials
ran 5-30x slower with OpenBLAS threads competing on 2 busy cores). The thread count must be set
before NumPy loads, and ``python -m`` has loaded it (through ``minilstm``) before this file runs:
so, unless the caller chose a count, the command restarts itself once with one BLAS thread, and
says so on stderr. Set ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) to
choose the count yourself and run without the restart.
"""
import os
import sys

_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

if __name__ == "__main__":
    if not any(v in os.environ for v in _VARS):
        print("python -m minilstm.experiments: restarting with one BLAS thread "
              "(OPENBLAS_NUM_THREADS=1; set it yourself to choose)", file=sys.stderr, flush=True)
        env = dict(os.environ, **{v: "1" for v in _VARS})
        os.execve(sys.executable, [sys.executable, "-m", "minilstm.experiments", *sys.argv[1:]], env)
    from .cli import main
    sys.exit(main())
