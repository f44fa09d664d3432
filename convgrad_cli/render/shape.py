"""The views of `shape`: the solutions as a table of calls, what 'same' means per
framework, and the coverage map of a geometry."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convgrad_cli.core.axes import compact
from convgrad_cli.core.coverage import checkerboard
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.pictures import coverage_panel
from convgrad_cli.core.shape import SameReport, Solution, jax_call, keras_call, torch_call

from .grid import Grid
from .terminal import spaced

SHOWN = 12


def solutions_view(
    sizes_in: Sequence[int], sizes_out: Sequence[int], found: list[Solution], transposed: bool,
    nearest: list[tuple[int, ...]], same: SameReport | None,
) -> RenderableType:  # fmt: skip
    kind = "transposed convolution" if transposed else "convolution"
    head = Text(f"{compact(list(sizes_in))} → {compact(list(sizes_out))} by a {kind}", "bold")
    if not found:
        near = " or ".join(compact(list(n)) for n in nearest)
        text = f"No kernel ≤ 7, stride ≤ 4, dilation ≤ 3 does it; the nearest sizes within reach: {near}"
        if not transposed and any(m > n for n, m in zip(sizes_in, sizes_out)):
            text += f". To grow a size, try a transposed convolution: --in {compact(list(sizes_in))} --out {compact(list(sizes_out))} --transposed"
        return spaced([head, Text(text)])
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (
        "kernel",
        "stride",
        "dilation",
        "padding",
        "output_padding" if transposed else "left over",
        "PyTorch",
    ):
        table.add_column(column, overflow="fold")
    for sol in found[:SHOWN]:
        pads = compact(
            [
                f"{a.padding[0]}" if a.padding[0] == a.padding[1] else f"{a.padding[0]}/{a.padding[1]}"
                for a in sol.axes
            ]
        )
        last = (
            compact([a.output_padding for a in sol.axes])
            if transposed
            else compact([a.uncovered for a in sol.axes])
        )
        cells = [compact([a.kernel for a in sol.axes]), compact([a.stride for a in sol.axes]),
                 compact([a.dilation for a in sol.axes]), pads, last, torch_call(sol).replace("torch.nn.", "")]  # fmt: skip
        table.add_row(*map(Text, cells))
    parts: list[RenderableType] = [head, table]
    if len(found) > SHOWN:
        parts.append(Text(f"… {len(found) - SHOWN} more (all in --format json)", "dim"))
    best = found[0]
    keras = keras_call(best, sizes_in)
    lines = [f"best: {torch_call(best)}", f"      {jax_call(best)}"]
    lines.append(
        f"      {keras}" if keras else "      Keras: neither 'same' nor 'valid' gives it (pad explicitly)"
    )
    parts.append(Text("\n".join(lines)))
    if not transposed and any(a.uncovered for a in best.axes):
        parts.append(Text("left over: the last rows no window reaches (their gradient is 0)", "dim"))
    if same is not None:
        parts.append(same_text(same, best))
    return spaced(parts)


def same_text(same: SameReport, sol: Solution) -> Text:
    a = sol.axes[0]
    tf = f"{same.tensorflow[0]}/{same.tensorflow[1]}"
    where = f"'same' at kernel {a.kernel}, stride {a.stride}, dilation {a.dilation} (first axis): "
    if same.torch is None:
        text = f"PyTorch refuses 'same' at a stride > 1; TensorFlow and JAX pad {tf} (before/after) and agree"
    elif same.agree:
        text = f"PyTorch, TensorFlow and JAX all pad {tf} (before/after)"
    else:
        text = f"PyTorch pads {same.torch[0]}/{same.torch[1]}, TensorFlow and JAX {tf}: they do not agree"
    return Text(where + text, "dim")


def map_view(geom: Geometry, what: str) -> RenderableType:
    panel_ = coverage_panel(geom, f"windows per cell of the {what}")
    parts: list[RenderableType] = [
        Text(f"coverage of {geom.describe()}: how many windows each cell of the {what} belongs to", "bold"),
        Grid(panel_),
    ]
    sentences = checkerboard(geom)
    if any(m.role == "uncovered" for m in panel_.marks.values()):
        sentences.append("✗ no window reaches the cell")
    parts.append(Text("\n".join(sentences) or "every cell is covered alike away from the borders", "dim"))
    return Group(*parts)
