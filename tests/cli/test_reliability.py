"""No input, file, environment or user code makes convgrad hang, crash, run out
of memory, or exit 0 when it should not: each way found, as the user meets it —
the installed command in a process of its own."""

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convgrad_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "support" / "broken_impls.py"
runner = CliRunner()


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


#: The installed command, as a user runs it (``python -m`` where it is not installed).
SCRIPT = Path(sys.executable).parent / "convgrad"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "convgrad_cli"]


def convgrad(*args, env=None, cwd=None, timeout=60, **kw) -> subprocess.CompletedProcess:
    """``convgrad ARGS`` in a process of its own, with 4 GiB of address space."""
    full_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    full_env.pop("COLUMNS", None)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("preexec_fn", _limit_memory)
    return subprocess.run(
        [*COMMAND, *map(os.fsdecode, args)], env=full_env, cwd=cwd or ROOT, timeout=timeout, **kw
    )


def one_error_line(result: subprocess.CompletedProcess, *pieces: str) -> str:
    """Exit 2 and exactly one line on stderr, ``convgrad: error: …``, holding ``pieces``."""
    err = result.stderr.decode(errors="replace") if isinstance(result.stderr, bytes) else result.stderr
    lines = err.strip().splitlines()
    assert result.returncode == 2, (result.returncode, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("convgrad: error: "), err[-2000:]
    for piece in pieces:
        assert piece in lines[0], lines[0]
    return lines[0]


# -- YAML that would never end, or cannot be read -------------------------------------------------

BAD_YAML = [
    ("delta: &d [*d]\n", "anchors and aliases (&name, *name) are not allowed"),
    ("input: &i [1, *i]\n", "anchors and aliases"),
    ("base: &b {stride: 2}\nstride: *b\n", "anchors and aliases"),
    ("input: " + "[" * 350 + "1" + "]" * 350 + "\n", "nested deeper than 16 levels"),
    (
        "stride: " + "9" * 400 + "\n",
        "stride 999999999999… (400 digits) is out of range; allowed: 0 to 2,147,483,647",
    ),
    ("stride: " + "9" * 5000 + "\n", "holds a value convgrad cannot read"),
    ("padding: 1" + "0" * 160 + "\n", "padding 100000000000… (161 digits) is out of range"),
    ("1: 2\nstride: 1\n", "unknown key 1"),
    ("input: {1: 2, a: 3}\n", "input has unknown field(s) ['1', 'a']"),
    ("stride: 2\nstride: 1\n", "line 2: key 'stride' is given twice"),
    ("stride: null\n", "stride is null"),
    ("", "is empty"),
    ("# only a comment\n", "is empty"),
    ("input: !!python/object/apply:os.system ['echo hacked']\n", "is not valid YAML"),
]


@pytest.mark.parametrize("text, message", BAD_YAML, ids=[m[:40] for _, m in BAD_YAML])
def test_yaml_that_never_ends_or_cannot_be_read_is_one_line(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = convgrad("backward", config, timeout=20)
    one_error_line(result, message)
    assert b"hacked" not in result.stdout


def test_flags_are_read_with_the_same_rules():
    one_error_line(convgrad("backward", "--delta", "&R [*R]", timeout=20), "anchors and aliases")
    one_error_line(convgrad("forward", "--stride", ""), "--stride is empty")
    one_error_line(convgrad("forward", "--padding", "null"), "--padding 'null' is null")


def test_devices_are_refused_and_files_read_only_so_much(tmp_path):
    for path in ("/dev/urandom", "/dev/null", "/dev/zero"):
        one_error_line(convgrad("trace", path, "--input", "a", timeout=20), "is a device, not a file")
    big = tmp_path / "big.yaml"
    big.write_text("input: [" + ", ".join(["[" + ", ".join(["1.5"] * 1000) + "]"] * 250) + "]\n")
    started = time.monotonic()
    one_error_line(convgrad("forward", big, timeout=20), "is over 1 MiB; give large arrays as a fill")
    assert time.monotonic() - started < 10


def test_a_number_with_an_exponent_but_no_dot_is_a_number(tmp_path):
    """YAML 1.1 reads 1e-3 as text; a config means the number."""
    config = tmp_path / "e.yaml"
    config.write_text("input: [[1e-3, 2E+2]]\nkernel: [[1]]\n")
    doc = json.loads(convgrad("forward", config, "-f", "json").stdout)
    assert doc["output"] == [[0.001, 200.0]]


# -- one line, the right status -------------------------------------------------------------------

USAGE = [
    (
        ["forward", "--groups", "x"],
        "invalid value for '--groups': 'x' is not a valid int; see convgrad forward --help",
    ),
    (["forward", "--seed", "0x10"], "'0x10' is not a valid int"),
    (["forward", "-f", ""], "'' is not one of 'rich', 'plain', 'json', 'latex', 'markdown'"),
    (["forward", "--nope"], "no such option: --nope"),
    (["forward", "a.yaml", "b.yaml"], "got unexpected extra argument(s) (b.yaml)"),
    (["frward"], "no such command 'frward'"),
    (["check", "--seed", "-1", "--random", "1"], "--seed does not apply to the --random sweep"),
]


@pytest.mark.parametrize("args, message", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_are_one_line(args, message):
    result = convgrad(*args)
    one_error_line(result, message)
    assert result.stdout == b""


@pytest.mark.parametrize(
    "name, value",
    [
        ("CONVGRAD_MAX_GB", "abc"),
        ("CONVGRAD_MAX_GB", "nan"),
        ("CONVGRAD_MAX_GB", "inf"),
        ("CONVGRAD_MAX_GB", "-1"),
        ("CONVGRAD_MEMORY_MB", "abc"),
        ("CONVGRAD_MEMORY_MB", "inf"),
        ("CONVGRAD_MEMORY_MB", "0"),
    ],
)
def test_bad_environment_is_one_line(name, value):
    one_error_line(convgrad("backward", env={name: value}), f"{name} {value!r} is not allowed")


def test_writing_stdout_that_is_full_or_closed_is_one_line():
    with open("/dev/full", "wb") as full:
        one_error_line(
            convgrad("forward", stdout=full), "cannot write to standard output: No space left on device"
        )
        one_error_line(convgrad("forward", "-f", "json", stdout=full), "No space left on device")
    closed = convgrad("forward", preexec_fn=lambda: (os.close(1), _limit_memory()))
    one_error_line(closed, "cannot write to standard output")


def test_a_closed_pipe_ends_convgrad_as_sigpipe_does_not_as_a_failed_check():
    for args in (["check", "configs/", "-f", "plain"], ["forward", "-f", "json"]):
        with subprocess.Popen(
            [*COMMAND, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as p:
            p.stdout.close()  # the reader is gone before convgrad writes
            err = p.stderr.read()
            assert p.wait(timeout=60) == -signal.SIGPIPE, err
        assert err == b""


def test_names_the_system_refuses_are_one_line(tmp_path):
    long = tmp_path / ("x" * 300 + ".svg")
    one_error_line(convgrad("forward", "--export", long), "File name too long")
    one_error_line(convgrad("init", tmp_path / ("y" * 300 + ".yaml")), "File name too long")
    one_error_line(convgrad("check", "--junit-xml", tmp_path / ("z" * 300 + ".xml")), "File name too long")
    one_error_line(convgrad("forward", tmp_path / ("c" * 300 + ".yaml")), "File name too long")


def test_a_file_name_that_is_not_utf8_works_and_is_shown_escaped(tmp_path):
    # named from tmp_path, so that a long temporary folder cannot push the name past the header's width
    with open(os.fsencode(tmp_path) + b"/caf\xe9.yaml", "wb") as f:
        f.write(b"stride: 2\n")
    result = convgrad("forward", b"caf\xe9.yaml", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == b""
    assert b"caf\\xe9.yaml" in result.stdout  # the byte as an escape, the rest as it is
    missing = convgrad("forward", os.fsencode(tmp_path) + b"/gone\xff.yaml")
    one_error_line(missing, "does not exist")


def test_an_ascii_terminal_gets_ascii_that_keeps_the_columns():
    result = convgrad("trace", "--input", "a", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0 and result.stderr == b""
    text = result.stdout.decode("ascii")
    assert "dL/da = w1.d1" in text  # ∂L/∂a = w1·δ1, a character for a character
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert rows and len({len(line) for line in rows[:4]}) == 1


def test_an_unreadable_config_is_one_line(tmp_path, monkeypatch):
    """(Root reads every file, so the refusal is simulated where the system would give it.)"""
    locked = tmp_path / "locked.yaml"
    locked.write_text("stride: 1\n")
    real = Path.stat

    def stat(self, *args, **kwargs):
        if self.name == "locked.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    for command in (["forward", locked], ["check", locked]):
        result = runner.invoke(app, [str(a) for a in command])
        assert result.exit_code == 2 and "Permission denied" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


# -- numbers --------------------------------------------------------------------------------------


def test_values_that_overflow_are_refused_without_warnings():
    one_error_line(
        convgrad("forward", "--x", "[[1e39]]", "-k", "[[1.0]]", "--dtype", "float32"),
        "input holds 1e+39, past float32's largest (3.4e+38)",
    )
    one_error_line(
        convgrad("forward", "--x", "[[1.0e+308]]", "-k", "[[10.0]]"),
        "y could reach more than 1.8e+308",
        "past float64's largest",
    )
    one_error_line(convgrad("backward", "--x", "[[1.0e+200, 1]]", "-k", "[[1.0e+200]]"), "could reach")
    one_error_line(
        convgrad("forward", "--x", "[[1" + "0" * 400 + "]]", "-k", "[[1]]"), "too large for float64"
    )


def test_json_has_no_word_for_nan_so_it_is_a_string(tmp_path):
    """A gradient of 1e308 where 1 is right is reported in strict JSON; a number
    JSON has no word for would be written as a string."""
    (tmp_path / "huge.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BROKEN.parent)!r})\nfrom broken_impls import correct\n\n"
        "def backward(x, w, delta, **kw):\n    dx, dw, db = correct(x, w, delta, **kw)\n"
        "    dx = dx.copy()\n    dx.flat[0] = 1e308\n    return dx, dw, db\n"
    )
    result = convgrad(
        "check", ROOT / "configs/seed_stride1.yaml", "--impl", "huge.py:backward", "-f", "json", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    doc = json.loads(result.stdout, parse_constant=refuse)
    assert doc["failed"] == 1
    from convgrad_cli.render.json import json_text

    written = json_text({"a": float("nan"), "b": [np.float64("inf"), -np.inf], "c": np.float32(1.5)})
    assert json.loads(written, parse_constant=refuse) == {
        "a": "NaN",
        "b": ["Infinity", "-Infinity"],
        "c": 1.5,
    }
    one_error_line(convgrad("check", "--rtol", "nan"), "--rtol nan is not allowed")


# -- memory and time ------------------------------------------------------------------------------


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_the_memory_budget_counts_what_each_command_builds():
    small = {"CONVGRAD_MAX_GB": "0.25"}
    args = ["--x", "random:2x2", "-k", "ones:1x1", "--padding", "6000", "--stride", "1200"]
    one_error_line(convgrad("backward", *args, env=small), "the slides' pipeline", "over the 256 MiB allowed")
    one_error_line(convgrad("check", *args, env=small), "checking of", "over the 256 MiB allowed")
    # the numbers are small, but a picture of the 12002×12002 padded input is refused before it is built
    given = ["--x", "[[1, 2], [3, 4]]", *args[2:]]
    for fmt in ("plain", "json"):
        one_error_line(convgrad("forward", *given, "-f", fmt, env=small), "12002×12002 cells", "smaller")
    # with padding 600 and stride 600 the picture fits: y[i, j] = x_pad[600 i, 600 j]
    given = ["--x", "[[1, 2], [3, 4]]", "-k", "ones:1x1", "--padding", "600", "--stride", "600"]
    forward = convgrad("forward", *given, "-f", "json", env=small)
    assert forward.returncode == 0, forward.stderr
    y = json.loads(forward.stdout)["output"]
    # x[0, 0] sits at 600 = 600·1, x[0, 1] at 601 is between windows
    assert len(y) == 3 and y[1][1] == 1.0 and sum(map(sum, y)) == 1.0
    tiny = {"CONVGRAD_MAX_GB": "0.01"}
    one_error_line(convgrad("forward", "--x", "random:300x300", "-f", "json", env=tiny), "the JSON document")
    assert convgrad("forward", "--x", "random:300x300", "-f", "plain", env=tiny).returncode == 0


def test_a_stride_far_wider_than_the_kernel_costs_nothing():
    started = time.monotonic()
    for stride in ("3000", "100000", "2147483647"):
        result = convgrad(
            "forward", "--x", "[[1, 2], [3, 4]]", "-k", "[[5]]", "--stride", stride, "-f", "json", timeout=20
        )
        assert json.loads(result.stdout)["output"] == [[5.0]], result.stderr
    one_error_line(
        convgrad("forward", "--stride", "4611686018427387904"), "out of range; allowed: 0 to 2,147,483,647"
    )
    assert time.monotonic() - started < 20


# -- output discipline ----------------------------------------------------------------------------


def test_file_names_are_names_not_markup(tmp_path):
    config = tmp_path / "[red].yaml"
    config.write_text("stride: 1\n")
    result = convgrad("check", config, "-f", "rich")
    assert result.returncode == 0 and b"[red]" in result.stdout


def test_junit_xml_parses_whatever_the_names_hold_and_is_kept_without_force(tmp_path):
    weird = tmp_path / "a\x01b\x1b[31m\x0cc.yaml"
    weird.write_text("stride: 1\n")
    report = tmp_path / "report.xml"
    assert convgrad("check", weird, "--junit-xml", report).returncode == 0
    case = ET.parse(report).getroot().find(".//testcase")
    assert case is not None and "a" in case.get("name") and "c" in case.get("name")
    started = time.monotonic()
    one_error_line(convgrad("check", "--random", "40", "--junit-xml", report), "exists; pass --force")
    assert time.monotonic() - started < 10  # refused before any case runs


def test_a_users_xml_module_cannot_hijack_the_report(tmp_path):
    (tmp_path / "xml.py").write_text("raise SystemExit('hijacked')\n")
    (tmp_path / "impl.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BROKEN.parent)!r})\n"
        "from broken_impls import correct as backward\n"
    )
    result = convgrad(
        "check",
        ROOT / "configs/seed_stride1.yaml",
        "--impl",
        "impl.py:backward",
        "--junit-xml",
        "r.xml",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert ET.parse(tmp_path / "r.xml").getroot().get("failures") == "0"


def test_temporary_files_never_outlive_a_write(tmp_path, monkeypatch):
    target = tmp_path / "b.svg"
    stale = tmp_path / ".b.svg.convgrad-killed1"
    stale.write_text("left by a killed convgrad")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = tmp_path / ".b.svg.convgrad-running"
    fresh.write_text("another convgrad's write, under way")
    assert runner.invoke(app, ["backward", "--export", str(target)]).exit_code == 0
    assert not stale.exists() and fresh.exists() and target.read_text().startswith("<svg")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = runner.invoke(app, ["backward", "--export", str(tmp_path / "c.svg")])
    assert (
        result.exit_code == 2
        and "cannot write" in result.stderr
        and "No space left on device" in result.stderr
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.svg.convgrad-running", "b.svg"]


def test_sigterm_cleans_up_and_says_so(tmp_path):
    # SIGTERM is sent once the implementation is running, so the handler is surely installed and
    # the run surely unfinished, however fast or loaded the machine (a sleep before it raced both)
    entered = tmp_path / "entered"
    (tmp_path / "hangs.py").write_text(
        f"import os, time\n\ndef f(x, w, delta, **kw):\n"
        f"    open({str(entered)!r}, 'w').write(str(os.getpid()))\n    time.sleep(3600)\n"
    )
    with subprocess.Popen(
        [*COMMAND, "check", "--impl", "hangs.py:f", "--random", "40", "-f", "json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as p:
        deadline = time.monotonic() + 60
        while not (entered.exists() and entered.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        child = int(entered.read_text())
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert out == b"" and b"Traceback" not in err  # no half report
    deadline = time.monotonic() + 10
    while _state(child) != "Z" and time.monotonic() < deadline:
        time.sleep(0.1)
    ended = _state(child) == "Z"
    if not ended:
        os.kill(child, signal.SIGKILL)
    assert ended  # the implementation's process went with convgrad


# -- what an implementation says ------------------------------------------------------------------

SAYS = """\
import sys


class Loud(BaseException):
    pass


def surrogate(x, w, delta, **kw):
    raise ValueError("bad \\ud800 byte \\x1b[2J\\x00 \\u202e" + "x" * 5000)


def interrupt(x, w, delta, **kw):
    raise KeyboardInterrupt("stop")


def base(x, w, delta, **kw):
    raise Loud("\\udcff")


def prints(x, w, delta, **kw):
    print("\\x1b[2J cleared \\ud800")
    sys.stderr.write("\\x07 bell\\n")
    sys.stdout.buffer.write(b"\\xff bytes\\n")
    raise NotImplementedError("\\x1b[31mred")
"""


def _case_errors(tmp_path, function, *extra):
    (tmp_path / "says.py").write_text(SAYS)
    report = tmp_path / "r.xml"
    result = convgrad(
        "check",
        ROOT / "configs/seed_stride1.yaml",
        "--random",
        "2",
        "--impl",
        f"says.py:{function}",
        "-f",
        "json",
        "--junit-xml",
        report,
        *extra,
        cwd=tmp_path,
    )
    doc = json.loads(result.stdout)  # one valid document
    suite = ET.parse(report).getroot()  # a valid JUnit file
    return result, doc, suite


@pytest.mark.parametrize("function", ["surrogate", "interrupt", "base"])
def test_whatever_an_implementation_raises_is_one_safe_line_per_case(tmp_path, function):
    result, doc, suite = _case_errors(tmp_path, function)
    assert result.returncode == 1 and result.stderr == b"", result.stderr[-2000:]
    assert doc["errors"] == 3 and suite.get("errors") == "3"
    messages = [r["error"] for r in doc["results"]]
    expected = {
        "surrogate": "the implementation raised ValueError: bad \\ud800 byte \\x1b[2J\\x00 \\u202e"
        + "x" * 1970,
        "interrupt": "the implementation raised KeyboardInterrupt: stop (at says.py:",
        "base": "the implementation raised Loud: \\xff (at says.py:",
    }[function]
    for message in messages:
        assert message.startswith(expected) and "\n" not in message, message
    if function == "surrogate":
        assert '… (3,018 more characters) (at says.py:9: raise ValueError("bad ' in messages[0]
    for error in suite.iter("error"):
        assert error.get("message") == "error: " + messages[0]


def test_what_an_implementation_prints_reaches_stderr_escaped(tmp_path):
    result, doc, suite = _case_errors(tmp_path, "prints")
    calls = doc["skipped"]  # it refuses every case: nothing checked, which is no pass
    assert (
        result.returncode == 1 and calls >= 3 and suite.get("skipped") == str(calls) and doc["checked"] == 0
    )
    assert doc["results"][0]["error"] == "not implemented: \\x1b[31mred"
    err = result.stderr.decode("utf-8")  # strict: every byte UTF-8
    assert err.count("\\x1b[2J cleared \\ud800\n") == calls and err.count("\\x07 bell\n") == calls
    assert err.count("\\xff bytes\n") == calls  # bytes written to sys.stdout.buffer too
    assert "only 0 cases checked" in err
    assert "\x1b" not in err and "\x07" not in err


def test_a_name_that_is_not_utf8_with_control_characters_gives_valid_reports(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9\x1b[2J.yaml"
    with open(name, "wb") as f:
        f.write(b"stride: 2\n")
    report = tmp_path / "r.xml"
    result = convgrad("check", name, "-f", "json", "--junit-xml", report)
    assert result.returncode == 0 and result.stderr == b""
    result.stdout.decode("utf-8")
    assert json.loads(result.stdout)["results"][0]["name"].endswith("/caf\\xe9\\x1b[2J.yaml")
    case = ET.parse(report).getroot().find(".//testcase")
    assert case is not None and "caf\\xe9\\x1b[2J.yaml [" in case.get("name")
    shown = convgrad("forward", name, "-f", "plain", "--width", "1000").stdout
    assert b"caf\\xe9\\x1b[2J.yaml" in shown and b"\x1b" not in shown


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["check", "--help"]])
def test_help_into_a_full_disk_is_one_line(args):
    with open("/dev/full", "wb") as full:
        one_error_line(
            convgrad(*args, stdout=full), "cannot write to standard output: No space left on device"
        )


# -- a run that ends ------------------------------------------------------------------------------

HANGS = f"""\
import sys
import time

sys.path.insert(0, {str(BROKEN.parent)!r})
from broken_impls import correct


def forever(x, w, delta, **kw):
    time.sleep(3600)


def on_1d(x, w, delta, **kw):
    if x.ndim == 3:
        time.sleep(3600)
    return correct(x, w, delta, **kw)


def slowly(x, w, delta, **kw):
    time.sleep(0.5)
    return correct(x, w, delta, **kw)
"""


def _hanging(tmp_path, *args, timeout=90):
    (tmp_path / "hangs.py").write_text(HANGS)
    report = tmp_path / "r.xml"
    result = convgrad("check", *args, "-f", "json", "--junit-xml", report, cwd=tmp_path, timeout=timeout)
    return result, json.loads(result.stdout), ET.parse(report).getroot()


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_an_implementation_that_hangs_on_every_case_is_stopped_after_three(tmp_path):
    # the bound is the subprocess' timeout: 40 cases of 1 s and a restart each would not fit in it
    result, doc, suite = _hanging(
        tmp_path, "--random", "40", "--impl", "hangs.py:forever", "--timeout", "0.3", timeout=60
    )
    assert result.returncode == 1 and result.stderr == b""
    assert (doc["passed"], doc["errors"], doc["not_run"], doc["skipped"]) == (False, 3, 37, 0)
    why = "the implementation timed out 3 times in a row; convgrad stopped calling it"
    assert [r["status"] for r in doc["results"]] == ["error"] * 3 + ["not_run"] * 37
    assert {r["error"] for r in doc["results"][3:]} == {why}
    # the shortfall gives the stop as its reason, not the sweep's scope
    assert doc["shortfall"].endswith(f"; 37 not run ({why})"), doc["shortfall"]
    assert doc["classes_passed"] == [] and len(doc["classes_covered"]) < 27  # not run is not checked
    assert (suite.get("errors"), suite.get("skipped")) == ("3", "37")
    assert suite.findall(".//skipped")[0].get("message") == f"not run: {why}"
    plain = convgrad(
        "check",
        "--random",
        "5",
        "--impl",
        "hangs.py:forever",
        "--timeout",
        "0.3",
        "-f",
        "plain",
        "--width",
        "300",
        cwd=tmp_path,
        timeout=60,
    ).stdout.decode()
    assert f"0 of 5 cases pass, 3 error, 2 not run ({why})" in plain


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_an_answer_starts_the_count_again(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    for name, dims in [("a", 1), ("b", 1), ("c", 2), ("d", 1), ("e", 1), ("f", 2)]:
        x, k = ("[1, 1, 6]", "[1, 1, 2]") if dims == 1 else ("[1, 1, 4, 4]", "[1, 1, 2, 2]")
        (configs / f"{name}.yaml").write_text(
            f"dims: {dims}\ninput: {{shape: {x}, fill: random}}\nkernel: {{shape: {k}}}\n"
        )
    result, doc, _ = _hanging(tmp_path, configs, "--impl", "hangs.py:on_1d", "--timeout", "1")
    assert [r["status"] for r in doc["results"]] == ["error", "error", "passed", "error", "error", "passed"]
    assert result.returncode == 1 and doc["not_run"] == 0


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_the_whole_run_can_be_given_a_budget(tmp_path):
    result, doc, suite = _hanging(
        tmp_path, "--random", "30", "--impl", "hangs.py:slowly", "--timeout-total", "3", timeout=60
    )
    statuses = [r["status"] for r in doc["results"]]
    assert result.returncode == 1 and not doc["passed"] and doc["errors"] == 0
    done = statuses.index("not_run")
    assert set(statuses[:done]) <= {"passed"} and statuses[done:] == ["not_run"] * (30 - done)
    assert doc["results"][-1]["error"] == "the run's 3 s (--timeout-total) ran out"
    assert int(suite.get("skipped")) == 30 - done
    one_error_line(convgrad("check", "--timeout-total", "3"), "--timeout-total bounds the time of --impl")
    one_error_line(convgrad("check", "--timeout-total", "0"), "0 is not in the range x>=1")


# -- configs from a pipe --------------------------------------------------------------------------

SEED = (ROOT / "configs" / "seed_stride1.yaml").read_bytes()


def test_a_config_from_standard_input():
    checked = convgrad("check", "-", "-f", "json", stdin=None, input=SEED)
    doc = json.loads(checked.stdout)
    assert checked.returncode == 0 and doc["passed"] and doc["results"][0]["name"] == "<stdin>"
    piped = convgrad("forward", "-", "-f", "json", stdin=None, input=SEED)
    from_file = convgrad("forward", ROOT / "configs" / "seed_stride1.yaml", "-f", "json")
    assert (
        json.loads(piped.stdout)["output"]
        == json.loads(from_file.stdout)["output"]
        == [[44.0, 54.0, 64.0], [84.0, 94.0, 104.0], [124.0, 134.0, 144.0]]
    )
    one_error_line(convgrad("forward", "-"), "config file '-' (standard input) is empty")
    one_error_line(convgrad("check", "-", "-", stdin=None, input=SEED), "given more than once")
    one_error_line(convgrad("forward", "-", stdin=None, preexec_fn=lambda: os.close(0)), "which is closed")


def test_a_config_from_standard_input_that_is_a_terminal_is_refused():
    import pty

    parent, child = pty.openpty()
    try:
        one_error_line(convgrad("forward", "-", stdin=child), "a terminal here; pipe a config in")
    finally:
        os.close(parent)
        os.close(child)


def _substituted(*payloads: bytes) -> tuple[list[str], list[int]]:
    """``<(…)`` as bash makes it: a pipe's read end, named /dev/fd/N."""
    names, fds = [], []
    for payload in payloads:
        read, write = os.pipe()
        os.write(write, payload)
        os.close(write)
        names.append(f"/dev/fd/{read}")
        fds.append(read)
    return names, fds


def test_process_substitution_works_for_each_command():
    names, fds = _substituted(SEED, SEED.replace(b"stride: 1", b"stride: 2"))
    try:
        result = convgrad("check", *names, "-f", "json", pass_fds=fds)
        doc = json.loads(result.stdout)
        assert result.returncode == 0 and [r["geometry"][-2:] for r in doc["results"]] == ["s1", "s2"]
    finally:
        for fd in fds:
            os.close(fd)
    names, fds = _substituted(SEED)
    try:
        trace = convgrad("trace", names[0], "--input", "a", "-f", "json", pass_fds=fds)
        assert trace.returncode == 0, trace.stderr
        assert json.loads(trace.stdout)["cell"] == "a"
    finally:
        os.close(fds[0])


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_a_pipe_that_never_ends_is_one_line_after_a_bounded_wait(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # no writer ever
    fast = {"CONVGRAD_PIPE_SECONDS": "1"}
    one_error_line(convgrad("trace", fifo, "--input", "a", env=fast, timeout=20), "did not end within 1 s")
    # a writer that says part of a config and holds the pipe open
    with subprocess.Popen(["sh", "-c", "printf 'stride: 1\\n'; sleep 30"], stdout=subprocess.PIPE) as writer:
        result = convgrad("check", "-", env=fast, stdin=writer.stdout, timeout=20)
        writer.kill()
    one_error_line(result, "config '-' (standard input) did not end within 1 s", "CONVGRAD_PIPE_SECONDS")
    # a writer that never stops
    with subprocess.Popen(["yes", "stride: 1"], stdout=subprocess.PIPE) as writer:
        result = convgrad("forward", "-", stdin=writer.stdout, timeout=20)
        writer.kill()
    one_error_line(result, "is over 1 MiB")
    one_error_line(
        convgrad("forward", "-", env={"CONVGRAD_PIPE_SECONDS": "0"}, stdin=None, input=SEED),
        "CONVGRAD_PIPE_SECONDS '0' is not allowed",
    )


# -- folders, and what is checked before anything is printed --------------------------------------


def test_folders_for_the_reports_are_made_as_pytest_makes_them(tmp_path):
    (tmp_path / "wrong.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BROKEN.parent)!r})\n"
        "from broken_impls import kernel_not_flipped as backward\n"
    )
    result = convgrad(
        "check",
        ROOT / "configs/stride2.yaml",
        "--impl",
        "wrong.py:backward",
        "--save-failing",
        "failing/",
        "--junit-xml",
        "reports/ci/r.xml",
        "-f",
        "json",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    saved = json.loads(result.stdout)["results"][0]["saved"]
    assert saved == "failing/stride2-failing.yaml" and (tmp_path / saved).is_file()
    assert ET.parse(tmp_path / "reports/ci/r.xml").getroot().get("failures") == "1"
    empty = convgrad("check", ROOT / "configs/stride2.yaml", "--save-failing", tmp_path / "none/yet")
    assert empty.returncode == 0 and (tmp_path / "none/yet").is_dir()


def test_a_report_that_cannot_be_written_is_refused_before_any_case_runs(tmp_path):
    (tmp_path / "file").write_text("")
    for args, message in [
        (
            ["--save-failing", tmp_path / "file/x"],
            f"--save-failing '{tmp_path}/file/x': '{tmp_path}/file' is a file",
        ),
        (["--junit-xml", tmp_path / "file/r.xml"], "is a file, not a folder"),
        (["--junit-xml", tmp_path], "is a directory; give a file path"),
    ]:
        started = time.monotonic()
        result = convgrad("check", "--random", "40", *args)
        one_error_line(result, message)
        assert result.stdout == b"" and time.monotonic() - started < 10  # refused before the sweep


@pytest.mark.parametrize(
    "args, message",
    [
        (["--export", "no/such/x.svg"], "folder 'no/such' does not exist; make it first"),
        (["--export", "."], "the file must end in"),
        (["--export", "f.png"], "--export .png needs matplotlib: pip install 'convgrad[images]'"),
        (["--export", "f.pdf"], "--export .pdf needs matplotlib"),
    ],
)
def test_an_export_that_cannot_be_made_is_refused_before_anything_is_printed(
    tmp_path, monkeypatch, args, message
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as where it is not installed
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.svg").mkdir()
    for command in (["trace", "--input", "a"], ["backward"], ["check"]):
        result = runner.invoke(app, [*command, *map(str, args)])
        assert result.exit_code == 2 and result.stdout == "", (command, result.stdout[:200])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("convgrad: error: ") and message in lines[0], lines
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d.svg"]
    result = runner.invoke(app, ["forward", "--export", "d.svg"])
    assert result.exit_code == 2 and "'d.svg' is a directory; give a file path" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--directions", "1000000"], "--directions 1000000 is not allowed; give 1 to 100"),
        (["--directions", "0"], "--directions 0 is not allowed; give 1 to 100"),
        (["--random", "1000000000"], "--random 1000000000 is not allowed; give 0 to 10,000 cases"),
        (["--random", "9" * 30], "give 0 to 10,000 cases"),
        (
            ["--timeout", "inf", "--impl", "x.py:f"],
            "--timeout inf is not allowed; give 0.1 to 86,400 seconds",
        ),
        (["--timeout", "nan", "--impl", "x.py:f"], "--timeout nan is not allowed"),
        (["--timeout", "1e400", "--impl", "x.py:f"], "--timeout inf is not allowed"),
        (
            ["--timeout-total", "nan", "--impl", "x.py:f"],
            "--timeout-total nan is not allowed; give 1 to 86,400",
        ),
    ],
)
def test_numbers_that_would_never_finish_are_refused_at_once(args, message):
    started = time.monotonic()
    one_error_line(convgrad("check", *args, timeout=20), message)
    assert time.monotonic() - started < 15  # before any case is made


def test_what_an_implementation_starts_is_stopped_with_it(tmp_path):
    """A process the implementation starts would keep stderr open, and a reader of it
    (subprocess.run here, a CI step) would wait on it after convgrad ends."""
    (tmp_path / "spawns.py").write_text(
        "import subprocess, time\n\ndef f(x, w, delta, **kw):\n"
        "    subprocess.Popen(['sleep', '3600'])\n    time.sleep(3600)\n"
    )
    result = convgrad(
        "check",
        ROOT / "configs/seed_stride1.yaml",
        "--impl",
        "spawns.py:f",
        "--timeout",
        "0.3",
        cwd=tmp_path,
        timeout=30,
    )
    assert result.returncode == 1 and b"no result within 0.3 s" in result.stdout


def test_the_child_dies_with_convgrad_however_convgrad_dies(tmp_path):
    entered = tmp_path / "entered"
    (tmp_path / "hangs.py").write_text(
        f"import os, time\n\ndef f(x, w, delta, **kw):\n"
        f"    open({str(entered)!r}, 'w').write(str(os.getpid()))\n    time.sleep(3600)\n"
    )
    with subprocess.Popen(
        [*COMMAND, "check", "--impl", "hangs.py:f"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as p:
        deadline = time.monotonic() + 60
        while not (entered.exists() and entered.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        child = int(entered.read_text())  # in the implementation, asleep
        p.kill()  # as kill -9 or a CI job's timeout does: no handler of convgrad's runs
        p.wait(10)
    deadline = time.monotonic() + 10
    while _state(child) != "Z" and time.monotonic() < deadline:
        time.sleep(0.1)
    ended = _state(child) == "Z"
    if not ended:
        os.kill(child, signal.SIGKILL)  # leave nothing behind, even when the test fails
    assert ended


def _state(pid: int) -> str:
    """A process' state letter; ``Z`` once it has ended (a zombie, or gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_check_layer_stops_an_implementation_that_hangs_as_check_does(tmp_path):
    (tmp_path / "relu.py").write_text("import time\n\ndef f(x, delta, **kw):\n    time.sleep(3600)\n")
    result = convgrad(
        "check",
        "--layer",
        "relu",
        "--random",
        "6",
        "--impl",
        "relu.py:f",
        "--timeout",
        "0.3",
        "-f",
        "json",
        cwd=tmp_path,
        timeout=60,
    )
    doc = json.loads(result.stdout)
    assert result.returncode == 1 and result.stderr == b"" and not doc["passed"]
    assert [r["status"] for r in doc["results"]] == ["error"] * 3 + ["not_run"] * 4
    assert doc["not_run"] == 4 and doc["results"][-1]["error"].startswith(
        "the implementation timed out 3 times"
    )


def test_what_was_typed_is_shown_escaped_in_every_line(tmp_path):
    one_error_line(convgrad("forward", "--\x1b[2Jx"), "no such option: --\\x1b[2Jx")
    one_error_line(convgrad("fo\x1brward"), "no such command 'fo\\x1brward'")
    name = os.fsencode(tmp_path) + b"/\xff\x1b[31m x.yaml"
    wrote = convgrad("init", name)
    assert wrote.returncode == 0 and (b"\\xff\\x1b[31m x.yaml' --input a\n") in wrote.stderr
    assert b"\x1b" not in wrote.stderr and os.path.exists(name)


@pytest.mark.parametrize(
    "flags, said",
    [
        (["--groups", "0"], "--groups 0 is not allowed; give an int, at least 1"),
        (["--stride", "0.1"], "--stride 0.1 is not allowed"),
        (["--stride", "0"], "--stride 0 is not allowed"),
        (["--dilation", "0"], "--dilation 0 is not allowed"),
        (["--padding", "0.5"], "--padding 0.5 is not allowed"),
        (["--padding", "-1"], "--padding -1 is not allowed"),
    ],
)
def test_a_sweep_flag_no_case_takes_is_one_line_before_any_case(flags, said):
    """It was a ZeroDivisionError or TypeError traceback from inside the sweep."""
    result = convgrad("check", *flags, "--random", "10000", timeout=60)
    one_error_line(result, said)
    assert result.stdout == b""
