"""``minilstm.embedding`` is ``minilstm.nn.embedding`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.embedding")
