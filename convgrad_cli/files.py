"""Writing files whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError


def write_atomic(path: str | Path, text: str, force: bool = True) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place:
    a reader sees the old file or the new one, never half of one."""
    target = Path(path)
    if target.exists() and not force:
        raise OutputError(f"{str(target)!r} exists; pass --force to overwrite it")
    if target.is_dir():
        raise OutputError(f"{str(target)!r} is a directory; give a file path")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {str(target)!r}: {exc.strerror}") from None
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
