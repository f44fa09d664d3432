"""`convgrad shape`: which stride, padding and output_padding give the sizes I need,
and which cells get no gradient.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from typing import Annotated, Any, Optional

import typer

from convgrad_cli.errors import ConfigError, ExitStatus

from . import network
from .app import app, load
from .options import ConfigArg, OutputFlags, ProblemFlags, grouped
from .output import Shown, check_export, guard, show


def _sizes(name: str, text: Optional[str]) -> Optional[list[int]]:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise ConfigError(
            f"--{name} {text!r} is not allowed; give a positive size, or one per axis such as 32,17"
        )
    return values


def _opt(help: str, *names: str) -> Any:
    return typer.Option(*names, help=help, show_default=False)


#: --kernel-size as the layer flags name it; --kernel, its older name, still works
KernelSize = Annotated[
    Optional[str], _opt("Fix the kernel size (else 1…7 are tried): 3, or 3,1.", "--kernel-size", "--kernel")
]


@app.command()
@grouped
def shape(
    config: ConfigArg = None,
    sizes_in: Annotated[Optional[str], _opt("The input size, or one per axis: 32 or 32,17.", "--in")] = None,
    sizes_out: Annotated[Optional[str], _opt("The output size wanted, or one per axis.", "--out")] = None,
    kernel: KernelSize = None,
    stride: Annotated[Optional[str], _opt("Fix the stride (else 1…4): 2, or 2,1.", "--stride")] = None,
    dilation: Annotated[Optional[str], _opt("Fix the dilation (else 1…3): 1.", "--dilation")] = None,
    padding: Annotated[
        Optional[str], _opt("With --map: the padding, 1 or 1,0 (transposed: PyTorch's).", "--padding")
    ] = None,
    output_padding: Annotated[
        Optional[str], _opt("With --map --transposed: the output_padding.", "--output-padding")
    ] = None,
    transposed: Annotated[
        bool, typer.Option("--transposed", help="A transposed convolution (ConvTranspose).")
    ] = False,
    coverage: Annotated[
        bool, typer.Option("--map", help="The coverage map of the geometry the flags give.")
    ] = False,
    out: OutputFlags = OutputFlags(),
) -> None:
    """Which kernel, stride, padding and output_padding map one size to another, as the
    calls of PyTorch, Keras and JAX; and the coverage map: how many windows each cell
    belongs to, which get no gradient, where checkerboard artefacts come from.

    \b
    Examples:
      convgrad shape --in 32 --out 16
      convgrad shape --in 32,17 --out 64,33 --transposed
      convgrad shape --in 7 --kernel-size 3 --stride 2 --map
      convgrad shape --in 4 --kernel-size 3 --stride 2 --transposed --map
      convgrad shape configs/uneven.yaml
    """

    def body() -> int:
        check_export(out)
        fixed = {
            name: _sizes(name, text)
            for name, text in (("kernel", kernel), ("stride", stride), ("dilation", dilation))
        }
        if config is not None and (stack := network.stack_of(config, ProblemFlags())) is not None:
            network.shape(stack, out)
            return ExitStatus.OK
        if config is not None:
            g = load(config, ProblemFlags()).geom
            return _show_map(out, g, "input")
        n = _sizes("in", sizes_in)
        if n is None:
            raise ConfigError("give --in (and --out, or --map), or a config")
        if coverage:
            g = _geometry(n, fixed, padding, output_padding, transposed)
            return _show_map(out, g, "output" if transposed else "input")
        m = _sizes("out", sizes_out)
        if m is None:
            raise ConfigError("give --out, the size wanted (or --map for the coverage map of a geometry)")
        return _show_solutions(out, n, m, fixed, transposed)

    guard(out.debug, body)


def _show_solutions(out: OutputFlags, n: list[int], m: list[int], fixed: dict, transposed: bool) -> int:
    """The geometries that map size ``n`` to ``m`` (or the nearest there are); the exit
    status says whether any does."""
    from convgrad_cli.core import shape as core
    from convgrad_cli.core.views import shape as views
    from convgrad_cli.render import json

    answer = core.answer(n, m, transposed, **fixed)
    show(out, Shown(lambda: views.solutions_view(answer), lambda: json.shape_json(answer)))
    return ExitStatus.OK if answer.found else ExitStatus.CHECK_FAILED


def _geometry(
    n: list[int], fixed: dict, padding: Optional[str], output_padding: Optional[str], transposed: bool
) -> Any:
    """The forward geometry whose input is the cells mapped: for a transposed
    convolution, its output (the adjoint covers it as the forward covers its input)."""
    from convgrad_cli.core.geometry import Geometry
    from convgrad_cli.core.shape import transposed_size

    nd = len(n)

    def each(values: Optional[list[int]], default: int) -> list[int]:
        if values is None:
            return [default] * nd
        return values * nd if len(values) == 1 else values

    k, s, d = each(fixed["kernel"], 3), each(fixed["stride"], 1), each(fixed["dilation"], 1)
    pads = each(_sizes("padding", padding) if padding not in (None, "0") else None, 0)
    if not transposed:
        return Geometry.build(tuple(n), tuple(k), stride=tuple(s), dilation=tuple(d), padding=tuple(pads))
    ops = each(_sizes("output-padding", output_padding) if output_padding not in (None, "0") else None, 0)
    sizes = tuple(transposed_size(*args) for args in zip(n, k, s, d, pads, ops))
    if any(v < 1 for v in sizes):
        raise ConfigError(
            f"that transposed convolution makes sizes {sizes}; give a larger input or less padding"
        )
    return Geometry.build(
        sizes, tuple(k), stride=tuple(s), dilation=tuple(d), padding=tuple((p, p) for p in pads)
    )


def _show_map(out: OutputFlags, g: Any, what: str) -> int:
    """The coverage map of geometry ``g`` (of its ``what``: input, or a transposed one's output)."""
    from convgrad_cli.core.views import shape as views
    from convgrad_cli.render import json

    show(out, Shown(lambda: views.map_view(g, what), lambda: json.coverage_json(g, what)))
    return ExitStatus.OK
