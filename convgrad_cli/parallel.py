"""Sharing a layer among the cores.

NumPy's copies, its arithmetic and its BLAS calls release the GIL, so Python
threads run disjoint shares of a layer side by side. While they do, OpenBLAS
(the BLAS of NumPy's wheels) is held to one thread per call: the engine's
copies are single-threaded, so two shares that each copy and multiply on one
core beat one share copying while BLAS multiplies on two (forward + backward
of the benchmark's large dense layers ran 5–15 % faster that way).

- The setting is process-wide (OpenBLAS's "local" one changes the global
  count too); it is restored when the last share ends.
- Where the BLAS cannot be asked — another BLAS, another OS —
  :func:`blas_per_thread` is false and the dense engine keeps one share: one-
  thread shares under a BLAS that runs several threads per call oversubscribe
  the cores (measured 10 % slower).
- For ~0.1 s after a GEMM on several threads, OpenBLAS's idle threads spin,
  and shares started meanwhile ran up to 2× slower. Only large layers share
  (``engine.PARALLEL_MACS``), so it costs at most that once.

Every part runs with NumPy's ufunc buffer cut to :data:`BUFFER` entries, one
share or several (see there).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np

from . import blas

T = TypeVar("T")

#: Entries in NumPy's ufunc buffer while a part runs. NumPy copies the operands
#: of an elementwise operation through that buffer (8192 entries by default)
#: when their rows are shorter than a third of it — a multiply by each channel's
#: weight over rows of 300–2700 entries ran 2–3× slower so (NumPy 2.4); with
#: 256 entries, rows of 86 and more are read in place. Operations that must
#: cast still work, a buffer at a time. NumPy keeps the setting per thread.
BUFFER = 256


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def shares(count: int, workers: int) -> list[range]:
    """``range(count)`` cut into at most ``workers`` runs of nearly equal length."""
    workers = max(1, min(workers, count))
    cuts = [count * i // workers for i in range(workers + 1)]
    return [range(a, b) for a, b in zip(cuts, cuts[1:])]


def run(work: Callable[[Any], T], parts: list[Any]) -> list[T]:
    """``[work(part) for part in parts]``, the parts on the pool's threads when
    there are several, BLAS meanwhile on one thread per call; each part with
    NumPy's ufunc buffer at :data:`BUFFER` entries. ``work`` must write
    disjoint entries for each part."""

    def part_run(part: Any) -> T:
        saved = np.setbufsize(BUFFER)
        try:
            return work(part)
        finally:
            np.setbufsize(saved)

    if len(parts) == 1:
        return [part_run(parts[0])]
    with _one_blas_thread():
        return list(_pool().map(part_run, parts))


def blas_per_thread() -> bool:
    """Whether BLAS can be held to one thread per call while shares run."""
    return _openblas() is not None


_held = 0  # runs inside _one_blas_thread, across the process's threads
_saved = 0  # the thread count to restore when the last one ends
_lock = threading.Lock()


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    global _held, _saved
    threads = _openblas()
    if threads is None:
        yield
        return
    getter, setter = threads
    with _lock:
        if not _held:
            _saved = getter()
            setter(1)
        _held += 1
    try:
        yield
    finally:
        with _lock:
            _held -= 1
            if not _held:
                setter(_saved)


@lru_cache(maxsize=1)
def _openblas() -> tuple[Any, Any] | None:
    """OpenBLAS's thread-count getter and setter, from the copy NumPy loaded;
    ``None`` where there is none to be found (another BLAS, another OS)."""
    found = blas.library()
    if found is None:
        return None
    lib, prefix, suffix = found
    getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
    setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
    if setter is None:
        return None
    getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
    return getter, setter


@lru_cache(maxsize=1)
def _pool() -> Any:
    # imported here: concurrent.futures (and the logging it loads) costs ~10 ms
    # of start-up that the one-line commands never need
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(cores(), thread_name_prefix="convgrad")
