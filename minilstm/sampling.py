"""``minilstm.sampling`` is ``minilstm.nn.sampling`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.sampling")
