"""book/make_api.py loaded as a module: it finds the package's public modules and their imports,
which the API page, the docstring test and the architecture test all use."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_api():
    """The module book/make_api.py (``public_modules``, ``discover``, ``_imports``, ``render``)."""
    spec = importlib.util.spec_from_file_location("make_api", ROOT / "book" / "make_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
