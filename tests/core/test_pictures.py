"""What the pictures mark, as data, against the dependency sets of the naive
reference: for random 1-D/2-D/3-D geometry with channels, groups (depthwise
too) and batch, the marked cells are exactly the cells a cell depends on, and
no slice outside the cell's sample and group is drawn."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core.explain import CellTrace
from convgrad_cli.core.pictures import input_picture, output_picture, weight_picture
from convgrad_cli.core.problem import Fill, build
from tests.support.profile import examples
from tests.support.reference import _windows
from tests.support.strategies import geometries


def problem_of(g):
    return build(
        Fill("randint", g.input_shape),
        Fill("randint", g.kernel_shape),
        delta=Fill("randint"),
        stride=g.stride,
        padding=[list(p) for p in g.padding],
        dilation=g.dilation,
        groups=g.groups,
        dims=g.ndim,
    )


def reads(g):
    """Every product of the forward pass: (output, weight, input) full indices, the
    input in the unpadded coordinates (outside the input: a tap on padding)."""
    for n, o, p, ci, c, k, pos in _windows(
        g.input_shape, g.kernel_shape, g.stride, g.dilation, g.padding, g.groups
    ):
        unpadded = tuple(v - b for v, (b, _) in zip(pos, g.padding))
        yield (n, o, *p), (o, c, *k), (n, ci, *unpadded)


def inside(g, idx):
    return all(0 <= v < s for v, s in zip(idx[2:], g.in_size))


def panels_of(picture, array):
    return [p for p in picture.panels if p.array == array]


def union(panels, *roles):
    return set().union(*(p.marked(*roles) for p in panels))


def cell_of(g, data, shape):
    return tuple(data.draw(st.integers(0, n - 1)) for n in shape)


@given(geometries(dims=(1, 2, 3), max_size=5, max_batch=2), st.data())
@settings(max_examples=examples(200))
def test_an_input_cells_picture_marks_exactly_what_it_depends_on(g, data):
    cell = cell_of(g, data, g.input_shape)
    ct = CellTrace.of("input", problem_of(g), ",".join(map(str, cell)))
    picture = input_picture(ct)
    products = [(y, w, x) for y, w, x in reads(g) if x == cell]
    deltas = {y for y, _, _ in products}
    weights = {w for _, w, _ in products}
    assert union(panels_of(picture, "delta"), "contributor") == deltas
    assert union(panels_of(picture, "kernel"), "contributor") == weights
    # each window: every cell it reads on every channel of the group, the cell itself marked as such;
    # drawn on the cell's own channel, the group's other channels kept aside (JSON has them)
    windows = {y[2:] for y in deltas}
    read = {
        x
        for y, _, x in reads(g)
        if y[0] == cell[0] and y[2:] in windows and y[1] == min(d[1] for d in deltas)
    }
    drawn = panels_of(picture, "input")
    assert all(p.lead[1] == cell[1] for p in drawn)
    inputs = drawn + picture.sections[0].hidden if products else drawn
    assert union(inputs, "cell", "window", "padding_tap") == read
    assert {x for x in read if not inside(g, x)} == union(inputs, "padding_tap")
    assert union(inputs, "cell") == ({cell} if products else set())
    if any(d > 1 for d in g.dilation):  # holes between the taps: every tap says its weight, in plain text too
        assert all(m.factor for p in inputs for m in p.marks.values())
    # the padded δ under the flipped kernel: its taps on δ entries are the same δ entries
    overlay = panels_of(picture, "padded_delta")
    on_delta = set()
    for p in overlay:
        for index in p.marked("contributor"):
            at = index[2:]
            q = tuple((a - b) // s for a, (b, _), s in zip(at, g.delta_padding, g.stride))
            on_delta.add((*index[:2], *q))
    assert on_delta == deltas
    taps = sum(len(p.marks) for p in overlay)
    group = cell[1] // (g.in_channels // g.groups)
    og, cg = g.out_channels // g.groups, g.in_channels // g.groups
    assert taps == og * int(np.prod(g.kernel_size))
    # nothing of another sample or group
    for p in inputs:
        assert p.lead[0] == cell[0] and p.lead[1] // cg == group
    for p in panels_of(picture, "delta") + overlay:
        assert p.lead[0] == cell[0] and p.lead[1] // og == group
    for p in panels_of(picture, "kernel"):
        assert p.lead[0] // og == group and p.lead[1] == cell[1] - group * cg


@given(geometries(dims=(1, 2, 3), max_size=5, max_batch=2), st.data())
@settings(max_examples=examples(100))
def test_an_outputs_picture_marks_its_window_and_kernel(g, data):
    out = cell_of(g, data, g.output_shape)
    ct = CellTrace.of("output", problem_of(g), ",".join(map(str, out)))
    picture = output_picture(ct)
    products = [(w, x) for y, w, x in reads(g) if y == out]
    inputs = panels_of(picture, "input")
    assert union(inputs, "contributor") == {x for _, x in products if inside(g, x)}
    assert union(inputs, "padding_tap") == {x for _, x in products if not inside(g, x)}
    assert union(panels_of(picture, "kernel"), "contributor", "padding_tap") == {w for w, _ in products}
    assert union(panels_of(picture, "output"), "cell") == {out}
    assert all(p.lead[0] == out[0] for p in inputs)


@given(geometries(dims=(1, 2, 3), max_size=5, max_batch=2), st.data())
@settings(max_examples=examples(100))
def test_a_weights_picture_marks_every_cell_it_met(g, data):
    weight = cell_of(g, data, g.kernel_shape)
    ct = CellTrace.of("weight", problem_of(g), ",".join(map(str, weight)))
    picture = weight_picture(ct)
    products = [(y, x) for y, w, x in reads(g) if w == weight]
    assert union(panels_of(picture, "input"), "contributor") == {x for _, x in products if inside(g, x)}
    assert union(panels_of(picture, "input"), "padding_tap") == {x for _, x in products if not inside(g, x)}
    assert union(panels_of(picture, "delta"), "contributor") == {y for y, x in products if inside(g, x)}
    assert union(panels_of(picture, "kernel"), "cell") == {weight}
