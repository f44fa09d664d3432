"""`convgrad explore`: the terminal app, or (``--export page.html``) the web page.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from convgrad_cli.errors import ConfigError, OutputError

from .app import app, load
from .files import exists, write_atomic
from .options import ConfigArg, DebugOpt, ForceOpt, ProblemFlags, grouped
from .output import guard

if TYPE_CHECKING:
    from convgrad_cli.core.stack import Stack


@app.command()
@grouped
def explore(
    config: ConfigArg = None,
    export: Annotated[
        Optional[Path],
        typer.Option(
            "--export",
            "-e",
            help="Write the web page instead, e.g. --export page.html: one "
            "self-contained file that works offline.",
            show_default=False,
        ),
    ] = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
    flags: ProblemFlags = ProblemFlags(),
) -> None:
    """Move over the cells and watch the gradient flow; change the layer with a key.

    \b
    Examples:
      convgrad explore
      convgrad explore configs/stride2.yaml
      convgrad explore --export page.html
      convgrad explore configs/layers/lenet.yaml --export page.html
    """

    def body() -> None:
        if export is not None:
            if export.suffix.lower() not in (".html", ".htm"):
                raise OutputError(f"--export {str(export)!r}: the page is HTML; give a file ending in .html")
            if exists(export) and not force:
                raise OutputError(f"{str(export)!r} exists; pass --force to overwrite it")
        from .network import stack_of

        stack = stack_of(config, flags)
        if stack is not None:
            _explore_stack(stack, export)
            return
        problem = load(config, flags)
        from convgrad_cli.core.explore import State

        state = State.start(problem)
        if export is not None:
            from convgrad_cli.render.page import page

            _write(export, page(state))
            return
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise ConfigError("explore needs a terminal; --export page.html writes the web page instead")
        from convgrad_cli.tui.app import ExploreApp

        ExploreApp(state, save=write_atomic).run()

    guard(debug, body)


def _write(path: Path, text: str) -> None:
    from convgrad_cli.core.text import printable

    write_atomic(path, text)
    print(f"wrote {printable(str(path))}; open it in a browser", file=sys.stderr)


def _explore_stack(stack: "Stack", export: Optional[Path]) -> None:
    """A stack's page, or its terminal app."""
    if export is not None:
        from convgrad_cli.core.explore.stack_page import stack_page
        from convgrad_cli.render.stack_page import draw_stack_page

        _write(export, draw_stack_page(stack_page(stack)))
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("explore needs a terminal; --export page.html writes the web page instead")
    from convgrad_cli.core.explore.stack_state import StackState
    from convgrad_cli.tui.stack import StackApp

    StackApp(StackState.start(stack)).run()
