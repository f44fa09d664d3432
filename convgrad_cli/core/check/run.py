"""One case of ``check``: the gradients under check against every reference, and
on a failure, which known mistake it looks like and the smallest case that
still fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.budget import CHECK_COPIES
from convgrad_cli.core.problem import Problem
from convgrad_cli.errors import ConfigError

from .contract import ContractError, NotRun, Skipped, check_shapes, make_call
from .isolate import Implementation
from .mistakes import Diagnosis, diagnose
from .references import (
    QUANTITIES,
    Comparison,
    adjoint,
    compare,
    definition_grads,
    finite_differences,
    term_sums,
)
from .shrink import shrink
from .sweep import classes, spec_of
from .tolerance import Tolerance, round_to

#: The statuses that make a run fail: a not-run case is not a checked one.
BAD = ("failed", "error", "not_run")
#: In ``auto`` mode, problems with at most this many entries in x, W and b get every entry's finite difference.
FULL_FD_ENTRIES = 600
#: ``--mode full`` is refused beyond this many entries: two forward passes each.
MAX_FULL_ENTRIES = 20_000
#: ``--directions`` is refused beyond this: each costs four forward passes, and one already
#: catches a wrong gradient (⟨g' − g, v⟩ = 0 has probability 0 for a Gaussian v).
MAX_DIRECTIONS = 100
#: ``--random`` is refused beyond this many cases: its cases are made before the first is checked.
MAX_RANDOM = 10_000
#: ``--timeout`` and ``--timeout-total`` are refused beyond a day: a CI job that long is a hung one.
MAX_SECONDS = 86_400.0


@dataclass(frozen=True)
class Options:
    """How a case is checked."""

    mode: str = "auto"  # auto, full or fast
    directions: int = 2
    rtol: float | None = None
    atol: float | None = None
    dtype: str | None = None  # the dtype the implementation is checked in; None: each problem's
    layout: str = "full"  # full, or given: the rank the config gave
    framework: str = "numpy"
    device: str = "cpu"
    diagnose: bool = True
    shrink: bool = True


@dataclass(frozen=True)
class Wrong:
    """A failing gradient's numbers, for the picture of the error (full rank)."""

    expected: np.ndarray
    actual: np.ndarray
    bounds: np.ndarray


@dataclass(frozen=True)
class CaseResult:
    name: str
    problem: Problem  # with numbers, as checked
    mode: str
    # passed, failed, error (the implementation broke the contract), skipped (it declined),
    # or not_run (it was not called: it hung too often, or the run's time ran out)
    status: str
    comparisons: list[Comparison] = field(default_factory=list)
    error: str = ""
    classes: tuple[str, ...] = ()
    diagnosis: dict[str, list[Diagnosis]] = field(default_factory=dict)
    tolerance: str = ""
    wrong: dict[str, Wrong] = field(default_factory=dict)
    smallest: Problem | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def geometry(self) -> str:
        return self.problem.geom.describe()

    @property
    def failing(self) -> list[str]:
        return [q for q in QUANTITIES if any(c.quantity == q and not c.passed for c in self.comparisons)]


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


def resolve_mode(mode: str, entries: int) -> str:
    if mode == "full" and entries > MAX_FULL_ENTRIES:
        raise ConfigError(
            f"--mode full on {entries:,} entries would take {2 * entries:,} forward passes; it is allowed up to "
            f"{MAX_FULL_ENTRIES:,} entries — use --mode fast (random directions) for a layer this size"
        )
    if mode == "auto":
        return "full" if entries <= FULL_FD_ENTRIES else "fast"
    return mode


