"""benchmarks/gpu_check.sh, the one script a lent GPU runs, kept working on CPU CI: its dry run
(the strict stand-in for CuPy, tiny sizes, no torch) writes the results page with every row."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run_writes_every_row(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    run = subprocess.run([str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    pages = list(tmp_path.glob("gpu-*.md"))
    assert len(pages) == 1 and len(list(tmp_path.glob("gpu-*.json"))) == 1
    page = pages[0].read_text()
    assert "Dry run on the strict stand-in" in page
    rows = [line for line in page.splitlines() if re.match(r"\| (lstm|gru) \|", line)]
    assert len(rows) == 8                                  # 2 models x 2 sizes x TF32 off/on
    assert all(line.rstrip().endswith("| 2 |") for line in rows)   # transfers per call: the
    assert page.count("0 device-to-host transfers per step") == 2  # layers' entry checks only
    assert re.search(r"pytest -m gpu: \d+/\d+ tests collected", page)


def test_gpu_check_refuses_unknown_arguments():
    run = subprocess.run([str(ROOT / "benchmarks" / "gpu_check.sh"), "--fast"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "usage" in run.stderr
