"""The command line: a thin Typer layer over the core and the renderers."""

from . import check  # noqa: F401 — registers `convgrad check`
from .app import app, run

__all__ = ["app", "run"]
