"""The commands: each parses its flags, calls the core, and hands the result to
a renderer or to JSON (:func:`.output.show`).

Known errors (:class:`~convgrad_cli.errors.ConvgradError`) become one line on
stderr and exit status 2; ``--debug`` shows their traceback instead. Heavy
modules are imported inside the commands that need them, so that ``--help``
and ``trace`` start quickly. No ``from __future__ import annotations``: see
:mod:`.options`.
"""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from convgrad_cli import __version__
from convgrad_cli.errors import ConfigError, ExitStatus, OutputError

from .options import ConfigArg, DebugOpt, ForceOpt, Format, Mode, OutputFlags, ProblemFlags, grouped
from .output import Shown, check_export, guard, show, write_atomic

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


def _load(config: Optional[Path], flags: ProblemFlags):  # type: ignore[no-untyped-def]
    from convgrad_cli.config import load

    return load(config, flags.overrides())


@app.command()
@grouped
def forward(
    config: ConfigArg = None, flags: ProblemFlags = ProblemFlags(), out: OutputFlags = OutputFlags()
) -> None:
    """The input, the kernel, the output, and each output's expression.

    \b
    Examples:
      convgrad forward
      convgrad forward --stride 2
      convgrad forward configs/conv1d.yaml --format json
    """

    def body() -> None:
        check_export(out)
        from convgrad_cli.core import explain
        from convgrad_cli.render import json, text, views

        result, only = explain.forward(_load(config, flags)), out.only()
        show(out, Shown(lambda: views.forward_view(result, only), lambda: json.forward_json(result, only),
                        lambda: text.forward_blocks(result)))  # fmt: skip

    guard(out.debug, body)


@app.command()
@grouped
def backward(
    config: ConfigArg = None, flags: ProblemFlags = ProblemFlags(), out: OutputFlags = OutputFlags()
) -> None:
    """δ, the dilated and padded δ, the flipped kernel, and ∂L/∂x, ∂L/∂W, ∂L/∂bias.

    \b
    Examples:
      convgrad backward configs/stride2.yaml
      convgrad backward --stride 2 --delta names
      convgrad backward configs/uneven.yaml --format latex
      convgrad backward --export backward.svg
    """

    def body() -> None:
        check_export(out)
        from convgrad_cli.core import explain
        from convgrad_cli.render import json, text, views

        result, only = explain.backward(_load(config, flags)), out.only()
        show(out, Shown(lambda: views.backward_view(result, only), lambda: json.backward_json(result, only),
                        lambda: text.backward_blocks(result)))  # fmt: skip

    guard(out.debug, body)


def _cell(help: str, *names: str) -> typer.models.OptionInfo:
    return typer.Option(*names, help=help, show_default=False)


