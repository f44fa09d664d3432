"""Every error convgrad raises on purpose, and the exit statuses of the CLI.

The CLI catches only :class:`ConvgradError`; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What a convgrad process returns to its caller."""

    OK = 0
    CHECK_FAILED = 1  # `check` ran and a gradient disagreed with a reference
    BAD_INPUT = 2  # the config, a flag or a file could not be used


class ConvgradError(Exception):
    """Base class: a known problem, reported as one line on stderr."""

    exit_status = ExitStatus.BAD_INPUT


class ConfigError(ConvgradError):
    """A config file or flag is unreadable, unknown or of the wrong type."""


class ArrayError(ConvgradError):
    """An array is ragged, non-numeric, non-finite or of the wrong shape."""


class GeometryError(ConvgradError):
    """Stride, padding, dilation, groups or sizes that do not fit together."""


class TooLargeError(ConvgradError):
    """A problem that would not fit in the memory budget."""


class CellError(ConvgradError):
    """A cell name or index that the problem does not have."""


class ImplError(ConvgradError):
    """A user implementation given to `check --impl` that cannot be loaded."""


class OutputError(ConvgradError):
    """A file convgrad was asked to write that it must not or cannot write."""
