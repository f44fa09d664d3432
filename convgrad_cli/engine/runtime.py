"""Running a rule's parts: on the cores, with BLAS and NumPy's buffer set for them.

NumPy's copies, its arithmetic and its BLAS calls release the GIL, so Python
threads run disjoint shares of a layer side by side. While they do, OpenBLAS
(the BLAS of NumPy's wheels) is held to one thread per call: the engine's
copies are single-threaded, so two shares that each copy and multiply on one
core beat one share copying while BLAS multiplies on two.

- The BLAS setting is process-wide; a count across threads restores it when
  the last share ends (threadpoolctl keeps none).
- Where the BLAS cannot be asked (another BLAS, another OS),
  :func:`blas_per_thread` is false and dense layers keep one share: one-thread
  shares under a BLAS that runs several threads per call oversubscribe the cores.
- Every part runs with NumPy's ufunc buffer at ``Tuning.ufunc_buffer`` entries:
  NumPy copies the operands of an elementwise operation through that buffer
  when their rows are shorter than a third of it; a small one reads them in place.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np

from . import blas
from .tuning import Tuning

T = TypeVar("T")


def cores(tuning: Tuning) -> int:
    """The threads a layer may be shared among: ``tuning.cores``, or the cores
    this process may run on."""
    if tuning.cores is not None:
        return tuning.cores
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def shares(count: int, workers: int) -> list[range]:
    """``range(count)`` cut into at most ``workers`` runs of nearly equal length.

    >>> shares(5, 2)
    [range(0, 2), range(2, 5)]
    """
    workers = max(1, min(workers, count))
    cuts = [count * i // workers for i in range(workers + 1)]
    return [range(a, b) for a, b in zip(cuts, cuts[1:])]


def run(work: Callable[[Any], T], parts: list[Any], tuning: Tuning) -> list[T]:
    """``[work(part) for part in parts]``, the parts on the pool's threads when
    there are several. ``work`` must write disjoint entries for each part."""

    def part_run(part: Any) -> T:
        with limits(tuning.ufunc_buffer):
            return work(part)

    if len(parts) == 1:
        return [part_run(parts[0])]
    with limits(tuning.ufunc_buffer, one_blas_thread=True):
        return list(_pool().map(part_run, parts))


@contextmanager
def limits(ufunc_buffer: int, one_blas_thread: bool = False) -> Iterator[None]:
    """NumPy's ufunc buffer at ``ufunc_buffer`` entries in this thread and, with
    ``one_blas_thread``, BLAS held to one thread per call in the whole process;
    the caller's settings back afterwards, after an error too."""
    saved = np.setbufsize(ufunc_buffer)
    held = one_blas_thread and _hold()
    try:
        yield
    finally:
        if held:
            _release()
        np.setbufsize(saved)


def blas_per_thread() -> bool:
    """Whether BLAS can be held to one thread per call while shares run."""
    return blas.controller() is not None


_held = 0  # holds under way, across the process's threads
_saved = 0  # the thread count to give back when the last one ends
_lock = threading.Lock()


def _hold() -> bool:
    global _held, _saved
    lib = blas.controller()
    if lib is None:
        return False
    with _lock:
        if not _held:
            _saved = lib.get_num_threads()
            _set_threads(lib, 1)
        _held += 1
    return True


def _release() -> None:
    global _held
    lib = blas.controller()
    with _lock:
        _held -= 1
        if not _held:
            _set_threads(lib, _saved)


def _set_threads(lib: Any, count: int) -> None:
    # threadpoolctl lets only the first thread that set OpenBLAS's count set it
    # again, silently; the hold may end on another thread, so take the control
    clear = getattr(type(lib), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    lib.set_num_threads(count)


@lru_cache(maxsize=1)
def _pool() -> Any:
    # imported here: concurrent.futures (and the logging it loads) is start-up
    # time that the one-line commands never need
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(cores(Tuning()), thread_name_prefix="convgrad")
