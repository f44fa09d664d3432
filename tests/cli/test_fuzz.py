"""Generated configs and flags, each run as the user runs convgrad — a process of
its own, with a memory limit and a time limit: it ends with exit 0 and nothing on
stderr, or exit 2 and exactly one line saying what was wrong; never a traceback,
a warning, a hang, or memory exhausted."""

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.profile import examples
from tests.support.strategies import geometries

from .test_reliability import convgrad

FILLS = ["names", "letters", "arange", "ones", "zeros", "random", "randint", "bogus"]
BIG = [2**31, 2**63, 10**40, -(2**31), 10**400]


def ints(lo: int = -2, hi: int = 9) -> st.SearchStrategy:
    return st.one_of(st.integers(lo, hi), st.sampled_from(BIG))


def shapes() -> st.SearchStrategy:
    return st.lists(st.one_of(st.integers(0, 6), st.sampled_from([10**6, 2**31])), min_size=0, max_size=6)


def numbers() -> st.SearchStrategy:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        st.integers(-(10**3), 10**3),
        st.sampled_from([1e308, -1e308, 1e39, 3.5e38, "1e-3", "x", True, None]),
    )


arrays = st.recursive(numbers(), lambda inner: st.lists(inner, min_size=0, max_size=4), max_leaves=40)
fills = st.fixed_dictionaries({"shape": shapes(), "fill": st.sampled_from(FILLS)})
geometry_value = st.one_of(
    ints(),
    st.lists(ints(), max_size=4),
    st.sampled_from(["same", "valid", "full", ""]),
    st.lists(st.lists(ints(), max_size=3), max_size=3),
    st.none(),
)

configs = st.fixed_dictionaries(
    {},
    optional={
        "input": st.one_of(arrays, fills),
        "kernel": st.one_of(arrays, fills),
        "bias": st.one_of(arrays, fills),
        "delta": st.one_of(arrays, fills),
        "stride": geometry_value,
        "padding": geometry_value,
        "dilation": geometry_value,
        "groups": st.one_of(ints(-1, 4), st.just("two")),
        "dims": st.one_of(ints(-1, 5), st.just([1, 2])),
        "seed": ints(-1, 10**6),
        "dtype": st.sampled_from(["float64", "float32", "float16", "int8", 3]),
        "strides": st.just(2),
    },
)

#: YAML the dumper would never write: aliases, tags, tabs, broken brackets, duplicate keys.
RAW = [
    "&a [*a]",
    "!!python/object/apply:os.system ['true']",
    "\t",
    "[1, 2",
    "{a: 1, a: 2}",
    "*x",
    "%TAG ! x",
    "? [1]\n: 2",
    "---\n---",
    "'unterminated",
    "\x00",
    "\ufeff",
    "1" * 5000,
]

FLAG_NAMES = [
    "--stride",
    "--padding",
    "--dilation",
    "--groups",
    "--seed",
    "--dims",
    "--dtype",
    "--x",
    "-k",
    "--delta",
    "--bias",
    "--slice",
    "--width",
]
FLAG_VALUES = ["2", "1,2", "same", "random:3x3", "names:2x2", "0", "-1", "99999999999", "", "[[1e400]]"]
FLAGS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(FLAG_NAMES),
            st.one_of(st.text(string.printable, max_size=12), st.sampled_from(FLAG_VALUES)),
        ),
        st.tuples(st.just("-f"), st.sampled_from(["json", "plain", "latex", "markdown", "rich", "xml"])),
    ),
    max_size=3,
)


@st.composite
def cases(draw) -> tuple[list[str], str, list[str]]:
    """A command, its config's text and its flags: mostly a legal layer (any
    geometry, rank, dtype and fill), one key in three made wild, now and then
    YAML no dumper writes."""
    g = draw(geometries(max_size=6))
    fill = st.sampled_from(["arange", "random", "randint", "ones", "names"])
    config = {
        "input": {"shape": list(g.input_shape), "fill": draw(fill)},
        "kernel": {"shape": list(g.kernel_shape), "fill": draw(fill)},
        "stride": list(g.stride),
        "padding": [list(p) for p in g.padding],
        "dilation": list(g.dilation),
        "groups": g.groups,
        "dims": g.ndim,
        "dtype": draw(st.sampled_from(["float64", "float32"])),
    }
    if draw(st.booleans()):
        config["delta"] = {"fill": draw(st.sampled_from(["random", "ones", "names"]))}
    if draw(st.integers(0, 2)) == 0:
        wild = draw(configs)
        key = draw(st.sampled_from(sorted(wild))) if wild else None
        if key is not None:
            config[key] = wild[key]
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=10**9)
    if draw(st.integers(0, 5)) == 0:
        text += "extra: " + draw(st.sampled_from(RAW)) + "\n"
    middle = ",".join(["0", "0", *(str(n // 2) for n in g.in_size)])
    corner = ",".join(["0"] * (g.ndim + 2))
    command = draw(
        st.sampled_from(
            [
                ["forward"],
                ["backward"],
                ["trace", "--input", middle],
                ["trace", "--input", middle, "--steps"],
                ["trace", "--all"],
                ["trace", "--output", corner],
                ["trace", "--weight", corner],
                ["shape"],
                ["check"],
            ]
        )
    )
    flags = [part for flag in draw(FLAGS) for part in flag] if draw(st.integers(0, 2)) == 0 else []
    if draw(st.booleans()):
        flags += ["-f", draw(st.sampled_from(["json", "plain", "latex", "markdown", "rich"]))]
    return command, text, flags


@given(case=cases())
@settings(
    max_examples=examples(60),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_generated_inputs_end_in_a_result_or_one_line(tmp_path_factory, case):
    command, text, flags = case
    folder = tmp_path_factory.mktemp("fuzz")
    config = folder / "layer.yaml"
    config.write_text(text)
    argv = [*command, str(config), *flags]
    result = convgrad(*argv, env={"CONVGRAD_MAX_GB": "1"}, timeout=60, cwd=folder)
    err = result.stderr.decode(errors="replace")
    assert "Traceback" not in err and "Warning" not in err, (argv, text, err[-3000:])
    if result.returncode == 0:
        assert err == "", (argv, text, err)
    else:
        lines = err.strip().splitlines()
        assert result.returncode == 2, (result.returncode, argv, text, err[-3000:])
        assert len(lines) == 1 and lines[0].startswith("convgrad: error: "), (argv, text, err[-3000:])
