"""Running a plan: its configs, then a sweep that fits the implementation, and
whether enough was checked for the verdict to mean anything.

``--random N`` means N cases *checked*. A case the implementation refuses
teaches the sweep what it does not support (:mod:`.scope`); the next cases are
drawn inside what it has accepted, until N are checked or nothing is left to
draw. A run that checked fewer than ``min_checked`` cases is not a pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from .isolate import Implementation
from .mistakes import Diagnosis
from .plan import Plan
from .run import ERROR_MISTAKES, CaseResult, Status, check_case, numeric_problem, summary
from .scope import Learner, Scope, describe_refusals, features, parse
from .sweep import Spec, _anchors, _random, constrain, single

#: Features in the order real code most often leaves them out: how :meth:`Report.undeclared` tries them.
LIKELY = ("grouped", "dilated", "strides_per_axis", "padding_asymmetric", "padding_per_axis", "kernel_not_square",
          "uncovered", "padded", "strided")  # fmt: skip
#: The sweep gives up after this many refusals that taught it nothing (per case wanted, at least 10).
IDLE = 1


@dataclass(frozen=True)
class Report:
    """Every case's result, what the implementation supports, and whether enough was checked."""

    results: list[CaseResult]
    min_checked: int = 1
    scope: Scope = field(default_factory=Scope)  # declared, narrowed by what was learned
    refused: tuple[str, ...] = ()  # the ranks and features found refused, in words
    swept: bool = False
    layer: str = "conv"  # the kind of layer checked: another's results are LayerResults

    @property
    def checked(self) -> int:
        return sum(r.status.checked for r in self.results)

    @property
    def enough(self) -> bool:
        return self.checked >= self.min_checked

    @property
    def bad(self) -> bool:
        return any(r.status.bad for r in self.results)

    @property
    def passed(self) -> bool:
        return self.enough and not self.bad

    def shortfall(self) -> str | None:
        """One line when too few cases were checked: how many, and why the rest were not."""
        if self.enough:
            return None
        skipped = [r for r in self.results if r.status is Status.skipped]
        why = Counter(r.error for r in skipped).most_common(2)
        text = (
            f"only {self.checked} case{'s' * (self.checked != 1)} checked, fewer than the "
            f"{self.min_checked} required (--min-checked)"
        )
        if skipped:
            text += f": {len(skipped)} refused (" + "; ".join(f"{n}× {e}" for e, n in why) + ")"
        not_run = [r for r in self.results if r.status is Status.not_run]
        if not_run:  # the run was cut short: that, not the sweep, is why the rest were not checked
            text += f"; {len(not_run)} not run ({not_run[0].error})"
        elif self.swept:
            text += (
                f"; the sweep found nothing more it accepts (it supports {self.scope.describe()})"
                if self.scope.dims
                else "; it refused every case drawn, down to the simplest of each rank"
            )
        return text

    def supports(self) -> str | None:
        """What the implementation was found (or declared) to support, in words."""
        return None if self.scope.everything else self.scope.describe()

    def undeclared(self) -> tuple[Scope, int] | None:
        """A scope the errors suggest: the ranks and features of the cases answered, when
        some errors came only on cases outside it (a 2-D loop given a 1-D case, an int
        stride given per-axis strides) — with how many errors that is. A crash is not a
        refusal, so the sweep learns nothing from it; this says how to tell it."""
        if self.layer != "conv":
            return None
        errors = [r.problem.geom for r in self.results if r.status is Status.error and r.problem is not None]
        answered = [r.problem.geom for r in self.results if r.status in (Status.passed, Status.failed)]
        if not errors or not answered:
            return None
        seen = frozenset().union(*(features(g) for g in answered))
        scope = Scope(tuple(r for r in self.scope.dims if f"{r}d" in seen), self.scope.refused)
        left = [g for g in errors if scope.allows(g)]
        for f in (f for f in LIKELY if f not in seen):  # what real code leaves out first, first
            if any(f in features(g) for g in left):
                scope = scope.without(f)
                left = [g for g in left if scope.allows(g)]
        added = scope.refused - self.scope.refused
        for f in sorted(added, key=LIKELY.index, reverse=True):  # one the others say already goes
            fewer = Scope(scope.dims, scope.refused - {f})
            if sum(fewer.allows(g) for g in errors) == len(left):
                scope = fewer
        outside = len(errors) - len(left)
        return (scope, outside) if outside else None


