"""One case of ``check --layer``: the gradient under check against every
reference, and on a failure which mistake it looks like and the smallest case
that still fails.

References: convgrad's layer (the engine); for a pool, the windows written out
anew (``sliding_window_view``, a first maximum by ``argmax``, ``np.add.at``);
finite differences of ``L = ⟨f(x), δ⟩`` in random directions (left out where
ties or zeros make the layer not differentiable); and the adjoint identity
``⟨f(x), δ⟩ = ⟨x, ∂L/∂x⟩`` (= ``⟨W, ∂L/∂W⟩`` for a transposed convolution),
which every kind keeps, a max-pool and a ReLU being positively homogeneous.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from convgrad_cli.core.check.contract import ContractError, NotRun, Skipped
from convgrad_cli.core.check.mistakes import Diagnosis
from convgrad_cli.core.check.run import Status
from convgrad_cli.core.check.tolerance import Tolerance, round_to
from convgrad_cli.core.layers import AvgPool, ConvTranspose, Layer, MaxPool
from convgrad_cli.errors import ConvgradError

from .cases import LayerCase
from .contract import call
from .mistakes import mistaken

#: A backward under check: the case and its operands in, (∂L/∂x, ∂L/∂W or None) out.
Impl = Callable[
    [LayerCase, np.ndarray, "np.ndarray | None", np.ndarray], "tuple[np.ndarray, np.ndarray | None]"
]


@dataclass(frozen=True)
class Check:
    quantity: str
    reference: str
    passed: bool
    wrong: int = 0
    entries: int = 0
    max_abs_error: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class LayerResult:
    """One case's verdict, in the statuses of ``check`` (:class:`~convgrad_cli.core.check.run.Status`)."""

    case: LayerCase
    status: Status
    checks: list[Check] = field(default_factory=list)
    error: str = ""
    diagnosis: list[Diagnosis] = field(default_factory=list)
    smallest: LayerCase | None = None
    tolerance: str = ""

    @property
    def passed(self) -> bool:
        return self.status is Status.passed

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def geometry(self) -> str:
        return self.case.describe()


def user(fn: Any) -> Impl:
    """A user's function, called as the contract says."""
    return lambda case, x, w, d: call(fn, case, x, w, d)


