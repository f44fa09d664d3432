"""Whatever a config holds, convgrad answers with a Problem or a ConvgradError — never a crash."""

from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.config import KEYS, build_problem
from convgrad_cli.errors import ConvgradError
from tests.support.profile import examples

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["same", "valid", "names", "ones", "random", "float32", "float64", "", "x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["shape", "fill", "other"]), inner, max_size=3),
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from([*KEYS, "strides", "kernal"]), values, max_size=6))
@settings(max_examples=examples(400), deadline=None)
def test_any_config_is_a_problem_or_a_clear_error(raw):
    try:
        problem = build_problem(raw)
    except ConvgradError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    assert problem.geom.out_size  # a problem that builds has a legal geometry


@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=6),
    kshape=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    stride=st.one_of(st.integers(-1, 3), st.lists(st.integers(0, 3), max_size=4)),
    padding=st.one_of(
        st.integers(-1, 3),
        st.sampled_from(["same", "valid"]),
        st.lists(st.lists(st.integers(-1, 2), max_size=3), max_size=3),
    ),
    groups=st.integers(0, 4),
    dims=st.one_of(st.none(), st.integers(0, 4)),
)
@settings(max_examples=examples(400), deadline=None)
def test_any_geometry_is_a_problem_or_a_clear_error(shape, kshape, stride, padding, groups, dims):
    raw = {
        "input": {"shape": shape, "fill": "ones"},
        "kernel": {"shape": kshape, "fill": "ones"},
        "stride": stride,
        "padding": padding,
        "groups": groups,
    }
    if dims is not None:
        raw["dims"] = dims
    try:
        build_problem(raw)
    except ConvgradError as exc:
        assert str(exc) and "\n" not in str(exc)
