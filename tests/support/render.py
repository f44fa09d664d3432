"""Renderables as the lines a terminal of a given width shows, without colour."""

import io

from rich.console import Console


def text(renderable, width=80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return [line.rstrip() for line in out.getvalue().rstrip().splitlines()]
