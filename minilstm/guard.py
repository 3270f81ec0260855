"""``minilstm.guard`` is ``minilstm.train.guard`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.train.guard")
