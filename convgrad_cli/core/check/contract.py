"""The contract of an implementation under check, and keeping to it.

It is called as ``fn(x, w, delta, stride=…, padding=…, dilation=…, groups=…)``
with arrays of its framework (NumPy by default, or torch, or jax) in the
checked dtype, laid out in full rank — input ``(N, C, *spatial)``, kernel
``(O, C/groups, *k)``, δ ``(N, O, *out)`` — or, with ``layout="given"``, in the
rank the config gave. It returns ``(input_grad, weight_grad, bias_grad)``:
arrays of exactly the operands' shapes (bias ``(O,)``), real and floating, and
finite. Anything else is an *error* of the case (distinct from a *failure*,
a wrong number), named in one line.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from convgrad_cli.core.axes import collapse
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.text import describe, printable

FRAMEWORKS = ("numpy", "torch", "jax")
LAYOUTS = ("full", "given")


class ContractError(Exception):
    """An implementation broke the contract; ``mistake`` names a known one it looks like."""

    def __init__(self, message: str, mistake: str | None = None) -> None:
        super().__init__(message)
        self.mistake = mistake


class Skipped(Exception):
    """The implementation does not handle this case (it raised NotImplementedError)."""


class NotRun(Exception):
    """The implementation was not called for this case: it hung too often, or the run's time ran out."""


@dataclass(frozen=True)
class Call:
    """One call of an implementation: its arrays (float64, holding values of ``dtype``) and arguments."""

    x: np.ndarray
    w: np.ndarray
    delta: np.ndarray
    kwargs: dict[str, Any]
    dtype: str
    framework: str = "numpy"
    device: str = "cpu"


