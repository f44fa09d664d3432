"""One case of ``check``: the gradients under check against every reference, and
on a failure, which known mistake it looks like and the smallest case that
still fails."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

from convgrad_cli.core import rules
from convgrad_cli.core.budget import CHECK_COPIES
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.problem import Problem
from convgrad_cli.errors import ConfigError

from .contract import Call, ContractError, NotRun, Skipped, check_output, check_shapes, make_call
from .forward import forward_comparisons, output_terms
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

#: In ``auto`` mode, problems with at most this many entries in x, W and b get every entry's finite difference.
FULL_FD_ENTRIES = 600
#: ``--mode full`` is refused beyond this many entries: two forward passes each.
MAX_FULL_ENTRIES = 20_000
#: ``--directions`` is refused beyond this: each costs four forward passes, and one already
#: catches a wrong gradient (⟨g' − g, v⟩ = 0 has probability 0 for a Gaussian v).
MAX_DIRECTIONS = 100
#: ``--random`` is refused beyond this many cases: its cases are made before the first is checked.
MAX_RANDOM = 10_000
#: The sweep an implementation gets when no config and no ``--random`` is given: one case
#: of convgrad's default problem would pass a stride or padding bug it never exercises.
DEFAULT_SWEEP = 40
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
    layout: str = "full"  # full, given (the rank the config gave) or channels-last
    convention: str = "convgrad"  # how the implementation is called: convgrad or cs231n
    framework: str = "numpy"
    device: str = "cpu"
    kind: str = "backward"  # or "forward": the implementation computes y (--forward)
    diagnose: bool = True
    shrink: bool = True
    within: Callable[[Geometry], bool] | None = None  # the scope a smaller case must stay in


@dataclass(frozen=True)
class Wrong:
    """A failing gradient's numbers, for the picture of the error (full rank)."""

    expected: np.ndarray
    actual: np.ndarray
    bounds: np.ndarray


class Status(str, Enum):
    """A case's verdict: a wrong number *fails*; breaking the contract is an *error*;
    a case the implementation refuses (NotImplementedError) is *skipped*; one it was not
    called for (it hung too often, or the run's time ran out) is *not run*. Neither of
    the last two is checked."""

    passed = "passed"
    failed = "failed"
    error = "error"
    skipped = "skipped"
    not_run = "not_run"

    @property
    def broken(self) -> bool:
        """A wrong result or a broken contract: something to show."""
        return self in (Status.failed, Status.error)

    @property
    def bad(self) -> bool:
        """It makes the run fail: a not-run case is not a checked one."""
        return self.broken or self is Status.not_run

    @property
    def checked(self) -> bool:
        return self in (Status.passed, Status.failed, Status.error)


@dataclass(frozen=True)
class CaseResult:
    name: str
    problem: Problem  # with numbers, as checked
    mode: str
    status: Status
    comparisons: list[Comparison] = field(default_factory=list)
    error: str = ""
    classes: tuple[str, ...] = ()
    diagnosis: dict[str, list[Diagnosis]] = field(default_factory=dict)
    tolerance: str = ""
    wrong: dict[str, Wrong] = field(default_factory=dict)
    smallest: Problem | None = None
    unchecked: tuple[str, ...] = ()  # quantities the implementation does not return (no bias)

    @property
    def passed(self) -> bool:
        return self.status is Status.passed

    @property
    def geometry(self) -> str:
        return self.problem.geom.describe()

    @property
    def failing(self) -> list[str]:
        return [
            q
            for q in (*QUANTITIES, "output")
            if any(c.quantity == q and not c.passed for c in self.comparisons)
        ]


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
    checked = replace(p, x=x, w=w, bias=b, delta=d)
    base = CaseResult(name, checked, mode, Status.passed, classes=classes(g), tolerance=tol.describe())
    if options.kind == "forward":
        assert impl is not None
        return _check_forward(replace(base, mode=""), impl, options, dtype, say)
    say(f"{name}: the gradients under check")
    if impl is None:
        grads = _own_gradients(p, x, w, d)
    else:
        try:
            got = _outcome(base.problem, impl, options, dtype)
        except (Skipped, NotRun, ContractError) as exc:
            return _not_an_answer(base, exc, impl, options, dtype, say)
        db = got.get("bias_grad")
        if db is None:  # no bias: its gradient is not checked, and the report says so
            base = replace(base, unchecked=("bias_grad",))
        bias_grad = d.sum(axis=(0, *range(2, d.ndim))) if db is None else db
        grads = {"input_grad": got["input_grad"], "weight_grad": got["weight_grad"], "bias_grad": bias_grad}
    say(f"{name}: the references")
    ev = _evidence(g, x, w, d, tol)
    comparisons = _comparisons(base, grads, ev, tol, options, say)
    result = replace(base, comparisons=[c for c in comparisons if c.quantity not in base.unchecked])
    failing = set(result.failing)
    if not failing:
        return result
    wrong = {q: Wrong(ev.expected[q], grads[q], ev.bounds[q]) for q in failing}
    result = replace(result, status=Status.failed, wrong=wrong)
    if options.diagnose:
        say(f"{name}: which mistake it looks like")
        found = diagnose(g, x, w, d, grads, ev.expected, ev.bounds, ev.sums, ev.counts, failing, tol)
        result = replace(result, diagnosis=found)
    if options.shrink and impl is not None:
        say(f"{name}: the smallest failing case")
        result = replace(result, smallest=_smallest(result, impl, options, dtype, failing))
    return result


