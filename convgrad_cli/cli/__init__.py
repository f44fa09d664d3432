"""The command line: a thin Typer layer over the core and the renderers."""

from . import check, explore, shape  # noqa: F401 — they register their commands
from .app import app, run

__all__ = ["app", "run"]
