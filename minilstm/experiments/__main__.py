"""``python -m minilstm.experiments NAME ...`` (see :mod:`minilstm.experiments.runner`).

The nets are tiny, so a multi-threaded BLAS only adds contention (measured: 10 packed trials
ran 5-30x slower with OpenBLAS threads competing on 2 busy cores). Unless the caller chose a
thread count, we restart once with one BLAS thread; the variable must be set before NumPy loads.
"""
import os
import sys

_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

if __name__ == "__main__":
    if not any(v in os.environ for v in _VARS) and "MINILSTM_NO_REEXEC" not in os.environ:
        env = dict(os.environ, **{v: "1" for v in _VARS}, MINILSTM_NO_REEXEC="1")
        os.execve(sys.executable, [sys.executable, "-m", "minilstm.experiments", *sys.argv[1:]], env)
    from .runner import main
    sys.exit(main())
