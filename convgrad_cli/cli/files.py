"""Files convgrad writes, written whole or not at all.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import os
from pathlib import Path

from convgrad_cli.errors import OutputError

#: Temporary files of :func:`write_atomic` start with this (after a dot and the target's name).
TEMP = ".convgrad-"
#: A temporary file this old is one a killed convgrad left behind.
STALE_SECONDS = 600


def exists(path: Path) -> bool:
    """Whether ``path`` exists; a name the system cannot take (over 255 bytes, say)
    is an error that says so."""
    try:
        return path.exists()
    except OSError as exc:
        raise OutputError(f"cannot use {str(path)!r}: {exc.strerror or exc}") from None


def can_write(target: Path, flag: str, make: bool = False) -> None:
    """Refuse, before any work is done, a file that could not be written: a folder in its
    place, or a folder for it that is missing (unless ``make``: then one that cannot be made)."""
    label = f"{flag} {str(target)!r}"
    if _is_dir(target):
        raise OutputError(f"{label} is a directory; give a file path")
    can_hold(target.parent, label, make)


def can_hold(folder: Path, label: str, make: bool) -> None:
    """Refuse a folder that is missing (unless ``make``), a file, or one this user cannot write in."""
    existing = folder
    while not exists(existing) and existing != existing.parent:
        existing = existing.parent
    if existing != folder and not make:
        raise OutputError(f"{label}: folder {str(folder)!r} does not exist; make it first")
    if not _is_dir(existing):
        raise OutputError(f"{label}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: no permission to write in {str(existing)!r}")


def make_folder(folder: Path) -> None:
    """``folder`` and its parents, as ``mkdir -p`` makes them."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make folder {str(folder)!r}: {exc.strerror or exc}") from None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError as exc:
        raise OutputError(f"cannot use {str(path)!r}: {exc.strerror or exc}") from None


def write_atomic(path: "str | Path", data: "str | bytes", force: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place:
    a reader sees the old file or the new one, never half of one. Any failure —
    a full disk, a name too long, no permission — is an :class:`OutputError`
    and leaves no temporary file; those a killed convgrad left are removed."""
    target = Path(path)
    if exists(target) and not force:
        raise OutputError(f"{str(target)!r} exists; pass --force to overwrite it")
    if target.is_dir():
        raise OutputError(f"{str(target)!r} is a directory; give a file path")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    import tempfile

    _remove_stale(folder, target.name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{TEMP}", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            # a character UTF-8 cannot hold (a lone surrogate) as its escape, never a crash
            f.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale(folder: Path, name: str) -> None:
    import glob
    import time

    try:
        for old in folder.glob(f".{glob.escape(name)}{TEMP}*"):
            if time.time() - old.stat().st_mtime > STALE_SECONDS:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # cleaning up is a courtesy; the write itself reports what matters


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
