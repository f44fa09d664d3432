"""Showing a result in the chosen format, and exporting it.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import errno
import importlib.util
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from convgrad_cli.errors import ConvgradError, ExitStatus, OutputError

from .files import can_write, exists, write_atomic
from .options import Format, OutputFlags

PICTURES = (".svg", ".html", ".htm", ".txt", ".png", ".pdf")
EXPORTS = {
    None: PICTURES,
    Format.rich: PICTURES,
    Format.plain: PICTURES,
    Format.json: (".json", ".txt"),
    Format.latex: (".tex", ".txt"),
    Format.markdown: (".md", ".txt"),
}


@dataclass(frozen=True)
class Shown:
    """One result, as each format draws it; only the one asked for is built."""

    view: Callable[[], Any]  # the view's model (or a Rich renderable), drawn by the picture formats
    document: Callable[[], dict]  # the JSON document
    blocks: Optional[Callable[[], list]] = None  # LaTeX and Markdown blocks, when not the view's own
    problem: Any = None  # the problem shown: its JSON document is counted against the budget first
    pipeline: bool = False  # the document holds the slides' pipeline (backward)


class ClosedStream(io.TextIOBase):
    """What stdout is when convgrad was started with it closed: writing is an error."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it is closed")

    def isatty(self) -> bool:
        return False


#: One ASCII character for each symbol convgrad draws, so that grids keep their columns.
ASCII = {"·": ".", "×": "x", "δ": "d", "∂": "d", "⋆": "*", "−": "-", "Σ": "S", "…": "~", "⋯": "~", "⋮": ":",
         "⋱": "\\", "→": ">", "≤": "<", "≥": ">", "√": "V", "░": "#", "✗": "X", "✓": "v", "∅": "0", "—": "-",
         "–": "-", "⟨": "<", "⟩": ">", "≠": "#", "°": "o", "²": "2", "⁻": "-", "│": "|", "─": "-"}  # fmt: skip  # a table of characters, many to a line


def _one_char(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start : exc.end]
    return "".join(ASCII.get(ch, "?") for ch in text), exc.end


def tolerant_streams() -> None:
    """A character stdout or stderr cannot encode is written, never a crash: on an
    ASCII terminal as one ASCII character (``w4·δ1`` → ``w4.d1``, so grids keep
    their columns), a file name that is not UTF-8 as an escape."""
    import codecs

    codecs.register_error("convgrad.ascii", _one_char)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            "δ·×".encode(stream.encoding or "ascii")
            reconfigure(errors="backslashreplace")
        except (UnicodeEncodeError, LookupError):
            reconfigure(errors="convgrad.ascii")


