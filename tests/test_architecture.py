"""ARCHITECTURE.md's diagram is true: every module is in it, and each row imports only from itself
and the rows below it."""
import re
from pathlib import Path

from api_modules import make_api

ROOT = Path(__file__).resolve().parents[1]


def _rows():
    """The diagram's rows, top first, each as the set of dotted module names on it; an indented
    line continues the folder of the line above (``nn/``, ``train/``)."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    diagram = text.split("```")[1].strip("\n").splitlines()
    rows, folder = [], ""
    for line in diagram:
        if not line.startswith(" "):
            head = re.match(r"(\w+)/", line)
            folder = head.group(1) + "." if head else ""
            if head and head.group(1) in ("tasks", "experiments"):
                rows.append({f"minilstm.{head.group(1)}"})
                continue
        names = {f"minilstm.{folder}{m}" for m in re.findall(r"\b(\w+)\.py\b", line)
                 if not m.startswith("_")}
        rows.append(names)
    return rows


def test_every_module_is_in_the_diagram():
    shown = set().union(*_rows())
    modules = set(make_api().public_modules())
    assert modules - shown == set(), f"modules missing from ARCHITECTURE.md: {modules - shown}"
    assert shown - modules == set(), f"ARCHITECTURE.md shows modules that do not exist: {shown - modules}"


def test_each_row_uses_only_itself_and_the_rows_below():
    api = make_api()
    modules = api.public_modules()
    rows = _rows()
    level = {m: i for i, row in enumerate(rows) for m in row}
    wrong = []
    for name, path in modules.items():
        for used in api._imports(path, modules):
            if level[used] < level[name]:
                wrong.append(f"{name} (row {level[name] + 1}) imports {used} (row {level[used] + 1})")
    assert not wrong, "imports that go up the diagram:\n" + "\n".join(wrong)
