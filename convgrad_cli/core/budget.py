"""What a problem may be: the memory each command needs, counted from the geometry
before anything is built, and numbers whose sums of products stay finite.

Each count is of array entries (8 bytes each in float64, and for the object
arrays that hold names): the operands and their gradients, the output, the
phase images the engine cuts the padded input into (only the residues a tap
reads: a stride far wider than the kernel adds nothing), and — for the slides'
pipeline — the dilated and padded δ, in numbers and in names. A JSON document
holds each entry as a Python number and as text: :data:`DOCUMENT` entries'
worth per entry. The engine's own working buffers come on top, at most
``CONVGRAD_MEMORY_MB`` (256 MiB). The limit is 8 GiB, or ``CONVGRAD_MAX_GB``.
"""

from __future__ import annotations

from math import gcd, prod

import numpy as np

from convgrad_cli.errors import ArrayError, TooLargeError

from .geometry import Geometry

#: Bytes a JSON document spends per entry, in units of 8 bytes: a float object
#: (24 B), its list slot (8 B), its text (≤ 25 B), the string being built (≤ 25 B).
DOCUMENT = 10
#: ``check`` holds several gradients at once: its own or the implementation's,
#: the definition's, the pipeline's, the bounds, the finite differences' and the
#: adjoint's products.
CHECK_COPIES = 8


def phase_entries(g: Geometry) -> int:
    """The phase images of the padded input: per axis, the residues some tap
    reads (at most the kernel's size) times the phase image's length."""
    per_axis = [
        min(k, s // gcd(s, d)) * -(-p // s)
        for k, s, d, p in zip(g.kernel_size, g.stride, g.dilation, g.padded_in_size)
    ]
    return g.batch * g.in_channels * prod(per_axis)


def base_entries(g: Geometry) -> int:
    """What every numeric command builds: x and ∂L/∂x, y and δ, W and ∂L/∂W, the phase images."""
    return 2 * prod(g.input_shape) + 2 * prod(g.output_shape) + 2 * prod(g.kernel_shape) + phase_entries(g)


def pipeline_entries(g: Geometry) -> int:
    """The slides' pipeline: the dilated δ and the padded δ."""
    return g.batch * g.out_channels * (prod(g.dilated_delta_size) + prod(g.padded_delta_size))


def need(
    g: Geometry,
    itemsize: int,
    *,
    pipeline: bool = False,
    named: bool = False,
    copies: int = 1,
    document: bool = False,
) -> int:
    """Bytes a command builds: the base arrays ``copies`` times, the pipeline (and
    its names: object arrays, 8 bytes an entry), and a JSON document of them all."""
    entries = copies * base_entries(g) + (pipeline_entries(g) if pipeline else 0)
    nbytes = entries * itemsize + (8 * pipeline_entries(g) if pipeline and named else 0)
    if document:
        nbytes += DOCUMENT * 8 * entries
    return nbytes


def require(g: Geometry, nbytes: int, max_bytes: int | None, what: str) -> None:
    """Refuse, before building, what would take more than ``max_bytes``."""
    if max_bytes is not None and nbytes > max_bytes:
        raise TooLargeError(
            f"{what} of {g.describe()} needs about {_size(nbytes)}, over the {_size(max_bytes)} allowed; "
            "use a smaller shape, stride or padding, or raise CONVGRAD_MAX_GB"
        )


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**29 else f"{nbytes / 2**20:.0f} MiB"


# -- the operands, and the numbers they hold -----------------------------------------


class Limit:
    """The memory budget of a problem's arrays, checked before they are built."""

    def __init__(self, max_bytes: int | None, dtype: str | None) -> None:
        self.max_bytes = max_bytes
        self.itemsize = np.dtype(dtype or "float64").itemsize

    def check_array(self, name: str, shape: tuple[int, ...]) -> None:
        self._check(f"{name} of shape {shape}", prod(shape))

    def check_problem(self, geom: Geometry) -> None:
        require(geom, need(geom, self.itemsize), self.max_bytes, "the problem")

    def _check(self, what: str, elements: int) -> None:
        nbytes = elements * self.itemsize
        if self.max_bytes is not None and nbytes > self.max_bytes:
            raise TooLargeError(
                f"{what} needs about {nbytes / 2**30:.1f} GiB, over the {self.max_bytes / 2**30:.1f} GiB "
                "allowed; use a smaller shape or set CONVGRAD_MAX_GB"
            )


def check_products(
    g: Geometry,
    x: np.ndarray | None,
    w: np.ndarray | None,
    b: np.ndarray | None,
    d: np.ndarray | None,
    dtype: str,
) -> None:
    """Refuse values whose sums of products could pass the dtype's largest number:
    y (x·W over each window, plus b), ∂L/∂x (δ·W) and ∂L/∂W (x·δ over every output)."""
    top = {
        name: float(np.max(np.abs(a), initial=0))
        for name, a in (("x", x), ("W", w), ("b", b), ("δ", d))
        if a is not None
    }
    taps = g.in_channels // g.groups * prod(g.kernel_size)
    sums = [
        ("y", ("x", "W"), taps),
        ("∂L/∂x", ("δ", "W"), g.out_channels // g.groups * prod(g.kernel_size)),
        ("∂L/∂W", ("x", "δ"), g.batch * prod(g.out_size)),
    ]
    largest = float(np.finfo(dtype).max)
    for what, (a, c), count in sums:
        if a in top and c in top:
            bound = top[a] * top[c] * count + (top.get("b", 0.0) if what == "y" else 0.0)
            if not bound <= largest:
                reach = f"{bound:.3g}" if bound < float("inf") else f"more than {largest:.3g}"
                raise ArrayError(
                    f"{what} could reach {reach} ({count:,} products of |{a}| ≤ {top[a]:.3g} and |{c}| ≤ "
                    f"{top[c]:.3g}), past {dtype}'s largest ({largest:.3g}); scale the values down"
                )
