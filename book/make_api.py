#!/usr/bin/env python
"""Write ``book/api.md``, the API reference of ``minilstm``, from the package's docstrings.

``make book`` and ``make test`` run it before every build, so the page always shows today's
docstrings and is not stored in git (``.gitignore``); to look at it alone::

    .venv/bin/python book/make_api.py

Why not ``sphinx.ext.autodoc``: the docstrings are written for readers of the code (a name, a
colon, then prose), not in the strict "name : type" form that ``sphinx.ext.napoleon`` expects, so
under ``jupyter-book build -W -n`` autodoc turns every parameter description into a broken type
reference. This script instead converts the few reStructuredText constructs the docstrings use
into MyST Markdown, which the book renders without warnings:

* ``:math:`x``` becomes ``$x$``, a ``.. math::`` block becomes a ``$$ ... $$`` block;
* double-backquoted literals become single-backquoted code;
* roles such as ``:class:`~minilstm.nn.lstm.LSTM``` become code (``LSTM``);
* ``text::`` followed by an indented block, and reStructuredText tables, become code blocks;
* section titles underlined with ``---`` or ``===`` become bold lines;
* anything else indented (parameter descriptions) is joined to the line above it.

The page lists, for each module, its docstring and then every name in its ``__all__`` with its
signature and docstring (for classes, also their public methods and properties).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: subpackages documented as one section (their ``__init__`` gathers their names); every other
#: subpackage (``nn``, ``train``) is documented module by module
WHOLE = {"minilstm.tasks", "minilstm.experiments"}


def _is_alias(path: Path) -> bool:
    """A module kept under its old name for one release (``minilstm/_moved.py``): not documented."""
    return "from ._moved import alias" in path.read_text(encoding="utf-8")


def public_modules() -> dict:
    """``{dotted name: file}`` of every public module of minilstm (no ``_private`` ones, no old
    names kept for one release), a subpackage of :data:`WHOLE` as its ``__init__.py``."""
    found = {}
    for path in sorted((ROOT / "minilstm").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if any(x.startswith("_") for x in parts[:-1]) or _is_alias(path):
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if parts[-1].startswith("_") and parts[-1] != "__init__" or name == "minilstm":
            continue
        whole = next((w for w in WHOLE if name == w or name.startswith(w + ".")), None)
        if whole is not None:
            found[whole] = ROOT / Path(*whole.split(".")) / "__init__.py"
        elif parts[-1] != "__init__":
            found[name] = path
    return found


def _imports(path: Path, modules: dict) -> set:
    """The public modules of minilstm that the file at ``path`` (or, for a subpackage of
    :data:`WHOLE`, any file of it) imports, resolved from relative and absolute imports."""
    files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    found = set()

    def add(dotted):
        while dotted and dotted not in modules:        # a name inside a module, or a WHOLE package
            dotted = next((w for w in WHOLE if dotted.startswith(w + ".")), dotted.rpartition(".")[0])
        if dotted:
            found.add(dotted)

    for f in files:
        package = ".".join(f.relative_to(ROOT).with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                if not base.startswith("minilstm"):
                    continue
                for alias in node.names:
                    add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("minilstm."):
                        add(alias.name)
    return found


def discover() -> list:
    """Every public module of minilstm, each after the modules it imports (so that each uses only
    the ones above it), ties in alphabetical order. A new module needs no entry."""
    modules = public_modules()
    deps = {n: _imports(path, modules) - {n} for n, path in modules.items()}
    order, left = [], set(modules)
    while left:
        ready = sorted(n for n in left if not deps[n] & left) or sorted(left)[:1]   # cycle: break it
        order.append(ready[0])
        left.remove(ready[0])
    return order


HEADER = """\
(api)=
# API reference

Every public name of `minilstm`, module by module, with its signature and its docstring. The
symbols are those of the {ref}`notation page <notation>`. This page is generated from the
docstrings by `book/make_api.py` at every build; to change it, change the docstring.

The package is layered: each module uses only the ones above it in this list.

