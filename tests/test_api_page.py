"""The book's API reference (book/api.md) is what book/make_api.py makes from today's docstrings."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_api_page_is_current():
    run = subprocess.run([sys.executable, str(ROOT / "book" / "make_api.py"), "--check"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
