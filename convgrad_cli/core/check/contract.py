"""The contract of an implementation under check, and keeping to it.

It is called as ``fn(x, w, delta, stride=…, padding=…, dilation=…, groups=…)``
with arrays of its framework (NumPy by default, or torch, or jax) in the
checked dtype, laid out in full rank — input ``(N, C, *spatial)``, kernel
``(O, C/groups, *k)``, δ ``(N, O, *out)`` — or, with ``layout="given"``, in the
rank the config gave; with ``layout="spatial"`` (one sample, one channel, one
filter) as their spatial axes alone, ``(H, W)``. It returns ``(input_grad,
weight_grad, bias_grad)``: arrays of exactly the operands' shapes (bias ``(O,)``,
or one number for one filter), real and floating, and finite. Anything else is an *error* of the case (distinct from a *failure*,
a wrong number), named in one line.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from convgrad_cli.core.axes import collapse
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.text import describe, printable


class ContractError(Exception):
    """An implementation broke the contract; ``mistake`` names a known one it looks like."""

    def __init__(self, message: str, mistake: str | tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.mistake = mistake

    @property
    def mistakes(self) -> tuple[str, ...]:
        """The known mistakes it looks like, the likeliest first."""
        return (self.mistake,) if isinstance(self.mistake, str) else tuple(self.mistake or ())


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
    b: np.ndarray | None = None  # the bias, for conventions that pass it (CS231n's cache) and the forward
    convention: str = "convgrad"
    kind: str = "backward"  # or "forward": fn(x, w, bias=…, stride=…, …) returns y
    layout: str = "full"

    def arguments(self, arrays: list[Any], b: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments of the call, in its convention."""
        if self.convention == "cs231n":
            params = {"stride": self.kwargs["stride"], "pad": self.kwargs["padding"]}
            if self.kind == "forward":  # conv_forward_naive(x, w, b, conv_param)
                return (arrays[0], arrays[1], b, params), {}
            return (arrays[2], (arrays[0], arrays[1], b, params)), {}
        if self.kind == "forward":
            return (arrays[0], arrays[1]), {"bias": b, **self.kwargs}
        return tuple(arrays), self.kwargs


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


def channels_last(a: np.ndarray, kernel: bool = False, back: bool = False) -> np.ndarray:
    """An array (N, C, *spatial) as (N, *spatial, C), or a kernel (O, C/g, *k) as (*k, C/g, O);
    ``back``: the other way."""
    n = a.ndim
    order = (*range(2, n), 1, 0) if kernel else (0, *range(2, n), 1)
    return a.transpose(np.argsort(order) if back else order)


