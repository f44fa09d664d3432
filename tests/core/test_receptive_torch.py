"""Receptive fields and path counts against PyTorch's Jacobian under unit weights
(ReLU as the identity, a max-pool replaced by a sum-pool), and the Distill formulas
against the Jacobian's nonzero structure (skipped without PyTorch)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import receptive, stack
from convgrad_cli.core.stack import LayerSpec
from tests.support.strategies import stacks

torch = pytest.importorskip("torch")
from tests.support import torch_layers  # noqa: E402
from tests.support.profile import examples  # noqa: E402


def build(case, rng):
    shape, chain = case
    weights = [None if w is None else rng.standard_normal(w) for _, _, w in chain]
    specs = [
        LayerSpec(k, {**p, **({"kernel": w} if w is not None else {})})
        for (k, p, _), w in zip(chain, weights)
    ]
    return stack.build(rng.standard_normal(shape), specs), weights


def counting_levels(s, chain, x):
    """Each level's tensor of the unit-weight network, the input first, gradients kept."""
    nd = s.ndim
    levels = [x]
    for (kind, p, w_shape), in_shape in zip(chain, s.shapes):
        levels.append(torch_layers.counting_layer(kind, p, nd, w_shape, in_shape)(levels[-1]))
        levels[-1].retain_grad()
    return levels


def nonzero_field(a):
    nz = np.nonzero(a)
    return None if not nz[0].size else tuple((int(v.min()), int(v.max()) + 1) for v in nz[2:])


@given(stacks(dims=(1, 2)), st.data(), st.integers(0, 2**16))
@settings(max_examples=examples(40))
def test_paths_and_fields_are_the_unit_weight_jacobian(case, data, seed):
    rng = np.random.default_rng(seed)
    s, weights = build(case, rng)
    top = s.shapes[-1]
    index = tuple(data.draw(st.integers(0, n - 1)) for n in top)
    reach = receptive.output_reach(s, index)

    x = torch.zeros(s.x.shape, dtype=torch.float64, requires_grad=True)
    levels = counting_levels(s, case[1], x)
    levels[-1][index].backward()
    for level, t in enumerate(levels[:-1]):
        jac = t.grad.numpy()
        np.testing.assert_array_equal(reach.paths[level], jac)
        assert reach.fields[level] == nonzero_field(jac)

    # the gradient through the actual weights and activations
    tx = torch.tensor(s.x, requires_grad=True)
    a = tx
    for (kind, p, _), w in zip(case[1], weights):
        a = torch_layers.layer(kind, p, s.ndim, None if w is None else torch.tensor(w))(a)
    a[index].backward()
    np.testing.assert_allclose(reach.gradient, tx.grad.numpy(), rtol=1e-10, atol=1e-10)


@given(stacks(dims=(1, 2)), st.data(), st.integers(0, 2**16))
@settings(max_examples=examples(30))
def test_an_input_cell_reaches_what_the_unit_weight_network_carries_it_to(case, data, seed):
    s, _ = build(case, np.random.default_rng(seed))
    index = tuple(data.draw(st.integers(0, n - 1)) for n in s.x.shape)
    reach = receptive.input_reach(s, index)
    one = torch.zeros(s.x.shape, dtype=torch.float64)
    one[index] = 1.0
    with torch.no_grad():
        a, got = one, [one.numpy()]
        for (kind, p, w_shape), in_shape in zip(case[1], s.shapes):
            a = torch_layers.counting_layer(kind, p, s.ndim, w_shape, in_shape)(a)
            got.append(a.numpy())
    for mine, theirs in zip(reach.paths, got):
        np.testing.assert_array_equal(mine, theirs)


@given(stacks(dims=(1, 2), kinds=("conv", "maxpool", "avgpool", "relu")), st.integers(0, 2**16))
@settings(max_examples=examples(30))
def test_distill_fields_bound_the_jacobian_and_equal_it_inside_the_input(case, seed):
    s, _ = build(case, np.random.default_rng(seed))
    size = s.x.shape[2:]
    for level, row in enumerate(receptive.distill(s), start=1):
        x = torch.zeros(s.x.shape, dtype=torch.float64, requires_grad=True)
        y = counting_levels(s, case[1][:level], x)[-1]
        for out in np.ndindex(*row.out_size):
            x.grad = None
            y[(0, 0, *out)].backward(retain_graph=True)
            exact = nonzero_field(x.grad.numpy())
            analytic = [
                (st0 + o * j, st0 + o * j + r) for o, j, r, st0 in zip(out, row.jump, row.size, row.start)
            ]
            if all(0 <= a and b <= n for (a, b), n in zip(analytic, size)):
                assert exact == tuple(analytic)
            elif exact is not None:
                assert all(a <= e0 and e1 <= b for (e0, e1), (a, b) in zip(exact, analytic))


