"""From a YAML file and flags to one validated :class:`Problem`.

YAML is read with ``safe_load`` only: nothing in a config is ever executed.
Flags are parsed with the same YAML grammar and validated by the same code,
so ``--stride 2`` and ``stride: 2`` can never disagree.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from . import trace
from .api import Ranks
from .errors import ArrayError, ConfigError, GeometryError, TooLargeError
from .geometry import Geometry

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
FILLS = ("names", "letters", "arange", "ones", "zeros", "random", "randint")
DTYPES = {"float64": np.float64, "float32": np.float32}

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

#: What `convgrad init` writes: every key, documented, with the seed's example filled in.
TEMPLATE = """\
# convgrad config. Every key is optional; a key left out takes the value shown.
# Flags override the file: convgrad backward this.yaml --stride 2

# The input x. Nested lists of numbers, or {shape: [...], fill: ...} with fill one of
#   names (symbols only; also called letters), arange (1, 2, 3 … row-major), ones, zeros,
#   random (standard normal), randint (integers -3…3).
# Shape (H, W), (C, H, W) or (N, C, H, W); 1-D and 3-D take one axis less or more.
# Cells are lettered a, b, c … row-major when there is one channel and at most 26 cells.
input:
  - [1, 2, 3, 4]      # a b c d
  - [5, 6, 7, 8]      # e f g h
  - [9, 10, 11, 12]   # i j k l
  - [13, 14, 15, 16]  # m n o p

# The kernel W: (kh, kw) for one filter, or (O, C/groups, kh, kw). Taps are w1, w2 … row-major.
kernel:
  - [1, 2]  # w1 w2
  - [3, 4]  # w3 w4

# One bias per output channel, e.g. [0.5]; none when left out.
# bias: [0]

# The upstream gradient δ = ∂L/∂y, in the output's shape; ones when left out.
# The expressions always use the names δ1, δ2 …; `delta: {fill: names}` drops the numbers.
# delta: {fill: ones}

# An int, or one per axis: [2, 1].
stride: 1

# An int; one per axis [1, 2]; [[top, bottom], [left, right]];
# same (stride 1 only; an odd total puts the extra zero at the bottom/right); or valid.
padding: 0

# Spacing between the kernel's taps: an int, or one per axis.
dilation: 1

# Channel groups; must divide the input and the output channels.
groups: 1

# Spatial axes: 1, 2 or 3. Left out: 2, unless the input or kernel has 1 axis (1-D) or 5 (3-D).
# dims: 2

# Seed of the random fills.
seed: 0