def shapes(problem: Problem, layout: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The shapes of x, W and δ the implementation receives (and of its gradients)."""
    g, r = problem.geom, problem.ranks
    if layout == "full":
        return g.input_shape, g.kernel_shape, g.output_shape
    if layout == "spatial":
        return g.in_size, g.kernel_size, g.out_size
    if layout == "channels-last":
        shaped = (np.empty(s, dtype=np.bool_) for s in (g.input_shape, g.kernel_shape, g.output_shape))
        x, w, d = shaped
        return channels_last(x).shape, channels_last(w, kernel=True).shape, channels_last(d).shape
    return (
        g.input_shape[len(g.input_shape) - r.input_rank :],
        g.kernel_shape[len(g.kernel_shape) - r.kernel_rank :],
        r.output_shape(g.output_shape),
    )


def make_call(
    problem: Problem,
    x: np.ndarray,
    w: np.ndarray,
    delta: np.ndarray,
    layout: str,
    dtype: str,
    framework: str = "numpy",
    device: str = "cpu",
    b: np.ndarray | None = None,
    convention: str = "convgrad",
    kind: str = "backward",
) -> Call:
    if layout == "channels-last":
        arrays = (channels_last(x), channels_last(w, kernel=True), channels_last(delta))
    else:
        xs, ws, ds = shapes(problem, layout)
        arrays = (x.reshape(xs), w.reshape(ws), delta.reshape(ds))
    if layout == "spatial" and b is not None:
        b = b.reshape(())  # one filter's bias: one number
    kwargs = geometry_kwargs(problem.geom)
    return Call(*arrays, kwargs, dtype, framework, device, b, convention, kind, layout)


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


def call(fn: Any, c: Call, isolated: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Call ``fn`` as the contract says; its gradients as NumPy arrays (unchecked shapes) — or,
    for a forward (``c.kind``), ``(y, None, None)``.
    Raises :class:`ContractError` for anything it does wrong, :class:`Skipped` for a
    NotImplementedError. A KeyboardInterrupt is the user's Ctrl-C and goes on up, unless
    ``isolated``: a child that ignores Ctrl-C only sees one the implementation raised.
    An implementation without bias returns two gradients: the bias's is then ``None``."""
    arrays = [to_framework(a, c.dtype, c.framework, c.device) for a in (c.x, c.w, c.delta)]
    b = None if c.b is None else to_framework(c.b, c.dtype, c.framework, c.device)
    args, kwargs = c.arguments(arrays, b)
    try:
        result = fn(*args, **kwargs)
        if c.kind == "forward":
            return _output(result, c.convention), None, None
        if not isinstance(result, (tuple, list)) or len(result) not in (2, 3):
            raise ContractError(
                f"it returned {printable(type(result).__name__, 200)}; return (input_grad, weight_grad, bias_grad)"
                " or, without bias, (input_grad, weight_grad)"
            )
        names = ("input_grad", "weight_grad", "bias_grad")
        dx, dw, *db = (to_numpy(v, what) for v, what in zip(result, names))
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
        raise ContractError(
            f"the implementation raised {describe(exc)}{_where(exc)}{_called(exc, c)}"
        ) from None
    return dx, dw, (db[0] if db else None)


#: Words of NumPy, torch and jax errors that say an array had another shape or rank than the code
#: expected: a 2-D loop's ``H, W = x.shape`` meeting (N, C, H, W), a broadcast of mismatched shapes.
SHAPE_WORDS = re.compile(
    r"values to unpack|broadcast|not aligned|too many indices|cannot reshape|size of tensor|"
    r"incompatible shapes|mismatch in its core dimension|must match the size|dimensions? mismatch|"
    r"expected \d+D|number of dimensions"
)
#: The exceptions those words come in (jax says a broadcast failed with a TypeError).
SHAPE_ERRORS = (ValueError, IndexError, RuntimeError, TypeError)
#: The layout to suggest to code written for one image: a 2-D loop over (H, W).
SPATIAL = "for a function of spatial arrays alone ((H, W) in 2-D), give --layout spatial"


def _called(exc: BaseException, c: Call) -> str:
    """For an error that says the code expected other shapes: the shapes it was given, and the
    layout that passes spatial arrays alone (``; called with x (1, 1, 5, 5), w (1, 1, 3, 3), …``)."""
    if not isinstance(exc, SHAPE_ERRORS) or not SHAPE_WORDS.search(str(exc)):
        return ""
    operands = (("x", c.x), ("w", c.w), ("b", c.b) if c.kind == "forward" else ("δ", c.delta))
    given = ", ".join(f"{name} {tuple(a.shape)}" for name, a in operands if a is not None)
    if c.layout == "spatial" or c.convention != "convgrad" or not _fewer_axes(str(exc), c.x.ndim):
        return f"; called with {given}"
    return f"; called with {given}: {SPATIAL}"


def _fewer_axes(said: str, rank: int) -> bool:
    """Whether an error shows code written for arrays of fewer axes than the ``rank`` it got —
    ``H, W = x.shape`` (too many values to unpack, 2 expected), or a shape of 2 axes among those a
    broadcast quotes: the spatial axes alone —, so that spatial arrays alone may be what it takes. ``N, C, H, W = x.shape``
    given a 1-D case, or a broadcast of 4-axis shapes, wants no other layout.

    >>> _fewer_axes("too many values to unpack (expected 2)", 4), _fewer_axes("not enough values to unpack", 3)
    (True, False)
    >>> _fewer_axes("could not be broadcast together with shapes (6,2,3,3) (6,4,3,3)", 4)
    False

    A sample's slice, ``(C, H, W)``, is NCHW code meeting groups or a stride it does not handle:
    not a call for spatial arrays.

    >>> _fewer_axes("operands could not be broadcast together with shapes (2,3,3) (4,3,3)", 4)
    False
    """
    unpacked = re.search(r"too many values to unpack \(expected (\d+)", said)
    if unpacked:
        return int(unpacked[1]) == rank - 2
    quoted = re.findall(r"[(\[](\d+(?:, ?\d+)*),?[)\]]", said)
    return any(len(shape.split(",")) == rank - 2 > 1 for shape in quoted)


def _output(result: Any, convention: str) -> np.ndarray:
    """A forward's y; CS231n's ``conv_forward_naive`` returns ``(out, cache)``."""
    if convention == "cs231n" and isinstance(result, (tuple, list)) and len(result) == 2:
        result = result[0]
    if isinstance(result, (tuple, list)):
        raise ContractError(
            f"it returned a {type(result).__name__} of {len(result)}; a forward returns y, one array"
        )
    return to_numpy(result, "output")


def _repr(value: Any) -> str:
    try:
        return printable(repr(value), 200)
    except BaseException:  # noqa: B036 — a broken __repr__ must not break the report
        return f"<a {printable(type(value).__name__, 200)}>"


def _where(exc: BaseException) -> str:
    """`` (at file.py:12: dx = dxp[p:-p])``: the innermost frame of the traceback in the
    user's own code, with its source line."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    roots = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, mine)}
    for frame in reversed(frames):
        path = os.path.abspath(frame.filename)
        if not any(path.startswith(root + os.sep) for root in roots) and not frame.filename.startswith("<"):
            line = f": {printable(frame.line.strip(), 120)}" if frame.line and frame.line.strip() else ""
            return f" (at {printable(os.path.basename(frame.filename), 200)}:{frame.lineno}{line})"
    return ""


def check_shapes(
    problem: Problem, layout: str, grads: tuple[np.ndarray, np.ndarray | None, np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The gradients in float64 and full rank, once their shapes are exactly the
    operands' and every entry is finite (no bias gradient stays ``None``)."""
    g = problem.geom
    xs, ws, ds = shapes(problem, layout)
    wanted = {"input_grad": xs, "weight_grad": ws, "bias_grad": (g.out_channels,)}
    full = {"input_grad": g.input_shape, "weight_grad": g.kernel_shape, "bias_grad": (g.out_channels,)}
    out: list[np.ndarray | None] = []
    for (what, shape), arr in zip(wanted.items(), grads):
        if arr is None:
            out.append(None)
            continue
        if what == "bias_grad" and arr.shape == () and g.out_channels == 1:
            arr = arr.reshape(1)  # one filter's bias gradient is one number: a 0-d array says it
        if arr.shape != tuple(shape):
            hint, mistake = shape_hint(g, what, arr.shape, tuple(shape), layout, delta_rank=len(ds))
            raise ContractError(
                f"its {what} has shape {arr.shape}; expected exactly {tuple(shape)}{hint}", mistake
            )
        if not np.isfinite(arr).all():
            raise ContractError(f"its {what} holds NaN or infinity")
        arr = arr.astype(np.float64)
        if layout == "channels-last":
            arr = channels_last(arr, kernel=what == "weight_grad", back=True) if what != "bias_grad" else arr
        out.append(arr.reshape(full[what]))
    assert out[0] is not None and out[1] is not None
    return out[0], out[1], out[2]


def check_output(problem: Problem, layout: str, y: np.ndarray) -> np.ndarray:
    """A forward's y in float64 and full rank, once its shape is exactly the output's
    and every entry is finite."""
    from .forward import output_shape_hint

    g = problem.geom
    want = tuple(shapes(problem, layout)[2])
    if y.shape != want:
        hint, named = ("", ()) if layout == "channels-last" else output_shape_hint(g, y.shape, want)
        raise ContractError(f"its output y has shape {y.shape}; expected exactly {want}{hint}", named)
    if not np.isfinite(y).all():
        raise ContractError("its output y holds NaN or infinity")
    y = y.astype(np.float64)
    return (channels_last(y, back=True) if layout == "channels-last" else y).reshape(g.output_shape)


def shape_hint(
    g: Geometry, what: str, got: tuple[int, ...], want: tuple[int, ...], layout: str, delta_rank: int = 0
) -> tuple[str, str | None]:
    """What a wrong ∂L/∂x (or ∂L/∂W) shape says in plain words, and the mistake it names (if any)."""
    if what == "bias_grad":
        return _bias_shape_hint(g, layout, delta_rank or g.ndim + 2), None
    if layout in ("full", "given") and len(got) == g.ndim < len(want) and got == want[len(want) - g.ndim :]:
        return f" — its spatial axes alone: {SPATIAL}", None
    if len(got) != len(want) or layout == "channels-last":
        return "", None
    if what == "weight_grad":
        return _weight_shape_hint(g, got, want)
    if what != "input_grad":
        return "", None
    nd = g.ndim
    lead, spatial, wanted = got[: len(got) - nd], got[len(got) - nd :], want[len(want) - nd :]
    padded = tuple(n + b + a for n, (b, a) in zip(wanted, g.padding))
    zero = [i for i, (n, m) in enumerate(zip(spatial, wanted)) if n == 0 and m > 0]
    if zero and all(g.padding[i] == (0, 0) for i in zero):
        axes = (
            "rows and columns" if len(zero) == 2 else "entries along an axis" if len(zero) == 1 else "entries"
        )
        return (
            f" — it has 0 {axes}: a slice [p:-p] with p = 0 is empty (use [p:p + H])",
            "padding_crop_empty",
        )
    if spatial == padded and any(any(p) for p in g.padding):
        if lead != want[: len(want) - nd]:
            return (
                " — cropped on the batch and channel axes instead of the spatial ones",
                "padding_cropped_wrong_axes",
            )
        return " — the padding was not cropped off", "padding_not_cropped"
    short = tuple(n - u for n, u in zip(wanted, g.uncovered))
    if any(g.uncovered) and spatial == short:
        return (
            " — the uncovered rows/columns at the end are missing (output_padding)",
            "output_padding_missing",
        )
    # conv_transpose(δ, W) at its defaults: (Ho − 1)·1 + k, the padding not cropped either
    dropped = tuple(o + k - 1 for o, k in zip(g.out_size, g.kernel_size))
    if spatial == dropped and (max(g.stride) > 1 or max(g.dilation) > 1):
        return f" — {DROPPED_X}", "stride_dilation_dropped"
    return "", None


def _bias_shape_hint(g: Geometry, layout: str, delta_rank: int) -> str:
    """How ∂L/∂b is made from δ as the implementation got it: summed over every axis but the filters'.

    >>> from convgrad_cli.core.problem import Fill, build
    >>> _bias_shape_hint(build(Fill("ones", (2, 3, 5, 5)), Fill("ones", (4, 3, 3, 3))).geom, "full", 4)
    " — one entry per filter: δ summed over every axis but the filters' (delta.sum(axis=(0, 2, 3)))"
    """
    if layout == "channels-last":
        channel: int | None = delta_rank - 1
    else:  # δ (N, O, *out), (O, *out) or, one filter, (*out)
        channel = {g.ndim + 2: 1, g.ndim + 1: 0}.get(delta_rank)
    if channel is None:
        return " — one filter: ∂L/∂b is one number, delta.sum() (a 0-d array or shape (1,))"
    axes = tuple(a for a in range(delta_rank) if a != channel)
    return f" — one entry per filter: δ summed over every axis but the filters' (delta.sum(axis={axes}))"


#: What a ∂L/∂x the size of conv_transpose(δ, W) at its defaults says.
DROPPED_X = (
    "Ho + k − 1, the size of conv_transpose(δ, W) at stride 1 and dilation 1: the forward's stride and dilation "
    "were not passed"
)


def _weight_shape_hint(g: Geometry, got: tuple[int, ...], want: tuple[int, ...]) -> tuple[str, str | None]:
    """∂L/∂W as conv(xᵀ, δᵀ) at the defaults: Hp − Ho + 1 taps where the stride or dilation is > 1."""
    dropped = tuple(p - o + 1 for p, o in zip(g.padded_in_size, g.out_size))
    if got[:2] == want[:2] and got[2:] == dropped and (max(g.stride) > 1 or max(g.dilation) > 1):
        return (
            " — Hp − Ho + 1 taps, the size of conv(xᵀ, δᵀ) at stride 1 and dilation 1: the forward's stride and "
            "dilation were not passed (dilation=stride, stride=dilation)",
            "stride_dilation_dropped",
        )
    if got[2:] == want[2:] and got[:2] == (g.out_channels, g.in_channels) and g.groups > 1:
        return " — every input channel, as if groups were 1", "groups_ignored"
    return "", None
