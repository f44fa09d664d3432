"""Where every kernel tap reads: phase images, flat offsets, blocks of outputs.

The engine's one idea, for every geometry:

1. **Phases.** The padded input is cut into phase images per axis,
   ``phase_r[i] = x_pad[i·s + r]``. Kernel tap ``k`` then reads phase
   ``(k·d) mod s`` shifted by ``(k·d) div s``: every stride is a stride-1
   problem. Only the residues ``r`` some tap reads are cut — at most the
   kernel's size per axis, however large the stride — so a stride far wider
   than the kernel costs neither time nor memory. At stride 1 the padded input
   is its only phase, and without padding that is the input itself, used in place.
2. **Flat offsets.** In a flattened phase image a shift is a plain offset, so
   what one tap meets over a run of outputs is one contiguous slice. The
   slice runs as wide as the phase image: the few positions past each row's
   last output are junk, never copied into a result.
3. **Kernel rows as views.** im2col copies one slice per kernel column (and
   phase), a little longer than the block needs; each kernel row is then that
   copy seen a few image rows further on — three copies, not nine, for a 3×3
   kernel at stride 1.
4. **Blocks.** Outputs are taken a few whole samples at a time, or runs of
   rows, or of single outputs, so that whatever the layer, a block's buffers
   stay within a budget.

Arrays of phase images are ``(N, phases, C, flat)``; a block's columns are
``(…, n, width)``: per sample, the flat span of its outputs (junk included)
or, when the layout is ``compact``, its outputs alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from math import prod
from typing import Any

import numpy as np

#: Zeros ``(before, after)`` on one axis.
Pair = tuple[int, int]

#: ``(phase image, flat offset)`` of each tap, or of each copy im2col makes.
Places = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Conv:
    """How a kernel slides over its input, per spatial axis: ``stride``, ``padding``
    ``(before, after)`` and ``dilation``; and the ``groups`` its channels fall in.
    Every entry point of the engine takes one (the sizes come with the arrays)."""

    stride: tuple[int, ...]
    padding: tuple[Pair, ...]
    dilation: tuple[int, ...]
    groups: int = 1


@dataclass(frozen=True)
class Layout:
    """The phase images of a padded input and where each kernel tap reads them.

    ``taps[t] = (phase, offset)``: tap ``t`` (row-major over the kernel) meets
    flattened phase image ``phase`` at ``offset`` plus the output's own flat
    position ``Σ i_a · flat_strides[a]``. Phase images exist for the residues
    ``residues[a]`` of each axis that some tap reads, row-major over them.

    What im2col copies: ``sources[s] = (phase, offset)``, each copied
    ``reach`` columns further than a block's width, so that kernel row ``i``
    (the taps that differ in their last index only) is ``sources[first :
    first + row_taps]`` seen ``shift`` columns on, ``rows[i] = (first, shift)``:
    a 3×3 kernel at stride 1 copies three slices, not nine. Compact layouts
    (and 1-D ones) copy every tap, as one row.
    """

    in_size: tuple[int, ...]
    padding: tuple[Pair, ...]
    stride: tuple[int, ...]
    residues: tuple[tuple[int, ...], ...]
    out: tuple[int, ...]
    phase_size: tuple[int, ...]
    flat_strides: tuple[int, ...]
    taps: tuple[tuple[int, int], ...]
    compact: bool
    sources: tuple[tuple[int, int], ...]
    rows: tuple[tuple[int, int], ...]
    row_taps: int
    reach: int

    @property
    def phases(self) -> int:
        return prod(len(r) for r in self.residues)

    @property
    def complete(self) -> bool:
        """Every entry of the padded input lies in some phase image."""
        return self.phases == prod(self.stride)

    @property
    def in_place(self) -> bool:
        """Stride 1 and no padding: the input is its own (only) phase image."""
        return all(s == 1 for s in self.stride) and not any(b or a for b, a in self.padding)

    def width(self, axis: int) -> int:
        """Flat positions from an output to the last one that shares its indices
        up to ``axis``, plus one."""
        return sum((o - 1) * f for o, f in zip(self.out[axis + 1 :], self.flat_strides[axis + 1 :])) + 1

    @property
    def span(self) -> int:
        """Flat positions from a sample's first output to its last, plus one."""
        return self.width(-1)

    def columns(self, axis: int, rows: int) -> int:
        """Columns per sample of a block of ``rows`` rows on ``axis``."""
        if self.compact:
            return rows * prod(self.out[axis + 1 :])
        return (rows - 1) * self.flat_strides[axis] + self.width(axis)

    def phase_slices(self) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """For each phase: where in the ``(N, phases, C, *phase_size)`` images the
        input lands, and the input's entries ``(N, C, *in)`` (every ``stride``-th)
        that land there; the rest of the image is padding."""
        for index, phase in enumerate(product(*self.residues)):
            inside, source = [], []
            for r, s, (before, _), n, m in zip(
                phase, self.stride, self.padding, self.in_size, self.phase_size
            ):
                lo = max(0, -(-(before - r) // s))  # first i with 0 ≤ i·s + r − before
                hi = max(lo, min(m, -(-(n + before - r) // s)))
                first = lo * s + r - before
                inside.append(slice(lo, hi))
                source.append(slice(first, first + (hi - lo - 1) * s + 1, s) if hi > lo else slice(0, 0))
            yield (slice(None), index, slice(None), *inside), (slice(None), slice(None), *source)


@dataclass(frozen=True)
class _Reads:
    """Where each kernel tap of one geometry reads: the phase images cut (``residues``
    per axis) and the flat strides of one."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    residues: tuple[tuple[int, ...], ...]
    flat: tuple[int, ...]

    def phase(self, tap: tuple[int, ...]) -> tuple[int, ...]:
        """Which phase image, per axis, tap ``tap`` reads: its residue's place among those cut."""
        return tuple(r.index(k * d % s) for k, d, s, r in zip(tap, self.dilation, self.stride, self.residues))

    def image(self, phase: tuple[int, ...]) -> int:
        """A phase image's place among them all, row-major over the residues cut."""
        return int(np.ravel_multi_index(phase, tuple(len(r) for r in self.residues)))

    def shift(self, tap: tuple[int, ...]) -> int:
        return sum(k * d // s * f for k, d, s, f in zip(tap, self.dilation, self.stride, self.flat))

    def where(self, tap: tuple[int, ...]) -> tuple[int, int]:
        return self.image(self.phase(tap)), self.shift(tap)


@lru_cache(maxsize=256)
def layout_for(
    in_size: tuple[int, ...],
    kernel_size: tuple[int, ...],
    conv: Conv,
    compact: bool | float,
    by_rows: bool = True,
) -> Layout:
    """The layout of one geometry (cached: the CLI and ``check`` ask for the same
    ones again and again). ``compact`` is a bool, or the share of junk work past
    which columns hold the outputs alone; ``by_rows=False`` copies every tap even
    where kernel rows could be views."""
    padding, stride, dilation = conv.padding, conv.stride, conv.dilation
    padded = [n + b + a for n, (b, a) in zip(in_size, padding)]
    out = tuple((p - d * (k - 1) - 1) // s + 1 for p, k, s, d in zip(padded, kernel_size, stride, dilation))
    phase_size = tuple(-(-p // s) for p, s in zip(padded, stride))
    residues = tuple(
        tuple(sorted({j * d % s for j in range(k)})) for k, d, s in zip(kernel_size, dilation, stride)
    )
    flat = tuple(prod(phase_size[a + 1 :]) for a in range(len(phase_size)))
    reads = _Reads(stride, dilation, residues, flat)
    taps = tuple(reads.where(tap) for tap in np.ndindex(*kernel_size))
    span = sum((o - 1) * f for o, f in zip(out, flat)) + 1
    if not isinstance(compact, bool):  # junk columns cost GEMM work; past a share, strided copies cost less
        compact = span > (1 + compact) * prod(out)
    rows: Places
    if compact or not by_rows or len(kernel_size) == 1:
        sources, rows, row_taps, reach = taps, ((0, 0),), len(taps), 0
    else:
        sources, rows, row_taps, reach = _kernel_rows(reads, kernel_size)
    return Layout(
        tuple(in_size),
        tuple(padding),
        tuple(stride),
        residues,
        out,
        phase_size,
        flat,
        taps,
        compact,
        sources,
        rows,
        row_taps,
        reach,
    )


def _kernel_rows(reads: _Reads, kernel_size: tuple[int, ...]) -> tuple[Places, Places, int, int]:
    """What im2col copies where each kernel row is a view: one copy per (phase of the
    kernel row, last index), and each row ``(first copy, shift)``; then the taps per
    row and the furthest shift."""
    outer, last = kernel_size[:-1], kernel_size[-1]
    kinds = list(dict.fromkeys(reads.phase((*i, 0))[:-1] for i in np.ndindex(*outer)))
    d, s = reads.dilation[-1], reads.stride[-1]  # the last axis: a flat stride of 1
    sources = tuple(
        (reads.image((*kind, reads.residues[-1].index(j * d % s))), j * d // s)
        for kind in kinds
        for j in range(last)
    )
    rows = tuple(
        (kinds.index(reads.phase((*i, 0))[:-1]) * last, reads.shift((*i, 0))) for i in np.ndindex(*outer)
    )
    return sources, rows, last, max(shift for _, shift in rows)


def split(x: np.ndarray, lay: Layout) -> np.ndarray:
    """``(N, C, *in)`` → ``(N, phases, C, flat)``: zero padded, cut into phases."""
    n, c = x.shape[:2]
    if lay.in_place:  # views of the input: its flat axis must step by one entry
        return np.ascontiguousarray(x).reshape(n, 1, c, -1)
    phases = np.zeros((n, lay.phases, c, *lay.phase_size), dtype=x.dtype)
    for inside, source in lay.phase_slices():
        phases[inside] = x[source]
    return phases.reshape(n, lay.phases, c, -1)


def merge(phases: np.ndarray, lay: Layout, out: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of :func:`split`: ``(N, phases, C, flat)`` → ``(N, C, *in)``, into
    ``out`` if given (what fell on the padding is dropped; entries in no phase are 0)."""
    n, _, c, _ = phases.shape
    if lay.in_place and out is None:
        return phases.reshape(n, c, *lay.in_size)
    x = np.empty((n, c, *lay.in_size), dtype=phases.dtype) if out is None else out
    if not lay.complete:
        x[...] = 0  # entries no tap reads have no gradient
    images = phases.reshape(n, lay.phases, c, *lay.phase_size)
    for inside, source in lay.phase_slices():
        x[source] = images[inside]
    return x
