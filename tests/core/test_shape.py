"""`shape`: every listed solution gives the sizes asked for, by the formula and, where
PyTorch is installed, by PyTorch's own convolutions; the coverage map counts what
trace finds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import terms
from convgrad_cli.core.coverage import checkerboard, window_counts
from convgrad_cli.core.shape import (
    conv_size,
    jax_call,
    keras_call,
    nearest,
    same_padding,
    solve,
    torch_call,
    transposed_size,
)
from tests.support.profile import examples
from tests.support.strategies import geometries


def torch_shape(sol, sizes):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd = len(sizes)
    x = torch.zeros((1, 1, *sizes), dtype=torch.float64)
    k = tuple(a.kernel for a in sol.axes)
    w = torch.zeros((1, 1, *k), dtype=torch.float64)
    s, d = tuple(a.stride for a in sol.axes), tuple(a.dilation for a in sol.axes)
    if sol.transposed:
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
        y = fn(
            x,
            w,
            stride=s,
            padding=tuple(a.padding[0] for a in sol.axes),
            output_padding=tuple(a.output_padding for a in sol.axes),
            dilation=d,
        )
    else:
        flat = [p for a in reversed(sol.axes) for p in a.padding]
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
        y = fn(F.pad(x, flat), w, stride=s, dilation=d)
    return tuple(y.shape[2:])


@given(st.lists(st.integers(1, 40), min_size=1, max_size=2), st.data(), st.booleans())
@settings(max_examples=examples(300))
def test_every_solution_gives_the_sizes_asked_for(sizes_in, data, transposed):
    sizes_out = [data.draw(st.integers(max(1, n // 4), n * 3 if transposed else n)) for n in sizes_in]
    found = solve(sizes_in, sizes_out, transposed)
    for sol in found:
        got = tuple(
            transposed_size(n, a.kernel, a.stride, a.dilation, a.padding[0], a.output_padding)
            if transposed
            else conv_size(n, a.kernel, a.stride, a.dilation, *a.padding)
            for n, a in zip(sizes_in, sol.axes)
        )
        assert got == tuple(sizes_out), sol
        assert 0 <= min(a.output_padding for a in sol.axes) and all(
            a.output_padding < max(a.stride, a.dilation) for a in sol.axes
        )
        # exact: no input cell after the last window's last tap (a padding row there costs nothing)
        left = [
            n - 1 - ((m - 1) * a.stride - a.padding[0] + a.extent - 1)
            for n, m, a in zip(sizes_in, sizes_out, sol.axes)
        ]
        if transposed:
            assert sol.exact == all(a.output_padding == 0 for a in sol.axes)
        else:
            assert sol.exact == all(x <= 0 for x in left)
            assert [a.left_over for a in sol.axes] == [max(0, x) for x in left]
    assert [s.rank() for s in found] == sorted(s.rank() for s in found)
    if not found:
        assert nearest(sizes_in, sizes_out, transposed)


@given(st.lists(st.integers(1, 24), min_size=1, max_size=2), st.data(), st.booleans())
@settings(max_examples=examples(200))
def test_pytorch_agrees_with_every_solution(sizes_in, data, transposed):
    pytest.importorskip("torch")
    sizes_out = [data.draw(st.integers(max(1, n // 3), n * 2 if transposed else n)) for n in sizes_in]
    for sol in solve(sizes_in, sizes_out, transposed)[:8]:
        assert torch_shape(sol, sizes_in) == tuple(sizes_out), torch_call(sol)


def test_the_examples_of_the_issue():
    best = solve([32], [64], transposed=True)[0]
    assert torch_call(best) == "torch.nn.ConvTranspose1d(1, 1, kernel_size=2, stride=2, padding=0)"
    both = solve([32, 17], [64, 33], transposed=True)
    assert both and all(
        transposed_size(17, a.kernel, a.stride, a.dilation, a.padding[0], a.output_padding) == 33
        for a in (s.axes[1] for s in both)
    )
    down = solve([32], [16])[0]
    assert (down.axes[0].kernel, down.axes[0].stride, down.axes[0].padding) == (2, 2, (0, 0))
    assert keras_call(down, [32]) == "keras.layers.Conv1D(1, 2, strides=2, padding='valid')"
    assert (
        jax_call(down)
        == "jax.lax.conv_general_dilated(x, w, window_strides=(2,), padding=((0, 0),), rhs_dilation=(1,))"
    )
    same = solve([7], [7], kernel=[3])[0]
    assert same.axes[0].padding == (1, 1) and keras_call(same, [7]).endswith("padding='same')")
    assert solve([10], [100]) == [] and nearest([10], [100], False)


def test_same_per_framework():
    assert same_padding(7, 3, 1, 1).agree  # everyone pads 1/1
    even = same_padding(8, 2, 1, 1)
    assert even.torch == even.tensorflow == (0, 1)  # the odd zero at the end, for all three
    strided = same_padding(7, 3, 2, 1)
    assert strided.torch is None and strided.tensorflow == strided.jax == (1, 1) and not strided.agree


@given(geometries(dims=(1, 2, 3), max_size=6))
@settings(max_examples=examples(200))
def test_the_coverage_map_counts_the_terms_trace_finds(g):
    counts = window_counts(g)
    og = g.out_channels // g.groups
    for idx in np.ndindex(*g.input_shape):
        assert og * counts[idx[2:]] == len(terms.input_terms(g, idx))


def test_checkerboards_and_uncovered_rows_are_said():
    from convgrad_cli.core.geometry import Geometry

    notes = checkerboard(Geometry.build((9,), (3,), stride=2))
    assert notes == [
        "positions: kernel 3 is not divisible by stride 2: cells alternate between 1 and 2 windows"
    ]
    assert checkerboard(Geometry.build((8,), (4,), stride=2)) == []
    assert checkerboard(Geometry.build((4, 5), (2, 2), stride=2)) == [
        "columns: the last 1 column is never covered: 3 is not a multiple of stride 2 (their gradient is 0)"
    ]


def test_a_one_tap_kernel_is_listed_once_not_once_per_dilation():
    from convgrad_cli.core.shape import solve

    found = solve([32, 17], [64, 33], transposed=True)
    ones = [sol for sol in found if all(a.kernel == 1 for a in sol.axes)]
    assert ones and all(a.dilation == 1 for sol in ones for a in sol.axes)
    assert not any(a.kernel == 1 and a.dilation > 1 for sol in found for a in sol.axes)
    # asked for, a dilation is kept: the user fixed it
    fixed = solve([32], [64], transposed=True, kernel=[1], dilation=[2])
    assert fixed and all(a.dilation == 2 for sol in fixed for a in sol.axes)


@given(st.integers(1, 30), st.data(), st.booleans())
@settings(max_examples=examples(200))
def test_skipped_counts_the_cells_between_windows_no_tap_joins(n, data, transposed):
    """A convolution's skipped input cells get no gradient from δ of ones (the engine's
    backward says which); a transposed one's skipped output cells get no term (a scatter
    loop here says which). Only those before the last joined cell count, or all if none is."""
    import convgrad_cli

    m = data.draw(st.integers(max(1, n // 3), n * 2 if transposed else n))
    for sol in solve([n], [m], transposed):
        a = sol.axes[0]
        if transposed:
            joined = np.zeros(m)
            for i, j in np.ndindex(n, a.kernel):
                p = i * a.stride - a.padding[0] + j * a.dilation
                if 0 <= p < m:
                    joined[p] += 1
        else:
            x, w = np.ones((1, 1, n)), np.ones((1, 1, a.kernel))
            delta = np.ones((1, 1, m))
            joined, _, _ = convgrad_cli.conv1d_backward(
                x, w, delta, stride=a.stride, padding=[list(a.padding)], dilation=a.dilation
            )
            joined = joined.ravel()
        last = np.flatnonzero(joined)[-1] if joined.any() else len(joined)  # none joined: all skipped
        assert a.skipped == int(np.sum(joined[:last] == 0)), (n, m, a)


def test_a_solution_that_skips_input_cells_is_ranked_after_those_that_read_them_all():
    """7 → 3: kernel 1 at stride 3 reads 3 of the 7 cells; kernel 3 at stride 2 is the answer a course gives."""
    found = solve([7], [3])
    best = found[0].axes[0]
    assert (best.kernel, best.stride, best.dilation, best.padding) == (3, 2, 1, (0, 0))
    one = next(s.axes[0] for s in found if s.axes[0].kernel == 1)
    assert one.stride == 3 and one.skipped == 4
    reading = [not any(a.skipped for a in s.axes) for s in found if s.exact]
    assert reading == sorted(reading, reverse=True)  # every one that reads all, then the rest


def test_a_course_answer_comes_first_where_it_exists():
    """28 → 14 with a 3×3 kernel at stride 2 is padding 1 in a course and in PyTorch: the
    padding row left over at the end is padding, no input cell, so it is exact."""
    best = solve([28], [14], kernel=[3], stride=[2])[0]
    assert best.exact and torch_call(best) == "torch.nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)"
    assert best.axes[0].uncovered == 1 and best.axes[0].left_over == 0