def _own_gradients(problem: Problem, x: np.ndarray, w: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
    """convgrad's gradients, computed in the problem's dtype."""
    g, dtype = problem.geom, np.dtype(problem.dtype)
    xs, ws, ds = (a.astype(dtype) for a in (x, w, d))
    return {
        "input_grad": rules.input_grad(g, ws, ds).astype(np.float64),
        "weight_grad": rules.weight_grad(g, xs, ds).astype(np.float64),
        "bias_grad": rules.bias_grad(ds).astype(np.float64),
    }


def check_case(
    problem: Problem,
    name: str,
    impl: Implementation | None = None,
    options: Options | None = None,
    progress: Callable[[str], None] | None = None,
) -> CaseResult:
    """Every gradient of one problem against every reference."""
    options = options or Options()
    say = progress or (lambda _: None)
    problem.require("checking", pipeline=True, copies=CHECK_COPIES)
    p = numeric_problem(problem)
    g = p.geom
    dtype = options.dtype or p.dtype
    if impl is None and dtype not in ("float32", "float64"):
        raise ConfigError(f"convgrad computes in float32 or float64; --dtype {dtype} checks an --impl")
    tol = Tolerance(dtype, options.rtol, options.atol)
    assert p.x is not None and p.w is not None and p.bias is not None and p.delta is not None
    x, w, b, d = (round_to(a, dtype) for a in (p.x, p.w, p.bias, p.delta))
    mode = resolve_mode(options.mode, x.size + w.size + b.size)
    base = CaseResult(name, replace(p, x=x, w=w, bias=b, delta=d), mode, "passed", classes=classes(g),
                      tolerance=tol.describe())  # fmt: skip
    say(f"{name}: the gradients under check")
    if impl is None:
        grads = _own_gradients(p, x, w, d)
    else:
        try:
            raw = impl(make_call(p, x, w, d, options.layout, dtype, options.framework, options.device))
            dx, dw, db = check_shapes(p, options.layout, raw)
        except Skipped as exc:
            return replace(base, status="skipped", error=str(exc))
        except NotRun as exc:
            return replace(base, status="not_run", error=str(exc))
        except ContractError as exc:
            named = {"input_grad": [Diagnosis(exc.mistake, 1.0)]} if exc.mistake else {}
            return replace(base, status="error", error=str(exc), diagnosis=named)
        grads = {"input_grad": dx, "weight_grad": dw, "bias_grad": db}

    say(f"{name}: the references")
    sums, counts = term_sums(g, x, w, d)
    bounds = {q: tol.bounds(sums[q], counts[q]) for q in QUANTITIES}
    ref_dx, ref_dw = definition_grads(g, x, w, d)
    expected = {"input_grad": ref_dx, "weight_grad": ref_dw, "bias_grad": d.sum(axis=(0, *range(2, d.ndim)))}
    comparisons = [compare(q, "definition", grads[q], expected[q], bounds[q]) for q in QUANTITIES]
    comparisons.insert(1, compare("input_grad", "pipeline", grads["input_grad"],
                                  rules.backward_steps(g, w, d).input_grad, bounds["input_grad"]))  # fmt: skip
    say(f"{name}: finite differences ({mode})")
    rng = np.random.default_rng(p.seed + 1)
    rounding = options.rtol is None
    operands = {"input_grad": x, "weight_grad": w}
    comparisons += finite_differences(
        g, operands, b, d, grads, bounds, tol.floor, mode, rng, options.directions, rounding
    )
    comparisons += adjoint(x, w, rules.forward(g, x, w), d, grads, bounds, tol.floor, rounding)
    result = replace(base, comparisons=comparisons)
    failing = set(result.failing)
    if not failing:
        return result
    wrong = {q: Wrong(expected[q], grads[q], bounds[q]) for q in failing}
    result = replace(result, status="failed", wrong=wrong)
    if options.diagnose:
        say(f"{name}: which mistake it looks like")
        found = diagnose(g, x, w, d, grads, expected, bounds, sums, counts, failing, tol)
        result = replace(result, diagnosis=found)
    if options.shrink and impl is not None:
        say(f"{name}: the smallest failing case")
        result = replace(result, smallest=_smallest(result, impl, options, dtype, failing))
    return result


def _smallest(
    result: CaseResult, impl: Implementation, options: Options, dtype: str, failing: set[str]
) -> Problem | None:
    """The smallest problem on which the implementation still gets a failing quantity wrong."""

    def fails(candidate: Problem) -> bool:
        x, w, d = (round_to(a, dtype) for a in (candidate.x, candidate.w, candidate.delta))  # type: ignore[arg-type]
        try:
            raw = impl(
                make_call(candidate, x, w, d, options.layout, dtype, options.framework, options.device)
            )
            got = dict(zip(QUANTITIES, check_shapes(candidate, options.layout, raw)))
        except (Skipped, ContractError, NotRun):
            return False
        tol = Tolerance(dtype, options.rtol, options.atol)
        sums, counts = term_sums(candidate.geom, x, w, d)
        right = {
            "input_grad": rules.input_grad(candidate.geom, w, d),
            "weight_grad": rules.weight_grad(candidate.geom, x, d),
            "bias_grad": rules.bias_grad(d),
        }
        return any(np.any(np.abs(got[q] - right[q]) > tol.bounds(sums[q], counts[q])) for q in failing)

    return shrink(spec_of(result.problem), fails, result.problem.seed, "float64")


def summary(results: list[CaseResult]) -> dict[str, Any]:
    """Which classes were covered, and on which the failures fall."""
    from .sweep import CLASSES

    covered = {cid: [r for r in results if cid in r.classes and r.status in ("passed", "failed", "error")]
               for cid, _, _ in CLASSES}  # fmt: skip
    hit = {cid: rs for cid, rs in covered.items() if rs}
    passed = [cid for cid, rs in hit.items() if any(r.passed for r in rs)]  # handled in some case
    bad = [r for r in results if r.status in ("failed", "error")]
    good = [r for r in results if r.passed]
    only = []
    if bad and good:
        # classes every failure has, that some passing case lacks, and on which most cases fail
        common = set.intersection(*(set(r.classes) for r in bad))
        for cid, _, _ in CLASSES:
            with_it = covered[cid]
            failing = sum(not r.passed for r in with_it)
            if cid in common and any(cid not in r.classes for r in good) and 2 * failing > len(with_it):
                only.append(cid)
    return {
        "classes_covered": list(hit),
        "classes_not_covered": [cid for cid, _, _ in CLASSES if cid not in hit],
        "classes_passed": passed,
        "fails_only_when": only,
    }