# float64 or float32.
dtype: float64
"""

#: Largest problem accepted, in bytes of its arrays; ``CONVGRAD_MAX_GB`` overrides it.
MAX_BYTES = int(float(os.environ.get("CONVGRAD_MAX_GB", "8")) * 2**30)


@dataclass(frozen=True)
class Problem:
    """A validated convolution problem. Arrays are full rank ``(N, C, *spatial)``;
    an operand filled with ``names`` is symbolic and has no values (``None``)."""

    geom: Geometry
    ranks: Ranks
    x: np.ndarray | None
    w: np.ndarray | None
    bias: np.ndarray | None
    delta: np.ndarray | None
    dtype: str
    seed: int
    source: str

    @property
    def numeric(self) -> bool:
        """Whether every operand of the backward pass has numbers."""
        return self.x is not None and self.w is not None and self.delta is not None


# -- reading ---------------------------------------------------------------------


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A config file as a mapping; every way a file can be unusable is a ConfigError."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{str(p)!r} is a directory; give a YAML config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {str(p)!r}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{str(p)!r} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{str(p)!r} holds a YAML {type(data).__name__}; a config is a mapping of keys "
            f"({', '.join(KEYS)})"
        )
    return data


def parse_flag(name: str, text: str) -> Any:
    """A flag's text as a config value: YAML (``2``, ``[2, 1]``, ``same``,
    ``{shape: [4, 4], fill: names}``), ``2,1`` for a list of ints, or
    ``FILL:SHAPE`` such as ``random:1x3x8x8`` for an array."""
    import yaml

    text = text.strip()
    if re.fullmatch(r"-?\d+(\s*,\s*-?\d+)+", text):
        return [int(v) for v in text.split(",")]
    fill = re.fullmatch(r"([a-z]+)(?::(\d+(?:x\d+)*))?", text)
    if fill and fill.group(1) in FILLS and name in ("input", "kernel", "bias", "delta"):
        spec: dict[str, Any] = {"fill": fill.group(1)}
        if fill.group(2):
            spec["shape"] = [int(v) for v in fill.group(2).split("x")]
        return spec
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(
            f"{name} value {text!r} is not valid YAML, a list such as 2,1, or FILL:SHAPE"
        ) from None


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
    cfg = {**DEFAULT, **{k: v for k, v in raw.items() if v is not None}}
    dtype = cfg["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
    seed = _int(cfg["seed"], "seed")
    if seed < 0:
        raise ConfigError(f"seed {seed} is not allowed; give an integer ≥ 0")
    groups = _int(cfg["groups"], "groups")
    rng = _LazyRng(seed)
    np_dtype = DTYPES[dtype]

    x_shape, x_values = _array(cfg["input"], "input", np_dtype, rng)
    w_shape, w_values = _array(cfg["kernel"], "kernel", np_dtype, rng)
    dims = _int(cfg["dims"], "dims") if "dims" in cfg else infer_dims(len(x_shape), len(w_shape))
    if dims not in (1, 2, 3):
        raise ConfigError(f"dims {dims} is not allowed; allowed: 1, 2 or 3")
    ranks = Ranks.infer(x_shape, w_shape, dims)
    x_full = ranks.full_shape(x_shape)
    w_full = ranks.full_shape(w_shape)
    if w_full[1] * groups != x_full[1]:
        raise ArrayError(
            f"the kernel {w_shape} takes {w_full[1]} channel(s) per group × groups {groups} = "
            f"{w_full[1] * groups}, but the input {x_shape} has {x_full[1]}; "
            "kernel axis 1 must be input channels / groups"
        )
    geom = Geometry.build(
        x_full[2:],
        w_full[2:],
        batch=x_full[0],
        in_channels=x_full[1],
        out_channels=w_full[0],
        groups=groups,
        stride=_geometry_value(cfg["stride"], "stride"),
        dilation=_geometry_value(cfg["dilation"], "dilation"),
        padding=_geometry_value(cfg["padding"], "padding"),
    )
    _check_size(geom, np.dtype(np_dtype).itemsize)

    bias = None
    if "bias" in cfg:
        b_shape, bias = _array(cfg["bias"], "bias", np_dtype, rng, default_shape=(geom.out_channels,))
        if bias is None:
            raise ConfigError("bias cannot be filled with names; give numbers or a numeric fill")
        if b_shape != (geom.out_channels,):
            raise ArrayError(
                f"bias has shape {b_shape}; it must be ({geom.out_channels},), one per output channel"
            )

    out_shape = ranks.output_shape(geom.output_shape)
    delta_spec = cfg.get("delta", {"fill": "ones"})
    d_shape, delta = _array(delta_spec, "delta", np_dtype, rng, default_shape=out_shape)
    if d_shape not in (out_shape, geom.output_shape):
        raise ArrayError(f"delta has shape {d_shape}; it must match the output, {out_shape}")

    symbolic = [
        name for name, v in (("input", x_values), ("kernel", w_values), ("delta", delta)) if v is None
    ]
    if symbolic and trace.term_count(geom) > trace.MAX_TERMS:
        raise TooLargeError(
            f"{' and '.join(symbolic)} filled with names make {trace.term_count(geom)} products, over the "
            f"{trace.MAX_TERMS} convgrad writes out as names; give numbers (e.g. fill: random) at this size"
        )

    def full(a: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
        return None if a is None else a.reshape(shape)

    return Problem(
        geom=geom,
        ranks=ranks,
        x=full(x_values, geom.input_shape),
        w=full(w_values, geom.kernel_shape),
        bias=bias,
        delta=full(delta, geom.output_shape),
        dtype=dtype,
        seed=seed,
        source=source,
    )


def load(config: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Problem:
    """The problem of a config file (or the seed's default) with flags on top."""
    raw: dict[str, Any] = read_yaml(config) if config is not None else {}
    source = str(config) if config is not None else "<default>"
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return build_problem(raw, source)


# -- values --------------------------------------------------------------------------


def infer_dims(input_rank: int, kernel_rank: int) -> int:
    """2-D, unless the input or kernel has 1 axis (1-D) or 5 axes (3-D)."""
    if 1 in (input_rank, kernel_rank):
        return 1
    if 5 in (input_rank, kernel_rank):
        return 3
    return 2


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} {value!r} is not allowed; give an integer")
    return value


