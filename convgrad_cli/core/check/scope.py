"""What an implementation supports: declared up front, or learned from what it refuses.

Real implementations handle part of what the sweep draws — 2-D only, groups 1,
one symmetric padding, square kernels. A :class:`Scope` is a set of ranks and
the *features* ruled out; :meth:`Scope.confine` maps any case of the sweep to
the nearest case inside it, keeping every class it still can. A
:class:`Learner` watches the cases an implementation refuses
(NotImplementedError) and accepts, and when a refused case has more than one
feature not yet seen accepted, probes each alone to find which it refuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from convgrad_cli.core.geometry import Geometry
from convgrad_cli.errors import ConfigError

from .sweep import Spec, constrain

Pairs = tuple[tuple[int, int], ...]

#: Each feature an implementation may not support: its id, what it is, and the words for its absence.
FEATURES: dict[str, tuple[str, str, Callable[[Geometry], bool]]] = {
    "grouped": ("groups > 1", "groups 1", lambda g: g.groups > 1),
    "dilated": ("a dilation > 1", "no dilation", lambda g: max(g.dilation) > 1),
    "strided": ("a stride > 1", "stride 1", lambda g: max(g.stride) > 1),
    "strides_per_axis": ("strides that differ per axis", "one stride for every axis",
                         lambda g: len(set(g.stride)) > 1),
    "padded": ("padding", "no padding", lambda g: any(any(p) for p in g.padding)),
    "padding_asymmetric": ("asymmetric padding", "symmetric padding", lambda g: any(b != a for b, a in g.padding)),
    "padding_per_axis": ("padding that differs per axis", "one padding for every axis",
                         lambda g: len(set(g.padding)) > 1),
    "kernel_not_square": ("kernels that are not square", "square kernels", lambda g: len(set(g.kernel_size)) > 1),
    "uncovered": ("a stride that does not divide the input (uncovered rows at the end)",
                  "strides that divide the input", lambda g: any(g.uncovered)),
}  # fmt: skip  # a table: one feature a row
#: A feature ruled out makes these words redundant: no padding says symmetric padding already.
IMPLIED = {"padded": ("padding_asymmetric", "padding_per_axis"), "strided": ("strides_per_axis", "uncovered")}
RANKS = (1, 2, 3)


def features(geom: Geometry) -> frozenset[str]:
    """The features a geometry has, and its rank (``"2d"``)."""
    return frozenset({f"{geom.ndim}d", *(fid for fid, (_, _, of) in FEATURES.items() if of(geom))})


def rank_word(rank: int) -> str:
    return f"{rank}-D"


@dataclass(frozen=True)
class Scope:
    """The ranks an implementation handles and the features it does not."""

    dims: tuple[int, ...] = RANKS
    refused: frozenset[str] = frozenset()

    def without(self, *ids: str) -> Scope:
        """This scope with ``ids`` ruled out too (a rank id such as ``"3d"``, or a feature)."""
        ranks = {int(i[0]) for i in ids if i in ("1d", "2d", "3d")}
        rest = frozenset(i for i in ids if i in FEATURES)
        return Scope(tuple(r for r in self.dims if r not in ranks), self.refused | rest)

    def __and__(self, other: Scope) -> Scope:
        return Scope(tuple(r for r in self.dims if r in other.dims), self.refused | other.refused)

    @property
    def everything(self) -> bool:
        return self.dims == RANKS and not self.refused

    def describe(self) -> str:
        """In words: ``2-D, groups 1, no dilation, symmetric padding, square kernels``."""
        if not self.dims:
            return "no rank"
        implied = {i for fid in self.refused for i in IMPLIED.get(fid, ())}
        words = [rank_word(r) for r in self.dims]
        ranks = (
            "any rank"
            if self.dims == RANKS
            else ", ".join(words[:-1]) + " and " * (len(words) > 1) + words[-1]
        )
        return ", ".join(
            [ranks, *(FEATURES[f][1] for f in FEATURES if f in self.refused and f not in implied)]
        )

    def refused_words(self) -> list[str]:
        """The ranks and features ruled out, in words (``1-D``, ``groups > 1``)."""
        return [rank_word(r) for r in RANKS if r not in self.dims] + [
            FEATURES[f][0] for f in FEATURES if f in self.refused
        ]

    def allows(self, geom: Geometry) -> bool:
        return geom.ndim in self.dims and not (features(geom) & self.refused)

    def confine(self, spec: Spec) -> Spec | None:
        """The case nearest ``spec`` inside this scope (its sizes grown to fit), or
        ``None`` when its rank is ruled out."""
        nd = len(spec.size)
        if nd not in self.dims:
            return None
        out = spec
        off = self.refused
        if "grouped" in off and spec.groups > 1:
            out = dataclasses.replace(
                out,
                groups=1,
                in_channels=spec.in_channels // spec.groups,
                out_channels=spec.out_channels // spec.groups,
            )
        if "dilated" in off:
            out = dataclasses.replace(out, dilation=(1,) * nd)
        if "strided" in off:
            out = dataclasses.replace(out, stride=(1,) * nd)
        elif "strides_per_axis" in off:
            out = dataclasses.replace(out, stride=(max(out.stride),) * nd)
        if "kernel_not_square" in off:
            out = dataclasses.replace(out, kernel=(max(out.kernel),) * nd)
        fitted = constrain(dataclasses.replace(out, padding=self._pads(out)), {})
        if fitted is not None and "uncovered" in off:
            fitted = constrain(_covered(fitted), {})
        if fitted is None or not self.allows(fitted.problem(0).geom):
            return None
        return fitted

    def _pads(self, spec: Spec) -> object:
        off = self.refused
        if not off & {"padded", "padding_asymmetric", "padding_per_axis"}:
            return spec.padding
        nd = len(spec.size)
        pads: Pairs = _pairs(spec)
        if "padded" in off:
            return ((0, 0),) * nd
        if "padding_asymmetric" in off:
            pads = tuple((max(p), max(p)) for p in pads)
        if "padding_per_axis" in off:
            pads = (max(pads, key=sum),) * nd
        return pads


def _pairs(spec: Spec) -> Pairs:
    """The padding of ``spec`` as (before, after) per axis, ``'same'`` worked out."""
    if isinstance(spec.padding, str):
        return spec.problem(0).geom.padding
    return tuple(tuple(p) for p in spec.padding)  # type: ignore[return-value]


def _covered(spec: Spec) -> Spec:
    """``spec`` with sizes that leave no row uncovered: the stride divides the padded input."""
    geom = spec.problem(0).geom
    size = []
    for n, u, s, e, (b, a) in zip(spec.size, geom.uncovered, spec.stride, geom.kernel_extent, geom.padding):
        size.append(n - u if n - u + b + a >= e else n + s - u)
    return dataclasses.replace(spec, size=tuple(size))


# -- declaring a scope in words ---------------------------------------------------------------------

#: The words a declared scope may use, and what each rules out.
WORDS: dict[str, tuple[str, ...]] = {
    **{FEATURES[f][1]: (f, *IMPLIED.get(f, ())) for f in FEATURES},
    "symmetric padding": ("padding_asymmetric",),
    "square kernel": ("kernel_not_square",),
    "same stride": ("strides_per_axis",),
}


def parse(text: str, where: str) -> Scope:
    """A scope from words, as :meth:`Scope.describe` writes them:
    ``"2-D, groups 1, no dilation, symmetric padding, square kernels"``."""
    ranks: list[int] = []
    refused: set[str] = set()
    for part in (p.strip().lower() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        pieces = [p.strip() for p in part.split(" and ")]
        if all(p in ("1-d", "2-d", "3-d") for p in pieces):
            ranks += [int(p[0]) for p in pieces]
        elif part in WORDS:
            refused.update(WORDS[part])
        else:
            allowed = ", ".join(["1-D", "2-D", "3-D", *WORDS])
            raise ConfigError(f"{where}: {part!r} is not a scope; use words among: {allowed}")
    return Scope(tuple(sorted(set(ranks))) or RANKS, frozenset(refused))


@dataclass
class Learner:
    """A scope learned from answers: what was seen accepted, and what was found refused."""

    scope: Scope = field(default_factory=Scope)
    accepted: set[str] = field(default_factory=set)
    found: list[str] = field(default_factory=list)  # ids learned refused, in order

    def accept(self, geom: Geometry) -> None:
        self.accepted |= features(geom)

    def suspects(self, geom: Geometry) -> list[str]:
        """The ranks and features of a refused case not yet seen accepted, the rank first."""
        return sorted(features(geom) - self.accepted, key=lambda f: (f[0].isdigit() is False, f))

    def refuse(self, fid: str) -> None:
        self.scope = self.scope.without(fid)
        self.found.append(fid)

    def learn(self, spec: Spec, geom: Geometry, probe: Callable[[Spec], bool | None]) -> bool:
        """After ``spec`` was refused: find which of its suspects the implementation refuses,
        probing each alone (``probe`` runs a case: True accepted, False refused, None not run).
        Whether anything was learned."""
        suspects = self.suspects(geom)
        if len(suspects) == 1:
            self.refuse(suspects[0])
            return True
        learned = False
        for fid in suspects:
            others = (s for s in suspects if s != fid and not s[0].isdigit())  # the rank stays
            alone = self.scope.without(*others).confine(spec)
            if alone is None or fid not in features(alone.problem(0).geom):
                continue
            answer = probe(alone)
            if answer is None:
                return learned
            if answer:
                self.accepted |= features(alone.problem(0).geom)
                continue
            self.refuse(fid)
            learned = True
            if fid[0].isdigit():  # a refused rank: nothing else can be told apart on it
                return True
        return learned


def describe_refusals(found: Iterable[str]) -> list[str]:
    return [rank_word(int(f[0])) if f[0].isdigit() else FEATURES[f][0] for f in found]
