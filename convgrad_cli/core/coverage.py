"""How many windows cover each input cell, and why a cell no window covers is left out.

Coverage is per axis: a cell is covered when every one of its coordinates is
reached by some tap of some window, ``q = p·s + k·d − padding``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .geometry import Geometry


def axis_names(ndim: int) -> tuple[str, ...]:
    return {1: ("position",), 2: ("row", "column"), 3: ("depth", "row", "column")}[ndim]


def taps_per_axis(geom: Geometry, axis: int) -> np.ndarray:
    """For each position of the input on ``axis``, how many (window, tap) pairs reach it."""
    size, k, s, d = geom.in_size[axis], geom.kernel_size[axis], geom.stride[axis], geom.dilation[axis]
    before, out = geom.padding[axis][0], geom.out_size[axis]
    counts = np.zeros(size, dtype=int)
    for p in range(out):
        for t in range(k):
            q = p * s + t * d - before
            if 0 <= q < size:
                counts[q] += 1
    return counts


def window_counts(geom: Geometry) -> np.ndarray:
    """How many windows each input cell (spatial) belongs to — its number of gradient
    terms per output channel of its group: the outer product of the axes' counts."""
    counts = np.ones((), dtype=int)
    for axis in range(geom.ndim):
        counts = np.multiply.outer(counts, taps_per_axis(geom, axis))
    return counts


def why_uncovered(geom: Geometry, q: Sequence[int]) -> str:
    """One clause saying why no window reaches spatial position ``q`` (which it must not).

    >>> why_uncovered(Geometry.build((5, 5), (2, 2), stride=2), (4, 0))
    'no window reaches row 4: the last one ends at row 3, since 5 − 2 = 3 is not a multiple of stride 2'
    """
    names = axis_names(geom.ndim)
    for axis, position in enumerate(q):
        if taps_per_axis(geom, axis)[position]:
            continue
        s, d, k = geom.stride[axis], geom.dilation[axis], geom.kernel_size[axis]
        before, after = geom.padding[axis]
        extent = geom.kernel_extent[axis]
        last = (geom.out_size[axis] - 1) * s + extent - 1 - before
        name = names[axis]
        if position > last:
            span = geom.in_size[axis] + before + after
            padded = f"{geom.in_size[axis]} + {before + after}" if before + after else f"{geom.in_size[axis]}"
            return (
                f"no window reaches {name} {position}: the last one ends at {name} {last}, since "
                f"{padded} − {extent} = {span - extent} is not a multiple of stride {s}"
            )
        if d > 1 and k > 1:
            return (
                f"no window reaches {name} {position}: windows start every {s} and their taps are {d} apart, "
                "and none lands on it"
            )
        return f"no window reaches {name} {position}: stride {s} is larger than the kernel's extent {extent}"
    raise ValueError(f"position {tuple(q)} is covered")


def checkerboard(geom: Geometry) -> list[str]:
    """One sentence per axis whose cells are covered unevenly away from the borders
    (the pattern transposed convolutions turn into checkerboard artefacts), or whose
    last rows no window reaches."""
    names = axis_names(geom.ndim)
    out = []
    for axis in range(geom.ndim):
        counts = taps_per_axis(geom, axis)
        k, s, d = geom.kernel_size[axis], geom.stride[axis], geom.dilation[axis]
        e = geom.kernel_extent[axis]
        inner = sorted(set(counts[e - 1 : len(counts) - e + 1].tolist()) - {0})
        if len(inner) > 1:
            why = (
                f"kernel {k} is not divisible by stride {s}"
                if d == 1
                else f"taps {d} apart do not tile stride {s}"
            )
            values = " and ".join(map(str, inner)) if len(inner) == 2 else ", ".join(map(str, inner))
            out.append(f"{names[axis]}s: {why}: cells alternate between {values} windows")
        u = geom.uncovered_input[axis]  # padding no window reaches changes no gradient
        if u:
            before, after = geom.padding[axis]
            span = geom.in_size[axis] + before + after - e
            out.append(
                f"{names[axis]}s: the last {u} {names[axis]}{'s are' if u > 1 else ' is'} never covered: "
                f"{span} is not a multiple of stride {s} (their gradient is 0)"
            )
    return out
