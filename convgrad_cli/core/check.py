"""Proof that gradients are right: each one against independent references.

For ``L = ⟨conv(x, W) + b, δ⟩`` the gradients ∂L/∂x, ∂L/∂W, ∂L/∂bias are compared
with

- ``definition``: the sum over windows, one kernel tap at a time, written
  here from the definition and sharing no code with the engine;
- ``pipeline`` (∂L/∂x only): the slides' dilate → pad → correlate with the
  flipped kernel;
- ``finite differences``: central differences of the forward pass — every
  entry (``full`` mode) or random directions (``fast`` mode, like PyTorch's
  gradcheck fast mode);
- ``adjoint``: ``⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩ = ⟨W, ∂L/∂W⟩``.

The gradients checked are convgrad's own, or those of a user's function
with the signature of :func:`convgrad_cli.conv2d_backward`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from convgrad_cli.errors import ImplError

from . import rules
from .geometry import Geometry
from .ops import pad
from .problem import Fill, Problem, build

Impl = Callable[..., Any]

#: (rtol, atol) of the gradient comparisons, normwise: max|a − e| ≤ atol + rtol·max|e|.
TOLERANCES = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-6)}
#: Problems with at most this many entries in x, W and b get the full finite-difference Jacobian.
FULL_FD_ENTRIES = 600
MAX_MISMATCHES = 5


@dataclass(frozen=True)
class Mismatch:
    index: tuple[int, ...]
    expected: float
    actual: float


@dataclass(frozen=True)
class Comparison:
    """One gradient against one reference."""

    quantity: str  # "input_grad", "weight_grad" or "bias_grad"
    reference: str  # "definition", "pipeline", "finite differences", "adjoint"
    max_abs: float
    max_rel: float
    tolerance: float
    passed: bool
    mismatches: list[Mismatch] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class CaseResult:
    name: str
    geometry: str
    mode: str  # full or fast
    comparisons: list[Comparison]
    error: str = ""  # the implementation raised or returned the wrong thing

    @property
    def passed(self) -> bool:
        return not self.error and all(c.passed for c in self.comparisons)


# -- loading a user's implementation ------------------------------------------------------


def load_impl(spec: str) -> Impl:
    """``module:function`` or ``path/to/file.py:function`` → the function."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise ImplError(f"--impl {spec!r} must be MODULE:FUNCTION or FILE.py:FUNCTION")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ImplError(f"--impl file {target!r} does not exist")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(target)
    except ImplError:
        raise
    except Exception as exc:  # the user's module failed to import: say how, in one line
        raise ImplError(f"cannot import {target!r} for --impl: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ImplError(f"{target!r} has no function {name!r} for --impl")
    return fn


def _torch_style(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else tuple(values)


def _padding_arg(geom: Geometry) -> Any:
    if all(b == a for b, a in geom.padding):
        return _torch_style(tuple(b for b, _ in geom.padding))
    return [list(p) for p in geom.padding]


def call_impl(
    fn: Impl, problem: Problem, x: np.ndarray, w: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Call a user's backward with arrays in the rank the config gave; return full rank."""
    g, r = problem.geom, problem.ranks
    result = fn(
        r.restore_input(x).copy(),
        r.restore_kernel(w).copy(),
        r.restore_output(delta).copy(),
        stride=_torch_style(g.stride),
        padding=_padding_arg(g),
        dilation=_torch_style(g.dilation),
        groups=g.groups,
    )
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise ValueError("it must return (input_grad, weight_grad, bias_grad)")
    expected = {  # name → (full shape, the shape in the rank the config gave)
        "input_grad": (g.input_shape, r.restore_input(x).shape),
        "weight_grad": (g.kernel_shape, r.restore_kernel(w).shape),
        "bias_grad": ((g.out_channels,), (g.out_channels,)),
    }
    out: list[np.ndarray] = []
    for got, (what, (full, given)) in zip(result, expected.items()):
        arr = np.asarray(got, dtype=np.float64)
        if arr.size != int(np.prod(full)):
            raise ValueError(f"its {what} has shape {arr.shape}; expected {given}")
        out.append(arr.reshape(full))
    return out[0], out[1], out[2]


# -- references -------------------------------------------------------------------------------


def definition_grads(
    geom: Geometry, x: np.ndarray, w: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """∂L/∂x, ∂L/∂W by the definition: for each kernel tap k, every window p puts
    ``W[o, c, k]·δ[n, o, p]`` on ``x[n, c, p·s + k·d − pad]`` and ``x[…]·δ[…]`` on W."""
    n, cin = geom.batch, geom.in_channels
    cg, og, g = cin // geom.groups, geom.out_channels // geom.groups, geom.groups
    xp = pad(x, geom.padding)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    d = delta.reshape(n, g, og, -1)  # (N, g, O/g, P)
    for k in np.ndindex(*geom.kernel_size):
        where = tuple(
            slice(ki * dl, ki * dl + (o - 1) * s + 1, s)
            for ki, o, s, dl in zip(k, geom.out_size, geom.stride, geom.dilation)
        )
        tap = (slice(None), slice(None), *where)
        at_k = (..., *k)
        wk = w[at_k].reshape(g, og, cg)  # (g, O/g, C/g)
        # x at tap k of every window: (N, g, C/g, P)
        xk = xp[tap].reshape(n, g, cg, -1)
        dxp[tap] += np.matmul(wk.transpose(0, 2, 1), d).reshape(dxp[tap].shape)
        dw[at_k] = np.matmul(d, xk.transpose(0, 1, 3, 2)).sum(axis=0).reshape(geom.out_channels, cg)
    return pad(dxp, tuple((-b, -a) for b, a in geom.padding)), dw


def _loss(geom: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, delta: np.ndarray) -> float:
    return float(np.vdot(rules.forward(geom, x, w, b), delta))


def _loss_of_bias(y: np.ndarray, b: np.ndarray, delta: np.ndarray) -> float:
    """The forward pass with only the bias changed: ``conv(x, W)`` is ``y``, unchanged."""
    return float(np.vdot(y + b.reshape(1, -1, *([1] * (y.ndim - 2))), delta))


def _compare(
    quantity: str,
    reference: str,
    actual: Any,
    expected: Any,
    tol: tuple[float, float],
    note: str = "",
    scale: float = 0.0,
) -> Comparison:
    """Normwise: pass when ``max|a − e| ≤ atol + rtol·scale``, ``scale`` at least ``max|e|``
    (larger where rounding in the reference itself grows with it, as in a long sum)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return Comparison(quantity, reference, np.inf, np.inf, 0.0, False, [],
                          f"shape {actual.shape}, expected {expected.shape}")  # fmt: skip
    diff = np.abs(actual - expected)
    scale = max(scale, float(np.max(np.abs(expected))) if expected.size else 0.0)
    max_abs = float(diff.max()) if diff.size else 0.0
    bound = tol[1] + tol[0] * scale
    passed = bool(np.isfinite(actual).all()) and max_abs <= bound
    mismatches = []
    if not passed:
        worst = np.argsort(-np.nan_to_num(diff, nan=np.inf), axis=None)[:MAX_MISMATCHES]
        for flat in worst:
            idx = np.unravel_index(flat, diff.shape)
            if diff[idx] <= bound:
                break
            mismatches.append(Mismatch(tuple(int(i) for i in idx), float(expected[idx]), float(actual[idx])))
    return Comparison(
        quantity, reference, max_abs, max_abs / scale if scale else max_abs, bound, passed, mismatches, note
    )


def finite_differences(
    geom: Geometry, x: np.ndarray, w: np.ndarray, b: np.ndarray, delta: np.ndarray, grads: dict[str, np.ndarray],
    mode: str, rng: np.random.Generator, directions: int, tol: tuple[float, float], y: np.ndarray,
) -> list[Comparison]:  # fmt: skip
    """Central differences of ``L(v) = ⟨conv(x, W) + b, δ⟩``, in float64. L is linear
    in each operand, so a step of 1 is exact up to rounding — and rounds least.
    ``y = conv(x, W)``, computed once: a step in the bias alone does not change it."""
    out = []
    operands = {"input_grad": x, "weight_grad": w, "bias_grad": b}

    def loss_with(name: str, value: np.ndarray) -> float:
        if name == "bias_grad":
            return _loss_of_bias(y, value, delta)
        args = {**operands, name: value}
        return _loss(geom, args["input_grad"], args["weight_grad"], args["bias_grad"], delta)

    for name, base in operands.items():
        grad = grads[name]
        if mode == "full":
            vectors = []
            for idx in np.ndindex(*base.shape):
                e = np.zeros_like(base)
                e[idx] = 1.0
                vectors.append(e)
            note = "every entry"
        else:
            vectors = [rng.standard_normal(base.shape) for _ in range(directions)]
            note = f"{directions} random directions"
        projected, numeric, scale = [], [], 0.0
        for v in vectors:
            up, down = loss_with(name, base + v), loss_with(name, base - v)
            numeric.append((up - down) / 2)
            projected.append(float(np.vdot(grad, v)))
            scale = max(scale, abs(up), abs(down), float(np.abs(grad * v).sum()))
        if mode == "full":  # the unit vectors' projections are the entries themselves
            out.append(
                _compare(name, "finite differences", grad, np.reshape(numeric, base.shape), tol, note, scale)
            )
        else:
            out.append(_compare(name, "finite differences", projected, numeric, tol, note, scale))
    return out


def adjoint(
    x: np.ndarray, w: np.ndarray, y: np.ndarray, delta: np.ndarray, grads: dict[str, np.ndarray],
    tol: tuple[float, float],
) -> list[Comparison]:  # fmt: skip
    """``⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩ = ⟨W, ∂L/∂W⟩``: three sums of the same products (``y = conv(x)``)."""
    lhs = float(np.vdot(y, delta))
    scale = float(np.abs(y * delta).sum())
    return [
        _compare("input_grad", "adjoint", float(np.vdot(x, grads["input_grad"])), lhs, tol,
                 "⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩", max(scale, float(np.abs(x * grads["input_grad"]).sum()))),
        _compare("weight_grad", "adjoint", float(np.vdot(w, grads["weight_grad"])), lhs, tol,
                 "⟨conv(x), δ⟩ = ⟨W, ∂L/∂W⟩", max(scale, float(np.abs(w * grads["weight_grad"]).sum()))),
    ]  # fmt: skip


# -- one case ------------------------------------------------------------------------------------


def numeric_problem(problem: Problem) -> Problem:
    """The problem with random numbers (seeded) standing in for any names."""
    rng = np.random.default_rng(problem.seed)
    g = problem.geom

    def value(a: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
        return a if a is not None else rng.standard_normal(shape)

    return replace(
        problem,
        x=value(problem.x, g.input_shape),
        w=value(problem.w, g.kernel_shape),
        delta=value(problem.delta, g.output_shape),
        bias=value(problem.bias, (g.out_channels,)),
    )


def check_problem(
    problem: Problem,
    name: str,
    impl: Impl | None = None,
    mode: str = "auto",
    rtol: float | None = None,
    atol: float | None = None,
    directions: int = 2,
) -> CaseResult:
    """Every gradient of one problem against every reference; ``rtol``/``atol``
    left out take the problem's dtype's defaults (:data:`TOLERANCES`)."""
    p = numeric_problem(problem)
    g = p.geom
    x, w, b, delta = p.x, p.w, p.bias, p.delta
    assert x is not None and w is not None and b is not None and delta is not None
    if mode == "auto":
        entries = x.size + w.size + b.size
        mode = "full" if entries <= FULL_FD_ENTRIES else "fast"
    default_rtol, default_atol = TOLERANCES[p.dtype]
    tol = (default_rtol if rtol is None else rtol, default_atol if atol is None else atol)
    if impl is None:
        grads = {
            "input_grad": rules.input_grad(g, w, delta),
            "weight_grad": rules.weight_grad(g, x, delta),
            "bias_grad": rules.bias_grad(delta),
        }
    else:
        try:
            dx, dw, db = call_impl(impl, p, x, w, delta)
        except Exception as exc:  # a user's function failing is a failed check, not a crash
            return CaseResult(
                name, g.describe(), mode, [], error=f"the implementation raised {type(exc).__name__}: {exc}"
            )
        grads = {"input_grad": dx, "weight_grad": dw, "bias_grad": db}

    # references are computed in float64 from the problem's numbers
    x64, w64, b64, d64 = (a.astype(np.float64) for a in (x, w, b, delta))
    ref_dx, ref_dw = definition_grads(g, x64, w64, d64)
    comparisons = [
        _compare("input_grad", "definition", grads["input_grad"], ref_dx, tol),
        _compare(
            "input_grad", "pipeline", grads["input_grad"], rules.backward_steps(g, w64, d64).input_grad, tol
        ),
        _compare("weight_grad", "definition", grads["weight_grad"], ref_dw, tol),
        _compare("bias_grad", "definition", grads["bias_grad"], d64.sum(axis=(0, *range(2, d64.ndim))), tol),
    ]
    grads64 = {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
    rng = np.random.default_rng(p.seed + 1)
    y64 = rules.forward(g, x64, w64)
    comparisons += finite_differences(g, x64, w64, b64, d64, grads64, mode, rng, directions, tol, y64)
    comparisons += adjoint(x64, w64, y64, d64, grads64, tol)
    return CaseResult(name, g.describe(), mode, comparisons)


# -- many cases -------------------------------------------------------------------------------------


def random_problem(rng: np.random.Generator, dims: int = 2, dtype: str = "float64") -> Problem:
    """A random legal problem: any padding form, stride, dilation, groups, batch,
    and sizes that often leave the end of the input uncovered."""
    groups = int(rng.choice([1, 1, 2, 3]))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = [int(rng.integers(1, 4)) for _ in range(dims)]
    dilation = [int(rng.integers(1, 3)) for _ in range(dims)]
    form = rng.choice(["none", "symmetric", "asymmetric", "same", "valid"])
    stride = [1] * dims if form == "same" else [int(rng.integers(1, 4)) for _ in range(dims)]
    padding: Any = {
        "none": 0,
        "valid": "valid",
        "same": "same",
        "symmetric": [int(rng.integers(0, 3)) for _ in range(dims)],
        "asymmetric": [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(dims)],
    }[str(form)]
    size = [d * (k - 1) + 1 + int(rng.integers(0, 6)) for k, d in zip(kernel, dilation)]
    return build(
        Fill("random", (int(rng.integers(1, 3)), cin, *size)),
        Fill("random", (cout, cin // groups, *kernel)),
        bias=Fill("random", (cout,)),
        delta=Fill("random"),
        stride=stride,
        dilation=dilation,
        padding=padding,
        groups=groups,
        dims=dims,
        seed=int(rng.integers(0, 2**31)),
        dtype=dtype,
        source="random",
    )
