"""Module names from before the layout of 0.2 (``minilstm/nn/``, ``minilstm/train/``), kept for one
release: ``import minilstm.lstm`` gives the module ``minilstm.nn.lstm`` itself (the same object,
so every name, private ones included, is there) and warns once with a DeprecationWarning."""
from __future__ import annotations

import importlib
import sys
import warnings


def alias(old: str, new: str, *, warn: bool = True):
    """Make the module ``old`` the module ``new``; ``warn``: say that ``old`` goes in 0.3."""
    if warn:
        warnings.warn(f"{old} has moved to {new}; the old name works until minilstm 0.3",
                      DeprecationWarning, stacklevel=3)
    module = importlib.import_module(new)
    sys.modules[old] = module
    return module
