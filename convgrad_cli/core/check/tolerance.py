"""How close a gradient must be, entry by entry, for the precision it was computed in.

An entry of ∂L/∂x, ∂L/∂W or ∂L/∂bias is a sum of ``n`` products whose absolute
values add up to ``S = Σ|terms|``. Rounding in a dtype of unit roundoff ``u``
moves such a sum by about ``√n·u·S`` (Higham and Mary's probabilistic bound;
the worst case, ``n·u·S``, is almost never reached), so an entry passes when

    |actual − expected| ≤ atol + (4·√n + 1)·u·S

with ``S`` and ``n`` computed by the same rules on |x|, |W|, |δ| and on ones.
``--rtol`` replaces ``(4·√n + 1)·u`` by a number of one's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convgrad_cli.errors import ConfigError

#: Unit roundoff of each dtype an implementation may be checked in.
UNIT = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
#: The absolute floor of each dtype's tolerance (for entries whose terms are all zero).
ATOL = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-4, "bfloat16": 1e-3}
DTYPES = tuple(UNIT)


def round_to(a: np.ndarray, dtype: str) -> np.ndarray:
    """``a`` in float64, holding the nearest values ``dtype`` can hold (round to nearest even)."""
    if dtype not in UNIT:
        raise ConfigError(f"dtype {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
    if dtype != "bfloat16":
        return np.asarray(a, dtype=dtype).astype(np.float64)
    bits = np.asarray(a, dtype=np.float32).view(np.uint32)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & np.uint32(0xFFFF0000)  # bfloat16: the top 16 bits
    return bits.view(np.float32).astype(np.float64)


@dataclass(frozen=True)
class Tolerance:
    """The rule an entry is held to: ``atol + r·S``, ``r = (4·√n + 1)·u`` unless ``rtol`` is given."""

    dtype: str
    rtol: float | None = None
    atol: float | None = None

    @property
    def unit(self) -> float:
        return UNIT[self.dtype]

    @property
    def floor(self) -> float:
        return ATOL[self.dtype] if self.atol is None else self.atol

    def bounds(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Each entry's bound, given its ``Σ|terms|`` and its number of terms."""
        if self.rtol is not None:
            return self.floor + self.rtol * sums
        return self.floor + (4 * np.sqrt(counts) + 1) * self.unit * sums

    def describe(self) -> str:
        if self.rtol is not None:
            return f"|actual − expected| ≤ {self.floor:g} + {self.rtol:g}·Σ|terms| per entry"
        return (
            f"|actual − expected| ≤ {self.floor:g} + (4·√n + 1)·u·Σ|terms| per entry, u = 2^{int(np.log2(self.unit))}"
            f" ({self.dtype}), n the entry's number of terms"
        )
