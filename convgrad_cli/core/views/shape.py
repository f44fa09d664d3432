"""The views of `shape`: the geometries that map one size to another, with the
calls that make them; and the coverage map of one geometry."""

from __future__ import annotations

from collections.abc import Sequence

from convgrad_cli.core.axes import compact
from convgrad_cli.core.coverage import checkerboard
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.options import option
from convgrad_cli.core.pictures import coverage_panel
from convgrad_cli.core.shape import Answer, SameReport, Solution, jax_call, keras_call, torch_call

from .blocks import Block, Panels, Sentence, Table, Together, View

#: Solutions listed, at most.
SHOWN = 12


def solutions_view(answer: Answer) -> View:
    """The table of solutions, the best one as PyTorch, JAX and Keras calls, and
    what 'same' padding means there; or the nearest sizes within reach."""
    sizes_in, sizes_out = list(answer.sizes_in), list(answer.sizes_out)
    found, transposed = answer.found, answer.transposed
    kind = "transposed convolution" if transposed else "convolution"
    head = Sentence.of(f"{compact(sizes_in)} → {compact(sizes_out)} by a {kind}", strong=True)
    if len(sizes_in) == 1:  # a 28 for a 28×28 image would give Conv1d calls
        n, m = sizes_in[0], sizes_out[0]
        head = Sentence.of(
            f"{n} → {m} by a {kind}, along one axis (an image's calls: --in {n},{n} --out {m},{m})",
            strong=True,
        )
    if not found:
        near = " or ".join(compact(list(n)) for n in answer.nearest)
        text = f"No kernel ≤ 7, stride ≤ 4, dilation ≤ 3 does it; the nearest sizes within reach: {near}"
        if not transposed and any(m > n for n, m in zip(sizes_in, sizes_out)):
            text += f". To grow a size, try a transposed convolution: --in {compact(sizes_in)} --out {compact(sizes_out)} --transposed"
        return View("shape", (head, Sentence.of(text)))
    blocks: list[Block] = [head, _table(found, transposed)]
    if len(found) > SHOWN:
        blocks.append(Sentence.of(f"… {len(found) - SHOWN} more (all in {option('json')})", quiet=True))
    best = found[0]
    keras = keras_call(best, sizes_in)
    # a call a sentence each: a long one wraps on its own, under its framework's name
    blocks.append(Sentence.of(f"best, in PyTorch: {torch_call(best)}"))
    blocks.append(Sentence.of(f"in JAX: {jax_call(best)}"))
    blocks.append(
        Sentence.of(
            f"in Keras: {keras}"
            if keras
            else "in Keras: neither 'same' nor 'valid' gives it (pad explicitly)"
        )
    )
    if not transposed and any(a.left_over for sol in found[:SHOWN] for a in sol.axes):
        blocks.append(
            Sentence.of(
                "left over: input cells at the end no window reaches (their gradient is 0)", quiet=True
            )
        )
    if any(a.skipped for sol in found[:SHOWN] for a in sol.axes):
        what = (
            "output cells no tap writes (they hold the bias alone)"
            if transposed
            else "input cells no tap reads (their gradient is 0)"
        )
        blocks.append(Sentence.of(f"skipped: {what}, between the windows", quiet=True))
    if answer.same is not None:
        blocks.append(Sentence.of(same_sentence(answer.same, best), quiet=True))
    return View("shape", tuple(blocks))


def _table(found: Sequence[Solution], transposed: bool) -> Table:
    rows = []
    for sol in found[:SHOWN]:
        pads = compact(
            [
                f"{a.padding[0]}" if a.padding[0] == a.padding[1] else f"{a.padding[0]}/{a.padding[1]}"
                for a in sol.axes
            ]
        )
        last = compact([a.output_padding if transposed else a.left_over for a in sol.axes])
        rows.append(
            (
                compact([a.kernel for a in sol.axes]),
                compact([a.stride for a in sol.axes]),
                compact([a.dilation for a in sol.axes]),
                pads,
                last,
                compact([a.skipped for a in sol.axes]),
            )
        )
    last_column = "output_padding" if transposed else "left over"
    # the numbers alone: a call beside them wrapped to a word a line at 80 columns
    columns = ("kernel", "stride", "dilation", "padding", last_column, "skipped")
    return Table("", columns, tuple(rows))


def same_sentence(same: SameReport, sol: Solution) -> str:
    a = sol.axes[0]
    tf = f"{same.tensorflow[0]}/{same.tensorflow[1]}"
    where = f"'same' at kernel {a.kernel}, stride {a.stride}, dilation {a.dilation} (first axis): "
    if same.torch is None:
        return (
            where
            + f"PyTorch refuses 'same' at a stride > 1; TensorFlow and JAX pad {tf} (before/after) and agree"
        )
    if same.agree:
        return where + f"PyTorch, TensorFlow and JAX all pad {tf} (before/after)"
    return where + f"PyTorch pads {same.torch[0]}/{same.torch[1]}, TensorFlow and JAX {tf}: they do not agree"


def map_view(geom: Geometry, what: str) -> View:
    """How many windows each cell belongs to, uncovered cells marked, and why."""
    panel = coverage_panel(geom, f"windows per cell of the {what}")
    head = Sentence.of(
        f"coverage of {geom.describe()}: how many windows each cell of the {what} belongs to", strong=True
    )
    sentences = checkerboard(geom)
    if any(m.role == "uncovered" for m in panel.marks.values()):
        sentences.append("✗ no window reaches the cell")
    said = "\n".join(sentences) or "every cell is covered alike away from the borders"
    return View("shape", (Together((head, Panels("", (panel,)), Sentence.of(said, quiet=True))),))
