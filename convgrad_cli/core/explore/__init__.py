"""What `explore` shows, as data: the layer the keys change (:mod:`.layer`), the
cell under the cursor and every key's move (:mod:`.state`), the backward pass
played window by window (:mod:`.windows`), the quiz — and the panels that draw
them (:mod:`.view`), marked from the trace terms as `trace` marks its pictures.

No Textual here: the terminal app (:mod:`convgrad_cli.tui`) and the web page
(:mod:`convgrad_cli.render.page`) both draw from a :class:`State`.
"""

from .layer import KNOBS, Layer, build_layer
from .state import ARRAYS, Derived, Grade, State, normal_terms
from .view import View
from .view import view as view_of
from .windows import Windows

__all__ = [
    "ARRAYS",
    "KNOBS",
    "Derived",
    "Grade",
    "Layer",
    "State",
    "View",
    "Windows",
    "build_layer",
    "normal_terms",
    "view_of",
]
