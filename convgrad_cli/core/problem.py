"""A convolution problem — operands and geometry — validated on one path.

The Python API (arrays) and the config layer (YAML and flags) both build
problems with :func:`build`, so a mistake reads the same wherever it was made.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from convgrad_cli.errors import ArrayError, ConfigError, GeometryError, TooLargeError

from . import budget, terms
from .axes import is_int
from .geometry import Geometry, Ranks

FILLS = ("names", "letters", "arange", "ones", "zeros", "random", "randint")
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Fill:
    """An operand given by how to fill it rather than by its numbers.

    ``names`` (``letters`` is the same) gives symbols only, no numbers;
    ``arange`` 1, 2, 3 … row-major (so a = 1, w1 = 1); ``ones``, ``zeros``;
    ``random`` standard normal; ``randint`` integers −3 … 3, all seeded.
    ``shape`` ``None`` takes the shape the problem implies (δ: the output's).
    """

    kind: str
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Problem:
    """A validated convolution problem. Arrays are full rank ``(N, C, *spatial)``;
    an operand filled with names is symbolic and has no values (``None``)."""

    geom: Geometry
    ranks: Ranks
    x: np.ndarray | None
    w: np.ndarray | None
    bias: np.ndarray | None
    delta: np.ndarray | None
    dtype: str
    seed: int
    source: str
    max_bytes: int | None = None  # the memory budget a command checks before it builds (core.budget)

    def require(self, what: str, **counts: Any) -> None:
        """Refuse ``what`` before it is built if it needs more than the budget
        (``counts``: as :func:`~convgrad_cli.core.budget.need` takes them)."""
        from . import budget

        nbytes = budget.need(self.geom, np.dtype(self.dtype).itemsize, **counts)
        budget.require(self.geom, nbytes, self.max_bytes, what)

    @property
    def numeric(self) -> bool:
        """Whether every operand of the backward pass has numbers."""
        return self.x is not None and self.w is not None and self.delta is not None


def build(
    input: Any,
    kernel: Any,
    *,
    bias: Any = None,
    delta: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
    dims: Any = None,
    dtype: str | None = None,
    seed: Any = 0,
    source: str = "<api>",
    max_bytes: int | None = None,
) -> Problem:
    """Validate operands (arrays, nested lists or :class:`Fill`) and geometry into
    a :class:`Problem`; every mistake is a :class:`~convgrad_cli.errors.ConvgradError`.

    ``dtype`` ``None`` keeps each array's floating dtype (other numbers become
    float64); ``max_bytes`` refuses problems whose arrays would take more.

    >>> p = build(Fill("arange", (4, 4)), Fill("arange", (2, 2)), stride=2)
    >>> p.geom.out_size, p.x[0, 0, 0, 1]
    ((2, 2), np.float64(2.0))
    """
    seed, groups = _settings(dtype, seed, groups)
    rng = _LazyRng(seed)
    limit = budget.Limit(max_bytes, dtype)
    x_shape, x = _operand(input, "input", dtype, rng, limit)
    w_shape, w = _operand(kernel, "kernel", dtype, rng, limit)
    ranks, geom = _geometry(x_shape, w_shape, dims, groups, stride, dilation, padding)
    limit.check_problem(geom)
    b = None if bias is None else _bias(bias, geom, dtype, rng, limit)
    d = None
    if delta is not None:
        d = _delta(delta, geom, ranks.output_shape(geom.output_shape), dtype, rng, limit)
    named = {"input": x, "kernel": w, **({"delta": d} if delta is not None else {})}
    _refuse_too_many_names(geom, [name for name, v in named.items() if v is None])
    budget.check_products(geom, x, w, b, d, dtype or _dtype_of(x, w))
    return Problem(
        geom=geom,
        ranks=ranks,
        x=None if x is None else x.reshape(geom.input_shape),
        w=None if w is None else w.reshape(geom.kernel_shape),
        bias=b,
        delta=None if d is None else d.reshape(geom.output_shape),
        dtype=dtype or _dtype_of(x, w),
        seed=seed,
        source=source,
        max_bytes=max_bytes,
    )


def _settings(dtype: str | None, seed: Any, groups: Any) -> tuple[int, int]:
    """The dtype checked, and the seed and groups as ints."""
    if dtype is not None and dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
    seed = _int(seed, "seed")
    if seed < 0:
        raise ConfigError(f"seed {seed} is not allowed; give an integer ≥ 0")
    groups = _int(groups, "groups")
    if groups < 1:
        raise GeometryError(f"groups is {groups}; it must be at least 1")
    return seed, groups


def _geometry(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    dims: Any,
    groups: int,
    stride: Any,
    dilation: Any,
    padding: Any,
) -> tuple[Ranks, Geometry]:
    """The ranks the operands were given in, and the geometry of their full shapes."""
    dims = infer_dims(len(x_shape), len(w_shape)) if dims is None else _int(dims, "dims")
    if dims not in (1, 2, 3):
        raise ConfigError(f"dims {dims} is not allowed; allowed: 1, 2 or 3")
    ranks = Ranks.infer(x_shape, w_shape, dims)
    x_full, w_full = ranks.full_shape(x_shape), ranks.full_shape(w_shape)
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
        stride=_geometry_arg(stride, "stride"),
        dilation=_geometry_arg(dilation, "dilation"),
        padding=_geometry_arg(padding, "padding"),
    )
    return ranks, geom


def _bias(bias: Any, geom: Geometry, dtype: str | None, rng: _LazyRng, limit: budget.Limit) -> np.ndarray:
    b_shape, b = _operand(bias, "bias", dtype, rng, limit, default_shape=(geom.out_channels,))
    if b is None:
        raise ConfigError("bias cannot be filled with names; give numbers or a numeric fill")
    if b_shape != (geom.out_channels,):
        raise ArrayError(
            f"bias has shape {b_shape}; it must be ({geom.out_channels},), one per output channel"
        )
    return b


def _delta(
    delta: Any,
    geom: Geometry,
    out_shape: tuple[int, ...],
    dtype: str | None,
    rng: _LazyRng,
    limit: budget.Limit,
) -> np.ndarray | None:
    """δ in the output's shape as the operands were given (``out_shape``) or in full; None for names."""
    d_shape, d = _operand(delta, "delta", dtype, rng, limit, default_shape=out_shape)
    if d_shape not in (out_shape, geom.output_shape):
        raise ArrayError(f"delta has shape {d_shape}; it must match the output, {out_shape}")
    return d


