"""`check` on the conventions real code uses (channels-last, CS231n's cache, no bias,
a torch autograd.Function), and on the bugs real code has: errors shrunk and
named, shapes explained in words, mistakes named from the numbers."""

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app
from convgrad_cli.core.check.mistakes import SHAPE_MISTAKES

ROOT = Path(__file__).resolve().parents[2]
CONVENTIONS = ROOT / "tests" / "support" / "convention_impls.py"
BROKEN = ROOT / "tests" / "support" / "broken_impls.py"
runner = CliRunner()


def check(*args):
    result = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


@pytest.mark.parametrize(
    "name, flags",
    [
        ("conv_backward_naive", ["--convention", "cs231n"]),
        pytest.param("channels_last", ["--layout", "channels-last"], marks=pytest.mark.slow),
        pytest.param("no_bias", [], marks=pytest.mark.slow),
        pytest.param("torch_unfold", ["--framework", "torch"], marks=[pytest.mark.slow, pytest.mark.skipif(
            importlib.util.find_spec("torch") is None, reason="torch is not installed")]),
    ],
)  # fmt: skip
def test_a_convention_is_checked_without_an_adapter(name, flags):
    result, doc = check("--random", "40", "--impl", f"{CONVENTIONS}:{name}", *flags)
    assert result.exit_code == 0, result.stderr
    assert doc["checked"] == 40 and doc["failed"] == doc["errors"] == 0


def test_channels_last_arrays_are_laid_out_as_keras_does():
    """A channels-last implementation given channels-first arrays breaks; given its own, passes."""
    seed = ROOT / "configs" / "stride2.yaml"
    result, doc = check(seed, "--impl", f"{CONVENTIONS}:channels_last")
    assert result.exit_code == 1 and doc["errors"] == 1
    result, doc = check(seed, "--impl", f"{CONVENTIONS}:channels_last", "--layout", "channels-last")
    assert result.exit_code == 0 and doc["checked"] == 1


def test_cs231n_stays_inside_what_its_cache_can_say():
    result, doc = check(
        "--random", "20", "--impl", f"{CONVENTIONS}:conv_backward_naive", "--convention", "cs231n"
    )
    assert doc["skipped"] == 0
    for r in doc["results"]:
        assert r["geometry"].count("×") == 6  # 2-D: N×C×H×W * O×C×kh×kw
        assert not {"grouped", "dilated", "strides_per_axis", "padding_asymmetric"} & set(r["classes"])


def test_no_bias_checks_the_other_two_and_says_so():
    result = runner.invoke(app, ["check", "--random", "6", "--impl", f"{CONVENTIONS}:no_bias", "-f", "plain"])
    assert result.exit_code == 0
    assert "∂L/∂bias not checked: the implementation returns (input_grad, weight_grad)" in " ".join(
        result.stdout.split()
    )
    result, doc = check("--random", "6", "--impl", f"{CONVENTIONS}:no_bias")
    assert all(r["unchecked"] == ["bias_grad"] for r in doc["results"] if r["status"] == "passed")
    assert all(c["quantity"] != "bias_grad" for r in doc["results"] for c in r["checks"])


HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize(
    "mistake",
    [
        m
        if m == "padding_crop_empty"
        else pytest.param(
            m,
            marks=[pytest.mark.slow, pytest.mark.skipif(
                m == "stride_dilation_dropped" and not HAS_TORCH, reason="torch is not installed")],
        )
        for m in SHAPE_MISTAKES
    ],
)  # fmt: skip
def test_a_shape_or_error_mistake_is_named_in_words(mistake):
    words = {
        "stride_dilation_dropped": "the size of conv_transpose(δ, W) at stride 1 and dilation 1: the forward's",
        "stride_assumed_to_divide": "AssertionError: height does not work (at real_bugs.py:",
        "padding_crop_empty": "it has 0 rows and columns: a slice [p:-p] with p = 0 is empty",
        "padding_cropped_wrong_axes": "cropped on the batch and channel axes instead of the spatial ones",
        "padding_not_cropped": "the padding was not cropped off",
    }[mistake]
    result, doc = check("--random", "40", "--impl", f"{BROKEN}:{mistake}")
    assert result.exit_code == 1
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert errors and any(words in r["error"] for r in errors)
    assert all(r["diagnosis"]["input_grad"][0]["mistake"] == mistake for r in errors if words in r["error"])


def test_an_error_is_shrunk_and_its_line_shown():
    result, doc = check("--random", "40", "--impl", f"{BROKEN}:stride_assumed_to_divide")
    assert doc["raises_only_when"][-1] == "uncovered" and doc["errors_look_like"] == [
        "stride_assumed_to_divide"
    ]
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert (
        '(at real_bugs.py:51: assert (h + 2 * p - kh) % s == 0, "height does not work")' in errors[0]["error"]
    )
    for r in errors:
        small = r["smallest_failing"]
        assert small is not None and small["input_shape"][:2] == [1, 1] and small["uncovered"] != [0, 0]


