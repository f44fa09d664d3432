"""Failing cases that fail alike, said once: a sweep that fails 17 cases the same way shows the
first in full and a line naming the other 16 (``--details all`` shows each; JSON has every one).

Cases fail alike when the same mistake is named first for each failing quantity (or none is,
on the same quantities), or — errors — when the same mistake is named, or the same message is
given but for its numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from convgrad_cli.core.check.run import CaseResult, Status
from convgrad_cli.core.options import option

from .blocks import Block, Sentence, Together


def every() -> str:
    """How to see every failing case in full, said wherever some are left out."""
    return f"{option('details')} shows each, {option('json')} has every case"


def alike(r: Any) -> Hashable:
    """What a failing case (of a convolution, or of a layer of another kind) has in common with
    the cases that fail as it does."""
    named = _named(r)
    if r.status is Status.error and named == [None]:
        return ("error", re.sub(r"\d+", "#", r.error))  # the same message but for its numbers
    return (r.status.value, tuple(named))


def _named(r: Any) -> list[str | None]:
    """The mistake named first for each failing quantity (``None`` where none is); an error's one."""
    if not isinstance(r, CaseResult):  # a layer of another kind's: ∂L/∂x alone
        return [r.diagnosis[0].mistake if r.diagnosis else None]
    named = {q: ds[0].mistake for q, ds in r.diagnosis.items() if ds}
    if r.status is Status.error:
        return [next(iter(named.values()), None)]
    return [named.get(q) for q in r.failing]


def failures(
    results: Sequence[Any], saved: Mapping[str, str], every: bool, draw: Callable[[Any, str | None], Together]
) -> list[Block]:
    """Each failing case ``draw``-n in full (``every``), or the first of each that fail alike with a
    line that names the rest."""
    broken = [r for r in results if r.status.broken]
    if every:
        return [draw(r, saved.get(r.name)) for r in broken]
    groups: dict[Hashable, list[Any]] = {}
    for r in broken:
        groups.setdefault(alike(r), []).append(r)
    out: list[Block] = []
    for cases in groups.values():
        first, rest = cases[0], cases[1:]
        drawn = draw(first, saved.get(first.name))
        out.append(Together((*drawn.blocks, Sentence.of(more(first, rest, saved)))) if rest else drawn)
    return out


def more(first: Any, rest: Sequence[Any], saved: Mapping[str, str]) -> str:
    """``  16 more failing cases look like delta_not_dilated too: random-1, …; --details all …``"""
    n = len(rest)
    named = _named(first)
    if all(named):
        how = f"look{'s' * (n == 1)} like {' and '.join(dict.fromkeys(str(m) for m in named))} too"
    elif first.status is Status.error:
        how = f"raise{'s' * (n == 1)} the same error"
    else:
        how = f"fail{'s' * (n == 1)} the same way"
    text = f"  {n} more failing case{'s' * (n != 1)} {how}: {', '.join(r.name for r in rest)}"
    folders = {str(Path(saved[r.name]).parent) for r in rest if r.name in saved}
    if folders:
        text += f" (each saved in {', '.join(sorted(folders))})"
    return f"{text}; {every()}"
