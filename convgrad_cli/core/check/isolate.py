"""Running a user's implementation where it cannot hurt the check.

``--impl`` code runs in a child process: whatever it does — ``sys.exit``,
``os._exit``, printing to stdout, hanging, crashing the interpreter — ends as
an *error* of the case it was called for, and the check goes on with a fresh
child. Its stdout goes to stderr, so ``--format json`` stays one document.
A function given directly (the ``testing`` API) runs in this process.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from convgrad_cli.core.text import describe, printable_lines
from convgrad_cli.errors import ImplError

from .contract import Call, ContractError, NotRun, Skipped, call

Grads = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]  # no bias: None; a forward: (y, None, None)


class Implementation(Protocol):
    label: str
    scope: str | None  # what it declares it supports, in words (its ``convgrad_scope``)

    def __call__(self, c: Call) -> Grads: ...

    def close(self) -> None: ...


def load_impl(spec: str) -> Callable[..., Any]:
    """``module:function`` or ``path/to/file.py:function`` → the function. The working
    directory (and the file's folder) go at the end of ``sys.path``: a user's
    ``xml.py`` must not stand in for the standard library's."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise ImplError(f"--impl {spec!r} must be MODULE:FUNCTION or FILE.py:FUNCTION")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ImplError(f"--impl file {target!r} does not exist")
            for folder in (str(path.resolve().parent), os.getcwd()):
                if folder not in sys.path:
                    sys.path.append(folder)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.append(os.getcwd())
            module = importlib.import_module(target)
        fn = getattr(module, name, None)
    except ImplError:
        raise
    except BaseException as exc:  # noqa: B036 — the user's module failed to import: say how, in one line
        raise ImplError(f"cannot import {target!r} for --impl: {describe(exc)}") from None
    if not callable(fn):
        raise ImplError(f"{target!r} has no function {name!r} for --impl")
    return fn


class InProcess:
    """A function, called in this process."""

    def __init__(self, fn: Callable[..., Any], label: str) -> None:
        self.fn, self.label = fn, label
        self.scope: str | None = getattr(fn, "convgrad_scope", None)

    def __call__(self, c: Call) -> Grads:
        return call(self.fn, c)

    def close(self) -> None:
        pass


#: Timeouts in a row after which an implementation is not called again: one that
#: hangs on every case would otherwise cost --timeout × the number of cases.
PATIENCE = 3


class Isolated:
    """``--impl MODULE:FUNCTION``, loaded and called in a child process, each call
    given ``timeout`` seconds and, with ``total``, the whole run that many. After
    :data:`PATIENCE` timeouts in a row, or once ``total`` is spent, every call
    raises :class:`NotRun` and ``stopped`` says why."""

    def __init__(self, spec: str, timeout: float, total: float | None = None) -> None:
        self.spec, self.timeout, self.label, self.total = spec, timeout, spec, total
        self._deadline = None if total is None else time.monotonic() + total
        self._late = 0  # timeouts in a row
        self.stopped = ""
        self.scope: str | None = None
        self._child: Any = None
        self._conn: Any = None
        try:
            self._start()
        except (ContractError, NotRun) as exc:
            raise ImplError(f"--impl {spec!r}: {exc}") from None

    def _start(self) -> None:
        import json
        import socket
        import subprocess
        from multiprocessing.connection import Connection

        ours, theirs = socket.socketpair()
        # this very convgrad first; then the path as it is here, but for the working directory
        # (load_impl puts that last: a user's xml.py must not stand in for the standard library's)
        home = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        path = list(dict.fromkeys([home, *(p for p in sys.path if p not in ("", os.getcwd()))]))
        code = (
            "import sys, json; sys.path[:] = json.loads(sys.argv[3]); "
            "from convgrad_cli.core.check.isolate import _serve; _serve(int(sys.argv[1]), sys.argv[2])"
        )
        self._child = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), self.spec, json.dumps(path)],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=2,
            start_new_session=True,
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        status, detail = self._receive(max(self.timeout, 60.0), "while it loaded", loading=True)
        if status == "refused":
            self.close()
            raise ImplError(detail)
        self.scope = detail

    def _left(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _receive(self, timeout: float, doing: str, loading: bool = False) -> tuple[str, Any]:
        left = self._left()
        try:
            ready = self._conn.poll(timeout if left is None else max(0.0, min(timeout, left)))
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._stop()
            if left is not None and left <= timeout:
                self.stopped = f"the run's {self.total:g} s (--timeout-total) ran out"
                raise NotRun(self.stopped)
            self._late += 1
            if self._late >= PATIENCE:
                self.stopped = (
                    f"the implementation timed out {PATIENCE} times in a row; convgrad stopped calling it"
                )
            what = "while it loaded" if loading else "(--timeout)"
            raise ContractError(f"no result within {timeout:g} s {what}; the implementation was stopped")
        try:
            return self._conn.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            code = self._child.wait(5) if self._child is not None else None
            self._stop()
            raise ContractError(
                f"the implementation ended its process {doing} (exit status {code})"
            ) from None

    def __call__(self, c: Call) -> Grads:
        left = self._left()
        if left is not None and left <= 0 and not self.stopped:
            self.stopped = f"the run's {self.total:g} s (--timeout-total) ran out"
        if self.stopped:
            raise NotRun(self.stopped)
        if self._child is None:
            self._start()
        try:
            self._conn.send(c)
        except OSError:
            self._stop()
            self._start()
            self._conn.send(c)
        status, detail = self._receive(self.timeout, "while it ran")
        self._late = 0  # an answer, whatever it says: this is not an implementation that hangs
        if status == "ok":
            return detail  # type: ignore[no-any-return]
        if status == "skipped":
            raise Skipped(detail)
        message, mistake = detail
        raise ContractError(message, mistake)

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._child is not None:
            # the whole group: a process the implementation started would hold stderr open, and
            # whoever reads convgrad's stderr (a CI step) would wait for it after convgrad ends
            try:
                os.killpg(self._child.pid, signal.SIGKILL)
            except OSError:
                self._child.kill()
            self._child.wait(5)
        self._child = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SafeStream(io.TextIOBase):
    """The child's stdout and stderr: what the implementation prints reaches the
    parent's stderr with each unsafe character as an escape (see :mod:`..text`).
    Bytes written to its ``buffer`` too; only writes to the file descriptor itself
    (``os.write(1, …)``, C code) pass as they are."""

    encoding = "utf-8"
    errors = "backslashreplace"

    def __init__(self, real: Any) -> None:
        self._real = real
        self.buffer = _SafeBuffer(self)

    def write(self, text: str) -> int:
        self._real.write(printable_lines(text))
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._real.flush()

    def fileno(self) -> int:
        return int(self._real.fileno())

    def isatty(self) -> bool:
        return False


class _SafeBuffer(io.RawIOBase):
    """``sys.stdout.buffer`` of the child: bytes, decoded (a byte that is not UTF-8 kept as its escape)."""

    def __init__(self, text: _SafeStream) -> None:
        self._text = text

    def write(self, data: Any) -> int:
        self._text.write(bytes(data).decode("utf-8", "surrogateescape"))
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._text.flush()


def _die_with_parent() -> None:
    """On Linux, the kernel kills this child when convgrad dies, however it dies (``kill -9``,
    a CI job's timeout): in a session of its own, no signal to convgrad's group reaches it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the child still ends when it next reads from the closed socket


def _serve(fd: int, spec: str) -> None:
    """The child: load the implementation, then answer calls on socket ``fd`` until the parent goes."""
    from multiprocessing.connection import Connection

    # Ctrl-C stops the parent (this child is in a session of its own), which ends this child;
    # a KeyboardInterrupt here is the implementation's own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    # fd 1 is the parent's stderr already; its prints must not reach stdout
    sys.stdout = sys.stderr = _SafeStream(sys.__stderr__)
    conn = Connection(fd)
    try:
        try:
            fn = load_impl(spec)
        except ImplError as exc:
            conn.send(("refused", str(exc)))
            return
        declared = getattr(fn, "convgrad_scope", None)
        conn.send(("ready", declared if isinstance(declared, str) else None))
        while True:
            conn.send(_answer(fn, conn.recv()))
    except (EOFError, OSError):  # the parent has gone (or stopped this child): no one to answer
        return


def _answer(fn: Callable[..., Any], c: Call) -> tuple[str, Any]:
    try:
        return ("ok", call(fn, c, isolated=True))
    except Skipped as exc:
        return ("skipped", str(exc))
    except ContractError as exc:
        return ("error", (str(exc), exc.mistake))
