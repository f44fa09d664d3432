"""Showing a result in the chosen format, exporting it, and writing files whole.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from convgrad_cli.errors import ConvgradError, ExitStatus, OutputError

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

    view: Callable[[], Any]  # a Rich renderable
    document: Callable[[], dict]  # the JSON document
    blocks: Callable[[], list]  # LaTeX and Markdown blocks
    frames: Optional[Callable[[], list]] = None  # an animation's frames (trace --steps), for SVG


def guard(debug: bool, body: Callable[[], Optional[int]]) -> None:
    """Run a command's body; a known error is one line on stderr and its exit status."""
    import typer

    try:
        status = body()
    except ConvgradError as exc:
        if debug:
            raise
        print(f"convgrad: error: {exc}", file=sys.stderr)
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
    if out.theme not in ("light", "dark"):
        raise OutputError(f"--theme {out.theme!r} is not allowed; allowed: light, dark")
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
    if out.export.exists() and not out.force:
        raise OutputError(f"{str(out.export)!r} exists; pass --force to overwrite it")


def show(out: OutputFlags, shown: Shown) -> None:
    """Print one result in the chosen format; ``--export`` writes the same to a file."""
    if out.format in (Format.json, Format.latex, Format.markdown):
        if out.format is Format.json:
            import json  # here: only JSON output needs it

            # numpy scalars (the zeros np.pad puts into arrays of names) as plain numbers
            text = json.dumps(shown.document(), ensure_ascii=False, default=lambda v: v.item()) + "\n"
        elif out.format is Format.latex:
            from convgrad_cli.render.latex import to_latex

            text = to_latex(shown.blocks(), standalone=out.standalone)
        else:
            from convgrad_cli.render.markdown import to_markdown

            text = to_markdown(shown.blocks())
        sys.stdout.write(text)
        if out.export is not None:
            write_atomic(out.export, text)
        return
    from rich.console import Console

    renderable = shown.view()
    # --format rich is colour even into a pipe (less -R); left out, a terminal decides
    plain = out.format is Format.plain or (out.format is None and "NO_COLOR" in os.environ)
    forced = True if out.format is Format.rich else None
    console = Console(
        color_system=None if plain else "auto", force_terminal=forced, highlight=False, width=out.width
    )
    console.print(renderable)
    if out.export is not None:
        _export(out, shown, renderable, out.width or console.width, plain)


def _export(out: OutputFlags, shown: Shown, renderable: Any, width: int, plain: bool) -> None:
    """The picture as the export's suffix says: SVG (animated for --steps), HTML, text, PNG, PDF."""
    from convgrad_cli.render import export

    assert out.export is not None
    suffix = out.export.suffix.lower()
    if suffix == ".svg" and shown.frames is not None:
        write_atomic(out.export, export.animated_svg(shown.frames(), width, out.theme))
    elif suffix == ".svg":
        write_atomic(out.export, export.svg(renderable, width, out.theme, out.chrome, plain))
    elif suffix in (".html", ".htm"):
        write_atomic(out.export, export.html(renderable, width, out.theme, plain))
    elif suffix in (".png", ".pdf"):
        write_atomic(out.export, export.image(renderable, width, out.theme, suffix))
    else:
        write_atomic(out.export, export.plain_text(renderable, width))


def write_atomic(path: "str | Path", data: "str | bytes", force: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place:
    a reader sees the old file or the new one, never half of one."""
    target = Path(path)
    if target.exists() and not force:
        raise OutputError(f"{str(target)!r} exists; pass --force to overwrite it")
    if target.is_dir():
        raise OutputError(f"{str(target)!r} is a directory; give a file path")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {str(target)!r}: {exc.strerror}") from None
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
