"""Receptive fields and path counts on stacks small enough to count by hand."""

import numpy as np
import pytest

from convgrad_cli.core import receptive, stack
from convgrad_cli.core.stack import LayerSpec
from convgrad_cli.errors import CellError


def one_d(*specs, size=8):
    return stack.build(np.arange(1.0, size + 1).reshape(1, 1, size), list(specs))


def test_two_3_tap_convolutions_count_1_2_3_2_1_paths():
    s = one_d(
        LayerSpec("conv", {"kernel": np.ones((1, 1, 3))}), LayerSpec("conv", {"kernel": np.ones((1, 1, 3))})
    )
    reach = receptive.output_reach(s, (0, 0, 1))
    assert reach.paths[0].tolist() == [[[0, 1, 2, 3, 2, 1, 0, 0]]]
    assert reach.receptive_field == ((1, 6),)
    assert reach.fields[1] == ((1, 4),)


def test_a_max_pool_counts_every_cell_of_its_window_but_the_gradient_takes_the_winner():
    # conv (1, 1) then maxpool 2: output 0 is max(x0 + x1, x1 + x2) = x1 + x2 (x increasing)
    s = one_d(LayerSpec("conv", {"kernel": np.ones((1, 1, 2))}), LayerSpec("maxpool", {"kernel": 2}), size=5)
    reach = receptive.output_reach(s, (0, 0, 0))
    assert reach.paths[0].tolist() == [[[1, 2, 1, 0, 0]]]
    assert reach.receptive_field == ((0, 3),)
    assert reach.gradient.tolist() == [[[0.0, 1.0, 1.0, 0.0, 0.0]]]


def test_padding_is_never_in_the_field_and_dilation_leaves_holes():
    s = one_d(LayerSpec("conv", {"kernel": np.ones((1, 1, 3)), "padding": 2, "dilation": 2}), size=6)
    reach = receptive.output_reach(s, (0, 0, 0))  # taps at −2, 0, 2
    assert reach.paths[0].tolist() == [[[1, 0, 1, 0, 0, 0]]]
    assert reach.receptive_field == ((0, 3),)
    rows = receptive.distill(s)
    assert (rows[0].size, rows[0].jump, rows[0].start) == (
        (5,),
        (1,),
        (-2,),
    )  # the analytic field counts padding


def test_an_input_cell_goes_up_to_the_outputs_whose_windows_hold_it():
    s = one_d(LayerSpec("maxpool", {"kernel": 3, "stride": 2}), size=7)  # windows [0,3) [2,5) [4,7)
    reach = receptive.input_reach(s, (0, 0, 2))
    assert reach.paths[1].tolist() == [[[1, 1, 0]]]


def test_distill_stops_at_a_transposed_convolution():
    s = one_d(
        LayerSpec("maxpool", {"kernel": 2}),
        LayerSpec("conv_transpose", {"kernel": np.ones((1, 1, 2)), "stride": 2}),
    )
    rows = receptive.distill(s)
    assert rows[0].size == (2,) and rows[1].size is None


def test_an_index_outside_the_output_is_refused():
    s = one_d(LayerSpec("relu", {}))
    with pytest.raises(CellError, match=r"output \[0, 0, 9\] is not in the shape \[1, 1, 8\]"):
        receptive.output_reach(s, "0,0,9")
    with pytest.raises(CellError, match="is not an index"):
        receptive.output_reach(s, "z5")


def test_cells_may_be_named_as_the_slides_name_them():
    s = stack.build(np.arange(1.0, 17).reshape(1, 1, 4, 4), [LayerSpec("maxpool", {"kernel": 2})])
    assert receptive.input_reach(s, "f").index == (0, 0, 1, 1)  # a b c d / e f …
    assert receptive.output_reach(s, "y4").index == (0, 0, 1, 1)
    assert receptive.output_reach(s, "1,0").index == (0, 0, 1, 0)
