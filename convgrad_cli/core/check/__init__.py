"""Proof that gradients are right, and when they are not, where and why.

``run`` checks one case against the four references (``references``) within
per-entry bounds (``tolerance``); on a failure it names the known mistake it
looks like (``mistakes``) and finds the smallest case that still fails
(``shrink``). ``sweep`` makes problems that cover every edge-case class;
``contract`` and ``isolate`` call a user's implementation safely.
"""

from .contract import FRAMEWORKS, LAYOUTS
from .isolate import InProcess, Isolated, load_impl
from .mistakes import CATALOGUE, Diagnosis
from .references import Comparison, Mismatch, definition_grads
from .run import CaseResult, Options, check_case, numeric_problem, summary
from .sweep import CLASSES, Spec, sweep
from .tolerance import DTYPES, Tolerance

__all__ = [
    "CATALOGUE",
    "CLASSES",
    "DTYPES",
    "FRAMEWORKS",
    "LAYOUTS",
    "CaseResult",
    "Comparison",
    "Diagnosis",
    "InProcess",
    "Isolated",
    "Mismatch",
    "Options",
    "Spec",
    "Tolerance",
    "check_case",
    "definition_grads",
    "load_impl",
    "numeric_problem",
    "summary",
    "sweep",
]