def torch_style(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return collapse(values)


def geometry_kwargs(geom: Geometry) -> dict[str, Any]:
    """``stride``, ``padding``, ``dilation``, ``groups`` as PyTorch takes them
    (asymmetric padding as ``[[before, after], …]``)."""
    if all(b == a for b, a in geom.padding):
        padding: Any = torch_style(tuple(b for b, _ in geom.padding))
    else:
        padding = [list(p) for p in geom.padding]
    return {
        "stride": torch_style(geom.stride),
        "padding": padding,
        "dilation": torch_style(geom.dilation),
        "groups": geom.groups,
    }


def shapes(problem: Problem, layout: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The shapes of x, W and δ the implementation receives (and of its gradients)."""
    g, r = problem.geom, problem.ranks
    if layout == "full":
        return g.input_shape, g.kernel_shape, g.output_shape
    return (
        g.input_shape[len(g.input_shape) - r.input_rank :],
        g.kernel_shape[len(g.kernel_shape) - r.kernel_rank :],
        r.output_shape(g.output_shape),
    )


def make_call(problem: Problem, x: np.ndarray, w: np.ndarray, delta: np.ndarray, layout: str, dtype: str,
              framework: str = "numpy", device: str = "cpu") -> Call:  # fmt: skip
    xs, ws, ds = shapes(problem, layout)
    return Call(
        x.reshape(xs),
        w.reshape(ws),
        delta.reshape(ds),
        geometry_kwargs(problem.geom),
        dtype,
        framework,
        device,
    )


# -- framework arrays ------------------------------------------------------------------------------


def to_framework(a: np.ndarray, dtype: str, framework: str, device: str) -> Any:
    """A float64 array as the framework's array of ``dtype`` (its values are exact there)."""
    if framework == "numpy":
        if dtype == "bfloat16":
            import ml_dtypes  # type: ignore[import-not-found]

            return a.astype(ml_dtypes.bfloat16)
        return np.ascontiguousarray(a, dtype=dtype)
    if framework == "torch":
        import torch

        return torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=getattr(torch, dtype))
    import jax  # type: ignore[import-not-found]
    import jax.numpy as jnp  # type: ignore[import-not-found]

    if dtype == "float64":  # jax narrows float64 to float32 unless x64 is on
        jax.config.update("jax_enable_x64", True)
    return jnp.asarray(a, dtype=getattr(jnp, dtype))


def to_numpy(value: Any, what: str) -> np.ndarray:
    """A returned gradient as a NumPy array; refused unless real and floating."""
    if value is None:
        raise ContractError(f"its {what} is None; return an array")
    module = type(value).__module__.split(".")[0]
    if module == "torch":
        if value.is_complex() or not value.is_floating_point():
            raise ContractError(f"its {what} has dtype {value.dtype}; a gradient must be real and floating")
        value = (
            value.detach().to("cpu").float() if str(value.dtype) == "torch.bfloat16" else value.detach().cpu()
        )
        value = value.numpy()
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        said = describe(exc).partition(": ")[2]
        raise ContractError(
            f"its {what} is not an array ({printable(type(value).__name__, 200)}: {said})"
        ) from None
    if arr.dtype.kind == "V" or "bfloat16" in str(arr.dtype):  # ml_dtypes' bfloat16
        arr = arr.astype(np.float32)
    if arr.dtype.kind == "c":
        raise ContractError(f"its {what} has dtype {arr.dtype}; a gradient must be real")
    if arr.dtype.kind != "f":
        raise ContractError(
            f"its {what} has dtype {arr.dtype}; a gradient must be floating ({type(value).__name__})"
        )
    return arr


def call(fn: Any, c: Call, isolated: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Call ``fn`` as the contract says; its gradients as NumPy arrays (unchecked shapes).
    Raises :class:`ContractError` for anything it does wrong, :class:`Skipped` for a
    NotImplementedError. A KeyboardInterrupt is the user's Ctrl-C and goes on up, unless
    ``isolated``: a child that ignores Ctrl-C only sees one the implementation raised."""
    args = [to_framework(a, c.dtype, c.framework, c.device) for a in (c.x, c.w, c.delta)]
    try:
        result = fn(*args, **c.kwargs)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise ContractError(
                f"it returned {printable(type(result).__name__, 200)}; return (input_grad, weight_grad, bias_grad)"
            )
        names = ("input_grad", "weight_grad", "bias_grad")
        dx, dw, db = (to_numpy(v, what) for v, what in zip(result, names))
    except ContractError:
        raise
    except NotImplementedError as exc:
        said = describe(exc).partition(": ")[2]
        raise Skipped(f"not implemented: {said}" if said else "not implemented") from None
    except SystemExit as exc:
        raise ContractError(f"the implementation called sys.exit({_repr(exc.code)}){_where(exc)}") from None
    except BaseException as exc:  # noqa: B036 — user code may raise anything
        if isinstance(exc, KeyboardInterrupt) and not isolated:
            raise
        raise ContractError(f"the implementation raised {describe(exc)}{_where(exc)}") from None
    return dx, dw, db


def _repr(value: Any) -> str:
    try:
        return printable(repr(value), 200)
    except BaseException:  # noqa: B036 — a broken __repr__ must not break the report
        return f"<a {printable(type(value).__name__, 200)}>"


def _where(exc: BaseException) -> str:
    """`` (at file.py:12)``: the last frame of the traceback in the user's own code."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    roots = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, mine)}
    for frame in reversed(frames):
        path = os.path.abspath(frame.filename)
        if not any(path.startswith(root + os.sep) for root in roots) and not frame.filename.startswith("<"):
            return f" (at {printable(os.path.basename(frame.filename), 200)}:{frame.lineno})"
    return ""


def check_shapes(
    problem: Problem, layout: str, grads: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients in float64 and full rank, once their shapes are exactly the
    operands' and every entry is finite."""
    g = problem.geom
    xs, ws, _ = shapes(problem, layout)
    wanted = {"input_grad": xs, "weight_grad": ws, "bias_grad": (g.out_channels,)}
    full = {"input_grad": g.input_shape, "weight_grad": g.kernel_shape, "bias_grad": (g.out_channels,)}
    out = []
    for (what, shape), arr in zip(wanted.items(), grads):
        if arr.shape != tuple(shape):
            message = f"its {what} has shape {arr.shape}; expected exactly {tuple(shape)}"
            short = tuple(n - u for n, u in zip(shape[len(shape) - g.ndim :], g.uncovered))
            if what == "input_grad" and any(g.uncovered) and arr.shape[len(arr.shape) - g.ndim :] == short:
                raise ContractError(
                    message + " — the uncovered rows/columns at the end are missing (output_padding)",
                    "output_padding_missing",
                )
            raise ContractError(message)
        if not np.isfinite(arr).all():
            raise ContractError(f"its {what} holds NaN or infinity")
        out.append(arr.astype(np.float64).reshape(full[what]))
    return out[0], out[1], out[2]
