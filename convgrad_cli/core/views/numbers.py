"""Numbers as every view writes them (no Rich here: LaTeX and JSON need them too)."""

from __future__ import annotations

from typing import Any


def fmt(v: Any, digits: int = 6) -> str:
    """A number as short as it can be said (``digits`` significant).

    >>> fmt(3.0), fmt(-0.5), fmt(1.234567e-05, 4)
    ('3', '-0.5', '1.235e-05')
    """
    if isinstance(v, str):
        return v
    f = float(v)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.{digits}g}"
