"""From a YAML file and flags to one validated :class:`Problem`.

YAML is read with ``safe_load`` only: nothing in a config is ever executed.
Flags are parsed with the same YAML grammar and validated by the same code,
so ``--stride 2`` and ``stride: 2`` can never disagree.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path
from typing import Any

from .core import stack
from .core.layers import KINDS, WEIGHTED
from .core.problem import DTYPES, FILLS, Fill, Problem, build
from .core.stack import Stack
from .core.text import printable
from .errors import ConfigError
from .plain_yaml import safe_yaml

KEYS = (
    "input",
    "kernel",
    "bias",
    "delta",
    "stride",
    "padding",
    "dilation",
    "groups",
    "dims",
    "seed",
    "dtype",
)

#: The seed's example: a … p and w1 … w4, valued 1 … 16 and 1 … 4 so that
#: every number can be checked by hand (a = 1, b = 2, …; w1 = 1, …).
DEFAULT: dict[str, Any] = {
    "input": {"shape": [4, 4], "fill": "arange"},
    "kernel": {"shape": [2, 2], "fill": "arange"},
    "stride": 1,
    "padding": 0,
    "dilation": 1,
    "groups": 1,
    "seed": 0,
    "dtype": "float64",
}


def template() -> str:
    """What ``convgrad init`` writes: every key, documented, the seed's example filled in."""
    return (Path(__file__).parent / "template.yaml").read_text(encoding="utf-8")


def max_bytes() -> int:
    """The largest problem accepted, in bytes of its arrays: 8 GiB, or ``CONVGRAD_MAX_GB``."""
    return int(_env_number("CONVGRAD_MAX_GB", "8", 2**20, "GiB") * 2**30)


def _env_number(name: str, default: str, most: float, unit: str) -> float:
    """The number in environment variable ``name``: above 0, at most ``most``."""
    text = os.environ.get(name, default)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= most):
        raise ConfigError(f"{name} {text!r} is not allowed; give a number of {unit} above 0")
    return number


# -- reading ---------------------------------------------------------------------


#: The largest config file read (YAML of a 300×300 array of numbers is ~1 MiB;
#: larger arrays are better given as a fill such as random:1x3x224x224).
MAX_CONFIG_BYTES = 1 << 20