def emit(write: Callable[[], Any]) -> None:
    """Write to stdout: a closed pipe ends convgrad as SIGPIPE would (as ``yes | head``
    does, so a pipeline never reads it as a failed check); any other failure
    (a full disk, a closed stdout) is an error."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        die_of_sigpipe()
    except OSError as exc:
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


def die_of_sigpipe() -> None:
    import signal

    try:  # nothing left to flush into the closed pipe at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(128 + 13)


def guard(debug: bool, body: Callable[[], Optional[int]]) -> None:
    """Run a command's body; a known error is one line on stderr and its exit status."""
    import typer

    try:
        status = body()
    except ConvgradError as exc:
        if debug:
            raise
        from convgrad_cli.core.text import printable

        print(f"convgrad: error: {printable(str(exc))}", file=sys.stderr)
        raise typer.Exit(int(exc.exit_status)) from None
    except MemoryError:
        if debug:
            raise
        print(
            "convgrad: error: out of memory; use a smaller problem, or lower CONVGRAD_MEMORY_MB / CONVGRAD_MAX_GB",
            file=sys.stderr,
        )
        raise typer.Exit(int(ExitStatus.BAD_INPUT)) from None
    except KeyboardInterrupt:
        print("convgrad: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    raise typer.Exit(int(status or ExitStatus.OK))


def check_export(out: OutputFlags) -> None:
    """Refuse an export before any work is done: wrong extension, or a file in the way."""
    if out.width is not None and not 20 <= out.width <= 1000:
        raise OutputError(f"--width {out.width} is not allowed; give 20 to 1000 columns")
    if out.export is None:
        return
    allowed = EXPORTS[out.format]
    if out.export.suffix.lower() not in allowed:
        raise OutputError(
            f"--export {str(out.export)!r}: with --format {(out.format or Format.rich).value} the file must end in "
            f"{', '.join(allowed)}"
        )
    can_write(out.export, "--export")
    if exists(out.export) and not out.force:
        raise OutputError(f"{str(out.export)!r} exists; pass --force to overwrite it")
    if out.export.suffix.lower() in (".png", ".pdf") and importlib.util.find_spec("matplotlib") is None:
        raise OutputError(
            f"--export {out.export.suffix.lower()} needs matplotlib: pip install 'convgrad[images]'"
        )


def show(out: OutputFlags, shown: Shown) -> None:
    """Print one result in the chosen format; ``--export`` writes the same to a file."""
    if out.format in (Format.json, Format.latex, Format.markdown):
        if out.format is Format.json:
            if shown.problem is not None:  # the document is every value, as Python objects and text
                shown.problem.require("the JSON document", document=True, pipeline=shown.pipeline)
            from convgrad_cli.render.json import json_text

            text = json_text(shown.document())
        elif out.format is Format.latex:
            from convgrad_cli.render.latex import to_latex

            text = to_latex(_blocks(shown), standalone=out.standalone)
        else:
            from convgrad_cli.render.markdown import to_markdown

            text = to_markdown(_blocks(shown))
        emit(lambda: sys.stdout.write(text))
        if out.export is not None:
            write_atomic(out.export, text)
        return
    from rich.console import Console

    class Terminal(Console):
        def on_broken_pipe(self) -> None:  # Rich's own would exit 1: a failed check, to a pipeline
            die_of_sigpipe()

    from convgrad_cli.core.views import View
    from convgrad_cli.render import terminal

    drawn = shown.view()
    renderable = terminal.draw(drawn) if isinstance(drawn, View) else drawn
    animated = isinstance(drawn, View) and drawn.frames is not None
    # --format rich is colour even into a pipe (less -R); left out, a terminal decides
    plain = out.format is Format.plain or (out.format is None and "NO_COLOR" in os.environ)
    forced = True if out.format is Format.rich else None
    console = Terminal(
        color_system=None if plain else "auto", force_terminal=forced, highlight=False, width=out.width
    )
    emit(lambda: console.print(renderable))
    if out.export is not None:
        frames = terminal.frames(drawn) if animated else None
        _export(out, renderable, frames, out.width or console.width, plain)


def _blocks(shown: Shown) -> Any:
    return shown.blocks() if shown.blocks is not None else shown.view().blocks


def _export(out: OutputFlags, renderable: Any, frames: Optional[list], width: int, plain: bool) -> None:
    """The picture as the export's suffix says: SVG (animated for --steps), HTML, text, PNG, PDF."""
    from convgrad_cli.render import export

    assert out.export is not None
    suffix = out.export.suffix.lower()
    if suffix == ".svg" and frames is not None:
        write_atomic(out.export, export.animated_svg(frames, width, out.theme.value))
    elif suffix == ".svg":
        write_atomic(out.export, export.svg(renderable, width, out.theme.value, out.chrome, plain))
    elif suffix in (".html", ".htm"):
        write_atomic(out.export, export.html(renderable, width, out.theme.value, plain))
    elif suffix in (".png", ".pdf"):
        write_atomic(out.export, export.image(renderable, width, out.theme.value, suffix))
    else:
        write_atomic(out.export, export.plain_text(renderable, width))