def _geometry_value(value: Any, name: str) -> Any:
    """Stride/dilation/padding as Geometry.build takes them; lists become tuples."""
    if isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise GeometryError(f"{name} {value!r} is not allowed; give an int or a list of ints")


def _shape(value: Any, name: str) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
        raise ArrayError(f"{name} shape {value!r} is not allowed; give a list of positive ints, e.g. [4, 4]")
    return tuple(value)


def _array(
    spec: Any,
    name: str,
    dtype: type,
    rng: Any,
    default_shape: tuple[int, ...] | None = None,
) -> tuple[tuple[int, ...], np.ndarray | None]:
    """An array spec as ``(shape, values)``; values are ``None`` for ``names``."""
    if isinstance(spec, dict):
        unknown = set(spec) - {"shape", "fill"}
        if unknown:
            raise ConfigError(f"{name} has unknown field(s) {sorted(unknown)}; allowed: shape, fill")
        fill = spec.get("fill", "names")
        if fill not in FILLS:
            close = difflib.get_close_matches(str(fill), FILLS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{name} fill {fill!r} is not allowed{hint}; allowed: {', '.join(FILLS)}")
        if "shape" in spec:
            shape = _shape(spec["shape"], name)
        elif default_shape is not None:
            shape = default_shape
        else:
            raise ArrayError(f"{name} needs a shape, e.g. {{shape: [4, 4], fill: {fill}}}")
        if prod(shape) * np.dtype(dtype).itemsize > MAX_BYTES:
            raise TooLargeError(
                _too_large(f"{name} of shape {shape}", prod(shape) * np.dtype(dtype).itemsize)
            )
        return shape, _fill(fill, shape, dtype, rng)
    if isinstance(spec, (list, int, float)) and not isinstance(spec, bool):
        _check_numbers(spec, name)
        try:
            values: np.ndarray = np.array(spec, dtype=dtype)
        except ValueError:
            raise ArrayError(
                f"{name} is ragged: every row must have the same length (nested lists of equal size)"
            ) from None
        if values.ndim == 0:
            raise ArrayError(f"{name} is a single number; give nested lists, e.g. [[1, 2], [3, 4]]")
        if not np.isfinite(values).all():
            raise ArrayError(f"{name} holds a non-finite value (nan or inf); every entry must be finite")
        return values.shape, values
    raise ArrayError(
        f"{name} must be nested lists of numbers or a mapping such as "
        f"{{shape: [4, 4], fill: names}}; got {type(spec).__name__}"
    )


class _LazyRng:
    """The seeded generator of the random fills, made on first use: numpy.random
    costs ~10 ms of start-up that a config without random fills never needs."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng: np.random.Generator | None = None

    def __getattr__(self, name: str) -> Any:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return getattr(self._rng, name)


def _check_numbers(spec: Any, name: str) -> None:
    stack = [spec]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ArrayError(f"{name} holds {v!r}, which is not a number; entries must be numbers")


def _fill(fill: str, shape: tuple[int, ...], dtype: type, rng: Any) -> np.ndarray | None:
    if fill in ("names", "letters"):  # symbols only (letters is the same, by its other name)
        return None
    if fill == "arange":  # 1-based, so that a = 1, b = 2 … and w1 = 1, w2 = 2 …
        return np.arange(1, prod(shape) + 1, dtype=dtype).reshape(shape)
    if fill == "ones":
        return np.ones(shape, dtype=dtype)
    if fill == "zeros":
        return np.zeros(shape, dtype=dtype)
    if fill == "random":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-3, 4, size=shape).astype(dtype)  # randint


def _check_size(geom: Geometry, itemsize: int) -> None:
    # input, its gradient, output, δ, and the backward's dilated/padded δ
    elements = (
        2 * prod(geom.input_shape)
        + 2 * prod(geom.output_shape)
        + prod((geom.batch, geom.out_channels, *geom.padded_delta_size))
    )
    if elements * itemsize > MAX_BYTES:
        raise TooLargeError(_too_large(f"the problem {geom.describe()}", elements * itemsize))


def _too_large(what: str, nbytes: int) -> str:
    return (
        f"{what} needs about {nbytes / 2**30:.1f} GiB, over the {MAX_BYTES / 2**30:.1f} GiB "
        "allowed; use a smaller shape or set CONVGRAD_MAX_GB"
    )
