"""The named steps of the slides: dilate, pad, rot180 (and the flipped kernel).

Arrays are ``(N, C, *spatial)``; every helper acts on the spatial axes only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .axes import Pair


def dilate(delta: np.ndarray, stride: tuple[int, ...]) -> np.ndarray:
    """Put ``stride − 1`` zeros between neighbouring entries on each spatial axis.

    >>> dilate(np.array([[[[1, 2], [3, 4]]]]), (2, 2))[0, 0]
    array([[1, 0, 2],
           [0, 0, 0],
           [3, 0, 4]])
    """
    if all(s == 1 for s in stride):
        return delta  # nothing to insert (the caller's array, not a copy)
    lead = delta.shape[: delta.ndim - len(stride)]
    spatial = delta.shape[len(lead) :]
    size = tuple((n - 1) * s + 1 for n, s in zip(spatial, stride))
    out = np.zeros(lead + size, dtype=delta.dtype)
    every_s: tuple[Any, ...] = (..., *(slice(None, None, s) for s in stride))
    out[every_s] = delta
    return out


def pad(a: np.ndarray, pads: tuple[Pair, ...]) -> np.ndarray:
    """Add ``(before, after)`` zeros on each spatial axis; a negative count crops.

    Entry ``i`` moves to ``i + before``; the result has ``n + before + after``
    entries per axis, and a crop larger than the array leaves only zeros.

    >>> pad(np.ones((1, 1, 2, 2)), ((1, 0), (0, -1)))[0, 0]
    array([[0.],
           [1.],
           [1.]])
    """
    lead = a.ndim - len(pads)
    if all(b >= 0 and e >= 0 for b, e in pads):
        return np.pad(a, [(0, 0)] * lead + [tuple(p) for p in pads]) if any(any(p) for p in pads) else a
    spatial = a.shape[lead:]
    size = tuple(n + b + e for n, (b, e) in zip(spatial, pads))
    out = np.zeros(a.shape[:lead] + size, dtype=a.dtype)
    src, dst = [], []
    for n, m, (b, _) in zip(spatial, size, pads):
        lo, hi = max(0, -b), min(n, m - b)  # the source entries that land inside
        hi = max(lo, hi)
        src.append(slice(lo, hi))
        dst.append(slice(lo + b, hi + b))
    into: tuple[Any, ...] = (..., *dst)
    taken: tuple[Any, ...] = (..., *src)
    out[into] = a[taken]
    return out


def rot180(kernel: np.ndarray, spatial: int) -> np.ndarray:
    """Rotate a kernel by 180° on its spatial axes: ``w1 w2 / w3 w4`` → ``w4 w3 / w2 w1``."""
    reverse: tuple[Any, ...] = (..., *([slice(None, None, -1)] * spatial))
    return kernel[reverse]


def flip_kernel(kernel: np.ndarray, groups: int) -> np.ndarray:
    """The kernel of the input gradient: rot180, in/out channel axes swapped per group.

    ``(O, C/g, *k)`` becomes ``(C, O/g, *k)``.
    """
    out_ch, cg = kernel.shape[:2]
    spatial = kernel.shape[2:]
    og = out_ch // groups
    swapped = kernel.reshape(groups, og, cg, *spatial).swapaxes(1, 2).reshape(groups * cg, og, *spatial)
    # a contiguous copy (kernels are small): BLAS and einsum run slower on the
    # negative strides of a reversed view
    return np.ascontiguousarray(rot180(swapped, len(spatial)))
