"""The memory a command needs, counted from the geometry before anything is built.

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

from convgrad_cli.errors import TooLargeError

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
    g: Geometry, itemsize: int, *, pipeline: bool = False, named: bool = False, copies: int = 1,
    document: bool = False,
) -> int:  # fmt: skip
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
