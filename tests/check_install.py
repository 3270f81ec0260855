#!/usr/bin/env python
"""Install minilstm as a student would and run the README's tour with it (`make test`, step 2).

1. copy what the package is built from (``pyproject.toml``, ``README.md``, ``minilstm/``) into a
   temporary folder, so that nothing is written into the work tree;
2. create a fresh virtual environment there (``--system-site-packages``: NumPy is taken from the
   base interpreter when it has a suitable one, else pip installs it);
3. ``pip install <copy>``: a regular, non-editable install, built in pip's isolated build
   environment (setuptools comes from PyPI or pip's cache, as for a student);
4. run the Python block under "A tour of minilstm" in README.md with that environment's Python,
   from the temporary folder (so the work tree's ``minilstm/`` is not on the path), and check
   that the ``minilstm`` it imported is the installed one.

Usage: ``python tests/check_install.py`` from the repository root; exits non-zero on failure.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tour_code(readme: str) -> str:
    """The first ```python block after the heading "## A tour of minilstm"."""
    section = readme.split("## A tour of minilstm", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    if match is None:
        raise SystemExit("README.md: no ```python block under '## A tour of minilstm'")
    return match.group(1)


def run(cmd, **kw):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="minilstm-install-") as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        shutil.copytree(ROOT / "minilstm", src / "minilstm",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env_dir = tmp / "venv"
        venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
        py = env_dir / "bin" / "python"
        run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", src])
        tour = tmp / "tour.py"
        tour.write_text(tour_code((ROOT / "README.md").read_text(encoding="utf-8")) + (
            "\nimport pathlib, sys\n"
            "where = pathlib.Path(minilstm.__file__).resolve()\n"
            f"assert str(where).startswith({str(env_dir.resolve())!r}), where\n"
            "print('the tour ran with the installed minilstm', minilstm.__version__)\n"))
        run([py, tour], cwd=tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