@dataclass(frozen=True)
class _Evidence:
    """What the references hold a case's gradients to: the expected gradients, each
    entry's bound, and the sums and counts of products the bounds are made of."""

    expected: dict[str, np.ndarray]
    bounds: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]


def _evidence(g: Geometry, x: np.ndarray, w: np.ndarray, d: np.ndarray, tol: Tolerance) -> _Evidence:
    sums, counts = term_sums(g, x, w, d)
    bounds = {q: tol.bounds(sums[q], counts[q]) for q in QUANTITIES}
    ref_dx, ref_dw = definition_grads(g, x, w, d)
    expected = {"input_grad": ref_dx, "weight_grad": ref_dw, "bias_grad": d.sum(axis=(0, *range(2, d.ndim)))}
    return _Evidence(expected, bounds, sums, counts)


def _comparisons(
    base: CaseResult,
    grads: dict[str, np.ndarray],
    ev: _Evidence,
    tol: Tolerance,
    options: Options,
    say: Callable[[str], None],
) -> list[Comparison]:
    """The gradients under check against the definition, the slides' pipeline, finite
    differences and the adjoint identity."""
    p, bounds = base.problem, ev.bounds
    g, x, w, b, d = p.geom, p.x, p.w, p.bias, p.delta
    assert x is not None and w is not None and b is not None and d is not None
    comparisons = [compare(q, "definition", grads[q], ev.expected[q], bounds[q]) for q in QUANTITIES]
    pipeline = rules.backward_steps(g, w, d).input_grad
    comparisons.insert(
        1, compare("input_grad", "pipeline", grads["input_grad"], pipeline, bounds["input_grad"])
    )
    say(f"{base.name}: finite differences ({base.mode})")
    rng = np.random.default_rng(p.seed + 1)
    rounding = options.rtol is None
    operands = {"input_grad": x, "weight_grad": w}
    comparisons += finite_differences(
        g, operands, b, d, grads, bounds, tol.floor, base.mode, rng, options.directions, rounding
    )
    comparisons += adjoint(x, w, rules.forward(g, x, w), d, grads, bounds, tol.floor, rounding)
    return comparisons


def _not_an_answer(
    base: CaseResult,
    exc: Exception,
    impl: Implementation,
    options: Options,
    dtype: str,
    say: Callable[[str], None],
) -> CaseResult:
    """A case refused, not run, or broken: a broken one named when its error says which
    mistake it is, and shrunk to the smallest case that still raises it."""
    if isinstance(exc, Skipped):
        return replace(base, status=Status.skipped, error=str(exc))
    if isinstance(exc, NotRun):
        return replace(base, status=Status.not_run, error=str(exc))
    assert isinstance(exc, ContractError)
    where = "output" if options.kind == "forward" else "input_grad"
    named = {where: [Diagnosis(m, 1.0) for m in exc.mistakes]} if exc.mistakes else {}
    result = replace(base, status=Status.error, error=str(exc), diagnosis=named)
    if options.shrink and _cheap_to_repeat(result.error):
        say(f"{base.name}: the smallest case that still raises it")
        result = replace(result, smallest=_smallest_error(result, impl, options, dtype))
    return result


def _outcome(problem: Problem, impl: Implementation, options: Options, dtype: str) -> dict[str, Any]:
    """What the implementation answers on ``problem`` (its arrays rounded to ``dtype``), checked
    for shape: the gradients (bias's ``None`` without bias), or a forward's ``output``."""
    x, w, b, d = (round_to(a, dtype) for a in (problem.x, problem.w, problem.bias, problem.delta))  # type: ignore[arg-type]
    raw = impl(_call(problem, x, w, b, d, options, dtype))
    if options.kind == "forward":
        return {"output": check_output(problem, options.layout, raw[0])}
    return dict(zip(QUANTITIES, check_shapes(problem, options.layout, raw)))