def _refuse_too_many_names(geom: Geometry, symbolic: list[str]) -> None:
    """Operands filled with names are written out term by term: refuse more than a reader can use."""
    if symbolic and terms.term_count(geom) > terms.MAX_TERMS:
        raise TooLargeError(
            f"{' and '.join(symbolic)} filled with names make {terms.term_count(geom)} products, over the "
            f"{terms.MAX_TERMS} convgrad writes out as names; give numbers (e.g. fill: random) at this size"
        )


def _dtype_of(*arrays: np.ndarray | None) -> str:
    given = [a for a in arrays if a is not None]
    return str(np.result_type(*given)) if given else "float64"


def infer_dims(input_rank: int, kernel_rank: int) -> int:
    """2-D, unless the input or kernel has 1 axis (1-D) or 5 axes (3-D)."""
    if 1 in (input_rank, kernel_rank):
        return 1
    if 5 in (input_rank, kernel_rank):
        return 3
    return 2


# -- operands --------------------------------------------------------------------------


def _operand(
    spec: Any,
    name: str,
    dtype: str | None,
    rng: _LazyRng,
    limit: budget.Limit,
    default_shape: tuple[int, ...] | None = None,
) -> tuple[tuple[int, ...], np.ndarray | None]:
    """An operand as ``(shape, values)``; values are ``None`` for names."""
    if isinstance(spec, Fill):
        if spec.kind not in FILLS:
            raise ConfigError(f"{name} fill {spec.kind!r} is not allowed; allowed: {', '.join(FILLS)}")
        shape = spec.shape if spec.shape is not None else default_shape
        if shape is None:
            raise ArrayError(f"{name} needs a shape, e.g. {{shape: [4, 4], fill: {spec.kind}}}")
        limit.check_array(name, shape)
        return shape, _fill(spec.kind, shape, np.dtype(dtype or "float64"), rng)
    values = _numbers(spec, name, dtype)
    return values.shape, values


