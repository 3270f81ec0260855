"""``minilstm.presets`` is ``minilstm.nn.presets`` (a public name: no warning)."""
from ._moved import alias

alias(__name__, "minilstm.nn.presets", warn=False)
