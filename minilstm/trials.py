"""``minilstm.trials`` is ``minilstm.train.trials`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.train.trials")