@app.command()
@grouped
def trace(
    config: ConfigArg = None,
    input: Annotated[
        Optional[str],
        _cell(
            "Input cell to follow: a name (a, f) or a 0-based index (1,2; or n,c,row,col).", "--input", "-i"
        ),
    ] = None,
    output: Annotated[
        Optional[str], _cell("Output to take apart: y5, or an index such as 1,1.", "--output", "-o")
    ] = None,
    weight: Annotated[
        Optional[str], _cell("Weight whose gradient to build: w2, or an index such as 0,1.", "--weight", "-w")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", "-a", help="Every input cell's gradient, as the slides list them.")
    ] = False,
    steps: Annotated[
        bool, typer.Option("--steps", help="Tell the reasoning one window at a time (with --input).")
    ] = False,
    flags: ProblemFlags = ProblemFlags(),
    out: OutputFlags = OutputFlags(),
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

    def body() -> None:
        check_export(out)
        given = [
            name
            for name, v in (("--input", input), ("--output", output), ("--weight", weight), ("--all", every))
            if v
        ]
        if len(given) > 1:
            raise ConfigError(
                f"{' and '.join(given)} were given together; trace one of --input, --output, --weight or --all"
            )
        from convgrad_cli.core import explain
        from convgrad_cli.render import json, text
        from convgrad_cli.render import trace as views

        problem, only = _load(config, flags), out.only()
        if input is not None:
            cell = explain.InputTrace.of(problem, input)
            view = views.steps_view if steps else views.input_view
            shown = Shown(lambda: view(cell, only), lambda: json.trace_json([cell], False, only),
                          lambda: text.trace_blocks([cell]))  # fmt: skip
        elif output is not None:
            out_cell = explain.OutputTrace.of(problem, output)
            shown = Shown(lambda: views.output_view(out_cell, only), lambda: json.trace_json([out_cell], False, only),
                          lambda: text.trace_blocks([out_cell]))  # fmt: skip
        elif weight is not None:
            w_cell = explain.WeightTrace.of(problem, weight)
            shown = Shown(lambda: views.weight_view(w_cell, only), lambda: json.trace_json([w_cell], False, only),
                          lambda: text.trace_blocks([w_cell]))  # fmt: skip
        else:
            cells = explain.every_input(problem)
            shown = Shown(lambda: views.all_view(cells), lambda: json.trace_json(cells, True),
                          lambda: text.trace_blocks(cells))  # fmt: skip
        show(out, shown)

    guard(out.debug, body)


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
        from convgrad_cli.config import template

        if str(path) == "-":
            sys.stdout.write(template())
            return
        if path.exists() and not force:
            raise OutputError(f"{str(path)!r} exists; pass --force to overwrite it")
        write_atomic(path, template())
        print(f"wrote {path}; try: convgrad trace {path} --input a", file=sys.stderr)

    guard(debug, body)


@app.command()
@grouped
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
    sweep_seed: Annotated[int, typer.Option("--sweep-seed", help="Seed of the --random sweep.")] = 0,
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
    flags: ProblemFlags = ProblemFlags(),
    out: OutputFlags = OutputFlags(),
) -> None:
    """Prove gradients right: against the definition, the slides' pipeline, finite
    differences and the adjoint identity. Exit 0 if all pass, 1 if any fails.

    \b
    Examples:
      convgrad check configs/
      convgrad check --random 200 --sweep-seed 0
      convgrad check configs/ --impl my_conv.py:conv2d_backward --junit-xml report.xml
    """

    def body() -> int:
        check_export(out)
        if (rtol is not None and rtol < 0) or (atol is not None and atol < 0):
            raise ConfigError("--rtol and --atol must not be negative")
        import numpy as np

        from convgrad_cli.config import config_paths, load
        from convgrad_cli.core.check import check_problem, load_impl, random_problem
        from convgrad_cli.render import check as views
        from convgrad_cli.render import json, text
        from convgrad_cli.render.junit import junit_xml as to_junit

        fn = load_impl(impl) if impl else None
        overrides = flags.overrides()
        # every config is validated before any check runs
        problems = [(str(p), load(p, overrides)) for p in config_paths(targets or [])]
        rng = np.random.default_rng(sweep_seed)
        problems += [
            (f"random-{i}", random_problem(rng, dtype=flags.dtype or "float64")) for i in range(random)
        ]
        if not problems:
            problems = [("default", load(None, overrides))]

        def run_case(item):  # type: ignore[no-untyped-def]
            name, problem = item
            return check_problem(problem, name, fn, mode.value, rtol, atol, directions)

        results = []
        if out.format in (None, Format.rich, Format.plain) and len(problems) > 5 and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import track

            for item in track(problems, description="checking", console=Console(stderr=True), transient=True):
                results.append(run_case(item))
        else:
            results = [run_case(item) for item in problems]
        if junit_xml is not None:
            write_atomic(junit_xml, to_junit(results))
        show(out, Shown(lambda: views.check_view(results, impl), lambda: json.check_json(results),
                        lambda: text.check_blocks(results)))  # fmt: skip
        return ExitStatus.OK if all(r.passed for r in results) else ExitStatus.CHECK_FAILED

    guard(out.debug, body)


def run() -> None:
    """Console-script entry point."""
    app()
