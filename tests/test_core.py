"""The engine against the naive reference, finite differences and the adjoint
identity, over random geometry of every kind."""

import numpy as np
import pytest
import reference
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import geometries

from convgrad_cli import blas, conv, depthwise, engine, layout, parallel, trace
from convgrad_cli.geometry import Geometry
from convgrad_cli.names import Namer

settings.register_profile("default", max_examples=60, deadline=None)
settings.load_profile("default")


def operands(g: Geometry, seed: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(g.input_shape).astype(dtype)
    w = rng.standard_normal(g.kernel_shape).astype(dtype)
    b = rng.standard_normal(g.out_channels).astype(dtype)
    delta = rng.standard_normal(g.output_shape).astype(dtype)
    return x, w, b, delta


def ref_args(g: Geometry):
    return dict(stride=g.stride, dilation=g.dilation, padding=g.padding, groups=g.groups)


@given(geometries(), st.integers(0, 2**16))
def test_forward_matches_the_definition(g, seed):
    x, w, b, _ = operands(g, seed)
    expected = reference.forward(x, w, b, **ref_args(g))
    np.testing.assert_allclose(conv.forward(g, x, w, b), expected, rtol=1e-12, atol=1e-12)


@given(geometries(), st.integers(0, 2**16))
def test_gradients_match_the_definition(g, seed):
    x, w, _, delta = operands(g, seed)
    dx, dw, db = reference.backward(x, w, delta, **ref_args(g))
    np.testing.assert_allclose(conv.input_grad(g, w, delta), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.weight_grad(g, x, delta), dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.bias_grad(delta), db, rtol=1e-12, atol=1e-12)


@given(geometries(), st.integers(0, 2**16))
def test_slides_pipeline_equals_the_fast_path(g, seed):
    _, w, _, delta = operands(g, seed)
    steps = conv.backward_steps(g, w, delta)
    assert steps.padded_delta.shape[2:] == g.padded_delta_size
    assert steps.input_grad.shape == g.input_shape
    np.testing.assert_allclose(steps.input_grad, conv.input_grad(g, w, delta), rtol=1e-12, atol=1e-12)


@given(geometries(), st.integers(0, 2**16))
def test_adjoint_identity(g, seed):
    """⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩ and = ⟨W, ∂L/∂W⟩: both sides sum the same products."""
    x, w, _, delta = operands(g, seed)
    lhs = np.vdot(conv.forward(g, x, w), delta)
    assert np.isclose(lhs, np.vdot(x, conv.input_grad(g, w, delta)), rtol=1e-10, atol=1e-10)
    assert np.isclose(lhs, np.vdot(w, conv.weight_grad(g, x, delta)), rtol=1e-10, atol=1e-10)


@given(geometries(max_size=4, max_batch=1), st.integers(0, 2**16))
@settings(max_examples=25)
def test_central_finite_differences(g, seed):
    """Every entry of ∂L/∂x, ∂L/∂W, ∂L/∂b against (L(v + h) − L(v − h)) / 2h,
    with L = ⟨conv(x, W) + b, δ⟩."""
    x, w, b, delta = operands(g, seed)
    h = 1e-6

    def loss(x_, w_, b_):
        return np.vdot(conv.forward(g, x_, w_, b_), delta)

    for arr, grad in (
        (x, conv.input_grad(g, w, delta)),
        (w, conv.weight_grad(g, x, delta)),
        (b, conv.bias_grad(delta)),
    ):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            keep = arr[idx]
            arr[idx] = keep + h
            up = loss(x, w, b)
            arr[idx] = keep - h
            down = loss(x, w, b)
            arr[idx] = keep
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


@given(geometries(max_size=4), st.integers(0, 2**16))
@settings(max_examples=30)
def test_traced_terms_add_up_to_the_gradients(g, seed):
    """Each cell's terms, given numbers, are exactly its gradient entry."""
    x, w, _, delta = operands(g, seed)
    dx, dw = conv.input_grad(g, w, delta), conv.weight_grad(g, x, delta)
    y = conv.forward(g, x, w)
    for idx in np.ndindex(*g.input_shape):
        terms = trace.input_terms(g, idx)
        assert np.isclose(trace.evaluate(terms, w, delta, ("weight", "delta")), dx[idx], atol=1e-12)
    for idx in np.ndindex(*g.kernel_shape):
        terms = trace.weight_terms(g, idx)
        assert np.isclose(trace.evaluate(terms, x, delta, ("input", "delta")), dw[idx], atol=1e-12)
    for idx in np.ndindex(*g.output_shape):
        terms = trace.output_terms(g, idx)
        assert np.isclose(trace.evaluate(terms, x, w, ("input", "weight")), y[idx], atol=1e-12)


@given(
    g=geometries(),
    seed=st.integers(0, 2**16),
    budget=st.one_of(st.just(engine.MEMORY_BUDGET), st.integers(1, 4096)),
    threads=st.booleans(),
    compact=st.sampled_from([None, True, False]),
    by_rows=st.booleans(),
    direct=st.booleans(),
)
@settings(max_examples=250)
def test_every_engine_path_matches_the_definition(g, seed, budget, threads, compact, by_rows, direct):
    """Blocks of whole samples, of rows, of single outputs (a budget of a few
    bytes); columns compact or spanning the flat image; kernel rows as products of
    their own or every tap copied; forward and ∂L/∂x tap by tap on BLAS; samples
    (depthwise: or channels) shared among threads: all equal the definition."""
    x, w, b, delta = operands(g, seed)
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    y = reference.forward(x, w, b, **ref_args(g))
    knobs = [(engine, "MEMORY_BUDGET"), (engine, "GEMM_COLUMNS"), (engine, "ROW_DEPTH"), (depthwise, "BUDGET"),
             (depthwise, "PARALLEL_BYTES"), (engine, "PARALLEL_MACS"), (parallel, "cores"),
             (parallel, "blas_per_thread"), (layout, "COMPACT_WASTE"), (engine, "DIRECT_BYTES"),
             (engine, "DIRECT_COLUMNS")]  # fmt: skip
    saved = [getattr(module, knob) for module, knob in knobs]
    if budget != engine.MEMORY_BUDGET:  # blocks of a few bytes: rows, single outputs
        engine.MEMORY_BUDGET = depthwise.BUDGET = budget
        engine.GEMM_COLUMNS = 1
    if threads:  # three shares of samples (or of depthwise channels) on the pool's threads
        depthwise.PARALLEL_BYTES = engine.PARALLEL_MACS = 0
        parallel.cores, parallel.blas_per_thread = (lambda: 3), (lambda: True)
    engine.ROW_DEPTH = 0 if by_rows else 10**9
    engine.DIRECT_BYTES = engine.DIRECT_COLUMNS = 0 if direct else 10**9  # on BLAS wherever columns are flat
    layout.COMPACT_WASTE = {None: layout.COMPACT_WASTE, True: -1.0, False: 1e9}[compact]
    layout.layout_for.cache_clear()
    try:
        got = (conv.forward(g, x, w, b), conv.input_grad(g, w, delta), conv.weight_grad(g, x, delta),
               conv.backward_steps(g, w, delta).input_grad)  # fmt: skip
    finally:
        for (module, knob), value in zip(knobs, saved):
            setattr(module, knob, value)
        layout.layout_for.cache_clear()
    for actual, expected in zip(got, (y, dx, dw, dx)):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_layers_of_many_multiply_adds_share_their_samples(monkeypatch):
    """The threshold counts the whole batch's multiply-adds: one sample of this
    layer (57,600) runs as one share, four (230,400) as one share per core."""
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    monkeypatch.setattr(parallel, "blas_per_thread", lambda: True)
    monkeypatch.setattr(engine, "PARALLEL_MACS", 100_000)
    run, parts = parallel.run, []
    monkeypatch.setattr(parallel, "run", lambda work, shares: parts.append(len(shares)) or run(work, shares))
    for batch, expected in ((1, 1), (4, 2)):
        g = Geometry.build((12, 12), (3, 3), batch=batch, in_channels=8, out_channels=8)
        x, w, _, delta = operands(g, 0)
        got = conv.forward(g, x, w), conv.input_grad(g, w, delta), conv.weight_grad(g, x, delta)
        assert parts[-3:] == [expected] * 3
        dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
        for actual, wanted in zip(got, (reference.forward(x, w, None, **ref_args(g)), dx, dw)):
            np.testing.assert_allclose(actual, wanted, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch", [1, 2, 4])
@pytest.mark.parametrize("padding", [0, 1])
def test_depthwise_parts_each_write_their_own_samples_and_channels(monkeypatch, batch, padding):
    """Three cores: four samples are shared by samples, one or two by channels —
    each part splits its own input and, unpadded, adds ∂L/∂x straight into its
    own entries of the result (two samples' channels are not one block of memory)."""
    monkeypatch.setattr(parallel, "cores", lambda: 3)
    monkeypatch.setattr(depthwise, "PARALLEL_BYTES", 0)
    g = Geometry.build((6, 5), (3, 3), batch=batch, in_channels=6, out_channels=6, groups=6, padding=padding)
    x, w, b, delta = operands(g, batch)
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = conv.forward(g, x, w, b), conv.input_grad(g, w, delta), conv.weight_grad(g, x, delta)
    for actual, expected in zip(got, (reference.forward(x, w, b, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("parts", [1, 3])
def test_parts_run_with_a_small_ufunc_buffer_and_give_the_callers_back(parts):
    """Inside a part NumPy's ufunc buffer is parallel.BUFFER entries, on the pool's
    threads as on the caller's; the caller's own size is back afterwards, after an
    error too."""
    saved = np.setbufsize(8192 * 2)
    try:
        assert parallel.run(lambda _: np.getbufsize(), list(range(parts))) == [parallel.BUFFER] * parts
        assert np.getbufsize() == 8192 * 2

        def fail(_):
            raise RuntimeError("in a part")

        with pytest.raises(RuntimeError):
            parallel.run(fail, list(range(parts)))
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
def test_operands_of_mixed_or_foreign_dtypes_keep_to_numpy(monkeypatch, kinds):
    """Where the tap-by-tap products would run, operands of two dtypes, or in the
    other byte order, take the im2col path (BLAS would read their bytes as the
    result's): every gradient still equals the definition."""
    monkeypatch.setattr(engine, "DIRECT_BYTES", 0)
    monkeypatch.setattr(engine, "DIRECT_COLUMNS", 0)
    g = Geometry.build((20, 20), (3, 3), batch=2, in_channels=4, out_channels=6, padding=1)  # flat rows
    x, w, _, delta = operands(g, 5)
    x_, w_, delta_ = (a.astype(kind) for a, kind in zip((x, w, delta), kinds))
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = conv.forward(g, x_, w_), conv.input_grad(g, w_, delta_), conv.weight_grad(g, x_, delta_)
    tolerance = 1e-5 if "<f4" in kinds else 1e-12
    for actual, wanted in zip(got, (reference.forward(x, w, None, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, wanted, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("compact", [True, False])
def test_inputs_in_any_memory_layout_give_the_same_gradients(monkeypatch, request, compact):
    """Channels last, every other channel of a wider array, samples reversed:
    the engine reads any strides NumPy can, on strided copies (compact) and on
    flat rows (the tap-by-tap products). Channels last once gave wrong numbers."""
    monkeypatch.setattr(engine, "DIRECT_BYTES", 0)
    monkeypatch.setattr(engine, "DIRECT_COLUMNS", 0)
    monkeypatch.setattr(layout, "COMPACT_WASTE", -1.0 if compact else 1e9)
    layout.layout_for.cache_clear()
    request.addfinalizer(layout.layout_for.cache_clear)  # no layout of the patched waste outlives the test
    g = Geometry.build((20, 20), (3, 3), batch=2, in_channels=4, out_channels=6)
    x, w, _, delta = operands(g, 6)
    wide = np.zeros((2, 20, 20, 8))
    wide[..., ::2] = x.transpose(0, 2, 3, 1)
    strided_x = wide[..., ::2].transpose(0, 3, 1, 2)  # channels last, every other one
    reversed_delta = np.ascontiguousarray(delta[::-1])[::-1]
    dx, dw, _ = reference.backward(x, w, delta, **ref_args(g))
    got = (
        conv.forward(g, strided_x, w),
        conv.input_grad(g, w, reversed_delta),
        conv.weight_grad(g, strided_x, delta),
    )
    for actual, wanted in zip(got, (reference.forward(x, w, None, **ref_args(g)), dx, dw)):
        np.testing.assert_allclose(actual, wanted, rtol=1e-12, atol=1e-12)


def test_a_blas_that_gets_the_known_product_wrong_is_not_used():
    """What :mod:`convgrad_cli.blas` trusts is proven first: a routine that leaves
    its output alone (as one with the wrong integer width might) fails the proof."""
    assert not blas._proves(lambda *args: None, "d")


def naive_product(a, b):
    return np.array([[sum(a[i, k] * b[k, j] for k in range(a.shape[1])) for j in range(b.shape[1])]
                     for i in range(a.shape[0])], dtype=a.dtype)  # fmt: skip


@pytest.mark.parametrize("compact", [True, False])
def test_blocks_stay_within_the_budget_and_cover_every_output_once(compact):
    """A 3-D layer whose single rows exceed the budget still streams: each block's
    columns fit, and together the blocks name every output exactly once."""
    lay = layout.layout_for((9, 8, 7), ((1, 1), (0, 2), (1, 0)), (3, 2, 2), (2, 1, 3), (1, 2, 1), compact)
    assert lay.reach == (0 if compact else 36)  # wide: a copy reaches 36 positions past its block
    for columns in (1, 4, 40, 300, 5000, 10**9):
        seen = np.zeros((2, *lay.out), dtype=int)
        for block in layout.blocks(lay, range(2), columns, lay.reach):
            assert block.count * (block.width + lay.reach) <= max(columns, lay.reach + 1)
            seen[(block.samples, *block.where)] += 1
        assert (seen == 1).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_dtype_follows_the_operands(dtype):
    g = Geometry.build((6, 6), (3, 3), in_channels=2, out_channels=3, stride=2, padding=1)
    x, w, b, delta = operands(g, 0, dtype)
    assert conv.forward(g, x, w, b).dtype == dtype
    assert conv.input_grad(g, w, delta).dtype == dtype
    assert conv.weight_grad(g, x, delta).dtype == dtype
    steps = conv.backward_steps(g, w, delta)
    assert steps.input_grad.dtype == dtype
    np.testing.assert_allclose(
        conv.input_grad(g, w, delta),
        reference.backward(x.astype(float), w.astype(float), delta.astype(float), **ref_args(g))[0],
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("groups", [1, 2])
def test_mixed_dtypes_compute_in_the_wider_one(groups):
    """A float32 input with a float64 kernel, bias and δ: float64 results, equal to
    the definition computed in float64 (depthwise and GEMM paths alike)."""
    g = Geometry.build((7, 6), (3, 2), in_channels=2, out_channels=2, groups=groups, stride=(2, 1), padding=1)
    x, w, b, delta = operands(g, 1)
    x32 = x.astype(np.float32)
    y = reference.forward(x32.astype(float), w, b, **ref_args(g))
    dx, dw, _ = reference.backward(x32.astype(float), w, delta, **ref_args(g))
    for got, expected in ((conv.forward(g, x32, w, b), y), (conv.input_grad(g, w, delta), dx),
                          (conv.weight_grad(g, x32, delta), dw)):  # fmt: skip
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_uneven_coverage_leaves_zero_gradient_and_pads_delta_at_the_end():
    g = Geometry.build((5, 5), (2, 2), stride=2)
    assert g.out_size == (2, 2) and g.uncovered == (1, 1)
    assert g.delta_padding == ((1, 2), (1, 2))  # k−1 before, k−1 + 1 uncovered after
    w = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    dx = conv.input_grad(g, w, np.ones(g.output_shape))
    assert (dx[0, 0, 4, :] == 0).all() and (dx[0, 0, :, 4] == 0).all()
    assert trace.input_terms(g, (0, 0, 4, 4)) == []
    assert trace.input_grad_expression(Namer(g), []) == "0"


def test_same_padding_puts_the_odd_zero_after():
    g = Geometry.build((4, 4), (2, 2), padding="same")
    assert g.padding == ((0, 1), (0, 1)) and g.out_size == (4, 4)
    g = Geometry.build((5,), (3,), padding="same", dilation=2)
    assert g.padding == ((2, 2),)


@given(st.integers(1, 6), st.integers(-6, 4), st.integers(-6, 4))
def test_pad_moves_entry_i_to_i_plus_before(n, before, after):
    """pad's definition, entry by entry: out[j] = a[j − before], zero outside a."""
    if n + before + after < 0:
        return
    from convgrad_cli.ops import pad

    a = np.arange(1.0, n + 1).reshape(1, 1, n)
    out = pad(a, ((before, after),))[0, 0]
    assert out.shape == (n + before + after,)
    for j, v in enumerate(out):
        assert v == (a[0, 0, j - before] if 0 <= j - before < n else 0)


def test_padding_wider_than_the_input_with_a_large_stride():
    """Found by CI: 1 cell padded 2 before, stride 3 — δ's padding crops more than δ has."""
    g = Geometry.build((1,), (1,), stride=3, padding=((2, 0),))
    assert g.out_size == (1,) and g.delta_padding == ((-2, 2),)
    w, delta = np.array([[[2.0]]]), np.array([[[5.0]]])
    steps = conv.backward_steps(g, w, delta)
    # the only window sits on padding, so the input's one cell gets nothing
    assert steps.input_grad.tolist() == [[[0.0]]] and conv.input_grad(g, w, delta).tolist() == [[[0.0]]]
