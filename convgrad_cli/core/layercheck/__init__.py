"""``check --layer KIND``: a backward of a layer of another kind (max-pool,
average-pool, ReLU, transposed convolution) held to convgrad's own and to
references that do not share its code, with the classic mistakes named and the
smallest failing case found. ``cases`` draws the cases, ``contract`` calls an
implementation, ``mistakes`` holds the catalogue, ``run`` checks one case.
"""

from .cases import KINDS, LayerCase, anchors, random_cases
from .mistakes import CATALOGUE
from .run import LayerResult, check_case

__all__ = ["CATALOGUE", "KINDS", "LayerCase", "LayerResult", "anchors", "check_case", "random_cases"]
