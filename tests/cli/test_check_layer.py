"""check --layer KIND takes check's options and means by them what check does:
--framework, --dtype (held to that dtype's bound), --junit-xml, --save-failing,
--min-checked, and the exit statuses. The right backwards here are PyTorch's
autograd (skipped without torch); the wrong ones are loops a student might write."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

runner = CliRunner()
IMPLS = "tests/support/layer_impls.py"
KINDS = ("maxpool", "avgpool", "relu", "conv_transpose")


def check(*args):
    return runner.invoke(app, ["check", *args])


def doc_of(result):
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", KINDS)
def test_framework_torch_hands_torch_tensors_and_passes_autograds_backward(kind):
    pytest.importorskip("torch")
    impl = f"{IMPLS}:{kind}_torch_only"
    # PyTorch's avg_pool3d refuses a window wider than the unpadded input (its 2-D pool does not): 1-D and 2-D
    result = check("--layer", kind, "--impl", impl, "--framework", "torch", "--random", "4", "--dims", "1,2", "-f",
                   "json")  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    doc = doc_of(result)
    assert doc["passed"] and doc["checked"] == doc["cases"] >= 5
    without = check(
        "--layer", kind, "--impl", impl, "-f", "json"
    )  # NumPy arrays: it raises, an error per case
    assert without.exit_code == 1
    assert all("expected a torch.Tensor" in r["error"] for r in doc_of(without)["results"])


@pytest.mark.parametrize("kind", KINDS)
def test_dtype_float32_hands_float32_and_holds_it_to_float32s_bound(kind):
    pytest.importorskip("torch")
    impl = f"{IMPLS}:{kind}_float32_only"
    result = check("--layer", kind, "--impl", impl, "--dtype", "float32", "--random", "4", "--dims", "1,2", "-f",
                   "plain", "--width", "300")  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "u = 2^-24 (float32)" in result.stdout
    in64 = check("--layer", kind, "--impl", impl, "-f", "json")  # float64 arrays: it raises
    assert in64.exit_code == 1 and doc_of(in64)["errors"] == doc_of(in64)["cases"]


def test_a_float16_average_fails_float32s_bound_and_convgrads_own_float32_passes():
    pytest.importorskip("torch")
    coarse = check(
        "--layer", "avgpool", "--impl", f"{IMPLS}:avgpool_in_float16", "--dtype", "float32", "-f", "json"
    )
    assert coarse.exit_code == 1
    assert doc_of(coarse)["failed"] >= 1
    own = check("--layer", "avgpool", "--dtype", "float32", "--random", "3", "-f", "json")
    assert own.exit_code == 0 and doc_of(own)["passed"]
    refused = check("--layer", "relu", "--dtype", "float16")
    assert refused.exit_code == 2 and "--dtype float16 checks an --impl" in refused.stderr


@pytest.mark.parametrize(
    ("kind", "wrong", "mistake"),
    [
        ("relu", "relu_at_zero", "relu_passes_at_zero"),
        ("maxpool", "maxpool_every_cell", "maxpool_every_cell"),
    ],
)
def test_junit_xml_has_a_case_per_case_and_the_failures_lines(tmp_path, kind, wrong, mistake):
    report = tmp_path / "out" / "report.xml"
    result = check("--layer", kind, "--impl", f"{IMPLS}:{wrong}", "--random", "3", "--junit-xml", str(report),
                   "-f", "json")  # fmt: skip
    assert result.exit_code == 1
    doc = doc_of(result)
    suite = ET.parse(report).getroot()
    assert int(suite.get("tests")) == doc["cases"] and int(suite.get("failures")) == doc["failed"] >= 1
    failures = suite.findall("testcase/failure")
    assert len(failures) == doc["failed"]
    assert all(f"looks like {mistake}" in f.text for f in failures)


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_save_failing_writes_a_config_that_reproduces_the_failure(tmp_path):
    folder = tmp_path / "failing"
    impl = f"{IMPLS}:maxpool_every_cell"
    result = check("--layer", "maxpool", "--impl", impl, "--save-failing", str(folder), "-f", "json")
    assert result.exit_code == 1
    saved = sorted(folder.glob("*.yaml"))
    failed = [r for r in doc_of(result)["results"] if r["status"] == "failed"]
    assert len(saved) == len(failed) >= 1 and all(r["saved"] for r in failed)
    again = check(str(saved[0]), "--layer", "maxpool", "--impl", impl, "--random", "0", "-f", "json")
    first = doc_of(again)["results"][0]
    assert first["name"].endswith("layer 1") and first["status"] == "failed"
    assert first["diagnosis"][0]["mistake"] == "maxpool_every_cell"
    right = check(str(saved[0]), "--layer", "maxpool", "--impl", f"{IMPLS}:maxpool_right", "-f", "json")
    assert right.exit_code == 0, right.stdout
    shown = runner.invoke(app, ["backward", str(saved[0]), "-f", "json"])  # a stack config of one layer
    assert shown.exit_code == 0 and doc_of(shown)["layers"][0]["kind"] == "maxpool"


def test_save_failing_of_a_transposed_convolution_keeps_its_kernel(tmp_path):
    pytest.importorskip("torch")
    folder = tmp_path / "failing"
    impl = f"{IMPLS}:conv_transpose_flipped"
    result = check("--layer", "conv_transpose", "--impl", impl, "--save-failing", str(folder), "-f", "json")
    assert result.exit_code == 1
    saved = sorted(folder.glob("*.yaml"))
    assert saved
    again = check(str(saved[0]), "--layer", "conv_transpose", "--impl", impl, "--random", "0", "-f", "json")
    assert doc_of(again)["results"][0]["status"] == "failed"


@pytest.mark.parametrize("kind", KINDS)
def test_min_checked_fails_a_run_that_checked_fewer(kind):
    anchors = doc_of(check("--layer", kind, "-f", "json"))["cases"]
    enough = check("--layer", kind, "--min-checked", str(anchors), "-f", "json")
    assert enough.exit_code == 0 and doc_of(enough)["min_checked"] == anchors
    short = check("--layer", kind, "--min-checked", str(anchors + 1), "-f", "plain")
    assert short.exit_code == 1
    said = f"{anchors} case{'s' * (anchors != 1)}"
    assert f"only {said} checked, fewer than the {anchors + 1} required" in short.stderr
    assert "NOT PASSED" in short.stdout


def test_the_layers_of_a_shipped_stack_are_cases_of_their_kind():
    result = check("configs/layers/lenet.yaml", "--layer", "maxpool", "--impl", f"{IMPLS}:maxpool_right",
                   "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    names = [r["name"] for r in doc_of(result)["results"]]
    assert names[0] == "configs/layers/lenet.yaml layer 3"
    wrong = check("configs/layers/lenet.yaml", "--layer", "maxpool", "--impl", f"{IMPLS}:maxpool_every_cell",
                  "--random", "0", "-f", "json")  # fmt: skip
    first = doc_of(wrong)["results"][0]  # the max-pool of lenet's 4 channels, on the input it receives there
    assert first["case"]["shape"] == [1, 4, 8, 8]
    assert first["status"] == "failed" and first["diagnosis"][0]["mistake"] == "maxpool_every_cell"


def test_exit_statuses():
    assert check("--layer", "relu", "--impl", f"{IMPLS}:relu_at_zero", "-f", "json").exit_code == 1
    assert check("--layer", "relu", "--impl", f"{IMPLS}:relu_torch_only", "-f", "json").exit_code == 1
    bad = check("--layer", "pool")
    assert bad.exit_code == 2 and "allowed: maxpool, avgpool, relu, conv_transpose" in bad.stderr
    assert bad.stderr.count("\n") == 1
    assert check("--layer", "relu", "-f", "json").exit_code == 0


CONV = "tests/support/broken_impls.py"


def test_impl_on_a_stack_config_checks_each_convolution_on_what_it_receives_there(tmp_path):
    result = check("configs/layers/lenet.yaml", "--impl", f"{CONV}:correct", "-f", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    doc = doc_of(result)
    # 8×8 → conv 4×1×3×3 p1 → 4×8×8 → relu → maxpool 2 → 4×4×4 → conv 1×4×3×3: the two convolutions' geometry
    assert [(r["name"], r["geometry"]) for r in doc["results"]] == [
        ("configs/layers/lenet.yaml layer 1", "1×1×8×8 * 4×1×3×3 s1 p1"),
        ("configs/layers/lenet.yaml layer 4", "1×4×4×4 * 1×4×3×3 s1"),
    ]
    wrong = check("configs/layers/lenet.yaml", "--impl", f"{CONV}:kernel_not_flipped", "--save-failing",
                  str(tmp_path / "failing"), "-f", "json")  # fmt: skip
    assert wrong.exit_code == 1
    failed = [r for r in doc_of(wrong)["results"] if r["status"] == "failed"]
    assert len(failed) == 2 and all(
        r["diagnosis"]["input_grad"][0]["mistake"] == "kernel_not_flipped" for r in failed
    )
    saved = sorted(p.name for p in (tmp_path / "failing").iterdir())
    assert saved == ["lenet.yaml_layer_1-failing.yaml", "lenet.yaml_layer_4-failing.yaml"]
    in32 = check("configs/layers/lenet.yaml", "--impl", f"{CONV}:correct", "--dtype", "float32", "-f", "json")
    assert in32.exit_code == 0, in32.stdout + in32.stderr


def test_impl_on_a_stack_without_a_convolution_says_which_kinds_it_has():
    result = check("configs/layers/maxpool.yaml", "--impl", f"{CONV}:correct")
    assert (
        result.exit_code == 2
        and "has no conv layer (its layers: maxpool); give --layer KIND" in result.stderr
    )


def test_an_error_is_counted_as_an_error_not_a_failure():
    """maxpool.yaml and the three anchors (ties, overlapping ceil_mode windows, a dilation):
    δ sent to every cell of a window is wrong on each with windows of several cells; the
    dilated anchor raises in this backward. 0 pass, 3 fail, 1 error — not "4 fail"."""
    impl = f"{IMPLS}:maxpool_every_cell_undilated"
    args = ("configs/layers/maxpool.yaml", "--layer", "maxpool", "--random", "0", "--impl", impl)
    statuses = [r["status"] for r in doc_of(check(*args, "-f", "json"))["results"]]
    assert sorted(statuses) == ["error", "failed", "failed", "failed"]
    plain = check(*args, "-f", "plain", "--width", "80").stdout
    assert "0 of 4 cases pass, 3 fail, 1 error" in plain and "4 fail" not in plain
    lines = plain.splitlines()
    assert max(map(len, lines)) <= 80
    at = next(i for i, line in enumerate(lines) if re.match(r"\S.*: input_grad against", line))
    block = lines[at : lines.index("", at)]  # a failure's lines said as one, no blank line between them
    assert any(line.startswith("  looks like") for line in block) and block[-1].endswith("has every case")
    firsts = [line.split()[0] for line in lines if re.match(r" [a-z]", line)]
    assert firsts[1:] == ["maxpool.yaml", "ties", "overlap-ceil-ties", "dilation"]  # names whole, short


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_cases_that_fail_alike_are_drawn_once_and_each_named():
    """Every failing case of a max-pool that sends δ to every tie looks like maxpool_every_tie:
    the first is drawn, a line names the rest; --details all draws each."""
    args = ("--layer", "maxpool", "--impl", f"{IMPLS}:maxpool_every_tie")
    failed = [r["name"] for r in doc_of(check(*args, "-f", "json"))["results"] if r["status"] == "failed"]
    assert len(failed) > 2
    lines = check(*args, "-f", "plain", "--width", "80").stdout.splitlines()
    assert [line.split(":")[0] for line in lines if re.match(r"[\w-]+: input_grad", line)] == failed[:1]
    said = " ".join(line.strip() for line in lines)
    more = re.search(r"(\d+) more failing cases look like maxpool_every_tie too: ([\w\-, ]+);", said)
    assert more and more.group(2).split(", ") == failed[1:]
    every = check(*args, "--details", "all", "-f", "plain", "--width", "80").stdout.splitlines()
    assert [line.split(":")[0] for line in every if re.match(r"[\w-]+: input_grad", line)] == failed
