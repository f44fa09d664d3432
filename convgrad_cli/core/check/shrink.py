"""The smallest failing case: a failing problem made smaller — batch, channels,
sizes, kernel, stride, dilation, padding — for as long as it still fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.problem import Problem

from .sweep import Spec, constrain

#: Calls of the implementation that shrinking may make, at most.
BUDGET = 60


def _smaller(spec: Spec) -> Iterator[Spec]:
    """Every one-step smaller variant of ``spec``, the boldest first."""
    nd = len(spec.size)
    if spec.batch > 1:
        yield dataclasses.replace(spec, batch=1)
    per_in, per_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    if spec.groups > 1:
        yield dataclasses.replace(spec, groups=1, in_channels=per_in, out_channels=per_out)
        for groups in _fewer(spec.groups):
            yield dataclasses.replace(
                spec, groups=groups, in_channels=groups * per_in, out_channels=groups * per_out
            )
    for fewer in _fewer(per_in):
        yield dataclasses.replace(spec, in_channels=spec.groups * fewer)
    for fewer in _fewer(per_out):
        yield dataclasses.replace(spec, out_channels=spec.groups * fewer)
    for axis in range(nd):
        for key in ("stride", "dilation", "kernel"):
            value: tuple[int, ...] = getattr(spec, key)
            if value[axis] > 1:
                changes: dict[str, Any] = {key: _set(value, axis, 1)}
                yield dataclasses.replace(spec, **changes)
                if value[axis] > 2:
                    changes = {key: _set(value, axis, value[axis] - 1)}
                    yield dataclasses.replace(spec, **changes)
        if not isinstance(spec.padding, str):
            before, after = spec.padding[axis]
            for pair in ((0, 0), (max(before - 1, 0), after), (before, max(after - 1, 0))):
                if pair != (before, after):
                    yield dataclasses.replace(spec, padding=_set(spec.padding, axis, pair))
        for smaller in _fewer(spec.size[axis]):
            yield dataclasses.replace(spec, size=_set(spec.size, axis, smaller))
    if isinstance(spec.padding, str):
        yield dataclasses.replace(spec, padding=((0, 0),) * nd)


def _fewer(n: int) -> list[int]:
    """Smaller counts to try for ``n``, the boldest first: 1, half, one less.

    >>> _fewer(64), _fewer(3), _fewer(1)
    ([1, 32, 63], [1, 2], [])
    """
    return [v for v in dict.fromkeys((1, n // 2, n - 1)) if 1 <= v < n]


def _set(values: tuple[Any, ...], axis: int, value: Any) -> tuple[Any, ...]:
    return (*values[:axis], value, *values[axis + 1 :])


def shrink(
    spec: Spec,
    fails: Callable[[Problem], bool],
    seed: int,
    dtype: str,
    within: Callable[[Geometry], bool] | None = None,
) -> Problem | None:
    """The smallest problem found, by greedy steps from ``spec``, on which ``fails``;
    ``None`` when no smaller one fails. Every step stays ``within`` the implementation's
    scope: a smaller case it never claimed to handle says nothing of its bug."""
    calls, found = 0, None
    improved = True
    while improved and calls < BUDGET:
        improved = False
        for candidate in _smaller(spec):
            valid = constrain(candidate, {})
            if valid is None or valid.size != candidate.size:
                continue  # a step that needs the input to grow is no smaller
            problem = valid.problem(seed, dtype, source="smallest failing case")
            if within is not None and not within(problem.geom):
                continue
            calls += 1
            if fails(problem):
                spec, found, improved = valid, problem, True
                break
            if calls >= BUDGET:
                break
    return found