def _right(
    problem: Problem, tol: Tolerance, kind: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The right answers on ``problem`` (operands as the implementation got them) and their bounds."""
    g = problem.geom
    x, w, b, d = (round_to(a, tol.dtype) for a in (problem.x, problem.w, problem.bias, problem.delta))  # type: ignore[arg-type]
    if kind == "forward":
        total, count = output_terms(g, x, w, b)
        return {"output": rules.forward(g, x, w, b)}, {"output": tol.bounds(total, count)}
    sums, counts = term_sums(g, x, w, d)
    right = {
        "input_grad": rules.input_grad(g, w, d),
        "weight_grad": rules.weight_grad(g, x, d),
        "bias_grad": rules.bias_grad(d),
    }
    return right, {q: tol.bounds(sums[q], counts[q]) for q in QUANTITIES}


def _smallest(
    result: CaseResult, impl: Implementation, options: Options, dtype: str, failing: set[str]
) -> Problem | None:
    """The smallest problem on which the implementation still gets a failing quantity wrong."""

    def fails(candidate: Problem) -> bool:
        try:
            got = _outcome(candidate, impl, options, dtype)
        except (Skipped, ContractError, NotRun):
            return False
        right, bounds = _right(candidate, Tolerance(dtype, options.rtol, options.atol), options.kind)
        return any(got.get(q) is not None and np.any(np.abs(got[q] - right[q]) > bounds[q]) for q in failing)

    return shrink(spec_of(result.problem), fails, result.problem.seed, "float64", options.within)


def _check_forward(
    base: CaseResult, impl: Implementation, options: Options, dtype: str, say: Callable[[str], None]
) -> CaseResult:
    """A forward's y against the definition, the windows and the adjoint identity."""
    p = base.problem
    g, name = p.geom, base.name
    say(f"{name}: the output under check")
    try:
        y = _outcome(p, impl, options, dtype)["output"]
    except (Skipped, NotRun, ContractError) as exc:
        return _not_an_answer(base, exc, impl, options, dtype, say)
    assert p.x is not None and p.w is not None and p.bias is not None and p.delta is not None
    say(f"{name}: the references")
    tol = Tolerance(dtype, options.rtol, options.atol)
    sums, counts = output_terms(g, p.x, p.w, p.bias)
    bounds = tol.bounds(sums, counts)
    comparisons, expected = forward_comparisons(g, p.x, p.w, p.bias, p.delta, y, bounds, tol)
    result = replace(base, comparisons=comparisons)
    if not result.failing:
        return result
    result = replace(result, status=Status.failed, wrong={"output": Wrong(expected, y, bounds)})
    if options.diagnose:
        say(f"{name}: which mistake it looks like")
        found = diagnose(
            g,
            p.x,
            p.w,
            p.delta,
            {"output": y},
            {"output": expected},
            {"output": bounds},
            {"output": sums},
            {"output": counts},
            {"output"},
            tol,
            bias=p.bias,
        )
        result = replace(result, diagnosis=found)
    if options.shrink:
        say(f"{name}: the smallest failing case")
        result = replace(result, smallest=_smallest(result, impl, options, dtype, {"output"}))
    return result


def _cheap_to_repeat(error: str) -> bool:
    """Whether shrinking may call the implementation again: not after a hang (each step would
    wait --timeout) nor a dead process (each step would start a new one)."""
    return not error.startswith("no result within") and "ended its process" not in error


def error_kind(message: str) -> str:
    """What makes two errors the same: the exception's type, or the message without its numbers.

    >>> error_kind("the implementation raised IndexError: index 3 is out of bounds (at f.py:9: x[i])")
    'IndexError'
    >>> error_kind("its input_grad has shape (1, 1, 0, 0); expected exactly (1, 1, 5, 5) — it has 0 rows")
    'its input_grad has shape ; expected exactly  — it has rows'
    """
    raised = re.match(r"the implementation raised (\w+)", message)
    return raised.group(1) if raised else re.sub(r"\(?[\d, ]*\d\)?", "", message)


def _smallest_error(result: CaseResult, impl: Implementation, options: Options, dtype: str) -> Problem | None:
    """The smallest problem on which the implementation still breaks the contract the same way."""
    kind = error_kind(result.error)

    def raises(candidate: Problem) -> bool:
        try:
            _outcome(candidate, impl, options, dtype)
        except ContractError as exc:
            return error_kind(str(exc)) == kind
        except (Skipped, NotRun):
            return False
        return False

    return shrink(spec_of(result.problem), raises, result.problem.seed, "float64", options.within)


def _call(
    p: Problem, x: np.ndarray, w: np.ndarray, b: np.ndarray, d: np.ndarray, options: Options, dtype: str
) -> Call:
    return make_call(
        p,
        x,
        w,
        d,
        options.layout,
        dtype,
        options.framework,
        options.device,
        b,
        options.convention,
        options.kind,
    )


def summary(results: list[CaseResult]) -> dict[str, Any]:
    """Which classes were covered, and on which the failures fall — wrong numbers and
    errors each on their own, since one bug may give both."""
    from .sweep import CLASSES

    covered = {cid: [r for r in results if cid in r.classes and r.status.checked] for cid, _, _ in CLASSES}
    hit = {cid: rs for cid, rs in covered.items() if rs}
    passed = [cid for cid, rs in hit.items() if any(r.passed for r in rs)]  # handled in some case
    raises = _only_when(results, lambda r: r.status is Status.error)
    numbers = [r for r in results if r.status is not Status.error]  # the cases that gave numbers
    fails = _only_when(numbers, lambda r: r.status is Status.failed)
    return {
        "classes_covered": list(hit),
        "classes_not_covered": [cid for cid, _, _ in CLASSES if cid not in hit],
        "classes_passed": passed,
        "fails_only_when": fails,
        "fails_only_without": [] if fails else _only_when(numbers, lambda r: r.status is Status.failed, True),
        "raises_only_when": raises,
        "raises_only_without": []
        if raises
        else _only_when(results, lambda r: r.status is Status.error, True),
        "errors_look_like": [ERROR_MISTAKES[c] for c in raises if c in ERROR_MISTAKES],
    }


#: An error that comes only with a class is a known mistake: code that asserts the stride divides the input.
ERROR_MISTAKES = {"uncovered": "stride_assumed_to_divide"}


def _only_when(
    results: list[CaseResult], bad: Callable[[CaseResult], bool], without: bool = False
) -> list[str]:
    """The classes every ``bad`` case has, that some other checked case lacks, and on which
    most of the checked cases are bad — or (``without``) that no bad case has, that some other
    case has, and without which most cases are bad ("raises only with padding 0")."""
    from .sweep import CLASSES

    checked = [r for r in results if r.status.checked]
    worse, good = [r for r in checked if bad(r)], [r for r in checked if not bad(r)]
    if not worse or not good:
        return []

    def has(r: CaseResult, cid: str) -> bool:
        return (cid in r.classes) != without

    only = []
    for cid, _, _ in CLASSES:
        with_it = [r for r in checked if has(r, cid)]
        count = sum(bad(r) for r in with_it)
        if (
            all(has(r, cid) for r in worse)
            and any(not has(r, cid) for r in good)
            and 2 * count > len(with_it)
            and by_chance(len(checked), len(with_it), len(worse)) <= CHANCE
        ):
            only.append(cid)
    return _minimal(only, good, has)


#: A condition is said only when chance alone would put every bad case among the cases that meet
#: it less often than this: one failing case of two checked, or four passing cases that happen to
#: crop δ's padding among 40, say nothing about the implementation.
CHANCE = 1e-3


def by_chance(cases: int, meeting: int, bad: int) -> float:
    """The chance that ``bad`` cases drawn at random from ``cases`` all fall among the ``meeting``
    ones that meet a condition (the hypergeometric tail): how little "fails only with it" means.

    >>> by_chance(40, 20, 10) < 1e-3, by_chance(2, 1, 1)
    (True, 0.5)
    """
    return math.comb(meeting, bad) / math.comb(cases, bad)


def _minimal(only: list[str], good: list[CaseResult], has: Callable[[CaseResult, str], bool]) -> list[str]:
    """The conditions of ``only`` that matter: one is dropped, the broadest first, while the
    good cases that meet the rest are no more than those that meet them all ("with uncovered
    rows at the end" says "with a stride > 1" already; so does "without padding" say "without
    padding that crops δ's")."""

    def admitted(conditions: list[str]) -> int:
        return sum(all(has(r, c) for c in conditions) for r in good)

    kept = list(only)
    for cid in sorted(only, key=lambda c: -sum(has(r, c) for r in good)):
        rest = [c for c in kept if c != cid]
        if rest and admitted(rest) == admitted(kept):
            kept = rest
    return kept
