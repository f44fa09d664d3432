"""Proof that gradients are right, and when they are not, where and why.

``plan`` turns the options and targets of a check into cases (validating
them); ``execute`` runs them — the configs, then a sweep (``sweep``) that
covers every edge-case class and fits itself to what the implementation
supports (``scope``) — into a ``Report`` that says whether enough was checked.
``run`` checks one case against the four references (``references``) within
per-entry bounds (``tolerance``); on a failure it names the known mistake it
looks like (``mistakes``) and finds the smallest case that still fails
(``shrink``). ``forward`` does the same for a forward pass (``--forward``).
``contract`` and ``isolate`` call a user's implementation safely.
"""

from convgrad_cli.core.choices import Framework, Layout

from .isolate import InProcess, Isolated, load_impl
from .mistakes import CATALOGUE, Diagnosis
from .plan import Plan, declared, dims_of, implementation, limits, plan
from .references import Comparison, Mismatch, definition_grads
from .report import Report, execute
from .run import DEFAULT_SWEEP, CaseResult, Options, Status, check_case, numeric_problem, summary
from .scope import Scope
from .sweep import CLASSES, Spec, sweep
from .tolerance import DTYPES, Tolerance

__all__ = [
    "CATALOGUE",
    "CLASSES",
    "DEFAULT_SWEEP",
    "DTYPES",
    "CaseResult",
    "Comparison",
    "Diagnosis",
    "Framework",
    "InProcess",
    "Isolated",
    "Layout",
    "Mismatch",
    "Options",
    "Plan",
    "Report",
    "Scope",
    "Spec",
    "Status",
    "Tolerance",
    "check_case",
    "declared",
    "definition_grads",
    "dims_of",
    "execute",
    "implementation",
    "limits",
    "load_impl",
    "numeric_problem",
    "plan",
    "summary",
    "sweep",
]
