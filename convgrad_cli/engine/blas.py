"""NumPy's own BLAS, asked directly for the one product NumPy cannot express.

``np.matmul`` has no ``C += A·B``: a sum of products needs a buffer per product
and a pass to add it. The engine's forward and ∂L/∂x are exactly such sums, one
product per kernel tap, so :func:`gemm` hands BLAS its ``beta = 1`` — each tap's
product lands on the running sum (or on the phase images where the tap reads)
with no copy of the input and no add.

- The library is the OpenBLAS NumPy loaded, found by threadpoolctl (which knows
  every platform's way of listing loaded libraries): NumPy's wheels ship it with
  ``scipy_`` names and 64-bit integers.
- It is trusted only after it gets a small known product right; where it cannot
  be found or does not, :func:`available` is false and the engine keeps its
  NumPy-only path.
- The operands are views whose strides are checked here, so BLAS never reads or
  writes outside them.
"""

from __future__ import annotations

import ctypes
import os
from functools import lru_cache
from itertools import product
from typing import Any

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
    """``out ← a·b``, or ``out += a·b`` when ``accumulate``: 2-D views of one
    dtype (:func:`available` for it), ``a`` and ``b`` row- or column-major with
    any leading dimension, ``out`` row-major."""
    (m, k), (k2, n) = a.shape, b.shape
    if out.shape != (m, n) or k2 != k or not a.dtype == b.dtype == out.dtype or not available(out.dtype):
        raise ValueError(f"gemm: {a.shape} {a.dtype} · {b.shape} {b.dtype} → {out.shape} {out.dtype}")
    if out.size and k:
        _run(_routines()[out.dtype.char], a, b, out, accumulate)
    elif not accumulate:  # an empty sum
        out[...] = 0


def available(dtype: np.dtype) -> bool:
    """Whether :func:`gemm` serves ``dtype`` here (float32 or float64, in the
    machine's byte order)."""
    return dtype.isnative and dtype.char in _routines()


@lru_cache(maxsize=1)
def controller() -> Any | None:
    """threadpoolctl's controller of the OpenBLAS NumPy loaded (the one in NumPy's
    own folder where several are loaded, as beside PyTorch), or ``None``."""
    from threadpoolctl import ThreadpoolController  # here: trace never needs it

    found = ThreadpoolController().select(internal_api="openblas").lib_controllers
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    found.sort(key=lambda lib: not os.path.realpath(lib.filepath).startswith(numpy_dir))
    return found[0] if found else None


@lru_cache(maxsize=1)
def library() -> tuple[ctypes.CDLL, str, str] | None:
    """The OpenBLAS NumPy loaded, with the prefix and suffix of its cblas names
    (``scipy_``/``64_`` in NumPy's wheels); ``None`` where there is none."""
    lib = controller()
    if lib is None:
        return None
    for prefix, suffix in product(("scipy_", ""), ("64_", "_64", "")):
        if hasattr(lib.dynlib, f"{prefix}cblas_dgemm{suffix}"):
            return lib.dynlib, prefix, suffix
    return None


@lru_cache(maxsize=1)
def _routines() -> dict[str, Any]:
    """``sgemm``/``dgemm`` by dtype char, each checked on a known product."""
    found = library()
    if found is None:
        return {}
    lib, prefix, suffix = found
    index = ctypes.c_int64 if "64" in suffix else ctypes.c_int32  # 64-bit integers
    routines = {}
    for char, letter, scalar in (("f", "s", ctypes.c_float), ("d", "d", ctypes.c_double)):
        call = getattr(lib, f"{prefix}cblas_{letter}gemm{suffix}", None)
        if call is None:
            continue
        call.restype = None
        operand = [ctypes.c_void_p, index]  # address, leading dimension
        call.argtypes = [ctypes.c_int] * 3 + [index] * 3 + [scalar, *operand, *operand, scalar, *operand]
        if _proves(call, char):
            routines[char] = call
    return routines


def _proves(call: Any, dtype: str) -> bool:
    """Whether ``call`` computes a small strided, transposed, accumulated product
    as NumPy does (a wrong integer width would not)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5)).astype(dtype)[:, 1:4]  # leading dimension 5
    b = rng.standard_normal((2, 3)).astype(dtype).T  # column-major
    out = np.full((3, 4), np.nan, dtype=dtype)[:, :2]  # beta = 0 must not read the NaNs
    _run(call, a, b, out, accumulate=False)
    _run(call, a, b, out, accumulate=True)
    return bool(np.allclose(out, 2 * (a @ b), rtol=1e-5, atol=1e-5))


def _run(call: Any, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
    (m, k), n = a.shape, b.shape[1]
    trans_a, lda = _major(a)
    trans_b, ldb = _major(b)
    trans_out, ldc = _major(out)
    if trans_out != _NO_TRANS:
        raise ValueError("gemm: out must be row-major")
    call(
        _ROW_MAJOR,
        trans_a,
        trans_b,
        m,
        n,
        k,
        1.0,
        _address(a),
        lda,
        _address(b),
        ldb,
        1.0 if accumulate else 0.0,
        _address(out),
        ldc,
    )


def _major(view: np.ndarray) -> tuple[int, int]:
    """(``_NO_TRANS`` or ``_TRANS``, leading dimension) of a 2-D view BLAS can
    read in place: unit steps along one axis, whole rows (or columns) apart."""
    rows, cols = view.shape
    size = view.itemsize
    row_step, col_step = view.strides
    if (cols <= 1 or col_step == size) and (rows <= 1 or (row_step >= cols * size and row_step % size == 0)):
        return _NO_TRANS, row_step // size if rows > 1 else max(cols, 1)
    if (rows <= 1 or row_step == size) and (cols <= 1 or (col_step >= rows * size and col_step % size == 0)):
        return _TRANS, col_step // size if cols > 1 else max(rows, 1)
    raise ValueError(f"gemm: strides {view.strides} of a {view.shape} view are not a BLAS layout")


def _address(view: np.ndarray) -> int:
    return view.__array_interface__["data"][0]
