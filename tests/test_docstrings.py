"""Every public name of minilstm has a docstring (the API reference and the book rely on them)."""
import importlib
import inspect
import pkgutil

import minilstm

SKIP = {"minilstm.experiments.__main__"}


def _public_modules():
    yield minilstm
    for info in pkgutil.walk_packages(minilstm.__path__, "minilstm."):
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