def execute(
    plan: Plan,
    impl: Implementation | None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Every config, then the sweep, each case checked by :func:`.check_case`."""
    say = progress or (lambda _: None)
    if plan.layer != "conv":
        from convgrad_cli.core.layercheck.plan import execute as execute_layers

        layered = execute_layers(plan.cases, impl, plan.options, plan.dtype, say)
        return Report(layered, plan.min_checked, layer=plan.layer)  # type: ignore[arg-type]
    dims, declared = plan.scope.dims, plan.scope & _declared(impl)
    options = replace(plan.options, within=declared.allows)
    results = [
        _config(name, problem, dims, plan.options.layout) or check_case(problem, name, impl, options, say)
        for name, problem in plan.configs
    ]
    learner = Learner(declared)
    if plan.count:
        results += _sweep(plan, impl, learner, say)
    results = _name_errors(results, "output" if plan.options.kind == "forward" else "input_grad")
    return Report(results, plan.min_checked, learner.scope, tuple(describe_refusals(learner.found)),
                  swept=bool(plan.count))  # fmt: skip


def _name_errors(results: list[CaseResult], quantity: str) -> list[CaseResult]:
    """Errors that come only with one class, named for the mistake that gives them (see
    :data:`.run.ERROR_MISTAKES`) on each such case the error alone did not name (as a
    mistake of ``quantity``)."""
    only = set(summary(results)["raises_only_when"])
    named = {cid: m for cid, m in ERROR_MISTAKES.items() if cid in only}
    out = []
    for r in results:
        hit = [m for cid, m in named.items() if cid in r.classes]
        if r.status is Status.error and hit and not r.diagnosis:
            r = replace(r, diagnosis={quantity: [Diagnosis(hit[0], 1.0)]})
        out.append(r)
    return out


def _declared(impl: Implementation | None) -> Scope:
    """The scope an implementation declares in words (its ``convgrad_scope``), honoured without probing."""
    words = getattr(impl, "scope", None)
    return parse(str(words), f"{impl.label}'s convgrad_scope") if impl is not None and words else Scope()


def _config(name: str, problem: object, dims: tuple[int, ...], layout: str) -> CaseResult | None:
    """A config of a rank not asked for, or with more than one sample, channel or filter under
    ``--layout spatial``, as a skipped case (``None``: check it)."""
    from convgrad_cli.core.problem import Problem

    assert isinstance(problem, Problem)
    g = problem.geom
    if g.ndim not in dims:
        why = f"{g.ndim}-D; --dims {','.join(map(str, dims))} checks those only"
    elif layout == "spatial" and (g.batch, g.in_channels, g.out_channels) != (1, 1, 1):
        shapes = " and W ".join("×".join(map(str, s)) for s in (g.input_shape, g.kernel_shape))
        why = f"x is {shapes}; --layout spatial passes one sample, one channel and one filter"
    else:
        return None
    return CaseResult(name, numeric_problem(problem), "", Status.skipped, error=why)


def _candidates(rng: np.random.Generator, learner: Learner, plan: Plan) -> Iterator[Spec | None]:
    """The anchors, then random cases, each confined to the scope known when it is drawn (and,
    for ``--layout spatial``, to one sample, channel and filter)."""
    shaped = single if plan.options.layout == "spatial" else (lambda spec: spec)
    for spec in _anchors():
        fixed = constrain(shaped(spec), plan.fixed)
        if fixed is not None and len(spec.size) in learner.scope.dims:
            yield learner.scope.confine(fixed)
    while learner.scope.dims:
        fixed = constrain(shaped(_random(rng, learner.scope.dims)), plan.fixed)
        yield None if fixed is None else learner.scope.confine(fixed)


def _sweep(
    plan: Plan, impl: Implementation | None, learner: Learner, say: Callable[[str], None]
) -> list[CaseResult]:
    """Cases until ``plan.count`` are checked, learning the scope from what is refused."""
    rng, seeds = np.random.default_rng(plan.seed), np.random.default_rng([plan.seed, 1])
    results: list[CaseResult] = []
    idle, tries, seen = 0, 0, set()

    def checked() -> int:  # cases not run count too: the implementation will not be called again
        return sum(r.status.checked or r.status is Status.not_run for r in results)

    def run(spec: Spec) -> bool | None:
        if checked() >= plan.count:
            return None
        problem = spec.problem(int(seeds.integers(0, 2**31)), plan.dtype)
        options = replace(plan.options, within=learner.scope.allows)  # as it stands now
        result = check_case(problem, f"random-{len(results)}", impl, options, say)
        results.append(result)
        if result.status.checked:
            learner.accept(problem.geom)
        return None if result.status is Status.not_run else result.status.checked  # not run: nothing learned

    for spec in _candidates(rng, learner, plan):
        tries += 1
        if checked() >= plan.count or idle >= max(10, IDLE * plan.count) or tries > 100 * plan.count:
            break
        if spec is None or (spec in seen and tries <= len(_anchors())):
            continue
        seen.add(spec)
        if run(spec) is False and not learner.learn(spec, results[-1].problem.geom, run):
            idle += 1
    return results
