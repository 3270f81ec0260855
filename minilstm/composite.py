"""``minilstm.composite`` is ``minilstm.nn.composite`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.composite")
