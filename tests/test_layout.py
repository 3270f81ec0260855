"""The layout of 0.2: minilstm/nn/ (the networks) and minilstm/train/ (the loops), with the old
module names kept for one release."""
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import minilstm

from api_modules import make_api

ROOT = Path(__file__).resolve().parents[1]
OLD = {"rnn": "nn.rnn", "gru": "nn.gru", "lstm": "nn.lstm", "lstm_fast": "nn.lstm_fast",
       "recurrent": "nn.recurrent", "layers": "nn.readout", "model": "nn.model",
       "stack": "nn.stack", "composite": "nn.composite", "bidirectional": "nn.bidirectional",
       "embedding": "nn.embedding", "sampling": "nn.sampling", "guard": "train.guard",
       "trials": "train.trials", "online1997": "train.online1997"}


def _fresh(code):
    """Run ``code`` in a new interpreter (a module is imported once per process)."""
    return subprocess.run([sys.executable, "-W", "always::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, cwd=ROOT, check=True)


@pytest.mark.parametrize("old", sorted(OLD))
def test_an_old_name_is_the_new_module_and_warns(old):
    run = _fresh(f"import minilstm.{old} as a, minilstm.{OLD[old]} as b; "
                 f"assert a is b; print(a.__name__)")
    assert run.stdout.strip() == f"minilstm.{OLD[old]}"
    assert f"minilstm.{old} has moved to minilstm.{OLD[old]}" in run.stderr
    assert "DeprecationWarning" in run.stderr


def test_the_old_imports_of_the_book_still_work():
    run = _fresh("from minilstm.lstm import LSTM; from minilstm.trials import TrialBatch; "
                 "from minilstm.model import SequenceModel; from minilstm.layers import softmax; "
                 "from minilstm.train import fit, fit_online, Progress, History; "
                 "from minilstm.recurrent import layer_args; print(LSTM.__module__)")
    assert run.stdout.strip() == "minilstm.nn.lstm"


def test_presets_is_public_at_the_top_without_a_warning():
    run = _fresh("import minilstm.presets as p, minilstm.nn.presets as q; assert p is q")
    assert "DeprecationWarning" not in run.stderr


def test_every_old_name_is_listed_here_and_nothing_imports_one():
    """The shims are exactly OLD, and no module of the package, no test and no chapter imports
    one (they go in 0.3)."""
    shims = {p.stem for p in (ROOT / "minilstm").glob("*.py") if make_api()._is_alias(p)}
    assert shims == set(OLD) | {"presets"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in ("minilstm", "minilstm.nn", "minilstm.train", "minilstm.experiments"):
            importlib.import_module(name)
    pattern = [f"minilstm.{old}" for old in OLD] + [f"minilstm import {old}" for old in OLD]
    users = []
    for path in [*ROOT.glob("minilstm/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("book/*.ipynb"),
                 *ROOT.glob("book/*.py"), *ROOT.glob("benchmarks/*.py")]:
        if path.name in ("test_layout.py", "_moved.py") or path.stem in OLD:
            continue
        text = path.read_text(encoding="utf-8")
        for p in pattern:
            i = text.find(p)
            while i >= 0:
                after = text[i + len(p):i + len(p) + 1]
                if not (after.isalnum() or after == "_"):
                    users.append(f"{path.relative_to(ROOT)}: {p}")
                    break
                i = text.find(p, i + 1)
    assert not users, "old module names still used:\n" + "\n".join(users)


def test_the_layers_are_in_nn_and_the_loops_in_train():
    from minilstm import nn, train
    assert minilstm.LSTM is nn.LSTM and minilstm.LSTM.__module__ == "minilstm.nn.lstm"
    assert minilstm.fit is train.fit and train.fit.__module__ == "minilstm.train.fit"
    assert train.TrialBatch.__module__ == "minilstm.train.trials"
