"""One validation path: the Python API and the config layer build problems alike."""

import numpy as np
import pytest

from convgrad_cli import conv1d, conv2d, conv2d_backward, conv3d
from convgrad_cli.config import build_problem
from convgrad_cli.core.problem import Fill, build
from convgrad_cli.errors import ArrayError, ConfigError, ConvgradError, GeometryError

X = np.arange(1.0, 17.0).reshape(4, 4)
W = np.array([[1.0, 2.0], [3.0, 4.0]])


def test_numpy_integers_are_taken_as_pytorch_takes_them():
    i = np.int64
    assert conv2d(X, W, stride=i(2)).tolist() == [[44, 64], [124, 144]]
    # padded 6×6, a 2×2 kernel, stride (2, 1): (6 − 2) // 2 + 1 rows, (6 − 2) // 1 + 1 columns
    y = conv2d(X, W, stride=(i(2), np.int32(1)), padding=i(1), dilation=np.int16(1), groups=i(1))
    assert y.shape == (3, 5)
    dx, _, _ = conv2d_backward(X, W, np.ones((2, 2)), stride=np.int64(2), padding=[i(0), i(0)])
    assert dx[0].tolist() == [1, 2, 1, 2]
    assert conv1d(np.ones(5), np.ones(2), stride=np.uint8(2)).tolist() == [2, 2]
    assert conv3d(np.ones((3, 3, 3)), np.ones((2, 2, 2)), padding=np.int64(0)).shape == (2, 2, 2)


@pytest.mark.parametrize("bad", [True, np.bool_(True), 2.0, "2"])
def test_a_stride_that_is_not_an_integer_is_refused(bad):
    with pytest.raises(GeometryError, match="stride"):
        conv2d(X, W, stride=bad)


# the same mistake through the API and through a config: the same message
SAME_MISTAKES = [
    (
        dict(input=np.ones((1, 3, 4, 4)), kernel=np.ones((2, 2, 2, 2))),
        ArrayError,
        r"input \(1, 3, 4, 4\) has 3",
    ),
    (dict(input=np.ones((4, 4)), kernel=W, delta=np.ones((2, 2))), ArrayError, r"delta has shape \(2, 2\)"),
    (dict(input=np.ones((4, 4)), kernel=W, bias=np.ones(2)), ArrayError, r"bias has shape \(2,\)"),
    (dict(input=[[1.0, np.nan]], kernel=[[1.0]]), ArrayError, "input holds a non-finite value"),
    (dict(input=[[1, 2], [3]], kernel=[[1.0]]), ArrayError, "input is ragged"),
    (dict(input=np.ones((4, 4)), kernel=W, groups=0), GeometryError, "groups is 0; it must be at least 1"),
]


@pytest.mark.parametrize("given, error, message", SAME_MISTAKES, ids=[m for *_, m in SAME_MISTAKES])
def test_api_and_config_say_the_same(given, error, message):
    api_args = {k: v for k, v in given.items() if k not in ("input", "kernel")}
    with pytest.raises(error, match=message):
        build(given["input"], given["kernel"], **api_args)
    raw = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in given.items()}
    with pytest.raises(ConvgradError, match=message):
        build_problem(raw)


def test_fills_take_the_shape_the_problem_implies():
    p = build(Fill("arange", (4, 4)), Fill("names", (2, 2)), delta=Fill("randint"), bias=Fill("ones"), seed=1)
    assert p.w is None and p.delta.shape == (1, 1, 3, 3) and p.bias.tolist() == [1.0]
    assert set(np.unique(p.delta)) <= set(range(-3, 4))
    again = build(
        Fill("arange", (4, 4)), Fill("names", (2, 2)), delta=Fill("randint"), bias=Fill("ones"), seed=1
    )
    np.testing.assert_array_equal(p.delta, again.delta)  # seeded
    with pytest.raises(ArrayError, match="input needs a shape"):
        build(Fill("ones"), W)
    with pytest.raises(ConfigError, match="bias cannot be filled with names"):
        build(X, W, bias=Fill("names"))


def test_dtype_follows_the_arrays_unless_given():
    assert build(X.astype(np.float32), W.astype(np.float32)).dtype == "float32"
    assert build(X.astype(np.float32), W).dtype == "float64"
    assert build(X.astype(np.int8), W).x.dtype == np.float64
    p = build(X, W, dtype="float32")
    assert p.x.dtype == np.float32 and p.dtype == "float32"