def _numbers(spec: Any, name: str, dtype: str | None) -> np.ndarray:
    """Numbers from an array (anything with ``__array__``) or nested lists, as floats."""
    if not (isinstance(spec, np.ndarray) or hasattr(spec, "__array__")):
        if isinstance(spec, (bool, str)) or not isinstance(spec, (list, tuple, numbers.Real)):
            raise ArrayError(
                f"{name} must be nested lists of numbers or a mapping such as "
                f"{{shape: [4, 4], fill: names}}; got {type(spec).__name__}"
            )
        _check_numbers(spec, name)
        try:
            spec = np.array(spec, dtype=np.float64)  # float64 first: what float32 cannot hold is caught below
        except ValueError:
            raise ArrayError(
                f"{name} is ragged: every row must have the same length (nested lists of equal size)"
            ) from None
        except OverflowError:
            raise ArrayError(
                f"{name} holds an integer too large for float64; entries must be finite"
            ) from None
    values = np.asarray(spec)
    if values.dtype.kind not in "biuf":
        raise ArrayError(f"{name} has dtype {values.dtype}; it must hold real numbers")
    if values.ndim == 0:
        raise ArrayError(f"{name} is a single number; give nested lists, e.g. [[1, 2], [3, 4]]")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ArrayError(f"{name} holds a non-finite value (nan or inf); every entry must be finite")
    target = np.dtype(dtype) if dtype is not None else values.dtype
    if target.kind != "f" or target.itemsize < 4:
        target = np.dtype(np.float64)
    if target.itemsize < values.dtype.itemsize or values.dtype.kind != "f":  # a narrowing cast
        largest, limit = float(np.max(np.abs(values), initial=0)), float(np.finfo(target).max)
        if largest > limit:
            raise ArrayError(
                f"{name} holds {largest:.3g}, past {target}'s largest ({limit:.3g}); "
                "scale the values down or use float64"
            )
    return values.astype(target, copy=False)


def _check_numbers(spec: Any, name: str) -> None:
    """Every entry of nested lists is a number (``True`` is not one)."""
    stack = [spec]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise ArrayError(f"{name} holds {v!r}, which is not a number; entries must be numbers")


class _LazyRng:
    """The seeded generator of the random fills, made on first use: numpy.random
    is start-up time that a config without random fills never needs."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng: np.random.Generator | None = None

    def __getattr__(self, name: str) -> Any:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return getattr(self._rng, name)


def _fill(kind: str, shape: tuple[int, ...], dtype: np.dtype, rng: _LazyRng) -> np.ndarray | None:
    if kind in ("names", "letters"):  # symbols only (letters is the same, by its other name)
        return None
    if kind == "arange":  # 1-based, so that a = 1, b = 2 … and w1 = 1, w2 = 2 …
        return np.arange(1, prod(shape) + 1, dtype=dtype).reshape(shape)
    if kind == "ones":
        return np.ones(shape, dtype=dtype)
    if kind == "zeros":
        return np.zeros(shape, dtype=dtype)
    if kind == "random":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-3, 4, size=shape).astype(dtype)  # randint


# -- scalars ---------------------------------------------------------------------------


def _int(value: Any, name: str) -> int:
    if not is_int(value):
        raise ConfigError(f"{name} {value!r} is not allowed; give an integer")
    return int(value)


def _geometry_arg(value: Any, name: str) -> Any:
    """Stride/dilation/padding as Geometry.build takes them; lists become tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in value)
    if is_int(value) or isinstance(value, str):
        return value
    raise GeometryError(f"{name} {value!r} is not allowed; give an int or a list of ints")


def values(
    spec: Any,
    name: str,
    dtype: str | None,
    rng: Any,
    limit: budget.Limit,
    default_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """An operand's numbers, on the same path as a problem's (a stack's input and kernels);
    a fill of names is refused, as a stack computes with numbers."""
    _, array = _operand(spec, name, dtype, rng, limit, default_shape)
    if array is None:
        raise ConfigError(f"{name} cannot be filled with names in a stack; give numbers or a numeric fill")
    return array


def rng(seed: int) -> Any:
    """The seeded generator of random fills, made on first use."""
    return _LazyRng(seed)