def pipe_seconds() -> float:
    """How long a pipe may take to send its config whole: 30 s, or ``CONVGRAD_PIPE_SECONDS``."""
    return _env_number("CONVGRAD_PIPE_SECONDS", "30", 86400, "seconds")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A config file as a mapping; every way a file can be unusable is a ConfigError.

    ``-`` is standard input. A regular file is read, and so is a pipe (``cat cfg |``,
    ``<(generate)``), which must end within :func:`pipe_seconds`; a device is refused
    (/dev/urandom would never end). At most :data:`MAX_CONFIG_BYTES` are read."""
    p = Path(path)
    name = "'-' (standard input)" if str(path) == "-" else repr(str(p))
    data = _read_stdin(name) if str(path) == "-" else _read_file(p, name)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config file {name} is over {MAX_CONFIG_BYTES >> 20} MiB; give large arrays as a fill "
            "(e.g. input: {shape: [1, 3, 224, 224], fill: random})"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {name} is not UTF-8 text") from None
    loaded = safe_yaml(text, name)
    if loaded is None:
        raise ConfigError(
            f"config file {name} is empty; write at least one key (convgrad init writes them all), "
            "or leave the config out for the seed's example"
        )
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{name} holds a YAML {type(loaded).__name__}; a config is a mapping of keys ({', '.join(KEYS)})"
        )
    return loaded


def _read_file(p: Path, name: str) -> bytes:
    import stat

    try:
        info = p.stat()
    except FileNotFoundError:
        raise ConfigError(f"config file {name} does not exist{_shipped_hint(p)}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {name}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{name} is a directory; give a YAML config file")
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        try:  # not blocking: a FIFO no one writes to would hold open() forever
            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {name}: {exc.strerror or exc}") from None
        try:
            return _read_pipe(fd, name)
        finally:
            os.close(fd)
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"{name} is a device, not a file; give a YAML config file, a pipe, or - for standard input"
        )
    try:
        with open(p, "rb") as f:
            return f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {name}: {exc.strerror or exc}") from None


def _read_stdin(name: str) -> bytes:
    import sys

    if sys.stdin is None:
        raise ConfigError(
            "config '-' is standard input, which is closed; pipe a config in: cat cfg.yaml | convgrad …"
        )
    if sys.stdin.isatty():
        raise ConfigError(
            "config '-' is standard input, a terminal here; pipe a config in: cat cfg.yaml | convgrad …"
        )
    return _read_pipe(0, name)


#: What each pipe sent, by its name: a pipe can be read only once, and a command may read its config twice.
_SENT: dict[str, bytes] = {}


def _read_pipe(fd: int, name: str) -> bytes:
    """What ``fd`` sends until it ends, within :func:`pipe_seconds`, at most one byte past the cap."""
    if name not in _SENT:
        _SENT[name] = _drain(fd, name)
    return _SENT[name]


def _drain(fd: int, name: str) -> bytes:
    import select
    import time

    seconds = pipe_seconds()
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while size <= MAX_CONFIG_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ConfigError(
                f"config {name} did not end within {seconds:g} s; close the pipe once the config is written "
                "(or set CONVGRAD_PIPE_SECONDS)"
            )
        if not poller.poll(max(1, int(left * 1000))):
            continue
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot read config {name}: {exc.strerror or exc}") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_flag(name: str, text: str) -> Any:
    """A flag's text as a config value: YAML (``2``, ``[2, 1]``, ``same``,
    ``{shape: [4, 4], fill: names}``), ``2,1`` for a list of ints, or
    ``FILL:SHAPE`` such as ``random:1x3x8x8`` for an array."""
    flag = f"--{'x' if name == 'input' else name}"
    text = text.strip()
    if not text:
        raise ConfigError(f"{flag} is empty; give a value, or leave the flag out for its default")
    if re.fullmatch(r"-?\d+(\s*,\s*-?\d+)+", text):
        return [int(v) for v in text.split(",")]
    fill = re.fullmatch(r"([a-z]+)(?::(\d+(?:x\d+)*))?", text)
    if fill and fill.group(1) in FILLS and name in ("input", "kernel", "bias", "delta"):
        spec: dict[str, Any] = {"fill": fill.group(1)}
        if fill.group(2):
            spec["shape"] = [int(v) for v in fill.group(2).split("x")]
        return spec
    value = safe_yaml(text, f"{flag} value {text[:40]!r}")
    if value is None:
        raise ConfigError(f"{flag} {text!r} is null; give a value, or leave the flag out for its default")
    return value


def check_keys(raw: dict[str, Any], source: str) -> None:
    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown key {key!r} in {source}{hint} Allowed: {', '.join(KEYS)}")


# -- building --------------------------------------------------------------------


def build_problem(raw: dict[str, Any], source: str = "<default>") -> Problem:
    """Validate a config mapping (defaults filled in) into a :class:`Problem`."""
    check_keys(raw, source)
    for key, value in raw.items():
        if value is None:
            raise ConfigError(
                f"{key} is null in {source}; give a value, or leave the key out for its default"
            )
    cfg = {**DEFAULT, **raw}
    dtype = cfg["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
    return build(
        operand(cfg["input"], "input"),
        operand(cfg["kernel"], "kernel"),
        bias=operand(cfg["bias"], "bias") if "bias" in cfg else None,
        delta=operand(cfg.get("delta", {"fill": "ones"}), "delta"),
        stride=cfg["stride"],
        padding=cfg["padding"],
        dilation=cfg["dilation"],
        groups=cfg["groups"],
        dims=cfg.get("dims"),
        dtype=dtype,
        seed=cfg["seed"],
        source=source,
        max_bytes=max_bytes(),
    )


#: The keys of a config that gives a stack of layers instead of one kernel.
STACK_KEYS = ("input", "layers", "loss", "seed", "dtype")


def is_stack(raw: dict[str, Any]) -> bool:
    return "layers" in raw


def build_stack(raw: dict[str, Any], source: str = "<default>") -> Stack:
    """Validate a config with ``layers:`` into a :class:`~convgrad_cli.core.stack.Stack`."""
    for key in raw:
        if key not in STACK_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in a stack config ({source}); allowed: {', '.join(STACK_KEYS)}"
            )
    if "input" not in raw:
        raise ConfigError(
            f"a stack config needs an input, e.g. input: {{shape: [1, 1, 8, 8], fill: random}} ({source})"
        )
    specs = raw["layers"]
    if not isinstance(specs, list):
        raise ConfigError("layers must be a list, e.g. [{conv: {kernel: …}}, relu, {maxpool: {kernel: 2}}]")
    dtype = raw.get("dtype", "float64")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
    return stack.build(
        _numeric(raw["input"], "input"),
        [_layer_spec(i, item) for i, item in enumerate(specs)],
        _loss(raw.get("loss", "sum")),
        dtype=dtype,
        seed=raw.get("seed", 0),
        source=source,
        max_bytes=max_bytes(),
    )


def _layer_spec(i: int, item: Any) -> stack.LayerSpec:
    """``relu``, ``{relu: {}}`` or ``{maxpool: {kernel: 2}}``: a kind and its parameters."""
    if isinstance(item, str):
        item = {item: {}}
    if not (isinstance(item, dict) and len(item) == 1):
        raise ConfigError(
            f"layer {i + 1} is {item!r}; give one kind and its parameters, e.g. maxpool: {{kernel: 2}}"
        )
    ((kind, params),) = item.items()
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"layer {i + 1} has unknown kind {kind!r}{hint}; allowed: {', '.join(KINDS)}")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ConfigError(
            f"layer {i + 1} ({kind}) has parameters {params!r}; give a mapping, e.g. {{stride: 2}}"
        )
    if kind in WEIGHTED and "kernel" in params:
        params = {**params, "kernel": _numeric(params["kernel"], "kernel")}
    if kind in WEIGHTED and "bias" in params:
        params = {**params, "bias": _numeric(params["bias"], "bias")}
    return stack.LayerSpec(str(kind), params)


def _numeric(spec: Any, name: str) -> Any:
    """An operand of a stack: a ``{shape}`` without a fill is random, as a stack computes with numbers."""
    if isinstance(spec, dict) and "fill" not in spec:
        spec = {**spec, "fill": "random"}
    return operand(spec, name)


def _loss(spec: Any) -> tuple[str, Any]:
    """``sum``, ``{delta: …}`` or ``{mse: {target: …}}``."""
    if spec == "sum":
        return ("sum", None)
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, value),) = spec.items()
        if kind == "delta":
            return ("delta", _numeric(value, "loss delta"))
        if kind == "mse" and isinstance(value, dict) and set(value) == {"target"}:
            return ("mse", _numeric(value["target"], "mse target"))
    raise ConfigError(f"loss {spec!r} is not allowed; allowed: sum, {{delta: …}}, {{mse: {{target: …}}}}")


def load_any(config: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Problem | Stack:
    """A config's stack if it gives ``layers:``, else its problem (flags on top)."""
    raw: dict[str, Any] = read_yaml(config) if config is not None else {}
    if is_stack(raw):
        given = sorted(k for k, v in (overrides or {}).items() if v is not None)
        if given:
            raise ConfigError(
                f"{', '.join(given)} cannot be given as flags with a stack config; edit its layers"
            )
        return build_stack(raw, source_name(config))
    return _problem(raw, config, overrides)  # read once: a pipe cannot be read again


