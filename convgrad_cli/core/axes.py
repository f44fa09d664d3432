"""Arguments given once or per spatial axis, as PyTorch takes them: an int
spread over the axes, one entry per axis, padding as ``(before, after)`` pairs
or ``'same'``/``'valid'``."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

from convgrad_cli.errors import GeometryError

T = TypeVar("T")

#: Zeros ``(before, after)`` on one axis.
Pair = tuple[int, int]

#: The largest size, stride, dilation, padding or count accepted: int32's, as frameworks index.
MAX_SIZE = 2**31 - 1


def short(value: Any) -> str:
    """An int as a message shows it: a 400-digit one as its first digits and its length."""
    text = str(value)
    return text if len(text) <= 20 else f"{text[:12]}… ({len(text.lstrip('-'))} digits)"


def is_int(value: Any) -> bool:
    """An integer, Python's or NumPy's (``np.int64(2)``, as PyTorch takes them), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def collapse(values: Iterable[T]) -> T | tuple[T, ...]:
    """One value when every axis has the same, as PyTorch takes it, else one per axis.

    >>> collapse((2, 2)), collapse([1, 2])
    (2, (1, 2))
    """
    each = tuple(values)
    return each[0] if len(set(each)) == 1 else each


def compact(values: Iterable[object], sep: str | None = ",") -> str:
    """Per-axis values as text: once when every axis agrees, else each axis's joined
    by ``sep``; ``sep=None`` writes them as a Python call takes them.

    >>> compact((2, 2)), compact((1, 2)), compact((3, 4), "×"), compact((1, 2), None)
    ('2', '1,2', '3×4', '(1, 2)')
    """
    each = tuple(values)
    if len(set(each)) == 1:
        return str(each[0])
    return "(" + ", ".join(map(str, each)) + ")" if sep is None else sep.join(map(str, each))


def per_axis(value: Any, n: int, name: str) -> tuple[int, ...]:
    """Spread an int over ``n`` axes, or check a sequence has ``n`` entries."""
    if is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        if len(value) == n:
            return tuple(int(v) for v in value)
        raise GeometryError(f"{name} {list(value)} has {len(value)} entries; allowed: one int or {n}")
    raise GeometryError(f"{name} {value!r} is not allowed; give one int or a list of {n} ints")


def per_axis_padding(value: Any, n: int) -> tuple[Pair, ...]:
    """Padding as ``((before, after), ...)`` from an int, ``n`` ints, or ``n`` pairs."""
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, (tuple, list)) for v in value):
        pairs = [per_axis(v, 2, "padding pair") for v in value]
        if len(pairs) != n:
            raise GeometryError(
                f"padding {value!r} has {len(pairs)} pairs; allowed: {n} [before, after] pairs"
            )
        return tuple((b, a) for b, a in pairs)
    try:
        return tuple((p, p) for p in per_axis(value, n, "padding"))
    except GeometryError:
        raise GeometryError(
            f"padding {value!r} is not allowed; give an int, {n} ints, {n} [before, after] "
            "pairs, 'same' or 'valid'"
        ) from None


def resolve_padding_mode(
    mode: str, kernel_size: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[Pair, ...]:
    """``'valid'`` is no padding; ``'same'`` keeps the size at stride 1, the odd
    zero going after (bottom/right), as PyTorch does."""
    if mode == "valid":
        return tuple((0, 0) for _ in kernel_size)
    if mode == "same":
        if any(s != 1 for s in stride):
            raise GeometryError(
                f"padding 'same' needs stride 1 but stride is {stride}; give the padding as numbers instead"
            )
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    raise GeometryError(f"padding {mode!r} is not allowed; give an int, a list, pairs, 'same' or 'valid'")
