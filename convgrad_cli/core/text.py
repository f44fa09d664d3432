"""Text convgrad did not write — what a user's implementation says, a file's name —
made safe for a terminal, JSON and XML: one line, every character encodable.

A lone surrogate (a name that is not UTF-8, as Python decodes it, or a message
built from mishandled bytes) cannot be encoded at all; a control character
rewrites a terminal (``\\x1b[2J``) and is not allowed in XML 1.0. Each becomes a
visible escape, as ``repr`` writes it, so that nothing is lost from sight.
"""

from __future__ import annotations

import re

#: Control characters (C0 but tab, DEL, C1), surrogates, line and paragraph
#: separators, and the bidirectional controls that reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SHORT = {"\n": "\\n", "\r": "\\r"}
#: The longest text kept: a message of megabytes says no more than its start.
LIMIT = 2000


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): that byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, limit: int | None = LIMIT) -> str:
    """``text`` on one line, each unsafe character as an escape; cut after ``limit`` characters."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit:,} more characters)"
    return _UNSAFE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """``text`` as :func:`printable` makes it, but for its line breaks, which it keeps."""
    return "\n".join(_UNSAFE.sub(_escape, line) for line in text.split("\n"))


def describe(exc: BaseException) -> str:
    """``TypeName: message`` of an exception raised by code convgrad does not own, made
    safe; an exception whose ``str`` itself fails is named by its type alone."""
    name = printable(type(exc).__name__, 200)
    try:
        message = str(exc)
    except BaseException:  # noqa: B036 — a broken __str__ must not break the report
        return f"{name} (its message could not be read)"
    return f"{name}: {printable(message)}" if message else name
