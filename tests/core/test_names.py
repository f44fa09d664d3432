"""The names of docs/naming.md: short, one per cell, never shared between arrays, read back."""

import re

import numpy as np
from hypothesis import given, settings

from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Namer
from tests.support.profile import examples
from tests.support.strategies import geometries

SUB = "₀₁₂₃₄₅₆₇₈₉"


def subscripts(index):
    """The subscripts docs/naming.md gives an index of small axes, written here from the table."""
    return "".join(SUB[i] for i in index)


@given(geometries(max_size=12))
@settings(max_examples=examples(60), deadline=None)
def test_every_cell_has_its_own_name_and_it_reads_back(g):
    namer = Namer(g)
    seen: dict[str, str] = {}
    for kind, parse, shape in [
        ("input", namer.parse_input, g.input_shape),
        ("kernel", namer.parse_weight, g.kernel_shape),
        ("output", namer.parse_output, g.output_shape),
    ]:
        names = namer.grid(kind)
        for idx in np.ndindex(*shape):
            name = names[idx]
            assert seen.setdefault(name, kind) == kind, (name, kind)  # x, w and y never share a name
            assert parse(name) == idx
            ascii_ = name.translate(str.maketrans(SUB, "0123456789"))
            if ascii_ != name:
                assert parse(ascii_) == idx  # typed without subscripts
    assert len(seen) == sum(int(np.prod(s)) for s in (g.input_shape, g.kernel_shape, g.output_shape))


def test_the_slides_and_the_textbook_layer():
    slides = Namer(Geometry.build((4, 4), (2, 2)))
    assert [slides.input((0, 0, 0, i)) for i in range(4)] == ["a", "b", "c", "d"]
    assert slides.weight((0, 0, 1, 1)) == "w4" and slides.delta((0, 0, 2, 2)) == "δ9"
    textbook = Namer(Geometry.build((5, 5), (3, 3), padding=1))
    assert textbook.input((0, 0, 1, 1)) == "x₁₁" and textbook.weight((0, 0, 2, 2)) == "w9"
    assert textbook.delta((0, 0, 2, 2)) == "δ13"
    assert textbook.parse_input("1,1") == textbook.parse_input("x₁₁") == textbook.parse_input("x[1,1]")


def test_channels_and_a_batch_write_the_whole_index_short():
    g = Geometry.build((7, 7), (3, 3), batch=2, in_channels=3, out_channels=4, stride=2, padding=1)
    namer = Namer(g)
    assert namer.input((1, 2, 3, 3)) == "x" + subscripts((1, 2, 3, 3))
    assert namer.weight((0, 2, 2, 2)) == "w" + subscripts((0, 2, 2, 2))
    assert namer.delta((1, 0, 1, 1)) == "δ" + subscripts((1, 0, 1, 1))
    # a window read by every filter of the group: the output channel is o, the indices as many
    assert namer.weight_of_any_output((0, 2, 2, 2)) == "wₒ" + subscripts((2, 2, 2))
    width = max(len(n) for kind in ("input", "kernel", "output", "delta") for n in namer.grid(kind).ravel())
    assert width == 5


def test_a_12_by_12_crop_of_a_large_input_keeps_names_short_and_unambiguous():
    namer = Namer(Geometry.build((32, 32), (3, 3)))
    assert namer.input((0, 0, 1, 11)) == "x₁,₁₁" != namer.input((0, 0, 11, 1)) == "x₁₁,₁"
    assert namer.parse_input("x1,11") == (0, 0, 1, 11)
    assert max(len(n) for n in namer.grid("input").ravel()) == 6
    assert re.fullmatch(r"δ[₀-₉]+,[₀-₉]+", namer.delta((0, 0, 29, 29)))
