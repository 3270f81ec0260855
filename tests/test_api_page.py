"""The book's API reference: book/make_api.py writes book/api.md from today's docstrings (every
`make book` and `make test` does, so the page is never stale and is not stored in git)."""
import pathlib

from api_modules import make_api

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_public_module_has_a_section_in_import_order():
    api = make_api()
    text = api.render()
    order = api.discover()
    heads = [line[4:-1] for line in text.splitlines() if line.startswith("## `")]
    assert heads == order
    assert {"minilstm.nn.lstm", "minilstm.nn.slstm", "minilstm.train.fit", "minilstm.experiments"} <= set(order)
    for name, path in api.public_modules().items():       # each after what it imports
        for used in api._imports(path, api.public_modules()):
            if used != name:
                assert order.index(used) < order.index(name), f"{name} is listed before {used}"


def test_the_page_is_generated_not_stored():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/book/api.md" in ignored
    makefile = (ROOT / "Makefile").read_text()
    assert "API_PAGE       := $(BIN)/python book/make_api.py" in makefile
    assert "BOOK_TEST      := $(API_PAGE) &&" in makefile