"""

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc|const):`(~?)([^`<]+?)`")
ROLE_TITLED = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc|const):`([^`<]+?)\s*<[^`>]+>`")
MATH = re.compile(r":math:`([^`]+)`")
LITERAL = re.compile(r"``(.+?)``")
UNDERLINE = re.compile(r"^\s*([-=~^])\1{2,}\s*$")
TABLE_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")


_OPEN, _CLOSE = "{([", "})]"
_RELATION = re.compile(r"=|\\le\b|\\ge\b|\\approx|\\in\b|\\leftarrow|\\sim\b")


def _top_level_split(tex: str, sep: str) -> list[str]:
    """``tex`` split at ``sep`` where it is outside every brace, parenthesis and bracket."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex[i] == "\\" and not tex.startswith(sep, i):
            i += 2                                   # an escaped character or a command's first letter
            continue
        if tex[i] in _OPEN:
            depth += 1
        elif tex[i] in _CLOSE:
            depth -= 1
        elif depth == 0 and tex.startswith(sep, i) and not tex[i + len(sep):i + len(sep) + 1].isalpha():
            parts.append(tex[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(tex[start:])
    return [p.strip() for p in parts if p.strip()]


def _has_relation(piece: str) -> bool:
    """True if ``piece`` has a relation (=, ≤, ∈...) outside every group: a formula of its own,
    not a remark such as ``(\text{CIFG: } f = 1 - i)``."""
    return any(_RELATION.match(piece, i) and _depth_at(piece, i) == 0 for i in range(len(piece)))


def _depth_at(tex: str, i: int) -> int:
    return sum(1 if c in _OPEN else -1 if c in _CLOSE else 0 for c in tex[:i])


def _pieces(row: str, width: int) -> list[str]:
    r"""A row split at its top-level ``\qquad`` and, where still longer than ``width``, ``\quad``;
    a remark without a relation stays with the formula before it."""
    out = []
    for piece in _top_level_split(row, r"\qquad"):
        for sub in (_top_level_split(piece, r"\quad") if len(piece) > width else [piece]):
            if out and not _has_relation(sub) and not sub.startswith(("(", "[")):
                out[-1] += r" \quad " + sub
            else:
                out.append(sub)
    return out


def _aligned(piece: str) -> str:
    """``piece`` as a new row of an aligned block: ``&`` before its first top-level relation."""
    if "&" in piece:
        return piece
    for i in range(len(piece)):
        if _RELATION.match(piece, i) and _depth_at(piece, i) == 0:
            return piece[:i] + "&" + piece[i:]
    return r"&\quad " + piece


def narrow(tex: str, width: int = 90) -> str:
    r"""A display equation whose rows hold several relations side by side (joined by ``\qquad``
    or ``\quad``), longer than ``width`` characters of TeX, with the relations one under the
    other, so that it fits the page's column: aligned blocks (``&``) get new aligned rows, the
    others become a ``gathered`` block. Short equations and environments are left as they are."""
    flat = " ".join(tex.split())
    if len(flat) <= width or flat.startswith("\\begin"):
        return tex
    aligned = "&" in flat
    rows, changed = [], False
    for row in _top_level_split(flat, "\\\\"):
        pieces = _pieces(row, width) if len(row) > width else [row]
        changed |= len(pieces) > 1
        rows += [pieces[0]] + [_aligned(p) if aligned else p for p in pieces[1:]]
    if not changed:
        return tex
    if aligned:
        return " \\\\\n".join(rows)
    return "\\begin{gathered}\n" + " \\\\\n".join(rows) + "\n\\end{gathered}"


def inline(text: str) -> str:
    """Inline reStructuredText to MyST: math, literals, roles."""
    text = MATH.sub(lambda m: f"${m.group(1).strip()}$", text)
    text = ROLE_TITLED.sub(lambda m: f"`{m.group(1).strip()}`", text)
    text = ROLE.sub(lambda m: "`" + (m.group(2).strip().split(".")[-1] if m.group(1)
                                     else m.group(2).strip()) + "`", text)
    text = LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    return text


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def table(block: list[str]) -> list[str]:
    """A reStructuredText simple table (rules of ``=``) as a Markdown table."""
    rule = next(line for line in block if TABLE_RULE.match(line))
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]

    def cells(line):
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) == len(spans):        # columns separated by two or more spaces
            return parts
        parts = []
        for k, (a, b) in enumerate(spans):
            end = spans[k + 1][0] if k + 1 < len(spans) else len(line)
            parts.append(line[a:end].strip())
        return parts

    rows = [cells(line) for line in block if line.strip() and not TABLE_RULE.match(line)]
    header, body = rows[0], rows[1:]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return out


