"""Receptive fields and path counts on stacks small enough to count by hand."""

from fractions import Fraction

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


def test_distill_above_a_transposed_convolution_has_a_fractional_jump_and_a_field_per_phase():
    # y[o] gets x[i]·w[t] where 2i + t = o, t = 0, 1, 2: o = 0 ← x[0] (t 0), x[−1] (t 2): [−1, 1);
    # o = 1 ← x[0] (t 1): [0, 1). So the jump is 1/2 and the phases start at −1 and 0 − 1/2
    s = one_d(LayerSpec("conv_transpose", {"kernel": np.ones((1, 1, 3)), "stride": 2}), size=5)
    (row,) = receptive.distill(s)
    (axis,) = row.axes
    assert axis.jump == Fraction(1, 2)
    assert axis.phases == ((Fraction(-1), 2), (Fraction(-1, 2), 1))
    assert [axis.of(o) for o in (0, 1, 4, 5)] == [(-1, 1), (0, 1), (1, 3), (2, 3)]
    assert row.size is None  # no one size: it depends on the phase
    # a max-pool 2 below: jump 2 · 1/2 = 1, and output 0 reads pool cells {−1, 0}, i.e. input [−2, 2)
    s = one_d(
        LayerSpec("maxpool", {"kernel": 2}),
        LayerSpec("conv_transpose", {"kernel": np.ones((1, 1, 3)), "stride": 2}),
    )
    rows = receptive.distill(s)
    assert rows[0].size == (2,) and rows[0].jump == (2,) and rows[0].start == (0,)
    assert rows[1].axes[0].jump == 1 and rows[1].axes[0].phases == ((Fraction(-2), 4), (Fraction(-1), 2))


def test_a_transposed_convolution_whose_dilation_shares_a_factor_with_its_stride_leaves_phases_unreached():
    # 2i + 2t = o has no solution for odd o: those outputs are 0 whatever x is
    s = one_d(LayerSpec("conv_transpose", {"kernel": np.ones((1, 1, 2)), "stride": 2, "dilation": 2}), size=4)
    (axis,) = receptive.distill(s)[0].axes
    assert axis.phases == ((Fraction(-1), 2), None) and axis.of(3) is None


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
