"""A pybtex style for the bibliography page: labels "Author, year", as the citations in the text.

sphinxcontrib-bibtex numbers the bibliography with the ``plain`` style even where the citations
read (Hochreiter and Schmidhuber, 1997); this style keeps ``plain``'s formatting and sorting and
labels each entry the way it is cited: one or two authors' last names, or the first and "et al.",
and the year (with a, b, ... where two entries would get the same label).
"""
import codecs

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last(person):
    name = " ".join(person.prelast_names + person.last_names)
    return codecs.decode(name.replace("{", "").replace("}", ""), "ulatex")


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Last, year", "Last and Last, year" or "Last et al., year"."""

    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_last(p) for p in people]
            if len(names) > 2:
                who = f"{names[0]} et al."
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = names[0] if names else entry.key
            labels.append(f"{who}, {entry.fields.get('year', 'n.d.')}")
        for label, count in {l: labels.count(l) for l in labels}.items():
            if count > 1:
                suffix = iter("abcdefghijklmnopqrstuvwxyz")
                labels = [l + next(suffix) if l == label else l for l in labels]
        yield from labels


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
