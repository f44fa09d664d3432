"""The options of the commands, declared once, and gathered into typed groups.

A command's parameter annotated with an option group (a frozen dataclass whose
fields are Typer options) stands for all of the group's options: :func:`grouped`
lays them out in the signature Typer reads, and hands the command one object.

No ``from __future__ import annotations`` here: Typer would have to eval every
annotation string at start-up.
"""

import dataclasses
import functools
import inspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer


class Format(str, Enum):
    rich = "rich"
    plain = "plain"
    json = "json"
    latex = "latex"
    markdown = "markdown"


class Theme(str, Enum):
    light = "light"
    dark = "dark"


class Mode(str, Enum):
    auto = "auto"
    full = "full"
    fast = "fast"


def _flag(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, show_default=False)


ConfigArg = Annotated[
    Optional[Path],
    typer.Argument(
        help="YAML config file (e.g. configs/stride2.yaml); flags override it.", show_default=False
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Let --export overwrite an existing file.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]


@dataclasses.dataclass(frozen=True)
class ProblemFlags:
    """The flags that describe a problem: the config's keys, ``input`` spelt
    ``--x`` (``--input`` names the cell that ``trace`` follows)."""

    x: Annotated[
        Optional[str],
        _flag(
            "--x", help="Input array: YAML ('[[1,2],[3,4]]'), or FILL:SHAPE ('names:4x4', 'random:1x3x8x8')."
        ),
    ] = None
    kernel: Annotated[
        Optional[str], _flag("--kernel", "-k", help="Kernel array, like --x (e.g. 'arange:2x2').")
    ] = None
    bias: Annotated[Optional[str], _flag("--bias", help="Bias, one per output channel (e.g. '[0.5]').")] = (
        None
    )
    delta: Annotated[
        Optional[str],
        _flag("--delta", help="Upstream gradient δ = ∂L/∂y (default: ones; 'names' for symbols only)."),
    ] = None
    stride: Annotated[Optional[str], _flag("--stride", "-s", help="Stride: 2, or 2,1 per axis.")] = None
    padding: Annotated[
        Optional[str],
        _flag(
            "--padding", "-p", help="Padding: 1; 1,2; '[[0,1],[1,0]]' (before/after per axis); same; valid."
        ),
    ] = None
    dilation: Annotated[
        Optional[str], _flag("--dilation", "-d", help="Kernel dilation: 2, or 2,1 per axis.")
    ] = None
    groups: Annotated[
        Optional[int], _flag("--groups", help="Channel groups; must divide both channel counts.")
    ] = None
    dims: Annotated[
        Optional[str],
        _flag(
            "--dims",
            help="Spatial axes, 1, 2 or 3, e.g. --dims 1 (default: 2, or what a 1- or 5-axis input or kernel implies; "
            "check: the ranks to check, e.g. 1,2,3).",
        ),
    ] = None
    seed: Annotated[Optional[int], _flag("--seed", help="Seed for random fills (default 0).")] = None
    dtype: Annotated[
        Optional[str],
        _flag("--dtype", help="float64 (default) or float32; check: also float16 or bfloat16 for --impl."),
    ] = None

    layer: Annotated[
        Optional[str],
        _flag(
            "--layer",
            help="A layer of another kind (forward, backward, trace, shape): conv_transpose, maxpool, avgpool, relu.",
        ),
    ] = None
    kernel_size: Annotated[
        Optional[str], _flag("--kernel-size", help="With --layer maxpool/avgpool: the window, 2 or 3,2.")
    ] = None
    output_padding: Annotated[
        Optional[str],
        _flag("--output-padding", help="With --layer conv_transpose: PyTorch's output_padding."),
    ] = None
    ceil_mode: Annotated[
        Optional[bool],
        _flag("--ceil-mode", help="With --layer maxpool/avgpool: sizes rounded up, as PyTorch."),
    ] = None
    count_include_pad: Annotated[
        Optional[bool],
        _flag(
            "--count-include-pad/--no-count-include-pad",
            help="With --layer avgpool: whether padding counts in the divisor (default: it does, as PyTorch).",
        ),
    ] = None
    divisor: Annotated[Optional[int], _flag("--divisor", help="With --layer avgpool: divide by this.")] = None

    def layer_overrides(self) -> dict[str, Any]:
        """The flags of a layer of another kind (``--layer``), by parameter name."""
        names = {
            "kernel_size": "kernel",
            "output_padding": "output_padding",
            "ceil_mode": "ceil_mode",
            "count_include_pad": "count_include_pad",
            "divisor": "divisor",
        }
        return {key: getattr(self, name) for name, key in names.items() if getattr(self, name) is not None}

    def overrides(self, kind_given: bool = False) -> dict[str, Any]:
        """The flags given, as config values parsed with the config's own grammar;
        ``kind_given``: the command reads ``--layer`` itself (``check``)."""
        from convgrad_cli.errors import ConfigError

        layered = [
            f"--{name.replace('_', '-')}"
            for name in LAYER_FLAGS
            if getattr(self, name) is not None
            and not (name == "layer" and (self.layer == "conv" or kind_given))
        ]
        if layered:
            raise ConfigError(
                f"{', '.join(layered)}: for a layer of another kind, given to forward, backward, trace or shape "
                "with --layer conv_transpose, maxpool, avgpool or relu"
            )
        return self.problem_overrides()

    def problem_overrides(self) -> dict[str, Any]:
        """The flags of the config's keys given, parsed with the config's own grammar."""
        from convgrad_cli.config import parse_flag

        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None or field.name in LAYER_FLAGS:
                continue
            key = "input" if field.name == "x" else field.name
            out[key] = parse_flag(key, value) if isinstance(value, str) else value
        return out


#: The flags of a layer of another kind, read by the stack commands alone.
LAYER_FLAGS = ("layer", "kernel_size", "output_padding", "ceil_mode", "count_include_pad", "divisor")


@dataclasses.dataclass(frozen=True)
class OutputFlags:
    """How a command's result is shown and written."""

    format: Annotated[
        Optional[Format],
        _flag(
            "--format",
            "-f",
            help="rich (terminal default), plain (no colour), json (one document on stdout), "
            "latex (compiles, for slides; --standalone for a whole document) or markdown (tables for notes).",
        ),
    ] = None
    export: Annotated[
        Optional[Path],
        _flag(
            "--export",
            "-e",
            help="Also write what is shown to a file, e.g. --export picture.svg: .svg, .html, .txt, "
            ".png or .pdf (these two need pip install 'convgrad[images]'; with --format json/latex/markdown: "
            ".json, .tex, .md or .txt). Written whole or not at all.",
        ),
    ] = None
    theme: Annotated[
        Theme, _flag("--theme", help="The colours of --export pictures: light (for slides) or dark.")
    ] = Theme.light
    width: Annotated[
        Optional[int], _flag("--width", help="Columns to lay the picture out in (default: the terminal's).")
    ] = None
    chrome: Annotated[
        bool, typer.Option("--chrome", help="Draw an SVG export in a terminal window's frame.")
    ] = False
    standalone: Annotated[
        bool,
        typer.Option(
            "--standalone", help="With --format latex: a whole document, not a fragment to \\input."
        ),
    ] = False
    slice: Annotated[
        Optional[str],
        _flag(
            "--slice",
            help="Which slices to draw when not all fit, e.g. --slice o=2 or n=1,c=0 "
            "(axes: n batch, c input channel, o output channel, z depth).",
        ),
    ] = None
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="forward and backward: every slice and every equation of a layer of several samples or "
            "channels (by default the first sample, channel and filter, or the --slice given).",
        ),
    ] = False
    precision: Annotated[
        Optional[int],
        _flag("--precision", help="Significant digits of the numbers shown (grids 4, equations 6), e.g. 12."),
    ] = None
    force: ForceOpt = False
    debug: DebugOpt = False

    def scope(self) -> Any:
        """What forward and backward show: a summary, or everything (``--full``)."""
        from convgrad_cli.core.views import Scope
        from convgrad_cli.errors import ConfigError

        if self.precision is not None and not 1 <= self.precision <= 17:
            raise ConfigError(f"--precision {self.precision} is not allowed; give 1 to 17 significant digits")
        return Scope(self.full, self.only(), self.precision)

    def only(self) -> dict[str, int]:
        """``--slice n=1,o=2`` as ``{"n": 1, "o": 2}``."""
        from convgrad_cli.errors import ConfigError

        if self.slice is None:
            return {}
        out: dict[str, int] = {}
        for part in self.slice.split(","):
            axis, _, index = part.strip().partition("=")
            if axis not in ("n", "c", "o", "z") or not index.strip().isdigit():
                raise ConfigError(
                    f"--slice {self.slice!r} is not allowed; give axis=index pairs such as n=1,o=2 "
                    "with the axes n, c, o and z"
                )
            out[axis] = int(index)
        return out


def grouped(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with each parameter annotated by an option group spread into
    that group's options (keyword-only, in the group's order), gathered back
    into one object of the group when the command runs."""
    signature = inspect.signature(command)
    params: list[inspect.Parameter] = []
    groups: dict[str, Any] = {}
    for param in signature.parameters.values():
        if isinstance(param.annotation, type) and dataclasses.is_dataclass(param.annotation):
            groups[param.name] = param.annotation
            params += [
                inspect.Parameter(
                    f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type
                )
                for f in dataclasses.fields(param.annotation)
            ]
        else:
            params.append(param)

    @functools.wraps(command)
    def run(**given: Any) -> Any:
        for name, group in groups.items():
            given[name] = group(**{f.name: given.pop(f.name) for f in dataclasses.fields(group)})
        return command(**given)

    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run
