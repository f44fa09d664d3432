"""Pictures in Python and in notebooks: the views of the commands as objects.

>>> import convgrad_cli as cg
>>> view = cg.trace(input="f", stride=1)   # the seed's 4×4 input a…p, 2×2 kernel w1…w4
>>> "∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5" in str(view)
True

Each view prints as a Rich renderable in a terminal (``rich.print(view)``),
shows itself in Jupyter as HTML in colour with its legend, and gives
``.to_json()``, ``.to_latex()``, ``.to_markdown()`` and ``.save("f.svg")``
(``.html``, ``.txt``, ``.png``, ``.pdf``, ``.json``, ``.tex``, ``.md``): the same
model the command line draws, drawn by the same renderers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from .core import explain
from .core import problem as problems
from .core.options import PYTHON, spelled
from .core.views import Scope, View, backward_view, cell_view, every_view, forward_view, steps_view

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

P = ParamSpec("P")
R = TypeVar("R")

#: a cell of trace: a name or index as text, or an index as a tuple or list of ints
Cell = str | Sequence[int]

#: the width a picture is laid out at when nothing says otherwise (a notebook's cell)
WIDTH = 100


def _text_width() -> int:
    import os
    import shutil
    import sys

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 20:
        return int(columns)
    if sys.stdout.isatty():
        return max(20, shutil.get_terminal_size((WIDTH, 24)).columns)
    return WIDTH


class Picture:
    """One view of a layer: drawn by every format, decided once."""

    def __init__(self, view: View, document: Callable[[], dict[str, Any]]) -> None:
        self.view = view
        self._document = document

    # -- the terminal and the notebook -----------------------------------------------------------

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from .render.terminal import draw

        yield draw(self.view)

    def __str__(self) -> str:
        """The picture as plain text (every mark is text too), as wide as the terminal
        printed to (``COLUMNS`` first), else a notebook cell's width."""
        return self._console(plain=True, width=_text_width()).export_text()

    def __repr__(self) -> str:
        return f"<convgrad {self.view.command}: {len(self.view.blocks)} blocks; print() or display() it>"

    def _repr_html_(self) -> str:
        """A ``<pre>`` in the terminal's colours (light), as Jupyter shows it."""
        from .render.export import THEMES

        fragment = "<pre style=\"white-space: pre; overflow-x: auto; line-height: 1.25; font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace\">{code}</pre>"  # noqa: E501
        return self._console(plain=False).export_html(
            theme=THEMES["light"], inline_styles=True, code_format=fragment
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def _console(self, plain: bool, width: int = WIDTH) -> Console:
        from .render import export
        from .render.terminal import draw

        return export.record(draw(self.view), width, plain, theme="light")

    # -- the other formats ------------------------------------------------------------------------

    def to_json(self) -> str:
        """Every value, as ``--format json`` writes it."""
        from .render.json import json_text

        return json_text(self._document())

    def to_latex(self, standalone: bool = False) -> str:
        from .render.latex import to_latex

        return to_latex(self.view.blocks, standalone=standalone)

    def to_markdown(self) -> str:
        from .render.markdown import to_markdown

        return to_markdown(self.view.blocks)

    def save(self, path: str | Path, width: int = WIDTH, theme: str = "light") -> Path:
        """Write the picture in the format its suffix names; returns the path."""
        from .render import export
        from .render.terminal import draw, frames

        path = Path(path)
        suffix = path.suffix.lower()
        text: str | bytes
        if suffix in WRITERS:
            text = WRITERS[suffix](self)
        elif suffix == ".svg" and self.view.frames:
            text = export.animated_svg(frames(self.view), width, theme)
        elif suffix == ".svg":
            text = export.svg(draw(self.view), width, theme)
        elif suffix in (".html", ".htm"):
            text = export.html(draw(self.view), width, theme)
        elif suffix in (".png", ".pdf"):
            text = export.image(draw(self.view), width, theme, suffix)
        elif suffix == ".txt":
            text = export.plain_text(draw(self.view), width)
        else:
            from .errors import OutputError

            raise OutputError(
                f"{str(path)!r}: a picture is saved as .svg, .html, .txt, .png, .pdf, .json, .tex or .md"
            )
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path


class Report(Picture):
    """A check's picture, and whether every gradient agreed with every reference."""

    def __init__(self, view: View, document: Callable[[], dict[str, Any]], passed: bool) -> None:
        super().__init__(view, document)
        self.passed = passed

    def __bool__(self) -> bool:
        """``assert cg.check(impl=f)`` and ``if cg.check(…):`` ask whether it passed."""
        return self.passed


WRITERS: dict[str, Callable[[Picture], str]] = {
    ".json": Picture.to_json,
    ".tex": Picture.to_latex,
    ".md": Picture.to_markdown,
}


# -- the views ------------------------------------------------------------------------------------


def _python_words(function: Callable[P, R]) -> Callable[P, R]:
    """A picture built in Python names Python's options (``full=True``, ``.to_json()``), not the
    command line's: a hint must be something the reader can type where they are."""

    @functools.wraps(function)
    def built(*args: P.args, **kwargs: P.kwargs) -> R:
        with spelled(PYTHON):
            return function(*args, **kwargs)

    return built


#: what a picture's ``**geometry`` takes, as :func:`convgrad_cli.conv2d` and the config do
GEOMETRY = ("stride", "padding", "dilation", "groups", "dims", "dtype", "seed")


def _takes(function: str, given: Mapping[str, Any], allowed: Sequence[str]) -> None:
    """A keyword the picture does not take, refused in its own name (not a helper's)."""
    unknown = [k for k in given if k not in allowed]
    if unknown:
        raise TypeError(
            f"{function}() got an unexpected keyword argument {unknown[0]!r}; its geometry is "
            f"{', '.join(allowed)}"
        )


def _problem(x: Any, w: Any, delta: Any, bias: Any, geometry: Mapping[str, Any]) -> problems.Problem:
    """The seed's example where an operand is not given; a fill's name (``"names"``)
    fills the seed's shape, and with a shape as the command line writes it
    (``"arange:5x5"``) that shape. ``dims`` as the command line writes it (``"2"``) too."""

    def operand(value: Any, shape: tuple[int, ...] | None, default: str) -> Any:
        if value is None:
            return problems.Fill(default, shape)
        if not isinstance(value, str):
            return value
        kind, colon, sizes = value.partition(":")
        if colon and all(n.isdigit() for n in sizes.split("x")):
            return problems.Fill(kind, tuple(int(n) for n in sizes.split("x")))
        return problems.Fill(value, shape)

    dims = geometry.get("dims")
    if isinstance(dims, str) and dims.strip().isdigit():
        geometry = {**geometry, "dims": int(dims)}
    return problems.build(
        operand(x, (4, 4), "arange"),
        operand(w, (2, 2), "arange"),
        bias=bias,
        delta=operand(delta, None, "ones"),
        **geometry,
    )


@_python_words
def forward(
    x: Any = None,
    w: Any = None,
    *,
    bias: Any = None,
    only: Mapping[str, int] | None = None,
    full: bool = False,
    precision: int | None = None,
    **geometry: Any,
) -> Picture:
    """The input, the kernel, the output and each output's expression (of a layer of
    several samples or channels, the first of each or ``only``'s; ``full``: all;
    ``precision``: significant digits of the numbers, 1 to 17).

    ``x``, ``w``: arrays (or nested lists), a fill's name (``"names"``, ``"arange"``,
    ``"random"``) with a shape as the command line writes it (``"arange:5x5"``) or
    without (the seed's), or ``None`` for the seed's 4×4 and 2×2; ``geometry``: ``stride``,
    ``padding``, ``dilation``, ``groups``, ``dims`` as :func:`convgrad_cli.conv2d` takes them.
    """
    from .render import json

    _takes("forward", geometry, GEOMETRY)
    result = explain.forward(_problem(x, w, None, bias, geometry))
    scope = _scope(full, only, precision)
    return Picture(forward_view(result, scope), lambda: json.forward_json(result, only))


def _scope(full: bool, only: Mapping[str, int] | None, precision: int | None) -> Scope:
    if precision is not None and not (_is_int(precision) and 1 <= precision <= 17):
        from .errors import ConfigError

        raise ConfigError(f"precision={precision!r} is not allowed; give 1 to 17 significant digits")
    return Scope(full, dict(only or {}), precision)


@_python_words
def backward(
    x: Any = None,
    w: Any = None,
    delta: Any = None,
    *,
    bias: Any = None,
    only: Mapping[str, int] | None = None,
    full: bool = False,
    precision: int | None = None,
    **geometry: Any,
) -> Picture:
    """δ, dilated and padded, the flipped kernel, and ∂L/∂x, ∂L/∂W, ∂L/∂bias
    (``delta`` ``None``: ones; ``only``, ``full``, ``precision`` as :func:`forward`)."""
    from .render import json

    _takes("backward", geometry, GEOMETRY)
    problem = _problem(x, w, delta, bias, geometry)
    result = explain.backward(problem)
    scope = _scope(full, only, precision)
    return Picture(backward_view(result, scope), lambda: json.backward_json(result, only))


@_python_words
def trace(
    x: Any = None,
    w: Any = None,
    delta: Any = None,
    *,
    input: Cell | None = None,
    output: Cell | None = None,
    weight: Cell | None = None,
    steps: bool = False,
    only: Mapping[str, int] | None = None,
    **geometry: Any,
) -> Picture:
    """Where a cell appears: ``input="f"`` (its windows, the δ entries it depends
    on, the flipped kernel over the padded δ), ``output="y5"``, ``weight="w2"``;
    none of them: every input cell's gradient. A cell is a name or an index, as a
    string (``"1,1"``) or a tuple or list of ints (``(1, 1)``), as ``--input`` takes
    it. ``steps``: one window at a time."""
    from .render import json

    _takes("trace", geometry, GEOMETRY)
    problem = _problem(x, w, delta, None, geometry)
    chosen = [
        (k, _cell_text(k, v))
        for k, v in (("input", input), ("output", output), ("weight", weight))
        if v is not None
    ]
    if len(chosen) > 1:
        from .errors import ConfigError

        raise ConfigError("trace one of input=, output= or weight=")
    if not chosen:
        cells = explain.every_input(problem)
        return Picture(every_view(cells), lambda: json.trace_json(cells, True))
    cell = explain.CellTrace.of(chosen[0][0], problem, chosen[0][1])
    view = steps_view(cell, only) if steps and isinstance(cell, explain.InputTrace) else cell_view(cell, only)
    return Picture(view, lambda: json.trace_json([cell], False, only))


def _cell_text(kind: str, cell: object) -> str:
    """A cell as the command line's text: ``(1, 1)`` → ``"1,1"``, so that both forms
    are read, checked and reported alike."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, (tuple, list)) and cell and all(_is_int(i) for i in cell):
        return ",".join(str(int(i)) for i in cell)
    from .errors import CellError

    raise CellError(
        f"{kind}={cell!r} is not a cell; give a name such as 'f', or an index as a string "
        "such as '1,1' or a tuple or list of ints such as (1, 1)"
    )


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@_python_words
def check(
    x: Any = None,
    w: Any = None,
    delta: Any = None,
    *,
    impl: Callable[..., Any] | None = None,
    bias: Any = None,
    random: int | None = None,
    sweep_seed: int = 0,
    layout: str = "full",
    dims: int | str | Sequence[int] | None = None,
    square_kernel: bool = False,
    symmetric_padding: bool = False,
    same_stride: bool = False,
    details: str = "first",
    **geometry: Any,
) -> Report:
    """Every gradient — convgrad's, or ``impl``'s (called as ``impl(x, w, delta,
    stride=…, padding=…, dilation=…, groups=…)``, returning ``(∂L/∂x, ∂L/∂W,
    ∂L/∂bias)``) — against the four references; ``.passed`` (and ``bool(report)``)
    says whether all agree.

    Arrays given make one case. ``impl`` given no arrays gets ``check``'s sweep of 40
    cases (one case of the seed's layer would pass a stride bug), or ``random=N``'s;
    the sweep stays inside what is declared, as ``check --impl`` does: ``dims`` (``2``,
    ``"1,2"``), ``square_kernel``, ``symmetric_padding``, ``same_stride``, and
    ``stride``, ``padding``, ``dilation``, ``groups`` given every case.
    ``layout="spatial"`` calls a loop over one image with x ``(H, W)``, w ``(kh, kw)``,
    δ ``(Ho, Wo)``, as ``check --layout spatial`` does; ``details="all"`` draws every failing
    case in full (by default the first of those that fail alike)."""
    from .core.check import DEFAULT_SWEEP, InProcess, Options
    from .core.check.plan import SWEEP_FLAGS
    from .core.choices import Details

    _takes("check", geometry, SWEEP_FLAGS)
    arrays = [k for k, v in (("x", x), ("w", w), ("delta", delta), ("bias", bias)) if v is not None]
    if random is None:
        random = DEFAULT_SWEEP if impl is not None and not arrays else 0
    label = getattr(impl, "__name__", "the implementation") if impl is not None else "convgrad"
    implementation = InProcess(impl, label) if impl is not None else None
    if random:
        if arrays:
            raise TypeError(f"random={random} draws its own arrays; leave out {', '.join(arrays)}")
        scope = _declared(dims, square_kernel, symmetric_padding, same_stride)
        every = Details(details) is Details.all
        return _sweep(
            random, sweep_seed, implementation, label, Options(layout=layout), geometry, scope, every
        )
    problem = _problem(x, w, delta, bias, {**geometry, "dims": dims})
    return _one_case(problem, implementation, label, layout)


def _one_case(problem: problems.Problem, implementation: Any, label: str, layout: str) -> Report:
    """The arrays given, checked as one case."""
    from .core.check import Options, Status, check_case
    from .core.check.plan import validate
    from .core.views.check import check_view
    from .errors import ConfigError
    from .render import json

    options = Options(layout=layout)
    validate(options, implementation is not None)
    g = problem.geom
    if layout == "spatial" and (g.batch, g.in_channels, g.out_channels) != (1, 1, 1):
        raise ConfigError(
            f"layout='spatial' passes one sample, one channel and one filter; x is {g.input_shape} and w "
            f"{g.kernel_shape}: leave layout out"
        )
    result = check_case(problem, "<api>", implementation, options, None)
    return Report(
        check_view([result], label), lambda: json.check_json([result]), result.status is Status.passed
    )


def _declared(dims: Any, square_kernel: bool, symmetric_padding: bool, same_stride: bool) -> Any:
    """The sweep's scope; ``dims`` as an int, ``"1,2"`` or a sequence of ints."""
    from .core.check import declared, dims_of

    ranks = dims_of(str(dims) if isinstance(dims, int) else dims)
    return declared(ranks, square_kernel, symmetric_padding, same_stride)


def _no_config(path: Any, flags: Any) -> Any:
    raise AssertionError("a sweep draws its own cases; it loads no config")


def _sweep(
    count: int,
    seed: int,
    implementation: Any,
    label: str,
    options: Any,
    fixed: Mapping[str, Any],
    scope: Any,
    every: bool,
) -> Report:
    """``check --random count`` as a Report: every case takes ``fixed``'s geometry, inside ``scope``."""
    from .core import check as core
    from .core.views.check import report_view
    from .render import json

    plan = core.plan([], load=_no_config, paths=lambda targets: targets, overrides=fixed, options=options,
                     impl=implementation is not None, random=count, sweep_seed=seed, scope=scope)  # fmt: skip
    report = core.execute(plan, implementation)
    return Report(
        report_view(report, label, {}, every=every),
        lambda: json.check_json(report.results, {}, report),
        report.passed,
    )


__all__ = ["Picture", "Report", "backward", "check", "forward", "trace"]
