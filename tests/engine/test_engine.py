"""The engine's every path against the naive reference: blocks, shares, BLAS
products in place, memory layouts, dtypes."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import rules
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.engine import Tuning, blas, blocks, layout, runtime
from tests.support import reference
from tests.support.operands import operands, ref_args
from tests.support.profile import examples
from tests.support.strategies import geometries

DEFAULT = Tuning()


@given(
    g=geometries(),
    seed=st.integers(0, 2**16),
    budget=st.one_of(st.just(DEFAULT.memory_budget), st.integers(1, 4096)),
    threads=st.booleans(),
    compact=st.sampled_from([None, True, False]),
    by_rows=st.booleans(),
    direct=st.booleans(),
)
@settings(max_examples=examples(250))
def test_every_engine_path_matches_the_definition(g, seed, budget, threads, compact, by_rows, direct):
    """Blocks of whole samples, of rows, of single outputs (a budget of a few
    bytes); columns compact or spanning the flat image; kernel rows as products of
    their own or every tap copied; forward and ∂L/∂x tap by tap on BLAS; samples
    (depthwise: or channels) shared among threads: all equal the definition."""
    x, w, b, delta = operands(g, seed)
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    y = reference.forward(x, w, b, **ref_args(g))
    t = DEFAULT
    if budget != t.memory_budget:  # blocks of a few bytes: rows, single outputs
        t = dataclasses.replace(t, memory_budget=budget, depthwise_budget=budget, gemm_columns=1)
    if threads:  # three shares of samples (or of depthwise channels) on the pool's threads
        t = dataclasses.replace(t, depthwise_parallel_bytes=0, parallel_macs=0, cores=3, dense_shares=True)
    far = 10**9
    t = dataclasses.replace(
        t,
        row_depth=0 if by_rows else far,
        direct_bytes=0 if direct else far,  # on BLAS wherever columns are flat
        direct_columns=0 if direct else far,
        compact_waste={None: t.compact_waste, True: -1.0, False: 1e9}[compact],
    )
    got = (
        rules.forward(g, x, w, b, t),
        rules.input_grad(g, w, delta, t),
        rules.weight_grad(g, x, delta, t),
        rules.backward_steps(g, w, delta, t).input_grad,
    )
    for actual, expected in zip(got, (y, dx, dw, dx)):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "in_size, kernel, stride, dilation, padding, groups",
    [
        ((23,), (2,), (7,), (1,), 0, 1),  # residues 0 and 1 of 7
        ((9, 31), (3, 2), (4, 6), (2, 3), 1, 1),  # dilation 2 at stride 4: residues 0 and 2 only
        ((13, 13), (2, 2), (5, 5), (5, 5), ((2, 0), (0, 3)), 2),  # dilation = stride: residue 0 alone
        ((5, 6, 7), (2, 1, 2), (3, 9, 2), (1, 1, 3), 0, 1),
        ((2, 2), (1, 1), (200, 200), (1, 1), 1000, 1),  # 11×11 outputs of a 2×2 input in a sea of padding
        ((3,), (2,), (10**6,), (1,), 0, 1),  # one window
    ],
)
def test_strides_wider_than_the_kernel_cut_only_the_phases_a_tap_reads(
    in_size, kernel, stride, dilation, padding, groups
):
    """Phase images exist only for the residues some tap reads: the sums still
    equal the definition, and a stride of a million costs a single image."""
    g = Geometry.build(
        in_size,
        kernel,
        batch=2,
        in_channels=2 * groups,
        out_channels=2 * groups,
        groups=groups,
        stride=stride,
        dilation=dilation,
        padding=padding,
    )
    lay = layout.layout_for(g.in_size, g.kernel_size, layout.Conv(g.stride, g.padding, g.dilation), False)
    assert lay.phases == np.prod(
        [len({k * d % s for k in range(kk)}) for kk, d, s in zip(g.kernel_size, g.dilation, g.stride)]
    )
    assert lay.phases <= np.prod(g.kernel_size)
    x, w, b, delta = operands(g, 1)
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = (rules.forward(g, x, w, b), rules.input_grad(g, w, delta), rules.weight_grad(g, x, delta))
    for actual, expected in zip(got, (reference.forward(x, w, b, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_layers_of_many_multiply_adds_share_their_samples(monkeypatch):
    """The threshold counts the whole batch's multiply-adds: one sample of this
    layer (57,600) runs as one share, four (230,400) as one share per core."""
    t = Tuning(cores=2, dense_shares=True, parallel_macs=100_000)
    run, parts = runtime.run, []
    monkeypatch.setattr(
        runtime, "run", lambda work, shares, tuning: parts.append(len(shares)) or run(work, shares, tuning)
    )
    for batch, expected in ((1, 1), (4, 2)):
        g = Geometry.build((12, 12), (3, 3), batch=batch, in_channels=8, out_channels=8)
        x, w, _, delta = operands(g, 0)
        got = (
            rules.forward(g, x, w, None, t),
            rules.input_grad(g, w, delta, t),
            rules.weight_grad(g, x, delta, t),
        )
        assert parts[-3:] == [expected] * 3
        dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
        for actual, wanted in zip(got, (reference.forward(x, w, None, **ref_args(g)), dx, dw)):
            np.testing.assert_allclose(actual, wanted, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch", [1, 2, 4])
@pytest.mark.parametrize("padding", [0, 1])
def test_depthwise_parts_each_write_their_own_samples_and_channels(batch, padding):
    """Three cores: four samples are shared by samples, one or two by channels —
    each part splits its own input and, unpadded, adds ∂L/∂x straight into its
    own entries of the result (two samples' channels are not one block of memory)."""
    t = Tuning(cores=3, depthwise_parallel_bytes=0)
    g = Geometry.build((6, 5), (3, 3), batch=batch, in_channels=6, out_channels=6, groups=6, padding=padding)
    x, w, b, delta = operands(g, batch)
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = rules.forward(g, x, w, b, t), rules.input_grad(g, w, delta, t), rules.weight_grad(g, x, delta, t)
    for actual, expected in zip(got, (reference.forward(x, w, b, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("parts", [1, 3])
def test_parts_run_with_a_small_ufunc_buffer_and_give_the_callers_back(parts):
    """Inside a part NumPy's ufunc buffer is Tuning.ufunc_buffer entries, on the pool's
    threads as on the caller's; the caller's own size is back afterwards, after an
    error too."""
    saved = np.setbufsize(8192 * 2)
    try:
        got = runtime.run(lambda _: np.getbufsize(), list(range(parts)), DEFAULT)
        assert got == [DEFAULT.ufunc_buffer] * parts
        assert np.getbufsize() == 8192 * 2

        def fail(_):
            raise RuntimeError("in a part")

        with pytest.raises(RuntimeError):
            runtime.run(fail, list(range(parts)), DEFAULT)
        assert np.getbufsize() == 8192 * 2
    finally:
        np.setbufsize(saved)


@pytest.mark.skipif(
    not blas.available(np.dtype(float)), reason="NumPy's BLAS is not an OpenBLAS convgrad can call"
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_products_land_in_strided_views_and_accumulate(dtype):
    """Operands row- or column-major with leading dimensions larger than their
    rows, out a view into a wider array: ``out = a·b`` then ``out += a·b``, the
    entries around ``out`` untouched; a layout BLAS cannot read is refused."""
    rng = np.random.default_rng(3)
    wide_a = rng.integers(-4, 5, (6, 11)).astype(dtype)
    for a in (wide_a[:, 2:9], rng.integers(-4, 5, (7, 6)).astype(dtype).T):  # (6, 7) both
        for b in (
            rng.integers(-4, 5, (7, 13)).astype(dtype)[:, 1:6],
            rng.integers(-4, 5, (5, 7)).astype(dtype).T,
        ):
            store = np.full((9, 8), 0.5, dtype=dtype)
            out = store[2:8, 1:6]
            blas.gemm(a, b, out, accumulate=False)
            np.testing.assert_array_equal(out, naive_product(a, b))
            blas.gemm(a, b, out, accumulate=True)
            np.testing.assert_array_equal(out, 2 * naive_product(a, b))
            store[2:8, 1:6] = 0.5
            assert (store == 0.5).all()
    with pytest.raises(ValueError, match="not a BLAS layout"):
        blas.gemm(wide_a[:, ::2], rng.standard_normal((6, 2)).astype(dtype), np.empty((6, 2), dtype), False)
    with pytest.raises(ValueError, match="gemm"):
        blas.gemm(wide_a, wide_a, np.empty((6, 11), dtype), False)


@pytest.mark.parametrize("kinds", [("<f8", "<f4", "<f8"), (">f8", ">f8", ">f8"), ("<f4", "<f8", "<f4")])
def test_operands_of_mixed_or_foreign_dtypes_keep_to_numpy(kinds):
    """Where the tap-by-tap products would run, operands of two dtypes, or in the
    other byte order, take the im2col path (BLAS would read their bytes as the
    result's): every gradient still equals the definition."""
    t = Tuning(direct_bytes=0, direct_columns=0)
    g = Geometry.build((20, 20), (3, 3), batch=2, in_channels=4, out_channels=6, padding=1)  # flat rows
    x, w, _, delta = operands(g, 5)
    x_, w_, delta_ = (a.astype(kind) for a, kind in zip((x, w, delta), kinds))
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = (
        rules.forward(g, x_, w_, None, t),
        rules.input_grad(g, w_, delta_, t),
        rules.weight_grad(g, x_, delta_, t),
    )
    tolerance = 1e-5 if "<f4" in kinds else 1e-12
    for actual, wanted in zip(got, (reference.forward(x, w, None, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, wanted, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("compact", [True, False])
def test_inputs_in_any_memory_layout_give_the_same_gradients(compact):
    """Channels last, every other channel of a wider array, samples reversed:
    the engine reads any strides NumPy can, on strided copies (compact) and on
    flat rows (the tap-by-tap products). Channels last once gave wrong numbers."""
    t = Tuning(direct_bytes=0, direct_columns=0, compact_waste=-1.0 if compact else 1e9)
    g = Geometry.build((20, 20), (3, 3), batch=2, in_channels=4, out_channels=6)
    x, w, _, delta = operands(g, 6)
    wide = np.zeros((2, 20, 20, 8))
    wide[..., ::2] = x.transpose(0, 2, 3, 1)
    strided_x = wide[..., ::2].transpose(0, 3, 1, 2)  # channels last, every other one
    reversed_delta = np.ascontiguousarray(delta[::-1])[::-1]
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = (
        rules.forward(g, strided_x, w, None, t),
        rules.input_grad(g, w, reversed_delta, t),
        rules.weight_grad(g, strided_x, delta, t),
    )
    for actual, wanted in zip(got, (reference.forward(x, w, None, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, wanted, rtol=1e-12, atol=1e-12)


def test_a_blas_that_gets_the_known_product_wrong_is_not_used():
    """What :mod:`convgrad_cli.blas` trusts is proven first: a routine that leaves
    its output alone (as one with the wrong integer width might) fails the proof."""
    assert not blas._proves(lambda *args: None, "d")


def naive_product(a, b):
    return np.array(
        [
            [sum(a[i, k] * b[k, j] for k in range(a.shape[1])) for j in range(b.shape[1])]
            for i in range(a.shape[0])
        ],
        dtype=a.dtype,
    )


@pytest.mark.parametrize("compact", [True, False])
def test_blocks_stay_within_the_budget_and_cover_every_output_once(compact):
    """A 3-D layer whose single rows exceed the budget still streams: each block's
    columns fit, and together the blocks name every output exactly once."""
    lay = layout.layout_for(
        (9, 8, 7), (3, 2, 2), layout.Conv((2, 1, 3), ((1, 1), (0, 2), (1, 0)), (1, 2, 1)), compact
    )
    assert lay.reach == (0 if compact else 36)  # wide: a copy reaches 36 positions past its block
    for columns in (1, 4, 40, 300, 5000, 10**9):
        seen = np.zeros((2, *lay.out), dtype=int)
        for block in blocks.blocks(lay, range(2), columns, lay.reach):
            assert block.count * (block.width + lay.reach) <= max(columns, lay.reach + 1)
            seen[(block.samples, *block.where)] += 1
        assert (seen == 1).all()


@pytest.mark.skipif(not runtime.blas_per_thread(), reason="NumPy's BLAS cannot be held to one thread here")
def test_blas_is_held_to_one_thread_while_shares_run_and_given_back():
    """While parts run on the pool, BLAS runs one thread per call; the count is back
    after the last hold ends, whichever thread began or ended it (threadpoolctl
    lets only one thread set OpenBLAS's count)."""
    import threading

    lib = blas.controller()
    saved = lib.get_num_threads()
    runtime._set_threads(lib, 2)
    try:
        assert runtime.run(lambda _: lib.get_num_threads(), [0, 1, 2], Tuning(cores=3)) == [1, 1, 1]
        assert lib.get_num_threads() == 2
        began, release = threading.Event(), threading.Event()

        def hold_on_another_thread():
            with runtime.limits(256, one_blas_thread=True):
                began.set()
                release.wait(5)

        other = threading.Thread(target=hold_on_another_thread)
        other.start()
        began.wait(5)
        with runtime.limits(256, one_blas_thread=True):
            release.set()
            other.join(5)
            assert lib.get_num_threads() == 1  # the main thread's hold outlives the other's
        assert lib.get_num_threads() == 2
    finally:
        runtime._set_threads(lib, saved)
