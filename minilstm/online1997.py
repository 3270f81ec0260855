"""``minilstm.online1997`` is ``minilstm.train.online1997`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.train.online1997")