def convert(doc: str) -> str:
    """A docstring (reStructuredText as the package writes it) as MyST Markdown."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []          # Markdown lines; code and math blocks are protected below
    protect: list[str] = []      # verbatim blocks, put back after the inline conversion
    i = 0

    def verbatim(fence, body, close):
        protect.append("\n".join([fence, body, close]))
        out.extend(["", f"@@VERBATIM{len(protect) - 1}@@", ""])

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        # a section title: "Title" then a line of --- or ===
        if stripped and i + 1 < len(lines) and UNDERLINE.match(lines[i + 1]) \
                and len(lines[i + 1].strip()) >= len(stripped) - 2 and not TABLE_RULE.match(line):
            out += ["", f"**{stripped}**", ""]
            i += 2
            continue
        # a reStructuredText simple table
        if TABLE_RULE.match(line):
            block = []
            while i < len(lines) and (lines[i].strip() or (i + 1 < len(lines)
                                                           and TABLE_RULE.match(lines[i + 1]))):
                block.append(lines[i])
                i += 1
            out += ["", *table(block), ""]
            continue
        # .. math:: block (content indented below it, possibly on the same line)
        if stripped.startswith(".. math::"):
            first = stripped[len(".. math::"):].strip()
            base = indent_of(line)
            body = [first] if first else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or indent_of(lines[i]) > base):
                body.append(lines[i])
                i += 1
            verbatim("$$", narrow(textwrap.dedent("\n".join(body)).strip("\n")), "$$")
            continue
        # a paragraph ending in '::' introduces an indented literal block
        if stripped.endswith("::") and not stripped.startswith(".."):
            text = stripped[:-2].rstrip()
            if text:
                out.append(text + ":")
            base = indent_of(line)
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or indent_of(lines[i]) > base):
                block.append(lines[i])
                i += 1
            verbatim("```text", textwrap.dedent("\n".join(block)).strip("\n"), "```")
            continue
        # doctest examples
        if stripped.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            verbatim("```python", textwrap.dedent("\n".join(block)), "```")
            continue
        # an indented continuation line: join it to the line above
        if stripped and indent_of(line) > 0 and out and out[-1].strip() \
                and not out[-1].startswith("@@VERBATIM"):
            out[-1] = out[-1].rstrip() + " " + stripped
            i += 1
            continue
        out.append(line.rstrip() if stripped else "")
        i += 1
    text = inline("\n".join(out))
    for k, block in enumerate(protect):
        text = text.replace(f"@@VERBATIM{k}@@", block)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


class _Annotation:
    """An annotation kept as a string (``from __future__ import annotations``), shown unquoted."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def signature(name: str, obj) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    unquote = (lambda a: _Annotation(a) if isinstance(a, str) else a)
    sig = sig.replace(
        parameters=[p.replace(annotation=unquote(p.annotation)) for p in sig.parameters.values()],
        return_annotation=unquote(sig.return_annotation))
    text = str(sig)
    text = re.sub(r"<module '([\w.]+)' from '[^']*'>", r"\1", text)   # xp=<module 'numpy' ...>
    text = re.sub(r"<(?:class|function) '([\w.]+)'>", r"\1", text)   # <class 'numpy.float64'>
    text = re.sub(r"<function ([\w.<>]+) at 0x[0-9a-f]+>", r"\1", text)
    text = re.sub(r" at 0x[0-9a-f]+", "", text)
    return name + text


def code_block(text: str) -> list[str]:
    return ["```python", text, "```"]


def members(cls) -> list[tuple[str, object]]:
    """Public methods and properties defined by the class itself, in source order."""
    out = []
    for name, value in cls.__dict__.items():
        if name.startswith("_") and name != "__call__":
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            out.append((name, value))
    return out


def document(qualname: str, obj, depth: str) -> list[str]:
    lines = [f"{depth} `{qualname.split('.')[-1]}`", ""]
    if inspect.isclass(obj):
        lines += code_block("class " + signature(qualname, obj))
        bases = [b.__name__ for b in obj.__bases__ if b is not object]
        if bases:
            lines += ["", "Based on " + ", ".join(f"`{b}`" for b in bases) + "."]
        if obj.__doc__:
            lines += ["", convert(obj.__doc__)]
        for name, member in members(obj):
            lines += [""]
            if isinstance(member, property):
                lines += [f"**`{name}`** (property)"]
                doc = member.fget.__doc__ if member.fget else None
            else:
                lines += code_block(signature(f"{qualname.split('.')[-1]}.{name}", member))
                doc = member.__doc__
            if doc:
                lines += ["", convert(doc)]
    elif callable(obj):
        lines += code_block(signature(qualname, obj))
        if obj.__doc__:
            lines += ["", convert(obj.__doc__)]
    else:
        summary = type(obj).__name__
        if isinstance(obj, dict):
            keys = list(obj)
            shown = ", ".join(f"`{k}`" for k in keys[:12]) + (", ..." if len(keys) > 12 else "")
            summary = f"dict with {len(keys)} keys: {shown}"
        lines += [f"A constant: {summary}."]
    return lines


def module_section(modname: str) -> list[str]:
    mod = importlib.import_module(modname)
    lines = [f"## `{modname}`", ""]
    if mod.__doc__:
        lines += [convert(mod.__doc__), ""]
    names = getattr(mod, "__all__", [])
    seen = {}
    for name in names:
        obj = getattr(mod, name)
        if id(obj) in seen and not isinstance(obj, (int, float, str)):
            lines += [f"### `{name}`", "", f"Another name for `{seen[id(obj)]}`.", ""]
            continue
        seen[id(obj)] = name
        home = getattr(obj, "__module__", modname)
        qual = f"{modname}.{name}"
        lines += document(qual, obj, "###")
        if home and home != modname and home.startswith("minilstm") and (inspect.isclass(obj) or inspect.isfunction(obj)):
            lines += ["", f"(Defined in `{home}`.)"]
        lines += [""]
    return lines


def render() -> str:
    """The text of ``book/api.md`` as the docstrings make it today."""
    out = [HEADER]
    for modname in discover():
        out += module_section(modname)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    path = ROOT / "book" / "api.md"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