def load(config: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Problem:
    """The problem of a config file (or the seed's default) with flags on top."""
    return _problem(read_yaml(config) if config is not None else {}, config, overrides)


def _problem(raw: dict[str, Any], config: str | Path | None, overrides: dict[str, Any] | None) -> Problem:
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return build_problem(raw, source_name(config))


def source_name(config: str | Path | None) -> str:
    """A config's name as shown: its path as text, ``<stdin>`` for ``-``."""
    if config is None:
        return "no config"
    return "<stdin>" if str(config) == "-" else printable(str(config))


def dump(problem: Problem, note: str, again: str | None = None) -> str:
    """A problem as a config that reproduces it: every array written out, in full rank;
    ``again`` the flags that check it again (``--impl my.py:backward``)."""
    import yaml

    g = problem.geom
    arrays = {"input": problem.x, "kernel": problem.w, "bias": problem.bias, "delta": problem.delta}
    doc: dict[str, Any] = {k: v.tolist() for k, v in arrays.items() if v is not None}
    doc.update(
        stride=list(g.stride),
        padding=[list(p) for p in g.padding],
        dilation=list(g.dilation),
        groups=g.groups,
        dims=g.ndim,
        dtype="float64",
    )
    command = f"# convgrad check THIS.yaml{' ' + again if again else ''}\n"
    return f"# {note}: {g.describe()}\n{command}" + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=None
    )