def own(
    case: LayerCase, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """convgrad's own backward of the layer, in the operands' dtype."""
    layer = _bound(case, w)
    _, saved = layer.forward(x)
    return layer.backward(x, saved, delta)


def own_in(dtype: str) -> Impl:
    """convgrad's own backward computed in ``dtype`` (float32 or float64), returned in float64."""

    def run(
        case: LayerCase, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        dx, dw = own(case, x.astype(dtype), None if w is None else w.astype(dtype), delta.astype(dtype))
        return dx.astype(np.float64), None if dw is None else dw.astype(np.float64)

    return run


def _bound(case: LayerCase, w: np.ndarray | None) -> Layer:
    layer = case.layer()
    if isinstance(layer, ConvTranspose) and w is not None:
        return ConvTranspose(layer.conv, w, layer.in_shape, layer.output_padding)
    return layer


def check_case(
    case: LayerCase, impl: Impl | None = None, tol: Tolerance | None = None, shrink: bool = True,
    directions: int = 3,
) -> LayerResult:  # fmt: skip
    """The gradient under check (convgrad's own without ``impl``) against every reference,
    its operands rounded to ``tol.dtype`` and each entry held to that dtype's bound."""
    tol = tol or Tolerance("float64")
    x, w, delta = (None if a is None else round_to(a, tol.dtype) for a in case.operands())
    assert x is not None and delta is not None
    base = LayerResult(case, Status.passed, tolerance=tol.describe())
    try:
        got = (impl or own_in(tol.dtype))(case, x, w, delta)
    except Skipped as exc:
        return replace(base, status=Status.skipped, error=str(exc))
    except NotRun as exc:  # it hung too often, or the run's time ran out: never a pass
        return replace(base, status=Status.not_run, error=str(exc))
    except ContractError as exc:
        return replace(base, status=Status.error, error=str(exc))
    layer = _bound(case, w)
    right = own(case, x, w, delta)
    bounds = _bounds(layer, x, w, delta, tol)
    checks = [_compare("input_grad", "convgrad", got[0], right[0], bounds[0])]
    if got[1] is not None and right[1] is not None:
        checks.append(_compare("weight_grad", "convgrad", got[1], right[1], bounds[1]))
    windows = _windows(layer, x, delta)
    if windows is not None:
        checks.append(_compare("input_grad", "windows", got[0], windows, bounds[0]))
    checks += _finite_differences(case, layer, x, w, delta, got, tol, bounds, directions)
    checks += _adjoint(layer, x, w, delta, got, tol)
    if all(c.passed for c in checks):
        return replace(base, checks=checks)
    diagnosis = _diagnose(layer, x, w, delta, got[0], right[0], bounds[0])
    smallest = _smallest(case, impl, tol) if shrink and impl is not None else None
    return replace(base, status=Status.failed, checks=checks, diagnosis=diagnosis, smallest=smallest)


def _compare(quantity: str, reference: str, got: np.ndarray, want: np.ndarray, bound: np.ndarray) -> Check:
    err = np.abs(got - want)
    wrong = int(np.count_nonzero(err > bound))
    return Check(quantity, reference, wrong == 0, wrong, err.size, float(err.max(initial=0.0)))


def _bounds(
    layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray, tol: Tolerance
) -> tuple[np.ndarray, np.ndarray]:
    """Each entry's bound from its Σ|terms| (the backward on |x|, |W|, |δ|) and its number of terms."""
    counts = layer.count_down(np.ones_like(delta))
    if isinstance(layer, ConvTranspose) and w is not None:
        absolute = ConvTranspose(layer.conv, np.abs(w), layer.in_shape, layer.output_padding)
        sums, wsums = absolute.backward(np.abs(x), None, np.abs(delta))
        wcounts = ConvTranspose(layer.conv, np.ones_like(w), layer.in_shape, layer.output_padding).backward(
            np.ones_like(x), None, np.ones_like(delta))[1]  # fmt: skip
        return tol.bounds(sums, counts), tol.bounds(wsums, wcounts)
    _, saved = layer.forward(x)
    sums = layer.backward(x, saved, np.abs(delta))[0]
    return tol.bounds(np.abs(sums), counts), np.zeros(0)


def _windows(layer: Layer, x: np.ndarray, delta: np.ndarray) -> np.ndarray | None:
    """A pool's ∂L/∂x from its windows written out: each window a row of its cells."""
    if not isinstance(layer, (MaxPool, AvgPool)):
        return None
    g = layer.geom
    fill = -np.inf if isinstance(layer, MaxPool) else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), *g.pads), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(xp, g.extent, axis=tuple(range(2, x.ndim)))
    view = view[(slice(None), slice(None)) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(g.out_size, g.stride))
                + tuple(slice(None, None, d) for d in g.dilation)]  # fmt: skip
    cells = view.reshape(*delta.shape, -1)  # each window's cells in scan order
    taps = np.array(list(np.ndindex(*g.kernel)))
    grad = np.zeros(xp.shape)
    out = np.moveaxis(np.indices(delta.shape[2:]), 0, -1)
    starts = out * np.array(g.stride)
    lead = np.indices(delta.shape[:2]).reshape(2, *delta.shape[:2], *(1,) * (delta.ndim - 2))
    if isinstance(layer, MaxPool):
        at = starts + taps[np.argmax(cells, axis=-1)] * np.array(g.dilation)  # argmax: the first maximum
        np.add.at(grad, (*np.broadcast_arrays(lead[0], lead[1]), *np.moveaxis(at, -1, 0)), delta)
    else:
        share = delta / layer.divisors
        for tap in taps:
            at = starts + tap * np.array(g.dilation)
            np.add.at(grad, (*np.broadcast_arrays(lead[0], lead[1]), *np.moveaxis(at, -1, 0)), share)
    return grad[(slice(None), slice(None)) + tuple(slice(b, b + n) for (b, _), n in zip(g.pads, g.in_size))]


def _finite_differences(
    case: LayerCase, layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray,
    got: tuple[np.ndarray, np.ndarray | None], tol: Tolerance, bounds: tuple[np.ndarray, np.ndarray],
    directions: int = 3,
) -> list[Check]:  # fmt: skip
    """Central differences of ``L = ⟨f(x), δ⟩`` (in float64) along random directions per operand,
    each allowed the difference quotient's error and the dtype's bound of every entry it weighs."""
    if _kinked(case, layer, x):
        return [
            Check(
                "input_grad", "finite differences", True, note="left out: ties and zeros, where f has kinks"
            )
        ]
    rng = np.random.default_rng(case.seed + 1)
    out = []
    for name, base, grad, bound in (
        ("input_grad", x, got[0], bounds[0]),
        ("weight_grad", w, got[1], bounds[1]),
    ):
        if base is None or grad is None:
            continue
        worst, wrong = 0.0, 0
        for _ in range(directions):
            v = rng.standard_normal(base.shape)
            h = 1e-6 * max(1.0, float(np.abs(base).max()))

            def loss(a: np.ndarray, name: str = name) -> float:
                args = (a, w) if name == "input_grad" else (x, a)
                return float(np.sum(_bound(case, args[1]).forward(args[0])[0] * delta))

            numeric = (loss(base + h * v) - loss(base - h * v)) / (2 * h)
            exact = float(np.sum(grad * v))
            err = abs(numeric - exact)
            worst = max(worst, err)
            rounding = float(np.sum(np.abs(v) * bound)) if bound.shape == base.shape else 0.0
            wrong += err > 1e-5 * (1 + abs(exact)) + tol.floor + rounding
        out.append(Check(name, "finite differences", wrong == 0, wrong, directions, worst))
    return out