#: Layer kinds drawn for the stacks of a transposed convolution: mostly it, with what sits around it.
TRANSPOSED_MOSTLY = ("conv_transpose", "conv_transpose", "conv_transpose", "conv", "maxpool", "relu")


def analytic_field(row, index):
    """``[start, stop)`` per axis of the Distill row for output ``index`` (full rank), None if an axis sees nothing."""
    spans = [a.of(i) for a, i in zip(row.axes, index[2:])]
    return None if any(sp is None for sp in spans) else tuple(spans)


def exact_fields(s, chain, level):
    """The unit-weight Jacobian's nonzero field of every output of ``level`` (1-based), by PyTorch."""
    x = torch.zeros(s.x.shape, dtype=torch.float64, requires_grad=True)
    y = counting_levels(s, chain[:level], x)[-1]
    for out in np.ndindex(*y.shape[2:]):
        x.grad = None
        y[(0, 0, *out)].backward(retain_graph=True)
        yield (0, 0, *out), nonzero_field(x.grad.numpy())


@given(
    stacks(dims=(1, 2), kinds=TRANSPOSED_MOSTLY, depth=(1, 3)),
    st.integers(0, 2**16),
)
@settings(max_examples=examples(30))
def test_distill_fields_above_a_transposed_convolution_hold_every_path_of_the_jacobian(case, seed):
    """Every output's field (by phase, fractional jump) holds the nonzero structure of PyTorch's Jacobian;
    a phase with no field is an output no input reaches."""
    s, _ = build(case, np.random.default_rng(seed))
    for level, row in enumerate(receptive.distill(s), start=1):
        for index, exact in exact_fields(s, case[1], level):
            analytic = analytic_field(row, index)
            if analytic is None:
                assert exact is None
            elif exact is not None:
                assert all(a <= e0 and e1 <= b for (e0, e1), (a, b) in zip(exact, analytic)), (
                    index,
                    exact,
                    analytic,
                )


@given(
    stacks(dims=(1, 2), kinds=TRANSPOSED_MOSTLY, depth=(1, 3)),
    st.integers(0, 2**16),
)
@settings(max_examples=examples(30))
def test_distill_fields_above_a_transposed_convolution_are_the_jacobians_away_from_the_edges(case, seed):
    """On an input wide enough that no path of the middle outputs meets an edge, each phase's field
    is exactly the Jacobian's: the same chain rebuilt on a wider input, every phase of its middle outputs."""
    shape, chain = case
    wide = (1, 1, *(48 if len(shape) == 3 else 20 for _ in shape[2:]))
    rng = np.random.default_rng(seed)
    specs = [LayerSpec(k, {**p, **({"kernel": np.ones(w)} if w is not None else {})}) for k, p, w in chain]
    try:
        s = stack.build(rng.standard_normal(wide[:1] + (shape[1],) + wide[2:]), specs)
    except Exception:  # a chain that fits its own input only (a pool as wide as it)
        return
    rows = receptive.distill(s)
    top = s.shapes[-1][2:]
    periods = [len(a.phases) for a in rows[-1].axes]
    middle = [n // 2 for n in top]
    wanted = {
        (0, 0, *(m + ph for m, ph in zip(middle, phase)))
        for phase in np.ndindex(*periods)
        if all(m + ph < n for m, ph, n in zip(middle, phase, top))
    }
    for index, exact in exact_fields(s, chain, len(chain)):
        if index in wanted:
            analytic = analytic_field(rows[-1], index)
            inside = analytic is not None and all(
                a >= 0 and b <= n for (a, b), n in zip(analytic, s.x.shape[2:])
            )
            if inside:
                assert exact == tuple((int(a), int(b)) for a, b in analytic), (index, exact, analytic)
