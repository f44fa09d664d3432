"""The commands: each parses its flags, calls the core, and hands the result to
a renderer or to JSON (:func:`.output.show`).

Known errors (:class:`~convgrad_cli.errors.ConvgradError`) become one line on
stderr and exit status 2; ``--debug`` shows their traceback instead. Heavy
modules are imported inside the commands that need them, so that ``--help``
and ``trace`` start quickly. No ``from __future__ import annotations``: see
:mod:`.options`.
"""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from convgrad_cli import __version__
from convgrad_cli.errors import ConfigError, OutputError

from . import network
from .files import exists, write_atomic
from .options import ConfigArg, DebugOpt, ForceOpt, OutputFlags, ProblemFlags, grouped
from .output import Shown, check_export, emit, guard, show

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


def load(config: Optional[Path], flags: ProblemFlags):  # type: ignore[no-untyped-def]
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

    guard(out.debug, lambda: _one_pass("forward", config, flags, out))


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

    guard(out.debug, lambda: _one_pass("backward", config, flags, out))


def _one_pass(which: str, config: Optional[Path], flags: ProblemFlags, out: OutputFlags) -> None:
    """The body of ``forward`` or ``backward`` (``which``): a stack's pass, or one
    layer's result as its view or its JSON."""
    check_export(out)
    stack = network.stack_of(config, flags)
    if stack is not None:
        (network.forward if which == "forward" else network.backward)(stack, out)
        return
    from convgrad_cli.core import explain, views
    from convgrad_cli.render import json

    passes: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., dict]]] = {
        "forward": (explain.forward, views.forward_view, json.forward_json),
        "backward": (explain.backward, views.backward_view, json.backward_json),
    }
    compute, view, document = passes[which]
    result, only = compute(load(config, flags)), out.only()
    pipeline = which == "backward"  # its JSON holds the slides' pipeline
    shown = Shown(
        lambda: view(result, out.scope()),
        lambda: document(result, only),
        problem=result.problem,
        pipeline=pipeline,
    )
    show(out, shown)


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
            f"--{n}"
            for n, v in (("input", input), ("output", output), ("weight", weight), ("all", every))
            if v
        ]
        if len(given) > 1:
            raise ConfigError(
                f"{' and '.join(given)} were given together; trace one of --input, --output, --weight or --all"
            )
        stack = network.stack_of(config, flags)
        if stack is not None and (weight or every or steps):
            raise ConfigError(
                "a stack is traced with --output or --input; --weight, --all and --steps are for one layer"
            )
        if stack is not None:
            network.trace(stack, input, output, out)
            return
        cells = {"input": input, "output": output, "weight": weight}
        show(out, _traced(load(config, flags), cells, steps, out))

    guard(out.debug, body)


def _traced(problem: Any, cells: dict[str, Optional[str]], steps: bool, out: OutputFlags) -> Shown:
    """One layer's trace: of the cell given (``cells``: each kind's text, or ``None``),
    one window at a time with ``steps``; with no cell, every input cell's gradient."""
    from convgrad_cli.core import explain, views
    from convgrad_cli.render import json

    only = out.only()
    chosen = [(kind, text) for kind, text in cells.items() if text is not None]
    if not chosen:
        every = explain.every_input(problem)
        return Shown(lambda: views.every_view(every), lambda: json.trace_json(every, True), problem=problem)
    cell = explain.CellTrace.of(chosen[0][0], problem, chosen[0][1])
    if steps and isinstance(cell, explain.InputTrace):
        model = lambda: views.steps_view(cell, only)  # noqa: E731
    else:
        model = lambda: views.cell_view(cell, only)  # noqa: E731
    return Shown(model, lambda: json.trace_json([cell], False, only), problem=problem)


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
            emit(lambda: sys.stdout.write(template()))
            return
        if exists(path) and not force:
            raise OutputError(f"{str(path)!r} exists; pass --force to overwrite it")
        write_atomic(path, template())
        import shlex

        from convgrad_cli.core.text import printable

        name = printable(str(path))
        print(f"wrote {name}; try: convgrad trace {shlex.quote(name)} --input a", file=sys.stderr)

    guard(debug, body)


def run() -> None:
    """Console-script entry point: every way a command can end is its exit status
    and at most one line on stderr — usage errors too, and a closed stdout."""
    import errno
    import signal

    from convgrad_cli.core.text import printable

    from .output import ClosedStream, die_of_sigpipe, tolerant_streams

    try:
        from typer._click.exceptions import ClickException, UsageError
    except ImportError:  # a typer from before it carried its own click
        from click.exceptions import ClickException, UsageError  # type: ignore[no-redef,assignment]

    tolerant_streams()
    if sys.stdout is None:  # started with stdout closed (>&-): the first write says so
        sys.stdout = ClosedStream()
    # SIGTERM as an exception, so that temporary files and the check's child are cleaned up
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        status = app(prog_name="convgrad", standalone_mode=False)
        sys.stdout.flush()  # here, not at exit, where a full disk is only "Exception ignored"
    except BrokenPipeError:  # --help into `head`
        die_of_sigpipe()
    except OSError as exc:  # --help or --version into a full disk or a closed stdout
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EBADF, errno.EDQUOT):
            raise
        print(f"convgrad: error: cannot write to standard output: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(2)
    except UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `convgrad`: the help, as Click shows it
            exc.show()
            sys.exit(exc.exit_code)
        where = f"; see {exc.ctx.command_path} --help" if exc.ctx is not None else ""  # type: ignore[attr-defined]
        message = printable(exc.format_message().rstrip("."))  # it may quote what was typed
        print(f"convgrad: error: {message[:1].lower() + message[1:]}{where}", file=sys.stderr)
        sys.exit(2)
    except ClickException as exc:
        print(f"convgrad: error: {printable(exc.format_message())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("convgrad: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
