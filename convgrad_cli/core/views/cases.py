"""What every check's report says of its cases, whatever their kind: the statuses it
counts, and a case's short name."""

from __future__ import annotations

from pathlib import Path

from convgrad_cli.core.check.run import Status
from convgrad_cli.core.options import option

from .blocks import Sentence

COUNTED = {Status.failed: "fail", Status.error: "error", Status.skipped: "skipped", Status.not_run: "not run"}


def short_name(name: str) -> str:
    """A case's name as a table row or a file says it: a config's stem (``stride2``), or a stack
    layer's file and layer (``lenet.yaml layer 4``: each convolution of a stack is a case)."""
    path = Path(name)
    return path.stem if path.suffix in (".yaml", ".yml") else path.name


def smallest_lines(smallest: str | None, saved: str | None) -> list[Sentence]:
    """Where a failing case's smallest failing case (described) is, or that none smaller fails."""
    if smallest is not None:
        save = option("save")
        where = f", saved as {saved}" if saved else f" ({save} writes it as a config)" if save else ""
        return [Sentence.of(f"  smallest failing case: {smallest}{where}")]
    return [Sentence.of(f"  no smaller case fails; saved as {saved}")] if saved else []
