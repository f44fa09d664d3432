"""Problems that expose every classic bug: a sweep that covers each edge-case
class on every run, and says which classes each case covers.

The sweep starts with one hand-made case per class (the *anchors*), then draws
random ones; δ is always random and non-constant, so that a mistake that
reorders δ or the output channels shows. Problem flags constrain every case
(``--stride 2`` gives every case stride 2); a class they rule out is reported
as not covered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.problem import Fill, Problem, build
from convgrad_cli.errors import ConvgradError

Pads = tuple[tuple[int, int], ...]

#: Each class: its id, what it means, and whether a geometry is of it.
CLASSES: tuple[tuple[str, str, Callable[[Geometry], bool]], ...] = (
    ("1d", "1-D", lambda g: g.ndim == 1),
    ("2d", "2-D", lambda g: g.ndim == 2),
    ("3d", "3-D", lambda g: g.ndim == 3),
    ("strided", "a stride > 1", lambda g: max(g.stride) > 1),
    ("stride_4", "a stride of 4", lambda g: 4 in g.stride),
    ("strides_per_axis", "strides that differ per axis", lambda g: len(set(g.stride)) > 1),
    ("dilated", "a dilation > 1", lambda g: max(g.dilation) > 1),
    ("dilation_3", "a dilation of 3", lambda g: 3 in g.dilation),
    ("kernel_1", "a kernel 1 wide", lambda g: 1 in g.kernel_size),
    ("kernel_5", "a kernel 5 wide", lambda g: 5 in g.kernel_size),
    ("kernel_not_square", "a kernel that is not square", lambda g: len(set(g.kernel_size)) > 1),
    ("stride_over_extent", "a stride larger than the kernel's extent (cells with no gradient)",
     lambda g: any(s > e for s, e in zip(g.stride, g.kernel_extent))),
    ("uncovered", "uncovered rows at the end (output_padding)", lambda g: any(g.uncovered)),
    ("uncovered_one", "exactly one uncovered row", lambda g: 1 in g.uncovered),
    ("uncovered_many", "two or more uncovered rows", lambda g: any(u >= 2 for u in g.uncovered)),
    ("stride_and_dilation", "stride and dilation both > 1 on an axis",
     lambda g: any(s > 1 and d > 1 for s, d in zip(g.stride, g.dilation))),
    ("padded", "padding", lambda g: any(any(p) for p in g.padding)),
    ("padding_asymmetric", "asymmetric padding", lambda g: any(b != a for b, a in g.padding)),
    ("padding_same", "'same' padding", lambda g: set(g.stride) == {1} and g.out_size == g.in_size
     and any(any(p) for p in g.padding)),
    ("delta_padding_crops", "padding that makes δ's padding crop",
     lambda g: any(b < 0 or a < 0 for b, a in g.delta_padding)),
    ("channels_differ", "C ≠ O", lambda g: g.in_channels != g.out_channels),
    ("grouped", "groups > 1", lambda g: g.groups > 1),
    ("groups_partial", "1 < groups < C", lambda g: 1 < g.groups < g.in_channels),
    ("depthwise", "depthwise (groups = C = O)", lambda g: g.groups == g.in_channels == g.out_channels > 1),
    ("depthwise_multiplier", "depthwise with a channel multiplier",
     lambda g: g.groups == g.in_channels > 1 and g.out_channels > g.in_channels),
    ("depthwise_stride", "depthwise with a stride", lambda g: g.groups == g.in_channels > 1 and max(g.stride) > 1),
    ("batch", "batch > 1", lambda g: g.batch > 1),
)  # fmt: skip  # a table: one class a row
DESCRIBE = {cid: text for cid, text, _ in CLASSES}
#: The classes said in a backward's words, worded for a forward (which has no δ and no output_padding).
FORWARD_WORDS = {
    "stride_over_extent": "a stride larger than the kernel's extent (cells no window reads)",
    "uncovered": "uncovered rows at the end (no window reads them)",
    "delta_padding_crops": "padding wider than the kernel's reach (a window of padding alone)",
}


def describe(cid: str, forward: bool = False) -> str:
    """A class in words: a backward's, or (``forward``) a forward's."""
    return FORWARD_WORDS.get(cid, DESCRIBE[cid]) if forward else DESCRIBE[cid]


def classes(geom: Geometry) -> tuple[str, ...]:
    """The ids of the classes a geometry is of."""
    return tuple(cid for cid, _, of in CLASSES if of(geom))


@dataclass(frozen=True)
class Spec:
    """A case of the sweep, before its numbers are drawn."""

    batch: int
    in_channels: int
    out_channels: int
    groups: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Any  # pairs per axis, or "same"

    def problem(self, seed: int, dtype: str = "float64", source: str = "random") -> Problem:
        return build(
            Fill("random", (self.batch, self.in_channels, *self.size)),
            Fill("random", (self.out_channels, self.in_channels // self.groups, *self.kernel)),
            bias=Fill("random", (self.out_channels,)),
            delta=Fill("random"),
            stride=self.stride,
            dilation=self.dilation,
            padding=self.padding,
            groups=self.groups,
            dims=len(self.size),
            seed=seed,
            dtype=dtype,
            source=source,
        )


def spec_of(problem: Problem) -> Spec:
    g = problem.geom
    return Spec(
        g.batch,
        g.in_channels,
        g.out_channels,
        g.groups,
        g.in_size,
        g.kernel_size,
        g.stride,
        g.dilation,
        g.padding,
    )


def _anchors() -> list[Spec]:
    """One hand-made case for each class (several cover more than one)."""
    return [
        Spec(2, 3, 4, 1, (11,), (5,), (3,), (1,), ((2, 1),)),  # 1-D, kernel 5, C ≠ O, batch, asymmetric
        Spec(1, 2, 2, 1, (5, 6, 7), (2, 3, 1), (1, 2, 3), (2, 1, 1), ((0, 0),) * 3),  # 3-D, strides, gaps
        Spec(1, 2, 3, 1, (9, 10), (3, 2), (4, 2), (1, 3), ((1, 0), (0, 0))),  # stride 4, stride and dilation
        Spec(1, 1, 1, 1, (5, 5), (2, 2), (2, 2), (1, 1), ((0, 0),) * 2),  # one uncovered row
        Spec(1, 1, 2, 1, (8, 7), (2, 1), (4, 3), (1, 1), ((0, 0),) * 2),  # two uncovered rows, kernel 1
        Spec(1, 2, 2, 1, (9, 9), (3, 3), (1, 1), (3, 3), "same"),  # dilation 3, 'same'
        Spec(1, 1, 1, 1, (4, 4), (2, 2), (1, 1), (1, 1), ((2, 2),) * 2),  # δ's padding crops
        Spec(2, 4, 6, 2, (6, 6), (3, 3), (1, 1), (1, 1), ((1, 1),) * 2),  # groups
        Spec(1, 3, 3, 3, (6, 6), (3, 3), (1, 1), (1, 1), ((1, 1),) * 2),  # depthwise
        Spec(1, 2, 4, 2, (6, 5), (3, 2), (1, 1), (1, 1), ((0, 0),) * 2),  # depthwise with a multiplier
        Spec(2, 3, 3, 3, (7, 7), (3, 3), (2, 2), (1, 1), ((1, 1),) * 2),  # depthwise with a stride
        Spec(1, 1, 1, 1, (7, 8), (5, 3), (1, 2), (1, 1), ((0, 0),) * 2),  # kernel 5, not square
    ]


def _random(rng: np.random.Generator, dims: tuple[int, ...]) -> Spec:
    nd = int(rng.choice(dims))
    kind = str(rng.choice(["dense", "dense", "groups", "depthwise"]))
    groups = 1 if kind == "dense" else int(rng.integers(2, 4))
    per_in, per_out = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    if kind == "depthwise":
        per_in, per_out = 1, int(rng.choice([1, 1, 2]))
    top = 5 if nd < 3 else 3
    kernel = tuple(int(rng.integers(1, top + 1)) for _ in range(nd))
    dilation = tuple(int(rng.choice([1, 1, 2, 3])) for _ in range(nd))
    form = str(rng.choice(["none", "symmetric", "asymmetric", "same"]))
    stride = (1,) * nd if form == "same" else tuple(int(rng.choice([1, 1, 2, 3, 4])) for _ in range(nd))
    padding: Any
    if form == "same":
        padding = "same"
    elif form == "none":
        padding = ((0, 0),) * nd
    elif form == "symmetric":
        padding = tuple((p, p) for p in (int(rng.integers(0, 3)) for _ in range(nd)))
    else:
        padding = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(nd))
    extra = 4 if nd < 3 else 2
    size = tuple(d * (k - 1) + 1 + int(rng.integers(0, extra + 1)) for k, d in zip(kernel, dilation))
    return Spec(
        int(rng.integers(1, 3)),
        groups * per_in,
        groups * per_out,
        groups,
        size,
        kernel,
        stride,
        dilation,
        padding,
    )


def single(spec: Spec) -> Spec:
    """``spec`` with one sample, one channel and one filter (groups 1): a case ``--layout spatial``
    can pass as the spatial arrays alone."""
    return dataclasses.replace(spec, batch=1, in_channels=1, out_channels=1, groups=1)


def constrain(spec: Spec, fixed: Mapping[str, Any]) -> Spec | None:
    """``spec`` with the problem flags' values (``stride``, ``padding``, ``dilation``,
    ``groups``), its sizes grown to fit; ``None`` when it cannot take them."""
    nd = len(spec.size)
    changes: dict[str, Any] = {}
    for key in ("stride", "dilation"):
        if key in fixed:
            value = fixed[key]
            changes[key] = (value,) * nd if isinstance(value, int) else tuple(value)
    if "padding" in fixed:
        value = fixed["padding"]
        if isinstance(value, int):
            changes["padding"] = ((value, value),) * nd
        elif isinstance(value, str):
            changes["padding"] = value
        elif value and isinstance(value[0], (list, tuple)):
            changes["padding"] = tuple(tuple(p) for p in value)
        else:
            changes["padding"] = tuple((p, p) for p in value)
    if "groups" in fixed:
        groups = fixed["groups"]
        changes.update(
            groups=groups,
            in_channels=groups * max(1, spec.in_channels // spec.groups),
            out_channels=groups * max(1, spec.out_channels // spec.groups),
        )
    out = dataclasses.replace(spec, **changes)
    if isinstance(out.padding, str) and out.padding == "same" and any(s != 1 for s in out.stride):
        out = dataclasses.replace(out, padding=((0, 0),) * nd)
    try:
        if any(len(v) != nd for v in (out.stride, out.dilation)):
            return None
        pads = out.padding if not isinstance(out.padding, str) else ((0, 0),) * nd
        size = tuple(
            max(n, d * (k - 1) + 1 - b - a)
            for n, k, d, (b, a) in zip(out.size, out.kernel, out.dilation, pads)
        )
        out = dataclasses.replace(out, size=size)
        out.problem(0)
    except (ConvgradError, TypeError, ValueError):
        return None
    return out


def sweep(
    count: int, rng: np.random.Generator, dims: tuple[int, ...], fixed: Mapping[str, Any]
) -> list[Spec]:
    """``count`` cases: the anchors of ``dims`` first (as many as fit), then random ones."""
    chosen: list[Spec] = []
    for spec in _anchors():
        if len(spec.size) in dims and len(chosen) < count:
            constrained = constrain(spec, fixed)
            if constrained is not None:
                chosen.append(constrained)
    tries = 0
    while len(chosen) < count and tries < 100 * count:
        tries += 1
        constrained = constrain(_random(rng, dims), fixed)
        if constrained is not None:
            chosen.append(constrained)
    return chosen