def dump_layer(case: Any, note: str, again: str | None = None) -> str:
    """A case of ``check --layer`` as a stack config of that one layer, every array written out;
    ``again`` the flags that check it again (``--impl my.py:backward``)."""
    import numpy as np
    import yaml

    x, w, delta = case.operands()
    params = {k: v for k, v in case.params.items() if v is not None}
    if w is not None:
        params["kernel"] = np.asarray(w).tolist()
    doc = {
        "input": np.asarray(x).tolist(),
        "layers": [{case.kind: params}],
        "loss": {"delta": np.asarray(delta).tolist()},
        "dtype": "float64",
    }
    command = f"# convgrad check THIS.yaml --layer {case.kind}{' ' + again if again else ''}\n"
    return f"# {note}: {case.describe()}\n{command}" + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=None
    )


def config_paths(targets: list[str]) -> list[Path]:
    """Files, directories (their *.yaml / *.yml) and globs, in a stable order."""
    import glob

    paths: list[Path] = []
    if targets.count("-") > 1:
        raise ConfigError("'-' (standard input) is given more than once; it can be read only once")
    for target in targets:
        p = Path(target)
        if target == "-":
            paths.append(p)
            continue
        try:
            is_dir, exists = p.is_dir(), p.exists()
        except OSError as exc:  # a name too long, a folder that cannot be entered
            raise ConfigError(f"cannot read {target!r}: {exc.strerror or exc}") from None
        if is_dir:
            try:
                found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            except OSError as exc:
                raise ConfigError(f"cannot read directory {target!r}: {exc.strerror or exc}") from None
            if not found:
                raise ConfigError(f"directory {target!r} holds no *.yaml config")
            paths += found
        elif exists:
            paths.append(p)
        elif any(ch in target for ch in "*?["):
            found = sorted(Path(m) for m in glob.glob(target, recursive=True))
            if not found:
                raise ConfigError(f"no file matches {target!r}")
            paths += found
        else:
            raise ConfigError(f"config file {target!r} does not exist{_shipped_hint(p)}")
    return paths


def _shipped_hint(p: Path) -> str:
    """The README's ``configs/…`` examples live in convgrad's source tree, not beside the user."""
    if p.parts[:1] == ("configs",):
        return "; the README's configs/ are in convgrad's source folder: run from there, or give a path"
    return ""


# -- values --------------------------------------------------------------------------


#: A number written without a dot before its exponent (1e-3), which YAML 1.1 reads as text.
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _numbers(value: Any) -> Any:
    """Nested lists with ``'1e-3'`` read as the number it is."""
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        return float(value)
    return value


def operand(spec: Any, name: str) -> Any:
    """A config's array: ``{shape, fill}`` becomes a :class:`Fill`; numbers pass as
    they are (``1e-3`` too, which YAML 1.1 reads as text)."""
    if not isinstance(spec, dict):
        return _numbers(spec)
    unknown = set(spec) - {"shape", "fill"}
    if unknown:
        raise ConfigError(f"{name} has unknown field(s) {sorted(map(str, unknown))}; allowed: shape, fill")
    fill = spec.get("fill", "names")
    if fill not in FILLS:
        close = difflib.get_close_matches(str(fill), FILLS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{name} fill {fill!r} is not allowed{hint}; allowed: {', '.join(FILLS)}")
    shape = spec.get("shape")
    if shape is None:
        return Fill(fill)
    if not (isinstance(shape, list) and shape and all(_positive(v) for v in shape)):
        raise ConfigError(f"{name} shape {shape!r} is not allowed; give a list of positive ints, e.g. [4, 4]")
    return Fill(fill, tuple(shape))


def _positive(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1
