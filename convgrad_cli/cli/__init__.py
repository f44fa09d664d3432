"""The command line: a thin Typer layer over the core and the renderers."""

from .app import app, run

__all__ = ["app", "run"]