@pytest.mark.slow
def test_errors_and_wrong_numbers_each_get_their_own_fails_only_when():
    """kh used for kw: wrong numbers where kw > kh, an IndexError where kw < kh."""
    result, doc = check("--random", "40", "--impl", f"{BROKEN}:kernel_assumed_square")
    assert doc["fails_only_when"] == ["kernel_not_square"]
    failing = [r for r in doc["results"] if r["status"] == "failed"]
    assert failing and all(
        "kernel_assumed_square" in {d["mistake"] for d in r["diagnosis"]["input_grad"][:1]} for r in failing
    )
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert errors and all("IndexError" in r["error"] and "kernel_not_square" in r["classes"] for r in errors)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_the_tutorial_backward_without_the_layers_stride_is_named_from_its_shapes():
    """grad_x = conv_transpose2d(δ, W) at its defaults: where the layer has a stride or a dilation
    the size says so; where it has neither but padding, the padding was not cropped."""
    result, doc = check("--random", "40", "--impl", f"{BROKEN}:stride_dilation_dropped")
    errors = [r for r in doc["results"] if r["status"] == "error"]
    assert result.exit_code == 1 and len(errors) >= 20
    for r in errors:
        named = r["diagnosis"]["input_grad"][0]["mistake"]
        plain = not {"strided", "dilated"} & set(r["classes"])
        # a size both mistakes give (uncovered rows less, or Ho + k − 1) may be named for either
        assert named == ("padding_not_cropped" if plain else "stride_dilation_dropped") or (
            named == "output_padding_missing" and "uncovered" in r["classes"]
        ), (r["geometry"], r["error"])


def test_the_weight_gradient_at_its_defaults_is_named_from_its_shape():
    from convgrad_cli.core.check.contract import shape_hint
    from convgrad_cli.core.geometry import Geometry

    g = Geometry.build((7, 7), (3, 3), stride=2, in_channels=2, out_channels=4)  # Ho = 3: Hp − Ho + 1 = 5
    hint, named = shape_hint(g, "weight_grad", (4, 2, 5, 5), g.kernel_shape, "full")
    assert named == "stride_dilation_dropped" and "Hp − Ho + 1 taps" in hint
    g = Geometry.build((6, 6), (3, 3), groups=2, in_channels=2, out_channels=4)
    assert shape_hint(g, "weight_grad", (4, 2, 3, 3), g.kernel_shape, "full")[1] == "groups_ignored"


def test_delta_flattened_without_its_batch_axis_moved_is_named():
    """An im2col backward with δ.reshape(F, -1): right with one sample or one output channel,
    samples and channels mixed beyond — and named so on ∂L/∂x and ∂L/∂W alike."""
    result, doc = check("--random", "40", "--impl", f"{BROKEN}:delta_reshaped_not_transposed")

    def mixes(r):  # N > 1 and O > 1, read from 'N×C×H×W * O×C/g×kh×kw …'
        batch, out = r["geometry"].split("×")[0], r["geometry"].split("* ")[1].split("×")[0]
        return int(batch) > 1 and int(out) > 1

    failing = [r for r in doc["results"] if r["status"] == "failed"]
    assert result.exit_code == 1 and failing
    for r in failing:
        assert mixes(r)
        for quantity in ("input_grad", "weight_grad"):
            assert r["diagnosis"][quantity][0]["mistake"] == "delta_reshaped_not_transposed", r["geometry"]
    assert not any(mixes(r) for r in doc["results"] if r["status"] == "passed")


def test_a_saved_case_says_the_command_that_checks_it_again_as_it_was_checked(tmp_path):
    # a cs231n function called the default way raises TypeError: the saved command keeps --convention
    (tmp_path / "doubled.py").write_text(
        "from tests.support.convention_impls import conv_backward_naive\n\n"
        "def f(dout, cache):\n    dx, dw, db = conv_backward_naive(dout, cache)\n    return dx, dw, 2 * db\n"
    )
    code = f"{tmp_path / 'doubled.py'}:f"
    saved = tmp_path / "saved"
    result, doc = check("--impl", code, "--convention", "cs231n", "--random", "4", "--save-failing", saved)
    assert result.exit_code == 1 and doc["failed"] == 4
    path = Path(next(r["saved"] for r in doc["results"] if r["saved"]))
    command = path.read_text().splitlines()[1]
    assert command == f"# convgrad check THIS.yaml --impl {code} --convention cs231n"
    again = command.removeprefix("# convgrad check ").replace("THIS.yaml", str(path)).split()
    result, doc = check(*again)
    assert result.exit_code == 1 and [r["status"] for r in doc["results"]] == ["failed"]