def _kinked(case: LayerCase, layer: Layer, x: np.ndarray) -> bool:
    """Whether ``f`` may have a kink at ``x``: a ReLU input at exactly 0, a max-pool window tied."""
    if case.kind not in ("maxpool", "relu"):
        return False
    if case.values == "integers":
        return True
    if case.kind == "relu":
        return bool(np.any(x == 0))
    from .mistakes import MISTAKES

    ones = np.ones(layer.out_shape)
    return bool(np.sum(MISTAKES["maxpool_every_tie"](layer, x, None, ones)) > ones.size)


def _adjoint(
    layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray, got: tuple[np.ndarray, np.ndarray | None],
    tol: Tolerance,
) -> list[Check]:  # fmt: skip
    """``⟨f(x), δ⟩ = ⟨x, ∂L/∂x⟩`` (and ``= ⟨W, ∂L/∂W⟩``), to the rounding of the sums."""
    y, _ = layer.forward(x)
    lhs = float(np.sum(y * delta))
    scale = float(np.sum(np.abs(y * delta))) + 1.0
    out = []
    for name, base, grad in (("input_grad", x, got[0]), ("weight_grad", w, got[1])):
        if base is None or grad is None:
            continue
        err = abs(lhs - float(np.sum(base * grad)))
        bound = tol.floor + 64 * tol.unit * np.sqrt(y.size + base.size) * scale
        out.append(Check(name, "adjoint", err <= bound, int(err > bound), 1, err))
    return out


def _diagnose(
    layer: Layer, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray, got: np.ndarray, right: np.ndarray,
    bound: np.ndarray,
) -> list[Diagnosis]:  # fmt: skip
    """The mistakes whose ∂L/∂x the wrong entries match, by the share of them each explains; of
    those that explain as many, first the one that also gives the entries the gradient got right
    (δ sent to every tie leaves a window's losers at 0, as a right gradient does; δ sent to every
    cell of the window does not)."""
    wrong = np.abs(got - right) > bound
    if not wrong.any():
        return []
    found = []
    for name, theirs in mistaken(layer, x, w, delta):
        differs = np.abs(theirs - right) > bound
        if not differs.any():
            continue  # this case cannot tell the mistake from the right gradient
        agrees = np.abs(got - theirs) <= bound
        explains = float(np.mean(agrees[wrong]))
        if explains >= 0.9:
            found.append((Diagnosis(name, explains), float(np.mean(agrees))))
    return [d for d, _ in sorted(found, key=lambda f: (-f[0].explains, -f[1]))]


def _smallest(case: LayerCase, impl: Impl | None, tol: Tolerance) -> LayerCase | None:
    """The smallest case (fewer samples, channels, cells; simpler parameters) that still fails."""

    def fails(c: LayerCase) -> bool:
        try:
            c.layer()
            return check_case(c, impl, tol, shrink=False).status is Status.failed
        except ConvgradError:
            return False

    best, changed = case, True
    for _ in range(200):
        if not changed:
            break
        changed = False
        for candidate in _smaller(best):
            if fails(candidate):
                best, changed = candidate, True
                break
    return best if best != case else None


def _smaller(c: LayerCase) -> list[LayerCase]:
    out = []
    shape = list(c.shape)
    if shape[0] > 1:
        out.append(c.with_(shape=(1, *shape[1:])))
    groups = int(c.params.get("groups", 1))
    if shape[1] > groups:
        w = None if c.w_shape is None else (groups, *c.w_shape[1:])
        out.append(c.with_(shape=(shape[0], groups, *shape[2:]), w_shape=w))
    for axis in range(2, len(shape)):
        if shape[axis] > 1:
            out.append(c.with_(shape=tuple(shape[:axis] + [shape[axis] - 1] + shape[axis + 1 :])))
    for key, simple in (("ceil_mode", False), ("dilation", 1), ("padding", 0)):
        if key in c.params and c.params[key] not in (simple, [simple] * (len(shape) - 2)):
            out.append(c.with_(params={**c.params, key: simple}))
    return out
