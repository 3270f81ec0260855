"""Every public name of minilstm has a docstring (the API reference and the book rely on them)."""
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import minilstm

from api_modules import make_api

SKIP = {"minilstm.experiments.__main__"}
ROOT = Path(__file__).resolve().parents[1]


def _public_modules():
    yield minilstm
    for info in pkgutil.walk_packages(minilstm.__path__, "minilstm."):
        file = ROOT.joinpath(*info.name.split(".")).with_suffix(".py")
        if file.exists() and make_api()._is_alias(file):
            continue                                  # an old name kept for one release
        if info.name not in SKIP and not info.name.rsplit(".", 1)[-1].startswith("_"):
            yield importlib.import_module(info.name)


def test_every_public_name_has_a_docstring():
    missing = []
    for mod in _public_modules():
        if not (mod.__doc__ or "").strip():
            missing.append(mod.__name__)
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name)
            if getattr(obj, "__module__", None) != mod.__name__:
                continue  # re-exported or imported: checked where it is defined
            if inspect.isclass(obj) or inspect.isfunction(obj):
                if not (obj.__doc__ or "").strip():
                    missing.append(f"{mod.__name__}.{name}")
                if inspect.isclass(obj):
                    for m, f in vars(obj).items():
                        if not m.startswith("_") and inspect.isfunction(f) and not (f.__doc__ or "").strip():
                            missing.append(f"{mod.__name__}.{name}.{m}")
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


# ---- the numerics modules: equations and shapes ----------------------------------------------
#: the modules whose names need no equation and no shapes, each with its reason; every other
#: public module of minilstm is a numerics module, found automatically (a new layer is checked
#: without an entry here)
NOT_NUMERIC = {
    "backend": "array-module plumbing: which module holds the data",
    "strict": "the CuPy stand-in: NumPy semantics, checked",
    "validate": "argument checks; their messages are the documentation",
    "io": "checkpoints: files, not formulas",
    "train.fit": "training loops; the update each makes is stated in the optimizers and the rule",
    "train.progress": "a progress display; nothing to compute",
    "train.guard": "reads NaN and inf flags; nothing to compute",
    "train.trials": "packs K nets into one; the nets' equations are the layers'",
    "nn.recurrent": "the shared sequence loop; the equations are each layer's step",
    "nn.lstm_fast": "the LSTM's fast path: the equations of minilstm.nn.lstm, tested equal to them",
    "tasks": "data generators of the papers' tasks",
    "experiments": "experiment specifications and runner",
}
NUMERICS = tuple(m.removeprefix("minilstm.") for m in make_api().public_modules()
                 if m.removeprefix("minilstm.") not in NOT_NUMERIC)


def test_not_numeric_names_modules_that_exist():
    modules = {m.removeprefix("minilstm.") for m in make_api().public_modules()}
    assert set(NOT_NUMERIC) <= modules, f"NOT_NUMERIC names no module: {set(NOT_NUMERIC) - modules}"


#: names for which an equation or a shape does not make sense, each with its reason
NO_EQUATION = {
    "minilstm.nn.model.ModelCache": "a container of the caches that backward needs; nothing to compute",
    "minilstm.nn.composite.CompositeCache": "a container of the parts' caches; nothing to compute",
    "minilstm.nn.composite.describe": "a layer's type name and config as JSON; nothing to compute",
    "minilstm.optim.check_finite_grads": "a check that names non-finite gradients; nothing to compute",
}
NO_SHAPES = {
    "minilstm.nn.composite.describe": "a layer's type name and config as JSON; no arrays",
    "minilstm.optim.check_finite_grads": "takes the grads dict as the layers give it, any shapes",
    "minilstm.analysis.critical_weight": "a scalar from a scalar (1/γ); no arrays",
}

# an equation: a :math: role or directive, or a line with "=" or "←" between two terms and an
# operator or a Greek letter on it (so that ``dtype="float64"`` and ``rule = Rule(layer)`` do not count)
_EQ_LINE = re.compile(r"\S\s*(=|←)\s*\S")
_MATHY = re.compile(r"[+\-−*/·⊙σ∂Σ√^ᵀ@\u0370-\u03ff]")
# shapes: "(T, ...", "(B, ...", "(H, I)", "(nb,)", "(n_out, H)" ... or the word "shape"
_SHAPE = re.compile(r"\((?:T|B|H|I|K|G|M|U|S|nb|n|n_\w+)\b\s*,|\bshape")


def _has_equation(doc):
    if ":math:" in doc or ".. math::" in doc:
        return True
    return any(_EQ_LINE.search(line) and _MATHY.search(line) and not line.lstrip().startswith(">>>")
               for line in doc.splitlines())


def _numerics_names():
    for m in NUMERICS:
        mod = importlib.import_module(f"minilstm.{m}")
        for name in getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]:
            obj = getattr(mod, name)
            if getattr(obj, "__module__", None) == mod.__name__ and (inspect.isclass(obj) or inspect.isfunction(obj)):
                yield f"{mod.__name__}.{name}", inspect.getdoc(obj) or ""


def test_the_checker_tells_formulas_from_code():
    assert _has_equation("Plain gradient descent: θ ← θ − η g.")
    assert _has_equation("y = x @ W.T + b")
    assert not _has_equation("Call it as ``f(x, dtype='float64')``.\n    rule = TruncatedRTRL(layer)")
    assert _SHAPE.search("``x (T, B, I)``") and _SHAPE.search("``b_i (nb,)``")
    assert not _SHAPE.search("a float (B)")


def test_numerics_docstrings_have_equations_and_shapes():
    """Every public class and function of the numerics modules states its equation (in the
    book's notation) and its shapes, as DESIGN.md asks, except the allowlisted names."""
    missing = []
    seen = set()
    for qualname, doc in _numerics_names():
        seen.add(qualname)
        if qualname not in NO_EQUATION and not _has_equation(doc):
            missing.append(f"{qualname}: no equation")
        if qualname not in NO_SHAPES and not _SHAPE.search(doc):
            missing.append(f"{qualname}: no shapes")
    stale = sorted((set(NO_EQUATION) | set(NO_SHAPES)) - seen)
    assert not stale, f"allowlist entries that are no public name any more: {stale}"
    assert not missing, "docstrings without an equation or shapes:\n" + "\n".join(missing)
