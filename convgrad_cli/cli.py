"""The command line: parse, call the core, hand the result to a renderer or to JSON.

No ``from __future__ import annotations`` here: Typer would have to eval every
annotation string at start-up (measured: ~50 ms of compile() per command).

Known errors (:class:`~convgrad_cli.errors.ConvgradError`) become one line on
stderr and exit status 2; ``--debug`` shows their traceback instead.
"""

import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import __version__
from .config import KEYS
from .errors import ConvgradError, ExitStatus

app = typer.Typer(
    name="convgrad",
    help=(
        "See, and prove, how gradients flow back through a convolutional layer.\n\n"
        "With no config, every command works on the seed's example: a 4×4 input a…p, "
        "a 2×2 kernel w1…w4, stride 1."
    ),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(str, Enum):
    rich = "rich"
    plain = "plain"
    json = "json"
    latex = "latex"
    markdown = "markdown"


# -- options shared by every command ------------------------------------------------

ConfigArg = Annotated[
    Optional[Path],
    typer.Argument(
        help="YAML config file (e.g. configs/stride2.yaml); flags override it.", show_default=False
    ),
]
XOpt = Annotated[
    Optional[str],
    typer.Option(
        "--x",
        help="Input array: YAML ('[[1,2],[3,4]]'), or FILL:SHAPE ('names:4x4', 'random:1x3x8x8').",
        show_default=False,
    ),
]
KernelOpt = Annotated[
    Optional[str],
    typer.Option("--kernel", "-k", help="Kernel array, like --x (e.g. 'arange:2x2').", show_default=False),
]
BiasOpt = Annotated[
    Optional[str], typer.Option(help="Bias, one per output channel (e.g. '[0.5]').", show_default=False)
]
DeltaOpt = Annotated[
    Optional[str],
    typer.Option(
        help="Upstream gradient δ = ∂L/∂y (default: ones; 'names' for symbols only).", show_default=False
    ),
]
StrideOpt = Annotated[
    Optional[str], typer.Option("--stride", "-s", help="Stride: 2, or 2,1 per axis.", show_default=False)
]
PaddingOpt = Annotated[
    Optional[str],
    typer.Option(
        "--padding",
        "-p",
        help="Padding: 1; 1,2; '[[0,1],[1,0]]' (before/after per axis); same; valid.",
        show_default=False,
    ),
]
DilationOpt = Annotated[
    Optional[str],
    typer.Option("--dilation", "-d", help="Kernel dilation: 2, or 2,1 per axis.", show_default=False),
]
GroupsOpt = Annotated[
    Optional[int], typer.Option(help="Channel groups; must divide both channel counts.", show_default=False)
]
DimsOpt = Annotated[
    Optional[int],
    typer.Option(
        help="Spatial axes, 1, 2 or 3, e.g. --dims 1 (default: 2, or what a 1- or 5-axis input or kernel implies).",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    Optional[int], typer.Option(help="Seed for random fills (default 0).", show_default=False)
]
DtypeOpt = Annotated[Optional[str], typer.Option(help="float64 (default) or float32.", show_default=False)]
FormatOpt = Annotated[
    Optional[Format],
    typer.Option(
        "--format",
        "-f",
        help="rich (terminal default), plain (no colour), json (one document on stdout), "
        "latex (bmatrix blocks for slides) or markdown (tables for notes).",
        show_default=False,
    ),
]
ExportOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--export",
        "-e",
        help="Also write what is shown to a file, e.g. --export picture.svg: .svg, .html or .txt "
        "(with --format json/latex/markdown: .json, .tex, .md or .txt). Written whole or not at all.",
        show_default=False,
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Let --export overwrite an existing file.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]


#: The flags that describe a problem: the config's keys, ``input`` spelt ``x``
#: (``--input`` names the cell that ``trace`` follows).
PROBLEM_FLAGS = tuple("x" if key == "input" else key for key in KEYS)


def _problem_flags(params: dict[str, Any]) -> dict[str, Any]:
    """The problem flags a command was given, from its parameters (``locals()``)."""
    return {key: params[key] for key in PROBLEM_FLAGS if params.get(key) is not None}


def _overrides(flags: dict[str, Any]) -> dict[str, Any]:
    """Flags as config values, parsed with the config's own grammar."""
    from .config import parse_flag

    out: dict[str, Any] = {}
    for key, value in flags.items():
        name = "input" if key == "x" else key
        out[name] = parse_flag(name, value) if isinstance(value, str) else value
    return out


def _load(config: Optional[Path], flags: dict[str, Any]):
    from .config import load

    return load(config, _overrides(flags))


def _run(debug: bool, body: Callable[[], int | None]) -> None:
    """Run a command; a known error is one line on stderr and its exit status."""
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


EXPORTS = {
    None: (".svg", ".html", ".htm", ".txt"),
    Format.rich: (".svg", ".html", ".htm", ".txt"),
    Format.plain: (".svg", ".html", ".htm", ".txt"),
    Format.json: (".json", ".txt"),
    Format.latex: (".tex", ".txt"),
    Format.markdown: (".md", ".txt"),
}


def _check_export(export: Optional[Path], fmt: Optional[Format], force: bool) -> None:
    """Refuse an export before any work is done: wrong extension, or a file in the way."""
    if export is None:
        return
    from .errors import OutputError

    allowed = EXPORTS[fmt]
    if export.suffix.lower() not in allowed:
        raise OutputError(
            f"--export {str(export)!r}: with --format {(fmt or Format.rich).value} the file must end in "
            f"{', '.join(allowed)}"
        )
    if export.exists() and not force:
        raise OutputError(f"{str(export)!r} exists; pass --force to overwrite it")


def show(
    fmt: Optional[Format],
    export: Optional[Path],
    force: bool,
    view: Callable[[], Any],
    doc: Callable[[], Any],
    blocks: Callable[[], Any],
) -> None:
    """Print one result in the chosen format; ``--export`` writes the same to a file.

    ``view`` makes the Rich renderable, ``doc`` the JSON document and ``blocks``
    the LaTeX/Markdown blocks; only the one needed is built.
    """
    if fmt in (Format.json, Format.latex, Format.markdown):
        if fmt is Format.json:
            import json  # here: only JSON output needs it (~2 ms of start-up)

            # numpy scalars (the zeros np.pad puts into arrays of names) as plain numbers
            text = json.dumps(doc(), ensure_ascii=False, default=lambda v: v.item()) + "\n"
        else:
            from .document import to_latex, to_markdown

            text = (to_latex if fmt is Format.latex else to_markdown)(blocks())
        sys.stdout.write(text)
        if export is not None:
            from .files import write_atomic

            write_atomic(export, text)
        return
    from rich.console import Console

    renderable = view()
    plain = fmt is Format.plain or "NO_COLOR" in os.environ
    Console(color_system=None if plain else "auto", highlight=False).print(renderable)
    if export is not None:
        import io

        from .files import write_atomic

        # a second console records with colour whatever stdout is, so the picture
        # matches a terminal's (plain keeps it without colour)
        recorder = Console(
            file=io.StringIO(), record=True, highlight=False, force_terminal=not plain,
            color_system=None if plain else "truecolor", width=Console().width,
        )  # fmt: skip
        recorder.print(renderable)
        suffix = export.suffix.lower()
        if suffix == ".svg":
            text = recorder.export_svg(title="convgrad")
        elif suffix in (".html", ".htm"):
            text = recorder.export_html(inline_styles=True)
        else:
            text = recorder.export_text()
        write_atomic(export, text)


def _render(part: str = ""):
    """The render module of a view (``render``, ``render_trace``, ``render_check``),
    imported only when a terminal view is drawn: JSON never loads Rich's tables."""
    import importlib

    return importlib.import_module(f".render{'_' + part if part else ''}", __package__)


def _document():
    from . import document

    return document


def _version(value: bool) -> None:
    if value:
        print(f"convgrad {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """See, and prove, how gradients flow back through a convolutional layer."""


def _display_command(kind: str, doc: str) -> None:
    """Register ``forward`` or ``backward``: load the problem, compute the
    ``{kind}_result``, show it as ``{kind}_view`` / ``{kind}_json`` / ``{kind}_blocks``."""

    def command(
        config: ConfigArg = None,
        x: XOpt = None,
        kernel: KernelOpt = None,
        bias: BiasOpt = None,
        delta: DeltaOpt = None,
        stride: StrideOpt = None,
        padding: PaddingOpt = None,
        dilation: DilationOpt = None,
        groups: GroupsOpt = None,
        dims: DimsOpt = None,
        seed: SeedOpt = None,
        dtype: DtypeOpt = None,
        format: FormatOpt = None,
        export: ExportOpt = None,
        force: ForceOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        flags = _problem_flags(locals())

        def body() -> None:
            _check_export(export, format, force)
            from . import results

            result = getattr(results, f"{kind}_result")(_load(config, flags))
            show(format, export, force, lambda: getattr(_render(), f"{kind}_view")(result),
                 lambda: getattr(results, f"{kind}_json")(result),
                 lambda: getattr(_document(), f"{kind}_blocks")(result))  # fmt: skip

        _run(debug, body)

    command.__doc__ = doc
    app.command(kind)(command)


_display_command(
    "forward",
    """The input, the kernel, the output, and each output's expression.

    \b
    Examples:
      convgrad forward
      convgrad forward --stride 2
      convgrad forward configs/conv1d.yaml --format json
    """,
)
_display_command(
    "backward",
    """δ, the dilated and padded δ, the flipped kernel, and ∂L/∂x, ∂L/∂W, ∂L/∂b.

    \b
    Examples:
      convgrad backward configs/stride2.yaml
      convgrad backward --stride 2 --delta names
      convgrad backward configs/uneven.yaml --format latex
      convgrad backward --export backward.svg
    """,
)


@app.command()
def trace(
    config: ConfigArg = None,
    input: Annotated[
        Optional[str],
        typer.Option(
            "--input",
            "-i",
            help="Input cell to follow: a name (a, f) or a 0-based index (1,2; or n,c,row,col).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output", "-o", help="Output to take apart: y5, or an index such as 1,1.", show_default=False
        ),
    ] = None,
    weight: Annotated[
        Optional[str],
        typer.Option(
            "--weight",
            "-w",
            help="Weight whose gradient to build: w2, or an index such as 0,1.",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", "-a", help="Every input cell's gradient, as the slides list them.")
    ] = False,
    steps: Annotated[
        bool, typer.Option("--steps", help="Tell the reasoning one window at a time (with --input).")
    ] = False,
    x: XOpt = None,
    kernel: KernelOpt = None,
    bias: BiasOpt = None,
    delta: DeltaOpt = None,
    stride: StrideOpt = None,
    padding: PaddingOpt = None,
    dilation: DilationOpt = None,
    groups: GroupsOpt = None,
    dims: DimsOpt = None,
    seed: SeedOpt = None,
    dtype: DtypeOpt = None,
    format: FormatOpt = None,
    export: ExportOpt = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Which δ entries a cell depends on, and why the flipped kernel finds the same terms.

    \b
    Examples:
      convgrad trace --input a
      convgrad trace --input f --steps
      convgrad trace --input 1,2 --stride 2
      convgrad trace --output y5
      convgrad trace --weight w2
      convgrad trace --all configs/stride2.yaml
    """

    flags = _problem_flags(locals())

    def body() -> None:
        _check_export(export, format, force)
        from .errors import ConfigError
        from .tracing import trace_all, trace_cell, trace_json

        chosen = [
            name
            for name, v in (("--input", input), ("--output", output), ("--weight", weight), ("--all", every))
            if v
        ]
        if len(chosen) > 1:
            raise ConfigError(
                f"{' and '.join(chosen)} were given together; trace one of --input, --output, --weight or --all"
            )
        problem = _load(config, flags)
        if not chosen or every:
            cells = trace_all(problem)
            return show(format, export, force, lambda: _render("trace").all_view(cells),
                        lambda: trace_json(cells, every=True), lambda: _document().trace_blocks(cells))  # fmt: skip
        kind, text = next((k, v) for k, v in (("input", input), ("output", output), ("weight", weight)) if v)
        cell = trace_cell(problem, kind, text)
        view = "steps_view" if steps and kind == "input" else f"{kind}_view"
        return show(format, export, force, lambda: getattr(_render("trace"), view)(cell),
                    lambda: trace_json([cell], every=False), lambda: _document().trace_blocks([cell]))  # fmt: skip

    _run(debug, body)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the template ('-' for stdout).")] = Path(
        "convgrad.yaml"
    ),
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write a commented config template with the seed's example filled in.

    \b
    Examples:
      convgrad init my_layer.yaml
      convgrad init - > my_layer.yaml
    """

    def body() -> None:
        from .config import TEMPLATE
        from .errors import OutputError
        from .files import write_atomic

        if str(path) == "-":
            sys.stdout.write(TEMPLATE)
            return
        if path.exists() and not force:
            raise OutputError(f"{str(path)!r} exists; pass --force to overwrite it")
        write_atomic(path, TEMPLATE)
        print(f"wrote {path}; try: convgrad trace {path} --input a", file=sys.stderr)

    _run(debug, body)


class Mode(str, Enum):
    auto = "auto"
    full = "full"
    fast = "fast"


def _config_paths(targets: list[str]) -> list[Path]:
    """Files, directories (their *.yaml / *.yml) and globs, in a stable order."""
    import glob

    from .errors import ConfigError

    paths: list[Path] = []
    for target in targets:
        p = Path(target)
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not found:
                raise ConfigError(f"directory {target!r} holds no *.yaml config")
            paths += found
        elif p.exists():
            paths.append(p)
        elif any(ch in target for ch in "*?["):
            found = sorted(Path(m) for m in glob.glob(target, recursive=True))
            if not found:
                raise ConfigError(f"no file matches {target!r}")
            paths += found
        else:
            raise ConfigError(f"config file {target!r} does not exist")
    return paths


@app.command()
def check(
    targets: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Config files, directories or globs (configs/, 'configs/*.yaml'); none: the default problem.",
            show_default=False,
        ),
    ] = None,
    random: Annotated[
        int, typer.Option("--random", "-r", help="Also check N random geometries, e.g. --random 200.", min=0)
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the --random sweep.")] = 0,
    impl: Annotated[
        Optional[str],
        typer.Option(
            help="Check your own backward instead: mymodule:conv2d_backward or path/to/file.py:backward.",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="Finite differences of every entry (full), random directions (fast), or full for small problems (auto)."
        ),
    ] = Mode.auto,
    directions: Annotated[
        int, typer.Option(help="Random directions per gradient in fast mode, e.g. --directions 4.", min=1)
    ] = 2,
    rtol: Annotated[
        Optional[float],
        typer.Option(
            help="Relative tolerance (default 1e-9 for float64, 1e-4 for float32).", show_default=False
        ),
    ] = None,
    atol: Annotated[
        Optional[float],
        typer.Option(
            help="Absolute tolerance (default 1e-12 for float64, 1e-6 for float32).", show_default=False
        ),
    ] = None,
    junit_xml: Annotated[
        Optional[Path],
        typer.Option(
            "--junit-xml",
            help="Also write a JUnit XML report, e.g. --junit-xml report.xml.",
            show_default=False,
        ),
    ] = None,
    stride: StrideOpt = None,
    padding: PaddingOpt = None,
    dilation: DilationOpt = None,
    groups: GroupsOpt = None,
    dtype: DtypeOpt = None,
    format: FormatOpt = None,
    export: ExportOpt = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Prove gradients right: against the definition, the slides' pipeline, finite
    differences and the adjoint identity. Exit 0 if all pass, 1 if any fails.

    \b
    Examples:
      convgrad check configs/
      convgrad check --random 200 --seed 0
      convgrad check configs/ --impl my_conv.py:conv2d_backward --junit-xml report.xml
    """

    params = locals()

    def body() -> int:
        _check_export(export, format, force)
        import numpy as np

        from .checking import check_problem, load_impl, random_problem
        from .config import load
        from .errors import ConfigError

        fn = load_impl(impl) if impl else None
        overrides = _overrides(_problem_flags(params))
        if (rtol is not None and rtol < 0) or (atol is not None and atol < 0):
            raise ConfigError("--rtol and --atol must not be negative")

        # every config is validated before any check runs
        problems = [(str(p), load(p, overrides)) for p in _config_paths(targets or [])]
        rng = np.random.default_rng(seed)
        problems += [(f"random-{i}", random_problem(rng, dtype=dtype or "float64")) for i in range(random)]
        if not problems:
            problems = [("default", load(None, overrides))]

        def run_case(item):
            name, problem = item
            return check_problem(problem, name, fn, mode.value, rtol, atol, directions)

        results = []
        if format in (None, Format.rich, Format.plain) and len(problems) > 5 and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import track

            for item in track(problems, description="checking", console=Console(stderr=True), transient=True):
                results.append(run_case(item))
        else:
            results = [run_case(item) for item in problems]

        from .reports import check_json
        from .reports import junit_xml as to_junit

        if junit_xml is not None:
            from .files import write_atomic

            write_atomic(junit_xml, to_junit(results))
        show(format, export, force, lambda: _render("check").check_view(results, impl),
             lambda: check_json(results), lambda: _document().check_blocks(results))  # fmt: skip
        return ExitStatus.OK if all(r.passed for r in results) else ExitStatus.CHECK_FAILED

    _run(debug, body)


def run() -> None:
    """Console-script entry point."""
    app()
