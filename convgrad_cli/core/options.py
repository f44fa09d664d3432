"""How a view names the options that show what it left out. The view is the same from the
command line and from Python; only the words differ: ``--full`` there, ``full=True`` here.
A front end says which it is with :func:`spelled`; the command line's is the default."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

COMMAND_LINE: Mapping[str, str] = {
    "slice": "--slice {}",
    "full": "--full",
    "precision": "--precision N",
    "json": "--format json",
    "details": "--details all",
    "save": "--save-failing DIR",
    "input": "--input",
    "no_dilation": "--dilation 1",
    "no_groups": "--groups 1",
}
PYTHON: Mapping[str, str] = {
    "slice": "only={}",
    "full": "full=True",
    "precision": "precision=N",
    "json": ".to_json()",
    "details": 'details="all"',
    "save": "",  # a picture has no files of its own to save cases in
    "input": "input=",
    "no_dilation": "dilation=1",
    "no_groups": "groups=1",
}

_SPELLING: ContextVar[Mapping[str, str]] = ContextVar("spelling", default=COMMAND_LINE)


@contextmanager
def spelled(spelling: Mapping[str, str]) -> Iterator[None]:
    """Views built inside name their options as ``spelling`` does."""
    token = _SPELLING.set(spelling)
    try:
        yield
    finally:
        _SPELLING.reset(token)


def option(name: str, **picked: object) -> str:
    """``option("slice", n=1, o=2)``: ``--slice n=1,o=2`` on the command line,
    ``only={'n': 1, 'o': 2}`` in Python; ``""`` where the front end has no such option."""
    spelling = _SPELLING.get()
    if not picked:  # the option named alone: --slice, only=…
        return spelling[name].replace(" {}", "").replace("{}", "…")
    if spelling is PYTHON:
        given = "{" + ", ".join(f"'{axis}': {index}" for axis, index in picked.items()) + "}"
    else:
        given = ",".join(f"{axis}={index}" for axis, index in picked.items())
    return spelling[name].format(given)
