"""The seed's two examples (WALKTHROUGH.md), every expression, written out by hand."""

import numpy as np
import pytest

from convgrad_cli import conv2d, conv2d_backward
from convgrad_cli.core import terms
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Namer
from convgrad_cli.core.ops import dilate, pad
from tests.support.seed import CELLS, STRIDE1_GRADS, STRIDE1_OUTPUTS, STRIDE2_GRADS, STRIDE2_OUTPUTS


def seed(stride):
    g = Geometry.build((4, 4), (2, 2), stride=stride)
    return g, Namer(g)


@pytest.mark.parametrize(
    "stride, outputs, grads", [(1, STRIDE1_OUTPUTS, STRIDE1_GRADS), (2, STRIDE2_OUTPUTS, STRIDE2_GRADS)]
)
def test_every_expression_of_the_slides(stride, outputs, grads):
    g, namer = seed(stride)
    for name, expected in outputs.items():
        idx = namer.parse_output(name)
        assert terms.output_expression(namer, terms.output_terms(g, idx)) == expected
    for cell, expected in grads.items():
        idx = namer.parse_input(cell)
        assert terms.input_grad_expression(namer, terms.input_terms(g, idx)) == expected


def test_letters_run_row_major():
    g, namer = seed(1)
    assert [namer.input((0, 0, i // 4, i % 4)) for i in range(16)] == list(CELLS)
    assert namer.grid("kernel")[0, 0].tolist() == [["w1", "w2"], ["w3", "w4"]]
    assert namer.grid("delta")[0, 0, 2].tolist() == ["δ7", "δ8", "δ9"]


def test_padded_delta_stride1_is_one_ring_of_zeros():
    g, namer = seed(1)
    padded = pad(dilate(namer.grid("delta"), g.stride), g.delta_padding)[0, 0]
    assert padded.tolist() == [
        [0, 0, 0, 0, 0],
        [0, "δ1", "δ2", "δ3", 0],
        [0, "δ4", "δ5", "δ6", 0],
        [0, "δ7", "δ8", "δ9", 0],
        [0, 0, 0, 0, 0],
    ]


def test_padded_delta_stride2_is_dilated_then_padded():
    g, namer = seed(2)
    padded = pad(dilate(namer.grid("delta"), g.stride), g.delta_padding)[0, 0]
    assert padded.tolist() == [
        [0, 0, 0, 0, 0],
        [0, "δ1", 0, "δ2", 0],
        [0, 0, 0, 0, 0],
        [0, "δ3", 0, "δ4", 0],
        [0, 0, 0, 0, 0],
    ]


X = np.arange(1.0, 17.0).reshape(4, 4)  # a … p = 1 … 16
W = np.array([[1.0, 2.0], [3.0, 4.0]])  # w1 … w4 = 1 … 4


def test_seed_numbers_by_hand_stride1():
    y = conv2d(X, W)
    assert y[0, 0] == 1 * 1 + 2 * 2 + 5 * 3 + 6 * 4  # y1 = a·w1 + b·w2 + e·w3 + f·w4 = 44
    assert y[2, 2] == 11 * 1 + 12 * 2 + 15 * 3 + 16 * 4  # y9 = 144
    dx, dw, db = conv2d_backward(X, W, np.ones((3, 3)))
    # with δ = 1, ∂L/∂cell is the sum of the weights it met
    assert dx.tolist() == [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]]
    # ∂L/∂w1 = a + b + c + e + f + g + i + j + k
    assert dw[0, 0] == 1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11
    assert db.tolist() == [9.0]


def test_seed_numbers_by_hand_stride2():
    assert conv2d(X, W, stride=2).tolist() == [[44, 64], [124, 144]]
    delta = np.array([[1.0, 10.0], [100.0, 1000.0]])
    dx, dw, _ = conv2d_backward(X, W, delta, stride=2)
    # ∂L/∂a = w1·δ1, ∂L/∂d = w2·δ2, ∂L/∂m = w3·δ3, ∂L/∂p = w4·δ4
    assert dx[0, 0] == 1 and dx[0, 3] == 20 and dx[3, 0] == 300 and dx[3, 3] == 4000
    # ∂L/∂w1 = a·δ1 + c·δ2 + i·δ3 + k·δ4
    assert dw[0, 0] == 1 * 1 + 3 * 10 + 9 * 100 + 11 * 1000
