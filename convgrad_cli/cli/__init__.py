"""The command line: a thin Typer layer over the core and the renderers."""

from . import check, shape  # noqa: F401 — they register `convgrad check` and `convgrad shape`
from .app import app, run

__all__ = ["app", "run"]
