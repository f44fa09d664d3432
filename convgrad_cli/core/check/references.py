"""The four references of ``check``, and holding a gradient against them.

For ``L = ⟨conv(x, W) + b, δ⟩`` the gradients ∂L/∂x, ∂L/∂W, ∂L/∂bias are held
against

- ``definition``: the sum over windows, one kernel tap at a time, written
  here from the definition and sharing no code with the engine;
- ``pipeline`` (∂L/∂x only): the slides' dilate → pad → correlate with the
  flipped kernel;
- ``finite differences``: central differences of the forward pass — every
  entry (``full``) or random directions (``fast``, like PyTorch's gradcheck
  fast mode); L is linear in each operand, so a step of 1 is exact up to
  rounding, and rounds least;
- ``adjoint``: ``⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩ = ⟨W, ∂L/∂W⟩``.

All in float64, entry by entry, within the bounds of :mod:`.tolerance`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from math import prod

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.coverage import window_counts
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.ops import pad

MAX_MISMATCHES = 5
U64 = 2.0**-53
QUANTITIES = ("input_grad", "weight_grad", "bias_grad")


@dataclass(frozen=True)
class Mismatch:
    index: tuple[int, ...]
    expected: float
    actual: float


@dataclass(frozen=True)
class Comparison:
    """One gradient against one reference."""

    quantity: str  # input_grad, weight_grad or bias_grad
    reference: str  # definition, pipeline, finite differences, adjoint
    max_abs: float
    max_rel: float
    tolerance: float  # the bound at the worst entry
    passed: bool
    wrong: int = 0  # entries past their bound
    entries: int = 1
    mismatches: list[Mismatch] = field(default_factory=list)
    note: str = ""


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
        xk = xp[tap].reshape(n, g, cg, -1)  # x at tap k of every window: (N, g, C/g, P)
        dxp[tap] += np.matmul(wk.transpose(0, 2, 1), d).reshape(dxp[tap].shape)
        dw[at_k] = np.matmul(d, xk.transpose(0, 1, 3, 2)).sum(axis=0).reshape(geom.out_channels, cg)
    return pad(dxp, tuple((-b, -a) for b, a in geom.padding)), dw


def term_sums(
    geom: Geometry, x: np.ndarray, w: np.ndarray, delta: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per entry of each gradient: ``Σ|terms|`` and the number of terms — the same rules
    on |x|, |W|, |δ| and on ones."""
    ax, aw, ad = np.abs(x), np.abs(w), np.abs(delta)
    axes = (0, *range(2, delta.ndim))
    sums = {
        "input_grad": rules.input_grad(geom, aw, ad),
        "weight_grad": rules.weight_grad(geom, ax, ad),
        "bias_grad": ad.sum(axis=axes),
    }
    og = geom.out_channels // geom.groups
    per_tap = np.ones(())
    for axis in range(geom.ndim):  # coverage is separable: per axis, then the outer product
        per_tap = np.multiply.outer(per_tap, _reaching(geom, axis))
    counts = {
        "input_grad": np.broadcast_to(og * window_counts(geom), x.shape),
        "weight_grad": np.broadcast_to(geom.batch * per_tap, w.shape),
        "bias_grad": np.full(geom.out_channels, float(prod(delta.shape) // geom.out_channels)),
    }
    return sums, counts


def _reaching(geom: Geometry, axis: int) -> np.ndarray:
    """For each tap on ``axis``, how many windows it reads the input (not the padding) in."""
    size, s, d, before = geom.in_size[axis], geom.stride[axis], geom.dilation[axis], geom.padding[axis][0]
    p = np.arange(geom.out_size[axis])
    return np.array(
        [
            np.count_nonzero((0 <= q) & (q < size))
            for q in (p * s + k * d - before for k in range(geom.kernel_size[axis]))
        ]
    )


def compare(
    quantity: str,
    reference: str,
    actual: np.ndarray,
    expected: np.ndarray,
    bounds: np.ndarray,
    note: str = "",
) -> Comparison:
    """Entry by entry: pass when every ``|actual − expected| ≤ bound``."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    bounds = np.broadcast_to(bounds, expected.shape)
    diff = np.abs(actual - expected)
    over = diff > bounds
    worst = int(np.argmax(diff - bounds)) if diff.size else 0
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    max_abs = float(diff.max()) if diff.size else 0.0
    mismatches = []
    for flat in np.argsort(-(diff - bounds), axis=None)[:MAX_MISMATCHES]:
        idx = np.unravel_index(flat, diff.shape)
        if not over[idx]:
            break
        mismatches.append(Mismatch(tuple(int(i) for i in idx), float(expected[idx]), float(actual[idx])))
    return Comparison(
        quantity,
        reference,
        max_abs,
        max_abs / scale if scale else max_abs,
        float(bounds.flat[worst]) if bounds.size else 0.0,
        not over.any(),
        int(over.sum()),
        int(diff.size),
        mismatches,
        note,
    )


def finite_differences(
    geom: Geometry,
    operands: dict[str, np.ndarray],
    b: np.ndarray,
    delta: np.ndarray,
    grads: dict[str, np.ndarray],
    bounds: dict[str, np.ndarray],
    floor: float,
    mode: str,
    rng: np.random.Generator,
    directions: int,
    rounding: bool,
) -> list[Comparison]:
    """Central differences of ``L(v) = ⟨conv(x, W) + b, δ⟩`` in float64, for each of
    ``operands`` (``input_grad``: x, ``weight_grad``: W) and the bias. With
    ``rounding``, each bound adds float64's own rounding of the two losses."""
    losses = _Losses(geom, operands["input_grad"], operands["weight_grad"], b, delta)
    out = []
    for name, base in {**operands, "bias_grad": b}.items():
        grad, bound = grads[name], bounds[name]
        if mode == "full":
            up, down = losses.of(name, base, _unit_steps(base.shape))
            numeric = ((up - down) / 2).reshape(base.shape)
            worst = float(np.max(np.abs([up, down]), initial=0.0))
            extra = _rounding(worst, delta.size) if rounding else 0.0
            out.append(compare(name, "finite differences", grad, numeric, bound + extra, "every entry"))
            continue
        v = rng.standard_normal((directions, *base.shape))
        up, down = losses.of(name, base, v)
        projected = v.reshape(directions, -1) @ grad.reshape(-1)
        slack = np.abs(v).reshape(directions, -1) @ (np.broadcast_to(bound, base.shape) - floor).reshape(-1)
        tol = floor + slack
        if rounding:
            tol += np.array([_rounding(w, delta.size) for w in np.maximum(np.abs(up), np.abs(down))])
        note = f"{directions} random directions"
        out.append(compare(name, "finite differences", projected, (up - down) / 2, tol, note))
    return out


#: Perturbed copies of an operand go through the forward pass together, this many entries at a time.
_BATCH_ENTRIES = 1 << 18


@dataclass(frozen=True)
class _Losses:
    """``L`` at many perturbed copies of one operand, the copies in one forward pass
    (stacked on the batch axis for x, as groups of their own for W) rather than one each."""

    geom: Geometry
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    delta: np.ndarray

    def of(
        self, name: str, base: np.ndarray, steps: Iterator[np.ndarray] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``L(base + step)`` and ``L(base − step)`` for each step, ``name`` saying which operand ``base`` is."""
        per_copy = self.x.size + self.delta.size + (self.x.size if name == "weight_grad" else 0)
        chunk = max(1, _BATCH_ENTRIES // per_copy)
        up, down = [], []
        for block in _chunks(steps, chunk):
            up.append(self._at(name, base + block))
            down.append(self._at(name, base - block))
        return np.concatenate(up), np.concatenate(down)

    def _at(self, name: str, copies: np.ndarray) -> np.ndarray:
        m, g, d = len(copies), self.geom, self.delta
        if name == "bias_grad":  # a step in the bias alone leaves conv(x, W) as it is
            y = rules.forward(g, self.x, self.w)
            return np.array([np.vdot(y + c.reshape(1, -1, *([1] * (y.ndim - 2))), d) for c in copies])
        if name == "input_grad":
            batch = replace(g, batch=g.batch * m)
            y = rules.forward(batch, copies.reshape(-1, *self.x.shape[1:]), self.w, self.b)
            return y.reshape(m, -1) @ d.reshape(-1)
        wide = replace(g, in_channels=g.in_channels * m, out_channels=g.out_channels * m, groups=g.groups * m)
        x = np.tile(self.x, (1, m, *([1] * (self.x.ndim - 2))))
        y = rules.forward(wide, x, copies.reshape(-1, *self.w.shape[1:]), np.tile(self.b, m))
        return np.einsum("nmk,nk->m", y.reshape(g.batch, m, -1), d.reshape(g.batch, -1))


def _chunks(steps: Iterator[np.ndarray] | np.ndarray, size: int) -> Iterator[np.ndarray]:
    """``steps`` in stacks of at most ``size``."""
    if isinstance(steps, np.ndarray):
        yield from (steps[i : i + size] for i in range(0, len(steps), size))
        return
    block: list[np.ndarray] = []
    for step in steps:
        block.append(step)
        if len(block) == size:
            yield np.stack(block)
            block = []
    if block:
        yield np.stack(block)


def _unit_steps(shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    """Each entry's unit step, in C order (made one at a time, never all in memory at once)."""
    for flat in range(prod(shape)):
        step = np.zeros(shape)
        step.flat[flat] = 1.0
        yield step


def _rounding(magnitude: float, terms: int) -> float:
    return (4 * np.sqrt(terms) + 1) * U64 * magnitude * 4


def adjoint(
    x: np.ndarray,
    w: np.ndarray,
    y: np.ndarray,
    delta: np.ndarray,
    grads: dict[str, np.ndarray],
    bounds: dict[str, np.ndarray],
    floor: float,
    rounding: bool,
) -> list[Comparison]:
    """``⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩ = ⟨W, ∂L/∂W⟩``: three sums of the same products (``y = conv(x)``)."""
    lhs = float(np.vdot(y, delta))
    scale = float(np.abs(y * delta).sum())
    out = []
    for name, operand, note in (
        ("input_grad", x, "⟨conv(x), δ⟩ = ⟨x, ∂L/∂x⟩"),
        ("weight_grad", w, "⟨conv(x), δ⟩ = ⟨W, ∂L/∂W⟩"),
    ):
        grad = grads[name]
        tol = floor + float(np.sum(np.abs(operand) * (bounds[name] - floor)))
        if rounding:
            tol += _rounding(max(scale, float(np.abs(operand * grad).sum())), y.size)
        out.append(
            compare(
                name, "adjoint", np.array(float(np.vdot(operand, grad))), np.array(lhs), np.array(tol), note
            )
        )
    return out
